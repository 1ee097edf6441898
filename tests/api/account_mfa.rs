//! `/account/mfa` as a browser uses it (reqwest with cookies, forms scraped with their CSRF
//! token): signed-out visitors are sent to sign in; set up an app from the QR code page with a
//! computed code; make recovery codes (shown once); turn the app off.
use crate::both_backends;
use crate::helpers::{spawn_app_with, Backend, PASSWORD};
use crate::totp::{code_at, wrong_code_at};
use crate::web::{
    attr, browser, fill, form_fields, get, location, post_form, sign_in, text, texts,
};

both_backends!(the_page_sets_up_an_app_and_makes_recovery_codes);

async fn the_page_sets_up_an_app_and_makes_recovery_codes(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let user = app.create_user("ada@example.com", "student").await;
    let b = browser();
    let page = app.url("/account/mfa");

    // Signed out: to the login page, which comes back here.
    let resp = b.get(&page).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&app, &resp), app.url("/login?next=/account/mfa"));
    let resp = sign_in(&app, &b, &app.url("/login"), &user.email, PASSWORD).await;
    assert!(
        resp.status().is_success() || resp.status() == 303,
        "{}",
        resp.status()
    );

    let (status, headers, html) = get(&b, &page).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        text(&html, "#totp-status")
            .unwrap()
            .split_whitespace()
            .next(),
        Some("Off")
    );
    assert_eq!(
        text(&html, "#recovery-status").unwrap(),
        "You have no recovery codes. Each one signs you in once when your app is out of reach."
    );

    // A form without this browser's CSRF token is refused.
    let forged = vec![("csrf_token".to_string(), "forged".to_string())];
    let resp = post_form(&b, &app.url("/account/mfa/totp/start"), &forged).await;
    assert_eq!(resp.status(), 403);

    // Set up: the QR code (inline SVG) and the key in text.
    let start = form_fields(&html, "#totp-start-form");
    let resp = post_form(&b, &app.url("/account/mfa/totp/start"), &start).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&app, &resp), app.url("/account/mfa#totp"));
    let (status, _, html) = get(&b, &page).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, ".qr-box svg", "role").as_deref(), Some("img"));
    assert!(attr(&html, ".qr-box svg path", "d").is_some_and(|d| d.len() > 100));
    let secret = text(&html, "#totp-secret").unwrap();
    assert_eq!(secret.len(), 39, "32 characters in groups of 4: {secret}");
    assert_eq!(
        attr(&html, "#confirm-code", "autocomplete").as_deref(),
        Some("one-time-code")
    );
    assert_eq!(
        attr(&html, "label[for=confirm-code]", "for").as_deref(),
        Some("confirm-code")
    );

    // A wrong code: the page again, the error announced and tied to the field.
    let now = app.clock_now();
    let confirm = form_fields(&html, "#totp-confirm-form");
    let wrong = fill(confirm.clone(), &[("code", &wrong_code_at(&secret, now))]);
    let resp = post_form(&b, &app.url("/account/mfa/totp/confirm"), &wrong).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(attr(&html, "#totp-error", "role").as_deref(), Some("alert"));
    assert!(text(&html, "#totp-error")
        .unwrap()
        .starts_with("That code is not right."));
    assert_eq!(
        attr(&html, "#confirm-code", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        attr(&html, "#confirm-code", "aria-describedby").as_deref(),
        Some("totp-error")
    );
    // The right one turns it on.
    let right = fill(confirm, &[("code", &code_at(&secret, now))]);
    let resp = post_form(&b, &app.url("/account/mfa/totp/confirm"), &right).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&app, &resp), app.url("/account/mfa?done=totp_on"));
    let (_, _, html) = get(&b, &location(&app, &resp)).await;
    assert_eq!(
        attr(&html, "#mfa-notice", "role").as_deref(),
        Some("status")
    );
    assert_eq!(
        text(&html, "#totp-status")
            .unwrap()
            .split_whitespace()
            .next(),
        Some("On")
    );
    assert!(html.contains("id=\"totp-disable-form\""));
    assert!(
        !html.contains("<svg class=\"qr\""),
        "the QR code is gone once set up"
    );

    // Recovery codes: ten, shown on the answer only, then counted on the page.
    let make = form_fields(&html, "#recovery-generate-form");
    let resp = post_form(&b, &app.url("/account/mfa/recovery-codes"), &make).await;
    assert_eq!(resp.status(), 200);
    let codes_page = resp.text().await.unwrap();
    let codes = texts(&codes_page, "#recovery-codes li code");
    assert_eq!(codes.len(), 10, "{codes_page}");
    assert!(
        codes.iter().all(|c| c.len() == 11 && &c[5..6] == "-"),
        "{codes:?}"
    );
    assert_eq!(
        attr(&codes_page, "#codes-saved", "href").as_deref(),
        Some("/account/mfa?done=codes")
    );
    let (_, _, html) = get(&b, &app.url("/account/mfa?done=codes")).await;
    assert!(text(&html, "#recovery-status")
        .unwrap()
        .starts_with("You have 10 unused recovery codes."));
    assert!(!html.contains(&codes[0]), "codes are shown once");

    // Turn off: a wrong password is refused on the page, a recovery code works.
    let off = form_fields(&html, "#totp-disable-form");
    let bad = fill(off.clone(), &[("password", "nope-nope-nope")]);
    let resp = post_form(&b, &app.url("/account/mfa/totp/disable"), &bad).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#totp-error").as_deref(),
        Some("That code or password is not right.")
    );
    let with_code = fill(off, &[("code", &codes[3])]);
    let resp = post_form(&b, &app.url("/account/mfa/totp/disable"), &with_code).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&app, &resp), app.url("/account/mfa?done=totp_off"));
    let (_, _, html) = get(&b, &app.url("/account/mfa?done=totp_off")).await;
    assert_eq!(
        text(&html, "#totp-status")
            .unwrap()
            .split_whitespace()
            .next(),
        Some("Off")
    );
    assert!(text(&html, "#recovery-status")
        .unwrap()
        .starts_with("You have 9 unused recovery codes."));

    // Eleven minutes on, setting up an app or making new codes asks to sign in again first.
    app.clock.advance(660);
    for (form, action) in [
        ("#totp-start-form", "/account/mfa/totp/start"),
        ("#recovery-generate-form", "/account/mfa/recovery-codes"),
    ] {
        let (_, _, html) = get(&b, &page).await;
        let fields = form_fields(&html, form);
        let resp = post_form(&b, &app.url(action), &fields).await;
        assert_eq!(resp.status(), 403, "{action}");
        let html = resp.text().await.unwrap();
        assert!(text(&html, "#mfa-reauth")
            .unwrap()
            .starts_with("For your security, this needs a sign-in in the last 10 minutes."));
        assert_eq!(
            attr(&html, "#mfa-reauth-link", "href").as_deref(),
            Some("/login?next=%2Faccount%2Fmfa&reauth=1")
        );
        assert!(!html.contains("id=\"totp-secret\""), "no key was made");
    }
    let resp = sign_in(
        &app,
        &b,
        &app.url("/login?next=%2Faccount%2Fmfa&reauth=1"),
        &user.email,
        PASSWORD,
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&app, &resp), app.url("/account/mfa"));
    let (_, _, html) = get(&b, &page).await;
    let start = form_fields(&html, "#totp-start-form");
    let resp = post_form(&b, &app.url("/account/mfa/totp/start"), &start).await;
    assert_eq!(resp.status(), 303);
}

