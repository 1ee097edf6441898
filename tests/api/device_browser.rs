//! The device grant end to end: a device polls `/token` in a task of its own while a person in
//! headless Chromium opens `verification_uri_complete`, signs in, confirms the code and
//! approves; the device then holds tokens with the right claims.
use std::time::Duration;

use fantoccini::Locator;
use serde_json::Value;

use crate::both_backends;
use crate::browser::{self, wait_for, wait_for_url};
use crate::device::{device_client, start, DEVICE_GRANT};
use crate::helpers::{spawn_app_with, verify_with_jwks, Backend};

both_backends!(chromium_user_approves_while_the_device_polls);

async fn chromium_user_approves_while_the_device_polls(backend: Backend) {
    let Some(session) = browser::start().await else {
        return;
    };
    // The poller moves the test clock on by the interval before each poll: give the code time.
    let app = spawn_app_with(backend, |s| s.clients.device_code_lifetime_secs = 3600).await;
    let user = app.create_user("ivy@example.com", "student").await;
    let client = device_client(&app);
    let body = start(&app, &client.id, "openid profile email offline_access read").await;
    let (device_code, user_code, complete) = (
        body["device_code"].as_str().unwrap().to_string(),
        body["user_code"].as_str().unwrap().to_string(),
        body["verification_uri_complete"]
            .as_str()
            .unwrap()
            .to_string(),
    );

    // The device: polls at the interval (test clock), waiting 300 ms of real time in between.
    let (token_url, client_id, clock) = (app.url("/token"), client.id.clone(), app.clock.clone());
    let poller = tokio::spawn(async move {
        let http = reqwest::Client::new();
        for pending in 0..200 {
            clock.advance(5);
            let resp = http
                .post(&token_url)
                .form(&[
                    ("grant_type", DEVICE_GRANT),
                    ("device_code", device_code.as_str()),
                    ("client_id", client_id.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let (status, no_store) = (
                resp.status().as_u16(),
                resp.headers()["cache-control"] == "no-store",
            );
            let body: Value = resp.json().await.unwrap();
            assert!(no_store, "{body}");
            if status == 200 {
                return (pending, body);
            }
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["error"], "authorization_pending", "{body}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        panic!("no tokens after 200 polls");
    });

    // The person, on another device.
    let b = &session.client;
    b.goto(&complete).await.unwrap();
    wait_for_url(b, &app.url("/login?")).await;
    browser::submit_login(b, &user.email, &user.password).await;
    let form = wait_for(b, "#device-form").await;
    wait_for_url(b, &app.url("/device?user_code=")).await;
    let field = form
        .find(Locator::Css("input[name=user_code]"))
        .await
        .unwrap();
    assert_eq!(
        field.prop("value").await.unwrap().as_deref(),
        Some(user_code.as_str())
    );
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let confirm = wait_for(b, "#device-confirm-form").await;
    let heading = b
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.contains("Living Room TV"), "{heading}");
    let shown = b
        .find(Locator::Css("#device-code"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(shown, user_code);
    let scopes = b
        .find(Locator::Css("ul.scopes"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scopes.contains("offline_access") && scopes.contains("read"),
        "{scopes}"
    );
    confirm
        .find(Locator::Css("button[name=decision][value=allow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let title = wait_for(b, "#notice-title").await.text().await.unwrap();
    assert_eq!(title, "Device connected");
    let text = b
        .find(Locator::Css("#notice-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("You may return to your device"), "{text}");

    // The device's tokens.
    let (pending, tokens) = tokio::time::timeout(Duration::from_secs(30), poller)
        .await
        .expect("the poller finishes")
        .unwrap();
    assert!(pending >= 1, "the device saw authorization_pending first");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile email offline_access read");
    assert!(tokens["refresh_token"]
        .as_str()
        .is_some_and(|t| t.len() == 43));
    let jwks = app.jwks().await;
    let (_, access) = verify_with_jwks(
        tokens["access_token"].as_str().unwrap(),
        &jwks,
        &app.address,
        &app.address,
    );
    assert_eq!(access["sub"], user.id.as_str());
    assert_eq!(access["client_id"], client.id.as_str());
    assert_eq!(access["scope"], "openid profile email offline_access read");
    assert_eq!(access["roles"], serde_json::json!(["student"]));
    assert!(access["sid"].is_string(), "{access}");
    let (_, id) = verify_with_jwks(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        &app.address,
        &client.id,
    );
    assert_eq!(id["sub"], user.id.as_str());
    assert_eq!(id["email"], user.email.as_str());
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["sid"], access["sid"]);
    assert!(id.get("nonce").is_none(), "{id}");

    // The refresh token works like any other.
    let resp = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", client.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    session.close().await;
}
