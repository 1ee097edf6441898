//! Email verification pages: `/email/verify?token=…` (the mailed link) confirms the address;
//! `/email/resend` sends a new link to an account not verified yet, answering the same whatever
//! the address (`identity::verification`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::pages::{self, EmailRequestPage, NoticePage};
use super::password_reset::mail_available;
use super::{read_form, read_params, request_query, Ctx};
use crate::http::error::PageError;
use crate::identity::email_tokens::{LinkError, Purpose};
use crate::identity::verification;
use crate::state::AppState;

/// `GET /email/verify?token=…`: the link is used up and the address verified.
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let token = params.get("token").unwrap_or("");
    match verification::verify(&state.db, token, &ctx.meta, ctx.now).await {
        Ok(user) => Ok(super::render::page(
            StatusCode::OK,
            &NoticePage {
                t: pages::Tr::english(),
                title: "Your email address is confirmed".into(),
                message: format!(
                    "Thank you: {} is confirmed. You can sign in now.",
                    user.email
                ),
                link: Some(("/login".into(), "Sign in".into())),
            },
        )),
        Err(LinkError::InvalidToken) if state.mailer.enabled() => {
            Err(PageError::from(LinkError::InvalidToken)
                .with_link("/email/resend", "Send a new link"))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn show_resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    mail_available(&state)?;
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let request = params.get("request").map(str::to_string);
    let email = params.get("email").unwrap_or("").trim().to_string();
    let mut resp = resend_page(&ctx, request, &email, StatusCode::OK, None);
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

pub async fn submit_resend(
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
        let error = Some(error.as_str());
        return Ok(resend_page(
            &ctx,
            request,
            "",
            StatusCode::BAD_REQUEST,
            error,
        ));
    }
    verification::resend(
        &state.db,
        &state.mailer,
        &state.settings,
        &email,
        &ctx.meta,
        ctx.now,
    )
    .await?;
    // The same page whether or not the address has an account that needs confirming.
    Ok(super::render::page(
        StatusCode::OK,
        &NoticePage {
            t: ctx.t,
            title: ctx.t.text("forgot-sent-title", &[]),
            message: ctx.t.text(
                "resend-sent-message",
                &[
                    ("email", &email),
                    (
                        "hours",
                        &(Purpose::VerifyEmail.ttl_secs() / 3600).to_string(),
                    ),
                ],
            ),
            link: Some((
                format!("/login{}", request_query(request.as_deref())),
                ctx.t.text("back-to-sign-in", &[]),
            )),
        },
    ))
}

fn resend_page(
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
            title: ctx.t.text("resend-title", &[]),
            intro: ctx.t.text("resend-intro", &[]),
            action: "/email/resend",
            form_id: "resend-form",
            button: ctx.t.text("resend-submit", &[]),
            csrf_token: ctx.browser.csrf_token(),
            login_href: format!("/login{}", request_query(request.as_deref())),
            request,
            email: email.to_string(),
            error: error.map(str::to_string),
        },
    )
}
