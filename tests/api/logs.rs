//! The access log and redaction, on a real `serve` process at `RUST_LOG=info` and `=debug`: every
//! endpoint family driven with secrets in query strings, bodies and headers (valid and invalid),
//! then its stderr is grepped: no secret anywhere, exactly one access line per request, with
//! its status.
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{RequestBuilder, Response};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestDb};
use crate::keys::portcullis;

both_backends!(logs_at_info, logs_at_debug);

async fn logs_at_info(backend: Backend) {
    check_logs(backend, "info").await
}

async fn logs_at_debug(backend: Backend) {
    check_logs(backend, "debug").await
}

struct Server {
    dir: tempfile::TempDir,
    issuer: String,
    db_url: String,
    child: Child,
    http: reqwest::Client,
    /// `(method, path without query)` → the statuses answered, in order.
    sent: Vec<(String, String, u16)>,
}

fn cli(dir: &std::path::Path, issuer: &str, db_url: &str) -> Command {
    let mut c = portcullis();
    c.current_dir(dir)
        .env("PORTCULLIS_ISSUER", issuer)
        .env("PORTCULLIS_DATABASE_URL", db_url)
        .env(
            "PORTCULLIS_KEYS__ENCRYPTION_KEY",
            crate::key_helpers::TEST_KEK,
        );
    c
}

