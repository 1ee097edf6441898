//! DPoP server nonces (RFC 9449 §8, §9) with `dpop.require_nonce`: a proof without a nonce the
//! server issued gets 400 `use_dpop_nonce` at `/token` and 401 `use_dpop_nonce` at `/userinfo`
//! and the account API, each with a fresh `DPoP-Nonce`; a retry with it succeeds; forged and
//! expired nonces are refused; a nonce one instance issued works on another instance of the same
//! database; without the setting the `nonce` claim is ignored and no header is sent.
use portcullis::oauth::dpop::nonce::{NonceKey, WINDOW_SECS};
use serde_json::{json, Value};

use crate::both_backends;
use crate::dpop::{assert_refused, ath, claims_of, userinfo, Key};
use crate::helpers::{
    assert_oauth_error, spawn_app, spawn_app_with, spawn_sibling, Backend, TestApp, TestClient,
    TestUser,
};

both_backends!(
    nonces_are_required_at_the_token_endpoint_and_at_resources,
    a_nonce_from_one_instance_works_on_another,
);

/// A password-grant token request with this proof.
async fn token_request(
    app: &TestApp,
    client: &TestClient,
    user: &TestUser,
    proof: &str,
) -> reqwest::Response {
    app.api
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .header("DPoP", proof)
        .form(&[
            ("grant_type", "password"),
            ("username", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap()
}

fn token_proof(app: &TestApp, key: &Key, nonce: Option<&str>) -> String {
    let mut claims = json!({"htm": "POST", "htu": app.url("/token")});
    if let Some(n) = nonce {
        claims["nonce"] = n.into();
    }
    key.proof(app, claims)
}

fn resource_proof(app: &TestApp, key: &Key, path: &str, token: &str, nonce: &str) -> String {
    key.proof(
        app,
        json!({"htm": "GET", "htu": app.url(path), "ath": ath(token), "nonce": nonce}),
    )
}

/// The `DPoP-Nonce` header of an answer (asserting there is one, of the expected shape).
fn nonce_of(resp: &reqwest::Response) -> String {
    let nonce = resp.headers()["dpop-nonce"].to_str().unwrap().to_string();
    assert_eq!(nonce.len(), 43, "{nonce}");
    nonce
}

async fn nonces_are_required_at_the_token_endpoint_and_at_resources(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.dpop.require_nonce = true).await;
    let client = app.password_client();
    let user = app.create_user("nora@example.com", "student").await;
    let key = Key::new();

    // No nonce: 400 use_dpop_nonce with a fresh nonce; the retry with it gets a bound token.
    let resp = token_request(&app, &client, &user, &token_proof(&app, &key, None)).await;
    let nonce = nonce_of(&resp);
    assert_oauth_error(resp, 400, "use_dpop_nonce").await;
    let resp = token_request(&app, &client, &user, &token_proof(&app, &key, Some(&nonce))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(nonce_of(&resp), nonce, "one nonce per window");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims_of(&token)["cnf"]["jkt"], key.jkt().as_str());

    // Forged nonces: another secret's, garbage; still 400 use_dpop_nonce with the real one.
    let foreign = NonceKey::new("another server").issue(app.clock_now());
    for forged in [foreign.as_str(), "forged", ""] {
        let proof = token_proof(&app, &key, Some(forged));
        let resp = token_request(&app, &client, &user, &proof).await;
        assert_eq!(nonce_of(&resp), nonce);
        assert_oauth_error(resp, 400, "use_dpop_nonce").await;
    }
    // A request without a proof is not about nonces: a Bearer token, no header.
    let resp = app
        .password_grant(&client, &user.email, &user.password)
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("dpop-nonce").is_none());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");

    // /userinfo: no nonce → 401 use_dpop_nonce with a DPoP challenge and the nonce.
    let dpop_auth = format!("DPoP {token}");
    let bare = key.userinfo_proof(&app, &token);
    let resp = userinfo(&app, &dpop_auth, Some(&bare)).await;
    assert_eq!(nonce_of(&resp), nonce);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("DPoP ")
            && challenge.contains("algs=\"ES256 EdDSA RS256 PS256\"")
            && challenge.contains("error_description=\""),
        "{challenge}"
    );
    assert_refused(resp, "DPoP", "use_dpop_nonce").await;
    // The retry with the nonce: 200, with the nonce again.
    let proof = resource_proof(&app, &key, "/userinfo", &token, &nonce);
    let resp = userinfo(&app, &dpop_auth, Some(&proof)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(nonce_of(&resp), nonce);
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["sub"], user.id.as_str());
    // A forged nonce at /userinfo.
    let proof = resource_proof(&app, &key, "/userinfo", &token, &foreign);
    assert_refused(
        userinfo(&app, &dpop_auth, Some(&proof)).await,
        "DPoP",
        "use_dpop_nonce",
    )
    .await;

    // The account API takes the same rule (it uses the same Bearer extractor).
    let me = |proof: String| {
        app.api
            .get(app.url("/api/auth/me"))
            .header("Authorization", &dpop_auth)
            .header("DPoP", proof)
            .send()
    };
    let resp = me(key.proof(
        &app,
        json!({"htm": "GET", "htu": app.url("/api/auth/me"), "ath": ath(&token)}),
    ))
    .await
    .unwrap();
    assert_eq!(nonce_of(&resp), nonce);
    assert_refused(resp, "DPoP", "use_dpop_nonce").await;
    // With the nonce the proof is taken: the refusal is now about the scope (this client's
    // token has no `account` scope), past every DPoP check.
    let resp = me(resource_proof(&app, &key, "/api/auth/me", &token, &nonce))
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope", "{body}");

    // Two windows later the nonce has expired: refused, and the answer carries the new one.
    app.clock.advance(2 * WINDOW_SECS);
    let resp = token_request(&app, &client, &user, &token_proof(&app, &key, Some(&nonce))).await;
    let fresh = nonce_of(&resp);
    assert_ne!(fresh, nonce);
    assert_oauth_error(resp, 400, "use_dpop_nonce").await;
    let proof = resource_proof(&app, &key, "/userinfo", &token, &nonce);
    let resp = userinfo(&app, &dpop_auth, Some(&proof)).await;
    assert_eq!(nonce_of(&resp), fresh);
    assert_refused(resp, "DPoP", "use_dpop_nonce").await;
    let proof = resource_proof(&app, &key, "/userinfo", &token, &fresh);
    assert_eq!(userinfo(&app, &dpop_auth, Some(&proof)).await.status(), 200);
    let resp = token_request(&app, &client, &user, &token_proof(&app, &key, Some(&fresh))).await;
    assert_eq!(resp.status(), 200);
}

async fn a_nonce_from_one_instance_works_on_another(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.dpop.require_nonce = true).await;
    let sibling = spawn_sibling(&app).await;
    assert!(sibling.settings.dpop.require_nonce);
    let client = app.password_client();
    let user = app.create_user("sam@example.com", "student").await;
    let key = Key::new();

    // The first instance hands out the nonce; the second takes it (and hands out the same).
    let resp = token_request(&app, &client, &user, &token_proof(&app, &key, None)).await;
    let nonce = nonce_of(&resp);
    assert_oauth_error(resp, 400, "use_dpop_nonce").await;
    let proof = token_proof(&sibling, &key, Some(&nonce));
    let resp = token_request(&sibling, &client, &user, &proof).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(nonce_of(&resp), nonce);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");

    // Without the setting, the nonce claim is ignored (a forged one too) and no nonce is sent.
    let plain = spawn_app(backend).await;
    let client = plain.password_client();
    let user = plain.create_user("sam@example.com", "student").await;
    let proof = token_proof(&plain, &key, Some("forged"));
    let resp = token_request(&plain, &client, &user, &proof).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("dpop-nonce").is_none());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
}
