//! The real `portcullis serve` configured by environment variables alone (as in a container):
//! no file, lists as comma lists, a generic OpenID provider given only as
//! `PORTCULLIS_FEDERATION__OIDC__ACME__*`, Kubernetes service-link variables beside them, and a
//! typo that is warned about, not fatal. A user signs in through the provider and gets tokens.
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::federation_flow::{self as federation, Ends};
use crate::helpers::{Backend, TestApp, TestClient, TestDb};
use crate::keys::portcullis;
use crate::web::{browser, Remote, Site, REDIRECT_URI};

crate::both_backends!(a_server_configured_only_by_the_environment_signs_in_through_its_provider);

const TYPO: &str = "PORTCULLIS_TOKENS__ACCES_TOKEN_TTL_SECS";

/// Kubernetes' service links for a Service named `portcullis`.
const SERVICE_LINKS: &[(&str, &str)] = &[
    ("PORTCULLIS_PORT", "tcp://10.96.0.12:8080"),
    ("PORTCULLIS_PORT_8080_TCP", "tcp://10.96.0.12:8080"),
    ("PORTCULLIS_PORT_8080_TCP_ADDR", "10.96.0.12"),
    ("PORTCULLIS_PORT_8080_TCP_PORT", "8080"),
    ("PORTCULLIS_PORT_8080_TCP_PROTO", "tcp"),
    ("PORTCULLIS_SERVICE_HOST", "10.96.0.12"),
    ("PORTCULLIS_SERVICE_PORT", "8080"),
    ("PORTCULLIS_SERVICE_PORT_HTTP", "8080"),
];

/// A `portcullis serve` child, killed when dropped (also when the test fails).
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The upstream test server, the downstream `portcullis serve` process and its app.
struct EnvOnly {
    up: TestApp,
    down: Remote,
    app: TestClient,
}

impl Ends for EnvOnly {
    fn up(&self) -> &TestApp {
        &self.up
    }
    fn down(&self) -> &dyn Site {
        &self.down
    }
    fn app(&self) -> &TestClient {
        &self.app
    }
}

async fn a_server_configured_only_by_the_environment_signs_in_through_its_provider(
    backend: Backend,
) {
    let (up, upstream_client) = federation::upstream(backend).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = Remote {
        address: format!("http://127.0.0.1:{port}"),
    };
    federation::allow_callbacks(
        &up,
        &upstream_client,
        &[down.url("/federation/acme/callback")],
    );
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = [
        ("PORTCULLIS_ISSUER", down.address.as_str()),
        ("PORTCULLIS_BIND", &format!("127.0.0.1:{port}")),
        ("PORTCULLIS_DATABASE_URL", &db.url),
        (
            "PORTCULLIS_KEYS_DIR",
            dir.path().join("keys").to_str().unwrap(),
        ),
        ("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1"),
        // Required with PostgreSQL (any backend accepts it).
        (
            "PORTCULLIS_KEYS__ENCRYPTION_KEY",
            crate::key_helpers::TEST_KEK,
        ),
        ("PORTCULLIS_WORKERS", "2"),
        ("PORTCULLIS_FEDERATION__OIDC__ACME__ISSUER", &up.address),
        (
            "PORTCULLIS_FEDERATION__OIDC__ACME__CLIENT_ID",
            &upstream_client.id,
        ),
        (
            "PORTCULLIS_FEDERATION__OIDC__ACME__CLIENT_SECRET",
            &upstream_client.secret,
        ),
        (
            "PORTCULLIS_FEDERATION__OIDC__ACME__DISPLAY_NAME",
            "Acme SSO",
        ),
        (
            "PORTCULLIS_FEDERATION__OIDC__ACME__SCOPES",
            "openid,email,profile",
        ),
        (TYPO, "5"),
    ]
    .iter()
    .chain(SERVICE_LINKS)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.sort();
    let cli = |args: &[&str]| {
        let mut c = portcullis();
        c.current_dir(dir.path())
            .env_remove("RUST_LOG")
            .envs(env.iter().cloned())
            .args(args);
        c
    };

    // The downstream app, registered with the CLI under the same environment.
    let out = cli(&[
        "client",
        "create",
        "--name",
        "Example App",
        "--grant",
        "authorization_code,refresh_token",
        "--scope",
        "openid,profile,email,account",
        "--redirect-uri",
        REDIRECT_URI,
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let app = TestClient {
        id: created["client_id"].as_str().unwrap().into(),
        secret: created["client_secret"].as_str().unwrap().into(),
    };

    let log = dir.path().join("serve.log");
    let child = cli(&["serve"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _served = Served(child);
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = http.get(down.url("/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains("WARN")
            && stderr.contains(TYPO)
            && stderr.contains("PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS"),
        "the typo is warned about with the real name: {stderr}"
    );
    assert!(
        !stderr.contains("PORTCULLIS_SERVICE_HOST"),
        "service links are not noise at the default level: {stderr}"
    );

    let p = EnvOnly { up, down, app };
    p.up.create_user("env@example.com", "student").await;
    let (bd, bu) = (browser(), browser());
    let html = federation::login_page(&p.down, &bd, &p.app).await;
    assert!(html.contains("Continue with Acme SSO"), "{html}");
    let resp = federation::via_upstream(&p, &bd, &bu, "acme", "env@example.com").await;
    let tokens = federation::finish_downstream(&p, &bd, resp).await;
    assert!(tokens["id_token"].is_string(), "{tokens}");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    // The typo did not shorten the token lifetime: the default holds.
    assert_eq!(tokens["expires_in"], 900);
    let me: Value = http
        .get(p.down.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "env@example.com");
}
