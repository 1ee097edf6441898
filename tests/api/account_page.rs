//! `/account` through the real pages: a browser (reqwest with its own cookies) signs in on the
//! login form, reads each section and posts each form (with and without its CSRF token);
//! `/login?next=`; and the page's layout in headless Chromium. Address changes:
//! `account_email.rs`.
use portcullis::oauth::registration::ClientSpec;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, Backend, TestApp, TestClient, PASSWORD};
use crate::web::{attr, browser, fill, form_fields, get, location, post_form, text, texts};

both_backends!(
    the_account_page_needs_a_sign_in_and_next_stays_local,
    each_section_shows_the_users_data,
    the_forms_work_and_are_csrf_protected,
    ending_a_session_kills_its_refresh_token,
    an_api_key_is_shown_once_and_works,
    unlinking_the_last_sign_in_method_is_refused,
);

/// A browser signed in on the login form (`/login?next=/account`), now at `/account`.
pub async fn signed_in(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
    let b = browser();
    let (status, _, html) = get(&b, &app.url("/login?next=/account")).await;
    assert_eq!(status, 200, "{html}");
    let form = fill(
        form_fields(&html, "#login-form"),
        &[("username", email), ("password", password)],
    );
    assert!(
        form.contains(&("next".into(), "/account".into())),
        "{form:?}"
    );
    let resp = post_form(&b, &app.url("/login"), &form).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/account");
    b
}

/// `/account` as this browser sees it (200).
pub async fn page(app: &TestApp, b: &reqwest::Client) -> String {
    let (status, headers, html) = get(b, &app.url("/account")).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(headers["cache-control"], "no-store");
    html
}

/// Posts the form `selector` of the account page with `fields` filled in.
pub async fn submit(
    app: &TestApp,
    b: &reqwest::Client,
    selector: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = page(app, b).await;
    let action = attr(&html, selector, "action").unwrap_or_else(|| panic!("no {selector}"));
    let form = fill(form_fields(&html, selector), fields);
    post_form(b, &app.url(&action), &form).await
}

/// Follows a POST-redirect-GET back to the page; returns the notice shown.
pub async fn notice_after(app: &TestApp, b: &reqwest::Client, resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let to = location(app, &resp);
    let (status, _, html) = get(b, &to).await;
    assert_eq!(status, 200);
    text(&html, "#account-notice").expect("a notice")
}

pub async fn assert_csrf_refused(app: &TestApp, b: &reqwest::Client, selector: &str) {
    let html = page(app, b).await;
    let action = attr(&html, selector, "action").unwrap();
    let form: Vec<_> = form_fields(&html, selector)
        .into_iter()
        .filter(|(k, _)| k != "csrf_token")
        .collect();
    let resp = post_form(b, &app.url(&action), &form).await;
    assert_eq!(resp.status(), 403, "{selector}");
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#error-title").unwrap(),
        "This form has expired",
        "{selector}"
    );
}

