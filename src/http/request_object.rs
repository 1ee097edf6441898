//! Signed request objects (RFC 9101) at `/authorize` and `/par`: verified before the database
//! task, because the client's keys may have to be fetched from its `jwks_uri`. The rules live
//! in `oauth::client_keys::request_object`.
use crate::http::error::PageError;
use crate::oauth::client_keys::request_object;
use crate::oauth::{ClientStore, ErrorCode, OAuthError, Params};
use crate::state::AppState;

/// Why a request object was refused, for a person (the page) or the client
/// (`invalid_request_object`); or our failure.
pub enum Refused {
    Invalid(String),
    Internal(OAuthError),
}

/// The parameters of the request object in `params`' `request`, verified as the request of
/// `client_id` (the outer `client_id`, or at `/par` the authenticating client's); `Ok(None)`
/// when there is no `request`.
pub async fn resolve(
    state: &AppState,
    params: &Params,
    client_id: Option<&str>,
) -> Result<Option<Params>, Refused> {
    let Some(jwt) = params.get("request") else {
        return Ok(None);
    };
    let invalid = |why: &str| Refused::Invalid(why.to_string());
    if params.get("request_uri").is_some() {
        return Err(invalid("request and request_uri may not be sent together"));
    }
    let client_id = client_id.ok_or_else(|| invalid("client_id is required beside request"))?;
    let client = {
        let id = client_id.to_string();
        state
            .db
            .run(move |c| c.find_client(&id).map_err(OAuthError::Internal))
            .await
            .map_err(Refused::Internal)?
    };
    let client = client.ok_or_else(|| invalid("the client is unknown"))?;
    if !client.has_keys() {
        return Err(invalid(
            "this client has no keys (jwks or jwks_uri) to sign request objects with",
        ));
    }
    let now = state.clock.now();
    let verified = state
        .client_keys
        .verify(&client, jwt, request_object::MAX_LEN, now)
        .await
        .map_err(|why| Refused::Invalid(format!("the request object {why}")))?;
    request_object::check(&verified, &client.id, &state.settings.issuer, now)
        .map(Some)
        .map_err(|why| Refused::Invalid(format!("the request object is invalid: {why}")))
}

impl Refused {
    /// At `/authorize`: the error page (the redirect URI inside can't be trusted).
    pub fn page(self) -> PageError {
        match self {
            Refused::Invalid(why) => PageError::bad_request(why),
            Refused::Internal(e) => e.into(),
        }
    }

    /// At `/par`: 400 `invalid_request_object` (RFC 9101 §6.2).
    pub fn error(self) -> OAuthError {
        match self {
            Refused::Invalid(why) => OAuthError::new(ErrorCode::InvalidRequestObject, why),
            Refused::Internal(e) => e,
        }
    }
}
