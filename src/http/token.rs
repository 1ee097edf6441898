//! `POST /token`.
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{access_log, client_assertion, form, meta};
use crate::oauth::grants::password::{self, PasswordEnv};
use crate::oauth::token::{self, Step, TokenContext, TokenResponse};
use crate::oauth::{self, OAuthError};
use crate::state::AppState;

enum Outcome {
    Done(TokenResponse),
    Password(Box<oauth::Client>, Option<String>),
}

/// Counts the answer: tokens issued by grant, errors by code (`crate::metrics`).
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let answer = issue(req, payload, state).await;
    if let Err(e) = &answer {
        crate::metrics::token_error(super::error::answered_code(e).as_str());
    }
    answer
}

async fn issue(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = form::read_params(&req, payload, token::REPEATABLE).await?;
    access_log::note_client(&req);
    let authorization = client_assertion::authorization(&req)?;
    let assertion =
        client_assertion::verify(&state, &params, authorization.as_deref(), "/token").await?;
    let dpop = dpop_header(&req)?;
    let meta = meta::request_meta(&req, &state);
    let keys = state.keys.current();
    let nonce_key = state.required_dpop_nonce().cloned();
    let (settings, roles, now) = (
        state.settings.clone(),
        state.roles.current(),
        state.clock.now(),
    );
    let params = std::sync::Arc::new(params);
    if dpop.is_none() && assertion.is_none() {
        if let Some(response) =
            from_cache(&state, &params, authorization.as_deref(), &keys, now).await?
        {
            crate::metrics::token_issued(grant_of(&params), response.access_alg.name());
            return Ok(token_response(&response));
        }
    }
    let (p, m, clients) = (params.clone(), meta.clone(), state.clients.clone());
    // Client authentication, the grant and signing run in one database task (measured faster
    // than signing on the async worker; bench/RESULTS.md).
    let outcome = state
        .db
        .run(move |conn| {
            let ctx = TokenContext::from_settings(&settings);
            let grants = token::Grants {
                roles: &roles,
                keys: &keys,
                dpop_nonce: nonce_key.as_ref(),
                clients: &clients,
            };
            match token::begin(
                conn,
                &ctx,
                &grants,
                &p,
                token::Headers {
                    authorization: authorization.as_deref(),
                    assertion: assertion.as_ref(),
                    dpop: dpop.as_deref(),
                },
                &m,
                now,
            )? {
                Step::Issued(issued) => Ok::<_, OAuthError>(Outcome::Done(issued.sign(&keys)?)),
                Step::Password(client, jkt) => Ok(Outcome::Password(client, jkt)),
            }
        })
        .await?;
    let response = match outcome {
        Outcome::Done(r) => r,
        Outcome::Password(client, dpop_jkt) => {
            let env = PasswordEnv {
                db: &state.db,
                hasher: &state.hasher,
                settings: &state.settings,
                roles: &state.roles.current(),
                keys: state.keys.current(),
                dpop_jkt,
            };
            password::grant(&env, *client, &params, &meta, now).await?
        }
    };
    crate::metrics::token_issued(grant_of(&params), response.access_alg.name());
    Ok(token_response(&response))
}

/// A `client_credentials` grant of a cached client: no database work, signed on the signing
/// threads (`grants::client_credentials::from_cache`). `None` when the request does not
/// qualify or fails that way: the database path then decides it.
async fn from_cache(
    state: &AppState,
    params: &std::sync::Arc<oauth::Params>,
    authorization: Option<&str>,
    keys: &std::sync::Arc<crate::tokens::KeySet>,
    now: i64,
) -> Result<Option<TokenResponse>, OAuthError> {
    let named = oauth::client_auth::named_client_id(authorization, params.get("client_id"));
    if params.get("grant_type") != Some("client_credentials")
        || named.is_none_or(|id| state.clients.get(&id).is_none())
    {
        return Ok(None);
    }
    let (settings, cache, params, keys) = (
        state.settings.clone(),
        state.clients.clone(),
        params.clone(),
        keys.clone(),
    );
    let authorization = authorization.map(str::to_string);
    let signed = state
        .signing
        .run(move || {
            let ctx = TokenContext::from_settings(&settings);
            oauth::grants::client_credentials::from_cache(
                &ctx,
                &cache,
                &params,
                authorization.as_deref(),
                now,
            )
            .map(|issued| issued.sign(&keys))
        })
        .await;
    match signed {
        Ok(signed) => Ok(signed.transpose()?),
        // The signing threads are busy (or gone): the database path decides.
        Err(_) => Ok(None),
    }
}

/// The grant a successful request used (its `grant_type` parsed, so one of a few names).
fn grant_of(params: &oauth::Params) -> &'static str {
    params
        .get("grant_type")
        .and_then(|g| g.parse::<oauth::GrantType>().ok())
        .map_or("unknown", oauth::GrantType::label)
}

/// RFC 6749 §5.1: JSON, never cached.
pub fn token_response(body: &TokenResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// The `DPoP` header (RFC 9449 §4.1): at most one, ASCII.
pub fn dpop_header(req: &HttpRequest) -> Result<Option<String>, OAuthError> {
    let mut values = req.headers().get_all("dpop");
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::new(
            oauth::ErrorCode::InvalidDpopProof,
            "more than one DPoP header",
        ));
    }
    first.to_str().map(|v| Some(v.to_string())).map_err(|_| {
        OAuthError::new(
            oauth::ErrorCode::InvalidDpopProof,
            "the DPoP header is not ASCII",
        )
    })
}
