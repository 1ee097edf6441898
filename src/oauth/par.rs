//! Pushed authorization requests (RFC 9126), free of HTTP. A client authenticates as at
//! `/token` and pushes the parameters of an authorization request, which are validated as
//! `/authorize` validates them ([`authorize::validate`]) and stored for [`TTL_SECS`]; it gets a
//! `request_uri` to send the browser to `/authorize` with. The first `/authorize` that names it
//! (with the same `client_id`) consumes it ([`take`]); from there the pending request goes on as
//! any other (`oauth::pending`).
//!
//! The random part of the `request_uri` is a 256-bit secret; only its SHA-256 is stored.
use super::authorize::{self, AuthorizeError};
use super::{client_auth, Client, ErrorCode, OAuthError, Params};
use crate::store::pushed_requests::{self as store, PushedRow};
use crate::store::DbConnection;
use crate::tokens::secret;

/// How long a pushed request can be used (RFC 9126 §2.2: short; 60 s as FAPI 2.0 allows).
pub const TTL_SECS: i64 = 60;

/// The `request_uri` prefix RFC 9126 §2.2 suggests.
pub const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The answer to a push (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

/// What the client presents beside the body to authenticate.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// Its client assertion, verified beforehand.
    pub assertion: Option<&'a client_auth::VerifiedAssertion>,
}

/// Authenticates the client, validates the request in `params` — or, when the push carried a
/// signed request object (RFC 9101), the parameters in `object`, verified beforehand — as
/// `/authorize` would and stores it. `shared_resources`: as for [`authorize::validate`].
pub fn push(
    conn: &mut DbConnection,
    presented: Presented<'_>,
    params: &Params,
    object: Option<&Params>,
    shared_resources: &[String],
    now: i64,
) -> Result<Pushed, OAuthError> {
    let creds = client_auth::extract(presented.authorization, presented.assertion, params)?;
    let client = client_auth::authenticate(conn, &creds)?;
    super::profile::check_client_authentication(&client, creds.method)?;
    let request = match object {
        Some(inner) if inner.get("client_id") != Some(client.id.as_str()) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequestObject,
                "the request object's client_id must be the authenticated client",
            ))
        }
        Some(inner) => request_params(inner, &client)?,
        None => request_params(params, &client)?,
    };
    authorize::validate(&request, shared_resources, |_| Ok(Some(client.clone())))
        .map_err(refusal)?;
    let random = secret::random_token(32)?;
    let pairs: Vec<(&str, &str)> = request.pairs();
    store::insert(
        conn,
        &PushedRow {
            id: secret::hash_secret(&random),
            client_id: client.id.clone(),
            parameters: serde_json::to_string(&pairs).map_err(anyhow::Error::from)?,
            created_at: now,
            expires_at: now + TTL_SECS,
            used_at: None,
        },
    )?;
    Ok(Pushed {
        request_uri: format!("{URN_PREFIX}{random}"),
        expires_in: TTL_SECS,
    })
}

/// The authorization request in a push: every parameter but the client's credentials, with the
/// authenticated client's id (HTTP Basic may have been the only place it was named).
fn request_params(params: &Params, client: &Client) -> Result<Params, OAuthError> {
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri may not be pushed (RFC 9126 §2.1)",
        ));
    }
    let pairs = params
        .pairs()
        .into_iter()
        .filter(|(name, _)| {
            !matches!(
                *name,
                "client_id" | "client_secret" | "client_assertion" | "client_assertion_type"
            )
        })
        .chain([("client_id", client.id.as_str())]);
    Params::from_pairs(pairs, authorize::REPEATABLE)
}

/// An `/authorize` refusal as the JSON error of `/par` (RFC 9126 §2.3): what would have been a
/// page (bad redirect URI, …) is `invalid_request`; what would have been redirected keeps its
/// code.
fn refusal(e: AuthorizeError) -> OAuthError {
    match e {
        AuthorizeError::Page(message) => OAuthError::invalid_request(message),
        AuthorizeError::Redirect(reply) => {
            let field = |name: &str| {
                reply
                    .params
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            OAuthError::new(code_named(&field("error")), field("error_description"))
        }
        AuthorizeError::Internal(e) => OAuthError::Internal(e),
    }
}

/// The error codes `authorize::validate` redirects with; anything else reads as
/// `invalid_request`.
fn code_named(name: &str) -> ErrorCode {
    [
        ErrorCode::InvalidScope,
        ErrorCode::InvalidTarget,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::RequestNotSupported,
        ErrorCode::RequestUriNotSupported,
        ErrorCode::InvalidRequestObject,
    ]
    .into_iter()
    .find(|c| c.as_str() == name)
    .unwrap_or(ErrorCode::InvalidRequest)
}

/// Consumes the pushed request `request_uri` of `client_id` and returns its parameters.
/// Unknown, expired, used or another client's: a page (the redirect URI is not known yet).
pub fn take(
    conn: &mut DbConnection,
    client_id: &str,
    request_uri: &str,
    now: i64,
) -> Result<Params, AuthorizeError> {
    let gone = || {
        AuthorizeError::Page(
            "The pushed authorization request is unknown, expired or already used. \
             Go back to the application and start again."
                .to_string(),
        )
    };
    let random = request_uri.strip_prefix(URN_PREFIX).ok_or_else(gone)?;
    let row =
        store::consume(conn, &secret::hash_secret(random), client_id, now)?.ok_or_else(gone)?;
    let pairs: Vec<(String, String)> = serde_json::from_str(&row.parameters)
        .map_err(|e| AuthorizeError::Internal(anyhow::anyhow!("corrupt pushed request: {e}")))?;
    Params::from_pairs(
        pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        authorize::REPEATABLE,
    )
    .map_err(|e| AuthorizeError::Internal(anyhow::anyhow!("corrupt pushed request: {e}")))
}

/// Whether `client`'s authorization requests must be pushed: `global` is
/// `clients.require_pushed_authorization_requests`; a fapi2 client always must
/// (`profile::requires_par`).
pub fn required(global: bool, client: &Client) -> bool {
    global || client.require_par || super::profile::requires_par(client)
}

/// The page for an authorization request that should have been pushed.
pub fn not_pushed() -> AuthorizeError {
    AuthorizeError::Page(
        "This application must push its authorization requests first (RFC 9126): the request \
         has no request_uri."
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirected_errors_keep_their_code_and_pages_become_invalid_request() {
        assert_eq!(code_named("invalid_scope"), ErrorCode::InvalidScope);
        assert_eq!(code_named("whatever"), ErrorCode::InvalidRequest);
        let page = refusal(AuthorizeError::Page("bad redirect".into()));
        assert_eq!(page.code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_pushed_request_uri_is_refused_and_credentials_are_not_kept() {
        let client = crate::oauth::client::account_client();
        let params =
            Params::from_pairs([("client_id", "x"), ("request_uri", "urn:a")], &[]).unwrap();
        let err = request_params(&params, &client).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        let params = Params::from_pairs(
            [
                ("client_secret", "s"),
                ("scope", "openid"),
                ("resource", "https://a"),
                ("resource", "https://b"),
            ],
            authorize::REPEATABLE,
        )
        .unwrap();
        let kept = request_params(&params, &client).unwrap();
        assert_eq!(kept.get("client_secret"), None);
        assert_eq!(kept.get("client_id"), Some(client.id.as_str()));
        assert_eq!(kept.all("resource"), ["https://a", "https://b"]);
    }
}
