//! `private_key_jwt` client authentication (RFC 7523): clients with keys by value (ES256,
//! PS256) or at a `jwks_uri` (a local https host; a rotated key picked up on an unknown kid),
//! the rules on the assertion with their exact refusals, `/par` and `/introspect` with it,
//! discovery (the CLI: `private_key_jwt_cli`).
use portcullis::oauth::registration::ClientSpec;
use serde_json::{json, Value};

use crate::client_jwt::{self, jti, jwks, Key, ASSERTION_TYPE};
use crate::doc_host::{Answer, DocHost};
use crate::helpers::{assert_oauth_error, spawn_app, spawn_app_with, Backend, TestApp, TestClient};
use crate::web::REDIRECT_URI;

crate::both_backends!(
    client_credentials_with_keys_by_value,
    keys_at_a_jwks_uri_and_rotation,
    refusals_have_exact_codes,
    par_introspect_and_revoke_with_private_key_jwt,
);

/// A `private_key_jwt` client of `jwks` (by value) for client_credentials and the code flow.
fn jwt_client(app: &TestApp, tweak: impl FnOnce(&mut ClientSpec)) -> String {
    let mut spec = ClientSpec {
        name: "signed".into(),
        grant_types: vec!["client_credentials authorization_code".into()],
        scopes: vec!["openid read".into()],
        redirect_uris: vec![REDIRECT_URI.into()],
        auth_method: Some("private_key_jwt".into()),
        ..ClientSpec::default()
    };
    tweak(&mut spec);
    let client = app.create_client(spec);
    assert_eq!(client.secret, "", "a private_key_jwt client gets no secret");
    client.id
}

/// Good assertion claims of `client_id` for `aud`.
pub(crate) fn claims(app: &TestApp, client_id: &str, aud: &str) -> Value {
    let now = app.clock_now();
    json!({
        "iss": client_id, "sub": client_id, "aud": aud,
        "iat": now, "exp": now + 60, "jti": jti(),
    })
}

/// `POST path` with `form` and the assertion.
async fn post(
    app: &TestApp,
    path: &str,
    assertion: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = form.to_vec();
    form.push(("client_assertion_type", ASSERTION_TYPE));
    form.push(("client_assertion", assertion));
    reqwest::Client::new()
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn client_credentials(app: &TestApp, assertion: &str) -> reqwest::Response {
    post(
        app,
        "/token",
        assertion,
        &[("grant_type", "client_credentials"), ("scope", "read")],
    )
    .await
}

pub(crate) async fn assert_token_for(resp: reqwest::Response, client_id: &str) -> String {
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    let claims = client_jwt::claims_of(&token);
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["sub"], client_id);
    token
}

/// A 401 `invalid_client` without a Basic challenge, whose description holds `needle`.
async fn assert_invalid_client(resp: reqwest::Response, needle: &str) {
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("www-authenticate").is_none());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(needle),
        "{needle:?} not in {description:?}"
    );
}

async fn client_credentials_with_keys_by_value(backend: Backend) {
    let app = spawn_app(backend).await;
    let issuer = app.address.clone();
    for key in [Key::es256("ec-1"), Key::ps256("rsa-1")] {
        let id = jwt_client(&app, |s| s.jwks = Some(jwks(&[&key]).to_string()));
        // aud: the issuer (FAPI 2.0), or the token endpoint's URL.
        for aud in [issuer.clone(), app.url("/token")] {
            let resp = client_credentials(&app, &key.sign(&claims(&app, &id, &aud))).await;
            assert_token_for(resp, &id).await;
        }
    }
    let discovery: Value = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs = json!(["PS256", "ES256", "EdDSA", "RS256"]);
    for endpoint in [
        "token_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
    ] {
        let methods = &discovery[format!("{endpoint}_auth_methods_supported")];
        assert!(
            methods
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt")),
            "{endpoint}: {methods}"
        );
        assert_eq!(
            discovery[format!("{endpoint}_auth_signing_alg_values_supported")],
            algs
        );
    }
    assert_eq!(discovery["request_parameter_supported"], true);
    assert_eq!(discovery["request_uri_parameter_supported"], false);
    assert_eq!(
        discovery["request_object_signing_alg_values_supported"],
        algs
    );
}

async fn keys_at_a_jwks_uri_and_rotation(backend: Backend) {
    let host = DocHost::start();
    let (a, b) = (Key::es256("a"), Key::ps256("b"));
    host.answer("/jwks", Answer::json(&jwks(&[&a]), None));
    let app = spawn_app_with(backend, crate::metadata_document::trusting(&host)).await;
    let id = jwt_client(&app, |s| s.jwks_uri = Some(host.url("/jwks")));
    let issuer = app.address.clone();
    for _ in 0..2 {
        let resp = client_credentials(&app, &a.sign(&claims(&app, &id, &issuer))).await;
        assert_token_for(resp, &id).await;
    }
    assert_eq!(host.hits("/jwks"), 1, "cached");
    // The client rotates to b: an assertion with the unknown kid makes one fetch.
    host.answer("/jwks", Answer::json(&jwks(&[&b]), None));
    let resp = client_credentials(&app, &b.sign(&claims(&app, &id, &issuer))).await;
    assert_token_for(resp, &id).await;
    assert_eq!(host.hits("/jwks"), 2);
    // Another unknown kid right after: no fetch within 30 s, refused.
    let c = Key::es256("c");
    let resp = client_credentials(&app, &c.sign(&claims(&app, &id, &issuer))).await;
    assert_invalid_client(resp, "kid").await;
    assert_eq!(host.hits("/jwks"), 2);
    // The removed key a no longer works once the set was fetched again.
    let resp = client_credentials(&app, &a.sign(&claims(&app, &id, &issuer))).await;
    assert_invalid_client(resp, "kid").await;
}

