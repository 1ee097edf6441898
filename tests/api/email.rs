//! Email verification over a real SMTP conversation (`smtp.rs`): the link in the mail is what
//! makes `email_verified` true; `users.require_verified_email` holds sign-in until then; and
//! mail trouble never fails a request.
use std::time::Duration;

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with, verify_with_jwks, Backend, TestApp, PASSWORD};
use crate::smtp::{token_of, use_smtp, SmtpServer};
use crate::web::{browser, fill, form_fields, get, post_form, sign_in, text};

both_backends!(
    registration_link_verifies_the_address,
    require_verified_email_holds_sign_in,
);

async fn register(app: &TestApp, email: &str) -> Value {
    let resp = app
        .api
        .post(app.url("/api/auth/register"))
        .json(&json!({ "email": email, "password": PASSWORD, "name": "Ada" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

/// `email_verified` as the id_token (password grant) and `/userinfo` tell it.
async fn verified_claims(app: &TestApp, email: &str) -> (Value, Value) {
    let client = app.password_client();
    let tokens: Value = app
        .password_grant(&client, email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let jwks = app.jwks().await;
    let id_token = tokens["id_token"].as_str().expect("an id_token");
    let (_, id) = verify_with_jwks(id_token, &jwks, &app.address, &client.id);
    let info: Value = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (id["email_verified"].clone(), info["email_verified"].clone())
}

async fn registration_link_verifies_the_address(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| use_smtp(s, &smtp)).await;
    let user = register(&app, "ada@example.com").await;
    assert_eq!(user["email_verified"], false);

    let mail = smtp.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(mail.from, "no-reply@example.com");
    assert_eq!(mail.subject(), "Confirm your email address");
    assert!(mail.part("text/html").contains("Confirm email address"));
    let link = mail.link("/email/verify");
    assert!(link.starts_with(&format!("{}/email/verify?token=", app.address)));
    assert_eq!(token_of(&link).len(), 43, "256 bits, base64url");
    assert_eq!(
        verified_claims(&app, "ada@example.com").await,
        (json!(false), json!(false))
    );

    // Following the link (a browser) verifies the address; the claim follows.
    let b = browser();
    let (status, _, html) = get(&b, &app.local(&link)).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        text(&html, "#notice-title").unwrap(),
        "Your email address is confirmed"
    );
    assert_eq!(
        verified_claims(&app, "ada@example.com").await,
        (json!(true), json!(true))
    );
    // Once only.
    let (status, _, html) = get(&b, &app.local(&link)).await;
    assert_eq!(status, 400, "{html}");

    // A new link on request (the account API); the same answer for every address, and mail
    // only for an account that needs it.
    register(&app, "bob@example.com").await;
    let first = smtp.next().await;
    let resend = |email: &'static str| {
        app.api
            .post(app.url("/api/auth/email/resend"))
            .json(&json!({ "email": email }))
            .send()
    };
    let mut answers = Vec::new();
    for email in ["bob@example.com", "nobody@example.com", "ada@example.com"] {
        let resp = resend(email).await.unwrap();
        answers.push((resp.status().as_u16(), resp.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, 202);
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    let second = smtp.next().await;
    assert_eq!(second.to, ["bob@example.com"]);
    smtp.assert_none_within(Duration::from_millis(500)).await;

    // Links expire after 24 hours.
    app.clock.advance(24 * 3600);
    for mail in [first, second] {
        let resp = app
            .api
            .post(app.url("/api/auth/email/verify"))
            .json(&json!({ "token": token_of(&mail.link("/email/verify")) }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_link");
    }
    resend("bob@example.com").await.unwrap();
    let third = smtp.next().await;
    let resp = app
        .api
        .post(app.url("/api/auth/email/verify"))
        .json(&json!({ "token": token_of(&third.link("/email/verify")) }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let me = app.account_login("bob@example.com", PASSWORD).await;
    let me: Value = app
        .api
        .get(app.url("/api/auth/me"))
        .bearer_auth(me["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], true);

    // The audit log has each step.
    let mut conn = app.db.get().unwrap();
    let kinds: Vec<(String, String)> =
        portcullis::store::audit::list(&mut conn, None, None, None, 100)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind.starts_with("email_"))
            .map(|e| (e.kind, e.outcome))
            .collect();
    for step in [
        ("email_verification_sent", "success"),
        ("email_verification_sent", "failure"),
        ("email_verified", "success"),
        ("email_verified", "failure"),
    ] {
        assert!(
            kinds.contains(&(step.0.to_string(), step.1.to_string())),
            "{step:?} not in {kinds:?}"
        );
    }
}

async fn require_verified_email_holds_sign_in(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| {
        use_smtp(s, &smtp);
        s.users.require_verified_email = true;
        s.email.send_limit_per_ip = 2;
    })
    .await;

    // Registration on the page asks to confirm instead of signing in.
    let b = browser();
    let (_, _, html) = get(&b, &app.url("/register")).await;
    let form = fill(
        form_fields(&html, "#register-form"),
        &[("email", "eve@example.com"), ("password", PASSWORD)],
    );
    let resp = post_form(&b, &app.url("/register"), &form).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#notice-title").unwrap(),
        "Confirm your email address"
    );
    let link = smtp.next().await.link("/email/verify");

    // Every password sign-in waits for the address.
    let resp = sign_in(&app, &b, &app.url("/login"), "eve@example.com", PASSWORD).await;
    assert_eq!(resp.status(), 403);
    let html = resp.text().await.unwrap();
    assert!(text(&html, "#login-error")
        .unwrap()
        .contains("Confirm your email address"));
    let resend_href = crate::web::attr(&html, "#resend-link", "href").unwrap();
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": "eve@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "email_not_verified"
    );
    let client = app.password_client();
    let resp = app
        .password_grant(&client, "eve@example.com", PASSWORD)
        .await;
    crate::helpers::assert_oauth_error(resp, 400, "invalid_grant").await;
    // A wrong password is still just wrong (nothing learnt without the password).
    let resp = sign_in(
        &app,
        &b,
        &app.url("/login"),
        "eve@example.com",
        "Wrong-Pass-1",
    )
    .await;
    assert_eq!(resp.status(), 400);

    // The resend page (prefilled from the login page) sends a new link.
    let (status, _, html) = get(&b, &app.url(&resend_href)).await;
    assert_eq!(status, 200);
    let form = form_fields(&html, "#resend-form");
    assert!(
        form.contains(&("email".into(), "eve@example.com".into())),
        "{form:?}"
    );
    let resp = post_form(&b, &app.url("/email/resend"), &form).await;
    assert_eq!(resp.status(), 200);
    let newer = smtp.next().await.link("/email/verify");
    assert_ne!(newer, link);

    // The source's budget for mail requests (2 here) answers 429 beyond it.
    let resp = post_form(&b, &app.url("/email/resend"), &form).await;
    assert_eq!(resp.status(), 200);
    let resp = post_form(&b, &app.url("/email/resend"), &form).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));

    // The first link still works (each is good for 24 hours, once); then sign-in works.
    let (status, _, _) = get(&b, &app.local(&link)).await;
    assert_eq!(status, 200);
    let resp = sign_in(&app, &b, &app.url("/login"), "eve@example.com", PASSWORD).await;
    assert_eq!(resp.status(), 303);
    // Following a link voids the others.
    let (status, _, _) = get(&b, &app.local(&newer)).await;
    assert_eq!(status, 400);
}

/// Without SMTP nothing mail-based is offered, and nothing fails for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_mail_features_are_off() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = browser();
    let (_, _, html) = get(&b, &app.url("/login")).await;
    assert!(text(&html, "#forgot-link").is_none(), "{html}");
    for path in ["/password/forgot", "/email/resend"] {
        let (status, _, _) = get(&b, &app.url(path)).await;
        assert_eq!(status, 404, "{path}");
    }
    for path in ["/api/auth/password/forgot", "/api/auth/email/resend"] {
        let resp = app
            .api
            .post(app.url(path))
            .json(&json!({ "email": "a@example.com" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{path}");
        assert_eq!(
            resp.json::<Value>().await.unwrap()["error"],
            "email_disabled"
        );
    }
    let user = register(&app, "plain@example.com").await;
    assert_eq!(user["email_verified"], false);
}

/// A mail server that refuses for a while or is not there: requests still succeed; mail is
/// retried (a transient refusal) and delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_trouble_never_fails_a_request() {
    let smtp = SmtpServer::start().await;
    smtp.refuse_next(1);
    let app = spawn_app_with(Backend::Sqlite, |s| use_smtp(s, &smtp)).await;
    register(&app, "retry@example.com").await;
    let mail = smtp.next().await;
    assert_eq!(
        mail.to,
        ["retry@example.com"],
        "delivered on the second attempt"
    );

    // Nothing listens at this port: the sign-up and the reset request still answer normally.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.email.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.email.from = Some("no-reply@example.com".into());
    })
    .await;
    register(&app, "nowhere@example.com").await;
    let resp = app
        .api
        .post(app.url("/api/auth/password/forgot"))
        .json(&json!({ "email": "nowhere@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
}
