//! Client authentication at the token endpoint (RFC 6749 §2.3): `client_secret_basic` or
//! `client_secret_post`, never both; public clients identify with `client_id` alone. Unknown
//! client and wrong secret are indistinguishable, in answer and in work done.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;

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
}

impl AuthMethod {
    /// Every method `extract` recognises.
    pub const ALL: [AuthMethod; 3] = [AuthMethod::Basic, AuthMethod::Post, AuthMethod::None];

    /// The method's name in discovery and client metadata (RFC 8414, RFC 7591).
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Basic => "client_secret_basic",
            AuthMethod::Post => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: AuthMethod,
}

/// A hash no secret matches, compared against when the client is unknown so both paths do the
/// same work.
const DUMMY_HASH: &str = "0000000000000000000000000000000000000000000";

/// Reads the client's credentials from the `Authorization` header value and the body.
pub fn extract(authorization: Option<&str>, params: &Params) -> Result<Credentials, OAuthError> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
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
        });
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(Credentials {
            client_id: id.to_string(),
            secret: Some(secret.to_string()),
            method: AuthMethod::Post,
        }),
        (Some(id), None) => Ok(Credentials {
            client_id: id.to_string(),
            secret: None,
            method: AuthMethod::None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::GrantType;
    use std::collections::HashMap;

    struct Clients(HashMap<String, Client>);
    impl ClientStore for Clients {
        fn find_client(&mut self, id: &str) -> anyhow::Result<Option<Client>> {
            Ok(self.0.get(id).cloned())
        }
    }

    fn store() -> Clients {
        let client = Client {
            id: "svc".into(),
            name: "svc".into(),
            secret_hash: Some(secret::hash_secret("s3cret:x")),
            public: false,
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            audiences: vec![],
            skip_consent: false,
            access_token_ttl_secs: None,
            created_at: 0,
            updated_at: 0,
            can_introspect: false,
            pkce_required: true,
            web_origins: vec![],
            access_token_alg: None,
            id_token_alg: None,
            require_mfa: false,
            dpop_bound_access_tokens: false,
            exchange_audiences: vec![],
            exchange_impersonation: false,
            dynamic: false,
            metadata_document_expires_at: None,
            require_par: false,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            profile: None,
        };
        Clients(HashMap::from([("svc".to_string(), client)]))
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn the_named_client_comes_from_basic_or_the_body() {
        let header = basic("svc", "x");
        assert_eq!(
            named_client_id(Some(&header), Some("other")).as_deref(),
            Some("svc")
        );
        assert_eq!(named_client_id(None, Some("spa")).as_deref(), Some("spa"));
        assert_eq!(
            named_client_id(Some("Bearer abc"), Some("spa")).as_deref(),
            Some("spa")
        );
        assert_eq!(named_client_id(None, None), None);
    }

    #[test]
    fn basic_credentials_are_form_url_decoded() {
        let header = basic("svc", "s3cret%3Ax");
        let creds = extract(Some(&header), &Params::default()).unwrap();
        assert_eq!(creds.method, AuthMethod::Basic);
        assert!(authenticate(&mut store(), &creds).is_ok());
    }

    #[test]
    fn wrong_secret_and_unknown_client_look_the_same() {
        let header = basic("svc", "wrong");
        let creds = extract(Some(&header), &Params::default()).unwrap();
        let a = authenticate(&mut store(), &creds).unwrap_err();
        let header = basic("nobody", "wrong");
        let creds = extract(Some(&header), &Params::default()).unwrap();
        let b = authenticate(&mut store(), &creds).unwrap_err();
        assert_eq!(a.to_string(), b.to_string());
        assert!(matches!(
            a,
            OAuthError::Protocol {
                basic_challenge: true,
                ..
            }
        ));
    }

    #[test]
    fn two_methods_at_once_is_invalid_request() {
        let params =
            Params::from_pairs([("client_id", "svc"), ("client_secret", "x")], &[]).unwrap();
        let err = extract(Some(&basic("svc", "x")), &params).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn confidential_client_without_secret_fails() {
        let params = Params::from_pairs([("client_id", "svc")], &[]).unwrap();
        let creds = extract(None, &params).unwrap();
        let err = authenticate(&mut store(), &creds).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidClient);
        assert!(matches!(
            err,
            OAuthError::Protocol {
                basic_challenge: false,
                ..
            }
        ));
    }
}
