//! The admin console (`/admin`) through its pages, with a browser (reqwest with its own
//! cookies): who may enter (signed in, an administrator's role), CSRF and confirmation on every
//! form, creating a client from a preset, rotating a secret (shown once), disabling a user
//! (their sessions end), the audit log naming the administrator. Headless Chromium:
//! `admin_console_browser.rs`.
use portcullis::oauth::registration::ClientSpec;
use scraper::{Html, Selector};
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app, Backend, TestApp, PASSWORD};
use crate::web::{browser, fill, form_fields, get, location, post_form, text, texts};

both_backends!(
    the_console_needs_a_signed_in_administrator,
    a_client_is_created_from_a_preset_with_its_secret_shown_once,
    a_client_is_edited_and_deleted_with_confirmation,
    rotating_a_secret_shows_the_new_one_once,
    disabling_a_user_ends_their_sessions_and_is_audited,
    users_are_searched_created_and_managed,
    the_audit_log_is_filtered_and_paginated,
    an_admin_with_a_second_factor_needs_it_in_the_session,
);

/// Every console page.
const PAGES: [&str; 6] = [
    "/admin",
    "/admin/clients",
    "/admin/clients/new",
    "/admin/users",
    "/admin/roles",
    "/admin/audit",
];

/// A browser signed in on the login form with `next`; returns it after the 303 to `next`.
pub async fn signed_in_at(app: &TestApp, email: &str, next: &str) -> reqwest::Client {
    let b = browser();
    let (status, _, html) = get(&b, &app.url(&format!("/login?next={next}"))).await;
    assert_eq!(status, 200, "{html}");
    let form = fill(
        form_fields(&html, "#login-form"),
        &[("username", email), ("password", PASSWORD)],
    );
    let resp = post_form(&b, &app.url("/login"), &form).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], next);
    b
}

/// A new administrator, signed in at `/admin`; returns the browser and their user id.
async fn admin(app: &TestApp) -> (reqwest::Client, String) {
    let user = app.create_user("root@example.com", "admin").await;
    (signed_in_at(app, &user.email, "/admin").await, user.id)
}

/// A console page (200, `no-store`).
async fn page(app: &TestApp, b: &reqwest::Client, path: &str) -> String {
    let (status, headers, html) = get(b, &app.url(path)).await;
    assert_eq!(status, 200, "{path}: {html}");
    assert_eq!(headers["cache-control"], "no-store");
    html
}

/// A form's fields as a browser would send them: inputs (checkboxes and radios only when
/// checked), textareas and selects.
pub fn browser_form(html: &str, selector: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    let form = doc
        .select(&Selector::parse(selector).unwrap())
        .next()
        .unwrap_or_else(|| panic!("no {selector}"));
    let mut out = Vec::new();
    for el in form.select(&Selector::parse("input, textarea, select").unwrap()) {
        let v = el.value();
        let Some(name) = v.attr("name") else { continue };
        let value = match v.name() {
            "textarea" => el.text().collect::<String>(),
            "select" => el
                .select(&Selector::parse("option[selected]").unwrap())
                .next()
                .and_then(|o| o.value().attr("value"))
                .unwrap_or("")
                .to_string(),
            _ => {
                let kind = v.attr("type").unwrap_or("text");
                if matches!(kind, "checkbox" | "radio") && v.attr("checked").is_none() {
                    continue;
                }
                v.attr("value").unwrap_or("").to_string()
            }
        };
        out.push((name.to_string(), value));
    }
    out
}

/// Sets `fields` (replacing same-named values; `None` removes the field).
pub fn set(
    mut form: Vec<(String, String)>,
    fields: &[(&str, Option<&str>)],
) -> Vec<(String, String)> {
    for (name, value) in fields {
        form.retain(|(n, _)| n != name);
        if let Some(v) = value {
            form.push((name.to_string(), v.to_string()));
        }
    }
    form
}

/// Posts the form `selector` of the page at `path` with `fields` set.
async fn submit(
    app: &TestApp,
    b: &reqwest::Client,
    path: &str,
    selector: &str,
    fields: &[(&str, Option<&str>)],
) -> reqwest::Response {
    let html = page(app, b, path).await;
    let action = crate::web::attr(&html, selector, "action").unwrap();
    let form = set(browser_form(&html, selector), fields);
    post_form(b, &app.url(&action), &form).await
}

