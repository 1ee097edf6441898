//! The `/device` page (RFC 8628 §3.3) and what its decisions do at `/token`: signing in through
//! the page, the pre-filled and typed code, approval (tokens for one poll only), denial
//! (`access_denied`), expiry (`expired_token`), wrong codes and the guess budget, a client
//! requiring a second factor.
use serde_json::Value;

use crate::both_backends;
use crate::device::{device_client, poll, start};
use crate::helpers::{assert_oauth_error, spawn_app, spawn_app_with, Backend, TestApp};
use crate::purge::count;
use crate::web::{self, fill, form_fields, get, location, post_form, text};
use portcullis::oauth::registration::ClientSpec;

both_backends!(
    a_denied_request_is_access_denied,
    an_expired_code_is_expired_token_everywhere,
    an_approval_gives_tokens_to_one_poll_only,
    wrong_codes_show_an_error_and_guesses_are_limited,
    a_client_that_requires_mfa_sends_the_user_to_the_second_factor,
    a_user_with_a_second_factor_signs_in_with_it_on_the_way,
);

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
    assert!(
        text(&confirm, "#unverified-client").is_none(),
        "an operator's client is not flagged"
    );
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

async fn a_user_with_a_second_factor_signs_in_with_it_on_the_way(backend: Backend) {
    use crate::mfa::{code_at, enrol_totp, submit_code};
    let app = spawn_app(backend).await;
    let user = app.create_user("ida@example.com", "student").await;
    let secret = enrol_totp(&app, &user.email).await;
    let client = device_client(&app);
    let body = start(&app, &client.id, "openid read").await;
    let (device_code, code) = (
        body["device_code"].as_str().unwrap(),
        body["user_code"].as_str().unwrap(),
    );
    let browser = web::browser();
    let resp = browser
        .get(app.url(&format!("/device?user_code={code}")))
        .send()
        .await
        .unwrap();
    let login = location(&app, &resp);
    let resp = web::sign_in(&app, &browser, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let mfa_url = location(&app, &resp);
    assert!(
        mfa_url.starts_with(&app.url("/login/mfa?challenge=")),
        "{mfa_url}"
    );
    app.clock.advance(30);
    let resp = submit_code(&app, &browser, &mfa_url, &code_at(&secret, app.clock_now())).await;
    assert_eq!(resp.status(), 303);
    let back = location(&app, &resp);
    assert_eq!(back, app.url(&format!("/device?user_code={code}")));
    let (_, _, page) = get(&browser, &back).await;
    let (status, confirm) = enter(&app, &browser, &page, code).await;
    assert_eq!(status, 200, "{confirm}");
    decide(&app, &browser, &confirm, "allow").await;
    let resp = poll(&app, &client.id, device_code).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let (_, id) = crate::helpers::verify_with_jwks(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.address,
        &client.id,
    );
    assert_eq!(id["acr"], "urn:portcullis:loa:2fa", "{id}");
    let amr = id["amr"].as_array().unwrap();
    assert!(
        amr.contains(&Value::from("otp")) && amr.contains(&Value::from("mfa")),
        "{id}"
    );
}
