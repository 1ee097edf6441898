//! kill -9 under refresh load: 8 refresh-token chains (families) run against the real binary
//! while it is killed 8 times and restarted on the same database. A refresh whose answer was lost
//! (the connection died) is retried with the same token after a 1.1 s backoff.
//!
//! With `sessions.refresh_reuse_grace_secs = 10` every retry replaces the undelivered successor:
//! no chain breaks and each family ends with exactly one live refresh token. Strict (grace 0), a
//! retry of a token rotated before the kill is reuse and revokes the family: a chain may break,
//! but only right after a lost answer, and no family ever has two live tokens.
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::Value;
use tokio::sync::RwLock;

use crate::both_backends;
use crate::helpers::{Backend, TestDb, PASSWORD};
use crate::key_helpers::TEST_KEK;
use crate::keys::portcullis;

both_backends!(
    kill_9_with_a_grace_breaks_no_chain,
    kill_9_strict_breaks_only_after_a_lost_answer
);

const CHAINS: usize = 8;
const KILLS: usize = 8;

struct Server {
    dir: tempfile::TempDir,
    issuer: String,
    db: String,
    grace: i64,
    child: Option<Child>,
}

impl Server {
    fn cmd(&self) -> Command {
        let mut c = portcullis();
        c.current_dir(self.dir.path())
            .env("PORTCULLIS_ISSUER", &self.issuer)
            .env("PORTCULLIS_DATABASE_URL", &self.db)
            .env("PORTCULLIS_KEYS__ENCRYPTION_KEY", TEST_KEK)
            .env("PORTCULLIS_WORKERS", "2")
            .env("PORTCULLIS_SESSIONS__MAX_PER_USER", "50")
            .env(
                "PORTCULLIS_SESSIONS__REFRESH_REUSE_GRACE_SECS",
                self.grace.to_string(),
            );
        c
    }

