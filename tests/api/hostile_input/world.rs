//! The world the hostile-input tests send into: a user with an account token and a refresh
//! token, clients, two browsers (at the login and registration pages, and at a consent page),
//! and one function that sends any endpoint's usual request with one field replaced.
use portcullis::oauth::registration::ClientSpec;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp, TestClient, PASSWORD};
use crate::web::{browser, fill, form_fields, get, location, pkce, sign_in, REDIRECT_URI};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// RFC 6749 §5.2 JSON.
    OAuth,
    /// The account API's JSON (`error`, `error_description`).
    Api,
    /// An HTML error page.
    Page,
}

#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    ApiRegister,
    ApiLogin,
    ApiPassword,
    ApiKeys,
    Token,
    Introspect,
    Revoke,
    Authorize,
    LoginForm,
    RegisterForm,
    ConsentForm,
}

pub use Endpoint::*;

/// Every text field: endpoint, field, the error shape.
pub const FIELDS: &[(Endpoint, &str, Shape)] = &[
    (ApiRegister, "email", Shape::Api),
    (ApiRegister, "password", Shape::Api),
    (ApiRegister, "name", Shape::Api),
    (ApiLogin, "email", Shape::Api),
    (ApiLogin, "password", Shape::Api),
    (ApiPassword, "current_password", Shape::Api),
    (ApiPassword, "new_password", Shape::Api),
    (ApiKeys, "name", Shape::Api),
    (ApiKeys, "scopes", Shape::Api),
    (Token, "grant_type", Shape::OAuth),
    (Token, "client_id", Shape::OAuth),
    (Token, "username", Shape::OAuth),
    (Token, "password", Shape::OAuth),
    (Token, "scope", Shape::OAuth),
    (Token, "refresh_token", Shape::OAuth),
    (Token, "code", Shape::OAuth),
    (Token, "redirect_uri", Shape::OAuth),
    (Token, "code_verifier", Shape::OAuth),
    (Introspect, "token", Shape::OAuth),
    (Revoke, "token", Shape::OAuth),
    (Authorize, "client_id", Shape::Page),
    (Authorize, "response_type", Shape::Page),
    (Authorize, "redirect_uri", Shape::Page),
    (Authorize, "scope", Shape::Page),
    (Authorize, "state", Shape::Page),
    (Authorize, "code_challenge", Shape::Page),
    (LoginForm, "username", Shape::Page),
    (LoginForm, "password", Shape::Page),
    (LoginForm, "csrf_token", Shape::Page),
    (RegisterForm, "email", Shape::Page),
    (RegisterForm, "password", Shape::Page),
    (RegisterForm, "name", Shape::Page),
    (ConsentForm, "decision", Shape::Page),
    (ConsentForm, "request", Shape::Page),
    (ConsentForm, "csrf_token", Shape::Page),
];

/// Everything a request needs: a user, an account token, clients, and two browsers (one at
/// the login and registration pages, one at a consent page).
pub struct World {
    pub app: TestApp,
    pub email: String,
    pub account_token: String,
    pub refresh_token: String,
    pub password_client: TestClient,
    pub code_client: TestClient,
    pub resource_server: TestClient,
    pub challenge: String,
    pub pages: reqwest::Client,
    pub login_form: Vec<(String, String)>,
    pub register_form: Vec<(String, String)>,
    pub consenting: reqwest::Client,
    pub consent_form: Vec<(String, String)>,
}

