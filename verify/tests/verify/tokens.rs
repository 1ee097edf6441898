//! Access tokens: what is accepted and every way one is refused; key rotation and refetch limits.
use super::common::*;

// ---------------------------------------------------------------------------------------------
// Verifier

#[actix_web::test]
async fn valid_token_is_accepted() {
    let s = Setup::new().await;
    assert_eq!(s.issuer.jwks_fetches(), 1);
    assert_eq!(s.verifier.key_ids(), vec![KEYS[0].kid.clone()]);

    let claims = s.verifier.verify(&s.token()).await.unwrap();
    assert_eq!(claims.iss, s.issuer.url);
    assert_eq!(claims.sub, "user-42");
    assert_eq!(claims.client_id.as_deref(), Some("web-app"));
    assert_eq!(claims.aud, vec![AUDIENCE.to_owned()]);
    assert_eq!(claims.scopes, vec!["openid", "profile", "read"]);
    assert!(claims.has_scope("read") && !claims.has_scope("write"));
    assert!(claims.has_role("editor") && !claims.has_role("admin"));
    assert_eq!(claims.exp, Some(s.clock.now() + 900));
    assert_eq!(claims.iat, Some(s.clock.now()));
    assert_eq!(claims.auth_time, Some(s.clock.now() - 5));
    assert_eq!(claims.jti.as_deref(), Some("jti-1"));
    assert_eq!(claims.sid.as_deref(), Some("sid-7"));
    assert_eq!(claims.kind, TokenKind::AccessToken);
    assert_eq!(claims.extra.get("email"), Some(&json!("a@example.com")));

    // `aud` as an array; a client_credentials token without scope, roles or user claims.
    let token = s.token_with(|c| {
        c.insert("aud".into(), json!(["other", AUDIENCE]));
        c.insert("sub".into(), json!("web-app"));
        for name in ["scope", "roles", "auth_time", "sid", "email"] {
            c.remove(name);
        }
    });
    let claims = s.verifier.verify(&token).await.unwrap();
    assert_eq!(claims.aud, vec!["other".to_owned(), AUDIENCE.to_owned()]);
    assert!(claims.scopes.is_empty() && claims.roles.is_empty());
    assert_eq!(claims.auth_time, None);

    // No further key fetches for known keys.
    assert_eq!(s.issuer.jwks_fetches(), 1);
}

#[actix_web::test]
async fn expired_and_not_yet_valid_tokens_are_rejected() {
    let s = Setup::new().await;
    let now = s.clock.now();
    let expired = s.token_with(|c| {
        c.insert("iat".into(), json!(now - 1000));
        c.insert("exp".into(), json!(now - 31));
    });
    assert_invalid_token(&s, s.verifier.verify(&expired).await, &VerifyError::Expired);

    // Within the 30 s leeway: still accepted.
    let just_expired = s.token_with(|c| {
        c.insert("exp".into(), json!(now - 20));
    });
    s.verifier.verify(&just_expired).await.unwrap();

    // A valid token expires when the clock moves on.
    let token = s.token();
    s.verifier.verify(&token).await.unwrap();
    s.clock.advance(900 + 30);
    assert_invalid_token(&s, s.verifier.verify(&token).await, &VerifyError::Expired);

    let now = s.clock.now();
    let early = s.token_with(|c| {
        c.insert("nbf".into(), json!(now + 120));
        c.insert("exp".into(), json!(now + 900));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&early).await,
        &VerifyError::NotYetValid,
    );
    s.clock.advance(100); // nbf is now 20 s ahead: inside the leeway
    s.verifier.verify(&early).await.unwrap();
}

#[actix_web::test]
async fn wrong_issuer_and_audience_are_rejected() {
    let s = Setup::new().await;
    let wrong_iss = s.token_with(|c| {
        c.insert("iss".into(), json!("https://evil.example.com"));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&wrong_iss).await,
        &VerifyError::WrongIssuer,
    );
    // A trailing slash is another issuer.
    let slash = format!("{}/", s.issuer.url);
    let slashed = s.token_with(|c| {
        c.insert("iss".into(), json!(slash));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&slashed).await,
        &VerifyError::WrongIssuer,
    );

    let wrong_aud = s.token_with(|c| {
        c.insert("aud".into(), json!(["https://other-api.example.com"]));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&wrong_aud).await,
        &VerifyError::WrongAudience,
    );
}

#[actix_web::test]
async fn missing_claims_are_rejected() {
    let s = Setup::new().await;
    for name in ["exp", "iss", "aud", "sub"] {
        let token = s.token_with(|c| {
            c.remove(name);
        });
        assert_invalid_token(
            &s,
            s.verifier.verify(&token).await,
            &VerifyError::MissingClaim(name),
        );
    }
    let bad_exp = s.token_with(|c| {
        c.insert("exp".into(), json!("tomorrow"));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&bad_exp).await,
        &VerifyError::InvalidClaim("exp"),
    );
    let bad_roles = s.token_with(|c| {
        c.insert("roles".into(), json!("admin"));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&bad_roles).await,
        &VerifyError::InvalidClaim("roles"),
    );
}

