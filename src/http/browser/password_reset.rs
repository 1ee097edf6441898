//! "Forgot password?": `/password/forgot` asks for the address and answers the same whether or
//! not it has an account; the mailed link opens `/password/reset`, which sets a new password
//! under the policy (`identity::reset`). Only offered when mail can be sent (else 404).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::pages::{self, EmailRequestPage, NoticePage, ResetPage};
use super::{read_form, read_params, request_query, Ctx};
use crate::http::error::PageError;
use crate::identity::email_tokens::{LinkError, Purpose};
use crate::identity::password::Violation;
use crate::identity::reset;
use crate::state::AppState;

/// The pages that send mail exist only when mail can be sent (else 404).
pub(super) fn mail_available(state: &AppState) -> Result<(), PageError> {
    if state.mailer.enabled() {
        Ok(())
    } else {
        Err(LinkError::Disabled.into())
    }
}

pub async fn show_forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    mail_available(&state)?;
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let request = params.get("request").map(str::to_string);
    let mut resp = forgot_page(&ctx, request, "", StatusCode::OK, None);
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

pub async fn submit_forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    mail_available(&state)?;
    let (params, ctx) = read_form(&req, &state, payload).await?;
    let request = params.get("request").map(str::to_string);
    let email = params.get("email").unwrap_or("").trim().to_string();
    if email.is_empty() {
        let error = ctx.t.text("email-request-error-missing", &[]);
        return Ok(forgot_page(
            &ctx,
            request,
            "",
            StatusCode::BAD_REQUEST,
            Some(&error),
        ));
    }
    let sent = reset::request(
        &state.db,
        &state.mailer,
        &state.settings,
        &email,
        &ctx.meta,
        ctx.now,
    )
    .await;
    match sent {
        // The same page whether or not the address has an account.
        Ok(()) => Ok(super::render::page(
            StatusCode::OK,
            &NoticePage {
                t: ctx.t,
                title: ctx.t.text("forgot-sent-title", &[]),
                message: ctx.t.text(
                    "forgot-sent-message",
                    &[
                        ("email", &email),
                        (
                            "minutes",
                            &(Purpose::ResetPassword.ttl_secs() / 60).to_string(),
                        ),
                    ],
                ),
                link: Some((
                    login_href(request.as_deref()),
                    ctx.t.text("back-to-sign-in", &[]),
                )),
            },
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn show_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let token = params.get("token").unwrap_or("").to_string();
    let email = reset::check(&state.db, &token, ctx.now)
        .await
        .map_err(invalid_link)?;
    let mut resp = reset_page(&state, &ctx, token, email, StatusCode::OK, None, &[]);
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

pub async fn submit_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, ctx) = read_form(&req, &state, payload).await?;
    let token = params.get("token").unwrap_or("").to_string();
    let password = params.get("password").unwrap_or("");
    let result = reset::reset(
        &state.db,
        &state.hasher,
        &state.mailer,
        &state.settings,
        &token,
        password,
        &ctx.meta,
        ctx.now,
    )
    .await;
    match result {
        Ok(_) => Ok(super::render::page(
            StatusCode::OK,
            &NoticePage {
                t: ctx.t,
                title: ctx.t.text("reset-done-title", &[]),
                message: ctx.t.text("reset-done-message", &[]),
                link: Some(("/login".into(), ctx.t.text("sign-in", &[]))),
            },
        )),
        Err(LinkError::WeakPassword(broken)) => {
            let email = reset::check(&state.db, &token, ctx.now)
                .await
                .map_err(invalid_link)?;
            let error = ctx.t.text("register-error-weak", &[]);
            let bad = StatusCode::BAD_REQUEST;
            Ok(reset_page(
                &state,
                &ctx,
                token,
                email,
                bad,
                Some(&error),
                &broken,
            ))
        }
        Err(e) => Err(invalid_link(e)),
    }
}

/// A bad link leads back to asking for a new one.
fn invalid_link(e: LinkError) -> PageError {
    match e {
        LinkError::InvalidToken => {
            PageError::from(e).with_link("/password/forgot", "Ask for a new link")
        }
        other => other.into(),
    }
}

fn login_href(request: Option<&str>) -> String {
    format!("/login{}", request_query(request))
}

fn forgot_page(
    ctx: &Ctx,
    request: Option<String>,
    email: &str,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    super::render::page(
        status,
        &EmailRequestPage {
            t: ctx.t,
            title: ctx.t.text("forgot-title", &[]),
            intro: ctx.t.text("forgot-intro", &[]),
            action: "/password/forgot",
            form_id: "forgot-form",
            button: ctx.t.text("forgot-submit", &[]),
            csrf_token: ctx.browser.csrf_token(),
            login_href: login_href(request.as_deref()),
            request,
            email: email.to_string(),
            error: error.map(str::to_string),
        },
    )
}

fn reset_page(
    state: &AppState,
    ctx: &Ctx,
    token: String,
    email: String,
    status: StatusCode,
    error: Option<&str>,
    broken: &[Violation],
) -> HttpResponse {
    super::render::page(
        status,
        &ResetPage {
            t: ctx.t,
            csrf_token: ctx.browser.csrf_token(),
            token,
            email,
            rules: pages::rule_views(&state.settings.password, broken, ctx.t),
            error: error.map(str::to_string),
        },
    )
}
