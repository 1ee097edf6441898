//! `portcullis-verify` against a live Portcullis: tokens verify offline, a key rotation on the
//! server is picked up with one JWKS refetch, and API keys go through introspection.
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::oauth::registration::ClientSpec;
use portcullis_verify::{Config, TokenKind, Verifier, VerifyError};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app_with, Backend, PASSWORD};

both_backends!(verifier_follows_a_live_rotation);

async fn verifier_follows_a_live_rotation(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.keys.reload_interval_secs = 1).await;
    let rs = app.create_client(ClientSpec {
        name: "orders api".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into()],
        can_introspect: true,
        ..ClientSpec::default()
    });
    // The verifier's own clock, so the 30 s refetch limit can be stepped over without waiting.
    let now = Arc::new(AtomicI64::new(app.clock_now()));
    let clock = now.clone();
    let verifier = Verifier::from_issuer_with_config(
        &app.address,
        &app.address,
        Config::new()
            .api_keys(rs.id.clone(), rs.secret.clone())
            .clock(move || clock.load(Ordering::SeqCst)),
    )
    .await
    .unwrap();

    let token = |app: &crate::helpers::TestApp| {
        let (api, url, id, secret) = (
            app.api.clone(),
            app.url("/token"),
            rs.id.clone(),
            rs.secret.clone(),
        );
        async move {
            let body: Value = api
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["access_token"].as_str().unwrap().to_string()
        }
    };
    let before = token(&app).await;
    let claims = verifier.verify(&before).await.unwrap();
    assert_eq!(claims.sub, rs.id);
    assert_eq!(claims.client_id.as_deref(), Some(rs.id.as_str()));
    assert_eq!(claims.scopes, ["read"]);
    assert_eq!(claims.kind, TokenKind::AccessToken);
    let keys_before = verifier.key_ids();

    // Rotate on the server; wait until the server signs with the new key.
    // `--now` (the emergency rotation): the server signs with a key the verifier's cached
    // JWKS does not have yet.
    let new_kid = match app.rotate_keys_now(portcullis::tokens::Alg::RS256) {
        portcullis::tokens::keys::ops::Rotation::Scheduled(info) => info.kid,
        other => panic!("{other:?}"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let t = token(&app).await;
        if jsonwebtoken::decode_header(&t).unwrap().kid.as_deref() == Some(new_kid.as_str()) {
            break t;
        }
        assert!(Instant::now() < deadline, "the server did not switch keys");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Within 30 s of the last fetch the unknown kid is not fetched for…
    assert!(matches!(
        verifier.verify(&after).await,
        Err(VerifyError::UnknownKey(_))
    ));
    // …after it, one refetch finds it; the old token still verifies.
    now.fetch_add(31, Ordering::SeqCst);
    let claims = verifier.verify(&after).await.unwrap();
    assert_eq!(claims.sub, rs.id);
    assert!(verifier.key_ids().contains(&new_kid));
    assert!(keys_before.iter().all(|k| verifier.key_ids().contains(k)));
    verifier.verify(&before).await.unwrap();

    // An API key, checked through introspection.
    let user = app.create_user("reports@example.com", "instructor").await;
    let login = app.account_login(&user.email, PASSWORD).await;
    let created: Value = app
        .api
        .post(app.url("/api/keys"))
        .bearer_auth(login["access_token"].as_str().unwrap())
        .json(&json!({ "name": "reports", "scopes": ["read"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["api_key"].as_str().unwrap();
    let claims = verifier.verify(key).await.unwrap();
    assert_eq!(claims.kind, TokenKind::ApiKey);
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.scopes, ["read"]);
    assert!(verifier.verify(&format!("{key}x")).await.is_err());
}
