//! Database outages answer 503 with `Retry-After`, fast, never 500; `/readyz` says not-ready;
//! the server recovers by itself when the database comes back. (A cached client's
//! client_credentials grant, which needs no database, is still answered for the first 1.5 s:
//! `CACHE_TRUST`.)
//!
//! PostgreSQL: the server reaches the (shared) test server through a TCP proxy started here;
//! stopping the proxy is an outage for this server alone. SQLite: the server's connections are
//! put in `PRAGMA query_only` (`Db::set_query_only_for_tests`), which fails writes with
//! `SQLITE_READONLY` as a read-only file or a full disk would (the tests run as root, which
//! ignores file modes).
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{
    assert_oauth_error, postgres_admin_url, spawn_app, spawn_app_with, Backend, TestApp, PASSWORD,
};

/// How long after the database became unreachable a cached client's client_credentials grant
/// may still be answered from memory (`oauth::client_cache`: three refreshes of 500 ms since
/// the last read of the change counter), with some slack.
const CACHE_TRUST: Duration = Duration::from_millis(2000);

/// Forwards 127.0.0.1:random to `upstream` while up; when down, closes every connection it
/// carries and refuses new ones (accepts and closes them).
struct Proxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, up_rx) = watch::channel(true);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !*up_rx.borrow() {
                    continue; // dropped: closed at once
                }
                let mut down = up_rx.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { addr, up, task }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.set_up(false);
        self.task.abort();
    }
}

/// A server on PostgreSQL reached through a `Proxy` (so the test can cut it off alone);
/// `None` without PostgreSQL.
async fn behind_proxy(
    tweak: impl FnOnce(&mut portcullis::config::Settings),
) -> Option<(Proxy, TestApp)> {
    let admin = url::Url::parse(&postgres_admin_url()?).unwrap();
    let upstream: SocketAddr = format!(
        "{}:{}",
        admin.host_str().unwrap(),
        admin.port().unwrap_or(5432)
    )
    .parse()
    .unwrap();
    let proxy = Proxy::start(upstream).await;
    let proxy_addr = proxy.addr;
    let app = spawn_app_with(Backend::Postgres, |s| {
        let mut url = url::Url::parse(&s.database_url).unwrap();
        url.set_host(Some(&proxy_addr.ip().to_string())).unwrap();
        url.set_port(Some(proxy_addr.port())).unwrap();
        s.database_url = url.to_string();
        tweak(s);
    })
    .await;
    Some((proxy, app))
}

