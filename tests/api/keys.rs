//! Signing keys against running servers, with the real CLI: publish-then-sign rotation,
//! automatic rotation, import of earlier key files, re-encryption, and the key-encryption key.
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app_with, verify_with_jwks, Backend, TestApp};

pub fn portcullis() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    // Settings come from the environment the test gives, never from the developer's.
    for (name, _) in std::env::vars() {
        if name.starts_with("PORTCULLIS_") {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(std::env::temp_dir());
    cmd
}

/// Runs the CLI against `app`'s database and keys; asserts success; parses stdout.
pub fn cli_json(app: &TestApp, args: &[&str]) -> Value {
    let mut cmd = portcullis();
    cmd.args(args);
    app.cli_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A schedule short enough to watch: reload every second, JWKS cached 1 s, publish 5 s ahead.
fn fast_schedule(s: &mut portcullis::config::Settings) {
    s.keys.reload_interval_secs = 1;
    s.keys.jwks_max_age_secs = 1;
    s.keys.publish_ahead_secs = 5;
}

pub async fn token_kid(app: &TestApp, client: &crate::helpers::TestClient) -> (String, String) {
    let body: Value = app
        .token_basic(client, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().expect("a token").to_string();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    (token, kid)
}

pub fn jwks_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// Waits (bounded) until `cond` holds of the server's JWKS.
async fn wait_jwks(app: &TestApp, what: &str, cond: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let kids = jwks_kids(&app.jwks().await);
        if cond(&kids) {
            return kids;
        }
        assert!(Instant::now() < deadline, "{what}: JWKS {kids:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

both_backends!(a_rotation_is_published_before_it_signs_and_removed_after_its_tokens_expire);

async fn a_rotation_is_published_before_it_signs_and_removed_after_its_tokens_expire(
    backend: Backend,
) {
    let app = spawn_app_with(backend, fast_schedule).await;
    let client = app.service_client();
    let (old_token, old_kid) = token_kid(&app, &client).await;

    let rotated = cli_json(&app, &["keys", "rotate"]);
    assert_eq!(rotated[0]["result"], "scheduled", "{rotated}");
    let new_kid = rotated[0]["kid"].as_str().unwrap().to_string();
    assert_eq!(rotated[0]["status"], "pending");
    // The CLI reads the wall clock; the server's injected clock is brought to the same time.
    let (published_at, signs_from) = (
        rotated[0]["published_at"].as_i64().unwrap(),
        rotated[0]["signs_from"].as_i64().unwrap(),
    );
    assert_eq!(signs_from, published_at + 5, "{rotated}");
    app.clock.set(published_at);
    // A second rotate while one is pending makes nothing new.
    let again = cli_json(&app, &["keys", "rotate"]);
    assert_eq!(again[0]["result"], "already_pending");
    assert_eq!(again[0]["kid"], new_kid.as_str());

    // `keys list` (the CLI, at the same moment): the old key signs until the new one does.
    let listed = cli_json(&app, &["keys", "list"]);
    let statuses: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [(old_kid.as_str(), "active"), (new_kid.as_str(), "pending")]
    );
    assert_eq!(listed[0]["retires_at"], signs_from);

    // Published within a reload interval, while the old key still signs.
    wait_jwks(&app, "new key published", |k| k.contains(&new_kid)).await;
    assert_eq!(token_kid(&app, &client).await.1, old_kid);

    // At signs_from the new key signs (the server wakes for the change).
    app.clock.set(signs_from);
    let deadline = Instant::now() + Duration::from_secs(5);
    let new_token = loop {
        let (token, kid) = token_kid(&app, &client).await;
        if kid == new_kid {
            break token;
        }
        assert!(Instant::now() < deadline, "the new key never signed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let jwks = app.jwks().await;
    verify_with_jwks(&new_token, &jwks, &app.address, &app.address);
    verify_with_jwks(&old_token, &jwks, &app.address, &app.address);

    let policy = portcullis::tokens::keys::Policy::from_settings(&app.settings);
    let listed =
        portcullis::tokens::keys::ops::list(&mut app.db.get().unwrap(), &policy, app.clock_now())
            .unwrap();
    let listed = serde_json::to_value(listed).unwrap();
    let by_kid = |kid: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .cloned()
            .unwrap()
    };
    let (old, new) = (by_kid(&old_kid), by_kid(&new_kid));
    assert_eq!(old["status"], "retired");
    assert_eq!(old["retires_at"], new["signs_from"]);
    let removal = app.settings.tokens.max_access_token_ttl_secs + 300;
    assert_eq!(
        old["removed_at"].as_i64().unwrap(),
        new["signs_from"].as_i64().unwrap() + removal
    );
    assert_eq!(new["status"], "active");
    assert_eq!(new["alg"], "RS256");
    assert!(new["retires_at"].is_null() && new["published_at"].is_i64());

    // Once every token the old key signed has expired, it leaves the JWKS.
    app.clock.advance(removal);
    wait_jwks(&app, "old key removed", |k| !k.contains(&old_kid)).await;
}

both_backends!(keys_rotate_on_their_own_schedule);

async fn keys_rotate_on_their_own_schedule(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        fast_schedule(s);
        s.keys.rotate_every_days = 1;
    })
    .await;
    let client = app.service_client();
    let (_, first) = token_kid(&app, &client).await;
    // Due publish_ahead before the day is over: published, not signing yet.
    app.clock.advance(86_400 - 5);
    let kids = wait_jwks(&app, "scheduled key published", |k| k.len() == 2).await;
    let second = kids.into_iter().find(|k| *k != first).unwrap();
    assert_eq!(token_kid(&app, &client).await.1, first);
    app.clock.advance(5);
    let deadline = Instant::now() + Duration::from_secs(5);
    while token_kid(&app, &client).await.1 != second {
        assert!(Instant::now() < deadline, "the scheduled key never signed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
