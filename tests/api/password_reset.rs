//! Password reset over a real SMTP conversation (`smtp.rs`): "Forgot password?" → the mailed
//! link → a new password; every session and refresh token of the user dies; unknown addresses
//! get the same answer; the link works once and expires.
use std::time::Duration;

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{assert_oauth_error, spawn_app_with, Backend, TestApp, PASSWORD};
use crate::smtp::{token_of, use_smtp, SmtpServer};
use crate::web::{attr, browser, fill, form_fields, get, post_form, sign_in, text};

both_backends!(
    forgot_then_reset_ends_every_session,
    reset_links_work_once_and_expire,
    reset_requests_are_rate_limited,
);

const NEW_PASSWORD: &str = "Brand-New-Pass-7";

/// Asks for a reset link on the page; returns the answer's status and body.
async fn forgot_page(app: &TestApp, b: &reqwest::Client, email: &str) -> (u16, String) {
    let (status, _, html) = get(b, &app.url("/password/forgot")).await;
    assert_eq!(status, 200, "{html}");
    let form = fill(form_fields(&html, "#forgot-form"), &[("email", email)]);
    let resp = post_form(b, &app.url("/password/forgot"), &form).await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn forgot_api(app: &TestApp, email: &str) -> (u16, String) {
    let resp = app
        .api
        .post(app.url("/api/auth/password/forgot"))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn reset_api(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.api
        .post(app.url("/api/auth/password/reset"))
        .json(&json!({ "token": token, "new_password": password }))
        .send()
        .await
        .unwrap()
}

async fn forgot_then_reset_ends_every_session(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| use_smtp(s, &smtp)).await;
    let user = app.create_user("ada@example.com", "student").await;

    // Signed in three ways: the password grant (refresh token), the account API, a browser.
    let client = app.password_client();
    let grant: Value = app
        .password_grant(&client, &user.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let account = app.account_login(&user.email, PASSWORD).await;
    let b = browser();
    let resp = sign_in(&app, &b, &app.url("/login"), &user.email, PASSWORD).await;
    assert_eq!(resp.status(), 303);

    // "Forgot password?" is on the login page; known and unknown addresses get the same page.
    let other = browser();
    let (_, _, html) = get(&other, &app.url("/login")).await;
    assert_eq!(
        attr(&html, "#forgot-link", "href").as_deref(),
        Some("/password/forgot")
    );
    let known = forgot_page(&app, &other, "ada@example.com").await;
    let unknown = forgot_page(&app, &other, "nobody@example.com").await;
    assert_eq!(known.0, 200);
    assert_eq!(
        known.1.replace("ada@example.com", "X"),
        unknown.1.replace("nobody@example.com", "X")
    );
    assert_eq!(text(&known.1, "#notice-title").unwrap(), "Check your email");
    let mail = smtp.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(mail.subject(), "Reset your password");
    smtp.assert_none_within(Duration::from_millis(500)).await;
    let link = mail.link("/password/reset");
    assert_eq!(token_of(&link).len(), 43);

    // The link opens the form; a weak password is refused rule by rule and the link survives.
    let (status, _, html) = get(&other, &app.local(&link)).await;
    assert_eq!(status, 200, "{html}");
    assert!(text(&html, ".subtitle")
        .unwrap()
        .contains("ada@example.com"));
    let form = form_fields(&html, "#reset-form");
    let resp = post_form(
        &other,
        &app.url("/password/reset"),
        &fill(form.clone(), &[("password", "short")]),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(
        !crate::web::texts(&html, ".rule.broken").is_empty(),
        "{html}"
    );
    let resp = post_form(
        &other,
        &app.url("/password/reset"),
        &fill(form.clone(), &[("password", NEW_PASSWORD)]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#notice-title").unwrap(),
        "Your password has been changed"
    );

    // A mail says so.
    let changed = smtp.next().await;
    assert_eq!(changed.subject(), "Your password was changed");
    assert!(
        changed.text().contains("Every device"),
        "{}",
        changed.text()
    );

    // The new password works, the old one doesn't.
    let resp = app.password_grant(&client, &user.email, PASSWORD).await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
    let resp = app.password_grant(&client, &user.email, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 200);

    // Every earlier session and refresh token is dead.
    let resp = app
        .refresh(&client, grant["refresh_token"].as_str().unwrap())
        .await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
    let resp = app
        .api
        .post(app.url("/api/auth/refresh"))
        .json(&json!({ "refresh_token": account["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    for access in [&grant["access_token"], &account["access_token"]] {
        let resp = app
            .api
            .get(app.url("/userinfo"))
            .bearer_auth(access.as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    let (_, _, html) = get(&b, &app.url("/login")).await;
    assert!(
        form_fields(&html, "#login-form")
            .iter()
            .any(|(n, _)| n == "password"),
        "the browser is signed out"
    );

    // The link worked once.
    let (status, _, _) = get(&other, &app.local(&link)).await;
    assert_eq!(status, 400);
    let resp = post_form(
        &other,
        &app.url("/password/reset"),
        &fill(form, &[("password", "Another-Pass-8")]),
    )
    .await;
    assert_eq!(resp.status(), 400);

    // Audited: the requests (sent, and refused for the unknown address) and the reset.
    let mut conn = app.db.get().unwrap();
    let events = portcullis::store::audit::list(&mut conn, None, None, None, 200).unwrap();
    let has = |kind: &str, outcome: &str| {
        events
            .iter()
            .any(|e| e.kind == kind && e.outcome == outcome)
    };
    assert!(has("password_reset_requested", "success"));
    assert!(has("password_reset_requested", "failure"));
    assert!(has("password_reset", "success"));
    assert!(has("password_reset", "failure"));
    let detail = events
        .iter()
        .find(|e| e.kind == "password_reset" && e.outcome == "success")
        .and_then(|e| e.detail.clone())
        .unwrap();
    assert!(detail.contains("\"sessions_ended\":3"), "{detail}");
}

async fn reset_links_work_once_and_expire(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| use_smtp(s, &smtp)).await;
    let user = app.create_user("grace@example.com", "student").await;

    // The account API: the same answer for every address.
    let known = forgot_api(&app, &user.email).await;
    let unknown = forgot_api(&app, "nobody@example.com").await;
    assert_eq!(known.0, 202);
    assert_eq!(known, unknown);
    let first = token_of(&smtp.next().await.link("/password/reset"));

    // 30 minutes, then the link is dead.
    app.clock.advance(30 * 60);
    let resp = reset_api(&app, &first, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_link");
    let (status, _, _) = get(
        &browser(),
        &app.url(&format!("/password/reset?token={first}")),
    )
    .await;
    assert_eq!(status, 400);

    // Two fresh links: the policy applies; one reset voids the other link.
    forgot_api(&app, &user.email).await;
    let second = token_of(&smtp.next().await.link("/password/reset"));
    forgot_api(&app, &user.email).await;
    let third = token_of(&smtp.next().await.link("/password/reset"));
    let resp = reset_api(&app, &third, "weak").await;
    assert_eq!(resp.status(), 422);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "weak_password"
    );
    let resp = reset_api(&app, &third, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 204);
    let resp = reset_api(&app, &third, "Again-Pass-9").await;
    assert_eq!(resp.status(), 400, "once");
    let resp = reset_api(&app, &second, "Again-Pass-9").await;
    assert_eq!(resp.status(), 400, "the other link is void");
    app.account_login(&user.email, NEW_PASSWORD).await;
    assert_eq!(smtp.next().await.subject(), "Your password was changed");
}

async fn reset_requests_are_rate_limited(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| {
        use_smtp(s, &smtp);
        s.email.send_limit_per_ip = 4;
        s.email.send_limit_per_address = 2;
    })
    .await;
    let user = app.create_user("kim@example.com", "student").await;
    // Per address: two mails, then the same answer and nothing sent.
    for _ in 0..3 {
        assert_eq!(forgot_api(&app, &user.email).await.0, 202);
    }
    smtp.next().await;
    smtp.next().await;
    smtp.assert_none_within(Duration::from_millis(500)).await;
    // Per source: the fourth request is fine, the fifth is 429 whatever the address.
    assert_eq!(forgot_api(&app, "someone@example.com").await.0, 202);
    let resp = app
        .api
        .post(app.url("/api/auth/password/forgot"))
        .json(&json!({ "email": "other@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    // The window passes.
    app.clock.advance(3600);
    assert_eq!(forgot_api(&app, "someone@example.com").await.0, 202);
}
