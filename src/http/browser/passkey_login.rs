//! Passwordless sign-in with a passkey from the login page: the challenge as JSON, then the
//! authenticator's answer as a form post that signs in and continues the pending request
//! exactly as the password form does. The shared plumbing is in `passkeys`.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

use super::login::{self, PORTAL_CLIENT_ID};
use super::passkeys::{
    api_ctx, api_relying_party, check_json_csrf, credential, no_store_json, relying_party,
};
use super::read_form;
use crate::http::error::passkeys::{message, status};
use crate::http::error::{ApiError, PageError};
use crate::identity::passkeys::{self, PasskeyError, SignInRules};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/login/passkey/options")
            .app_data(crate::http::account::json_config())
            .route(web::post().to(sign_in_options)),
    )
    .service(web::resource("/login/passkey").route(web::post().to(sign_in)));
}

/// `POST /login/passkey/options` → `{ceremony, options}` for a passwordless sign-in.
pub async fn sign_in_options(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ctx = api_ctx(&req, &state)?;
    check_json_csrf(&req, &ctx)?;
    let rp = api_relying_party(&state)?;
    let (browser_hash, now) = (ctx.browser.binding_hash(), ctx.now);
    let started = state
        .db
        .run(move |c| Ok::<_, ApiError>(passkeys::start_sign_in(c, &rp, &browser_hash, now)?))
        .await?;
    Ok(no_store_json(json!(started)))
}

/// `POST /login/passkey` (form: `csrf_token`, `ceremony`, `credential`, optional `request`):
/// signs in with the passkey's account and continues the pending request, if any.
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, ctx) = read_form(&req, &state, payload).await?;
    let rp = relying_party(&state)?;
    let pending = login::load(&state, &ctx, params.get("request")).await?;
    let refuse = |code: StatusCode, error: &str| {
        login::login_page(&state, &ctx, pending.as_ref(), None, code, Some(error))
    };
    let Some(answer) = credential::<PublicKeyCredential>(&params) else {
        return Ok(refuse(
            StatusCode::BAD_REQUEST,
            "Your browser did not send a passkey. Try again.",
        ));
    };
    let handle = params.get("ceremony").unwrap_or("").to_string();
    let client_id = pending
        .as_ref()
        .map_or(PORTAL_CLIENT_ID.to_string(), |p| p.client.id.clone());
    let require_verified_email = state.settings.users.require_verified_email;
    let (browser_hash, meta, now) = (ctx.browser.binding_hash(), ctx.meta.clone(), ctx.now);
    let result = state
        .db
        .run(move |c| {
            passkeys::finish_sign_in(
                c,
                &rp,
                &handle,
                &browser_hash,
                &answer,
                SignInRules {
                    require_verified_email,
                    client_id: &client_id,
                },
                &meta,
                now,
            )
        })
        .await;
    match result {
        Ok(verified) => login::complete_sign_in(&state, &ctx, verified.user, "hwk", pending).await,
        Err(PasskeyError::Internal(cause)) => Err(PageError::internal(cause)),
        Err(e) => Ok(refuse(status(&e), message(&e))),
    }
}
