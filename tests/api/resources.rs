//! RFC 8707 resource indicators end to end: `resource` at `/authorize` is checked (malformed or
//! not allowed: `invalid_target` back to the client), shown on the consent page, bound to the
//! code and the refresh-token family; the token request may narrow it, never widen it; the
//! access token's `aud` is exactly what was asked; `[clients] resources` opens resource servers
//! to dynamic clients.
use portcullis::config::RegistrationPolicy;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, TestClient, TestUser};
use crate::web::{self, authorize_through, browser, param, pkce, REDIRECT_URI};

crate::both_backends!(
    the_token_is_for_exactly_the_resource_authorized,
    the_token_request_narrows_but_never_widens,
    a_refresh_narrows_but_never_widens,
    refused_resources_go_back_to_the_client_as_invalid_target,
    dynamic_clients_may_target_the_shared_resources,
    the_id_token_stays_for_the_client,
);

const API: &str = "https://api.example.com/";
const MCP: &str = "https://mcp.example.com/mcp";

/// A confidential code client with refresh tokens, allowed both resources.
fn client(app: &TestApp) -> TestClient {
    app.code_client_with(|spec| spec.audiences = vec![API.into(), MCP.into()])
}

/// Runs authorize → login → consent with these `resource`s; the code and the PKCE verifier.
async fn code_for(
    app: &TestApp,
    client: &TestClient,
    user: &TestUser,
    scope: &str,
    resources: &[&str],
) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut params = TestApp::code_request(client, &challenge, scope);
    params.extend(resources.iter().map(|r| ("resource", *r)));
    let landed = authorize_through(app, &browser(), &params, &user.email, &user.password).await;
    (param(&landed, "code").unwrap(), verifier)
}