async fn refusals_have_exact_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = Key::es256("k1");
    let id = jwt_client(&app, |s| s.jwks = Some(jwks(&[&key]).to_string()));
    let issuer = app.address.clone();
    let now = app.clock_now();
    let with = |change: Value| {
        let mut c = claims(&app, &id, &issuer);
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };

    // Replay: the same assertion twice.
    let once = key.sign(&with(json!({})));
    assert_token_for(client_credentials(&app, &once).await, &id).await;
    assert_invalid_client(client_credentials(&app, &once).await, "used before").await;

    let cases: Vec<(String, &str)> = vec![
        (
            key.sign(&with(json!({ "aud": app.url("/userinfo") }))),
            "aud",
        ),
        (
            key.sign(&with(json!({ "aud": "https://other.example" }))),
            "aud",
        ),
        (key.sign(&with(json!({ "exp": now - 1 }))), "expired"),
        (key.sign(&with(json!({ "exp": now + 3600 }))), "ahead"),
        (key.sign(&with(json!({ "jti": null }))), "jti"),
        (key.sign(&with(json!({ "iss": "someone-else" }))), "iss"),
        (
            key.sign(&with(
                json!({ "sub": "someone-else", "iss": "someone-else" }),
            )),
            "failed",
        ),
        (Key::es256("k1").sign(&with(json!({}))), "signature"),
        (client_jwt::unsigned(&with(json!({}))), "none"),
        (
            client_jwt::hs256(&with(json!({})), b"0123456789abcdef0123456789abcdef"),
            "HS256",
        ),
    ];
    for (assertion, needle) in cases {
        assert_invalid_client(client_credentials(&app, &assertion).await, needle).await;
    }
    // A client_id in the body that is not the assertion's.
    let other = app.service_client();
    let resp = post(
        &app,
        "/token",
        &key.sign(&with(json!({}))),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &other.id),
        ],
    )
    .await;
    assert_eq!(resp.status(), 401);

    // The assertion beside HTTP Basic: one method only.
    let resp = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(&id, Some("whatever"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &key.sign(&with(json!({})))),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;

    // A private_key_jwt client presenting a secret, and a secret client presenting an
    // assertion.
    let resp = app
        .token_basic(
            &TestClient {
                id: id.clone(),
                secret: "guess".into(),
            },
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers().get("www-authenticate").is_some(),
        "Basic was used"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("private_key_jwt"));
    let resp = client_credentials(&app, &key.sign(&claims(&app, &other.id, &issuer))).await;
    assert_invalid_client(resp, "private_key_jwt").await;
    // A wrong assertion type.
    let resp = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:example:saml"),
            ("client_assertion", &key.sign(&with(json!({})))),
        ])
        .send()
        .await
        .unwrap();
    assert_invalid_client(resp, "client_assertion_type").await;
}

async fn par_introspect_and_revoke_with_private_key_jwt(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = Key::es256("k1");
    let id = jwt_client(&app, |s| s.jwks = Some(jwks(&[&key]).to_string()));
    let issuer = app.address.clone();
    let (_, challenge) = crate::web::pkce();
    let client = TestClient {
        id: id.clone(),
        secret: String::new(),
    };
    let form = TestApp::code_request(&client, &challenge, "openid");
    let resp = post(
        &app,
        "/par",
        &key.sign(&claims(&app, &id, &app.url("/par"))),
        &form,
    )
    .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert!(body["request_uri"]
        .as_str()
        .unwrap()
        .starts_with("urn:ietf:params:oauth:request_uri:"));

    let token = assert_token_for(
        client_credentials(&app, &key.sign(&claims(&app, &id, &issuer))).await,
        &id,
    )
    .await;
    let resp = post(
        &app,
        "/introspect",
        &key.sign(&claims(&app, &id, &app.url("/introspect"))),
        &[("token", &token)],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], id.as_str());
    // A replayed assertion at /introspect is refused like anywhere else.
    let assertion = key.sign(&claims(&app, &id, &issuer));
    let first = post(&app, "/introspect", &assertion, &[("token", &token)]).await;
    assert_eq!(first.status(), 200);
    let again = post(&app, "/introspect", &assertion, &[("token", &token)]).await;
    assert_invalid_client(again, "used before").await;
    let resp = post(
        &app,
        "/revoke",
        &key.sign(&claims(&app, &id, &issuer)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(resp.status(), 200);
}
