//! Themes and the product settings (`[ui]`): a theme directory overrides a page's template, the
//! static files and messages per file or key, falling back to the built-in ones; a broken theme
//! is refused at start and by `config check`, naming the file and line.
use std::path::Path;

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};
use crate::web::{self, attr, browser, text, texts};

crate::both_backends!(
    a_theme_page_is_shown_in_german_with_theme_messages_and_english_fallback,
    theme_static_files_override_the_built_in_ones_per_file,
    product_name_and_secured_by_are_settings,
    mails_carry_the_product_name,
    a_theme_template_failing_at_run_time_falls_back_to_the_built_in_page,
);

const THEME_CSS: &str = "/* acme */\nbody { color: #123456; }\n";
const THEME_LOGO: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>"#;

/// The login page as a theme writes it: the theme's markup around the same form.
const LOGIN: &str = r#"{% extends "base.html" %}
{% block title %}{{ t("login-title") }}{% endblock %}
{% block content %}
  <div class="acme-login">
    <p id="acme-greeting">{{ t("acme-greeting", name=product_name) }}</p>
    <p id="acme-english">{{ t("acme-only-english") }}</p>
    <h1>{{ t("login-title") }}</h1>
    {% if client_name %}<p class="subtitle">{{ t("continue-to") }} <strong>{{ client_name }}</strong></p>{% endif %}
    <form id="login-form" method="post" action="/login">
      <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
      {% if request %}<input type="hidden" name="request" value="{{ request }}">{% endif %}
      {% if error %}<div id="login-error" role="alert">{{ error }}</div>{% endif %}
      <label for="username">{{ t("field-email") }}</label>
      <input id="username" name="username" type="email" value="{{ username }}">
      <label for="password">{{ t("field-password") }}</label>
      <input id="password" name="password" type="password">
      <button type="submit">{{ t("sign-in") }}</button>
    </form>
  </div>
{% endblock %}
"#;

/// A theme overriding login.html, the CSS and the logo, with messages in English and German
/// (German lacks one), and files that must not be served.
pub(crate) fn write_theme(dir: &Path) {
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("templates/login.html", LOGIN);
    write("static/portcullis.css", THEME_CSS);
    write("static/logo.svg", THEME_LOGO);
    write("static/.secret.css", "secret");
    write("static/notes.md", "not served");
    write(
        "locales/en/main.ftl",
        "acme-greeting = Welcome to { $name }\nacme-only-english = Only in English\n",
    );
    write(
        "locales/de/main.ftl",
        "acme-greeting = Willkommen bei { $name }\nscope-read = Ihre Acme-Berichte lesen\n",
    );
}

async fn themed_app(backend: Backend, dir: &Path) -> TestApp {
    write_theme(dir);
    let dir = dir.to_path_buf();
    spawn_app_with(backend, move |s| {
        s.ui.theme_dir = Some(dir);
        s.ui.product_name = "Acme ID".into();
    })
    .await
}

/// A fresh pending request's login URL with `ui_locales`.
async fn login_url(app: &TestApp, b: &reqwest::Client, ui_locales: &str) -> String {
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let mut params = TestApp::code_request(&client, &challenge, "openid profile email read");
    params.push(("ui_locales", ui_locales));
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    web::location(app, &resp)
}