    fn json(&self, args: &[&str], stdin: Option<&str>) -> Value {
        let mut c = self.cmd();
        c.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    async fn start(&mut self, http: &reqwest::Client) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        let mut c = self.cmd();
        c.arg("serve").stdout(Stdio::null()).stderr(log);
        self.child = Some(c.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !http
            .get(format!("{}/readyz", self.issuer))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            assert!(Instant::now() < deadline, "the server did not come back");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// What happened to one chain.
#[derive(Debug, Default, Clone)]
struct Chain {
    refreshes: usize,
    lost: usize,
    /// Broken: `invalid_grant` for the retry right after a lost answer.
    broken: bool,
    /// `invalid_grant` without a lost answer before it: never acceptable.
    unexplained: Vec<String>,
    server_errors: usize,
}

async fn run(backend: Backend, grace: i64) -> (Vec<Chain>, HashMap<String, i64>) {
    let test_db = TestDb::new(backend);
    let port = crate::browser::free_port();
    let mut server = Server {
        dir: tempfile::tempdir().unwrap(),
        issuer: format!("http://127.0.0.1:{port}"),
        db: test_db.url.clone(),
        grace,
        child: None,
    };
    let client = server.json(
        &[
            "client",
            "create",
            "--name",
            "app",
            "--grant",
            "password",
            "--grant",
            "refresh_token",
        ],
        None,
    );
    server.json(
        &[
            "user",
            "create",
            "--email",
            "chains@example.com",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let (id, secret) = (
        client["client_id"].as_str().unwrap().to_string(),
        client["client_secret"].as_str().unwrap().to_string(),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    server.start(&http).await;
    let url = format!("{}/token", server.issuer);
    // Readers hold the lock while the server is up; the killer takes it to kill and restart.
    let up = Arc::new(RwLock::new(()));
    let done = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..CHAINS {
        // Signed in one at a time (concurrent guesses from one address are throttled).
        let body: Value = http
            .post(&url)
            .basic_auth(&id, Some(&secret))
            .form(&[
                ("grant_type", "password"),
                ("username", "chains@example.com"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut token = body["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_string();
        let (http, url, id, secret, up, done) = (
            http.clone(),
            url.clone(),
            id.clone(),
            secret.clone(),
            up.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut chain = Chain::default();
            let mut after_loss = false;
            while !done.load(Ordering::SeqCst) && !chain.broken {
                let guard = up.read().await;
                let sent = http
                    .post(&url)
                    .basic_auth(&id, Some(&secret))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                    .send()
                    .await;
                let answer = match sent {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.json::<Value>().await {
                            Ok(body) => Some((status, body)),
                            Err(_) => None,
                        }
                    }
                    Err(_) => None,
                };
                drop(guard);
                match answer {
                    None => {
                        // The answer was lost: retry the same token after a backoff (a retry
                        // within the second of the rotation would count as a concurrent
                        // duplicate; see the README, "Lost responses").
                        chain.lost += 1;
                        after_loss = true;
                        tokio::time::sleep(Duration::from_millis(1100)).await;
                    }
                    Some((200, body)) => {
                        token = body["refresh_token"].as_str().unwrap().to_string();
                        chain.refreshes += 1;
                        after_loss = false;
                    }
                    Some((400, body)) if body["error"] == "invalid_grant" => {
                        if after_loss {
                            chain.broken = true;
                        } else {
                            chain.unexplained.push(body.to_string());
                            break;
                        }
                    }
                    Some((status, body)) => {
                        if status >= 500 {
                            chain.server_errors += 1;
                        }
                        panic!("unexpected answer {status}: {body}");
                    }
                }
            }
            chain
        }));
    }
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(600)).await;
        // Kill in the middle of traffic: take the lock only to restart, not to kill.
        server.kill_9();
        let _exclusive = up.write().await;
        server.start(&http).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, Ordering::SeqCst);
    let mut chains = Vec::new();
    for t in tasks {
        chains.push(t.await.unwrap());
    }
    server.kill_9();
    // Live refresh tokens per family (session), straight from the database.
    let live = {
        use portcullis::store::schema::refresh_tokens::dsl as r;
        let db = portcullis::store::Db::open(&test_db.url, 1).unwrap();
        let now = portcullis::clock::Clock::now(&portcullis::clock::SystemClock);
        let rows: Vec<String> = r::refresh_tokens
            .filter(r::rotated_at.is_null())
            .filter(r::revoked_at.is_null())
            .filter(r::expires_at.gt(now))
            .filter(r::idle_expires_at.gt(now))
            .select(r::session_id)
            .load(&mut *db.get().unwrap())
            .unwrap();
        let mut per: HashMap<String, i64> = HashMap::new();
        for s in rows {
            *per.entry(s).or_default() += 1;
        }
        per
    };
    (chains, live)
}

async fn kill_9_with_a_grace_breaks_no_chain(backend: Backend) {
    let (chains, live) = run(backend, 10).await;
    let lost: usize = chains.iter().map(|c| c.lost).sum();
    assert!(
        lost > 0,
        "no answer was lost: the kills missed the traffic {chains:?}"
    );
    for c in &chains {
        assert!(
            !c.broken && c.unexplained.is_empty() && c.server_errors == 0,
            "{chains:?}"
        );
        assert!(c.refreshes > 0);
    }
    assert_eq!(live.len(), CHAINS, "one family per chain: {live:?}");
    assert!(
        live.values().all(|n| *n == 1),
        "one live token per family: {live:?}"
    );
}

async fn kill_9_strict_breaks_only_after_a_lost_answer(backend: Backend) {
    let (chains, live) = run(backend, 0).await;
    for c in &chains {
        assert!(
            c.unexplained.is_empty() && c.server_errors == 0,
            "{chains:?}"
        );
        if c.broken {
            assert!(c.lost > 0, "{chains:?}");
        }
    }
    assert!(
        live.values().all(|n| *n == 1),
        "never two live tokens in a family: {live:?}"
    );
    let unbroken = chains.iter().filter(|c| !c.broken).count();
    assert_eq!(
        live.len(),
        unbroken,
        "unbroken chains keep their family: {live:?} {chains:?}"
    );
}
