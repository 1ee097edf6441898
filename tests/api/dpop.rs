//! DPoP (RFC 9449): proofs at `/token` bind the access token to a key (`cnf.jkt`,
//! `token_type: DPoP`); `/userinfo` then takes it only as `Authorization: DPoP` with a fresh
//! proof of that key for the request (method, URL, `ath`); replays, wrong `htu`/`htm`/`ath`,
//! stale `iat` and Bearer use are refused with the RFC errors; introspection shows `cnf`; the
//! replay cache is purged; a client flagged `dpop_bound_access_tokens` needs a proof; a public
//! client's refresh token is bound to its key.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ec::EcKeyPair;
use josekit::jws::{JwsHeader, ES256};
use josekit::jwt::JwtPayload;
use portcullis::oauth::registration::ClientSpec;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::both_backends;
use crate::device::{device_client, start, DEVICE_GRANT};
use crate::device_page::{decide, enter, signed_in_at_device};
use crate::helpers::{assert_oauth_error, spawn_app, Backend, TestApp};

both_backends!(
    a_bound_token_works_at_userinfo_only_with_a_proof_of_its_key,
    the_token_endpoint_refuses_bad_and_replayed_proofs,
    a_public_clients_refresh_token_needs_a_proof_of_its_key,
);

/// A client's DPoP key.
pub struct Key(EcKeyPair);

impl Key {
    pub fn new() -> Key {
        Key(ES256.generate_key_pair().unwrap())
    }

    pub fn jkt(&self) -> String {
        portcullis::tokens::keys::thumbprint(&self.0.to_jwk_public_key()).unwrap()
    }

    /// A proof with these claims (`iat` and a fresh `jti` unless given).
    pub fn proof(&self, app: &TestApp, claims: Value) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_jwk(self.0.to_jwk_public_key());
        let mut map = json!({
            "iat": app.clock_now(),
            "jti": portcullis::tokens::secret::random_token(12).unwrap(),
        })
        .as_object()
        .unwrap()
        .clone();
        map.extend(claims.as_object().unwrap().clone());
        let payload = JwtPayload::from_map(map).unwrap();
        let signer = ES256.signer_from_jwk(&self.0.to_jwk_private_key()).unwrap();
        josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap()
    }

    pub fn token_proof(&self, app: &TestApp) -> String {
        self.proof(app, json!({"htm": "POST", "htu": app.url("/token")}))
    }

    pub fn userinfo_proof(&self, app: &TestApp, token: &str) -> String {
        self.proof(
            app,
            json!({"htm": "GET", "htu": app.url("/userinfo"), "ath": ath(token)}),
        )
    }
}

pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub async fn userinfo(
    app: &TestApp,
    authorization: &str,
    proof: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .api
        .get(app.url("/userinfo"))
        .header("Authorization", authorization);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

/// Asserts a 401 with a `DPoP` or `Bearer` challenge carrying `error`.
pub async fn assert_refused(resp: reqwest::Response, scheme: &str, error: &str) {
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with(scheme), "{challenge}");
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
}