impl Server {
    fn cli(&self) -> Command {
        cli(self.dir.path(), &self.issuer, &self.db_url)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Sends a request and remembers what the access log must say about it.
    async fn send(&mut self, rb: RequestBuilder) -> Response {
        let req = rb.build().unwrap();
        let (method, path) = (req.method().to_string(), req.url().path().to_string());
        let resp = self.http.execute(req).await.unwrap();
        self.sent.push((method, path, resp.status().as_u16()));
        resp
    }

    async fn get(&mut self, path: &str, bearer: Option<&str>) -> Response {
        let rb = self.http.get(self.url(path));
        self.send(with_bearer(rb, bearer)).await
    }

    async fn post_json(&mut self, path: &str, body: Value, bearer: Option<&str>) -> Response {
        let rb = self.http.post(self.url(path)).json(&body);
        self.send(with_bearer(rb, bearer)).await
    }
}

fn with_bearer(rb: RequestBuilder, bearer: Option<&str>) -> RequestBuilder {
    match bearer {
        Some(t) => rb.bearer_auth(t),
        None => rb,
    }
}

async fn start(backend: Backend, level: &str, db: &TestDb) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::browser::free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let child = cli(dir.path(), &issuer, &db.url)
        .arg("serve")
        .env("RUST_LOG", level)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = Server {
        issuer,
        db_url: db.url.clone(),
        child,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        sent: Vec::new(),
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = server.http.get(server.url("/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server did not start ({backend:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

fn json_out(mut cmd: Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn body(resp: Response) -> Value {
    resp.json().await.unwrap_or(Value::Null)
}

async fn check_logs(backend: Backend, level: &str) {
    let db = TestDb::new(backend);
    let mut s = start(backend, level, &db).await;
    let mut cmd = s.cli();
    cmd.args(["client", "create", "--name", "app", "--introspect"])
        .args([
            "--grant",
            "password,refresh_token,client_credentials,authorization_code",
        ])
        .args([
            "--scope",
            "openid",
            "--redirect-uri",
            "https://app.example/cb",
        ])
        .args(["--post-logout-redirect-uri", "https://app.example/bye"]);
    let client = json_out(cmd);
    let id = client["client_id"].as_str().unwrap().to_string();
    let secret = client["client_secret"].as_str().unwrap().to_string();

    let password = "Logged-Never-Pass-1";
    let wrong_password = "Logged-Never-Typo-2";
    let wrong_secret = "logged-never-wrong-client-secret";
    let hint_email = "secret-email@example.com";
    let (state, nonce, verifier) = ("st4te-never-logged", "n0nce-never-logged", "v".repeat(50));
    let (fake_code, upstream_code) = ("fake-auth-code-never-logged", "upstream-code-never-logged");
    let bogus_token = "bogus-access-token-never-logged";
    let mut secrets: Vec<String> = vec![
        secret.clone(),
        password.into(),
        wrong_password.into(),
        wrong_secret.into(),
        hint_email.into(),
        state.into(),
        nonce.into(),
        verifier.clone(),
        fake_code.into(),
        upstream_code.into(),
        bogus_token.into(),
    ];

    // Account API: register, login (right and wrong), me, refresh, API keys.
    let email = "logs@example.com";
    let creds = json!({ "email": email, "password": password });
    s.post_json("/api/auth/register", creds.clone(), None).await;
    let login = body(s.post_json("/api/auth/login", creds, None).await).await;
    let account_at = login["access_token"].as_str().unwrap().to_string();
    let account_rt = login["refresh_token"].as_str().unwrap().to_string();
    let wrong = json!({ "email": email, "password": wrong_password });
    let resp = s.post_json("/api/auth/login", wrong, None).await;
    assert_eq!(resp.status(), 401);
    s.get("/api/auth/me", Some(&account_at)).await;
    s.get("/api/auth/me", Some(bogus_token)).await;
    let refresh = json!({ "refresh_token": account_rt });
    let refreshed = body(s.post_json("/api/auth/refresh", refresh, None).await).await;
    let new_key = json!({ "name": "ci", "scopes": [] });
    let key = body(s.post_json("/api/keys", new_key, Some(&account_at)).await).await;
    s.get("/api/keys", Some(&account_at)).await;
    secrets.extend([account_at.clone(), account_rt.clone()]);
    for v in [
        &refreshed["access_token"],
        &refreshed["refresh_token"],
        &key["api_key"],
    ] {
        secrets.push(v.as_str().expect("issued").to_string());
    }
    let api_key = key["api_key"].as_str().unwrap().to_string();

    // /token: password grant (right, wrong), refresh, a code, client_secret in the body.
    let token = |s: &Server, form: &[(&str, &str)]| {
        s.http
            .post(s.url("/token"))
            .basic_auth(&id, Some(&secret))
            .form(form)
    };
    let grant = token(
        &s,
        &[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
            ("scope", "openid"),
        ],
    );
    let grant = body(s.send(grant).await).await;
    let (at, rt, id_token) = (
        grant["access_token"].as_str().unwrap().to_string(),
        grant["refresh_token"].as_str().unwrap().to_string(),
        grant["id_token"].as_str().expect("an id_token").to_string(),
    );
    secrets.extend([at.clone(), rt.clone(), id_token.clone()]);
    let bad = token(
        &s,
        &[
            ("grant_type", "password"),
            ("username", email),
            ("password", wrong_password),
        ],
    );
    assert_eq!(s.send(bad).await.status(), 400);
    let r = token(
        &s,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    );
    let r = body(s.send(r).await).await;
    let rt2 = r["refresh_token"].as_str().unwrap().to_string();
    secrets.push(rt2.clone());
    let code = token(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", fake_code),
            ("redirect_uri", "https://app.example/cb"),
            ("code_verifier", &verifier),
        ],
    );
    assert_eq!(s.send(code).await.status(), 400);
    let post = s.http.post(s.url("/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &id),
        ("client_secret", wrong_secret),
    ]);
    assert_eq!(s.send(post).await.status(), 401);
    let basic = s
        .http
        .post(s.url("/token"))
        .basic_auth(&id, Some(wrong_secret))
        .form(&[("grant_type", "client_credentials")]);
    assert_eq!(s.send(basic).await.status(), 401);

    // Introspection and revocation, with tokens and the API key.
    for t in [&at, &rt2, &api_key] {
        let r = s
            .http
            .post(s.url("/introspect"))
            .basic_auth(&id, Some(&secret));
        let resp = s.send(r.form(&[("token", t.as_str())])).await;
        assert_eq!(resp.status(), 200);
    }
    let r = s
        .http
        .post(s.url("/introspect"))
        .basic_auth(&id, Some(wrong_secret));
    s.send(r.form(&[("token", at.as_str())])).await;
    // Query strings: /userinfo, /authorize, /logout, an upstream callback.
    // (RFC 6750's query form is not accepted, but the token must not reach the log either.)
    let u = format!("/userinfo?access_token={at}");
    s.get(&u, None).await;
    let u = format!("/userinfo?access_token={bogus_token}");
    s.get(&u, None).await;
    s.get("/userinfo", Some(&at)).await;
    let authorize = format!(
        "/authorize?response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb\
         &scope=openid&state={state}&nonce={nonce}&login_hint={hint_email}\
         &id_token_hint={id_token}&code_challenge={verifier}&code_challenge_method=S256"
    );
    s.get(&authorize, None).await;
    let unknown = authorize.replace(&format!("client_id={id}"), "client_id=nobody");
    s.get(&unknown, None).await;
    let logout = format!(
        "/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye\
         &state={state}"
    );
    s.get(&logout, None).await;
    let cb = format!("/federation/nowhere/callback?code={upstream_code}&state={state}");
    s.get(&cb, None).await;
    let form = [
        ("email", email),
        ("password", wrong_password),
        ("csrf", state),
    ];
    s.send(s.http.post(s.url("/login")).form(&form)).await;
    let r = s.http.post(s.url("/revoke")).basic_auth(&id, Some(&secret));
    assert_eq!(
        s.send(r.form(&[("token", rt2.as_str())])).await.status(),
        200
    );
    // A hostile, huge header and query: logged capped, if at all.
    let huge = "h".repeat(20_000);
    let q = format!("/healthz?scope={huge}");
    s.send(s.http.get(s.url(&q)).header("user-agent", &huge))
        .await;

    let log = stop(&mut s);
    for secret in &secrets {
        let tail = &secret[secret.len().saturating_sub(16)..];
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the {level} log: {secret}"
        );
        assert!(
            !log.contains(tail),
            "part of a secret is in the {level} log: {tail}"
        );
    }
    assert!(
        log.lines().all(|l| l.len() < 8 * 1024),
        "a log line is not capped"
    );
    let polls = log.matches("path=/readyz ").count();
    let total = access_lines(&log).len();
    assert_eq!(total, s.sent.len() + polls, "one line per request: {log}");
    let mut expected: HashMap<String, usize> = HashMap::new();
    for (method, path, status) in &s.sent {
        *expected
            .entry(format!("{method} {path} {status}"))
            .or_default() += 1;
    }
    for (key, n) in &expected {
        let mut parts = key.split(' ');
        let (m, p, st) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let found = access_lines(&log)
            .iter()
            .filter(|l| l.contains(&format!("method={m} ")))
            .filter(|l| l.contains(&format!("path={p} ")) || l.contains(&format!("path={p}?")))
            .filter(|l| l.contains(&format!("status={st} ")))
            .count();
        assert_eq!(
            found, *n,
            "access lines for {key} in the {level} log:\n{log}"
        );
    }
    let line = |needle: &str| {
        access_lines(&log)
            .into_iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no access line with {needle}:\n{log}"))
    };
    let a = line(&format!("client_id={id}&redirect_uri"));
    assert!(
        a.contains("login_hint=REDACTED&id_token_hint=REDACTED"),
        "{a}"
    );
    assert!(
        a.contains("state=REDACTED") && a.contains("code_challenge_method=S256"),
        "{a}"
    );
    assert!(
        a.contains("client_ip=127.0.0.1 ") && a.contains("latency_ms="),
        "{a}"
    );
    let t = line("path=/token status=200");
    assert!(
        t.contains(&format!("client_id={id}")),
        "the token endpoint names the client: {t}"
    );
    line("path=/introspect status=200");
    line("path=/revoke status=200");
    line("path=/userinfo status=200");
    line("path=/federation/nowhere/callback?code=REDACTED&state=REDACTED ");
    line("path=/api/auth/login status=200");
    line("more bytes]");
}

/// Stops the server (SIGTERM) and returns its log.
fn stop(s: &mut Server) -> String {
    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    s.child.wait().unwrap();
    std::fs::read_to_string(s.dir.path().join("server.log")).unwrap()
}

fn access_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(" portcullis::access: request "))
        .collect()
}
