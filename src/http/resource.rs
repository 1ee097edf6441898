//! `POST /introspect` (RFC 7662) and `POST /revoke` (RFC 7009), client-authenticated like
//! `/token`.
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::client_assertion::{self, authorization};
use super::{access_log, form, meta};
use crate::oauth::introspection::{self, Quick, Recognise};
use crate::oauth::OAuthError;
use crate::state::AppState;

pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = form::read_params(&req, payload, &[]).await?;
    access_log::note_client(&req);
    let authorization = authorization(&req)?;
    let assertion =
        client_assertion::verify(&state, &params, authorization.as_deref(), req.path()).await?;
    let (keys, roles, issuer, clients, now) = (
        state.keys.current(),
        state.roles.current(),
        state.settings.issuer.clone(),
        state.clients.clone(),
        state.clock.now(),
    );
    if assertion.is_none() {
        let r = Recognise {
            keys: &keys,
            roles: &roles,
            issuer: &issuer,
            clients: &clients,
        };
        if let Some(quick) = Quick::new(&r, &params, authorization.as_deref(), now) {
            let rows = state.liveness.token_rows(&state.db, quick.key()).await?;
            return Ok(introspection_response(quick.answer(&r, &rows, now)));
        }
    }
    let answer = state
        .db
        .run(move |c| {
            introspection::introspect(
                c,
                &Recognise {
                    keys: &keys,
                    roles: &roles,
                    issuer: &issuer,
                    clients: &clients,
                },
                &params,
                authorization.as_deref(),
                assertion.as_ref(),
                now,
            )
        })
        .await?;
    Ok(introspection_response(answer))
}

fn introspection_response(answer: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer)
}

pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = form::read_params(&req, payload, &[]).await?;
    access_log::note_client(&req);
    let authorization = authorization(&req)?;
    let assertion =
        client_assertion::verify(&state, &params, authorization.as_deref(), req.path()).await?;
    let meta = meta::request_meta(&req, &state);
    let (keys, roles, issuer, clients, now) = (
        state.keys.current(),
        state.roles.current(),
        state.settings.issuer.clone(),
        state.clients.clone(),
        state.clock.now(),
    );
    state
        .db
        .run(move |c| {
            introspection::revoke(
                c,
                &Recognise {
                    keys: &keys,
                    roles: &roles,
                    issuer: &issuer,
                    clients: &clients,
                },
                &params,
                authorization.as_deref(),
                assertion.as_ref(),
                &meta,
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