async fn a_theme_page_is_shown_in_german_with_theme_messages_and_english_fallback(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let app = themed_app(backend, dir.path()).await;
    let user = app.create_user("thema@example.com", "student").await;
    let b = browser();
    let login = login_url(&app, &b, "de").await;
    let resp = b.get(&login).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.contains_key("content-security-policy"));
    let html = resp.text().await.unwrap();
    // The theme's markup, the German text, the product's name and the theme's logo.
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"), "{html}");
    assert_eq!(texts(&html, "div.acme-login h1"), ["Anmelden"]);
    assert_eq!(
        text(&html, "#acme-greeting").as_deref(),
        Some("Willkommen bei Acme ID")
    );
    assert_eq!(
        text(&html, "label[for=username]").as_deref(),
        Some("E-Mail")
    );
    assert_eq!(
        text(&html, "p.subtitle").as_deref(),
        Some("weiter zu Example App")
    );
    // A message the theme's German catalog lacks: the theme's English one.
    assert_eq!(
        text(&html, "#acme-english").as_deref(),
        Some("Only in English")
    );
    assert_eq!(text(&html, "title").as_deref(), Some("Anmelden · Acme ID"));
    assert_eq!(text(&html, ".wordmark-text").as_deref(), Some("Acme ID"));
    assert_eq!(
        attr(&html, "img.wordmark-logo", "src").as_deref(),
        Some("/static/logo.svg")
    );
    assert_eq!(
        text(&html, "footer").as_deref(),
        Some("Geschützt durch Portcullis")
    );

    // The theme's form signs in; the consent page (not in the theme) is the built-in one, with
    // the product name, the logo, and the theme's German description of a scope.
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let consent = web::location(&app, &resp);
    let (status, _, html) = web::get(&b, &consent).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(
        text(&html, "title").as_deref(),
        Some("Zugriff erlauben? · Acme ID")
    );
    assert_eq!(
        attr(&html, "img.wordmark-logo", "src").as_deref(),
        Some("/static/logo.svg")
    );
    assert_eq!(
        texts(&html, "ul.scopes li span"),
        [
            "Sie anmelden und wissen, wer Sie sind",
            "Ihren Namen sehen",
            "Ihre E-Mail-Adresse sehen und ob sie bestätigt ist",
            "Ihre Acme-Berichte lesen",
        ]
    );

    // In English the theme's page is English, its messages too.
    let b = browser();
    let login = login_url(&app, &b, "en").await;
    let (status, _, html) = web::get(&b, &login).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("en"));
    assert_eq!(
        text(&html, "#acme-greeting").as_deref(),
        Some("Welcome to Acme ID")
    );
    assert_eq!(text(&html, "title").as_deref(), Some("Sign in · Acme ID"));
}

async fn get_raw(app: &TestApp, path: &str) -> (u16, Option<String>, Option<String>, Vec<u8>) {
    let resp = reqwest::get(app.url(path)).await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    let status = resp.status().as_u16();
    (
        status,
        content_type,
        cache,
        resp.bytes().await.unwrap().to_vec(),
    )
}

async fn theme_static_files_override_the_built_in_ones_per_file(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let app = themed_app(backend, dir.path()).await;
    let cache = Some("public, max-age=3600".to_string());
    assert_eq!(
        get_raw(&app, "/static/portcullis.css").await,
        (
            200,
            Some("text/css; charset=utf-8".into()),
            cache.clone(),
            THEME_CSS.as_bytes().to_vec()
        )
    );
    assert_eq!(
        get_raw(&app, "/static/logo.svg").await,
        (
            200,
            Some("image/svg+xml".into()),
            cache.clone(),
            THEME_LOGO.as_bytes().to_vec()
        )
    );
    // Not in the theme: the built-in file.
    assert_eq!(
        get_raw(&app, "/static/form_post.js").await,
        (
            200,
            Some("text/javascript; charset=utf-8".into()),
            cache.clone(),
            include_bytes!("../../static/form_post.js").to_vec()
        )
    );
    // The built-in stylesheet stays reachable for a theme's to import.
    assert_eq!(
        get_raw(&app, "/static/portcullis-base.css").await,
        (
            200,
            Some("text/css; charset=utf-8".into()),
            cache.clone(),
            include_bytes!("../../static/portcullis.css").to_vec()
        )
    );
    // Dotfiles, unknown types, other directories and traversal: 404.
    for path in [
        "/static/.secret.css",
        "/static/notes.md",
        "/static/missing.css",
        "/static/..%2Ftemplates%2Flogin.html",
        "/static/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/static/..%5C..%5CCargo.toml",
    ] {
        let (status, content_type, _, _) = get_raw(&app, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
    }
    assert_eq!(
        raw_status(&app, "/static/../templates/login.html").await,
        404
    );
    assert_eq!(raw_status(&app, "/static/../../Cargo.toml").await, 404);

    // Without a theme: the built-in stylesheet, no logo, the inline wordmark icon.
    let plain = spawn_app(backend).await;
    let (status, _, _, body) = get_raw(&plain, "/static/portcullis.css").await;
    assert_eq!(status, 200);
    assert_eq!(body, include_bytes!("../../static/portcullis.css").to_vec());
    assert_eq!(get_raw(&plain, "/static/logo.svg").await.0, 404);
    let (status, _, html) = web::get(&browser(), &plain.url("/login")).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, "img.wordmark-logo", "src"), None);
    assert_eq!(texts(&html, "svg.wordmark-icon").len(), 1);
}