async fn the_account_page_needs_a_sign_in_and_next_stays_local(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("next@example.com", "student").await;
    let b = browser();
    let resp = b.get(app.url("/account")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/login?next=%2Faccount");
    let resp = b
        .post(app.url("/account/name"))
        .form(&[("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "a form post without a token");

    // Elsewhere is never where a sign-in goes.
    for evil in [
        "https://evil.example/account",
        "//evil.example/account",
        "/account//evil.example",
        "/accountant",
        "/\\evil.example",
    ] {
        let b = browser();
        let (_, _, html) = get(&b, &app.url("/login")).await;
        let form = fill(
            form_fields(&html, "#login-form"),
            &[
                ("username", &user.email),
                ("password", PASSWORD),
                ("next", evil),
            ],
        );
        let resp = post_form(&b, &app.url("/login"), &form).await;
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()["location"], "/login", "{evil}");
        let mut url = url::Url::parse(&app.url("/login")).unwrap();
        url.query_pairs_mut().append_pair("next", evil);
        let (status, _, html) = get(&b, url.as_str()).await;
        assert_eq!(status, 200, "{evil}");
        assert_eq!(text(&html, "#message-title").unwrap(), "You're signed in");
    }
    // A local account path is honoured, on sign-in and when already signed in.
    let b = signed_in(&app, &user.email, PASSWORD).await;
    let resp = b
        .get(app.url("/login?next=/account/mfa"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/account/mfa");
    page(&app, &b).await;
}

async fn each_section_shows_the_users_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let b = signed_in(&app, &user.email, PASSWORD).await;
    // A second session, through the account API, with a key.
    let tokens = app.account_login(&user.email, PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    let resp = app
        .api
        .post(app.url("/api/keys"))
        .bearer_auth(access)
        .json(&json!({ "name": "deploy bot", "scopes": ["read"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let key: Value = resp.json().await.unwrap();

    let html = page(&app, &b).await;
    assert_eq!(text(&html, "#account-email").unwrap(), "ada@example.com");
    assert_eq!(attr(&html, "#name", "value").unwrap(), "Test User");
    assert_eq!(text(&html, "#current-email").unwrap(), "ada@example.com");
    assert_eq!(text(&html, "#email-status").unwrap(), "Verified");
    assert_eq!(
        texts(&html, ".session-client"),
        ["This site (browser sign-in)", "Account API"]
    );
    assert_eq!(texts(&html, ".current-session"), ["This session"]);
    assert_eq!(texts(&html, ".session-ip"), ["127.0.0.1", "127.0.0.1"]);
    assert!(html.contains("id=\"end-others-form\""));
    assert_eq!(
        text(&html, "#no-identities").unwrap(),
        "No provider is linked to your account."
    );
    assert_eq!(texts(&html, ".key-name"), ["deploy bot"]);
    assert_eq!(
        texts(&html, ".key-prefix"),
        [format!("pc_{}_…", key["prefix"].as_str().unwrap())]
    );
    assert_eq!(texts(&html, ".key-scopes"), ["read"]);
    assert_eq!(texts(&html, ".key-last-used"), ["never"]);
    let events = texts(&html, ".event-what");
    assert_eq!(
        events,
        [
            "API key created",
            "Application signed in",
            "Signed in",
            "Signed in",
            "Account created"
        ]
    );
    assert_eq!(
        attr(&html, "#mfa-link", "href").unwrap(),
        "/account/mfa",
        "the sub-pages are linked"
    );
    assert_eq!(text(&html, "#passkeys-link").unwrap(), "Passkeys");
    assert_eq!(text(&html, "#mfa-link").unwrap(), "Two-step verification");
    // No secret of the key on the page.
    let secret = key["api_key"].as_str().unwrap();
    assert!(!html.contains(&secret[12..]));
}

async fn the_forms_work_and_are_csrf_protected(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("forms@example.com", "student").await;
    let b = signed_in(&app, &user.email, PASSWORD).await;
    app.account_login(&user.email, PASSWORD).await;
    let html = page(&app, &b).await;
    let other = attr(&html, "form[id^=end-session-]", "id").unwrap();
    let key_form = {
        let resp = submit(&app, &b, "#key-form", &[("name", "temp")]).await;
        assert_eq!(resp.status(), 201);
        let html = resp.text().await.unwrap();
        format!("#{}", attr(&html, "form[id^=revoke-]", "id").unwrap())
    };
    for selector in [
        "#name-form",
        "#password-form",
        &format!("#{other}"),
        "#end-others-form",
        "#key-form",
        &key_form,
    ] {
        assert_csrf_refused(&app, &b, selector).await;
    }

    // Profile.
    let resp = submit(&app, &b, "#name-form", &[("name", "  Ada Lovelace ")]).await;
    assert_eq!(resp.headers()["location"], "/account?done=name#profile");
    assert_eq!(notice_after(&app, &b, resp).await, "Your name was saved.");
    assert_eq!(
        attr(&page(&app, &b).await, "#name", "value").unwrap(),
        "Ada Lovelace"
    );
    let resp = submit(&app, &b, "#name-form", &[("name", "Ada\u{202e}x")]).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#profile-error").unwrap(),
        "Check your name: name must not contain bidi override or isolate characters."
    );
    assert_eq!(attr(&html, "#profile-error", "role").unwrap(), "alert");

    // Password: the current one is checked, then the policy, rule by rule.
    let resp = submit(
        &app,
        &b,
        "#password-form",
        &[
            ("current_password", "wrong"),
            ("new_password", "New-pass-123"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#password-error").unwrap(),
        "The current password is incorrect."
    );
    let resp = submit(
        &app,
        &b,
        "#password-form",
        &[("current_password", PASSWORD), ("new_password", "short")],
    )
    .await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#password-error").unwrap(),
        "Choose a password that meets every rule below."
    );
    assert_eq!(
        texts(&html, "#password-rules li.broken"),
        [
            "At least 8 characters (not met)",
            "At least one upper-case letter (not met)",
            "At least one digit (not met)"
        ]
    );
    let resp = submit(
        &app,
        &b,
        "#password-form",
        &[
            ("current_password", PASSWORD),
            ("new_password", "New-pass-123"),
        ],
    )
    .await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "Your password was changed. Your other sessions were signed out."
    );
    let html = page(&app, &b).await;
    assert_eq!(
        texts(&html, ".session-client").len(),
        1,
        "the API one ended"
    );
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": user.email, "password": "New-pass-123" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the new password works");

    // Sign out; a form of the page posted afterwards leads to the login page.
    let name_form = form_fields(&page(&app, &b).await, "#name-form");
    let resp = submit(&app, &b, "#sign-out-form", &[("confirm", "yes")]).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#message-title").unwrap(),
        "You have signed out"
    );
    let resp = b.get(app.url("/account")).send().await.unwrap();
    assert_eq!(resp.status(), 303, "signed out");
    let resp = post_form(&b, &app.url("/account/name"), &name_form).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/login?next=%2Faccount");
}

async fn ending_a_session_kills_its_refresh_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("sessions@example.com", "student").await;
    let b = signed_in(&app, &user.email, PASSWORD).await;
    let refresh = |token: Value| {
        app.api
            .post(app.url("/api/auth/refresh"))
            .json(&json!({ "refresh_token": token }))
            .send()
    };
    app.clock.advance(60);
    let first = app.account_login(&user.email, PASSWORD).await;
    app.clock.advance(60);
    let second = app.account_login(&user.email, PASSWORD).await;
    let html = page(&app, &b).await;
    let ids: Vec<String> = form_fields(&html, "#session-list")
        .into_iter()
        .filter(|(k, _)| k == "session")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(ids.len(), 2, "two other sessions");
    // Newest first: the second API session, then the first.
    let resp = submit(&app, &b, &format!("#end-session-{}", ids[1]), &[]).await;
    assert_eq!(notice_after(&app, &b, resp).await, "The session was ended.");
    assert_eq!(
        refresh(first["refresh_token"].clone())
            .await
            .unwrap()
            .status(),
        400
    );
    let resp = refresh(second["refresh_token"].clone()).await.unwrap();
    assert_eq!(resp.status(), 200, "the other one lives");
    // Someone else's or an ended session: 404 with the message.
    let form = fill(
        form_fields(&page(&app, &b).await, "#end-others-form"),
        &[("session", &ids[1])],
    );
    let resp = post_form(&b, &app.url("/account/sessions/end"), &form).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        text(&resp.text().await.unwrap(), "#sessions-error").unwrap(),
        "That session has already ended."
    );
    let resp = submit(&app, &b, "#end-others-form", &[]).await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "Your other sessions were ended."
    );
    let html = page(&app, &b).await;
    assert_eq!(
        texts(&html, ".session-client"),
        ["This site (browser sign-in)"]
    );
    assert_eq!(texts(&html, ".event-what")[0], "Session ended");
}

async fn an_api_key_is_shown_once_and_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("keys@example.com", "student").await;
    let rs: TestClient = app.create_client(ClientSpec {
        name: "orders api".into(),
        grant_types: vec!["client_credentials".into()],
        can_introspect: true,
        ..ClientSpec::default()
    });
    let introspect = |key: String| {
        let (api, url, rs_id, rs_secret) = (
            app.api.clone(),
            app.url("/introspect"),
            rs.id.clone(),
            rs.secret.clone(),
        );
        async move {
            let resp = api
                .post(url)
                .basic_auth(rs_id, Some(rs_secret))
                .form(&[("token", key)])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            resp.json::<Value>().await.unwrap()
        }
    };
    let b = signed_in(&app, &user.email, PASSWORD).await;
    let resp = submit(
        &app,
        &b,
        "#key-form",
        &[("name", ""), ("expires_in_days", "")],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        text(&resp.text().await.unwrap(), "#keys-error").unwrap(),
        "Check the key: name must be 1 to 100 characters."
    );
    let resp = submit(
        &app,
        &b,
        "#key-form",
        &[("name", "ci"), ("expires_in_days", "30")],
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#account-notice").unwrap(),
        "API key “ci” created. Copy it now: it won't be shown again."
    );
    let key = text(&html, "#new-api-key-value").unwrap();
    assert!(key.starts_with("pc_") && key.len() > 20, "{key}");
    let seen = introspect(key.clone()).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["sub"], user.id.as_str());
    assert_eq!(seen["exp"], app.clock_now() + 30 * 86_400);
    // Never shown again.
    let html = page(&app, &b).await;
    assert!(!html.contains(&key), "shown once");
    assert_eq!(text(&html, "#new-api-key"), None);
    assert_eq!(texts(&html, ".key-name"), ["ci"]);
    let resp = submit(&app, &b, "form[id^=revoke-]", &[]).await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The API key was revoked."
    );
    assert_eq!(introspect(key).await, json!({ "active": false }));
    assert_eq!(
        text(&page(&app, &b).await, "#no-keys").unwrap(),
        "You have no API keys."
    );
}