pub async fn world(backend: Backend) -> World {
    let app = spawn_app_with(backend, |s| {
        s.lockout.ip_max_failures = 1000;
        s.lockout.account_max_failures = 1000;
    })
    .await;
    let user = app.create_user("user@example.com", "guest").await;
    let password_client = app.password_client();
    let code_client = app.code_client();
    let resource_server = app.create_client(ClientSpec {
        name: "orders api".into(),
        grant_types: vec!["client_credentials".into()],
        can_introspect: true,
        ..ClientSpec::default()
    });
    let tokens = app.account_login(&user.email, PASSWORD).await;
    let account_token = tokens["access_token"].as_str().unwrap().to_string();
    let resp = app
        .password_grant(&password_client, &user.email, PASSWORD)
        .await;
    assert_eq!(resp.status(), 200);
    let refresh_token = resp.json::<Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();

    let pages = browser();
    let (status, _, html) = get(&pages, &app.url("/login")).await;
    assert_eq!(status, 200);
    let login_form = form_fields(&html, "#login-form");
    let (status, _, html) = get(&pages, &app.url("/register")).await;
    assert_eq!(status, 200);
    let register_form = form_fields(&html, "#register-form");

    let (_, challenge) = pkce();
    let consenting = browser();
    let params = TestApp::code_request(&code_client, &challenge, "openid read");
    let resp = consenting
        .get(app.authorize_url(&params))
        .send()
        .await
        .unwrap();
    let login_url = location(&app, &resp);
    let resp = sign_in(&app, &consenting, &login_url, &user.email, PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let consent_url = location(&app, &resp);
    assert!(consent_url.contains("/consent?"), "{consent_url}");
    let (status, _, html) = get(&consenting, &consent_url).await;
    assert_eq!(status, 200);
    let consent_form = fill(
        form_fields(&html, "#consent-form"),
        &[("decision", "allow")],
    );
    World {
        app,
        email: user.email,
        account_token,
        refresh_token,
        password_client,
        code_client,
        resource_server,
        challenge,
        pages,
        login_form,
        register_form,
        consenting,
        consent_form,
    }
}

/// Sends `endpoint`'s usual request with `field` set to `value` (others valid).
pub async fn send(w: &World, endpoint: Endpoint, field: &str, value: &str) -> reqwest::Response {
    let app = &w.app;
    let json_with = |mut body: Value| {
        body[field] = if field == "scopes" {
            json!(["read", value])
        } else {
            json!(value)
        };
        body
    };
    let form_with = |base: Vec<(String, String)>| fill(base, &[(field, value)]);
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    match endpoint {
        ApiRegister => {
            let body = json_with(json!({
                "email": "new@example.com", "password": PASSWORD, "name": "New User"
            }));
            app.api.post(app.url("/api/auth/register")).json(&body)
        }
        ApiLogin => {
            let body = json_with(json!({ "email": w.email, "password": PASSWORD }));
            app.api.post(app.url("/api/auth/login")).json(&body)
        }
        ApiPassword => {
            let body = json_with(json!({
                "current_password": PASSWORD, "new_password": "Another-Horse-7"
            }));
            app.api
                .put(app.url("/api/auth/password"))
                .bearer_auth(&w.account_token)
                .json(&body)
        }
        ApiKeys => {
            let body = json_with(json!({ "name": "ci", "scopes": ["read"] }));
            app.api
                .post(app.url("/api/keys"))
                .bearer_auth(&w.account_token)
                .json(&body)
        }
        Token => {
            let (client, base) = match field {
                "refresh_token" => (
                    &w.password_client,
                    pairs(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &w.refresh_token),
                    ]),
                ),
                "code" | "redirect_uri" | "code_verifier" => (
                    &w.code_client,
                    pairs(&[
                        ("grant_type", "authorization_code"),
                        ("code", "no-such-code"),
                        ("redirect_uri", REDIRECT_URI),
                        ("code_verifier", &"v".repeat(43)),
                    ]),
                ),
                _ => (
                    &w.password_client,
                    pairs(&[
                        ("grant_type", "password"),
                        ("username", &w.email),
                        ("password", PASSWORD),
                        ("scope", "read"),
                    ]),
                ),
            };
            let mut base = base;
            base.push(("client_id".into(), client.id.clone()));
            base.push(("client_secret".into(), client.secret.clone()));
            app.api.post(app.url("/token")).form(&form_with(base))
        }
        Introspect | Revoke => {
            let path = if matches!(endpoint, Introspect) {
                "/introspect"
            } else {
                "/revoke"
            };
            let client = if matches!(endpoint, Introspect) {
                &w.resource_server
            } else {
                &w.password_client
            };
            app.api
                .post(app.url(path))
                .basic_auth(&client.id, Some(&client.secret))
                .form(&form_with(pairs(&[("token", "abc")])))
        }
        Authorize => {
            let base = TestApp::code_request(&w.code_client, &w.challenge, "openid read");
            let params = form_with(pairs(&base));
            let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
            url.query_pairs_mut().extend_pairs(&params);
            browser().get(url.as_str())
        }
        LoginForm => w.pages.post(app.url("/login")).form(&form_with(fill(
            w.login_form.clone(),
            &[("username", &w.email), ("password", PASSWORD)],
        ))),
        RegisterForm => w.pages.post(app.url("/register")).form(&form_with(fill(
            w.register_form.clone(),
            &[
                ("email", "new@example.com"),
                ("password", PASSWORD),
                ("name", "New User"),
            ],
        ))),
        ConsentForm => w
            .consenting
            .post(app.url("/consent"))
            .form(&form_with(w.consent_form.clone())),
    }
    .send()
    .await
    .unwrap()
}