/// `POST /token` with HTTP Basic for `client`.
async fn token(app: &TestApp, client: &TestClient, form: &[(&str, &str)]) -> reqwest::Response {
    app.api
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Exchanges `code` with these extra `resource`s.
async fn exchange(
    app: &TestApp,
    client: &TestClient,
    (code, verifier): &(String, String),
    resources: &[&str],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    token(app, client, &form).await
}

async fn refresh(
    app: &TestApp,
    client: &TestClient,
    refresh_token: &str,
    resources: &[&str],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    token(app, client, &form).await
}

/// A 200 token answer (with `Cache-Control: no-store`).
async fn issued(resp: reqwest::Response) -> Value {
    let status = resp.status();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// A 400 `invalid_target` token answer.
async fn invalid_target(resp: reqwest::Response) {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_target", "{body}");
}

fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The access token's `aud` as a list.
fn aud(tokens: &Value) -> Value {
    match claims(tokens["access_token"].as_str().unwrap())["aud"].clone() {
        Value::String(one) => json!([one]),
        list => list,
    }
}

async fn the_token_is_for_exactly_the_resource_authorized(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let client = client(&app);

    // The consent page names the resource the access is for.
    let b = browser();
    let (verifier, challenge) = pkce();
    let mut params = TestApp::code_request(&client, &challenge, "read");
    params.push(("resource", MCP));
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let login = web::location(&app, &resp);
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let consent = web::location(&app, &resp);
    let (status, _, html) = web::get(&b, &consent).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(web::texts(&html, "#consent-resources li"), [MCP]);
    let resp = web::decide(&app, &b, &consent, "allow").await;
    assert_eq!(resp.status(), 303);
    let landed = web::location(&app, &resp);
    let code = (param(&landed, "code").unwrap(), verifier);

    // No resource at the token endpoint: the one authorized, and only it.
    let tokens = issued(exchange(&app, &client, &code, &[]).await).await;
    assert_eq!(aud(&tokens), json!([MCP]));
    assert_eq!(tokens["scope"], "read");

    // The same resource named again at the token endpoint: the same audience.
    let code = code_for(&app, &client, &user, "read", &[MCP]).await;
    let tokens = issued(exchange(&app, &client, &code, &[MCP]).await).await;
    assert_eq!(aud(&tokens), json!([MCP]));

    // Without resource anywhere, as before: the client's first audience.
    let code = code_for(&app, &client, &user, "read", &[]).await;
    let tokens = issued(exchange(&app, &client, &code, &[]).await).await;
    assert_eq!(aud(&tokens), json!([API]));
    // ... or the one named at the token endpoint alone, among the client's audiences.
    let code = code_for(&app, &client, &user, "read", &[]).await;
    let tokens = issued(exchange(&app, &client, &code, &[MCP]).await).await;
    assert_eq!(aud(&tokens), json!([MCP]));
}

async fn the_token_request_narrows_but_never_widens(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let client = client(&app);

    // Both authorized; the token is for one of them.
    let code = code_for(&app, &client, &user, "read", &[API, MCP]).await;
    let tokens = issued(exchange(&app, &client, &code, &[MCP]).await).await;
    assert_eq!(aud(&tokens), json!([MCP]));
    let code = code_for(&app, &client, &user, "read", &[API, MCP]).await;
    let tokens = issued(exchange(&app, &client, &code, &[]).await).await;
    assert_eq!(aud(&tokens), json!([API, MCP]));

    // Only MCP authorized: API is allowed for the client, but not for this code.
    let code = code_for(&app, &client, &user, "read", &[MCP]).await;
    invalid_target(exchange(&app, &client, &code, &[API]).await).await;
    invalid_target(exchange(&app, &client, &code, &[MCP, API]).await).await;
    invalid_target(exchange(&app, &client, &code, &["https://api.example.com/#x"]).await).await;
    // The refusals did not use the code up.
    let tokens = issued(exchange(&app, &client, &code, &[MCP]).await).await;
    assert_eq!(aud(&tokens), json!([MCP]));
}

async fn a_refresh_narrows_but_never_widens(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let client = client(&app);

    // Authorized for both, the first token for API alone: the family keeps both.
    let code = code_for(&app, &client, &user, "read", &[API, MCP]).await;
    let tokens = issued(exchange(&app, &client, &code, &[API]).await).await;
    assert_eq!(aud(&tokens), json!([API]));
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    let tokens = issued(refresh(&app, &client, &rt, &[]).await).await;
    assert_eq!(aud(&tokens), json!([API, MCP]));
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    let tokens = issued(refresh(&app, &client, &rt, &[MCP]).await).await;
    assert_eq!(aud(&tokens), json!([MCP]));
    // Narrowing once does not narrow the family.
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    let tokens = issued(refresh(&app, &client, &rt, &[]).await).await;
    assert_eq!(aud(&tokens), json!([API, MCP]));

    // Authorized for MCP only: a refresh can't add API, and the refusal keeps the token good.
    let code = code_for(&app, &client, &user, "read", &[MCP]).await;
    let tokens = issued(exchange(&app, &client, &code, &[]).await).await;
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    invalid_target(refresh(&app, &client, &rt, &[API]).await).await;
    invalid_target(refresh(&app, &client, &rt, &["https://other.example.com/"]).await).await;
    let tokens = issued(refresh(&app, &client, &rt, &[]).await).await;
    assert_eq!(aud(&tokens), json!([MCP]));

    // A family from a request without resource keeps today's rule: any of the client's
    // audiences at each refresh, its first one by default.
    let code = code_for(&app, &client, &user, "read", &[]).await;
    let tokens = issued(exchange(&app, &client, &code, &[]).await).await;
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    let tokens = issued(refresh(&app, &client, &rt, &[MCP]).await).await;
    assert_eq!(aud(&tokens), json!([MCP]));
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();
    let tokens = issued(refresh(&app, &client, &rt, &[]).await).await;
    assert_eq!(aud(&tokens), json!([API]));
}

async fn refused_resources_go_back_to_the_client_as_invalid_target(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client(&app);
    let b = browser();
    let (_, challenge) = pkce();
    for bad in [
        "https://other.example.com/",
        "https://api.example.com/#frag",
        "/relative",
        "api.example.com",
    ] {
        let mut params = TestApp::code_request(&client, &challenge, "read");
        params.push(("resource", MCP));
        params.push(("resource", bad));
        let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
        assert_eq!(resp.status(), 302, "{bad}");
        let to = web::location(&app, &resp);
        assert!(to.starts_with(REDIRECT_URI), "{to}");
        assert_eq!(
            param(&to, "error").as_deref(),
            Some("invalid_target"),
            "{to}"
        );
        assert_eq!(param(&to, "state").as_deref(), Some("st-123"), "{to}");
        assert_eq!(param(&to, "iss").as_deref(), Some(app.address.as_str()));
        assert!(param(&to, "error_description").is_some_and(|d| d.contains("resource")));
        assert_eq!(param(&to, "code"), None);
    }
    // A bad resource with an unregistered redirect URI: a page, never a redirect.
    let mut params = TestApp::code_request(&client, &challenge, "read");
    params[2].1 = "http://evil.example/cb";
    params.push(("resource", "https://other.example.com/"));
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
}

async fn dynamic_clients_may_target_the_shared_resources(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.clients.registration = RegistrationPolicy::Open;
        s.clients.resources = vec![MCP.into()];
    })
    .await;
    let user = app.create_user("ada@example.com", "student").await;
    let resp = app
        .api
        .post(app.url("/register"))
        .json(&json!({
            "client_name": "Agent",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            "scope": "profile",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let reg: Value = resp.json().await.unwrap();
    let public = TestClient {
        id: reg["client_id"].as_str().unwrap().to_string(),
        secret: String::new(),
    };

    // Not among the shared resources, and the client has no audiences of its own.
    let b = browser();
    let (_, challenge) = pkce();
    let mut params = TestApp::code_request(&public, &challenge, "profile");
    params.push(("resource", API));
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    let to = web::location(&app, &resp);
    assert_eq!(
        param(&to, "error").as_deref(),
        Some("invalid_target"),
        "{to}"
    );

    let (code, verifier) = code_for(&app, &public, &user, "profile", &[MCP]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", public.id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    let resp = app
        .api
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let tokens = issued(resp).await;
    assert_eq!(aud(&tokens), json!([MCP]));
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["client_id"],
        public.id
    );
}

async fn the_id_token_stays_for_the_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let client = client(&app);
    let code = code_for(&app, &client, &user, "openid read", &[MCP]).await;
    let tokens = issued(exchange(&app, &client, &code, &[]).await).await;
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["aud"], json!(client.id));
    // The access token is for the resource (and, with openid, for userinfo beside it).
    assert_eq!(
        aud(&tokens),
        json!([MCP, app.url("/userinfo")]),
        "{}",
        tokens
    );
}
