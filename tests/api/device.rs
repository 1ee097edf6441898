//! The device authorization grant (RFC 8628): `/device_authorization`, polling `/token`
//! (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`, single use), the
//! `/device` page's code entry, decision and guess budget, client rules, the purge. The
//! Chromium test is in `device_browser.rs`.
use portcullis::oauth::registration::ClientSpec;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{assert_oauth_error, spawn_app, spawn_app_with, Backend, TestApp, TestClient};
use crate::purge::{count, purge_now};
use crate::web::{self, fill, form_fields, get, location, post_form, text};

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

/// A fresh browser signed in through `/device?user_code=…` (the login page comes back there);
/// returns it and the device page it lands on.
pub async fn signed_in_at_device(
    app: &TestApp,
    email: &str,
    password: &str,
    user_code: &str,
) -> (reqwest::Client, String) {
    let browser = web::browser();
    let path = match user_code {
        "" => "/device".to_string(),
        code => format!("/device?user_code={code}"),
    };
    let resp = browser.get(app.url(&path)).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let login = location(app, &resp);
    assert!(login.starts_with(&app.url("/login?next=")), "{login}");
    let resp = web::sign_in(app, &browser, &login, email, password).await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let back = location(app, &resp);
    assert_eq!(back, app.url(&path));
    let (status, _, html) = get(&browser, &back).await;
    assert_eq!(status, 200, "{html}");
    (browser, html)
}

/// Posts the code form of `page` with `code`; the answer's status and page.
pub async fn enter(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    code: &str,
) -> (u16, String) {
    let form = fill(form_fields(page, "#device-form"), &[("user_code", code)]);
    let resp = post_form(browser, &app.url("/device"), &form).await;
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// Answers the confirmation page `page` with `decision`; the result page.
pub async fn decide(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    decision: &str,
) -> String {
    let form = fill(
        form_fields(page, "#device-confirm-form"),
        &[("decision", decision)],
    );
    let resp = post_form(browser, &app.url("/device/decide"), &form).await;
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
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
    a_denied_request_is_access_denied,
    an_expired_code_is_expired_token_everywhere,
    an_approval_gives_tokens_to_one_poll_only,
    clients_need_the_grant_and_their_own_codes,
    wrong_codes_show_an_error_and_guesses_are_limited,
    a_client_that_requires_mfa_sends_the_user_to_the_second_factor,
    the_purge_deletes_expired_device_requests,
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

async fn a_denied_request_is_access_denied(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("dana@example.com", "student").await;
    let client = device_client(&app);
    let body = start(&app, &client.id, "openid read").await;
    let (device_code, code) = (
        body["device_code"].as_str().unwrap(),
        body["user_code"].as_str().unwrap(),
    );
    let (browser, page) = signed_in_at_device(&app, &user.email, &user.password, code).await;
    // verification_uri_complete pre-fills the code.
    let fields = form_fields(&page, "#device-form");
    assert!(
        fields.contains(&("user_code".into(), code.into())),
        "{fields:?}"
    );
    let (status, confirm) = enter(&app, &browser, &page, code).await;
    assert_eq!(status, 200, "{confirm}");
    assert_eq!(text(&confirm, "#device-code").as_deref(), Some(code));
    assert!(confirm.contains("Living Room TV"), "{confirm}");
    let result = decide(&app, &browser, &confirm, "deny").await;
    assert_eq!(
        text(&result, "#notice-title").as_deref(),
        Some("Access denied")
    );
    assert!(text(&result, "#notice-text")
        .unwrap()
        .contains("You may return to your device"));
    assert_oauth_error(
        poll(&app, &client.id, device_code).await,
        400,
        "access_denied",
    )
    .await;
    assert_eq!(
        count(
            &app,
            &format!(
                "audit_events WHERE kind = 'device_denied' AND user_id = '{}' \
                 AND client_id = '{}'",
                user.id, client.id
            )
        ),
        1
    );
    // Decided once: the same code can't be approved afterwards.
    let form = fill(
        form_fields(&confirm, "#device-confirm-form"),
        &[("decision", "allow")],
    );
    let resp = post_form(&browser, &app.url("/device/decide"), &form).await;
    assert_eq!(resp.status(), 400);
    assert!(text(&resp.text().await.unwrap(), "#device-error").is_some());
    app.clock.advance(5);
    assert_oauth_error(
        poll(&app, &client.id, device_code).await,
        400,
        "access_denied",
    )
    .await;
}

async fn an_expired_code_is_expired_token_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("eve@example.com", "student").await;
    let client = device_client(&app);
    let body = start(&app, &client.id, "read").await;
    let (device_code, code) = (
        body["device_code"].as_str().unwrap(),
        body["user_code"].as_str().unwrap(),
    );
    assert_oauth_error(
        poll(&app, &client.id, device_code).await,
        400,
        "authorization_pending",
    )
    .await;
    app.clock.advance(600);
    assert_oauth_error(
        poll(&app, &client.id, device_code).await,
        400,
        "expired_token",
    )
    .await;
    // The page no longer knows the code.
    let (browser, page) = signed_in_at_device(&app, &user.email, &user.password, code).await;
    let (status, page) = enter(&app, &browser, &page, code).await;
    assert_eq!(status, 400);
    assert!(text(&page, "#device-error").is_some(), "{page}");
}

async fn an_approval_gives_tokens_to_one_poll_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("finn@example.com", "student").await;
    let client = device_client(&app);
    let body = start(&app, &client.id, "openid offline_access read").await;
    let (device_code, code) = (
        body["device_code"].as_str().unwrap(),
        body["user_code"].as_str().unwrap(),
    );
    let (browser, page) = signed_in_at_device(&app, &user.email, &user.password, code).await;
    // Typed by hand: lower case, spaces for the dash.
    let typed = code.to_lowercase().replace('-', " ");
    let (status, confirm) = enter(&app, &browser, &page, &typed).await;
    assert_eq!(status, 200, "{confirm}");
    let result = decide(&app, &browser, &confirm, "allow").await;
    assert_eq!(
        text(&result, "#notice-title").as_deref(),
        Some("Device connected")
    );
    // Two polls at once: one gets the tokens, the other is refused.
    let (a, b) = tokio::join!(
        poll(&app, &client.id, device_code),
        poll(&app, &client.id, device_code)
    );
    let (a, b) = (error_of_or_tokens(a).await, error_of_or_tokens(b).await);
    let winners = [&a, &b].iter().filter(|r| r.0 == 200).count();
    assert_eq!(winners, 1, "{a:?} {b:?}");
    let loser = if a.0 == 200 { &b } else { &a };
    assert_eq!(loser.0, 400, "{loser:?}");
    assert!(
        ["slow_down", "invalid_grant"].contains(&loser.1.as_str()),
        "{loser:?}"
    );
    app.clock.advance(30);
    assert_oauth_error(
        poll(&app, &client.id, device_code).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        count(
            &app,
            &format!(
                "audit_events WHERE kind = 'device_approved' AND user_id = '{}'",
                user.id
            )
        ),
        1
    );
}