/// Requests that touch the database on each kind of endpoint; returns (status, Retry-After,
/// body) of each and the longest time one took.
async fn burst(
    app: &TestApp,
    client: &crate::helpers::TestClient,
) -> (Vec<(u16, Option<String>, Value)>, Duration) {
    let mut calls = Vec::new();
    for i in 0..12 {
        let api = app.api.clone();
        let (token_url, login_url) = (app.url("/token"), app.url("/api/auth/login"));
        let (id, secret) = (client.id.clone(), client.secret.clone());
        calls.push(tokio::spawn(async move {
            let started = Instant::now();
            let resp = if i % 2 == 0 {
                api.post(token_url)
                    .basic_auth(id, Some(secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
            } else {
                api.post(login_url)
                    .json(&json!({ "email": "nobody@example.com", "password": PASSWORD }))
                    .send()
                    .await
            }
            .unwrap();
            let status = resp.status().as_u16();
            let retry = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, retry, body, started.elapsed())
        }));
    }
    let mut answers = Vec::new();
    let mut longest = Duration::ZERO;
    for call in calls {
        let (status, retry, body, took) = call.await.unwrap();
        longest = longest.max(took);
        answers.push((status, retry, body));
    }
    (answers, longest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(portcullis_test_postgres),
    ignore = "PostgreSQL skipped: PORTCULLIS_TEST_POSTGRES_URL was not set at build time"
)]
async fn postgres_outage_answers_503_fast_and_recovers() {
    let Some((proxy, app)) = behind_proxy(|_| {}).await else {
        return;
    };
    let client = app.service_client();
    let code_client = app.code_client();
    let (_, challenge) = crate::web::pkce();
    let authorize = app.authorize_url(&TestApp::code_request(&code_client, &challenge, "openid"));
    let (answers, _) = burst(&app, &client).await;
    assert!(
        answers.iter().all(|(s, _, _)| [200, 401, 429].contains(s)),
        "{answers:?}"
    );

    proxy.set_up(false);
    // A cached client's client_credentials grant needs no database; the copy is trusted for
    // three cache refreshes (1.5 s) after the change counter was last read, then not.
    tokio::time::sleep(CACHE_TRUST).await;
    let (answers, longest) = burst(&app, &client).await;
    for (status, retry, body) in &answers {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(retry.as_deref(), Some("5"));
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    }
    assert!(longest < Duration::from_secs(5), "took {longest:?}");
    // An HTML page: the 503 page.
    let started = Instant::now();
    let resp = crate::web::browser().get(&authorize).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "5");
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Temporarily unavailable"));
    assert!(started.elapsed() < Duration::from_secs(5));
    let started = Instant::now();
    let resp = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(3));

    proxy.set_up(true);
    let started = Instant::now();
    loop {
        let resp = app
            .token_basic(&client, &[("grant_type", "client_credentials")])
            .await;
        let status = resp.status().as_u16();
        assert_ne!(status, 500);
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not recovered: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resp = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_only_storage_answers_503_and_is_not_ready() {
    let app = spawn_app(Backend::Sqlite).await;
    let user = app.create_user("reader@example.com", "guest").await;
    let client = app.password_client();
    let register = |email: &str| {
        app.api
            .post(app.url("/api/auth/register"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
    };

    app.app_db.set_query_only_for_tests(true);
    // The account API, in its shape.
    let resp = register("new@example.com").await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "5");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    // A protocol endpoint that writes (the grant records the guess and the refresh token).
    let resp = app.password_grant(&client, &user.email, PASSWORD).await;
    let headers = assert_oauth_error(resp, 503, "temporarily_unavailable").await;
    assert_eq!(headers["retry-after"], "5");
    // Readiness follows: reads work, writes don't.
    let resp = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["reason"].as_str().unwrap().contains("refuses writes"),
        "{body}"
    );

    app.app_db.set_query_only_for_tests(false);
    let resp = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(register("new@example.com").await.unwrap().status(), 201);
    let resp = app.password_grant(&client, &user.email, PASSWORD).await;
    assert_eq!(resp.status(), 200);
}

/// One answer of the load in `postgres_stopped_for_10_s_under_load`.
struct Sample {
    /// A client_credentials request (else a login).
    grant: bool,
    sent: Duration,
    took: Duration,
    status: u16,
    retry_after: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(portcullis_test_postgres),
    ignore = "PostgreSQL skipped: PORTCULLIS_TEST_POSTGRES_URL was not set at build time"
)]
/// PostgreSQL gone for 10 s under client_credentials and login load: no 500 ever; every request
/// sent during the outage answered 503 with `Retry-After` within 5 s; `/readyz` 503 throughout;
/// everything works again within 1 s of the database returning.
async fn postgres_stopped_for_10_s_under_load() {
    let Some((proxy, app)) = behind_proxy(|s| s.sessions.max_per_user = 1_000).await else {
        return;
    };
    let client = app.service_client();
    let user = app.create_user("load@example.com", "guest").await;
    let start = Instant::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for i in 0..4 {
        let (api, stop) = (app.api.clone(), stop.clone());
        let (token_url, login_url) = (app.url("/token"), app.url("/api/auth/login"));
        let (id, secret, email) = (client.id.clone(), client.secret.clone(), user.email.clone());
        load.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let sent = start.elapsed();
                let resp = if i % 2 == 0 {
                    api.post(&token_url)
                        .basic_auth(&id, Some(&secret))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await
                } else {
                    api.post(&login_url)
                        .json(&json!({ "email": email, "password": PASSWORD }))
                        .send()
                        .await
                }
                .unwrap();
                samples.push(Sample {
                    grant: i % 2 == 0,
                    sent,
                    took: start.elapsed() - sent,
                    status: resp.status().as_u16(),
                    retry_after: resp
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().to_string()),
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            samples
        }));
    }
    let ready = {
        let (api, url, stop) = (app.api.clone(), app.url("/readyz"), stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let sent = start.elapsed();
                let status = api.get(&url).send().await.unwrap().status().as_u16();
                samples.push((sent, status));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            samples
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down_at = start.elapsed();
    proxy.set_up(false);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let up_at = start.elapsed();
    proxy.set_up(true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut samples: Vec<Sample> = Vec::new();
    for l in load {
        samples.extend(l.await.unwrap());
    }
    let ready = ready.await.unwrap();

    assert!(samples.iter().all(|s| s.status != 500), "a 500");
    let before = samples.iter().filter(|s| s.sent + s.took < down_at);
    assert!(before.clone().count() > 10 && before.clone().all(|s| s.status == 200));
    // Every request sent during the outage is answered within 5 s…
    for s in samples
        .iter()
        .filter(|s| s.sent > down_at && s.sent < up_at)
    {
        assert!(s.took < Duration::from_secs(5), "took {:?}", s.took);
    }
    // …and, answered before it ended, with 503 and Retry-After.
    // (A cached client's grant may still succeed early on: see `CACHE_TRUST`.)
    let during: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.sent > down_at + Duration::from_millis(100) && s.sent + s.took < up_at)
        .filter(|s| !(s.grant && s.status == 200 && s.sent < down_at + CACHE_TRUST))
        .collect();
    assert!(
        during.len() >= 4,
        "load during the outage: {}",
        during.len()
    );
    for s in &during {
        assert_eq!(s.status, 503, "at {:?}", s.sent);
        assert_eq!(s.retry_after.as_deref(), Some("5"));
        assert!(s.took < Duration::from_secs(5), "took {:?}", s.took);
    }
    for (at, status) in &ready {
        if *at > down_at + Duration::from_millis(100) && *at + Duration::from_secs(2) < up_at {
            assert_eq!(*status, 503, "/readyz at {at:?}");
        }
    }
    // Recovery: the first success within 1 s of the database's return, then only successes.
    let first_ok = samples
        .iter()
        .filter(|s| s.sent >= up_at && s.status == 200)
        .map(|s| s.sent + s.took)
        .min()
        .expect("recovered");
    assert!(
        first_ok - up_at <= Duration::from_secs(1),
        "recovered after {:?}",
        first_ok - up_at
    );
    let after = samples
        .iter()
        .filter(|s| s.sent > up_at + Duration::from_secs(1));
    assert!(after.clone().count() > 10 && after.clone().all(|s| s.status == 200));
    assert!(ready
        .iter()
        .filter(|(at, _)| *at > up_at + Duration::from_secs(1))
        .all(|(_, s)| *s == 200));
}
