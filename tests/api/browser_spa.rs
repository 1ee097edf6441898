//! A single-page app on another origin signs in with a real browser OIDC library
//! (oidc-client-ts, bundled in `tests/spa/`), in headless Chromium: discovery, the code flow
//! with PKCE through our login and consent pages, `/userinfo`, a refresh, and sign-out through
//! `/logout`, every cross-origin call allowed by CORS. The same app served from an origin no
//! client allows cannot use the token endpoint (the browser blocks the answer).
//!
//! The app is served by the test itself on two loopback ports: the client's origin (from its
//! redirect URI) and a refused one. Without a browser the test is skipped, except in CI.
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::browser::{self, screenshot, wait_for, WAIT};
use crate::cli::run_ok;
use crate::helpers::{spawn_app, Backend, TestApp};

const INDEX: &str = include_str!("../spa/index.html");
const APP_JS: &str = include_str!("../spa/app.js");
const OIDC_CLIENT: &str = include_str!("../spa/oidc-client-ts.min.js");

/// Serves the SPA from `listener`: its scripts, `/config.js`, and `index.html` for every other
/// path (each path is a step of the app).
fn serve_spa(listener: TcpListener, config_js: String) {
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let config_js = config_js.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let target = head.split(' ').nth(1).unwrap_or("/");
                let path = target.split('?').next().unwrap_or("/");
                let (content_type, body) = match path {
                    "/config.js" => ("text/javascript", config_js.as_str()),
                    "/app.js" => ("text/javascript", APP_JS),
                    "/oidc-client-ts.min.js" => ("text/javascript", OIDC_CLIENT),
                    "/favicon.ico" => ("text/plain", ""),
                    _ => ("text/html; charset=utf-8", INDEX),
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nCache-Control: no-store\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    (listener, origin)
}

/// A public client for the SPA, registered as an operator would.
fn register_spa(app: &TestApp, origin: &str) -> String {
    let mut cmd = crate::keys::portcullis();
    cmd.args([
        "client",
        "create",
        "--name",
        "Browser SPA",
        "--public",
        "--grant",
        "authorization_code,refresh_token",
        "--scope",
        "openid profile email offline_access",
        "--redirect-uri",
        &format!("{origin}/callback"),
        "--post-logout-redirect-uri",
        &format!("{origin}/signed-out"),
    ])
    .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
    .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir);
    let created = run_ok(&mut cmd);
    assert_eq!(created["allowed_origins"], serde_json::json!([origin]));
    created["client_id"].as_str().unwrap().to_string()
}

/// Waits (at most `WAIT`) until the app's `#result` reports `step`; returns the result. An
/// `error` step fails at once.
async fn wait_for_result(browser: &Client, step: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    loop {
        if let Ok(el) = browser.find(Locator::Css("#result")).await {
            if let Ok(text) = el.text().await {
                last = text;
            }
        }
        if let Ok(result) = serde_json::from_str::<Value>(&last) {
            if result["step"] == step {
                return result;
            }
            assert_ne!(result["step"], "error", "the SPA failed: {result}");
        }
        if Instant::now() > deadline {
            let url = browser.current_url().await.map(String::from);
            panic!("no {step:?} within {WAIT:?}; at {url:?}, #result = {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spa_on_another_origin_signs_in_with_oidc_client_ts() {
    let Some(session) = browser::start().await else {
        return;
    };
    let started = Instant::now();
    let browser = &session.client;
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.create_user("ada@example.com", "student").await;
    let (allowed_listener, spa) = listener().await;
    let (refused_listener, refused) = listener().await;
    let client_id = register_spa(&app, &spa);
    let config = format!(
        "window.SPA_CONFIG = {};",
        serde_json::json!({ "authority": app.address, "client_id": client_id })
    );
    serve_spa(allowed_listener, config.clone());
    serve_spa(refused_listener, config);

    // signinRedirect: discovery (cross-origin), then our login and consent pages.
    browser.goto(&format!("{spa}/start")).await.unwrap();
    browser::submit_login(browser, &user.email, &user.password).await;
    wait_for(browser, "#consent-form").await;
    browser
        .find(Locator::Css("button[name=decision][value=allow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Back at the SPA: the code exchanged at /token, /userinfo read (by the library and by
    // fetch with the bearer token, preflighted), then a refresh.
    let result = wait_for_result(browser, "signed-in").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&format!("{spa}/callback")),
        "{result}"
    );
    assert_eq!(result["sub"], user.id.as_str(), "{result}");
    assert_eq!(result["email"], "ada@example.com", "{result}");
    assert_eq!(result["userinfo"]["status"], 200, "{result}");
    assert_eq!(result["userinfo"]["body"]["sub"], user.id.as_str());
    assert_eq!(result["userinfo"]["body"]["email"], "ada@example.com");
    assert_eq!(result["had_refresh_token"], true, "{result}");
    assert_eq!(result["refreshed"], true, "a new access token: {result}");
    assert_eq!(result["refresh_token_rotated"], true, "{result}");
    screenshot(browser, "spa-signed-in.png").await;

    // signoutRedirect: /logout with the id_token_hint signs out at once and returns to the
    // registered post-logout URI; the old access token is dead (a 401 the app can read).
    browser.goto(&format!("{spa}/signout")).await.unwrap();
    let result = wait_for_result(browser, "signed-out").await;
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .as_str()
        .starts_with(&format!("{spa}/signed-out")));
    assert_eq!(result["user_left"], false, "{result}");
    assert_eq!(result["userinfo_after"]["status"], 401, "{result}");
    let challenge = result["userinfo_after"]["www_authenticate"]
        .as_str()
        .unwrap();
    assert!(challenge.contains("invalid_token"), "{result}");

    // From the client's origin an error answer is readable: the library sees invalid_grant.
    browser.goto(&format!("{spa}/bogus-refresh")).await.unwrap();
    let result = wait_for_result(browser, "bogus-refresh").await;
    assert_eq!(result["discovery"], true, "{result}");
    assert_eq!(result["refresh"]["error"], "invalid_grant", "{result}");
    assert_eq!(result["userinfo"]["status"], 401, "{result}");

    // The same app from an origin no client allows: discovery is public, but the browser
    // withholds the token endpoint's and userinfo's answers (a network error, no status).
    browser
        .goto(&format!("{refused}/bogus-refresh"))
        .await
        .unwrap();
    let result = wait_for_result(browser, "bogus-refresh").await;
    assert_eq!(result["discovery"], true, "{result}");
    assert_eq!(result["refresh"]["name"], "TypeError", "{result}");
    assert!(
        result["refresh"]["message"]
            .as_str()
            .unwrap()
            .contains("Failed to fetch"),
        "{result}"
    );
    assert!(result["refresh"]["error"].is_null(), "{result}");
    assert!(
        result["userinfo"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("Failed to fetch")),
        "{result}"
    );
    screenshot(browser, "spa-refused-origin.png").await;

    session.close().await;
    eprintln!("SPA browser test took {:?}", started.elapsed());
}
