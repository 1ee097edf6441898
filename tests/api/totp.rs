//! Second factors over the account API: an authenticator app enrolled with a code this test
//! computes from the secret (the same TOTP crate as the server), replays refused, recovery
//! codes used once and mailed about (a real SMTP conversation, `smtp.rs`), wrong codes
//! throttled like password guesses.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app_with, spawn_sibling_with, Backend, TestApp, PASSWORD};
use crate::smtp::{use_smtp, SmtpServer};

both_backends!(
    an_app_is_enrolled_with_a_first_code_and_codes_work_once,
    recovery_codes_work_once_are_replaced_and_mailed_about,
    wrong_codes_are_throttled_per_account,
    concurrent_uses_of_one_code_accept_it_once,
    a_new_key_encryption_key_keeps_apps_working,
    setting_up_or_new_codes_need_a_recent_sign_in,
    turning_the_app_on_and_off_is_mailed,
);

/// The app's code for `secret` (base32) at `t`.
pub fn code_at(secret: &str, t: i64) -> String {
    let secret = secret.replace(' ', "");
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
        .build()
        .unwrap()
        .generate(t as u64)
        .to_string()
}

/// A six-digit code that is no code of `secret` around `t`.
pub fn wrong_code_at(secret: &str, t: i64) -> String {
    let near: Vec<String> = [t - 30, t, t + 30]
        .iter()
        .map(|&s| code_at(secret, s))
        .collect();
    (0..)
        .map(|n: u32| {
            format!(
                "{:06}",
                (code_at(secret, t).parse::<u32>().unwrap() + 1 + n) % 1_000_000
            )
        })
        .find(|c| !near.contains(c))
        .unwrap()
}

/// An account-API access token of `email`.
async fn token(app: &TestApp, email: &str) -> String {
    app.account_login(email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app.api.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, headers, body)
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = call(app, reqwest::Method::POST, path, token, Some(body)).await;
    (status, body)
}

