//! The operator CLI as a user runs it: the real binary, JSON on stdout, errors on stderr.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portcullis::config::Settings;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app, Backend};
use crate::keys::portcullis;

both_backends!(client_commands_follow_the_json_contract);

pub fn run_ok(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

pub fn run_err(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "expected failure: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    String::from_utf8_lossy(&out.stderr).to_string()
}

async fn client_commands_follow_the_json_contract(backend: Backend) {
    let app = spawn_app(backend).await;
    let cli = |args: &[&str]| {
        let mut c = portcullis();
        c.args(args)
            .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
            .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir);
        c
    };

    let created = run_ok(&mut cli(&[
        "client",
        "create",
        "--name",
        "web",
        "--grant",
        "authorization_code,refresh_token",
        "--grant",
        "client_credentials",
        "--scope",
        "read write",
        "--redirect-uri",
        "https://app.example.com/cb",
        "--redirect-uri",
        "http://127.0.0.1:3000/cb",
        "--post-logout-redirect-uri",
        "https://app.example.com/bye",
        "--audience",
        "https://api.example.com",
        "--skip-consent",
        "--access-token-ttl",
        "600",
        "--require-par",
    ]));
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    assert_eq!(
        created["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(created["scopes"], serde_json::json!(["read", "write"]));
    assert_eq!(
        created["redirect_uris"],
        serde_json::json!(["https://app.example.com/cb", "http://127.0.0.1:3000/cb"])
    );
    assert_eq!(
        created["audiences"],
        serde_json::json!(["https://api.example.com"])
    );
    assert_eq!(created["skip_consent"], true);
    assert_eq!(created["access_token_ttl"], 600);
    assert_eq!(created["public"], false);
    assert_eq!(created["require_par"], true);

    let public = run_ok(&mut cli(&[
        "client",
        "create",
        "--name",
        "spa",
        "--public",
        "--redirect-uri",
        "http://localhost:5173/cb",
    ]));
    assert_eq!(public["client_secret"], Value::Null);
    assert_eq!(
        public["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );

    // The created client works against the running server.
    let token = |secret: &str| {
        app.api
            .post(app.url("/token"))
            .basic_auth(&id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    assert_eq!(token(&secret).await.unwrap().status(), 200);

    let listed = run_ok(&mut cli(&["client", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(&secret));
    let shown = run_ok(&mut cli(&["client", "show", &id]));
    assert_eq!(shown["name"], "web");
    assert!(shown.get("client_secret").is_none());

    let rotated = run_ok(&mut cli(&["client", "rotate-secret", &id]));
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    // The new secret works at once; the running server stops taking the old one within
    // `clients.cache_refresh_ms` (a change made by another process: `client_cache`).
    assert_eq!(token(new_secret).await.unwrap().status(), 200);
    let started = std::time::Instant::now();
    while token(&secret).await.unwrap().status() != 401 {
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let err = run_err(&mut cli(&[
        "client",
        "rotate-secret",
        public["client_id"].as_str().unwrap(),
    ]));
    assert!(err.contains("no confidential client"), "{err}");

    // Validation: each rule with a clear message and a non-zero exit, nothing created.
    for (args, expect) in [
        (
            vec!["--redirect-uri", "http://app.example.com/cb"],
            "must use https",
        ),
        (
            vec!["--redirect-uri", "https://app.example.com/cb#frag"],
            "fragment",
        ),
        (vec!["--redirect-uri", "/relative"], "not absolute"),
        (vec!["--grant", "implicit"], "unknown grant \"implicit\""),
        (
            vec!["--public", "--grant", "client_credentials"],
            "public client cannot use client_credentials",
        ),
        (
            vec!["--public", "--grant", "password"],
            "public client cannot use the password grant",
        ),
        (
            vec!["--grant", "authorization_code"],
            "needs at least one --redirect-uri",
        ),
        (vec!["--access-token-ttl", "0"], "--access-token-ttl"),
        (vec!["--scope", "bad\"scope"], "invalid scope"),
    ] {
        let mut full = vec!["client", "create", "--name", "bad"];
        full.extend(args);
        let err = run_err(&mut cli(&full));
        assert!(err.contains(expect), "{full:?}: {err}");
    }
    assert_eq!(
        run_ok(&mut cli(&["client", "list"]))
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let deleted = run_ok(&mut cli(&["client", "delete", &id]));
    assert_eq!(deleted["deleted"], id.as_str());
    let started = std::time::Instant::now();
    while token(new_secret).await.unwrap().status() != 401 {
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let err = run_err(&mut cli(&["client", "show", &id]));
    assert!(err.contains("no client"), "{err}");
    run_err(&mut cli(&["client", "delete", &id]));

    let migrated = run_ok(&mut cli(&["migrate"]));
    assert_eq!(migrated["applied"], 0);
}

#[test]
fn config_show_check_and_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let shown = run_ok(
        portcullis()
            .args(["config", "show"])
            .env(
                "PORTCULLIS_DATABASE_URL",
                "postgres://portcullis:hunter2@db.internal/portcullis",
            )
            .env("PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS", "600"),
    );
    assert_eq!(shown["tokens"]["access_token_ttl_secs"], 600);
    assert!(!shown.to_string().contains("hunter2"), "{shown}");

    run_ok(portcullis().args(["config", "check"]));
    let err = run_err(
        portcullis()
            .args(["config", "check"])
            .env("PORTCULLIS_ISSUER", "http://id.example.com"),
    );
    assert!(err.contains("plain http"), "{err}");
    // An https issuer is a production setup: the key-encryption key must be given.
    let err = run_err(
        portcullis()
            .args(["config", "check"])
            .env("PORTCULLIS_ISSUER", "https://id.example.com")
            .env("PORTCULLIS_BIND", "0.0.0.0:8080"),
    );
    assert!(err.contains("keys.encryption_key"), "{err}");
    run_ok(
        portcullis()
            .args(["config", "check"])
            .env("PORTCULLIS_ISSUER", "https://id.example.com")
            .env("PORTCULLIS_BIND", "0.0.0.0:8080")
            .env(
                "PORTCULLIS_KEYS__ENCRYPTION_KEY",
                crate::key_helpers::TEST_KEK,
            ),
    );

    let file = dir.path().join("portcullis.toml");
    std::fs::write(
        &file,
        "issuer = \"http://127.0.0.1:9000\"\n[tokens]\naccess_token_tll_secs = 5\n",
    )
    .unwrap();
    let out = portcullis()
        .args(["--config", file.to_str().unwrap(), "config", "show"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("access_token_tll_secs") && err.contains("portcullis.toml"),
        "{err}"
    );

    // Derived defaults are shown resolved, not as null.
    let shown = run_ok(portcullis().args(["config", "show"]));
    assert_eq!(shown["bind"], "127.0.0.1:8080");
    assert!(shown["workers"].as_u64().unwrap() >= 1, "{shown}");
    assert!(
        shown["database_pool_size"].as_u64().unwrap() >= 2,
        "{shown}"
    );

    // An unknown variable: a warning naming it (and the real key) for other commands, an
    // error from `config check`.
    let typo = "PORTCULLIS_TOKENS__ACCES_TOKEN_TTL_SECS";
    let out = portcullis()
        .args(["config", "show"])
        .env(typo, "5")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("WARN")
            && err.contains(typo)
            && err.contains("PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS"),
        "{err}"
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["tokens"]["access_token_ttl_secs"], 900);
    for name in [typo, "PORTCULLIS_ISUER"] {
        let out = portcullis()
            .args(["config", "check"])
            .env(name, "5")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("error: unknown environment variable {name}")),
            "{err}"
        );
    }
}

#[test]
fn docker_compose_sets_only_real_settings() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
        .unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let services = docs[0]["services"].as_hash().unwrap();
    let mut instances = 0;
    for (name, service) in services {
        let Some(env) = service["environment"].as_hash() else {
            continue;
        };
        let vars: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    yaml_rust2::Yaml::String(s) => s.clone(),
                    yaml_rust2::Yaml::Integer(i) => i.to_string(),
                    yaml_rust2::Yaml::Boolean(b) => b.to_string(),
                    other => panic!("{other:?}"),
                };
                (k.as_str().unwrap().to_string(), value)
            })
            .filter(|(k, _)| k.starts_with("PORTCULLIS_"))
            .collect();
        if vars.is_empty() {
            continue;
        }
        instances += 1;
        let loaded = Settings::from_sources(None, vars.clone())
            .unwrap_or_else(|e| panic!("service {name:?}: {e:#}"));
        assert!(loaded.unknown_env.is_empty(), "{:?}", loaded.unknown_env);
        let settings = loaded.settings;
        settings.validate().unwrap();
        assert!(
            settings.database_url.starts_with("postgres://"),
            "{name:?} shares PostgreSQL"
        );
        // Every variable names a field of Settings (not a name the loader skips).
        let known = serde_json::to_value(Settings::default()).unwrap();
        for (k, _) in &vars {
            let path = k.trim_start_matches("PORTCULLIS_").to_ascii_lowercase();
            let mut node = &known;
            for part in path.split("__") {
                node = node
                    .get(part)
                    .unwrap_or_else(|| panic!("{name:?}: {k} is not a setting"));
            }
        }
    }
    assert_eq!(instances, 2, "two portcullis instances");
    // The check can fail: an unknown variable is reported.
    let loaded =
        Settings::from_sources(None, vec![("PORTCULLIS_NOT_A_SETTING".into(), "1".into())])
            .unwrap();
    assert_eq!(loaded.unknown_env.len(), 1);
}

/// The real `serve` process: first start creates keys, SIGHUP reloads rotated keys at once,
/// SIGTERM stops it gracefully.
#[test]
fn serve_process_reloads_on_sighup_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let issuer = format!("http://127.0.0.1:{port}");
    let with_env = |cmd: &mut Command| {
        cmd.current_dir(dir.path())
            .env("PORTCULLIS_ISSUER", &issuer)
            .env("PORTCULLIS_KEYS__RELOAD_INTERVAL_SECS", "60");
    };
    let mut serve = portcullis();
    with_env(&mut serve);
    let mut child = serve
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let get = |path: &str| -> Option<(u16, Value)> {
        let resp = reqwest::blocking_get(&format!("{issuer}{path}"))?;
        Some(resp)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while get("/readyz").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        dir.path().join("portcullis.db").exists(),
        "SQLite is the default"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("keys")).unwrap().count(),
        1
    );
    let (_, jwks) = get("/jwks.json").unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);

    let mut rotate = portcullis();
    with_env(&mut rotate);
    run_ok(rotate.args(["keys", "rotate"]));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, jwks) = get("/jwks.json").unwrap();
        if jwks["keys"].as_array().unwrap().len() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "SIGHUP did not reload the keys");
        std::thread::sleep(Duration::from_millis(100));
    }

    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "SIGTERM did not stop the server");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "graceful exit: {status:?}");
}

