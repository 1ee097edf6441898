//! The client cache (`oauth::client_cache`), as operators and clients meet it: an unchanged
//! client's `client_credentials` grant does no database work; a client changed with the CLI
//! (another process) takes effect within `clients.cache_refresh_ms`; with the cache off
//! (`0`), at once; bad credentials never get past a cached copy.
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};
use crate::keys::cli_json;

crate::both_backends!(
    a_cached_client_costs_no_database_job,
    a_client_changed_by_the_cli_takes_effect_within_the_refresh,
    with_the_cache_off_a_change_takes_effect_at_once,
);

/// A confidential client_credentials client made with the CLI: (id, secret).
fn cli_client(app: &TestApp) -> (String, String) {
    let created = cli_json(
        app,
        &[
            "client",
            "create",
            "--name",
            "svc",
            "--grant",
            "client_credentials",
            "--scope",
            "read",
        ],
    );
    (
        created["client_id"].as_str().unwrap().to_string(),
        created["client_secret"].as_str().unwrap().to_string(),
    )
}

async fn token(app: &TestApp, id: &str, secret: &str) -> reqwest::Response {
    app.api
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap()
}

/// The status of a token request, and the claims of the access token when it is 200.
async fn status(app: &TestApp, id: &str, secret: &str) -> u16 {
    let resp = token(app, id, secret).await;
    let code = resp.status().as_u16();
    if code == 200 {
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let body: Value = resp.json().await.unwrap();
        let payload = body["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["client_id"], id);
        assert_eq!(claims["scope"], "read");
    } else {
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    code
}

/// Asks until the answer is `want`; how long that took. Fails after 5 s.
async fn until(app: &TestApp, id: &str, secret: &str, want: u16) -> Duration {
    let started = Instant::now();
    loop {
        if status(app, id, secret).await == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still not {want} after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Database jobs run so far (`portcullis_db_wait_seconds_count`).
async fn jobs(app: &TestApp) -> f64 {
    let text = app.metrics_text().await;
    text.lines()
        .find_map(|l| l.strip_prefix("portcullis_db_wait_seconds_count "))
        .expect("the database wait histogram")
        .trim()
        .parse()
        .unwrap()
}

async fn a_cached_client_costs_no_database_job(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, secret) = cli_client(&app);
    // The first request reads the client (once the change counter was read).
    until(&app, &id, &secret, 200).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(status(&app, &id, &secret).await, 200);
    let before = jobs(&app).await;
    for _ in 0..50 {
        assert_eq!(status(&app, &id, &secret).await, 200);
    }
    let during = jobs(&app).await - before;
    // Without the cache each request is a job (50); what is left is the poller's reads.
    assert!(
        during < 25.0,
        "{during} database jobs for 50 cached requests"
    );
    // A wrong secret is never decided by the copy: it goes to the database and fails there,
    // as does an unknown client; the right secret still works afterwards.
    let before = jobs(&app).await;
    for _ in 0..10 {
        assert_eq!(status(&app, &id, "wrong").await, 401);
        assert_eq!(status(&app, "nobody", &secret).await, 401);
    }
    assert!(jobs(&app).await - before >= 20.0);
    assert_eq!(status(&app, &id, &secret).await, 200);
}

async fn a_client_changed_by_the_cli_takes_effect_within_the_refresh(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, old) = cli_client(&app);
    until(&app, &id, &old, 200).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(status(&app, &id, &old).await, 200);

    let rotated = cli_json(&app, &["client", "rotate-secret", &id]);
    let new = rotated["client_secret"].as_str().unwrap().to_string();
    // The new secret works at once (a copy that does not match sends the request to the
    // database); the old one stops within the refresh interval (500 ms) and some slack.
    assert_eq!(status(&app, &id, &new).await, 200);
    let took = until(&app, &id, &old, 401).await;
    assert!(
        took < Duration::from_secs(3),
        "the old secret worked {took:?}"
    );
    assert_eq!(status(&app, &id, &new).await, 200);

    cli_json(&app, &["client", "delete", &id]);
    let started = Instant::now();
    loop {
        let resp = token(&app, &id, &new).await;
        if resp.status() == 401 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "deleted client still served"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn with_the_cache_off_a_change_takes_effect_at_once(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.clients.cache_refresh_ms = 0).await;
    let (id, old) = cli_client(&app);
    for _ in 0..3 {
        assert_eq!(status(&app, &id, &old).await, 200);
    }
    let rotated = cli_json(&app, &["client", "rotate-secret", &id]);
    let new = rotated["client_secret"].as_str().unwrap().to_string();
    assert_eq!(status(&app, &id, &old).await, 401);
    assert_eq!(status(&app, &id, &new).await, 200);
    let before = jobs(&app).await;
    for _ in 0..10 {
        assert_eq!(status(&app, &id, &new).await, 200);
    }
    assert!(jobs(&app).await - before >= 10.0);
}
