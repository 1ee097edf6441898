//! Keys: unknown kids, rotation with one refetch, the refetch limit, discovery and JWKS rules.
use super::common::*;

#[actix_web::test]
async fn unknown_kid_is_rejected_after_one_refetch() {
    let s = Setup::new().await;
    s.clock.advance(30);
    let token = mint(&KEYS[2], &s.claims());
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::UnknownKey(KEYS[2].kid.clone()),
    );
    assert_eq!(s.issuer.jwks_fetches(), 2);
    // Again right away: no fetch.
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::UnknownKey(KEYS[2].kid.clone()),
    );
    assert_eq!(s.issuer.jwks_fetches(), 2);

    // A token without kid.
    let mut header = at_jwt_header(Algorithm::RS256, "");
    header.kid = None;
    let token = mint_with(&header, &KEYS[0], &s.claims());
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::UnknownKey(String::new()),
    );
}

#[actix_web::test]
async fn a_rotated_key_verifies_after_exactly_one_refetch() {
    let s = Setup::new().await;
    assert_eq!(s.issuer.jwks_fetches(), 1);
    s.issuer.publish(&KEYS[1]);
    s.clock.advance(45);

    let new_token = mint(&KEYS[1], &s.claims());
    // Concurrent callers share the one fetch.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let verifier = s.verifier.clone();
        let token = new_token.clone();
        tasks.spawn(async move { verifier.verify(&token).await });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap().unwrap().sub, "user-42");
    }
    assert_eq!(s.issuer.jwks_fetches(), 2);
    assert_eq!(s.verifier.key_ids(), {
        let mut kids = vec![KEYS[0].kid.clone(), KEYS[1].kid.clone()];
        kids.sort();
        kids
    });

    // Old and new keys both verify without more fetches.
    s.verifier.verify(&s.token()).await.unwrap();
    s.verifier.verify(&new_token).await.unwrap();
    assert_eq!(s.issuer.jwks_fetches(), 2);
}

#[actix_web::test]
async fn a_burst_of_unknown_kids_causes_at_most_one_fetch_per_interval() {
    let s = Setup::new().await;
    s.clock.advance(30); // the start-up fetch is 30 s old: one refetch is allowed
    let claims = s.claims();
    let tokens: Vec<String> = (0..50)
        .map(|i| {
            mint_with(
                &at_jwt_header(Algorithm::RS256, &format!("unknown-{i}")),
                &KEYS[0],
                &claims,
            )
        })
        .collect();

    // 25 at once; 20 s later 25 more: all within 30 s of the one refetch the first wave caused.
    for (wave, half) in tokens.chunks(25).enumerate() {
        if wave > 0 {
            s.clock.advance(20);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for token in half {
            let verifier = s.verifier.clone();
            let token = token.clone();
            tasks.spawn(async move { verifier.verify(&token).await });
        }
        while let Some(result) = tasks.join_next().await {
            assert!(matches!(result.unwrap(), Err(VerifyError::UnknownKey(_))));
        }
        assert_eq!(s.issuer.jwks_fetches(), 2);
    }

    // A key published meanwhile: 29 s after the refetch it is still unknown ...
    s.issuer.publish(&KEYS[1]);
    let rotated = mint(&KEYS[1], &claims);
    s.clock.advance(9);
    assert!(matches!(
        s.verifier.verify(&rotated).await,
        Err(VerifyError::UnknownKey(_))
    ));
    assert_eq!(s.issuer.jwks_fetches(), 2);
    // ... and 30 s after it another fetch is allowed, which finds the key.
    s.clock.advance(1);
    s.verifier.verify(&rotated).await.unwrap();
    assert_eq!(s.issuer.jwks_fetches(), 3);
}

#[actix_web::test]
async fn a_stale_jwks_is_refreshed_and_dropped_keys_stop_verifying() {
    let s = Setup::new().await;
    let token = s.token();
    s.verifier.verify(&token).await.unwrap();
    // Within max-age (300 s): no fetch.
    s.clock.advance(299);
    s.verifier.verify(&token).await.unwrap();
    assert_eq!(s.issuer.jwks_fetches(), 1);
    // Past max-age: one refresh, the key is still there.
    s.clock.advance(1);
    s.verifier.verify(&token).await.unwrap();
    assert_eq!(s.issuer.jwks_fetches(), 2);
    // The issuer drops the key (e.g. after a compromise): after the next refresh it is unknown.
    s.issuer.publish(&KEYS[1]);
    s.issuer.unpublish(&KEYS[0]);
    s.clock.advance(300);
    let token = s.token_with(|_| {});
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::UnknownKey(KEYS[0].kid.clone()),
    );
    assert_eq!(s.issuer.jwks_fetches(), 3);
}

