//! The sign-in pages' languages: OIDC `ui_locales` (kept with the pending request, so the
//! login and consent pages that follow use it), then `Accept-Language` with its q-values, else
//! English; `<html lang>` says which; error pages follow the request too.
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::web::{self, attr, browser, fill, form_fields, text, texts};

crate::both_backends!(
    ui_locales_carry_german_through_login_and_consent,
    accept_language_and_ui_locales_choose_the_best_supported_language,
    error_pages_are_in_the_requests_language,
    the_second_factor_page_follows_ui_locales,
    the_registration_page_follows_ui_locales,
);

const SCOPES: &str = "openid profile email read";

/// A fresh pending request's login URL (with `extra` parameters), in a fresh browser.
async fn login_url(app: &TestApp, b: &reqwest::Client, extra: &[(&'static str, &str)]) -> String {
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let mut params = TestApp::code_request(&client, &challenge, SCOPES);
    params.extend_from_slice(extra);
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    web::location(app, &resp)
}

/// The login page at `url`, fetched with `Accept-Language` when given.
async fn login_page(b: &reqwest::Client, url: &str, accept_language: Option<&str>) -> String {
    let mut req = b.get(url);
    if let Some(value) = accept_language {
        req = req.header("accept-language", value);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

fn assert_german_login(html: &str) {
    assert_eq!(attr(html, "html", "lang").as_deref(), Some("de"), "{html}");
    assert_eq!(text(html, "h1").as_deref(), Some("Anmelden"));
    assert_eq!(text(html, "label[for=username]").as_deref(), Some("E-Mail"));
    assert_eq!(
        text(html, "label[for=password]").as_deref(),
        Some("Passwort")
    );
    assert_eq!(
        text(html, "#login-form button[type=submit]").as_deref(),
        Some("Anmelden")
    );
    assert_eq!(
        text(html, "p.subtitle").as_deref(),
        Some("weiter zu Example App")
    );
    assert_eq!(
        text(html, "footer").as_deref(),
        Some("Geschützt durch Portcullis")
    );
}

fn assert_english_login(html: &str) {
    assert_eq!(attr(html, "html", "lang").as_deref(), Some("en"), "{html}");
    assert_eq!(text(html, "h1").as_deref(), Some("Sign in"));
    assert_eq!(text(html, "label[for=username]").as_deref(), Some("Email"));
    assert_eq!(
        text(html, "p.subtitle").as_deref(),
        Some("to continue to Example App")
    );
    assert_eq!(
        text(html, "footer").as_deref(),
        Some("Secured by Portcullis")
    );
}

async fn ui_locales_carry_german_through_login_and_consent(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("sprache@example.com", "student").await;
    let b = browser();
    let login = login_url(&app, &b, &[("ui_locales", "de")]).await;
    let html = login_page(&b, &login, None).await;
    assert_german_login(&html);

    // A wrong password: the error is German too.
    let form = fill(
        form_fields(&html, "#login-form"),
        &[("username", &user.email), ("password", "not-the-password")],
    );
    let resp = web::post_form(&b, &app.url("/login"), &form).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#login-error").as_deref(),
        Some("E-Mail-Adresse oder Passwort ist falsch.")
    );

    // Signed in: the consent page is German, scopes included.
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let consent = web::location(&app, &resp);
    let (status, _, html) = web::get(&b, &consent).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(
        text(&html, "h1").as_deref(),
        Some("Example App möchte auf Ihr Konto zugreifen")
    );
    assert_eq!(
        texts(&html, "ul.scopes li span"),
        [
            "Sie anmelden und wissen, wer Sie sind",
            "Ihren Namen sehen",
            "Ihre E-Mail-Adresse sehen und ob sie bestätigt ist",
            "Daten in Ihrem Namen lesen",
        ]
    );
    assert_eq!(
        texts(&html, "#consent-form button"),
        ["Ablehnen", "Erlauben"]
    );
    assert_eq!(
        text(&html, "p.footnote").as_deref(),
        Some("Ihre Entscheidung wird für diese Anwendung gespeichert.")
    );
    // The language does not change the form: Allow still answers the client.
    let resp = web::decide(&app, &b, &consent, "allow").await;
    assert_eq!(resp.status(), 303);
    assert!(web::param(&web::location(&app, &resp), "code").is_some());
}

async fn accept_language_and_ui_locales_choose_the_best_supported_language(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = browser();
    let login = login_url(&app, &b, &[]).await;
    assert_english_login(&login_page(&b, &login, None).await);
    assert_german_login(&login_page(&b, &login, Some("de-DE,de;q=0.9,en;q=0.5")).await);
    assert_german_login(&login_page(&b, &login, Some("en;q=0.3, de-AT;q=0.8")).await);
    assert_english_login(&login_page(&b, &login, Some("fr")).await);
    assert_english_login(&login_page(&b, &login, Some("en-US,en;q=0.9")).await);

    // `ui_locales` names languages in order: the first supported one wins, over the header.
    let b = browser();
    let login = login_url(&app, &b, &[("ui_locales", "fr de")]).await;
    assert_german_login(&login_page(&b, &login, None).await);
    assert_german_login(&login_page(&b, &login, Some("en")).await);
    let b = browser();
    let login = login_url(&app, &b, &[("ui_locales", "fr")]).await;
    assert_english_login(&login_page(&b, &login, None).await);
    assert_german_login(&login_page(&b, &login, Some("de")).await);
}

async fn error_pages_are_in_the_requests_language(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = browser();
    let german = |path: &str| {
        b.get(app.url(path))
            .header("accept-language", "de-DE,de;q=0.9")
            .send()
    };
    let resp = german("/consent").await.unwrap();
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(
        text(&html, "#error-title").as_deref(),
        Some("Diese Anfrage kann nicht abgeschlossen werden")
    );
    assert_eq!(
        text(&html, "#error-message").as_deref(),
        Some("Die Einwilligungsseite braucht eine Anmeldeanfrage.")
    );
    assert_eq!(
        text(&html, "title").as_deref(),
        Some("Diese Anfrage kann nicht abgeschlossen werden · Portcullis")
    );

    let resp = german("/login?request=no-such-request").await.unwrap();
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#error-message").as_deref(),
        Some(
            "Diese Anmeldeanfrage ist abgelaufen oder wurde schon abgeschlossen. Kehren Sie \
             zur Anwendung zurück und beginnen Sie erneut."
        )
    );

    // `ui_locales` in the query counts too; without either, English.
    let resp = b
        .delete(app.url("/login?ui_locales=de"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#error-title").as_deref(),
        Some("Methode nicht erlaubt")
    );
    let resp = b.get(app.url("/consent")).send().await.unwrap();
    let html = resp.text().await.unwrap();
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("en"));
    assert_eq!(
        text(&html, "#error-title").as_deref(),
        Some("This request can't be completed")
    );
}

async fn the_second_factor_page_follows_ui_locales(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("zweiter@example.com", "student").await;
    let secret = crate::mfa::enrol_totp(&app, &user.email).await;
    let b = browser();
    let login = login_url(&app, &b, &[("ui_locales", "de")]).await;
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let mfa = web::location(&app, &resp);
    assert!(mfa.contains("/login/mfa?"), "{mfa}");
    let (status, _, html) = web::get(&b, &mfa).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(
        text(&html, "h1").as_deref(),
        Some("Bestätigung in zwei Schritten")
    );
    assert_eq!(
        text(&html, "label[for=code]").as_deref(),
        Some("Code aus Ihrer Authenticator-App oder ein Wiederherstellungscode")
    );
    assert_eq!(
        text(&html, "#mfa-cancel").as_deref(),
        Some("Als andere Person anmelden")
    );
    let wrong = crate::totp::wrong_code_at(&secret, app.clock_now());
    let resp = crate::mfa::submit_code(&app, &b, &mfa, &wrong).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#mfa-error").as_deref(),
        Some("Dieser Code stimmt nicht. Versuchen Sie es erneut.")
    );
    // The enrolment used this period's code: the next period's is new.
    app.clock.advance(30);
    let right = crate::mfa::code_at(&secret, app.clock_now());
    let resp = crate::mfa::submit_code(&app, &b, &mfa, &right).await;
    assert_eq!(resp.status(), 303);
    let consent = web::location(&app, &resp);
    let (_, _, html) = web::get(&b, &consent).await;
    assert_eq!(
        text(&html, "#consent-form button[value=allow]").as_deref(),
        Some("Erlauben")
    );
}

async fn the_registration_page_follows_ui_locales(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = browser();
    let login = login_url(&app, &b, &[("ui_locales", "de")]).await;
    let register = login.replacen("/login?", "/register?", 1);
    let (status, _, html) = web::get(&b, &register).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(text(&html, "h1").as_deref(), Some("Konto erstellen"));
    assert_eq!(
        text(&html, "label[for=name]").as_deref(),
        Some("Name (optional)")
    );
    let form = fill(
        form_fields(&html, "#register-form"),
        &[
            ("email", "neu@example.com"),
            ("password", "neu@example.com"),
        ],
    );
    let resp = web::post_form(&b, &app.url("/register"), &form).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#register-error").as_deref(),
        Some("Wählen Sie ein Passwort, das jede Regel unten erfüllt.")
    );
    assert_eq!(
        texts(&html, "#password-rules li.broken"),
        [
            "Mindestens ein Großbuchstabe (nicht erfüllt)",
            "Mindestens eine Ziffer (nicht erfüllt)",
            "Nicht Ihre E-Mail-Adresse (nicht erfüllt)",
        ]
    );
}
