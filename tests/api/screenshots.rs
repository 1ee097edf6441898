//! The README's screenshots of the account pages (profile, two-step verification, passkeys), the
//! second step of a sign-in, the password-reset pages and the admin console, at desktop (1280 px) and
//! phone (375 px) width, full page height, written to `docs/screenshots/`. Not part of the
//! normal run (it rewrites files in the repository):
//!
//! ```text
//! cargo test --test api -- --ignored screenshots
//! ```
//!
//! Another page is one more `shoot(browser, &app, "/path", "name")` call, once the browser is
//! where that page needs it to be (signed in, mid-sign-in, …).
use std::path::PathBuf;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::browser::{self, wait_for, wait_for_url};
use crate::helpers::{spawn_app_with, Backend, TestApp, PASSWORD};
use crate::smtp::{use_smtp, SmtpServer};

/// The widths every page is captured at, and the file suffix of each.
pub const WIDTHS: [(u32, &str); 2] = [(1280, "desktop"), (375, "phone")];

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn number(browser: &Client, script: &str) -> u32 {
    let v: Value = browser.execute(script, vec![]).await.unwrap();
    v.as_u64().unwrap_or_else(|| panic!("{script} gave {v}")) as u32
}

/// Resizes the window so the page's viewport is `width` px wide and at least `height` px high
/// (window decorations, if any, are measured and added).
async fn resize(browser: &Client, width: u32, height: u32) {
    browser.set_window_size(width, height).await.unwrap();
    let inner_w = number(browser, "return window.innerWidth").await;
    let inner_h = number(browser, "return window.innerHeight").await;
    let (extra_w, extra_h) = (
        width.saturating_sub(inner_w),
        height.saturating_sub(inner_h),
    );
    if extra_w > 0 || extra_h > 0 {
        browser
            .set_window_size(width + extra_w, height + extra_h)
            .await
            .unwrap();
    }
}

/// Makes the viewport `width` px wide; returns the viewport's width and the document's
/// scrolling width (wider means horizontal overflow).
pub async fn fit_width(browser: &Client, width: u32) -> (u32, u32) {
    resize(browser, width, 900).await;
    let inner = number(browser, "return window.innerWidth").await;
    let scroll = number(browser, "return document.documentElement.scrollWidth").await;
    (inner, scroll)
}

/// Captures the page at `path` as `<name>-desktop.png` and `<name>-phone.png`, each the full
/// height of the page.
pub async fn shoot(browser: &Client, app: &TestApp, path: &str, name: &str) {
    browser.goto(&app.url(path)).await.unwrap();
    wait_for(browser, "main").await;
    for (width, suffix) in WIDTHS {
        resize(browser, width, 900).await;
        let height = number(browser, "return document.documentElement.scrollHeight").await;
        resize(browser, width, height).await;
        let png = browser.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
        let file = out_dir().join(format!("{name}-{suffix}.png"));
        std::fs::write(&file, png).unwrap();
        eprintln!("screenshot: {}", file.display());
    }
}