/// Follows a 303 back to a console page; returns its notice.
async fn notice_after(app: &TestApp, b: &reqwest::Client, resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let to = location(app, &resp);
    let (status, _, html) = get(b, &to).await;
    assert_eq!(status, 200, "{html}");
    text(&html, "#admin-notice").expect("a notice")
}

/// The audit events of `kind`, newest first, with their detail parsed.
fn events(app: &TestApp, kind: &str) -> Vec<(Option<String>, Option<String>, Value)> {
    let mut conn = app.db.get().unwrap();
    portcullis::store::audit::list(&mut conn, None, Some(kind), None, 100)
        .unwrap()
        .into_iter()
        .map(|r| {
            let detail = r
                .detail
                .map(|d| serde_json::from_str(&d).unwrap())
                .unwrap_or(Value::Null);
            (r.user_id, r.client_id, detail)
        })
        .collect()
}

async fn the_console_needs_a_signed_in_administrator(backend: Backend) {
    let app = spawn_app(backend).await;
    // Not signed in: every page sends the browser to sign in and come back.
    let b = browser();
    for path in PAGES.iter().chain(&["/admin/audit?kind=login"]) {
        let resp = b.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{path}");
        let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(
            resp.headers()["location"],
            format!("/login?next={next}").as_str()
        );
    }

    // Signed in but no administrator: a 403 page on every page and every form.
    let student = app.create_user("student@example.com", "student").await;
    let b = signed_in_at(&app, &student.email, "/admin").await;
    for path in PAGES.iter().chain(&["/admin/users/x", "/admin/clients/x"]) {
        let (status, headers, html) = get(&b, &app.url(path)).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(text(&html, "#error-title").unwrap(), "Administrators only");
    }
    // A form post with this browser's valid token (from its account page) is refused too.
    let (_, _, account) = get(&b, &app.url("/account")).await;
    let token = form_fields(&account, "#sign-out-form")
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1;
    for action in [
        "/admin/clients/new",
        "/admin/users/new",
        "/admin/users/x/disable",
    ] {
        let form = vec![
            ("csrf_token".to_string(), token.clone()),
            ("confirm".to_string(), "yes".to_string()),
            ("name".to_string(), "sneaky".to_string()),
        ];
        let resp = post_form(&b, &app.url(action), &form).await;
        assert_eq!(resp.status(), 403, "{action}");
        let html = resp.text().await.unwrap();
        assert_eq!(text(&html, "#error-title").unwrap(), "Administrators only");
    }
    assert!(events(&app, "client_created").is_empty());

    // An administrator sees every page; a form without its CSRF token is refused.
    let (b, _) = admin(&app).await;
    for path in PAGES {
        let html = page(&app, &b, path).await;
        assert_eq!(text(&html, "#admin-email").unwrap(), "root@example.com");
    }
    let html = page(&app, &b, "/admin/clients/new?preset=service").await;
    let form = set(
        browser_form(&html, "#client-form"),
        &[("csrf_token", None), ("confirm", Some("yes"))],
    );
    let resp = post_form(&b, &app.url("/admin/clients/new"), &form).await;
    assert_eq!(resp.status(), 403);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#error-title").unwrap(),
        "This form has expired"
    );
    assert!(events(&app, "client_created").is_empty());
}