#[actix_web::test]
async fn alg_none_is_rejected_before_any_key_lookup() {
    let s = Setup::new().await;
    // A refetch would be allowed now; the `none` token must not cause one.
    s.clock.advance(60);
    for kid in [KEYS[0].kid.as_str(), "never-seen"] {
        let header = json!({"alg": "none", "typ": "at+jwt", "kid": kid});
        let token = format!("{}.{}.", b64(&header), b64(&s.claims()));
        assert_invalid_token(
            &s,
            s.verifier.verify(&token).await,
            &VerifyError::AlgorithmNotAllowed("none".into()),
        );
        // With a bogus signature part too.
        let token = format!("{}.{}.AAAA", b64(&header), b64(&s.claims()));
        assert_invalid_token(
            &s,
            s.verifier.verify(&token).await,
            &VerifyError::AlgorithmNotAllowed("none".into()),
        );
    }
    assert_eq!(s.issuer.jwks_fetches(), 1);
}

#[actix_web::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    let s = Setup::new().await;
    s.clock.advance(60);
    // The classic key-confusion attack: HMAC keyed with the issuer's public key.
    let secret = EncodingKey::from_secret(KEYS[0].public_pem.as_bytes());
    for kid in [KEYS[0].kid.as_str(), "never-seen"] {
        let header = at_jwt_header(Algorithm::HS256, kid);
        let token = jsonwebtoken::encode(&header, &s.claims(), &secret).unwrap();
        assert_invalid_token(
            &s,
            s.verifier.verify(&token).await,
            &VerifyError::AlgorithmNotAllowed("HS256".into()),
        );
    }
    // A JWK-shaped secret too.
    let secret = EncodingKey::from_secret(KEYS[0].jwk.to_string().as_bytes());
    let token = jsonwebtoken::encode(
        &at_jwt_header(Algorithm::HS512, &KEYS[0].kid),
        &s.claims(),
        &secret,
    )
    .unwrap();
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::AlgorithmNotAllowed("HS512".into()),
    );
    assert_eq!(s.issuer.jwks_fetches(), 1);
}

#[actix_web::test]
async fn algorithms_not_in_the_allow_list_are_rejected() {
    let s = Setup::new().await;
    // PS256 with a published RSA key: a fine algorithm, but not allowed by default.
    let token = mint_with(
        &at_jwt_header(Algorithm::PS256, &KEYS[0].kid),
        &KEYS[0],
        &s.claims(),
    );
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::AlgorithmNotAllowed("PS256".into()),
    );
}

#[actix_web::test]
async fn forbidden_algorithms_cannot_be_configured() {
    for alg in ["none", "HS256", "HS384", "HS512"] {
        let config = Config::default().allowed_algorithms(["RS256", alg]);
        // Refused before any network access: nothing listens on port 9.
        let error = Verifier::from_issuer_with_config("http://127.0.0.1:9", AUDIENCE, config)
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::ForbiddenAlgorithm(ref a) if a == alg),
            "{error}"
        );
    }
}

#[actix_web::test]
async fn tampered_tokens_are_rejected() {
    let s = Setup::new().await;
    let token = s.token();
    let parts: Vec<&str> = token.split('.').collect();

    // Payload swapped for another user's, signature kept.
    let mut claims = s.claims();
    claims["sub"] = json!("admin");
    claims["roles"] = json!(["admin"]);
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    assert_invalid_token(
        &s,
        s.verifier.verify(&tampered).await,
        &VerifyError::InvalidSignature,
    );

    // One signature character flipped.
    let mut signature = parts[2].to_owned();
    let other = if &signature[10..11] == "A" { "B" } else { "A" };
    signature.replace_range(10..11, other);
    let flipped = format!("{}.{}.{}", parts[0], parts[1], signature);
    assert_invalid_token(
        &s,
        s.verifier.verify(&flipped).await,
        &VerifyError::InvalidSignature,
    );

    // Signed by an unpublished key under a published kid.
    let forged = mint_with(
        &at_jwt_header(Algorithm::RS256, &KEYS[0].kid),
        &KEYS[2],
        &s.claims(),
    );
    assert_invalid_token(
        &s,
        s.verifier.verify(&forged).await,
        &VerifyError::InvalidSignature,
    );

    // Not a JWT at all.
    for garbage in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.sig"] {
        assert_invalid_token(
            &s,
            s.verifier.verify(garbage).await,
            &VerifyError::Malformed,
        );
    }
}

#[actix_web::test]
async fn typ_must_be_at_jwt() {
    let s = Setup::new().await;
    for typ in [Some("JWT"), Some("jwt"), Some("id_token+jwt"), None] {
        let mut header = at_jwt_header(Algorithm::RS256, &KEYS[0].kid);
        header.typ = typ.map(str::to_owned);
        let token = mint_with(&header, &KEYS[0], &s.claims());
        assert_invalid_token(&s, s.verifier.verify(&token).await, &VerifyError::WrongType);
    }
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let mut header = at_jwt_header(Algorithm::RS256, &KEYS[0].kid);
        header.typ = Some(typ.to_owned());
        let token = mint_with(&header, &KEYS[0], &s.claims());
        s.verifier.verify(&token).await.unwrap();
    }
}