async fn unlinking_the_last_sign_in_method_is_refused(backend: Backend) {
    use diesel::prelude::*;
    use portcullis::store::federation::{insert_identity, IdentityRow};
    use portcullis::store::schema::users;
    let app = spawn_app(backend).await;
    let user = app.create_user("fed-only@example.com", "student").await;
    let b = signed_in(&app, &user.email, PASSWORD).await;
    {
        // Now an account of an upstream provider alone (as federated sign-up makes them).
        let mut conn = app.db.get().unwrap();
        let row = IdentityRow {
            id: "ident-1".into(),
            provider: "acme".into(),
            issuer: "https://idp.example".into(),
            subject: "u-1".into(),
            user_id: user.id.clone(),
            email: Some(user.email.clone()),
            created_at: app.clock_now(),
            last_used_at: None,
        };
        assert!(insert_identity(&mut conn, &row).unwrap());
        diesel::update(users::table.find(&user.id))
            .set(users::password_hash.eq(None::<String>))
            .execute(&mut *conn)
            .unwrap();
    }
    let html = page(&app, &b).await;
    assert_eq!(texts(&html, ".identity-provider"), ["acme"]);
    assert_eq!(texts(&html, ".identity-email"), ["fed-only@example.com"]);
    assert_eq!(
        text(&html, "#password-none").unwrap(),
        "Your account has no password yet: you sign in with a linked provider. You can set one."
    );
    let resp = submit(&app, &b, "#unlink-ident-1", &[]).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(
        text(&resp.text().await.unwrap(), "#providers-error").unwrap(),
        "This is your only way to sign in. Set a password or link another provider first."
    );
    // A first password (no current one; the sign-in is fresh), then unlinking works.
    let resp = submit(
        &app,
        &b,
        "#password-form",
        &[("new_password", "First-pass-1")],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let resp = submit(&app, &b, "#unlink-ident-1", &[]).await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The provider was unlinked."
    );
    let html = page(&app, &b).await;
    assert_eq!(texts(&html, ".identity-provider"), Vec::<String>::new());
    assert_eq!(texts(&html, ".event-what")[0], "Provider unlinked");
}

/// The page fits a phone (375 px) and a desktop: no horizontal scrolling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_fits_phone_and_desktop_widths() {
    let Some(session) = crate::browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.create_user("layout@example.com", "student").await;
    // A second session and a key: every section has content.
    let tokens = app.account_login(&user.email, PASSWORD).await;
    let resp = app
        .api
        .post(app.url("/api/keys"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .json(&json!({ "name": "a-key-with-a-long-unbroken-name-for-narrow-screens" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let browser = &session.client;
    crate::screenshots::sign_in_at_account(browser, &app, &user.email).await;
    for width in [375, 1280] {
        let (inner, scroll) = crate::screenshots::fit_width(browser, width).await;
        assert_eq!(inner, width, "the viewport is {width} px");
        assert!(
            scroll <= inner,
            "{scroll} > {inner} at {width} px: horizontal overflow"
        );
    }
    session.close().await;
}