/// The page in a real browser: the QR code is drawn (inline SVG, allowed by the pages' CSP),
/// the key typed into a computed code turns the app on, recovery codes are shown. Screenshots
/// in target/screenshots/ (desktop and phone widths).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_sets_up_an_app_on_the_account_page() {
    use fantoccini::Locator;

    use crate::browser::{self, screenshot, wait_for};

    let Some(session) = browser::start().await else {
        return;
    };
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let user = app.create_user("ada@example.com", "student").await;
    let b = &session.client;

    b.goto(&app.url("/account/mfa")).await.unwrap();
    browser::submit_login(b, &user.email, &user.password).await;
    // Signed in: the login page says so, or (`next`) the browser is back on the page.
    wait_for(b, "#message-title, #totp-start-form").await;
    b.goto(&app.url("/account/mfa")).await.unwrap();
    let set_up = wait_for(b, "#totp-start-form button").await;
    screenshot(b, "account-mfa-off.png").await;
    set_up.click().await.unwrap();

    let qr = wait_for(b, ".qr-box svg").await;
    assert!(qr.is_displayed().await.unwrap());
    let (_, _, width, height) = qr.rectangle().await.unwrap();
    assert!(
        width >= 150.0 && (width - height).abs() < 1.0,
        "{width}×{height}"
    );
    screenshot(b, "account-mfa-setup.png").await;
    let secret = wait_for(b, "#totp-secret").await.text().await.unwrap();
    let code = code_at(&secret, app.clock_now());
    let field = wait_for(b, "#confirm-code").await;
    field.send_keys(&code).await.unwrap();
    b.find(Locator::Css("#totp-confirm-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = wait_for(b, "#mfa-notice").await.text().await.unwrap();
    assert!(
        notice.starts_with("Your authenticator app is on."),
        "{notice}"
    );

    wait_for(b, "#recovery-generate-form button")
        .await
        .click()
        .await
        .unwrap();
    let codes = wait_for(b, "#recovery-codes").await;
    let shown = codes.find_all(Locator::Css("li")).await.unwrap();
    assert_eq!(shown.len(), 10);
    screenshot(b, "account-recovery-codes.png").await;
    wait_for(b, "#codes-saved").await.click().await.unwrap();
    wait_for(b, "#totp-disable-form").await;
    screenshot(b, "account-mfa-on.png").await;
    b.set_window_size(390, 844).await.unwrap();
    screenshot(b, "account-mfa-on-mobile.png").await;
    session.close().await;
}
