//! `GET /admin/audit`: the audit log, newest first, filtered by kind, user (email or id),
//! client, outcome and a date range; 25 events a page.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{get_page, param, query_of, when, Chrome, Pager};
use crate::http::browser::pages::render;
use crate::http::error::PageError;
use crate::state::AppState;
use crate::store::audit::{self, AuditQuery, AuditRow};
use crate::store::users;

const PER_PAGE: i64 = 25;

/// An audit event as the console shows it.
pub struct EventView {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub failed: bool,
    pub user_id: String,
    pub client_id: String,
    pub ip: String,
    pub detail: String,
}

impl From<AuditRow> for EventView {
    fn from(r: AuditRow) -> Self {
        EventView {
            id: r.id,
            at: when(r.at),
            kind: r.kind,
            failed: r.outcome != "success",
            user_id: r.user_id.unwrap_or_default(),
            client_id: r.client_id.unwrap_or_default(),
            ip: r.ip.unwrap_or_default(),
            detail: r.detail.unwrap_or_default(),
        }
    }
}

/// The filter form's values, as given.
#[derive(Default)]
pub struct Filter {
    pub kind: String,
    pub user: String,
    pub client: String,
    pub outcome: String,
    pub since: String,
    pub until: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub filter: Filter,
    pub error: Option<String>,
    pub events: Vec<EventView>,
    pub total: i64,
    pub pager: Pager,
}

/// `YYYY-MM-DD` as the Unix time of that day's start (UTC).
fn day(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let given = |name| param(&params, name).map(str::to_string);
    let filter = Filter {
        kind: given("kind").unwrap_or_default(),
        user: given("user").unwrap_or_default(),
        client: given("client").unwrap_or_default(),
        outcome: given("outcome").unwrap_or_default(),
        since: given("since").unwrap_or_default(),
        until: given("until").unwrap_or_default(),
    };
    let mut problems = Vec::new();
    let mut range = |text: &str, name: &str, extra: i64| {
        if text.is_empty() {
            return None;
        }
        let at = day(text).map(|t| t + extra);
        if at.is_none() {
            problems.push(format!("{name}: give a date as YYYY-MM-DD"));
        }
        at
    };
    // `until` includes its day.
    let since = range(&filter.since, "From", 0);
    let until = range(&filter.until, "To", 86_400);
    if !filter.outcome.is_empty() && !["success", "failure"].contains(&filter.outcome.as_str()) {
        problems.push("Outcome: success or failure".into());
    }
    let page_no = super::page_number(&params);
    let base = format!(
        "/admin/audit?{}",
        query_of(&[
            ("kind", given("kind").as_deref()),
            ("user", given("user").as_deref()),
            ("client", given("client").as_deref()),
            ("outcome", given("outcome").as_deref()),
            ("since", given("since").as_deref()),
            ("until", given("until").as_deref()),
        ])
    );
    if !problems.is_empty() {
        let page = AuditPage {
            chrome: admin.chrome("audit", None),
            filter,
            error: Some(problems.join(". ")),
            events: Vec::new(),
            total: 0,
            pager: Pager::new(&base, 1, PER_PAGE, 0),
        };
        return Ok(render(StatusCode::BAD_REQUEST, &page));
    }
    let mut query = AuditQuery {
        kind: given("kind"),
        user_id: given("user"),
        client_id: given("client"),
        outcome: given("outcome"),
        since,
        until,
    };
    let (events, total) = state
        .db
        .run(move |c| {
            // An email names its user; a deleted user's events stay under their id.
            if let Some(email) = query.user_id.clone().filter(|u| u.contains('@')) {
                if let Some(row) = users::find_by_email(c, &email)? {
                    query.user_id = Some(row.id);
                }
            }
            Ok::<_, PageError>(audit::search(
                c,
                &query,
                (page_no - 1) * PER_PAGE,
                PER_PAGE,
            )?)
        })
        .await?;
    let page = AuditPage {
        chrome: admin.chrome("audit", None),
        filter,
        error: None,
        events: events.into_iter().map(EventView::from).collect(),
        total,
        pager: Pager::new(&base, page_no, PER_PAGE, total),
    };
    Ok(render(StatusCode::OK, &page))
}