/// A poll's status and `error` (empty for tokens, which must then hold an access token).
async fn error_of_or_tokens(resp: reqwest::Response) -> (u16, String) {
    let (status, body): (u16, Value) = (resp.status().as_u16(), resp.json().await.unwrap());
    if status == 200 {
        assert!(body["access_token"].is_string(), "{body}");
        assert!(body["refresh_token"].is_string(), "{body}");
    }
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
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

async fn wrong_codes_show_an_error_and_guesses_are_limited(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.lockout.ip_max_failures = 3).await;
    let user = app.create_user("gus@example.com", "student").await;
    let client = device_client(&app);
    let body = start(&app, &client.id, "read").await;
    let code = body["user_code"].as_str().unwrap();
    let (browser, page) = signed_in_at_device(&app, &user.email, &user.password, "").await;
    // Not a code at all: an error, no guess spent.
    for _ in 0..4 {
        let (status, page) = enter(&app, &browser, &page, "hello").await;
        assert_eq!(status, 400);
        assert!(text(&page, "#device-error").is_some(), "{page}");
    }
    // The right code costs nothing.
    let (status, _) = enter(&app, &browser, &page, code).await;
    assert_eq!(status, 200);
    // Well-formed wrong codes: an error each, three per address.
    let wrong = if code.starts_with('B') {
        "CCCC-CCCC"
    } else {
        "BBBB-BBBB"
    };
    for _ in 0..3 {
        let (status, page) = enter(&app, &browser, &page, wrong).await;
        assert_eq!(status, 400);
        assert!(text(&page, "#device-error").is_some(), "{page}");
    }
    let form = fill(form_fields(&page, "#device-form"), &[("user_code", code)]);
    let resp = post_form(&browser, &app.url("/device"), &form).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#error-title").as_deref(),
        Some("Too many attempts")
    );
    // A form without the CSRF token is refused before any guess.
    let resp = post_form(
        &browser,
        &app.url("/device"),
        &[("user_code".to_string(), code.to_string())],
    )
    .await;
    assert_eq!(resp.status(), 403);
    // After the window, the right code works again.
    app.clock.advance(61);
    let (status, confirm) = enter(&app, &browser, &page, code).await;
    assert_eq!(status, 200, "{confirm}");
}

async fn a_client_that_requires_mfa_sends_the_user_to_the_second_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("hal@example.com", "student").await;
    let client = app.create_client(ClientSpec {
        name: "Bank TV".into(),
        grant_types: vec!["device_code".into()],
        scopes: vec!["read".into()],
        public: true,
        require_mfa: true,
        ..ClientSpec::default()
    });
    let body = start(&app, &client.id, "read").await;
    let code = body["user_code"].as_str().unwrap();
    let (browser, page) = signed_in_at_device(&app, &user.email, &user.password, code).await;
    let form = fill(form_fields(&page, "#device-form"), &[("user_code", code)]);
    let resp = post_form(&browser, &app.url("/device"), &form).await;
    assert_eq!(resp.status(), 303);
    let next = location(&app, &resp);
    assert!(
        next.starts_with(&app.url("/login/mfa?challenge=")),
        "{next}"
    );
    assert_eq!(
        web::param(&next, "next"),
        Some(format!("/device?user_code={code}"))
    );
    // Nothing was decided.
    assert_oauth_error(
        poll(&app, &client.id, body["device_code"].as_str().unwrap()).await,
        400,
        "authorization_pending",
    )
    .await;
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
