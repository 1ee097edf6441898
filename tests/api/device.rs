//! The device authorization grant (RFC 8628): `/device_authorization`, polling `/token`
//! (`authorization_pending`, `slow_down`), client rules, the purge, and the helpers of the
//! other device tests. The `/device` page and what its decisions do at `/token` are in
//! `device_page.rs`, the Chromium test in `device_browser.rs`.
use portcullis::oauth::registration::ClientSpec;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{assert_oauth_error, spawn_app, spawn_app_with, Backend, TestApp, TestClient};
use crate::purge::{count, purge_now};

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A public client with the device grant (and refresh tokens).
pub fn device_client(app: &TestApp) -> TestClient {
    app.create_client(ClientSpec {
        name: "Living Room TV".into(),
        grant_types: vec!["device_code".into(), "refresh_token".into()],
        scopes: ["openid", "profile", "email", "offline_access", "read"]
            .map(String::from)
            .to_vec(),
        public: true,
        ..ClientSpec::default()
    })
}

/// `POST /device_authorization` as a public client.
pub async fn start_raw(app: &TestApp, client_id: &str, scope: &str) -> reqwest::Response {
    app.api
        .post(app.url("/device_authorization"))
        .form(&[("client_id", client_id), ("scope", scope)])
        .send()
        .await
        .unwrap()
}

/// A device request that must succeed: its JSON answer.
pub async fn start(app: &TestApp, client_id: &str, scope: &str) -> Value {
    let resp = start_raw(app, client_id, scope).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    resp.json().await.unwrap()
}

/// One poll of `/token` as a public client.
pub async fn poll(app: &TestApp, client_id: &str, device_code: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap()
}

async fn error_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

both_backends!(
    device_authorization_answers_codes_per_rfc_8628,
    polling_too_fast_is_slow_down_and_the_interval_grows,
    clients_need_the_grant_and_their_own_codes,
    the_purge_deletes_expired_device_requests,
    a_dynamically_registered_cli_uses_the_device_grant,
);

async fn device_authorization_answers_codes_per_rfc_8628(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = device_client(&app);
    let body = start(&app, &client.id, "openid read").await;
    let code = body["user_code"].as_str().unwrap();
    assert_eq!(code.len(), 9, "{body}");
    assert_eq!(&code[4..5], "-");
    assert!(
        code.chars()
            .filter(|c| *c != '-')
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{code}"
    );
    assert_eq!(body["verification_uri"], app.url("/device"));
    assert_eq!(
        body["verification_uri_complete"],
        app.url(&format!("/device?user_code={code}"))
    );
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);
    assert_eq!(body["device_code"].as_str().unwrap().len(), 43);
    // Neither code is stored in clear.
    let (device_code, plain) = (body["device_code"].as_str().unwrap(), code.replace('-', ""));
    assert_eq!(
        count(&app, "device_authorizations WHERE scope = 'openid read'"),
        1
    );
    for clear in [device_code, code, plain.as_str()] {
        let found = count(
            &app,
            &format!(
                "device_authorizations WHERE device_code_hash = '{clear}' \
                 OR user_code_hash = '{clear}'"
            ),
        );
        assert_eq!(found, 0, "{clear} stored in clear");
    }
    // A confidential client authenticates as at /token; the lifetime is configurable.
    let app = spawn_app_with(backend, |s| s.clients.device_code_lifetime_secs = 120).await;
    let confidential = app.create_client(ClientSpec {
        name: "CLI".into(),
        grant_types: vec!["device_code".into()],
        scopes: vec!["read".into()],
        ..ClientSpec::default()
    });
    let resp = app
        .api
        .post(app.url("/device_authorization"))
        .basic_auth(&confidential.id, Some(&confidential.secret))
        .form(&[("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
}

async fn polling_too_fast_is_slow_down_and_the_interval_grows(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = device_client(&app);
    let body = start(&app, &client.id, "read").await;
    let device_code = body["device_code"].as_str().unwrap();
    let (app, client) = (&app, &client);
    let expect = |code: &'static str| async move {
        assert_oauth_error(poll(app, &client.id, device_code).await, 400, code).await;
    };
    expect("authorization_pending").await;
    // At once: too fast; the interval is now 10 s.
    expect("slow_down").await;
    app.clock.advance(5);
    // 5 s is no longer enough (and the interval grows to 15 s).
    expect("slow_down").await;
    app.clock.advance(14);
    expect("slow_down").await;
    // Now 20 s.
    app.clock.advance(20);
    expect("authorization_pending").await;
    app.clock.advance(20);
    expect("authorization_pending").await;
}

async fn clients_need_the_grant_and_their_own_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let device = device_client(&app);
    let code_client = app.code_client();
    // Unknown client, wrong secret: invalid_client (401).
    assert_oauth_error(
        start_raw(&app, "nobody", "read").await,
        401,
        "invalid_client",
    )
    .await;
    let confidential = app.create_client(ClientSpec {
        name: "CLI".into(),
        grant_types: vec!["device_code".into()],
        scopes: vec!["read".into()],
        ..ClientSpec::default()
    });
    let resp = app
        .api
        .post(app.url("/device_authorization"))
        .basic_auth(&confidential.id, Some("wrong"))
        .form(&[("scope", "read")])
        .send()
        .await
        .unwrap();
    let headers = assert_oauth_error(resp, 401, "invalid_client").await;
    assert!(headers.contains_key("www-authenticate"));
    // A confidential client can't get by with its id alone.
    assert_oauth_error(
        start_raw(&app, &confidential.id, "read").await,
        401,
        "invalid_client",
    )
    .await;
    // Without the grant: unauthorized_client, at both endpoints.
    let resp = app
        .api
        .post(app.url("/device_authorization"))
        .basic_auth(&code_client.id, Some(&code_client.secret))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "unauthorized_client").await;
    let body = start(&app, &device.id, "read").await;
    let device_code = body["device_code"].as_str().unwrap();
    let resp = app
        .token_basic(
            &code_client,
            &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
        )
        .await;
    assert_oauth_error(resp, 400, "unauthorized_client").await;
    // Scopes as at /authorize.
    assert_oauth_error(
        start_raw(&app, &device.id, "read admin").await,
        400,
        "invalid_scope",
    )
    .await;
    // Another client's code, an unknown code, no code.
    let resp = app
        .token_basic(
            &confidential,
            &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
        )
        .await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
    assert_oauth_error(
        poll(&app, &device.id, "not-a-code").await,
        400,
        "invalid_grant",
    )
    .await;
    let resp = app
        .api
        .post(app.url("/token"))
        .form(&[("grant_type", DEVICE_GRANT), ("client_id", &device.id)])
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;
    // The code still works for its own client.
    assert_oauth_error(
        poll(&app, &device.id, device_code).await,
        400,
        "authorization_pending",
    )
    .await;
    let resp = app
        .api
        .get(app.url("/device_authorization"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await, (405, "invalid_request".to_string()));
}