async fn status(app: &TestApp, token: &str) -> Value {
    let (status, headers, body) =
        call(app, reqwest::Method::GET, "/api/auth/mfa", token, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    body
}

/// Sets up the app for the token's user; returns the secret.
pub async fn enrol(app: &TestApp, token: &str) -> String {
    let (st, started) = post(app, "/api/auth/mfa/totp", token, json!({})).await;
    assert_eq!(st, 200, "{started}");
    let secret = started["secret"].as_str().unwrap().to_string();
    let code = code_at(&secret, app.clock_now());
    let (st, body) = post(
        app,
        "/api/auth/mfa/totp/confirm",
        token,
        json!({ "code": code }),
    )
    .await;
    assert_eq!(st, 204, "{body}");
    secret
}

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

async fn an_app_is_enrolled_with_a_first_code_and_codes_work_once(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let user = app.create_user("ada@example.com", "student").await;
    let token = token(&app, &user.email).await;
    assert_eq!(
        status(&app, &token).await,
        json!({ "totp": false, "recovery_codes_left": 0 })
    );

    // Nothing to confirm yet.
    let now = app.clock_now();
    let (st, body) = post(
        &app,
        "/api/auth/mfa/totp/confirm",
        &token,
        json!({ "code": "123456" }),
    )
    .await;
    assert_eq!((st, error(&body)), (409, "totp_not_started"), "{body}");

    // Start: the secret, and the URI an app scans.
    let (st, started) = post(&app, "/api/auth/mfa/totp", &token, json!({})).await;
    assert_eq!(st, 200, "{started}");
    let secret = started["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert_eq!(
        started["otpauth_uri"],
        format!("otpauth://totp/127.0.0.1:ada%40example.com?secret={secret}&issuer=127.0.0.1")
    );
    // Stored sealed, never in clear.
    {
        let mut conn = app.db.get().unwrap();
        let row = portcullis::store::totp::find(&mut conn, &user.id)
            .unwrap()
            .unwrap();
        assert!(
            row.secret_sealed.starts_with("v1."),
            "{}",
            row.secret_sealed
        );
        assert!(!row.secret_sealed.contains(&secret));
        assert_eq!((row.confirmed_at, row.last_used_step), (None, None));
    }
    // Starting again replaces the unconfirmed secret: the first one no longer confirms.
    let (_, restarted) = post(&app, "/api/auth/mfa/totp", &token, json!({})).await;
    let secret2 = restarted["secret"].as_str().unwrap().to_string();
    assert_ne!(secret2, secret);
    let old = code_at(&secret, now);
    if old != code_at(&secret2, now) {
        let (st, body) = post(
            &app,
            "/api/auth/mfa/totp/confirm",
            &token,
            json!({ "code": old }),
        )
        .await;
        assert_eq!((st, error(&body)), (400, "invalid_code"), "{body}");
    }
    let wrong = wrong_code_at(&secret2, now);
    let (st, body) = post(
        &app,
        "/api/auth/mfa/totp/confirm",
        &token,
        json!({ "code": wrong }),
    )
    .await;
    assert_eq!((st, error(&body)), (400, "invalid_code"), "{body}");
    assert_eq!(status(&app, &token).await["totp"], false);

    let first = code_at(&secret2, now);
    let (st, _) = post(
        &app,
        "/api/auth/mfa/totp/confirm",
        &token,
        json!({ "code": first }),
    )
    .await;
    assert_eq!(st, 204);
    assert_eq!(status(&app, &token).await["totp"], true);
    let (st, body) = post(&app, "/api/auth/mfa/totp", &token, json!({})).await;
    assert_eq!((st, error(&body)), (409, "totp_already_enabled"), "{body}");

    // The confirming code's step is used: the same code again is a replay.
    let (st, body) = post(
        &app,
        "/api/auth/mfa/verify",
        &token,
        json!({ "code": first }),
    )
    .await;
    assert_eq!((st, error(&body)), (403, "code_replayed"), "{body}");
    // The next step's code works once (typed with a space), and the previous step's no more.
    app.clock.advance(30);
    let next = code_at(&secret2, app.clock_now());
    let spaced = format!("{} {}", &next[..3], &next[3..]);
    let (st, body) = post(
        &app,
        "/api/auth/mfa/verify",
        &token,
        json!({ "code": spaced }),
    )
    .await;
    assert_eq!(
        (st, body.clone()),
        (200, json!({ "method": "totp" })),
        "{body}"
    );
    let (st, body) = post(
        &app,
        "/api/auth/mfa/verify",
        &token,
        json!({ "code": next }),
    )
    .await;
    assert_eq!((st, error(&body)), (403, "code_replayed"), "{body}");
    let wrong = wrong_code_at(&secret2, app.clock_now());
    let (st, body) = post(
        &app,
        "/api/auth/mfa/verify",
        &token,
        json!({ "code": wrong }),
    )
    .await;
    assert_eq!((st, error(&body)), (403, "invalid_code"), "{body}");

    // Turning it off needs a proof: a wrong one is refused, the password works.
    let del = |body: Value| {
        call(
            &app,
            reqwest::Method::DELETE,
            "/api/auth/mfa/totp",
            &token,
            Some(body),
        )
    };
    let (st, _, body) = del(json!({ "password": "not-the-password" })).await;
    assert_eq!((st, error(&body)), (403, "invalid_credentials"), "{body}");
    let (st, _, body) = del(json!({})).await;
    assert_eq!((st, error(&body)), (422, "invalid_request"), "{body}");
    let (st, _, body) = del(json!({ "password": PASSWORD })).await;
    assert_eq!(st, 204, "{body}");
    assert_eq!(status(&app, &token).await["totp"], false);
    let (st, _, body) = del(json!({ "password": PASSWORD })).await;
    assert_eq!((st, error(&body)), (404, "totp_not_enabled"), "{body}");

    // Set up again, and off with a current code this time.
    app.clock.advance(30);
    let secret3 = enrol(&app, &token).await;
    app.clock.advance(30);
    let code = code_at(&secret3, app.clock_now());
    let (st, _, body) = del(json!({ "code": code })).await;
    assert_eq!(st, 204, "{body}");

    // Each step is audited.
    let mut conn = app.db.get().unwrap();
    let events: Vec<(String, String)> =
        portcullis::store::audit::list(&mut conn, Some(&user.id), None, None, 100)
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.outcome))
            .collect();
    for step in [
        ("totp_enabled", "success"),
        ("totp_disabled", "success"),
        ("second_factor", "success"),
        ("second_factor", "failure"),
        ("password_check", "failure"),
    ] {
        let step = (step.0.to_string(), step.1.to_string());
        assert!(events.contains(&step), "{step:?} not in {events:?}");
    }
}

