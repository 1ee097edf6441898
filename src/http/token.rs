//! `POST /token`.
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::form;
use crate::oauth::{self, OAuthError};
use crate::state::AppState;

pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = form::read_params(&req, payload, oauth::token::REPEATABLE).await?;
    let authorization = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| OAuthError::invalid_request("the Authorization header is not ASCII"))?
                .to_string(),
        ),
    };
    let keys = state.keys.current();
    let settings = state.settings.clone();
    let now = state.clock.now();
    // Client lookup and signing run together in one blocking task: measured faster and with a
    // shorter tail than signing on the async worker (bench/RESULTS.md).
    let response = state
        .db
        .run(move |conn| {
            let ctx = oauth::token::TokenContext {
                issuer: &settings.issuer,
                default_audience: settings.default_audience(),
                access_token_ttl_secs: settings.tokens.access_token_ttl_secs,
                max_access_token_ttl_secs: settings.tokens.max_access_token_ttl_secs,
            };
            let issued =
                oauth::token::exchange(conn, &ctx, &params, authorization.as_deref(), now)?;
            Ok::<_, OAuthError>(issued.sign(&keys)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}
