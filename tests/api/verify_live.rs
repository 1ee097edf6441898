//! `portcullis-verify` against a live Portcullis: tokens verify offline, a key rotation on the
//! server is picked up with one JWKS refetch, API keys go through introspection, and a
//! DPoP-bound token passes the verifier's extractor only with a fresh proof of its key.
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{test, web, App, HttpResponse};
use portcullis::oauth::registration::ClientSpec;
use portcullis_verify::{Authenticated, Config, TokenKind, Verifier, VerifyError};
use serde_json::{json, Value};

use crate::both_backends;
use crate::dpop::{ath, claims_of, Key};
use crate::helpers::{spawn_app, spawn_app_with, Backend, PASSWORD};

both_backends!(
    verifier_follows_a_live_rotation,
    a_dpop_bound_token_passes_portcullis_verify_only_with_a_proof_of_its_key,
);

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

/// Where the resource server's clients reach it (behind a proxy, say).
const RESOURCE: &str = "https://orders.example.com";

async fn orders(auth: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "for": auth.sub }))
}

/// Asserts a 401 with a `DPoP` challenge carrying `error`, the algorithms, and the same body.
async fn assert_dpop_refused(resp: actix_web::dev::ServiceResponse, error: &str) {
    assert_eq!(resp.status(), 401);
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .expect("a challenge")
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("DPoP realm=\""), "{challenge}");
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
    assert!(
        challenge.contains("algs=\"ES256 EdDSA RS256 PS256\""),
        "{challenge}"
    );
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["error"], error, "{body}");
}

async fn a_dpop_bound_token_passes_portcullis_verify_only_with_a_proof_of_its_key(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let client = app.service_client();
    let clock = app.clock.clone();
    let verifier = Verifier::from_issuer_with_config(
        &app.address,
        &app.address,
        Config::new().external_url(RESOURCE).clock(move || {
            use portcullis::clock::Clock;
            clock.now()
        }),
    )
    .await
    .unwrap();
    let key = Key::new();
    let body: Value = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .header("DPoP", key.token_proof(&app))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims_of(&token)["cnf"]["jkt"], key.jkt().as_str());

    let rs = test::init_service(
        App::new()
            .app_data(web::Data::new(verifier.clone()))
            .route("/orders", web::get().to(orders)),
    )
    .await;
    let call = |authorization: String, proof: Option<String>| {
        let mut req = test::TestRequest::get()
            .uri("/orders")
            .insert_header(("Authorization", authorization));
        if let Some(p) = proof {
            req = req.insert_header(("DPoP", p));
        }
        test::call_service(&rs, req.to_request())
    };
    let url = format!("{RESOURCE}/orders");
    let good = |key: &Key| key.proof(&app, json!({"htm": "GET", "htu": url, "ath": ath(&token)}));
    let dpop_auth = format!("DPoP {token}");

    // A proof of the bound key for this request: accepted.
    let proof = good(&key);
    let resp = call(dpop_auth.clone(), Some(proof.clone())).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = test::read_body_json(resp).await;
    assert_eq!(answer["for"], client.id.as_str());

    // The same proof again: a replay.
    assert_dpop_refused(
        call(dpop_auth.clone(), Some(proof)).await,
        "invalid_dpop_proof",
    )
    .await;
    // A proof of another key; no proof.
    let other = Key::new();
    assert_dpop_refused(
        call(dpop_auth.clone(), Some(good(&other))).await,
        "invalid_dpop_proof",
    )
    .await;
    assert_dpop_refused(call(dpop_auth.clone(), None).await, "invalid_dpop_proof").await;
    // Wrong htu (the issuer's URL, another path), htm, ath; a stale iat.
    let now = app.clock_now();
    for claims in [
        json!({"htm": "GET", "htu": app.url("/orders"), "ath": ath(&token)}),
        json!({"htm": "GET", "htu": format!("{RESOURCE}/invoices"), "ath": ath(&token)}),
        json!({"htm": "POST", "htu": url, "ath": ath(&token)}),
        json!({"htm": "GET", "htu": url, "ath": ath("another token")}),
        json!({"htm": "GET", "htu": url, "ath": ath(&token), "iat": now - 120}),
    ] {
        let resp = call(dpop_auth.clone(), Some(key.proof(&app, claims.clone()))).await;
        assert_dpop_refused(resp, "invalid_dpop_proof").await;
    }
    // The bound token as a Bearer token, with or without a proof.
    let bearer = format!("Bearer {token}");
    assert_dpop_refused(
        call(bearer.clone(), Some(good(&key))).await,
        "invalid_token",
    )
    .await;
    assert_dpop_refused(call(bearer, None).await, "invalid_token").await;
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        VerifyError::DpopBoundToken
    );
    // Still good with a fresh proof of its key.
    assert_eq!(call(dpop_auth, Some(good(&key))).await.status(), 200);

    // A token without a binding keeps the Bearer answers, and is refused under DPoP.
    let plain = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(call(format!("Bearer {plain}"), None).await.status(), 200);
    let proof = key.proof(&app, json!({"htm": "GET", "htu": url, "ath": ath(&plain)}));
    assert_dpop_refused(
        call(format!("DPoP {plain}"), Some(proof)).await,
        "invalid_token",
    )
    .await;
}