async fn a_client_is_created_from_a_preset_with_its_secret_shown_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    // Each preset fills the form.
    let html = page(&app, &b, "/admin/clients/new?preset=spa").await;
    let form = browser_form(&html, "#client-form");
    let value = |form: &[(String, String)], k: &str| {
        form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    };
    assert_eq!(value(&form, "kind").as_deref(), Some("public"));
    assert_eq!(
        value(&form, "grant_authorization_code").as_deref(),
        Some("yes")
    );
    assert_eq!(value(&form, "grant_refresh_token").as_deref(), Some("yes"));
    assert_eq!(value(&form, "grant_client_credentials"), None);
    assert_eq!(
        value(&form, "web_origins").as_deref(),
        Some("https://spa.example.com")
    );
    let html = page(&app, &b, "/admin/clients/new?preset=service").await;
    let form = browser_form(&html, "#client-form");
    assert_eq!(value(&form, "kind").as_deref(), Some("confidential"));
    assert_eq!(
        value(&form, "grant_client_credentials").as_deref(),
        Some("yes")
    );
    let (status, _, _) = get(&b, &app.url("/admin/clients/new?preset=nope")).await;
    assert_eq!(status, 400);

    // Not confirmed: nothing happens.
    let unconfirmed = set(form.clone(), &[("name", Some("Billing"))]);
    let resp = post_form(&b, &app.url("/admin/clients/new"), &unconfirmed).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        text(&resp.text().await.unwrap(), "#error-title").unwrap(),
        "Please confirm"
    );
    // Invalid: the errors on the form, the values kept.
    let invalid = set(
        form.clone(),
        &[
            ("name", Some("Billing")),
            ("kind", Some("public")),
            ("confirm", Some("yes")),
        ],
    );
    let resp = post_form(&b, &app.url("/admin/clients/new"), &invalid).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    let errors = texts(&html, "#client-errors li");
    assert_eq!(
        errors,
        ["a public client cannot use client_credentials (it has no secret)"]
    );
    let kept = browser_form(&html, "#client-form");
    assert_eq!(value(&kept, "name").as_deref(), Some("Billing"));
    assert_eq!(value(&kept, "kind").as_deref(), Some("public"));
    assert!(events(&app, "client_created").is_empty());

    // Valid: created, the secret shown once on a no-store page, and it works.
    let valid = set(
        form,
        &[
            ("name", Some("Billing")),
            ("scopes", Some("read write")),
            ("confirm", Some("yes")),
        ],
    );
    let resp = post_form(&b, &app.url("/admin/clients/new"), &valid).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    assert_eq!(text(&html, "#secret-title").unwrap(), "Client created");
    let id = text(&html, "#result-client-id").unwrap();
    let secret = text(&html, "#result-secret").unwrap();
    let client = crate::helpers::TestClient {
        id: id.clone(),
        secret: secret.clone(),
    };
    let resp = app
        .token_basic(
            &client,
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await;
    assert_eq!(resp.status(), 200);
    // Its page never shows the secret again; the list finds it.
    let html = page(&app, &b, &format!("/admin/clients/{id}")).await;
    assert_eq!(text(&html, "#client-name").unwrap(), "Billing");
    assert!(!html.contains(&secret));
    let html = page(&app, &b, "/admin/clients?q=bill").await;
    assert_eq!(texts(&html, ".client-row th"), ["Billing"]);
    let html = page(&app, &b, "/admin/clients?q=nothing-like-it").await;
    assert!(texts(&html, ".client-row th").is_empty());
    let created = events(&app, "client_created");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].1.as_deref(), Some(id.as_str()));
    assert_eq!(created[0].2["actor"], format!("admin:{admin_id}"));
}

