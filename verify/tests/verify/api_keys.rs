//! API keys through introspection, with the positive cache.
use super::common::*;

// ---------------------------------------------------------------------------------------------
// API keys

pub(crate) fn api_key_config() -> Config {
    Config::default().api_keys(INTROSPECTION_CLIENT, INTROSPECTION_SECRET)
}

#[actix_web::test]
async fn api_keys_are_introspected_and_cached() {
    let s = Setup::with_config(api_key_config()).await;
    assert!(s.verifier.accepts_api_keys());
    let key = "pc_AbCd1234_s3cr3t-s3cr3t_s3cr3t";
    s.issuer.add_api_key(
        key,
        json!({"active": true, "token_type": "api_key", "sub": "user-42",
               "scope": "read reports:export", "exp": s.clock.now() + 3600,
               "iss": s.issuer.url, "key_id": "AbCd1234"}),
    );

    let claims = s.verifier.verify(key).await.unwrap();
    assert_eq!(claims.kind, TokenKind::ApiKey);
    assert_eq!(claims.sub, "user-42");
    assert_eq!(claims.client_id, None);
    assert_eq!(claims.scopes, vec!["read", "reports:export"]);
    assert!(claims.roles.is_empty());
    assert_eq!(claims.extra.get("key_id"), Some(&json!("AbCd1234")));
    assert_eq!(s.issuer.introspections(), 1);

    // Cached: no second introspection within the TTL.
    assert_eq!(s.verifier.verify(key).await.unwrap(), claims);
    s.clock.advance(29);
    s.verifier.verify(key).await.unwrap();
    assert_eq!(s.issuer.introspections(), 1);
    // After the TTL, asked again.
    s.clock.advance(1);
    s.verifier.verify(key).await.unwrap();
    assert_eq!(s.issuer.introspections(), 2);
    // JWTs never go to introspection.
    s.verifier.verify(&s.token()).await.unwrap();
    assert_eq!(s.issuer.introspections(), 2);
}

#[actix_web::test]
async fn inactive_api_keys_are_rejected_and_never_cached() {
    let s = Setup::with_config(api_key_config()).await;
    let key = "pc_revoked1_xxxxxxxxxxxxxxxx";
    for round in 1..=2 {
        assert_invalid_token(
            &s,
            s.verifier.verify(key).await,
            &VerifyError::InactiveApiKey,
        );
        assert_eq!(s.issuer.introspections(), round);
    }
    // Becomes active (e.g. the previous answer was a race): seen at once.
    s.issuer
        .add_api_key(key, json!({"active": true, "sub": "user-1"}));
    assert_eq!(s.verifier.verify(key).await.unwrap().sub, "user-1");
    // An answer for an expired key is inactive whatever it says.
    let expired = "pc_expired1_xxxxxxxxxxxxxxxx";
    s.issuer.add_api_key(
        expired,
        json!({"active": true, "sub": "user-1", "exp": s.clock.now() - 1}),
    );
    assert_invalid_token(
        &s,
        s.verifier.verify(expired).await,
        &VerifyError::InactiveApiKey,
    );
}

#[actix_web::test]
async fn api_keys_without_credentials_are_invalid_tokens() {
    let s = Setup::new().await;
    assert!(!s.verifier.accepts_api_keys());
    s.issuer
        .add_api_key("pc_AbCd1234_x", json!({"active": true, "sub": "u"}));
    assert_invalid_token(
        &s,
        s.verifier.verify("pc_AbCd1234_x").await,
        &VerifyError::ApiKeysNotAccepted,
    );
    assert_eq!(s.issuer.introspections(), 0);
}

#[actix_web::test]
async fn introspection_with_bad_credentials_is_unavailable_not_invalid() {
    let config = Config::default().api_keys(INTROSPECTION_CLIENT, "wrong");
    let s = Setup::with_config(config).await;
    let error = s.verifier.verify("pc_AbCd1234_x").await.unwrap_err();
    assert!(matches!(error, VerifyError::Unavailable(_)), "{error}");
    let answer = AuthError::from_verify_error(s.verifier.issuer(), &error);
    assert_eq!(answer.status(), 503);
}