async fn recovery_codes_work_once_are_replaced_and_mailed_about(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| use_smtp(s, &smtp)).await;
    let user = app.create_user("ada@example.com", "student").await;
    let token = token(&app, &user.email).await;

    let (st, body) = post(&app, "/api/auth/mfa/recovery-codes", &token, json!({})).await;
    assert_eq!(st, 200, "{body}");
    let codes: Vec<String> = serde_json::from_value(body["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    for code in &codes {
        assert_eq!(code.len(), 11, "{code}");
        assert_eq!(&code[5..6], "-", "{code}");
        assert!(code
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase()));
    }
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);
    assert_eq!(status(&app, &token).await["recovery_codes_left"], 10);
    // Making codes is a change of the second factors: mailed.
    let mail = smtp.next().await;
    assert_eq!(mail.to, vec![user.email.clone()]);
    assert_eq!(mail.subject(), "Your two-step sign-in changed");
    assert!(
        mail.text()
            .starts_with("New recovery codes were made, and the old ones no longer work (your account ada@example.com"),
        "{}",
        mail.text()
    );
    assert!(
        mail.text().contains(&app.url("/account/mfa")),
        "{}",
        mail.text()
    );

    // A code works once, typed in lower case without its dash; the user is told by mail.
    let typed = codes[0].replace('-', "").to_lowercase();
    let (st, body) = post(
        &app,
        "/api/auth/mfa/verify",
        &token,
        json!({ "code": typed }),
    )
    .await;
    assert_eq!(
        (st, body.clone()),
        (200, json!({ "method": "recovery_code" })),
        "{body}"
    );
    let mail = smtp.next().await;
    assert_eq!(mail.to, vec![user.email.clone()]);
    assert_eq!(mail.subject(), "A recovery code was used");
    assert!(
        mail.text().contains("you have 9 recovery codes left"),
        "{}",
        mail.text()
    );
    let (st, body) = post(
        &app,
        "/api/auth/mfa/verify",
        &token,
        json!({ "code": codes[0] }),
    )
    .await;
    assert_eq!((st, error(&body)), (403, "invalid_code"), "{body}");
    assert_eq!(status(&app, &token).await["recovery_codes_left"], 9);

    // A new set replaces the old one: an unused old code stops working.
    let (_, body) = post(&app, "/api/auth/mfa/recovery-codes", &token, json!({})).await;
    let fresh: Vec<String> = serde_json::from_value(body["recovery_codes"].clone()).unwrap();
    assert_eq!(status(&app, &token).await["recovery_codes_left"], 10);
    assert_eq!(smtp.next().await.subject(), "Your two-step sign-in changed");
    let (st, body) = post(
        &app,
        "/api/auth/mfa/verify",
        &token,
        json!({ "code": codes[1] }),
    )
    .await;
    assert_eq!((st, error(&body)), (403, "invalid_code"), "{body}");
    let (st, _) = post(
        &app,
        "/api/auth/mfa/verify",
        &token,
        json!({ "code": fresh[9] }),
    )
    .await;
    assert_eq!(st, 200);
    assert!(smtp
        .next()
        .await
        .text()
        .contains("you have 9 recovery codes left"));
    // Another user's code is not this user's.
    let other = app.create_user("bob@example.com", "student").await;
    let other_token = self::token(&app, &other.email).await;
    let (st, body) = post(
        &app,
        "/api/auth/mfa/verify",
        &other_token,
        json!({ "code": fresh[0] }),
    )
    .await;
    assert_eq!((st, error(&body)), (403, "invalid_code"), "{body}");

    let mut conn = app.db.get().unwrap();
    let used = portcullis::store::audit::list(
        &mut conn,
        Some(&user.id),
        Some("recovery_code_used"),
        None,
        10,
    )
    .unwrap();
    assert_eq!(used.len(), 2);
    assert_eq!(used[0].detail.as_deref(), Some(r#"{"remaining":9}"#));
    let made = portcullis::store::audit::list(
        &mut conn,
        Some(&user.id),
        Some("recovery_codes_generated"),
        None,
        10,
    )
    .unwrap();
    assert_eq!(made.len(), 2);
}

async fn wrong_codes_are_throttled_per_account(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.lockout.account_max_failures = 3;
        s.lockout.ip_max_failures = 100;
    })
    .await;
    let user = app.create_user("ada@example.com", "student").await;
    let token = token(&app, &user.email).await;
    let secret = enrol(&app, &token).await;
    app.clock.advance(30);
    let now = app.clock_now();

    for _ in 0..3 {
        let wrong = wrong_code_at(&secret, now);
        let (st, body) = post(
            &app,
            "/api/auth/mfa/verify",
            &token,
            json!({ "code": wrong }),
        )
        .await;
        assert_eq!((st, error(&body)), (403, "invalid_code"), "{body}");
    }
    // The fourth guess waits for the lock, right or not.
    let right = code_at(&secret, now);
    let (st, headers, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/auth/mfa/verify",
        &token,
        Some(json!({ "code": right })),
    )
    .await;
    assert_eq!((st, error(&body)), (429, "too_many_requests"), "{body}");
    assert_eq!(headers["retry-after"], "900");
    // The same budget guards turning the app off with a code.
    let (st, headers, body) = call(
        &app,
        reqwest::Method::DELETE,
        "/api/auth/mfa/totp",
        &token,
        Some(json!({ "code": right })),
    )
    .await;
    assert_eq!((st, error(&body)), (429, "too_many_requests"), "{body}");
    assert_eq!(headers["retry-after"], "900");
    // The password is still accepted (the account API asks for the second factor next): the
    // code budget is the account's own.
    assert!(!mfa_token(&app, &user.email).await.is_empty());

    {
        let mut conn = app.db.get().unwrap();
        let lockouts =
            portcullis::store::audit::list(&mut conn, Some(&user.id), Some("lockout"), None, 10)
                .unwrap();
        assert_eq!(lockouts.len(), 1);
    }
    // After the lock, the right code signs in (the first token has expired meanwhile).
    app.clock.advance(900);
    let handle = mfa_token(&app, &user.email).await;
    let resp = app
        .api
        .post(app.url("/api/auth/login/mfa"))
        .json(&json!({ "mfa_token": handle, "code": code_at(&secret, app.clock_now()) }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// `/api/auth/login` for a user with an app: the password is right, the second step's handle.
async fn mfa_token(app: &TestApp, email: &str) -> String {
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "mfa_required", "{body}");
    body["details"]["mfa_token"].as_str().unwrap().to_string()
}

async fn concurrent_uses_of_one_code_accept_it_once(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.lockout.account_max_failures = 100;
        s.lockout.ip_max_failures = 100;
    })
    .await;
    let user = app.create_user("ada@example.com", "student").await;
    let token = token(&app, &user.email).await;
    let secret = enrol(&app, &token).await;
    let (_, body) = post(&app, "/api/auth/mfa/recovery-codes", &token, json!({})).await;
    let recovery = body["recovery_codes"][0].as_str().unwrap().to_string();
    app.clock.advance(30);

    for code in [code_at(&secret, app.clock_now()), recovery] {
        let tries = (0..6).map(|_| {
            post(
                &app,
                "/api/auth/mfa/verify",
                &token,
                json!({ "code": code }),
            )
        });
        let answers = futures_util::future::join_all(tries).await;
        let accepted = answers.iter().filter(|(st, _)| *st == 200).count();
        assert_eq!(accepted, 1, "{answers:?}");
        for (st, body) in answers.iter().filter(|(st, _)| *st != 200) {
            assert_eq!(*st, 403, "{body}");
            assert!(
                ["code_replayed", "invalid_code"].contains(&error(body)),
                "{body}"
            );
        }
    }
}

