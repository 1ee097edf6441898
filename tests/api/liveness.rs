//! One rule for "is this token still live", as a table: every event that should end an access
//! token × every place that accepts one (`/userinfo`, the account API, `/introspect`) must agree,
//! and `/introspect` answers exactly `{"active": false}`. API keys follow their owner.
use std::process::Command;

use portcullis::oauth::registration::ClientSpec;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp, TestClient, PASSWORD};
use crate::keys::portcullis;
use crate::web::{self, browser};

crate::both_backends!(
    every_event_ends_the_token_everywhere,
    api_keys_follow_their_owner
);

/// The scopes the test client asks for: enough for `/userinfo` and the account API.
const SCOPES: &str = "openid profile email account read";

#[derive(Debug, Clone, Copy)]
enum Event {
    AccountLogout,
    CliUserDisable,
    PasswordChangeEndsOtherSessions,
    MaxSessionsEviction,
    DeleteSession,
    BrowserLogout,
    RevokeAccessToken,
    RevokeRefreshToken,
    RefreshTokenReuse,
    ClientDeleted,
    SessionExpiry,
}

const EVENTS: [Event; 11] = [
    Event::AccountLogout,
    Event::CliUserDisable,
    Event::PasswordChangeEndsOtherSessions,
    Event::MaxSessionsEviction,
    Event::DeleteSession,
    Event::BrowserLogout,
    Event::RevokeAccessToken,
    Event::RevokeRefreshToken,
    Event::RefreshTokenReuse,
    Event::ClientDeleted,
    // Last: it moves the clock past the session's end.
    Event::SessionExpiry,
];

/// Tokens under test, and what was needed to get them.
struct Held {
    client: TestClient,
    email: String,
    access: String,
    refresh: Option<String>,
    id_token: Option<String>,
    browser: Option<reqwest::Client>,
}

fn cli(app: &TestApp, args: &[&str]) -> Command {
    let mut c = portcullis();
    c.args(args)
        .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
        .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir);
    c
}