async fn a_client_is_edited_and_deleted_with_confirmation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    let client = app.create_client(ClientSpec {
        name: "Portal".into(),
        grant_types: vec!["authorization_code".into()],
        scopes: vec!["openid".into()],
        redirect_uris: vec!["https://portal.example.com/cb".into()],
        exchange_audiences: vec!["https://api.example.com".into()],
        ..ClientSpec::default()
    });
    let path = format!("/admin/clients/{}", client.id);
    let resp = submit(
        &app,
        &b,
        &path,
        "#client-form",
        &[
            ("scopes", Some("openid profile")),
            ("grant_refresh_token", Some("yes")),
            ("confirm", Some("yes")),
        ],
    )
    .await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The client's settings were saved."
    );
    let html = page(&app, &b, &path).await;
    assert_eq!(text(&html, "#client-scopes").unwrap(), "openid profile");
    assert_eq!(
        text(&html, "#client-grants").unwrap(),
        "authorization_code, refresh_token"
    );
    let changed = events(&app, "client_changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].2["actor"], format!("admin:{admin_id}"));
    assert_eq!(
        changed[0].2["changed"],
        serde_json::json!(["grant_types", "scopes"])
    );
    // What the form does not show stays (token exchange).
    let mut conn = app.db.get().unwrap();
    use portcullis::oauth::client::ClientStore;
    let stored = conn.find_client(&client.id).unwrap().unwrap();
    assert_eq!(stored.exchange_audiences, ["https://api.example.com"]);
    drop(conn);
    // The same values again: nothing changes, no event.
    let resp = submit(&app, &b, &path, "#client-form", &[("confirm", Some("yes"))]).await;
    assert_eq!(notice_after(&app, &b, resp).await, "Nothing changed.");
    assert_eq!(events(&app, "client_changed").len(), 1);
    // An invalid redirect URI: 400 on the client's page, the error shown.
    let resp = submit(
        &app,
        &b,
        &path,
        "#client-form",
        &[
            ("redirect_uris", Some("not a uri")),
            ("confirm", Some("yes")),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(!texts(&html, "#client-errors li").is_empty());

    // Delete: not confirmed, then confirmed.
    let resp = submit(&app, &b, &path, "#delete-form", &[]).await;
    assert_eq!(resp.status(), 400);
    let resp = submit(&app, &b, &path, "#delete-form", &[("confirm", Some("yes"))]).await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The client was deleted."
    );
    let (status, _, _) = get(&b, &app.url(&path)).await;
    assert_eq!(status, 404);
    let changed = events(&app, "client_changed");
    assert_eq!(changed[0].2["deleted"], true);
    assert_eq!(changed[0].2["actor"], format!("admin:{admin_id}"));
}

async fn rotating_a_secret_shows_the_new_one_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    let old = app.service_client();
    let path = format!("/admin/clients/{}", old.id);
    let resp = submit(&app, &b, &path, "#rotate-form", &[]).await;
    assert_eq!(resp.status(), 400, "not confirmed");
    let resp = submit(&app, &b, &path, "#rotate-form", &[("confirm", Some("yes"))]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    assert_eq!(text(&html, "#secret-title").unwrap(), "Secret rotated");
    let secret = text(&html, "#result-secret").unwrap();
    assert_ne!(secret, old.secret);
    let form = [("grant_type", "client_credentials")];
    let resp = app.token_basic(&old, &form).await;
    assert_eq!(resp.status(), 401, "the old secret stopped working");
    let new = crate::helpers::TestClient {
        id: old.id.clone(),
        secret: secret.clone(),
    };
    assert_eq!(app.token_basic(&new, &form).await.status(), 200);
    let html = page(&app, &b, &path).await;
    assert!(!html.contains(&secret), "shown once");
    let changed = events(&app, "client_changed");
    assert_eq!(changed[0].2["secret_rotated"], true);
    assert_eq!(changed[0].2["actor"], format!("admin:{admin_id}"));
}

async fn disabling_a_user_ends_their_sessions_and_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    let user = app.create_user("ada@example.com", "student").await;
    let pwd = app.password_client();
    let resp = app.password_grant(&pwd, &user.email, PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let path = format!("/admin/users/{}", user.id);
    let html = page(&app, &b, &path).await;
    assert_eq!(texts(&html, ".session-row").len(), 1);
    assert_eq!(text(&html, "#user-status").unwrap(), "active");

    let resp = submit(&app, &b, &path, "#disable-form", &[]).await;
    assert_eq!(resp.status(), 400, "not confirmed");
    let resp = submit(
        &app,
        &b,
        &path,
        "#disable-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The user was disabled and their sessions ended."
    );
    let html = page(&app, &b, &path).await;
    assert_eq!(text(&html, "#user-status").unwrap(), "disabled");
    assert_eq!(text(&html, "#no-sessions").unwrap(), "No live sessions.");
    let resp = app.refresh(&pwd, refresh).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let changed = events(&app, "user_changed");
    assert_eq!(changed[0].0.as_deref(), Some(user.id.as_str()));
    assert_eq!(changed[0].2["actor"], format!("admin:{admin_id}"));
    assert_eq!(changed[0].2["disabled"], true);
    assert_eq!(changed[0].2["sessions_ended"], 1);

    // Enabled again; an administrator can't disable themselves (no form; a post is refused).
    let resp = submit(&app, &b, &path, "#enable-form", &[("confirm", Some("yes"))]).await;
    assert_eq!(notice_after(&app, &b, resp).await, "The user was enabled.");
    let own = page(&app, &b, &format!("/admin/users/{admin_id}")).await;
    assert!(text(&own, "#disable-form").is_none());
    let token = form_fields(&own, "#unlock-form")[0].1.clone();
    let form = [
        ("csrf_token".to_string(), token),
        ("confirm".to_string(), "yes".to_string()),
    ];
    let resp = post_form(
        &b,
        &app.url(&format!("/admin/users/{admin_id}/disable")),
        &form,
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        text(&resp.text().await.unwrap(), "#error-message").unwrap(),
        "You can't disable your own account."
    );
}

async fn users_are_searched_created_and_managed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    // Create: a refused address keeps the fields; then a valid one.
    let resp = submit(
        &app,
        &b,
        "/admin/users/new",
        "#user-form",
        &[
            ("email", Some("not-an-address")),
            ("name", Some("Grace")),
            ("role", Some("instructor")),
            ("password", Some(PASSWORD)),
            ("confirm", Some("yes")),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(text(&html, "#user-error").is_some());
    let kept = browser_form(&html, "#user-form");
    assert!(kept.contains(&("name".into(), "Grace".into())));
    assert!(kept.contains(&("role".into(), "instructor".into())));
    let resp = submit(
        &app,
        &b,
        "/admin/users/new",
        "#user-form",
        &[
            ("email", Some("grace@example.com")),
            ("name", Some("Grace")),
            ("role", Some("instructor")),
            ("password", Some(PASSWORD)),
            ("confirm", Some("yes")),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let user_page = location(&app, &resp);
    let path = user_page
        .strip_prefix(&app.address)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(notice_after(&app, &b, resp).await, "The user was created.");
    let created = events(&app, "user_created");
    assert_eq!(created[0].2["actor"], format!("admin:{admin_id}"));
    // The new user signs in with that password.
    let pwd = app.password_client();
    assert_eq!(
        app.password_grant(&pwd, "grace@example.com", PASSWORD)
            .await
            .status(),
        200
    );

    // Search (paginated: 20 a page).
    for i in 0..21 {
        app.create_user(&format!("bulk{i:02}@example.com"), "guest")
            .await;
    }
    let html = page(&app, &b, "/admin/users?q=grace").await;
    assert_eq!(texts(&html, ".user-row th"), ["grace@example.com"]);
    let html = page(&app, &b, "/admin/users?q=bulk").await;
    assert_eq!(
        text(&html, "#user-count").unwrap(),
        "21 users, page 1 of 2."
    );
    assert_eq!(texts(&html, ".user-row").len(), 20);
    let next = crate::web::attr(&html, "#page-next", "href").unwrap();
    assert_eq!(next, "/admin/users?q=bulk&page=2");
    let html = page(&app, &b, &next).await;
    assert_eq!(texts(&html, ".user-row th"), ["bulk20@example.com"]);

    // Role, unlock, sessions, API keys, delete.
    let resp = submit(
        &app,
        &b,
        &path,
        "#role-form",
        &[("role", Some("guest")), ("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(notice_after(&app, &b, resp).await, "The role was changed.");
    let html = page(&app, &b, &path).await;
    assert_eq!(text(&html, "#user-role").unwrap(), "guest");
    let resp = submit(&app, &b, &path, "#unlock-form", &[("confirm", Some("yes"))]).await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The account was unlocked."
    );
    let tokens = app.account_login("grace@example.com", PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    let resp = app
        .api
        .post(app.url("/api/keys"))
        .bearer_auth(access)
        .json(&serde_json::json!({ "name": "bot", "scopes": ["read"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let html = page(&app, &b, &path).await;
    // The password grant's session and the account API's.
    assert_eq!(texts(&html, ".session-row").len(), 2);
    assert_eq!(text(&html, "#factor-totp").unwrap(), "off");
    assert_eq!(texts(&html, ".key-row th"), ["bot"]);
    let resp = submit(
        &app,
        &b,
        &path,
        ".revoke-key-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The API key was revoked."
    );
    let revoked = events(&app, "api_key_revoked");
    assert_eq!(revoked.len(), 1);
    let resp = submit(
        &app,
        &b,
        &path,
        ".end-session-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(notice_after(&app, &b, resp).await, "The session was ended.");
    let ended = events(&app, "session_ended");
    assert_eq!(ended[0].2["actor"], format!("admin:{admin_id}"));
    let resp = submit(
        &app,
        &b,
        &path,
        "#delete-user-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(notice_after(&app, &b, resp).await, "The user was deleted.");
    let (status, _, _) = get(&b, &app.url(&path)).await;
    assert_eq!(status, 404);
}

async fn the_audit_log_is_filtered_and_paginated(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    let user = app.create_user("eve@example.com", "student").await;
    let pwd = app.password_client();
    for _ in 0..3 {
        let resp = app
            .password_grant(&pwd, &user.email, "wrong-Password-1")
            .await;
        assert_eq!(resp.status(), 400);
    }
    let html = page(&app, &b, "/admin").await;
    assert_eq!(text(&html, "#count-users").unwrap(), "2");
    assert!(texts(&html, ".event-failed .event-kind")
        .iter()
        .all(|k| k.starts_with("login")));
    assert_eq!(texts(&html, ".event-failed").len(), 3);
    assert_eq!(texts(&html, "#key-table tbody tr").len(), 1);
    assert_eq!(text(&html, "#key-rotation").unwrap(), "every 90 days");
    let due = time::OffsetDateTime::from_unix_timestamp(app.clock_now() + 90 * 86_400).unwrap();
    assert_eq!(
        text(&html, "#key-next-rotation").unwrap(),
        format!("{} {:02}:{:02} UTC", due.date(), due.hour(), due.minute())
    );

    let html = page(
        &app,
        &b,
        "/admin/audit?kind=login&user=eve%40example.com&outcome=failure",
    )
    .await;
    assert_eq!(text(&html, "#event-count").unwrap(), "3 events.");
    assert!(texts(&html, ".event-user").iter().all(|u| *u == user.id));
    let html = page(
        &app,
        &b,
        &format!("/admin/audit?user={admin_id}&kind=login"),
    )
    .await;
    assert_eq!(text(&html, "#event-count").unwrap(), "1 events.");
    let today = time::OffsetDateTime::from_unix_timestamp(app.clock_now())
        .unwrap()
        .date()
        .to_string();
    let html = page(
        &app,
        &b,
        &format!("/admin/audit?since={today}&until={today}&kind=login"),
    )
    .await;
    assert_eq!(text(&html, "#event-count").unwrap(), "4 events.");
    let html = page(&app, &b, "/admin/audit?since=2001-01-01&until=2001-01-02").await;
    assert_eq!(text(&html, "#event-count").unwrap(), "0 events.");
    let (status, _, html) = get(&b, &app.url("/admin/audit?since=yesterday")).await;
    assert_eq!(status, 400);
    assert_eq!(
        text(&html, "#audit-error").unwrap(),
        "From: give a date as YYYY-MM-DD"
    );
    // 25 a page, newest first.
    let mut conn = app.db.get().unwrap();
    for i in 0..27 {
        let event = portcullis::store::audit::NewAuditEvent {
            at: app.clock_now() + i,
            kind: "test_event".into(),
            outcome: "success".into(),
            user_id: None,
            client_id: Some("c1".into()),
            ip: None,
            user_agent: None,
            detail: Some(format!("{{\"n\":{i}}}")),
        };
        portcullis::store::audit::insert(&mut conn, &event).unwrap();
    }
    drop(conn);
    let html = page(&app, &b, "/admin/audit?kind=test_event&client=c1").await;
    assert_eq!(
        text(&html, "#event-count").unwrap(),
        "27 events, page 1 of 2."
    );
    assert_eq!(texts(&html, ".event-detail").first().unwrap(), "{\"n\":26}");
    let next = crate::web::attr(&html, "#page-next", "href").unwrap();
    assert_eq!(next, "/admin/audit?kind=test_event&client=c1&page=2");
    let html = page(&app, &b, &next).await;
    assert_eq!(texts(&html, ".event-detail"), ["{\"n\":1}", "{\"n\":0}"]);
}

async fn an_admin_with_a_second_factor_needs_it_in_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, _) = admin(&app).await;
    page(&app, &b, "/admin/users").await;
    // The administrator sets up an authenticator app: this password-only session no longer
    // opens the console; a sign-in with the code does.
    let secret = crate::mfa::enrol_totp(&app, "root@example.com").await;
    let (status, _, html) = get(&b, &app.url("/admin/users")).await;
    assert_eq!(status, 403);
    assert_eq!(
        text(&html, "#error-title").unwrap(),
        "A second factor is required"
    );
    assert_eq!(
        crate::web::attr(&html, "main a.button", "href").unwrap(),
        "/login?reauth=1&next=%2Fadmin%2Fusers"
    );
    let b = browser();
    let (_, _, html) = get(&b, &app.url("/login?next=/admin/users")).await;
    let form = fill(
        form_fields(&html, "#login-form"),
        &[("username", "root@example.com"), ("password", PASSWORD)],
    );
    let resp = post_form(&b, &app.url("/login"), &form).await;
    assert_eq!(resp.status(), 303);
    let mfa_page = location(&app, &resp);
    let (_, _, html) = get(&b, &mfa_page).await;
    // The next code (the one of the set-up is spent).
    app.clock.advance(30);
    let form = fill(
        form_fields(&html, "#mfa-form"),
        &[("code", &crate::mfa::code_at(&secret, app.clock_now()))],
    );
    let resp = post_form(&b, &app.url("/login/mfa"), &form).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/admin/users");
    page(&app, &b, "/admin/users").await;
}