async fn a_new_key_encryption_key_keeps_apps_working(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.keys.encryption_key = Some(crate::key_helpers::TEST_KEK.into());
    })
    .await;
    let user = app.create_user("ada@example.com", "student").await;
    // Signed in before the app is set up (then signing in asks for a code).
    let token = token(&app, &user.email).await;
    let secret = enrol(&app, &token).await;

    let dir = tempfile::tempdir().unwrap();
    let new_key = "bmV3LWtleS1mb3ItcG9ydGN1bGxpcy10ZXN0cy0xMjM=";
    let file = dir.path().join("new.key");
    std::fs::write(&file, new_key).unwrap();
    let out = crate::keys::cli_json(
        &app,
        &["keys", "rewrap", "--new-key-file", file.to_str().unwrap()],
    );
    assert_eq!(out["totp_secrets_rewrapped"], 1, "{out}");
    {
        let mut conn = app.db.get().unwrap();
        let row = portcullis::store::totp::find(&mut conn, &user.id)
            .unwrap()
            .unwrap();
        let new = portcullis::tokens::keys::Kek::from_base64(new_key).unwrap();
        assert_eq!(row.kek_id, new.id());
    }

    // An instance with the new key (behind the same issuer) checks the app's codes; the
    // token's signing key, re-sealed too, is the same.
    let issuer = app.address.clone();
    let renewed = spawn_sibling_with(&app, |s, _| {
        s.keys.encryption_key = Some(new_key.into());
        s.issuer = issuer;
        s.bind = Some("127.0.0.1:0".into());
    })
    .await;
    app.clock.advance(30);
    let code = code_at(&secret, app.clock_now());
    let (st, body) = post(
        &renewed,
        "/api/auth/mfa/verify",
        &token,
        json!({ "code": code }),
    )
    .await;
    assert_eq!(
        (st, body.clone()),
        (200, json!({ "method": "totp" })),
        "{body}"
    );
}

