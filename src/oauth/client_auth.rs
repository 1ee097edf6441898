//! Client authentication at the token endpoint (RFC 6749 §2.3): `client_secret_basic`,
//! `client_secret_post` or `private_key_jwt` (RFC 7523), one at a time; public clients identify
//! with `client_id` alone. Unknown client and wrong secret are indistinguishable in answer, and
//! both cost a database read and a hash comparison (a client held in `client_cache` costs a
//! second comparison: which clients are in use is not treated as secret). A client assertion's signature and claims are verified before the database
//! task (its keys may have to be fetched: `http::client_assertion`); here its `jti` is
//! remembered, so a replay fails on every instance.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;

use super::client_keys::assertion::replay_key;
use super::{Client, ClientStore, ErrorCode, OAuthError, Params};
use crate::tokens::secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Basic` (client_secret_basic).
    Basic,
    /// `client_id` + `client_secret` in the body (client_secret_post).
    Post,
    /// `client_id` alone: a public client.
    None,
    /// `client_assertion`: a JWT signed with one of the client's keys (RFC 7523 §2.2).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// Every method `extract` recognises.
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::Basic,
        AuthMethod::Post,
        AuthMethod::None,
        AuthMethod::PrivateKeyJwt,
    ];

    /// The method's name in discovery and client metadata (RFC 8414, RFC 7591).
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Basic => "client_secret_basic",
            AuthMethod::Post => "client_secret_post",
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: AuthMethod,
    /// With `PrivateKeyJwt`: the assertion, verified.
    pub assertion: Option<VerifiedAssertion>,
}

/// A client assertion whose signature and claims were verified (`client_keys::assertion`); its
/// `jti` is not yet remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub client_id: String,
    pub jti: String,
    pub exp: i64,
}

/// Whether the request authenticates with a client assertion (either parameter present).
pub fn has_assertion(params: &Params) -> bool {
    params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some()
}

/// A hash no secret matches, compared against when the client is unknown so both paths do the
/// same work.
const DUMMY_HASH: &str = "0000000000000000000000000000000000000000000";

/// Reads the client's credentials from the `Authorization` header value and the body;
/// `assertion` is the request's client assertion as verified beforehand.
pub fn extract(
    authorization: Option<&str>,
    assertion: Option<&VerifiedAssertion>,
    params: &Params,
) -> Result<Credentials, OAuthError> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    if has_assertion(params) {
        one_method(authorization, params)?;
        let verified = assertion.ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidClient,
                "the client assertion could not be verified",
            )
        })?;
        if body_id.is_some_and(|b| b != verified.client_id) {
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "client_id in the body differs from the client assertion's sub",
            ));
        }
        return Ok(Credentials {
            client_id: verified.client_id.clone(),
            secret: None,
            method: AuthMethod::PrivateKeyJwt,
            assertion: Some(verified.clone()),
        });
    }
    if let Some(header) = authorization {
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "client authentication must use HTTP Basic or the request body",
            ));
        }
        let (id, secret) = decode_basic(rest.trim()).ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidClient, "malformed HTTP Basic credentials")
                .with_basic_challenge(true)
        })?;
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method: HTTP Basic or client_secret in the body, not both",
            ));
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the HTTP Basic credentials",
            ));
        }
        return Ok(Credentials {
            client_id: id,
            secret: Some(secret),
            method: AuthMethod::Basic,
            assertion: None,
        });
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(Credentials {
            client_id: id.to_string(),
            secret: Some(secret.to_string()),
            method: AuthMethod::Post,
            assertion: None,
        }),
        (Some(id), None) => Ok(Credentials {
            client_id: id.to_string(),
            secret: None,
            method: AuthMethod::None,
            assertion: None,
        }),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "client_secret was sent without client_id",
        )),
        (None, None) => Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication is required",
        )),
    }
}

/// A client assertion is one method: not beside HTTP Basic or a `client_secret`.
pub fn one_method(authorization: Option<&str>, params: &Params) -> Result<(), OAuthError> {
    if authorization.is_some() || params.get("client_secret").is_some() {
        return Err(OAuthError::invalid_request(
            "use one client authentication method: a client assertion, HTTP Basic or \
             client_secret, not several",
        ));
    }
    Ok(())
}

/// The client a request names, before any check: the HTTP Basic user name when the header is
/// well-formed Basic, else the body's `client_id` (CORS decides by it; `extract` judges the
/// request itself).
pub fn named_client_id(
    authorization: Option<&str>,
    body_client_id: Option<&str>,
) -> Option<String> {
    let basic = authorization.and_then(|header| {
        let (scheme, rest) = header.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("basic")
            .then(|| decode_basic(rest.trim()))?
            .map(|(id, _)| id)
    });
    basic.or_else(|| body_client_id.map(str::to_string))
}

/// `base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = percent_decode_str(&id.replace('+', " "))
        .decode_utf8()
        .ok()?
        .into_owned();
    let secret = percent_decode_str(&secret.replace('+', " "))
        .decode_utf8()
        .ok()?
        .into_owned();
    if id.is_empty() {
        return None;
    }
    Some((id, secret))
}

/// Finds the client and checks its credentials.
pub fn authenticate(
    store: &mut impl ClientStore,
    creds: &Credentials,
) -> Result<Client, OAuthError> {
    let failed = || {
        OAuthError::new(ErrorCode::InvalidClient, "client authentication failed")
            .with_basic_challenge(creds.method == AuthMethod::Basic)
    };
    let client = store.find_client(&creds.client_id)?;
    if let Some(assertion) = &creds.assertion {
        return by_assertion(store, client, assertion);
    }
    if client.as_ref().is_some_and(|c| c.private_key_jwt) {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "this client authenticates with private_key_jwt (a client assertion), not a secret",
        )
        .with_basic_challenge(creds.method == AuthMethod::Basic));
    }
    match (client, &creds.secret) {
        (Some(client), Some(presented)) => {
            let stored = client.secret_hash.as_deref().unwrap_or(DUMMY_HASH);
            let ok = secret::verify_secret(presented, stored);
            // A public client has no secret to present; one that sends a secret is refused.
            if ok && !client.public {
                Ok(client)
            } else {
                Err(failed())
            }
        }
        (Some(client), None) if client.public => Ok(client),
        (Some(_), None) => Err(failed()),
        (None, presented) => {
            let _ = secret::verify_secret(presented.as_deref().unwrap_or(""), DUMMY_HASH);
            Err(failed())
        }
    }
}

/// A verified assertion's client, which must be registered for `private_key_jwt`, and its
/// `jti`, which must not have been seen (remembered until the assertion expires).
fn by_assertion(
    store: &mut impl ClientStore,
    client: Option<Client>,
    assertion: &VerifiedAssertion,
) -> Result<Client, OAuthError> {
    let client = client
        .filter(|c| c.id == assertion.client_id && c.private_key_jwt)
        .ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidClient,
                "this client does not authenticate with private_key_jwt",
            )
        })?;
    let key = replay_key(&client.id, &assertion.jti);
    if !store.remember_assertion(&key, assertion.exp)? {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "the client assertion was used before (its jti is not new)",
        ));
    }
    Ok(client)
}

#[cfg(test)]
#[path = "client_auth_tests.rs"]
mod tests;