/// The status of a request sent as written (a client would resolve the `..`).
async fn raw_status(app: &TestApp, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {answer}"))
}

async fn product_name_and_secured_by_are_settings(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.ui.product_name = "Acme ID".into();
        s.ui.secured_by = Some("Run by <Acme> & friends".into());
    })
    .await;
    for accept in ["en", "de"] {
        let resp = browser()
            .get(app.url("/login"))
            .header("accept-language", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let html = resp.text().await.unwrap();
        assert_eq!(text(&html, ".wordmark-text").as_deref(), Some("Acme ID"));
        // The operator's line in every language, as text.
        assert_eq!(
            text(&html, "footer").as_deref(),
            Some("Run by <Acme> & friends")
        );
        assert!(
            html.contains("Run by &#60;Acme&#62; &#38; friends"),
            "{html}"
        );
    }
    let (_, _, html) = web::get(&browser(), &app.url("/login")).await;
    assert_eq!(text(&html, "title").as_deref(), Some("Sign in · Acme ID"));

    // An empty line: no footer.
    let quiet = spawn_app_with(backend, |s| s.ui.secured_by = Some(" ".into())).await;
    let (status, _, html) = web::get(&browser(), &quiet.url("/login")).await;
    assert_eq!(status, 200);
    assert_eq!(text(&html, "footer"), None);
    assert_eq!(
        text(&html, "title").as_deref(),
        Some("Sign in · Portcullis")
    );
}

/// A theme whose `file` (under the theme directory) holds `text`.
pub(crate) fn theme_with(file: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    dir
}

async fn mails_carry_the_product_name(backend: Backend) {
    let smtp = crate::smtp::SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| {
        crate::smtp::use_smtp(s, &smtp);
        s.ui.product_name = "Acme ID".into();
    })
    .await;
    app.create_user("ada@example.com", "student").await;
    let b = browser();
    let (status, _, html) = web::get(&b, &app.url("/password/forgot")).await;
    assert_eq!(status, 200, "{html}");
    let form = web::fill(
        web::form_fields(&html, "#forgot-form"),
        &[("email", "ada@example.com")],
    );
    let resp = web::post_form(&b, &app.url("/password/forgot"), &form).await;
    assert_eq!(resp.status(), 200);
    let mail = smtp.next().await;
    let html = mail.part("text/html");
    assert!(
        html.contains(">Acme ID</p>") && !html.contains("Portcullis"),
        "{html}"
    );
}

async fn a_theme_template_failing_at_run_time_falls_back_to_the_built_in_page(backend: Backend) {
    // Renders with the sample data at load (no error then), fails once there is an error to add
    // a number to.
    let theme = theme_with(
        "templates/login.html",
        r#"{% extends "base.html" %}{% block content %}<p id="themed">themed</p>
<form id="login-form" method="post" action="/login"><input type="hidden" name="csrf_token" value="{{ csrf_token }}">
{% if error %}{{ error + 1 }}{% endif %}</form>{% endblock %}"#,
    );
    let dir = theme.path().to_path_buf();
    let app = spawn_app_with(backend, move |s| s.ui.theme_dir = Some(dir)).await;
    let b = browser();
    let (status, _, html) = web::get(&b, &app.url("/login")).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(text(&html, "#themed").as_deref(), Some("themed"));
    let form = web::fill(
        web::form_fields(&html, "#login-form"),
        &[
            ("username", "nobody@example.com"),
            ("password", "wrong-password"),
        ],
    );
    let resp = web::post_form(&b, &app.url("/login"), &form).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(text(&html, "#themed"), None);
    assert_eq!(
        text(&html, "#login-error").as_deref(),
        Some("The email or password is incorrect.")
    );
}
