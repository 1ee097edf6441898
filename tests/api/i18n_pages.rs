//! The pages reached from a mail or a device in German, chosen by `Accept-Language`: asking for
//! a reset link, choosing a new password, the notices between, and the device page.
use std::time::Duration;

use crate::both_backends;
use crate::device::{device_client, start};
use crate::helpers::{spawn_app_with, Backend, TestApp, PASSWORD};
use crate::smtp::{use_smtp, SmtpServer};
use crate::web::{self, attr, fill, form_fields, get, location, post_form, text, texts};

both_backends!(password_reset_pages_are_german, the_device_page_is_german,);

/// A browser whose every request prefers German.
fn german_browser() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("accept-language", "de-DE,de;q=0.9".parse().unwrap());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn password_reset_pages_are_german(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(backend, |s| use_smtp(s, &smtp)).await;
    let user = app.create_user("passwort@example.com", "student").await;
    let b = german_browser();
    let (status, _, html) = get(&b, &app.url("/password/forgot")).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(text(&html, "h1").as_deref(), Some("Passwort zurücksetzen"));
    assert_eq!(text(&html, "label[for=email]").as_deref(), Some("E-Mail"));
    assert_eq!(
        text(&html, "#forgot-form button").as_deref(),
        Some("Link zum Zurücksetzen senden")
    );
    assert_eq!(
        text(&html, "p.aside a").as_deref(),
        Some("Zurück zur Anmeldung")
    );

    let form = form_fields(&html, "#forgot-form");
    let resp = post_form(&b, &app.url("/password/forgot"), &form).await;
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.unwrap();
    assert_eq!(
        text(&page, "#forgot-form-error").as_deref(),
        Some("Geben Sie die E-Mail-Adresse Ihres Kontos ein.")
    );

    let form = fill(form, &[("email", &user.email)]);
    let resp = post_form(&b, &app.url("/password/forgot"), &form).await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert_eq!(attr(&page, "html", "lang").as_deref(), Some("de"));
    assert_eq!(
        text(&page, "#notice-title").as_deref(),
        Some("Sehen Sie in Ihr Postfach")
    );
    let link = smtp.next().await.link("/password/reset");
    smtp.assert_none_within(Duration::from_millis(200)).await;

    let (status, _, html) = get(&b, &app.local(&link)).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(text(&html, "h1").as_deref(), Some("Neues Passwort wählen"));
    assert_eq!(
        text(&html, "label[for=password]").as_deref(),
        Some("Neues Passwort")
    );
    assert_eq!(
        texts(&html, "#password-rules li")
            .first()
            .map(String::as_str),
        Some("Mindestens 8 Zeichen")
    );
    let form = fill(form_fields(&html, "#reset-form"), &[("password", "kurz")]);
    let resp = post_form(&b, &app.url("/password/reset"), &form).await;
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.unwrap();
    assert_eq!(
        text(&page, "#reset-error").as_deref(),
        Some("Wählen Sie ein Passwort, das jede Regel unten erfüllt.")
    );
    let form = fill(form, &[("password", "Ein-Neues-Passwort-7")]);
    let resp = post_form(&b, &app.url("/password/reset"), &form).await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert_eq!(
        text(&page, "#notice-title").as_deref(),
        Some("Ihr Passwort wurde geändert")
    );
}

async fn the_device_page_is_german(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let user = app.create_user("geraet@example.com", "student").await;
    let client = device_client(&app);
    let started = start(&app, &client.id, "openid read").await;
    let code = started["user_code"].as_str().unwrap();

    let b = german_browser();
    let resp = b.get(app.url("/device")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let login = location(&app, &resp);
    let resp = web::sign_in(&app, &b, &login, &user.email, PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let (status, _, html) = get(&b, &app.url("/device")).await;
    assert_eq!(status, 200, "{html}");
    assert_german_device(&app, &html);
    assert_eq!(
        text(&html, "label[for=user_code]").as_deref(),
        Some("Geben Sie den Code ein, den Ihr Gerät zeigt")
    );

    let form = fill(
        form_fields(&html, "#device-form"),
        &[("user_code", "BCDF-GHJK")],
    );
    let resp = post_form(&b, &app.url("/device"), &form).await;
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.unwrap();
    assert!(
        text(&page, "#device-error")
            .unwrap()
            .starts_with("Dieser Code ist nicht gültig"),
        "{page}"
    );

    let form = fill(form_fields(&page, "#device-form"), &[("user_code", code)]);
    let resp = post_form(&b, &app.url("/device"), &form).await;
    let status = resp.status();
    let page = resp.text().await.unwrap();
    assert_eq!(status, 200, "{page}");
    assert_german_device(&app, &page);
    assert_eq!(
        texts(&page, "ul.scopes li span"),
        [
            "Sie anmelden und wissen, wer Sie sind",
            "Daten in Ihrem Namen lesen"
        ]
    );
    assert_eq!(
        texts(&page, "#device-confirm-form button"),
        ["Ablehnen", "Bestätigen"]
    );
}

fn assert_german_device(_app: &TestApp, html: &str) {
    assert_eq!(attr(html, "html", "lang").as_deref(), Some("de"), "{html}");
    assert_eq!(
        text(html, "title").as_deref(),
        Some("Gerät verbinden · Portcullis")
    );
    assert_eq!(
        text(html, "footer").as_deref(),
        Some("Geschützt durch Portcullis")
    );
}
