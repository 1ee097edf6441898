//! Signed request objects (RFC 9101, JAR) at `/authorize` and `POST /par`: the code flow with
//! the parameters inside the object (the outer ones but client_id ignored), through PAR (its
//! request_uri single use), and the refusals — a page at `/authorize` (its redirect URI can't
//! be trusted), 400 `invalid_request_object` at `/par`.
use josekit::jws::{JwsHeader, ES256};
use serde_json::{json, Value};

use crate::client_jwt::{self, jwks, Key};
use crate::helpers::{assert_oauth_error, spawn_app, Backend, TestApp, TestClient};
use crate::par::assert_error_page;
use crate::web::{self, browser, param, REDIRECT_URI};

crate::both_backends!(
    a_signed_request_object_runs_the_code_flow,
    a_request_object_through_par,
    refused_request_objects,
);

fn jar_client(app: &TestApp, key: &Key) -> TestClient {
    let set = jwks(&[key]).to_string();
    app.code_client_with(|s| s.jwks = Some(set))
}

/// A request object's claims for a code request of `client` with PKCE `challenge`.
fn request_claims(app: &TestApp, client: &TestClient, challenge: &str, scope: &str) -> Value {
    json!({
        "iss": client.id, "aud": app.address, "client_id": client.id,
        "exp": app.clock_now() + 300, "nbf": app.clock_now(),
        "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": scope,
        "state": "st-123", "nonce": "n-456",
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
}

/// Signed with `typ: oauth-authz-req+jwt`.
fn sign_typed(key: &Key, claims: &Value) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("oauth-authz-req+jwt");
    let signer = ES256.signer_from_jwk(&key.jwk).unwrap();
    key.sign_with(claims, &header, &signer)
}

async fn a_signed_request_object_runs_the_code_flow(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = Key::es256("jar-1");
    let client = jar_client(&app, &key);
    let user = app.create_user("ada@example.com", "student").await;
    let (verifier, challenge) = web::pkce();
    let object = sign_typed(&key, &request_claims(&app, &client, &challenge, "openid"));
    // Outer parameters other than client_id are ignored: the inner scope and state win.
    let back = web::authorize_through(
        &app,
        &browser(),
        &[
            ("client_id", &client.id),
            ("request", &object),
            ("response_type", "code"),
            ("scope", "openid profile email"),
            ("state", "outer"),
        ],
        &user.email,
        &user.password,
    )
    .await;
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    let code = param(&back, "code").expect("a code");
    let resp = web::exchange(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid", "{tokens}");
    let id_token = client_jwt::claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["nonce"], "n-456");
}

async fn a_request_object_through_par(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = Key::es256("jar-1");
    let client = jar_client(&app, &key);
    let user = app.create_user("ada@example.com", "student").await;
    let (verifier, challenge) = web::pkce();
    let object = key.sign(&request_claims(&app, &client, &challenge, "openid"));
    let resp = reqwest::Client::new()
        .post(app.url("/par"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("request", object.as_str()), ("scope", "openid profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let uri = body["request_uri"].as_str().unwrap().to_string();
    let params = [("client_id", client.id.as_str()), ("request_uri", &uri)];
    let back = web::authorize_through(&app, &browser(), &params, &user.email, &user.password).await;
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    let code = param(&back, "code").expect("a code");
    let tokens: Value = web::exchange(&app, &client, &code, Some(&verifier))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["scope"], "openid", "{tokens}");
    // The request_uri was used up.
    let again = browser()
        .get(app.authorize_url(&params))
        .send()
        .await
        .unwrap();
    assert_error_page(again, "already used").await;
}

async fn refused_request_objects(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = Key::es256("jar-1");
    let client = jar_client(&app, &key);
    let (_, challenge) = web::pkce();
    let with = |change: Value| {
        let mut c = request_claims(&app, &client, &challenge, "openid");
        for (k, v) in change.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let now = app.clock_now();
    let cases: Vec<(String, &str)> = vec![
        (key.sign(&with(json!({ "exp": now - 1 }))), "expired"),
        (
            key.sign(&with(json!({ "aud": "https://other.example" }))),
            "aud",
        ),
        (client_jwt::unsigned(&with(json!({}))), "none"),
        (
            key.sign(&with(json!({ "client_id": "someone-else" }))),
            "client_id",
        ),
        (
            key.sign(&with(
                json!({ "request_uri": "urn:ietf:params:oauth:request_uri:x" }),
            )),
            "request_uri",
        ),
        (Key::es256("jar-1").sign(&with(json!({}))), "signature"),
    ];
    for (object, needle) in &cases {
        let url = app.authorize_url(&[("client_id", &client.id), ("request", object)]);
        assert_error_page(browser().get(&url).send().await.unwrap(), needle).await;
    }
    // At /par: 400 invalid_request_object.
    for (object, _) in cases.iter().take(3) {
        let resp = reqwest::Client::new()
            .post(app.url("/par"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("request", object.as_str())])
            .send()
            .await
            .unwrap();
        assert_oauth_error(resp, 400, "invalid_request_object").await;
    }
    // Without the outer client_id, and from a client without keys.
    let object = key.sign(&with(json!({})));
    let url = app.authorize_url(&[("request", &object)]);
    assert_error_page(browser().get(&url).send().await.unwrap(), "client_id").await;
    let keyless = app.code_client();
    let mut claims = with(json!({}));
    claims["iss"] = json!(keyless.id);
    claims["client_id"] = json!(keyless.id);
    let url = app.authorize_url(&[("client_id", &keyless.id), ("request", &key.sign(&claims))]);
    assert_error_page(browser().get(&url).send().await.unwrap(), "no keys").await;
}
