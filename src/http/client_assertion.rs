//! The part of client authentication that must run before the database task: a request with a
//! client assertion (RFC 7523 `private_key_jwt`) has it verified here — the client read, its
//! keys resolved (perhaps fetched from its `jwks_uri`), the signature and claims checked by
//! `oauth::client_keys` — so that `client_auth::authenticate`, on the database thread, only
//! remembers its `jti`. The rules live in `oauth::client_keys::assertion`.
use actix_web::http::header;
use actix_web::HttpRequest;

use crate::oauth::client_auth::{self, VerifiedAssertion};
use crate::oauth::client_keys::assertion::{self, Audiences, ASSERTION_TYPE};
use crate::oauth::client_keys::verify::unverified_claims;
use crate::oauth::{ClientStore, ErrorCode, OAuthError, Params};
use crate::state::AppState;

/// The `Authorization` header, which must be ASCII.
pub fn authorization(req: &HttpRequest) -> Result<Option<String>, OAuthError> {
    match req.headers().get(header::AUTHORIZATION) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.to_string()))
            .map_err(|_| OAuthError::invalid_request("the Authorization header is not ASCII")),
    }
}

/// Verifies the request's client assertion, if it has one, for the endpoint at `path` (its
/// `aud` may be the issuer or `<issuer><path>`). `None`: no assertion (another method).
pub async fn verify(
    state: &AppState,
    params: &Params,
    authorization: Option<&str>,
    path: &str,
) -> Result<Option<VerifiedAssertion>, OAuthError> {
    if !client_auth::has_assertion(params) {
        return Ok(None);
    }
    client_auth::one_method(authorization, params)?;
    let fail = |why: String| OAuthError::new(ErrorCode::InvalidClient, why);
    if params.get("client_assertion_type") != Some(ASSERTION_TYPE) {
        return Err(fail(format!(
            "client_assertion_type must be {ASSERTION_TYPE}"
        )));
    }
    let jwt = params
        .get("client_assertion")
        .ok_or_else(|| fail("client_assertion is missing".into()))?;
    let claims = unverified_claims(jwt);
    let id = assertion::named_client(claims.as_ref(), params.get("client_id"))
        .ok_or_else(|| fail("the client assertion names no client (sub)".into()))?;
    let client = {
        let id = id.clone();
        state
            .db
            .run(move |c| c.find_client(&id).map_err(OAuthError::Internal))
            .await?
    };
    let client = client.filter(|c| c.private_key_jwt).ok_or_else(|| {
        fail("client authentication failed: no client uses private_key_jwt as this sub".into())
    })?;
    let now = state.clock.now();
    let verified = state
        .client_keys
        .verify(&client, jwt, assertion::MAX_LEN, now)
        .await
        .map_err(|why| fail(format!("the client assertion {why}")))?;
    let issuer = &state.settings.issuer;
    let endpoint = format!("{issuer}{path}");
    let accepted = assertion::check(
        &verified.claims,
        &client.id,
        Audiences {
            issuer,
            endpoint: &endpoint,
        },
        now,
    )
    .map_err(|why| fail(format!("the client assertion is not acceptable: {why}")))?;
    Ok(Some(VerifiedAssertion {
        client_id: client.id,
        jti: accepted.jti,
        exp: accepted.exp,
    }))
}
