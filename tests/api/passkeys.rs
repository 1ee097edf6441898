//! Passkeys over plain HTTP (no authenticator): the account page's access rule, the ceremony
//! endpoints' CSRF and options, ceremonies refused from another browser, replayed or expired,
//! and removing passkeys (one's own only). The browser walk with a real (virtual) authenticator
//! is `passkeys_browser.rs`.
use diesel::RunQueryDsl;
use portcullis::store::passkeys::{self as store, PasskeyRow};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, TestUser};
use crate::passkeys_browser::passkey_app;
use crate::purge::count;
use crate::smtp::{use_smtp, SmtpServer};
use crate::web::{browser, form_fields, get, post_form, sign_in, text, texts};

crate::both_backends!(
    the_page_needs_a_signed_in_browser,
    an_ip_issuer_offers_no_passkeys,
    registration_options_ask_for_a_verified_discoverable_passkey,
    sign_in_ceremonies_are_bound_single_use_and_short_lived,
    a_registration_from_another_browser_is_refused,
    passkeys_are_removed_by_their_owner_only,
);

/// An answer shaped like an authenticator's, which no passkey here made.
fn stray_assertion() -> String {
    json!({
        "id": "AAAAAAAAAAAAAAAAAAAAAA",
        "rawId": "AAAAAAAAAAAAAAAAAAAAAA",
        "type": "public-key",
        "response": {
            "authenticatorData": "AAAA",
            "clientDataJSON": "e30",
            "signature": "AAAA",
            "userHandle": "AAAAAAAAAAAAAAAAAAAAAA",
        },
    })
    .to_string()
}

/// The CSRF token of the form `selector` on the page at `path`.
async fn csrf(app: &TestApp, browser: &reqwest::Client, path: &str, selector: &str) -> String {
    let (status, _, html) = get(browser, &app.url(path)).await;
    assert_eq!(status, 200, "{html}");
    form_fields(&html, selector)
        .into_iter()
        .find(|(n, _)| n == "csrf_token")
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no csrf_token in {selector}"))
}

