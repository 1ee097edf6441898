//! `/admin`: the admin console, server-rendered pages for signed-in administrators (a role
//! with `roles::ADMIN_SCOPE`, and a second factor when the role or the user's own factors ask
//! for one). Who may enter is decided in one place, `require_admin`, on every request. Every
//! change is a form with the CSRF token and a required confirmation, and goes through the use
//! cases (`identity::admin_users`, `oauth::admin_clients`, `identity::api_keys`,
//! `identity::roles_admin`) with the actor `admin:<user id>` and the request's meta, which
//! write the audit events. (`/admin/api/` is the JSON admin API's, not this module's.)
mod audit;
mod client_form;
mod clients;
mod dashboard;
mod role_form;
mod roles;
mod user_actions;
mod users;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use super::{read_form, read_params, see_other, signed_in, Ctx};
use crate::http::error::PageError;
use crate::identity::admin_users::{admin_actor, AdminError};
use crate::identity::browser::SignedIn;
use crate::identity::mfa;
use crate::oauth::Params;
use crate::state::AppState;

/// The console's home page; every console path starts with it.
pub const PATH: &str = "/admin";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(dashboard::show))
        .route("/admin/clients", web::get().to(clients::list))
        .route("/admin/clients/new", web::get().to(clients::new_form))
        .route("/admin/clients/new", web::post().to(clients::create))
        .route("/admin/clients/{id}", web::get().to(clients::show))
        .route("/admin/clients/{id}", web::post().to(clients::edit))
        .route(
            "/admin/clients/{id}/rotate",
            web::post().to(clients::rotate),
        )
        .route(
            "/admin/clients/{id}/delete",
            web::post().to(clients::delete),
        )
        .route("/admin/users", web::get().to(users::list))
        .route("/admin/users/new", web::get().to(users::new_form))
        .route("/admin/users/new", web::post().to(users::create))
        .route("/admin/users/{id}", web::get().to(users::show))
        .route(
            "/admin/users/{id}/{action}",
            web::post().to(user_actions::act),
        )
        .route("/admin/roles", web::get().to(roles::show))
        .route("/admin/roles/new", web::get().to(role_form::new_form))
        .route("/admin/roles/new", web::post().to(role_form::create))
        .route("/admin/roles/{name}", web::get().to(role_form::show))
        .route("/admin/roles/{name}", web::post().to(role_form::edit))
        .route(
            "/admin/roles/{name}/delete",
            web::post().to(role_form::delete),
        )
        .route("/admin/scopes", web::get().to(roles::to_roles))
        .route("/admin/scopes/{scope}", web::post().to(roles::describe))
        .route("/admin/audit", web::get().to(audit::show));
}

/// A signed-in administrator on a console page.
pub struct Admin {
    pub ctx: Ctx,
    pub me: SignedIn,
}

impl Admin {
    /// The audit log's name for this administrator: `admin:<user id>`.
    pub fn actor_name(&self) -> String {
        admin_actor(&self.me.user.id)
    }

    /// What the console's pages all show: the CSRF token, who is signed in, the section.
    pub fn chrome(&self, section: &'static str, notice: Option<&str>) -> Chrome {
        Chrome {
            csrf_token: self.ctx.browser.csrf_token(),
            email: self.me.user.email.clone(),
            section,
            notice: notice.and_then(notice_text).map(str::to_string),
        }
    }
}

/// The parts of every console page: the layout's navigation, sign-out form and notice.
pub struct Chrome {
    pub csrf_token: String,
    pub email: String,
    /// `dashboard`, `clients`, `users`, `roles` or `audit`: the current navigation entry.
    pub section: &'static str,
    pub notice: Option<String>,
}

/// The notices a change redirects back with (`?done=<key>`).
const NOTICES: &[(&str, &str)] = &[
    ("client-updated", "The client's settings were saved."),
    ("client-unchanged", "Nothing changed."),
    ("client-deleted", "The client was deleted."),
    ("user-created", "The user was created."),
    ("user-role", "The role was changed."),
    (
        "user-disabled",
        "The user was disabled and their sessions ended.",
    ),
    ("user-enabled", "The user was enabled."),
    ("user-unlocked", "The account was unlocked."),
    ("user-deleted", "The user was deleted."),
    ("session-ended", "The session was ended."),
    ("sessions-ended", "Every session of the user was ended."),
    ("key-revoked", "The API key was revoked."),
    ("factors-removed", "The user's second factors were removed."),
    ("role-created", "The role was created."),
    ("role-saved", "The role was saved."),
    ("role-deleted", "The role was deleted."),
    ("scope-saved", "The scope's descriptions were saved."),
];

fn notice_text(key: &str) -> Option<&'static str> {
    NOTICES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, text)| *text)
}

/// Whether this browser may use the console: signed in (else a 303 to `/login?next=<path>`),
/// with an administrator's role (else a 403 page), and with a second factor in this session
/// when the role requires one or the user has one (else a 403 page with a way to sign in
/// again). Checked on every console request; the one rule of the console.
pub async fn require_admin(
    state: &web::Data<AppState>,
    ctx: Ctx,
    path: &str,
) -> Result<Admin, HttpResponse> {
    let (cookie, now, st) = (ctx.session_cookie.clone(), ctx.now, state.clone());
    let found = state
        .db
        .run(move |c| {
            let Some(me) = signed_in(c, &st, cookie.as_deref(), now)? else {
                return Ok::<_, anyhow::Error>(None);
            };
            let factors = mfa::factors(c, &me.user.id)?;
            Ok(Some((me, factors)))
        })
        .await;
    let (me, factors) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
            let mut resp = see_other(&format!("/login?next={next}"));
            ctx.browser.set_cookie(&mut resp);
            return Err(resp);
        }
        Err(e) => return Err(PageError::internal(e).error_response()),
    };
    if !state.roles.is_admin(&me.user.role) {
        return Err(forbidden().error_response());
    }
    let needs_second = state.roles.requires_mfa(&me.user.role) || factors.any();
    if needs_second && !mfa::is_multi_factor(&me.session.amr) {
        let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "A second factor is required",
            "The admin console needs a sign-in with your second factor (an authenticator app \
             or a passkey). Sign in again with it.",
        )
        .with_link(format!("/login?reauth=1&next={next}"), "Sign in again")
        .error_response());
    }
    Ok(Admin { ctx, me })
}