async fn a_bound_token_works_at_userinfo_only_with_a_proof_of_its_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.password_client();
    let user = app.create_user("ada@example.com", "student").await;
    let key = Key::new();

    let resp = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .header("DPoP", key.token_proof(&app))
        .form(&[
            ("grant_type", "password"),
            ("username", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims_of(&token)["cnf"], json!({"jkt": key.jkt()}));
    let dpop_auth = format!("DPoP {token}");

    // The bound key, this request: accepted.
    let resp = userinfo(&app, &dpop_auth, Some(&key.userinfo_proof(&app, &token))).await;
    assert_eq!(resp.status(), 200);
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["sub"], user.id.as_str());

    // As a Bearer token, with or without a proof: refused.
    let proof = key.userinfo_proof(&app, &token);
    let resp = userinfo(&app, &format!("Bearer {token}"), Some(&proof)).await;
    assert_refused(resp, "Bearer", "invalid_token").await;
    let resp = userinfo(&app, &format!("Bearer {token}"), None).await;
    assert_refused(resp, "Bearer", "invalid_token").await;

    // No proof; a proof of another key.
    assert_refused(
        userinfo(&app, &dpop_auth, None).await,
        "DPoP",
        "invalid_dpop_proof",
    )
    .await;
    let other = Key::new().userinfo_proof(&app, &token);
    let resp = userinfo(&app, &dpop_auth, Some(&other)).await;
    assert_refused(resp, "DPoP", "invalid_dpop_proof").await;

    // A replayed proof.
    let proof = key.userinfo_proof(&app, &token);
    assert_eq!(userinfo(&app, &dpop_auth, Some(&proof)).await.status(), 200);
    let resp = userinfo(&app, &dpop_auth, Some(&proof)).await;
    assert_refused(resp, "DPoP", "invalid_dpop_proof").await;

    // Wrong htu, htm, ath; a stale or future iat.
    let now = app.clock_now();
    for claims in [
        json!({"htm": "GET", "htu": app.url("/token"), "ath": ath(&token)}),
        json!({"htm": "POST", "htu": app.url("/userinfo"), "ath": ath(&token)}),
        json!({"htm": "GET", "htu": app.url("/userinfo"), "ath": ath("another token")}),
        json!({"htm": "GET", "htu": app.url("/userinfo")}),
        json!({"htm": "GET", "htu": app.url("/userinfo"), "ath": ath(&token), "iat": now - 600}),
        json!({"htm": "GET", "htu": app.url("/userinfo"), "ath": ath(&token), "iat": now + 600}),
    ] {
        let proof = key.proof(&app, claims.clone());
        let resp = userinfo(&app, &dpop_auth, Some(&proof)).await;
        assert_eq!(resp.status(), 401, "{claims}");
        assert_refused(resp, "DPoP", "invalid_dpop_proof").await;
    }

    // An unbound token is not taken with the DPoP scheme.
    let resp = app
        .password_grant(&client, &user.email, &user.password)
        .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let plain = body["access_token"].as_str().unwrap();
    assert!(claims_of(plain).get("cnf").is_none());
    let resp = userinfo(
        &app,
        &format!("DPoP {plain}"),
        Some(&key.userinfo_proof(&app, plain)),
    )
    .await;
    assert_refused(resp, "Bearer", "invalid_token").await;
    assert_eq!(
        userinfo(&app, &format!("Bearer {plain}"), None)
            .await
            .status(),
        200
    );

    // Introspection shows the binding.
    let rs = app.create_client(ClientSpec {
        name: "api".into(),
        grant_types: vec!["client_credentials".into()],
        can_introspect: true,
        ..ClientSpec::default()
    });
    let answer: Value = app
        .api
        .post(app.url("/introspect"))
        .basic_auth(&rs.id, Some(&rs.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["token_type"], "DPoP");
    assert_eq!(answer["cnf"], json!({"jkt": key.jkt()}));

    // The replay cache is purged once the proofs' iat window has passed.
    let count = |app: &TestApp| crate::purge::count(app, "dpop_jtis");
    assert!(count(&app) >= 3);
    app.clock
        .advance(portcullis::oauth::dpop::REPLAY_TTL_SECS + 1);
    let purged = crate::purge::purge_now(&app).await;
    assert!(purged.get("dpop_jtis") >= 3, "{purged}");
    assert_eq!(count(&app), 0);
}

async fn the_token_endpoint_refuses_bad_and_replayed_proofs(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.service_client();
    let key = Key::new();
    let token_request = |proof: Option<String>| {
        let mut req = app
            .api
            .post(app.url("/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "read")]);
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send()
    };

    let proof = key.token_proof(&app);
    let resp = token_request(Some(proof.clone())).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let at = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(at["cnf"]["jkt"], key.jkt().as_str());

    // The same proof again.
    let resp = token_request(Some(proof)).await.unwrap();
    assert_oauth_error(resp, 400, "invalid_dpop_proof").await;

    let now = app.clock_now();
    for claims in [
        json!({"htm": "POST", "htu": app.url("/userinfo")}),
        json!({"htm": "GET", "htu": app.url("/token")}),
        json!({"htm": "POST", "htu": app.url("/token"), "iat": now - 120}),
    ] {
        let resp = token_request(Some(key.proof(&app, claims))).await.unwrap();
        assert_oauth_error(resp, 400, "invalid_dpop_proof").await;
    }
    let resp = token_request(Some("not.a.jwt".into())).await.unwrap();
    assert_oauth_error(resp, 400, "invalid_dpop_proof").await;

    // Without a proof: a Bearer token, no cnf.
    let body: Value = token_request(None).await.unwrap().json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(claims_of(body["access_token"].as_str().unwrap())
        .get("cnf")
        .is_none());
    // A client flagged dpop_bound_access_tokens gets no token without a proof.
    let bound = app.create_client(ClientSpec {
        name: "bound service".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into()],
        dpop_bound_access_tokens: true,
        ..ClientSpec::default()
    });
    let bound_request = |proof: Option<String>| {
        let mut req = app
            .api
            .post(app.url("/token"))
            .basic_auth(&bound.id, Some(&bound.secret))
            .form(&[("grant_type", "client_credentials")]);
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send()
    };
    let resp = bound_request(None).await.unwrap();
    assert_oauth_error(resp, 400, "invalid_dpop_proof").await;
    let resp = bound_request(Some(key.token_proof(&app))).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
}

async fn a_public_clients_refresh_token_needs_a_proof_of_its_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("finn@example.com", "student").await;
    let client = device_client(&app);
    let key = Key::new();
    let body = start(&app, &client.id, "openid offline_access read").await;
    let (device_code, code) = (
        body["device_code"].as_str().unwrap(),
        body["user_code"].as_str().unwrap(),
    );
    let (browser, page) = signed_in_at_device(&app, &user.email, &user.password, code).await;
    let (status, confirm) = enter(&app, &browser, &page, code).await;
    assert_eq!(status, 200, "{confirm}");
    decide(&app, &browser, &confirm, "allow").await;

    let token = |form: Vec<(&'static str, String)>, proof: Option<String>| {
        let mut req = app.api.post(app.url("/token")).form(&form);
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send()
    };
    let resp = token(
        vec![
            ("grant_type", DEVICE_GRANT.into()),
            ("device_code", device_code.into()),
            ("client_id", client.id.clone()),
        ],
        Some(key.token_proof(&app)),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let refresh_form = |rt: &str| {
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", rt.to_string()),
            ("client_id", client.id.clone()),
        ]
    };

    // Another key, or no proof: refused, and the token is not used up.
    let other = Key::new();
    let resp = token(refresh_form(&refresh), Some(other.token_proof(&app)))
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_grant").await;
    let resp = token(refresh_form(&refresh), None).await.unwrap();
    assert_oauth_error(resp, 400, "invalid_grant").await;

    // The bound key: a new bound access token, and the successor stays bound.
    let resp = token(refresh_form(&refresh), Some(key.token_proof(&app)))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt().as_str()
    );
    let next = body["refresh_token"].as_str().unwrap();
    let resp = token(refresh_form(next), Some(other.token_proof(&app)))
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_grant").await;
    let resp = token(refresh_form(next), Some(key.token_proof(&app)))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}