async fn the_purge_deletes_expired_device_requests(backend: Backend) {
    let app = crate::purge::purge_app(backend).await;
    let client = device_client(&app);
    start(&app, &client.id, "read").await;
    app.clock.advance(600 + 3600 + 1);
    start(&app, &client.id, "read").await;
    let n = purge_now(&app).await;
    assert_eq!(n.get("device_authorizations"), 1, "{n}");
    assert_eq!(count(&app, "device_authorizations"), 1);
}

/// A CLI registers itself (RFC 7591, open registration) with the device grant and refresh
/// tokens, then starts a device request as that public client.
async fn a_dynamically_registered_cli_uses_the_device_grant(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.clients.registration = portcullis::config::RegistrationPolicy::Open;
    })
    .await;
    let resp = app
        .api
        .post(app.url("/register"))
        .json(&serde_json::json!({
            "client_name": "Deploy CLI",
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "grant_types": [DEVICE_GRANT, "refresh_token"],
            "scope": "openid offline_access",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let reg: Value = resp.json().await.unwrap();
    assert_eq!(
        reg["grant_types"],
        serde_json::json!([DEVICE_GRANT, "refresh_token"])
    );
    let id = reg["client_id"].as_str().unwrap();
    let started = start(&app, id, "openid offline_access").await;
    assert!(
        started["user_code"].as_str().is_some_and(|c| c.len() == 9),
        "{started}"
    );
    let (status, error) =
        error_of(poll(&app, id, started["device_code"].as_str().unwrap()).await).await;
    assert_eq!((status, error.as_str()), (400, "authorization_pending"));
    // The person approving is told nobody vouches for the name.
    let user = app.create_user("cli-user@example.com", "student").await;
    let code = started["user_code"].as_str().unwrap();
    let (browser, page) =
        crate::device_page::signed_in_at_device(&app, &user.email, &user.password, code).await;
    let (status, confirm) = crate::device_page::enter(&app, &browser, &page, code).await;
    assert_eq!(status, 200, "{confirm}");
    assert!(crate::web::text(&confirm, "#unverified-client")
        .unwrap()
        .starts_with("This application registered itself: Portcullis has not verified it."));
    // Refresh tokens still need a grant that signs a user in.
    let resp = app
        .api
        .post(app.url("/register"))
        .json(&serde_json::json!({
            "client_name": "Odd CLI",
            "token_endpoint_auth_method": "none",
            "grant_types": ["refresh_token"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    assert_eq!(
        body["error_description"],
        "the refresh_token grant needs the authorization_code or the device_code grant"
    );
}
