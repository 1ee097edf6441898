//! Passkeys in a real browser: headless Chromium with a virtual authenticator (WebDriver's
//! WebAuthn extension, `webauthn_driver.rs`) registers a passkey on `/account/passkeys`, signs
//! out, and signs in with the passkey alone through `/authorize` → code → tokens.
//!
//! WebAuthn needs a domain as relying-party id (browsers refuse an IP address), so the server's
//! issuer is `http://localhost:<port>`. Without Chromium the test is skipped, except in CI.
use fantoccini::Locator;
use serde_json::Value;

use crate::browser::{self, screenshot, wait_for, wait_for_url};
use crate::browser_e2e::example_app;
use crate::helpers::{spawn_app_with, verify_with_jwks, Backend, TestApp, TestClient, TestUser};
use crate::web::{param, pkce};
use crate::webauthn_driver;

/// A server whose issuer is `http://localhost:<port>` (a WebAuthn relying party).
pub async fn passkey_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.issuer = "http://localhost:0".into()).await
}

/// The text of the element matching `selector`.
async fn text_of(browser: &fantoccini::Client, selector: &str) -> String {
    wait_for(browser, selector).await.text().await.unwrap()
}

async fn registers_a_passkey_and_signs_in_with_it_alone(backend: Backend) {
    let Some(session) = browser::start().await else {
        return;
    };
    let app = passkey_app(backend).await;
    assert!(
        app.address.starts_with("http://localhost:"),
        "{}",
        app.address
    );
    let user = app.create_user("ada@example.com", "student").await;
    let callback = example_app().await;
    let client = app.code_client_with(|spec| spec.redirect_uris = vec![callback.clone()]);
    let browser = &session.client;
    let authenticator = webauthn_driver::add_authenticator(browser).await;

    // Signed in with the password, the account's passkeys page: none yet. Add one, named.
    sign_in_with_password(browser, &app, &user).await;
    browser.goto(&app.url("/account/passkeys")).await.unwrap();
    wait_for(browser, "#no-passkeys").await;
    add_passkey(browser, &app, "Test laptop").await;
    assert_eq!(
        text_of(browser, "#passkeys-notice").await,
        "Passkey added. You can now sign in with it."
    );
    assert_eq!(text_of(browser, ".passkey-name").await, "Test laptop");
    // Creating it proved a second factor in this sign-in.
    assert_eq!(
        crate::purge::count(&app, "sessions WHERE amr = 'pwd hwk mfa'"),
        1
    );
    assert!(text_of(browser, ".passkey-meta")
        .await
        .ends_with("never used"));
    screenshot(browser, "account-passkeys.png").await;
    browser.set_window_size(390, 844).await.unwrap();
    screenshot(browser, "account-passkeys-mobile.png").await;
    browser.set_window_size(1280, 900).await.unwrap();

    // A discoverable credential for our RP id, held by the authenticator.
    let held = webauthn_driver::credentials(browser, &authenticator).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["isResidentCredential"], true, "{held:?}");
    assert_eq!(held[0]["rpId"], "localhost", "{held:?}");

    // Signed out, an application sends the browser to /authorize: the passkey alone signs in.
    browser.delete_all_cookies().await.unwrap();
    let verifier = start_authorization(browser, &app, &client, &callback).await;
    let button = wait_for(browser, "#passkey-button").await;
    assert!(button.is_displayed().await.unwrap());
    assert_eq!(button.text().await.unwrap(), "Sign in with a passkey");
    screenshot(browser, "login-passkey.png").await;
    button.click().await.unwrap();

    let claims = consent_and_redeem(browser, &app, &client, &callback, &verifier).await;
    assert_eq!(claims["sub"], user.id.as_str(), "{claims}");
    let amr = amr(&claims);
    assert!(amr.contains(&"hwk".to_string()), "{claims}");
    assert!(!amr.contains(&"pwd".to_string()), "{claims}");

    // The page now says when the passkey was last used.
    browser.goto(&app.url("/account/passkeys")).await.unwrap();
    let meta = text_of(browser, ".passkey-meta").await;
    assert!(meta.contains("last used"), "{meta}");
    session.close().await;
}