/// `POST` JSON to an options endpoint with `X-CSRF-Token`; status and body.
async fn options(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = browser.post(app.url(path)).json(&body);
    if let Some(t) = token {
        req = req.header("x-csrf-token", t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// A browser signed in as `user` (by the login form).
async fn signed_in(app: &TestApp, user: &TestUser) -> reqwest::Client {
    let b = browser();
    let resp = sign_in(app, &b, &app.url("/login"), &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    b
}

fn passkey_row(id: &str, user_id: &str, name: &str, now: i64) -> PasskeyRow {
    PasskeyRow {
        id: id.into(),
        user_id: user_id.into(),
        credential_id: format!("cred-{id}"),
        name: name.into(),
        credential: "{}".into(),
        created_at: now,
        last_used_at: None,
    }
}

async fn the_page_needs_a_signed_in_browser(backend: Backend) {
    let app = passkey_app(backend).await;
    let b = browser();
    let resp = b.get(app.url("/account/passkeys")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/login?next=/account/passkeys");

    // The JSON endpoint answers in JSON: the token is right, but nobody is signed in.
    let token = csrf(&app, &b, "/login", "#passkey-form").await;
    let (status, body) = options(
        &app,
        &b,
        "/account/passkeys/register/options",
        Some(&token),
        json!({"name": "Laptop"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("login_required"))
    );
}

async fn an_ip_issuer_offers_no_passkeys(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.address.starts_with("http://127.0.0.1:"));
    let b = browser();
    let (status, _, html) = get(&b, &app.url("/login")).await;
    assert_eq!(status, 200);
    assert!(!html.contains("passkey-form"), "{html}");
    assert!(!html.contains("passkey.js"), "{html}");
    let token = csrf(&app, &b, "/login", "#login-form").await;
    let (status, body) = options(&app, &b, "/login/passkey/options", Some(&token), json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("passkeys_unavailable"))
    );
    let (status, _, _) = get(&b, &app.url("/account/passkeys")).await;
    assert_eq!(status, 404);
}

async fn registration_options_ask_for_a_verified_discoverable_passkey(backend: Backend) {
    let app = passkey_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let b = signed_in(&app, &user).await;
    let token = csrf(&app, &b, "/account/passkeys", "#passkey-add-form").await;
    let path = "/account/passkeys/register/options";

    let (status, body) = options(&app, &b, path, None, json!({"name": "Laptop"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_csrf_token"))
    );
    let (status, body) = options(&app, &b, path, Some(&token), json!({"name": " "})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_name"))
    );

    let (status, body) = options(&app, &b, path, Some(&token), json!({"name": "Laptop"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ceremony"].as_str().map(str::len), Some(43), "{body}");
    let pk = &body["options"]["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost", "{body}");
    assert_eq!(pk["user"]["name"], "ada@example.com", "{body}");
    let selection = &pk["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{body}");
    assert_eq!(selection["requireResidentKey"], true, "{body}");
    assert_eq!(selection["userVerification"], "required", "{body}");
    assert!(pk.get("excludeCredentials").is_none(), "{body}");
    assert_eq!(count(&app, "passkey_ceremonies"), 1);
}

async fn sign_in_ceremonies_are_bound_single_use_and_short_lived(backend: Backend) {
    let app = passkey_app(backend).await;
    let (a, b) = (browser(), browser());
    let token_a = csrf(&app, &a, "/login", "#passkey-form").await;
    let token_b = csrf(&app, &b, "/login", "#passkey-form").await;
    let path = "/login/passkey/options";

    // The options need this browser's token.
    let (status, body) = options(&app, &a, path, Some(&token_b), json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_csrf_token"))
    );
    let (status, body) = options(&app, &a, path, Some(&token_a), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let pk = &body["options"]["publicKey"];
    assert_eq!(pk["rpId"], "localhost", "{body}");
    assert_eq!(pk["userVerification"], "required", "{body}");
    assert_eq!(pk["allowCredentials"], json!([]), "{body}");
    assert!(body["options"].get("mediation").is_none(), "{body}");
    let ceremony = body["ceremony"].as_str().unwrap().to_string();

    let answer = |token: &str| {
        vec![
            ("csrf_token".to_string(), token.to_string()),
            ("ceremony".to_string(), ceremony.clone()),
            ("credential".to_string(), stray_assertion()),
        ]
    };
    let refused = |resp: reqwest::Response, status: u16, says: &'static str| async move {
        assert_eq!(resp.status().as_u16(), status);
        let html = resp.text().await.unwrap();
        let error = text(&html, "#login-error").unwrap_or_default();
        assert!(error.contains(says), "{error}");
    };

    // Another browser can't answer it (and doesn't use it up)…
    let resp = post_form(&b, &app.url("/login/passkey"), &answer(&token_b)).await;
    refused(resp, 400, "started in another browser").await;
    // …its own browser can, once: the stray passkey is unknown here…
    let resp = post_form(&a, &app.url("/login/passkey"), &answer(&token_a)).await;
    refused(resp, 401, "not registered here").await;
    // …and then the ceremony is spent.
    let resp = post_form(&a, &app.url("/login/passkey"), &answer(&token_a)).await;
    refused(resp, 400, "already used").await;
    assert_eq!(count(&app, "passkey_ceremonies"), 0);

    // A ceremony lives five minutes.
    let (_, body) = options(&app, &a, path, Some(&token_a), json!({})).await;
    let late = vec![
        ("csrf_token".to_string(), token_a.clone()),
        (
            "ceremony".to_string(),
            body["ceremony"].as_str().unwrap().into(),
        ),
        ("credential".to_string(), stray_assertion()),
    ];
    app.clock.advance(301);
    let resp = post_form(&a, &app.url("/login/passkey"), &late).await;
    refused(resp, 400, "expired").await;

    // No answer at all, or no CSRF token.
    let mut empty = late.clone();
    empty.retain(|(n, _)| n != "credential");
    let resp = post_form(&a, &app.url("/login/passkey"), &empty).await;
    refused(resp, 400, "did not send a passkey").await;
    let mut forged = late;
    forged.retain(|(n, _)| n != "csrf_token");
    let resp = post_form(&a, &app.url("/login/passkey"), &forged).await;
    assert_eq!(resp.status(), 403);
}

async fn a_registration_from_another_browser_is_refused(backend: Backend) {
    let app = passkey_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let (a, b) = (signed_in(&app, &user).await, signed_in(&app, &user).await);
    let token_a = csrf(&app, &a, "/account/passkeys", "#passkey-add-form").await;
    let token_b = csrf(&app, &b, "/account/passkeys", "#passkey-add-form").await;
    let (status, body) = options(
        &app,
        &a,
        "/account/passkeys/register/options",
        Some(&token_a),
        json!({"name": "Laptop"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let attestation = json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {"attestationObject": "AAAA", "clientDataJSON": "e30"},
    })
    .to_string();
    let form = |token: &str| {
        vec![
            ("csrf_token".to_string(), token.to_string()),
            (
                "ceremony".to_string(),
                body["ceremony"].as_str().unwrap().into(),
            ),
            ("credential".to_string(), attestation.clone()),
        ]
    };
    let register = app.url("/account/passkeys/register");
    let resp = post_form(&b, &register, &form(&token_b)).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    let error = text(&html, "#passkeys-error").unwrap();
    assert!(error.contains("started in another browser"), "{error}");
    // The right browser's answer is checked (and this one is no attestation).
    let resp = post_form(&a, &register, &form(&token_a)).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    let error = text(&html, "#passkeys-error").unwrap();
    assert_eq!(error, "Your passkey could not be verified. Try again.");
    assert_eq!(count(&app, "passkeys"), 0);
}

async fn passkeys_are_removed_by_their_owner_only(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| {
        s.issuer = "http://localhost:0".into();
        use_smtp(s, &smtp);
    })
    .await;
    let ada = app.create_user("ada@example.com", "student").await;
    let bob = app.create_user("bob@example.com", "student").await;
    // Signed in before the passkeys exist (with one, the password alone would not do).
    let b = signed_in(&app, &ada).await;
    let now = app.clock_now();
    {
        let mut conn = app.db.get().unwrap();
        for row in [
            passkey_row("pk-ada-1", &ada.id, "Phone", now),
            passkey_row("pk-ada-2", &ada.id, "Laptop", now + 1),
            passkey_row("pk-bob-1", &bob.id, "Bob's key", now),
        ] {
            assert!(store::insert(&mut conn, &row).unwrap());
        }
    }
    let (status, _, html) = get(&b, &app.url("/account/passkeys")).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&html, ".passkey-name"), ["Phone", "Laptop"]);
    let token = csrf(&app, &b, "/account/passkeys", "#passkey-add-form").await;
    let remove = |id: &str| app.url(&format!("/account/passkeys/{id}/remove"));
    let with_token = vec![("csrf_token".to_string(), token.clone())];

    // Without the form's token, nothing happens.
    let resp = post_form(&b, &remove("pk-ada-1"), &[]).await;
    assert_eq!(resp.status(), 403);
    // Removing a factor needs a recent sign-in with the second factor Ada now has: her
    // password-only session is not enough.
    let resp = post_form(&b, &remove("pk-ada-1"), &with_token).await;
    assert_eq!(resp.status(), 403);
    let html = resp.text().await.unwrap();
    let error = text(&html, "#passkeys-error").unwrap();
    assert!(
        error.contains("second factor in the last 10 minutes"),
        "{error}"
    );
    assert_eq!(
        crate::web::attr(&html, "#passkeys-reauth", "href").as_deref(),
        Some("/login?next=%2Faccount%2Fpasskeys&reauth=1")
    );
    assert_eq!(count(&app, "passkeys"), 3);
    // As if she had signed in with the password and a passkey.
    diesel::sql_query("UPDATE sessions SET amr = 'pwd hwk mfa'")
        .execute(&mut *app.db.get().unwrap())
        .unwrap();

    // Bob's passkey is no passkey of Ada's.
    let resp = post_form(&b, &remove("pk-bob-1"), &with_token).await;
    assert_eq!(resp.status(), 404);
    let html = resp.text().await.unwrap();
    assert!(text(&html, "#passkeys-error")
        .unwrap()
        .contains("does not exist"));
    assert_eq!(count(&app, "passkeys"), 3);

    let resp = post_form(&b, &remove("pk-ada-1"), &with_token).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/account/passkeys?removed=1");
    let (_, _, html) = get(&b, &app.url("/account/passkeys?removed=1")).await;
    assert_eq!(text(&html, "#passkeys-notice").unwrap(), "Passkey removed.");
    assert_eq!(texts(&html, ".passkey-name"), ["Laptop"]);
    // The owner is told by mail (the one warning if it wasn't them).
    let mail = smtp.next().await;
    assert_eq!(mail.to, vec![ada.email.clone()]);
    assert_eq!(mail.subject(), "Your two-step sign-in changed");
    assert!(
        mail.text()
            .starts_with("A passkey (Phone) was removed (your account ada@example.com"),
        "{}",
        mail.text()
    );
    assert_eq!(
        count(
            &app,
            "passkeys WHERE user_id = (SELECT id FROM users WHERE email = 'bob@example.com')"
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            "audit_events WHERE kind = 'passkey_removed' AND outcome = 'success'"
        ),
        1
    );
    // Removed is gone: a second removal finds nothing.
    let resp = post_form(&b, &remove("pk-ada-1"), &with_token).await;
    assert_eq!(resp.status(), 404);
    // Ten minutes on, the sign-in is no longer recent.
    app.clock.advance(601);
    let resp = post_form(&b, &remove("pk-ada-2"), &with_token).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(count(&app, "passkeys"), 2);
}