mod reqwest {
    /// A tiny blocking GET for process tests (no async runtime in a plain #[test]).
    pub fn blocking_get(url: &str) -> Option<(u16, serde_json::Value)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            let resp = ::reqwest::get(url).await.ok()?;
            let status = resp.status().as_u16();
            let body = resp.json().await.unwrap_or(serde_json::Value::Null);
            Some((status, body))
        })
    }
}

/// `user`, `roles`, `audit` and `token verify` as an operator runs them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_roles_audit_and_token_commands() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let cli = |args: &[&str]| {
        let mut c = portcullis();
        c.args(args)
            .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
            .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir)
            .env("PORTCULLIS_ISSUER", &app.address);
        c
    };
    // Password from stdin; from the environment; never a flag.
    let mut child = cli(&[
        "user",
        "create",
        "--email",
        "Op@Example.com",
        "--name",
        "Op",
        "--role",
        "admin",
        "--password-stdin",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"Operator-Pass-1\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["email"], "Op@Example.com");
    assert_eq!(created["role"], "admin");
    // Unverified unless the operator vouches for the address.
    assert_eq!(created["email_verified"], false);
    let vouched = run_ok(
        cli(&[
            "user",
            "create",
            "--email",
            "env@example.com",
            "--email-verified",
        ])
        .env("PORTCULLIS_PASSWORD", "From-The-Env-2"),
    );
    assert_eq!(vouched["email_verified"], true);
    let err = run_err(
        cli(&["user", "create", "--email", "weak@example.com"]).env("PORTCULLIS_PASSWORD", "weak"),
    );
    assert!(err.contains("policy"), "{err}");
    let err = run_err(
        cli(&["user", "create", "--email", "op@example.com"])
            .env("PORTCULLIS_PASSWORD", "Operator-Pass-1"),
    );
    assert!(err.contains("already exists"), "{err}");
    let err = run_err(
        cli(&["user", "create", "--email", "раураl@example.com"])
            .env("PORTCULLIS_PASSWORD", "Operator-Pass-1"),
    );
    assert!(err.contains("mixes scripts"), "{err}");
    let err = run_err(
        cli(&[
            "user",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "king",
        ])
        .env("PORTCULLIS_PASSWORD", "Operator-Pass-1"),
    );
    assert!(err.contains("unknown role"), "{err}");
    let err = run_err(cli(&["user", "create", "--email", "x@example.com"]).stdin(Stdio::null()));
    assert!(err.contains("no password"), "{err}");

    let users = run_ok(&mut cli(&["user", "list"]));
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(!users.to_string().contains("argon2"), "no hashes listed");
    let set = run_ok(&mut cli(&["user", "set-role", "op@example.com", "student"]));
    assert_eq!(set["role"], "student");
    run_err(&mut cli(&["user", "set-role", "op@example.com", "king"]));
    let roles = run_ok(&mut cli(&["roles", "list"]));
    let admin = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "admin")
        .unwrap();
    assert_eq!(
        admin["permissions"],
        serde_json::json!([
            "read",
            "write",
            "delete",
            "manage_users",
            "manage_content",
            "portcullis:admin"
        ])
    );

    // The created user signs in; the token verifies with `token verify`.
    let tokens = app.account_login("op@example.com", "Operator-Pass-1").await;
    let access = tokens["access_token"].as_str().unwrap();
    let claims = run_ok(&mut cli(&["token", "verify", access]));
    assert_eq!(claims["roles"], serde_json::json!(["student"]));
    let mut tampered = access.to_string();
    tampered.pop();
    tampered.push(if access.ends_with('A') { 'B' } else { 'A' });
    let out = cli(&["token", "verify", &tampered]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"));

    // Disabling ends the sessions; the user can no longer sign in.
    run_ok(&mut cli(&["user", "disable", "op@example.com"]));
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({ "email": "op@example.com", "password": "Operator-Pass-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // The audit log, as JSON lines, filtered.
    let out = cli(&["audit", "list", "--user", "op@example.com", "--since", "1h"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in ["user_created", "user_changed", "login", "token_issued"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let out = cli(&["audit", "list", "--kind", "login", "--limit", "1"])
        .output()
        .unwrap();
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 1);
    let last: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(last["outcome"], "failure");
    assert_eq!(last["detail"]["reason"], "disabled");
    run_err(&mut cli(&["audit", "list", "--since", "yesterday-ish"]));

    // Enabled again, the user signs in; deleted, they are gone (and the deletion is audited).
    let enabled = run_ok(&mut cli(&["user", "enable", "op@example.com"]));
    assert_eq!(enabled["disabled"], false);
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({ "email": "op@example.com", "password": "Operator-Pass-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let deleted = run_ok(&mut cli(&["user", "delete", "op@example.com"]));
    assert_eq!(deleted["deleted"], true);
    assert_eq!(
        run_ok(&mut cli(&["user", "list"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    run_err(&mut cli(&["user", "delete", "op@example.com"]));
    let out = cli(&["audit", "list", "--kind", "user_changed", "--limit", "1"])
        .output()
        .unwrap();
    let last: Value =
        serde_json::from_str(std::str::from_utf8(&out.stdout).unwrap().trim()).unwrap();
    assert_eq!(last["detail"]["deleted"], true);
    assert_eq!(last["detail"]["actor"], "cli");
    assert_eq!(last["detail"]["email"], "Op@Example.com");
}
