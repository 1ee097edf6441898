//! Key rotation against a running server, with the real CLI.
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app_with, verify_with_jwks, Backend};

both_backends!(rotation_is_picked_up_without_restart);

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

async fn rotation_is_picked_up_without_restart(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.keys.reload_interval_secs = 1).await;
    let client = app.service_client();
    let old: Value = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let old_token = old["access_token"].as_str().unwrap().to_string();
    let old_kid = jsonwebtoken::decode_header(&old_token)
        .unwrap()
        .kid
        .unwrap();

    let out = portcullis()
        .args(["keys", "rotate"])
        .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir)
        .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_kid = rotated["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);

    // The server re-reads the directory at least every reload interval.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let jwks = app.jwks().await;
        if jwks["keys"].as_array().unwrap().len() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "rotation not picked up: {jwks}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let new: Value = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let new_token = new["access_token"].as_str().unwrap();
    let jwks = app.jwks().await;
    let (header, _) = verify_with_jwks(new_token, &jwks, &app.address, &app.address);
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
    // The token signed before the rotation still verifies through the JWKS.
    let (header, _) = verify_with_jwks(&old_token, &jwks, &app.address, &app.address);
    assert_eq!(header.kid.as_deref(), Some(old_kid.as_str()));

    let out = portcullis()
        .args(["keys", "list"])
        .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir)
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["kid"], old_kid.as_str());
    assert_eq!(listed[0]["status"], "retired");
    assert_eq!(listed[1]["kid"], new_kid.as_str());
    assert_eq!(listed[1]["status"], "active");
}
