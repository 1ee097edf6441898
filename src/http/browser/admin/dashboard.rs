//! `GET /admin`: counts, the latest failures in the audit log, and the signing keys' schedule
//! (what `portcullis keys list` shows: `tokens::keys::ops::list`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::audit::EventView;
use super::{get_page, when, Chrome};
use crate::http::browser::pages::render;
use crate::http::error::PageError;
use crate::state::AppState;
use crate::store::audit::{self, AuditQuery};
use crate::store::{clients, sessions, users};
use crate::tokens::keys::{ops, KeyInfo, KeyStatus, Policy};

/// A signing key as the dashboard lists it.
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    pub status: String,
    pub signs_from: String,
    pub retires_at: String,
    pub removed_at: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub chrome: Chrome,
    pub users: i64,
    pub clients: usize,
    pub sessions: i64,
    pub events: Vec<EventView>,
    pub keys: Vec<KeyView>,
    pub next_change: String,
    pub rotation: String,
    /// When the next key is due (automatic rotation), if it is on.
    pub next_rotation: String,
}

/// When automatic rotation (every `every` seconds) creates the next key: the earliest active,
/// not yet superseded key's start plus `every` (`schedule::due`'s rule).
fn next_rotation(keys: &[KeyInfo], every: i64) -> Option<i64> {
    if every <= 0 {
        return None;
    }
    keys.iter()
        .filter(|k| k.status == KeyStatus::Active && k.timeline.retires_at.is_none())
        .map(|k| k.timeline.signs_from.saturating_add(every))
        .min()
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
    let policy = Policy::from_settings(&state.settings);
    let now = admin.ctx.now;
    let rotate_every = policy.rotate_every_secs;
    let (user_count, client_count, session_count, failures, keys) = state
        .db
        .run(move |c| {
            let (_, user_count) = users::search(c, None, 0, 0)?;
            let client_count = clients::list(c)?.len();
            let session_count = sessions::count_live(c, now)?;
            let failed = AuditQuery {
                outcome: Some("failure".into()),
                ..AuditQuery::default()
            };
            let (failures, _) = audit::search(c, &failed, 0, 10)?;
            let keys = ops::list(c, &policy, now)?;
            Ok::<_, PageError>((user_count, client_count, session_count, failures, keys))
        })
        .await?;
    let optional = |t: Option<i64>| t.map_or_else(|| "not scheduled".to_string(), when);
    let due = next_rotation(&keys, rotate_every);
    let page = DashboardPage {
        chrome: admin.chrome("dashboard", params.get("done")),
        users: user_count,
        clients: client_count,
        sessions: session_count,
        events: failures.into_iter().map(EventView::from).collect(),
        keys: keys
            .into_iter()
            .map(|k| KeyView {
                kid: k.kid,
                alg: k.alg.name().to_string(),
                status: format!("{:?}", k.status).to_lowercase(),
                signs_from: when(k.timeline.signs_from),
                retires_at: optional(k.timeline.retires_at),
                removed_at: optional(k.timeline.removed_at),
            })
            .collect(),
        next_change: optional(state.keys.current().next_change()),
        next_rotation: due.map_or_else(|| "none (automatic rotation is off)".to_string(), when),
        rotation: if rotate_every > 0 {
            format!("every {} days", rotate_every / 86_400)
        } else {
            "off (rotate with portcullis keys rotate)".to_string()
        },
    };
    Ok(render(StatusCode::OK, &page))
}
