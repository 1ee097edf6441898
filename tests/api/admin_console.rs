//! The admin console (`/admin`) through its pages, with a browser (reqwest with its own
//! cookies): who may enter (signed in, an administrator's role), CSRF and confirmation on every
//! form, creating a client from a preset, rotating a secret (shown once), disabling a user
//! (their sessions end), the audit log naming the administrator. The users, audit and
//! second-factor pages: `admin_console_users.rs`; headless Chromium: `admin_console_browser.rs`.
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
pub async fn admin(app: &TestApp) -> (reqwest::Client, String) {
    let user = app.create_user("root@example.com", "admin").await;
    (signed_in_at(app, &user.email, "/admin").await, user.id)
}

/// A console page (200, `no-store`).
pub async fn page(app: &TestApp, b: &reqwest::Client, path: &str) -> String {
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
pub async fn submit(
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
pub async fn notice_after(app: &TestApp, b: &reqwest::Client, resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let to = location(app, &resp);
    let (status, _, html) = get(b, &to).await;
    assert_eq!(status, 200, "{html}");
    text(&html, "#admin-notice").expect("a notice")
}

/// The audit events of `kind`, newest first, with their detail parsed.
pub fn events(app: &TestApp, kind: &str) -> Vec<(Option<String>, Option<String>, Value)> {
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
    let kept = browser_form(&html, "#client-form");
    assert!(kept.contains(&("redirect_uris".into(), "not a uri".into())));
    // A confidential client stays confidential.
    let resp = submit(
        &app,
        &b,
        &path,
        "#client-form",
        &[("kind", Some("public")), ("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        texts(&resp.text().await.unwrap(), "#client-errors li"),
        ["a client can't change between public and confidential; create a new one"]
    );
    assert_eq!(events(&app, "client_changed").len(), 1);

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