/// A token from an old sign-in (stolen, say) can't bind an app to the account or replace the
/// recovery codes: RFC 9470's step-up challenge, and nothing changes.
async fn setting_up_or_new_codes_need_a_recent_sign_in(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let user = app.create_user("ada@example.com", "student").await;
    let token = token(&app, &user.email).await;
    app.clock.advance(601);
    for path in ["/api/auth/mfa/totp", "/api/auth/mfa/recovery-codes"] {
        let (st, headers, body) =
            call(&app, reqwest::Method::POST, path, &token, Some(json!({}))).await;
        assert_eq!(
            (st, error(&body)),
            (401, "insufficient_user_authentication"),
            "{path}: {body}"
        );
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("max_age=\"600\""), "{challenge}");
    }
    let enrolled = status(&app, &token).await;
    assert_eq!(enrolled["totp"], false, "{enrolled}");
    assert_eq!(enrolled["recovery_codes_left"], 0, "{enrolled}");
    // Signed in again, both work.
    let fresh = self::token(&app, &user.email).await;
    enrol(&app, &fresh).await;
    let (st, body) = post(&app, "/api/auth/mfa/recovery-codes", &fresh, json!({})).await;
    assert_eq!(st, 200, "{body}");
}

async fn turning_the_app_on_and_off_is_mailed(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| use_smtp(s, &smtp)).await;
    let user = app.create_user("ada@example.com", "student").await;
    let token = token(&app, &user.email).await;
    let secret = enrol(&app, &token).await;
    let mail = smtp.next().await;
    assert_eq!(mail.to, vec![user.email.clone()]);
    assert_eq!(mail.subject(), "Your two-step sign-in changed");
    assert!(
        mail.text()
            .starts_with("An authenticator app was turned on (your account ada@example.com"),
        "{}",
        mail.text()
    );
    app.clock.advance(30);
    let code = code_at(&secret, app.clock_now());
    let (st, _, body) = call(
        &app,
        reqwest::Method::DELETE,
        "/api/auth/mfa/totp",
        &token,
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let mail = smtp.next().await;
    assert!(
        mail.text()
            .starts_with("The authenticator app was turned off (your account"),
        "{}",
        mail.text()
    );
    assert!(mail
        .part("text/html")
        .contains("check your two-step sign-in settings"));
}