/// The 403 page of a signed-in user who is no administrator.
fn forbidden() -> PageError {
    PageError::new(
        StatusCode::FORBIDDEN,
        "Administrators only",
        "Your account can't use the admin console. Ask an administrator if you need access.",
    )
    .with_link("/account", "Go to your account")
}

/// A console page's request: its query parameters and the administrator (or the answer that
/// turns the browser away).
pub async fn get_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    payload: web::Payload,
) -> Result<Result<(Params, Admin), HttpResponse>, PageError> {
    let params = read_params(req, payload).await?;
    let ctx = Ctx::new(req, state)?;
    Ok(require_admin(state, ctx, &page_path(req))
        .await
        .map(|a| (params, a)))
}

/// A console form post: CSRF-checked (403 page), then `require_admin` as for a page.
pub async fn post_form(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    payload: web::Payload,
) -> Result<Result<(Params, Admin), HttpResponse>, PageError> {
    let (params, ctx) = read_form(req, state, payload).await?;
    Ok(require_admin(state, ctx, &page_path(req))
        .await
        .map(|a| (params, a)))
}

/// Where to come back to after signing in: this page (a GET's query kept), or for a form post,
/// the page it was posted from (its path without the action's last segment).
fn page_path(req: &HttpRequest) -> String {
    let path = req.path();
    if req.method() == actix_web::http::Method::GET {
        return match req.query_string() {
            "" => path.to_string(),
            q => format!("{path}?{q}"),
        };
    }
    match path.rsplit_once('/') {
        Some((parent, _)) if parent.starts_with(PATH) => parent.to_string(),
        _ => PATH.to_string(),
    }
}

/// Every change needs its form's confirmation box ticked (`confirm=yes`); otherwise a 400 page.
/// `back`: the page the form was on.
pub fn confirmed(params: &Params, back: &str) -> Result<(), PageError> {
    if params.get("confirm") == Some("yes") {
        Ok(())
    } else {
        Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Please confirm",
            "Nothing was changed: tick the confirmation box to confirm the change, then send \
             the form again.",
        )
        .with_link(back, "Go back"))
    }
}

/// A use case's refusal as a page.
pub fn admin_error(e: AdminError) -> PageError {
    match e {
        AdminError::NoSuchUser => not_found("There is no such user."),
        AdminError::NoSuchSession => not_found("That session has already ended."),
        AdminError::Internal(e) => PageError::internal(e),
        other => PageError::new(
            StatusCode::BAD_REQUEST,
            "This change can't be made",
            capitalized(&other.to_string()),
        ),
    }
}

pub fn not_found(message: &str) -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "Not found", message).with_link(PATH, "Admin console")
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// Back to a console page with a notice (one of `NOTICES`).
pub fn done(path: &str, notice: &str) -> HttpResponse {
    see_other(&format!("{path}?done={notice}"))
}

/// The pages' time format (`2026-12-06 10:56 UTC`).
pub fn when(unix: i64) -> String {
    super::account::when(unix)
}

/// Splits a page's number (`page`, from 1) into an offset.
pub fn page_number(params: &Params) -> i64 {
    params
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1)
}

/// Links to the previous and next pages of a listing.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `base`: the listing's path with its other parameters, ending in `?` or `&`.
    pub fn new(base: &str, page: i64, per_page: i64, total: i64) -> Pager {
        let pages = ((total + per_page - 1) / per_page).max(1);
        let link = |p: i64| format!("{base}page={p}");
        Pager {
            page,
            pages,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

/// A query parameter, trimmed; `None` when absent or empty.
pub fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).map(str::trim).filter(|v| !v.is_empty())
}

/// `name=value&` for each given parameter, URL-encoded, for links that keep a listing's filter.
pub fn query_of(pairs: &[(&str, Option<&str>)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            out.append_pair(k, v);
        }
    }
    let q = out.finish();
    if q.is_empty() {
        q
    } else {
        q + "&"
    }
}

#[cfg(test)]
mod tests {
    use super::{query_of, Pager};

    #[test]
    fn pages_link_back_and_forth_keeping_the_filter() {
        let base = format!(
            "/admin/users?{}",
            query_of(&[("q", Some("a b&c")), ("x", None)])
        );
        assert_eq!(base, "/admin/users?q=a+b%26c&");
        let p = Pager::new(&base, 2, 20, 41);
        assert_eq!((p.page, p.pages), (2, 3));
        assert_eq!(p.prev.as_deref(), Some("/admin/users?q=a+b%26c&page=1"));
        assert_eq!(p.next.as_deref(), Some("/admin/users?q=a+b%26c&page=3"));
        let only = Pager::new("/admin/audit?", 1, 25, 0);
        assert_eq!((only.pages, only.prev, only.next), (1, None, None));
        let last = Pager::new("/admin/audit?", 2, 25, 50);
        assert_eq!(
            (last.prev.as_deref(), last.next),
            (Some("/admin/audit?page=1"), None)
        );
    }
}
