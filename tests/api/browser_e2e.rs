//! A real browser (headless Chromium through chromedriver and fantoccini) walks the HTML pages:
//! authorize → login → consent → the client's redirect URI (a tiny server of the test's own),
//! then the code is exchanged. Also visits the error and registration pages and the login page
//! at phone width. Screenshots of each page go to `target/screenshots/`.
//!
//! Without chromedriver or Chromium the test is skipped, except in CI (`CI` set), where it fails
//! (`browser.rs` holds the driver and session helpers).
use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::browser::{self, screenshot, wait_for, wait_for_url};

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::web::{param, pkce};

/// The client application's redirect URI: answers every request with a small HTML page.
pub async fn example_app() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "<h1>Example App</h1>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/callback")
}

/// `/authorize` for the code flow with PKCE, back to `callback`.
fn authorize_url(
    app: &TestApp,
    client_id: &str,
    callback: &str,
    state: &str,
    challenge: &str,
) -> String {
    app.authorize_url(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", callback),
        ("scope", "openid profile email read"),
        ("state", state),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_consents_and_returns_to_the_client() {
    let Some(session) = browser::start().await else {
        return;
    };
    let started = Instant::now();

    // Federation on, so the login page shows its provider buttons (GitHub is a local fake).
    let github = crate::fakes::github(crate::fakes::GithubBehaviour {
        email: "ada@example.com".into(),
        verified: true,
        token_delay: Duration::ZERO,
        huge_user: false,
    });
    let app = spawn_app_with(Backend::Sqlite, |s| {
        let g = &mut s.federation.github;
        g.client_id = Some("gh-client".into());
        g.client_secret = Some("gh-secret".into());
        g.authorize_url = format!("{github}/login/oauth/authorize");
        g.token_url = format!("{github}/login/oauth/access_token");
        g.api_url = github.clone();
        s.federation.google.client_id = Some("google-client".into());
        s.federation.google.client_secret = Some("google-secret".into());
    })
    .await;
    let user = app.create_user("ada@example.com", "student").await;
    let callback = example_app().await;
    let client = app.code_client_with(|spec| spec.redirect_uris = vec![callback.clone()]);

    let browser = &session.client;

    // authorize → the login page.
    let (verifier, challenge) = pkce();
    let state = "st-browser-1";
    browser
        .goto(&authorize_url(
            &app, &client.id, &callback, state, &challenge,
        ))
        .await
        .unwrap();
    wait_for(browser, "#login-form").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&app.url("/login?")),
        "the login page"
    );
    for provider in ["Continue with Google", "Continue with GitHub"] {
        let button = browser
            .find(Locator::LinkText(provider))
            .await
            .unwrap_or_else(|_| panic!("a {provider:?} button"));
        assert!(button.is_displayed().await.unwrap());
    }
    screenshot(browser, "login.png").await;
    browser::submit_login(browser, &user.email, &user.password).await;

    // The consent page → Allow → the client's redirect URI.
    wait_for(browser, "#consent-form").await;
    let heading = browser
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.contains("Example App"), "{heading}");
    screenshot(browser, "consent.png").await;
    browser
        .find(Locator::Css("button[name=decision][value=allow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let back = wait_for_url(browser, &callback).await;
    wait_for(browser, "h1").await;
    assert_eq!(param(&back, "state").as_deref(), Some(state), "{back}");
    assert_eq!(
        param(&back, "iss").as_deref(),
        Some(app.address.as_str()),
        "{back}"
    );
    let code = param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));

    // The code works.
    let resp = app
        .token_basic(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &callback),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    assert!(tokens["id_token"].as_str().is_some(), "{tokens}");

    // An unknown client: an error page on the server, no redirect.
    let bad = app.url("/authorize?client_id=nope&response_type=code");
    browser.goto(&bad).await.unwrap();
    let title = wait_for(browser, "#error-title").await;
    assert!(title.is_displayed().await.unwrap());
    assert!(!title.text().await.unwrap().is_empty());
    assert!(!browser
        .find(Locator::Css("#error-message"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .is_empty());
    let url = browser.current_url().await.unwrap();
    assert!(
        url.as_str().starts_with(&app.address),
        "redirected to {url}"
    );
    screenshot(browser, "error.png").await;

    // Signed out from here on: registration and the login page are for newcomers.
    browser.delete_all_cookies().await.unwrap();

    // Registration with a weak password (long enough, but no upper-case letter or digit): the
    // two broken rules are marked, as the README's screenshot says.
    browser.goto(&app.url("/register")).await.unwrap();
    let form = wait_for(browser, "#register-form").await;
    form.find(Locator::Css("input[name=email]"))
        .await
        .unwrap()
        .send_keys("grace@example.com")
        .await
        .unwrap();
    form.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("weakpass")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(browser, "#register-error").await;
    let broken = browser
        .find_all(Locator::Css("#password-rules li.broken"))
        .await
        .unwrap();
    let mut marked = Vec::new();
    for rule in &broken {
        marked.push(rule.text().await.unwrap());
    }
    assert_eq!(marked.len(), 2, "{marked:?}");
    screenshot(browser, "register.png").await;

    // The login page at phone width.
    browser.set_window_size(390, 844).await.unwrap();
    let (_, challenge) = pkce();
    browser
        .goto(&authorize_url(
            &app,
            &client.id,
            &callback,
            "st-browser-2",
            &challenge,
        ))
        .await
        .unwrap();
    wait_for(browser, "#login-form").await;
    screenshot(browser, "login-mobile.png").await;

    session.close().await;
    eprintln!("browser test took {:?}", started.elapsed());
}
