//! OpenID Connect Back-Channel Logout 1.0: a relying party registered with a
//! `backchannel_logout_uri` is sent a signed logout token when the session it got tokens in
//! ends elsewhere; a client without one gets nothing; an unreachable one does not hold up the
//! logout.
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use portcullis::store::schema::{audit_events, logout_deliveries};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, Backend, TestApp, TestClient, TestUser};
use crate::web;

both_backends!(
    backchannel_logout_token_reaches_the_rp_of_the_session,
    backchannel_logout_unreachable_rp_does_not_block_logout,
    backchannel_logout_when_the_account_api_ends_the_session,
    backchannel_logout_in_discovery,
    backchannel_logout_cli_flags,
    backchannel_logout_when_an_operator_disables_the_user,
);

/// One request the relying party received.
#[derive(Debug, Clone)]
struct Received {
    head: String,
    body: String,
}

/// A relying party's back-channel logout endpoint on 127.0.0.1: records every request and
/// answers 200.
struct TestRp {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl TestRp {
    fn start() -> TestRp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let store = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then as much body as Content-Length says.
                let (head, body) = loop {
                    let Ok(n) = stream.read(&mut chunk) else {
                        break (None, vec![]);
                    };
                    if n == 0 {
                        break (None, vec![]);
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let length = head
                            .lines()
                            .filter_map(|l| l.split_once(':'))
                            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        let mut body = buf[end + 4..].to_vec();
                        while body.len() < length {
                            match stream.read(&mut chunk) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => body.extend_from_slice(&chunk[..n]),
                            }
                        }
                        break (Some(head), body);
                    }
                };
                if let Some(head) = head {
                    store.lock().unwrap().push(Received {
                        head,
                        body: String::from_utf8_lossy(&body).to_string(),
                    });
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                );
            }
        });
        TestRp { port, received }
    }

    fn uri(&self) -> String {
        format!("http://127.0.0.1:{}/backchannel-logout", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) until `n` requests came.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n || start.elapsed() > Duration::from_secs(10) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Signs `user` in through `client` in `browser` (code flow with PKCE); returns the token
/// response.
async fn sign_in_through(
    app: &TestApp,
    browser: &reqwest::Client,
    client: &TestClient,
    user: &TestUser,
) -> Value {
    let (verifier, challenge) = web::pkce();
    let params = TestApp::code_request(client, &challenge, "openid profile");
    let back = web::authorize_through(app, browser, &params, &user.email, &user.password).await;
    let code = web::param(&back, "code").expect("a code");
    let resp = web::exchange(app, client, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// RP-initiated logout with `id_token_hint`; asserts it answers at once.
async fn log_out(app: &TestApp, browser: &reqwest::Client, id_token: &str) {
    let logout = reqwest::Url::parse_with_params(
        &app.url("/logout"),
        &[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", web::POST_LOGOUT_URI),
        ],
    )
    .unwrap();
    let started = Instant::now();
    let resp = browser.get(logout).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the logout waited for the back channel: {:?}",
        started.elapsed()
    );
}

async fn backchannel_logout_token_reaches_the_rp_of_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = TestRp::start();
    let quiet = TestRp::start();
    let with_uri = app.code_client_with(|s| {
        s.name = "RP with back channel".into();
        s.backchannel_logout_uri = Some(rp.uri());
        s.backchannel_logout_session_required = true;
    });
    let without_uri = app.code_client();
    let user = app.create_user("bc@example.com", "student").await;
    let browser = web::browser();

    // One browser session, two clients signed in through it.
    let first = sign_in_through(&app, &browser, &with_uri, &user).await;
    let second = sign_in_through(&app, &browser, &without_uri, &user).await;
    let id_token = first["id_token"].as_str().expect("an ID token");
    let jwks = app.jwks().await;
    let issuer = app.settings.issuer.clone();
    let (_, id_claims) = crate::helpers::verify_with_jwks(id_token, &jwks, &issuer, &with_uri.id);
    let sid = id_claims["sid"]
        .as_str()
        .expect("sid in the ID token")
        .to_string();
    let (_, other_claims) = crate::helpers::verify_with_jwks(
        second["id_token"].as_str().unwrap(),
        &jwks,
        &issuer,
        &without_uri.id,
    );
    assert_eq!(other_claims["sid"], sid.as_str(), "one browser session");
    assert!(
        rp.received().is_empty(),
        "nothing is sent before the logout"
    );

    // Signed out through the other client: the RP of the first hears of it.
    log_out(&app, &browser, second["id_token"].as_str().unwrap()).await;
    let got = rp.wait_for(1).await;
    assert_eq!(got.len(), 1, "one logout token within 10 s");
    let request = &got[0];
    assert!(
        request
            .head
            .starts_with("POST /backchannel-logout HTTP/1.1"),
        "{}",
        request.head
    );
    assert!(
        request
            .head
            .to_ascii_lowercase()
            .contains("content-type: application/x-www-form-urlencoded"),
        "{}",
        request.head
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(request.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(form.len(), 1, "{form:?}");
    assert_eq!(form[0].0, "logout_token");
    let token = &form[0].1;

    let (header, claims) = crate::helpers::verify_with_jwks(token, &jwks, &issuer, &with_uri.id);
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], with_uri.id.as_str());
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(
        claims["events"],
        json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    assert!(claims.get("nonce").is_none(), "{claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 300, "{claims}");

    // Delivered once, recorded, and nothing queued any more; the client without a URI (and
    // any other endpoint) got nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rp.received().len(), 1);
    assert!(quiet.received().is_empty());
    let mut conn = app.db.get().unwrap();
    let left: i64 = logout_deliveries::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(left, 0);
    let outcomes: Vec<(Option<String>, String)> = audit_events::table
        .filter(audit_events::kind.eq("backchannel_logout"))
        .select((audit_events::client_id, audit_events::outcome))
        .load(&mut *conn)
        .unwrap();
    assert_eq!(
        outcomes,
        [(Some(with_uri.id.clone()), "success".to_string())]
    );
}

async fn backchannel_logout_unreachable_rp_does_not_block_logout(backend: Backend) {
    let app = spawn_app(backend).await;
    // A port nobody listens on any more.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // And one that accepts but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let refused = app.code_client_with(|s| {
        s.backchannel_logout_uri = Some(format!("http://127.0.0.1:{dead}/bc"));
    });
    let hanging = app.code_client_with(|s| {
        s.backchannel_logout_uri = Some(format!("http://127.0.0.1:{silent_port}/bc"));
    });
    let user = app.create_user("dead-rp@example.com", "student").await;
    let browser = web::browser();
    let tokens = sign_in_through(&app, &browser, &refused, &user).await;
    sign_in_through(&app, &browser, &hanging, &user).await;

    log_out(&app, &browser, tokens["id_token"].as_str().unwrap()).await;

    // Both deliveries are tried and kept for a retry (backoff), not lost.
    let mut conn = app.db.get().unwrap();
    let start = Instant::now();
    let attempts = loop {
        let rows: Vec<(String, i32)> = logout_deliveries::table
            .select((logout_deliveries::client_id, logout_deliveries::attempts))
            .order(logout_deliveries::client_id.asc())
            .load(&mut *conn)
            .unwrap();
        if rows.iter().all(|(_, a)| *a >= 1) || start.elapsed() > Duration::from_secs(10) {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(attempts.iter().all(|(_, a)| *a == 1), "{attempts:?}");
    drop(silent);
}

async fn backchannel_logout_when_the_account_api_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = TestRp::start();
    let client = app.code_client_with(|s| s.backchannel_logout_uri = Some(rp.uri()));
    let user = app.create_user("bc-api@example.com", "student").await;
    let browser = web::browser();
    let tokens = sign_in_through(&app, &browser, &client, &user).await;
    let jwks = app.jwks().await;
    let issuer = app.settings.issuer.clone();
    let (_, id_claims) = crate::helpers::verify_with_jwks(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        &issuer,
        &client.id,
    );
    let sid = id_claims["sid"].as_str().unwrap().to_string();

    // Elsewhere (the account API, its own session), the user ends the browser session.
    let login = app.account_login(&user.email, &user.password).await;
    let access = login["access_token"].as_str().unwrap();
    let started = Instant::now();
    let resp = app
        .api
        .delete(app.url(&format!("/api/auth/sessions/{sid}")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(started.elapsed() < Duration::from_secs(3));

    let got = rp.wait_for(1).await;
    assert_eq!(got.len(), 1, "one logout token within 10 s");
    let token = url::form_urlencoded::parse(got[0].body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("logout_token");
    let (header, claims) = crate::helpers::verify_with_jwks(&token, &jwks, &issuer, &client.id);
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["sub"], user.id.as_str());
    // Ending the account API's own session tells nobody: its client has no URI.
    let resp = app
        .api
        .post(app.url("/api/auth/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rp.received().len(), 1);
}

async fn backchannel_logout_in_discovery(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc: Value = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
}

async fn backchannel_logout_cli_flags(backend: Backend) {
    use crate::cli::{run_err, run_ok};
    let app = spawn_app(backend).await;
    let cli = |args: &[&str]| {
        let mut c = crate::keys::portcullis();
        c.args(["client", "create", "--name", "rp", "--public", "--grant"])
            .arg("authorization_code")
            .args(["--redirect-uri", "https://rp.example/cb"])
            .args(args)
            .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
            .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir);
        c
    };
    let created = run_ok(&mut cli(&[
        "--backchannel-logout-uri",
        "https://rp.example/bc",
        "--backchannel-logout-session-required",
    ]));
    assert_eq!(created["backchannel_logout_uri"], "https://rp.example/bc");
    assert_eq!(created["backchannel_logout_session_required"], true);
    let stored = app
        .db
        .get()
        .map(|mut c| {
            portcullis::store::clients::find(&mut c, created["client_id"].as_str().unwrap())
                .unwrap()
                .unwrap()
        })
        .unwrap();
    assert_eq!(
        stored.backchannel_logout_uri.as_deref(),
        Some("https://rp.example/bc")
    );
    assert!(stored.backchannel_logout_session_required);

    let plain = run_ok(&mut cli(&[]));
    assert_eq!(plain["backchannel_logout_uri"], Value::Null);
    assert_eq!(plain["backchannel_logout_session_required"], false);

    let err = run_err(&mut cli(&[
        "--backchannel-logout-uri",
        "http://rp.example/bc",
    ]));
    assert!(err.contains("backchannel logout URI"), "{err}");
    let err = run_err(&mut cli(&["--backchannel-logout-session-required"]));
    assert!(err.contains("--backchannel-logout-uri"), "{err}");
}

async fn backchannel_logout_when_an_operator_disables_the_user(backend: Backend) {
    use portcullis::identity::admin_users::{self, Actor};
    let app = spawn_app(backend).await;
    let rp = TestRp::start();
    let client = app.code_client_with(|s| s.backchannel_logout_uri = Some(rp.uri()));
    let user = app.create_user("bc-admin@example.com", "student").await;
    let browser = web::browser();
    let tokens = sign_in_through(&app, &browser, &client, &user).await;
    let jwks = app.jwks().await;
    let issuer = app.settings.issuer.clone();
    let (_, id_claims) = crate::helpers::verify_with_jwks(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        &issuer,
        &client.id,
    );

    // What `portcullis user disable` and the admin API do.
    {
        let mut conn = app.db.get().unwrap();
        admin_users::set_disabled(&mut conn, &user.id, true, Actor::CLI, app.clock_now()).unwrap();
    }
    let got = rp.wait_for(1).await;
    assert_eq!(got.len(), 1, "one logout token within 10 s");
    let token = url::form_urlencoded::parse(got[0].body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("logout_token");
    let (_, claims) = crate::helpers::verify_with_jwks(&token, &jwks, &issuer, &client.id);
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert_eq!(claims["sub"], user.id.as_str());
}
