//! Changing the account's email address, on `/account` and with `PATCH /api/auth/me`: the new
//! address is unverified until the link mailed to it (a real SMTP conversation on loopback,
//! `smtp.rs`) is followed; taken, lookalike and invalid addresses are refused.
use serde_json::{json, Value};

use crate::account_page::{assert_csrf_refused, notice_after, page, signed_in, submit};
use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with, Backend, PASSWORD};
use crate::smtp::{use_smtp, SmtpServer};
use crate::web::{attr, get, text, texts};

both_backends!(
    changing_the_email_re_verifies_it,
    patch_me_changes_name_and_email,
);

async fn changing_the_email_re_verifies_it(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| use_smtp(s, &smtp)).await;
    let user = app.create_user("old@example.com", "student").await;
    app.create_user("taken@example.com", "student").await;
    let b = signed_in(&app, &user.email, PASSWORD).await;

    let refused = [
        ("new@example.com", "", 400, "Enter your current password."),
        (
            "new@example.com",
            "wrong",
            400,
            "The current password is incorrect.",
        ),
        (
            "TAKEN@example.com",
            PASSWORD,
            409,
            "An account with this email already exists.",
        ),
        (
            "раураl@example.com",
            PASSWORD,
            400,
            "Check the address: \"раураl@example.com\": the part before @ mixes scripts (e.g. \
             Latin with Cyrillic).",
        ),
        (
            "not-an-address",
            PASSWORD,
            400,
            "Check the address: \"not-an-address\" is not a valid email address.",
        ),
    ];
    for (email, current, status, message) in refused {
        let resp = submit(
            &app,
            &b,
            "#email-form",
            &[("email", email), ("current_password", current)],
        )
        .await;
        assert_eq!(resp.status(), status, "{email}");
        let html = resp.text().await.unwrap();
        assert_eq!(text(&html, "#email-error").unwrap(), message, "{email}");
        assert_eq!(attr(&html, "#new-email", "value").unwrap(), email);
    }
    let resp = submit(
        &app,
        &b,
        "#email-form",
        &[("email", "new@example.com"), ("current_password", PASSWORD)],
    )
    .await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "Your email address was changed. We've sent a link to the new address: follow it to \
         confirm it."
    );
    let html = page(&app, &b).await;
    assert_eq!(text(&html, "#current-email").unwrap(), "new@example.com");
    assert_eq!(text(&html, "#email-status").unwrap(), "Not verified");
    assert_eq!(texts(&html, ".event-what")[0], "Email address changed");
    let mail = smtp.next().await;
    assert_eq!(mail.to, ["new@example.com"]);
    assert_eq!(mail.subject(), "Confirm your email address");
    let notice = smtp.next().await;
    assert_eq!(notice.to, ["old@example.com"]);
    assert_eq!(notice.subject(), "Your account's email address was changed");
    assert!(
        notice.text().contains("was changed to new@example.com on "),
        "{}",
        notice.text()
    );

    assert_csrf_refused(&app, &b, "#email-form").await;
    assert_csrf_refused(&app, &b, "#verify-resend-form").await;
    // A new link on request; it verifies the new address.
    let resp = submit(&app, &b, "#verify-resend-form", &[]).await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "We've sent a new confirmation link to your address."
    );
    let second = smtp.next().await;
    assert_eq!(second.to, ["new@example.com"]);
    let (status, _, html) = get(&b, &app.local(&second.link("/email/verify"))).await;
    assert_eq!(status, 200, "{html}");
    let html = page(&app, &b).await;
    assert_eq!(text(&html, "#email-status").unwrap(), "Verified");
    assert_eq!(text(&html, "#verify-resend-form"), None);
    // The old address no longer signs in; the new one does.
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": "old@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    app.account_login("new@example.com", PASSWORD).await;
}

async fn patch_me_changes_name_and_email(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| use_smtp(s, &smtp)).await;
    let user = app.create_user("me@example.com", "student").await;
    app.create_user("other@example.com", "student").await;
    let tokens = app.account_login(&user.email, PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let patch = |body: Value| {
        app.api
            .patch(app.url("/api/auth/me"))
            .bearer_auth(&access)
            .json(&body)
            .send()
    };
    let error = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        (status, body["error"].as_str().unwrap().to_string())
    };
    let resp = patch(json!({ "name": "Grace" })).await.unwrap();
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(
        (me["name"].clone(), me["email_verified"].clone()),
        (json!("Grace"), json!(true))
    );
    let refused = [
        (
            json!({ "email": "Other@example.com", "current_password": PASSWORD }),
            (409, "email_taken"),
        ),
        (
            json!({ "email": "раураl@example.com", "current_password": PASSWORD }),
            (422, "invalid_email"),
        ),
        (
            json!({ "email": "new@example.com" }),
            (422, "invalid_request"),
        ),
        (
            json!({ "email": "new@example.com", "current_password": "nope" }),
            (403, "invalid_credentials"),
        ),
        (
            json!({ "name": "x\u{202e}", "email": "new@example.com" }),
            (422, "invalid_name"),
        ),
        (json!({ "nickname": "x" }), (400, "invalid_request")),
    ];
    for (body, (status, code)) in refused {
        let got = error(patch(body.clone()).await.unwrap()).await;
        assert_eq!(got, (status, code.to_string()), "{body}");
    }
    let resp = patch(json!({ "email": "new@example.com", "current_password": PASSWORD }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["email"], "new@example.com");
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["name"], "Grace", "nothing else changed");
    let mail = smtp.next().await;
    assert_eq!(mail.to, ["new@example.com"]);
    assert_eq!(
        smtp.next().await.to,
        ["me@example.com"],
        "the old address is told"
    );
    let resp = app
        .api
        .post(app.url("/api/auth/email/verify"))
        .json(&json!({ "token": crate::smtp::token_of(&mail.link("/email/verify")) }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let me: Value = app
        .api
        .get(app.url("/api/auth/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], true);

    // Without mail, the address can't change (it could never be verified).
    let no_mail = spawn_app(backend).await;
    no_mail.create_user("me@example.com", "student").await;
    let tokens = no_mail.account_login("me@example.com", PASSWORD).await;
    let resp = no_mail
        .api
        .patch(no_mail.url("/api/auth/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .json(&json!({ "email": "new@example.com", "current_password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(error(resp).await, (403, "email_disabled".to_string()));
}