#[actix_web::test]
async fn discovery_must_name_the_configured_issuer() {
    let issuer = FakeIssuer::start();
    *issuer.state.announced_issuer.lock().unwrap() = Some("https://evil.example.com".into());
    let error = Verifier::from_issuer(&issuer.url, AUDIENCE)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::IssuerMismatch { found, .. } if found == "https://evil.example.com"),
        "{error}"
    );
    // A trailing slash is not the same issuer either.
    *issuer.state.announced_issuer.lock().unwrap() = None;
    let error = Verifier::from_issuer(&format!("{}/", issuer.url), AUDIENCE)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::IssuerMismatch { .. }), "{error}");
    assert_eq!(issuer.jwks_fetches(), 0);
}

#[actix_web::test]
async fn redirects_are_not_followed() {
    let issuer = FakeIssuer::start();
    let error = Verifier::from_issuer(&format!("{}/redirect", issuer.url), AUDIENCE)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Status { status: 302, .. }),
        "{error}"
    );
}

#[actix_web::test]
async fn offline_verifier_from_a_jwks() {
    let clock = TestClock::new();
    let c = clock.clone();
    let jwks = json!({"keys": [KEYS[0].jwk]}).to_string();
    let issuer = "https://id.example.com";
    let verifier = Verifier::from_jwks(
        issuer,
        AUDIENCE,
        &jwks,
        Config::default().clock(move || c.now()),
    )
    .unwrap();
    let now = clock.now();
    let claims = json!({"iss": issuer, "sub": "u", "aud": AUDIENCE, "exp": now + 60, "iat": now});
    assert_eq!(
        verifier.verify(&mint(&KEYS[0], &claims)).await.unwrap().sub,
        "u"
    );
    assert!(matches!(
        verifier.verify(&mint(&KEYS[1], &claims)).await,
        Err(VerifyError::UnknownKey(_))
    ));
    assert!(matches!(
        Verifier::from_jwks(issuer, AUDIENCE, r#"{"keys":[]}"#, Config::default()),
        Err(Error::NoUsableKeys)
    ));
}

#[actix_web::test]
async fn other_rsa_algorithms_when_allowed_and_the_key_permits() {
    let issuer = "https://id.example.com";
    let now = TestClock::new().now();
    let claims = json!({"iss": issuer, "sub": "u", "aud": AUDIENCE, "exp": now + 60});
    let config = Config::default().allowed_algorithms(["RS256", "PS256", "RS512"]);
    // The JWK without "alg": any allowed RSA algorithm.
    let mut jwk = KEYS[0].jwk.clone();
    jwk.as_object_mut().unwrap().remove("alg");
    let any = json!({"keys": [jwk]}).to_string();
    let verifier = Verifier::from_jwks(issuer, AUDIENCE, &any, config.clone()).unwrap();
    for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::RS512] {
        let token = mint_with(&at_jwt_header(alg, &KEYS[0].kid), &KEYS[0], &claims);
        verifier.verify(&token).await.unwrap();
    }
    // The JWK says RS256: a PS256 signature by the same key does not count.
    let pinned = json!({"keys": [KEYS[0].jwk]}).to_string();
    let verifier = Verifier::from_jwks(issuer, AUDIENCE, &pinned, config).unwrap();
    let token = mint_with(
        &at_jwt_header(Algorithm::PS256, &KEYS[0].kid),
        &KEYS[0],
        &claims,
    );
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        VerifyError::KeyMismatch
    );
}
