//! No password, refresh token or client secret in clear in the database or in the logs: a real
//! `serve` process with debug logging, every flow that handles a secret, then a grep of its log
//! and of the raw SQLite files (every table, every page).
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::keys::portcullis;

fn cli(dir: &std::path::Path, issuer: &str) -> Command {
    let mut c = portcullis();
    c.current_dir(dir).env("PORTCULLIS_ISSUER", issuer);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_clear_in_tables_or_logs() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = cli(dir.path(), &issuer)
        .arg("serve")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http
        .get(format!("{issuer}/readyz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
        != 200
    {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let out = cli(dir.path(), &issuer)
        .args([
            "client",
            "create",
            "--name",
            "app",
            "--grant",
            "password,refresh_token,client_credentials",
            "--scope",
            "read",
        ])
        .output()
        .unwrap();
    let client: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (client_id, client_secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );

    let cli_password = "Cli-Created-Pass-7";
    let mut create = cli(dir.path(), &issuer)
        .args([
            "user",
            "create",
            "--email",
            "cli@example.com",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(cli_password.as_bytes())
        .unwrap();
    assert!(create.wait_with_output().unwrap().status.success());

    let api_password = "Api-Registered-Pass-8";
    let resp = http
        .post(format!("{issuer}/api/auth/register"))
        .json(&json!({ "email": "api@example.com", "password": api_password }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let login: Value = http
        .post(format!("{issuer}/api/auth/login"))
        .json(&json!({ "email": "api@example.com", "password": api_password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut secrets = vec![
        client_secret.to_string(),
        cli_password.to_string(),
        api_password.to_string(),
        login["refresh_token"].as_str().unwrap().to_string(),
    ];
    let grant: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(client_id, Some(client_secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "cli@example.com"),
            ("password", cli_password),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refreshed: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(client_id, Some(client_secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", grant["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(grant["refresh_token"].as_str().unwrap().to_string());
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_string());
    // Failed attempts carry secrets too (wrong passwords, wrong client secrets).
    let wrong_password = "Typo-Of-The-Pass-9";
    let _ = http
        .post(format!("{issuer}/token"))
        .basic_auth(client_id, Some(client_secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "cli@example.com"),
            ("password", wrong_password),
        ])
        .send()
        .await
        .unwrap();
    let wrong_secret = "definitely-not-the-client-secret-value";
    let _ = http
        .post(format!("{issuer}/token"))
        .basic_auth(client_id, Some(wrong_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    secrets.push(wrong_password.into());
    secrets.push(wrong_secret.into());

    assert!(Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap()
        .success());
    server.wait().unwrap();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("POST"), "the log captured requests: {log}");
    let mut db = Vec::new();
    for f in ["portcullis.db", "portcullis.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(f)) {
            db.extend(bytes);
        }
    }
    assert!(db.len() > 4096);
    let db = String::from_utf8_lossy(&db);
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "a secret is in the log");
        assert!(!db.contains(s.as_str()), "a secret is in the database");
    }
}
