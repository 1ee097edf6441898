//! The account API's mail flows (`/api/auth/password/{forgot,reset}`,
//! `/api/auth/email/{verify,resend}`): the JSON twins of the pages, over the same domain
//! functions (`identity::reset`, `identity::verification`). Without a mail server they answer
//! 403 `email_disabled`.
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::json::Json;
use super::meta::request_meta;
use crate::identity::email_tokens::LinkError;
use crate::identity::{reset, verification};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    email: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    token: String,
    new_password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: String,
}

/// The answer to asking for a link, whatever the address: 202.
fn accepted() -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "status": "accepted",
            "message": "if an account uses this address and may get this link, it was sent",
        }))
}

/// `POST /api/auth/password/forgot {email}` → 202 whether or not the address has an account.
#[utoipa::path(post, operation_id = "password_forgot", path = "/api/auth/password/forgot", tag = "account", request_body = EmailBody, security(()), responses((status = 202, description = "Sent if the address has an account", body = crate::http::account_doc::Accepted)))]
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    let meta = request_meta(&req, &state);
    let (db, mailer, settings) = (&state.db, &state.mailer, &state.settings);
    reset::request(db, mailer, settings, &body.email, &meta, state.clock.now()).await?;
    Ok(accepted())
}

/// `POST /api/auth/password/reset {token, new_password}` → 204; every session ends.
#[utoipa::path(post, operation_id = "password_reset", path = "/api/auth/password/reset", tag = "account", request_body = ResetBody, security(()), responses((status = 204, description = "The password is set; every session ended"), (status = 422, description = "A weak password", body = crate::http::admin_api::ErrorBody)))]
pub async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<ResetBody>,
) -> Result<HttpResponse, ApiError> {
    let meta = request_meta(&req, &state);
    if !state.mailer.enabled() {
        return Err(LinkError::Disabled.into());
    }
    reset::reset(
        &state.db,
        &state.hasher,
        &state.mailer,
        &state.settings,
        &body.token,
        &body.new_password,
        &meta,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/auth/email/verify {token}` → 204 once the address is verified.
#[utoipa::path(post, operation_id = "email_verify", path = "/api/auth/email/verify", tag = "account", request_body = TokenBody, security(()), responses((status = 204, description = "The address is verified")))]
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    let meta = request_meta(&req, &state);
    verification::verify(&state.db, &body.token, &meta, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/auth/email/resend {email}` → 202 whatever the address.
#[utoipa::path(post, operation_id = "email_resend", path = "/api/auth/email/resend", tag = "account", request_body = EmailBody, security(()), responses((status = 202, description = "Sent if the address has an unverified account", body = crate::http::account_doc::Accepted)))]
pub async fn resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    let meta = request_meta(&req, &state);
    let (db, mailer, settings) = (&state.db, &state.mailer, &state.settings);
    verification::resend(db, mailer, settings, &body.email, &meta, state.clock.now()).await?;
    Ok(accepted())
}
