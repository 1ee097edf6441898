//! Unit tests of `client_auth`.
use super::*;
use crate::oauth::GrantType;
use std::collections::HashMap;

struct Clients(HashMap<String, Client>, std::collections::HashSet<String>);
impl ClientStore for Clients {
    fn find_client(&mut self, id: &str) -> anyhow::Result<Option<Client>> {
        Ok(self.0.get(id).cloned())
    }

    fn remember_assertion(&mut self, key: &str, _: i64) -> anyhow::Result<bool> {
        Ok(self.1.insert(key.to_string()))
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
        profile: None,
        exchange_audiences: vec![],
        exchange_impersonation: false,
        dynamic: false,
        metadata_document_expires_at: None,
        require_par: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        private_key_jwt: false,
        jwks: None,
        jwks_uri: None,
    };
    let signed = Client {
        id: "jwt".into(),
        secret_hash: None,
        private_key_jwt: true,
        jwks: Some("{}".into()),
        ..client.clone()
    };
    Clients(
        HashMap::from([("svc".to_string(), client), ("jwt".to_string(), signed)]),
        Default::default(),
    )
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
    let creds = extract(Some(&header), None, &Params::default()).unwrap();
    assert_eq!(creds.method, AuthMethod::Basic);
    assert!(authenticate(&mut store(), &creds).is_ok());
}

#[test]
fn wrong_secret_and_unknown_client_look_the_same() {
    let header = basic("svc", "wrong");
    let creds = extract(Some(&header), None, &Params::default()).unwrap();
    let a = authenticate(&mut store(), &creds).unwrap_err();
    let header = basic("nobody", "wrong");
    let creds = extract(Some(&header), None, &Params::default()).unwrap();
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
    let params = Params::from_pairs([("client_id", "svc"), ("client_secret", "x")], &[]).unwrap();
    let err = extract(Some(&basic("svc", "x")), None, &params).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
}

#[test]
fn confidential_client_without_secret_fails() {
    let params = Params::from_pairs([("client_id", "svc")], &[]).unwrap();
    let creds = extract(None, None, &params).unwrap();
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

fn assertion(client_id: &str, jti: &str) -> VerifiedAssertion {
    VerifiedAssertion {
        client_id: client_id.into(),
        jti: jti.into(),
        exp: 100,
    }
}

fn assertion_params() -> Params {
    Params::from_pairs(
        [
            (
                "client_assertion_type",
                super::super::client_keys::assertion::ASSERTION_TYPE,
            ),
            ("client_assertion", "a.b.c"),
        ],
        &[],
    )
    .unwrap()
}

#[test]
fn an_assertion_is_used_once_and_only_by_a_private_key_jwt_client() {
    let mut store = store();
    let verified = assertion("jwt", "one");
    let creds = extract(None, Some(&verified), &assertion_params()).unwrap();
    assert_eq!(creds.method, AuthMethod::PrivateKeyJwt);
    assert_eq!(authenticate(&mut store, &creds).unwrap().id, "jwt");
    let again = authenticate(&mut store, &creds).unwrap_err();
    assert_eq!(again.code(), ErrorCode::InvalidClient);
    assert!(again.to_string().contains("used before"), "{again}");
    let svc = assertion("svc", "two");
    let creds = extract(None, Some(&svc), &assertion_params()).unwrap();
    let err = authenticate(&mut store, &creds).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidClient);
}

#[test]
fn an_assertion_beside_a_secret_is_invalid_request_and_unverified_is_invalid_client() {
    let verified = assertion("jwt", "one");
    let err = extract(
        Some(&basic("jwt", "x")),
        Some(&verified),
        &assertion_params(),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    let err = extract(None, None, &assertion_params()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidClient);
}

#[test]
fn a_private_key_jwt_client_cannot_use_a_secret() {
    let params = Params::from_pairs([("client_id", "jwt"), ("client_secret", "x")], &[]).unwrap();
    let creds = extract(None, None, &params).unwrap();
    let err = authenticate(&mut store(), &creds).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidClient);
    assert!(err.to_string().contains("private_key_jwt"), "{err}");
}
