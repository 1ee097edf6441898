//! A passkey as the second step of a sign-in (`/login/mfa`): the challenge's user (the password
//! or an upstream provider named them) answers with one of their passkeys. The options request
//! is JSON (`{challenge}` with `X-CSRF-Token`); `static/passkey.js` posts the answer as a form,
//! and the sign-in finishes like one with an app code (`mfa::finish`, method `hwk`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

use super::mfa;
use super::passkeys::{api_ctx, api_relying_party, check_json_csrf, credential, no_store_json};
use super::{read_params, Ctx};
use crate::http::error::passkeys::{message, status};
use crate::http::error::{ApiError, PageError};
use crate::http::json::Json;
use crate::identity::mfa::HWK;
use crate::identity::passkeys::{self, PasskeyError};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/login/mfa/passkey/options")
            .app_data(crate::http::account::json_config())
            .route(web::post().to(options)),
    )
    .service(web::resource("/login/mfa/passkey").route(web::post().to(finish)));
}

#[derive(Deserialize)]
pub struct OptionsRequest {
    #[serde(default)]
    challenge: String,
}

/// `POST /login/mfa/passkey/options` (JSON `{challenge}`) → `{ceremony, options}` for the
/// challenge's user's passkeys.
pub async fn options(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<OptionsRequest>,
) -> Result<HttpResponse, ApiError> {
    let ctx = api_ctx(&req, &state)?;
    check_json_csrf(&req, &ctx)?;
    let rp = api_relying_party(&state)?;
    let loaded = mfa::load(&state, &ctx, Some(&body.challenge))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_challenge",
                "this sign-in has expired or was already completed: sign in again",
            )
        })?;
    let (user_id, browser_hash, now) = (
        loaded.user_id().to_string(),
        ctx.browser.binding_hash(),
        ctx.now,
    );
    let started = state
        .db
        .run(move |c| {
            Ok::<_, ApiError>(passkeys::start_second_factor(
                c,
                &rp,
                &user_id,
                &browser_hash,
                now,
            )?)
        })
        .await?;
    Ok(no_store_json(json!(started)))
}

/// `POST /login/mfa/passkey` (form: `csrf_token`, `challenge`, `ceremony`, `credential`).
pub async fn finish(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let mut ctx = Ctx::new(&req, &state)?;
    // Where a sign-in without an authorization request goes afterwards (an account page).
    ctx.next = super::account::next_path(params.get("next"));
    if !ctx.check_csrf(params.get("csrf_token")) {
        return Err(PageError::csrf());
    }
    let rp = super::passkeys::relying_party(&state)?;
    let loaded = mfa::load(&state, &ctx, params.get("challenge")).await?;
    ctx.t = ctx.tr_for(loaded.pending());
    let refuse = |code: StatusCode, error: &str| {
        let (state, ctx, loaded) = (&state, &ctx, &loaded);
        let error = error.to_string();
        async move {
            let page = mfa::view(state, ctx, loaded, Some(error)).await?;
            Ok::<_, PageError>(super::render::page(code, &page))
        }
    };
    let Some(answer) = credential::<PublicKeyCredential>(&params) else {
        let error = ctx.t.text("mfa-error-no-passkey", &[]);
        return refuse(StatusCode::BAD_REQUEST, &error).await;
    };
    let (user_id, handle, browser_hash, meta, now) = (
        loaded.user_id().to_string(),
        params.get("ceremony").unwrap_or("").to_string(),
        ctx.browser.binding_hash(),
        ctx.meta.clone(),
        ctx.now,
    );
    let result = state
        .db
        .run(move |c| {
            passkeys::finish_second_factor(
                c,
                &rp,
                &user_id,
                &handle,
                &browser_hash,
                &answer,
                &meta,
                now,
            )
        })
        .await;
    match result {
        Ok(_) => mfa::finish(&state, &ctx, loaded, HWK).await,
        Err(PasskeyError::Internal(cause)) => Err(PageError::internal(cause)),
        Err(e) => refuse(status(&e), message(&e)).await,
    }
}
