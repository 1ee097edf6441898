//! The browser side: `/authorize`, the login, registration and consent pages, the device page
//! (RFC 8628), `/logout`, the password-reset and email-verification pages, and the static
//! assets. Handlers parse, call `oauth::authorize` / `oauth::pending` / `oauth::device` /
//! `identity`, and render.
pub mod account;
mod account_mfa;
pub mod admin;
mod assets;
mod authorize;
mod consent;
pub mod cookies;
mod ctx;
mod device;
mod email_verification;
mod federation;
mod login;
mod logout;
mod mfa;
pub mod pages;
mod passkey_login;
mod passkey_second_factor;
mod passkeys;
mod password_reset;
mod register;
pub mod render;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};

use self::cookies::Browser;
pub use self::ctx::{read_form, read_params, read_params_repeating, same_origin, Ctx};
use self::pages::FormPostPage;
use super::error::PageError;
use crate::identity::browser::{self, SignedIn};
use crate::identity::mfa::challenge::{self, Holder, NewChallenge};
use crate::oauth::authorize::{Next, Reply, ResponseMode};
pub use crate::oauth::pending::Pending;
use crate::oauth::pending::{self, PendingError};
use crate::state::AppState;
use crate::store::DbConnection;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/authorize")
            .route(web::get().to(authorize::authorize))
            .route(web::post().to(authorize::authorize))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/login")
            .route(web::get().to(login::show))
            .route(web::post().to(login::submit))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/login/mfa")
            .route(web::get().to(mfa::show))
            .route(web::post().to(mfa::submit))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/register")
            .route(web::get().to(register::show))
            .route(web::post().to(register::submit))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/consent")
            .route(web::get().to(consent::show))
            .route(web::post().to(consent::submit))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/device")
            .route(web::get().to(device::show))
            .route(web::post().to(device::submit))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/device/decide")
            .route(web::post().to(device::decide))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/logout")
            .route(web::get().to(logout::logout))
            .route(web::post().to(logout::logout))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/password/forgot")
            .route(web::get().to(password_reset::show_forgot))
            .route(web::post().to(password_reset::submit_forgot))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/password/reset")
            .route(web::get().to(password_reset::show_reset))
            .route(web::post().to(password_reset::submit_reset))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/email/verify")
            .route(web::get().to(email_verification::verify))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/email/resend")
            .route(web::get().to(email_verification::show_resend))
            .route(web::post().to(email_verification::submit_resend))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/federation/link")
            .route(web::get().to(federation::show_link))
            .route(web::post().to(federation::submit_link))
            .default_service(web::to(method_not_allowed)),
    )
    .route(
        "/federation/{provider}/start",
        web::get().to(federation::start),
    )
    .route(
        "/federation/{provider}/callback",
        web::get().to(federation::callback),
    )
    .service(
        web::resource("/account/mfa")
            .route(web::get().to(account_mfa::show))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/account/mfa/totp/start")
            .route(web::post().to(account_mfa::start))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/account/mfa/totp/confirm")
            .route(web::post().to(account_mfa::confirm))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/account/mfa/totp/disable")
            .route(web::post().to(account_mfa::disable))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/account/mfa/recovery-codes")
            .route(web::post().to(account_mfa::new_recovery_codes))
            .default_service(web::to(method_not_allowed)),
    )
    .configure(account::configure)
    .configure(admin::configure)
    .route("/static/{file}", web::get().to(assets::file));
    passkeys::configure(cfg);
}

async fn method_not_allowed() -> Result<HttpResponse, PageError> {
    Err(PageError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "This page accepts only GET and POST.",
    )
    .localized("error-method-title", Some("error-method-message")))
}

/// The signed-in user of this browser, if any (on a database worker).
pub fn signed_in(
    c: &mut DbConnection,
    state: &AppState,
    session_cookie: Option<&str>,
    now: i64,
) -> anyhow::Result<Option<SignedIn>> {
    match session_cookie {
        Some(cookie) => browser::current(c, cookie, &state.settings.sessions, now),
        None => Ok(None),
    }
}

/// Loads the pending request behind a page (`oauth::pending::load`), its failures as pages.
pub fn load_pending(
    c: &mut DbConnection,
    id: &str,
    browser: &Browser,
    now: i64,
) -> Result<Pending, PageError> {
    pending::load(c, id, |hash| browser.is_bound(hash), now).map_err(|e| match e {
        PendingError::Gone => PageError::bad_request(
            "This sign-in request has expired or was already completed. Go back to the \
             application and start again.",
        )
        .localized("error-bad-request", Some("error-pending-gone")),
        PendingError::OtherBrowser => PageError::bad_request(
            "This sign-in request was started in another browser. Go back to the application \
             and start again here.",
        )
        .localized("error-bad-request", Some("error-pending-other-browser")),
        PendingError::Internal(e) => PageError::internal(e),
    })
}

/// Where a page goes next for a pending request.
pub enum Step {
    /// One of our pages (303).
    Page(String),
    /// Back to the client.
    Reply(Box<Reply>),
}

/// Turns the flow's decision into a step. A reply finishes the pending request; when another
/// tab finished it first, that is an error page.
pub fn step_for(
    c: &mut DbConnection,
    pending: &Pending,
    next: Next,
    now: i64,
) -> Result<Step, PageError> {
    match next {
        Next::Login => Ok(Step::Page(format!("/login?request={}", pending.id))),
        Next::SecondFactor {
            user_id,
            amr,
            enrol,
        } => {
            let handle = challenge::start(
                c,
                NewChallenge {
                    user_id: &user_id,
                    first_amr: &amr,
                    request_id: Some(&pending.id),
                    enrol,
                    holder: Holder::Browser(&pending.browser_hash),
                },
                now,
            )?;
            Ok(Step::Page(mfa::page_path(&handle)))
        }
        Next::Consent { .. } => Ok(Step::Page(format!("/consent?request={}", pending.id))),
        Next::Reply(reply) => {
            if !pending::finish(c, &pending.id)? {
                return Err(already_completed());
            }
            Ok(Step::Reply(reply))
        }
    }
}

/// Another tab (or a double submit) finished the pending request first.
pub fn already_completed() -> PageError {
    PageError::bad_request(
        "This sign-in request was already completed. Go back to the application.",
    )
    .localized("error-bad-request", Some("error-pending-completed"))
}

/// Sends a step: a 303 to our page, or the reply to the client.
pub fn send_step(step: &Step, issuer: &str) -> Result<HttpResponse, PageError> {
    match step {
        Step::Page(path) => Ok(see_other(path)),
        Step::Reply(reply) => deliver(reply, issuer, StatusCode::SEE_OTHER),
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Delivers an answer to the client's (validated) redirect URI: a redirect with the query
/// (`status` 302 or 303), or a self-submitting form (form_post).
pub fn deliver(reply: &Reply, issuer: &str, status: StatusCode) -> Result<HttpResponse, PageError> {
    match reply.to.mode {
        ResponseMode::Query => Ok(HttpResponse::build(status)
            .insert_header((header::LOCATION, reply.location(issuer)?))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()),
        ResponseMode::FormPost => Ok(pages::render(
            StatusCode::OK,
            &FormPostPage {
                action: reply.to.redirect_uri.clone(),
                fields: reply
                    .delivered(issuer)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            },
        )),
    }
}

/// `?request=<id>` for links between the pages, or nothing.
pub fn request_query(request: Option<&str>) -> String {
    request.map_or(String::new(), |id| format!("?request={id}"))
}