/// Sends the browser to `/authorize` (code flow, PKCE) for `client`; returns the verifier.
async fn start_authorization(
    browser: &fantoccini::Client,
    app: &TestApp,
    client: &TestClient,
    callback: &str,
) -> String {
    let (verifier, challenge) = pkce();
    browser
        .goto(&app.authorize_url(&[
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", callback),
            ("scope", "openid profile email"),
            ("state", "st-passkey"),
            ("nonce", "n-passkey"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]))
        .await
        .unwrap();
    verifier
}

/// Allows on the consent page, takes the code back at the client and redeems it; returns the
/// id_token's claims (verified).
async fn consent_and_redeem(
    browser: &fantoccini::Client,
    app: &TestApp,
    client: &TestClient,
    callback: &str,
    verifier: &str,
) -> Value {
    wait_for(browser, "#consent-form").await;
    browser
        .find(Locator::Css("button[name=decision][value=allow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let back = wait_for_url(browser, callback).await;
    assert_eq!(
        param(&back, "state").as_deref(),
        Some("st-passkey"),
        "{back}"
    );
    let code = param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let resp = app
        .token_basic(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", callback),
                ("code_verifier", verifier),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    verify_with_jwks(id_token, &app.jwks().await, &app.address, &client.id).1
}

/// The id_token's `amr`.
fn amr(claims: &Value) -> Vec<String> {
    claims["amr"]
        .as_array()
        .unwrap_or_else(|| panic!("no amr in {claims}"))
        .iter()
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect()
}

/// Signs in on the login page with the password (no pending request).
async fn sign_in_with_password(browser: &fantoccini::Client, app: &TestApp, user: &TestUser) {
    browser.goto(&app.url("/login")).await.unwrap();
    browser::submit_login(browser, &user.email, &user.password).await;
    wait_for(browser, "#sign-out-form").await;
}

/// Adds a passkey named `name` on `/account/passkeys` (signed in).
async fn add_passkey(browser: &fantoccini::Client, app: &TestApp, name: &str) {
    browser.goto(&app.url("/account/passkeys")).await.unwrap();
    let form = wait_for(browser, "#passkey-add-form").await;
    assert!(
        form.is_displayed().await.unwrap(),
        "the script shows the form"
    );
    form.find(Locator::Css("#passkey-name"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    browser
        .find(Locator::Css("#passkey-add"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(browser, &app.url("/account/passkeys?added=1")).await;
}

async fn a_passkey_is_the_second_factor_after_the_password(backend: Backend) {
    let Some(session) = browser::start().await else {
        return;
    };
    let app = passkey_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let callback = example_app().await;
    let client = app.code_client_with(|spec| spec.redirect_uris = vec![callback.clone()]);
    let browser = &session.client;
    webauthn_driver::add_authenticator(browser).await;
    sign_in_with_password(browser, &app, &user).await;
    add_passkey(browser, &app, "Phone").await;

    // Signed out: the password first, then the passkey (the user has one, so it is asked for).
    browser.delete_all_cookies().await.unwrap();
    let verifier = start_authorization(browser, &app, &client, &callback).await;
    browser::submit_login(browser, &user.email, &user.password).await;
    let button = wait_for(browser, "#passkey-second-factor").await;
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .as_str()
        .starts_with(&app.url("/login/mfa?")));
    assert!(button.is_displayed().await.unwrap());
    assert!(
        browser.find(Locator::Css("#mfa-form")).await.is_err(),
        "no code to type"
    );
    screenshot(browser, "mfa-passkey.png").await;
    button.click().await.unwrap();

    let claims = consent_and_redeem(browser, &app, &client, &callback, &verifier).await;
    assert_eq!(claims["sub"], user.id.as_str(), "{claims}");
    let amr = amr(&claims);
    for method in ["pwd", "hwk", "mfa"] {
        assert!(amr.contains(&method.to_string()), "{claims}");
    }
    assert_eq!(
        crate::purge::count(&app, "audit_events WHERE kind = 'passkey_second_factor'"),
        1
    );
    session.close().await;
}

crate::both_backends!(
    registers_a_passkey_and_signs_in_with_it_alone,
    a_passkey_is_the_second_factor_after_the_password,
);