fn run_cli(app: &TestApp, args: &[&str]) {
    let out = cli(app, args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn claim(token: &str, name: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()[name].clone()
}

fn tokens_of(body: &Value) -> (String, Option<String>, Option<String>) {
    let s = |k: &str| body[k].as_str().map(String::from);
    (
        s("access_token").unwrap(),
        s("refresh_token"),
        s("id_token"),
    )
}

async fn password_tokens(app: &TestApp, n: usize) -> Held {
    let email = format!("user{n}@example.com");
    app.create_user(&email, "student").await;
    let client = app.create_client(ClientSpec {
        name: format!("app {n}"),
        grant_types: vec!["password".into(), "refresh_token".into()],
        scopes: vec![SCOPES.into()],
        // Longer than the session, so session expiry is what ends it.
        access_token_ttl_secs: Some(7200),
        ..ClientSpec::default()
    });
    let resp = app.password_grant_scoped(&client, &email, SCOPES).await;
    assert_eq!(resp.status(), 200);
    let (access, refresh, id_token) = tokens_of(&resp.json().await.unwrap());
    Held {
        client,
        email,
        access,
        refresh,
        id_token,
        browser: None,
    }
}

async fn browser_tokens(app: &TestApp, n: usize) -> Held {
    let email = format!("user{n}@example.com");
    app.create_user(&email, "student").await;
    let client = app.code_client_with(|spec| {
        spec.name = format!("app {n}");
        spec.scopes = vec![format!("{SCOPES} offline_access")];
        spec.skip_consent = true;
    });
    let b = browser();
    let (verifier, challenge) = web::pkce();
    let params = TestApp::code_request(&client, &challenge, SCOPES);
    let back = web::authorize_through(app, &b, &params, &email, PASSWORD).await;
    let code = web::param(&back, "code").unwrap();
    let resp = web::exchange(app, &client, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    let (access, refresh, id_token) = tokens_of(&resp.json().await.unwrap());
    Held {
        client,
        email,
        access,
        refresh,
        id_token,
        browser: Some(b),
    }
}

/// What each place says of `token`: userinfo status, account API status, introspection body.
async fn everywhere(app: &TestApp, rs: &TestClient, token: &str) -> (u16, u16, Value) {
    let status = |path: &str| {
        let request = app.api.get(app.url(path)).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let (userinfo, me) = (status("/userinfo").await, status("/api/auth/me").await);
    (userinfo, me, introspect(app, rs, token).await)
}

async fn introspect(app: &TestApp, rs: &TestClient, token: &str) -> Value {
    let resp = app
        .api
        .post(app.url("/introspect"))
        .basic_auth(&rs.id, Some(&rs.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn account_token(app: &TestApp, email: &str) -> String {
    app.account_login(email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn apply(app: &TestApp, event: Event, held: &Held) {
    let sid = claim(&held.access, "sid").as_str().unwrap().to_string();
    match event {
        Event::AccountLogout => {
            let resp = app
                .api
                .post(app.url("/api/auth/logout"))
                .bearer_auth(&held.access)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 204);
        }
        Event::CliUserDisable => run_cli(app, &["user", "disable", &held.email]),
        Event::PasswordChangeEndsOtherSessions => {
            let other = account_token(app, &held.email).await;
            let resp = app
                .api
                .put(app.url("/api/auth/password"))
                .bearer_auth(&other)
                .json(&json!({ "current_password": PASSWORD, "new_password": "Another-Pass-77" }))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 204);
        }
        Event::MaxSessionsEviction => {
            // Sessions are evicted oldest first; a second later, ours is the oldest.
            app.clock.advance(1);
            for _ in 0..app.settings.sessions.max_per_user {
                account_token(app, &held.email).await;
            }
        }
        Event::DeleteSession => {
            let other = account_token(app, &held.email).await;
            let resp = app
                .api
                .delete(app.url(&format!("/api/auth/sessions/{sid}")))
                .bearer_auth(&other)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 204);
        }
        Event::BrowserLogout => {
            let b = held.browser.as_ref().unwrap();
            let url = reqwest::Url::parse_with_params(
                &app.url("/logout"),
                &[
                    ("id_token_hint", held.id_token.as_deref().unwrap()),
                    ("post_logout_redirect_uri", web::POST_LOGOUT_URI),
                ],
            )
            .unwrap();
            let resp = b.get(url).send().await.unwrap();
            assert_eq!(resp.status(), 302);
        }
        Event::RevokeAccessToken | Event::RevokeRefreshToken => {
            let token = match event {
                Event::RevokeAccessToken => held.access.as_str(),
                _ => held.refresh.as_deref().unwrap(),
            };
            let resp = app
                .api
                .post(app.url("/revoke"))
                .basic_auth(&held.client.id, Some(&held.client.secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
        }
        Event::RefreshTokenReuse => {
            let first = held.refresh.as_deref().unwrap();
            assert_eq!(app.refresh(&held.client, first).await.status(), 200);
            let again = app.refresh(&held.client, first).await;
            assert_eq!(again.status(), 400);
        }
        Event::ClientDeleted => run_cli(app, &["client", "delete", &held.client.id]),
        Event::SessionExpiry => {
            app.clock
                .advance(app.settings.sessions.refresh_token_ttl_secs + 1);
        }
    }
}

async fn every_event_ends_the_token_everywhere(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        // Sessions shorter than the test client's access tokens (2 h).
        s.sessions.refresh_token_ttl_secs = 3600;
        s.sessions.refresh_token_idle_secs = 3600;
        s.sessions.max_per_user = 3;
    })
    .await;
    let rs = app.create_client(ClientSpec {
        name: "resource server".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into()],
        can_introspect: true,
        ..ClientSpec::default()
    });
    for (n, event) in EVENTS.into_iter().enumerate() {
        let held = match event {
            Event::BrowserLogout => browser_tokens(&app, n).await,
            _ => password_tokens(&app, n).await,
        };
        let (userinfo, me, introspected) = everywhere(&app, &rs, &held.access).await;
        assert_eq!((userinfo, me), (200, 200), "{event:?}: live before");
        assert_eq!(introspected["active"], true, "{event:?}: {introspected}");
        assert_eq!(introspected["username"], held.email.as_str());

        apply(&app, event, &held).await;

        let (userinfo, me, introspected) = everywhere(&app, &rs, &held.access).await;
        assert_eq!(
            (userinfo, me, introspected),
            (401, 401, json!({ "active": false })),
            "{event:?}: every place must refuse the token"
        );
    }
}

async fn api_keys_follow_their_owner(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let rs = app.create_client(ClientSpec {
        name: "resource server".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into()],
        can_introspect: true,
        ..ClientSpec::default()
    });
    let owner = app.create_user("owner@example.com", "instructor").await;
    let out = cli(
        &app,
        &[
            "apikey",
            "create",
            "--user",
            &owner.email,
            "--name",
            "ci",
            "--scope",
            "read,write",
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = serde_json::from_slice::<Value>(&out.stdout).unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(introspect(&app, &rs, &key).await["scope"], "read write");

    // A downgraded owner's key narrows with them (guest: read only)…
    run_cli(&app, &["user", "set-role", &owner.email, "guest"]);
    let body = introspect(&app, &rs, &key).await;
    assert_eq!(
        (body["active"].clone(), body["scope"].clone()),
        (json!(true), json!("read"))
    );
    // …and a disabled owner's key is inactive.
    run_cli(&app, &["user", "disable", &owner.email]);
    assert_eq!(
        introspect(&app, &rs, &key).await,
        json!({ "active": false })
    );
}