/// Signs in on the login page with `next=/account` and waits for the account page.
pub async fn sign_in_at_account(browser: &Client, app: &TestApp, email: &str) {
    browser
        .goto(&app.url("/login?next=/account"))
        .await
        .unwrap();
    browser::submit_login(browser, email, PASSWORD).await;
    wait_for_url(browser, &app.url("/account")).await;
    wait_for(browser, "#account-email").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/; run with --ignored screenshots"]
async fn screenshots() {
    let Some(session) = browser::start().await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    // A host name, not an IP address, as issuer: passkeys need one (a WebAuthn RP id).
    let app = spawn_app_with(Backend::Sqlite, |s| {
        use_smtp(s, &smtp);
        s.issuer = "http://localhost:0".into();
    })
    .await;
    let user = app.create_user("ada@example.com", "student").await;
    // Something in every section: a name, an API session, an API key.
    let tokens = app.account_login(&user.email, PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    for (path, body) in [
        ("/api/auth/me", json!({ "name": "Ada Lovelace" })),
        (
            "/api/keys",
            json!({ "name": "deploy bot", "scopes": ["read"] }),
        ),
    ] {
        let req = if path == "/api/keys" {
            app.api.post(app.url(path))
        } else {
            app.api.patch(app.url(path))
        };
        let resp = req.bearer_auth(access).json(&body).send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
    }
    let browser = &session.client;
    sign_in_at_account(browser, &app, &user.email).await;
    shoot(browser, &app, "/account", "account").await;
    shoot(browser, &app, "/account/mfa", "account-mfa").await;
    shoot(browser, &app, "/account/passkeys", "account-passkeys").await;

    // The second step of a sign-in, for a user with an authenticator app.
    let grace = app.create_user("grace@example.com", "student").await;
    enrol_app(&app, &grace.email).await;
    browser.delete_all_cookies().await.unwrap();
    browser.goto(&app.url("/login")).await.unwrap();
    browser::submit_login(browser, &grace.email, PASSWORD).await;
    wait_for(browser, "#mfa-form").await;
    let url = browser.current_url().await.unwrap();
    let prompt = format!("{}?{}", url.path(), url.query().unwrap_or(""));
    shoot(browser, &app, &prompt, "mfa-prompt").await;

    // Signed out: "forgot password", then the page its mailed link opens.
    browser.delete_all_cookies().await.unwrap();
    shoot(browser, &app, "/password/forgot", "forgot-password").await;
    let form = wait_for(browser, "#forgot-form").await;
    form.find(Locator::Css("input[name=email]"))
        .await
        .unwrap()
        .send_keys(&user.email)
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Grace's "authenticator app turned on" notice may come first: the reset mail's link.
    let link = loop {
        let mail = smtp.next().await;
        if mail.text().contains("/password/reset") {
            break mail.link("/password/reset");
        }
    };
    let path = link.strip_prefix(&app.address).unwrap().to_string();
    shoot(browser, &app, &path, "reset-password").await;

    browser.delete_all_cookies().await.unwrap();
    admin_console(browser, &app, &user.id).await;
    session.close().await;
}

/// The admin console's pages (`admin-*.png`), signed in as an administrator, with a few
/// clients, failed sign-ins in the audit log, and `user_id`'s page (sessions, an API key).
async fn admin_console(browser: &Client, app: &TestApp, user_id: &str) {
    let admin = app.create_user("root@example.com", "admin").await;
    let spa = app.create_client(portcullis::oauth::registration::ClientSpec {
        name: "Course portal".into(),
        public: true,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        redirect_uris: vec!["https://portal.example.com/callback".into()],
        web_origins: vec!["https://portal.example.com".into()],
        ..Default::default()
    });
    app.service_client();
    let pwd = app.password_client();
    for _ in 0..2 {
        app.password_grant(&pwd, "ada@example.com", "Wrong-Password-1")
            .await;
    }
    browser.goto(&app.url("/login?next=/admin")).await.unwrap();
    browser::submit_login(browser, &admin.email, PASSWORD).await;
    wait_for_url(browser, &app.url("/admin")).await;
    wait_for(browser, "#count-users").await;
    for (path, name) in [
        ("/admin".to_string(), "admin-dashboard"),
        ("/admin/clients".to_string(), "admin-clients"),
        (
            "/admin/clients/new?preset=spa".to_string(),
            "admin-client-new",
        ),
        (format!("/admin/clients/{}", spa.id), "admin-client"),
        ("/admin/users".to_string(), "admin-users"),
        (format!("/admin/users/{user_id}"), "admin-user"),
        ("/admin/roles".to_string(), "admin-roles"),
        ("/admin/roles/new".to_string(), "admin-role-new"),
        ("/admin/roles/student".to_string(), "admin-role"),
        ("/admin/audit".to_string(), "admin-audit"),
    ] {
        shoot(browser, app, &path, name).await;
        let (inner, scroll) = fit_width(browser, 375).await;
        assert!(
            scroll <= inner,
            "{path} overflows at 375 px: {scroll} > {inner}"
        );
    }
}

/// Sets up an authenticator app for `email` through the account API (a code computed from the
/// secret, as the app would).
async fn enrol_app(app: &TestApp, email: &str) {
    let tokens = app.account_login(email, PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    let resp = app
        .api
        .post(app.url("/api/auth/mfa/totp"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let secret = totp_rs::Secret::try_from_base32(body["secret"].as_str().unwrap()).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let code = totp.generate(app.clock_now() as u64).to_string();
    let resp = app
        .api
        .post(app.url("/api/auth/mfa/totp/confirm"))
        .bearer_auth(access)
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}
