//! `GET /metrics`: real traffic, then a scrape parsed as Prometheus would (prometheus-parse), on
//! both backends; the bearer token, the separate listener and `metrics.enabled = false`.
use std::sync::Arc;

use portcullis::clock::ManualClock;
use portcullis::config::Settings;
use portcullis::oauth::registration::ClientSpec;
use portcullis::startup::Application;
use portcullis::tokens::Alg;
use prometheus_parse::{Scrape, Value as Metric};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, TestDb};

both_backends!(
    families_after_traffic,
    a_bearer_token_guards_metrics,
    a_separate_listener_serves_metrics_alone,
    disabled_metrics_are_not_served,
);

async fn scrape(app: &TestApp) -> Scrape {
    let resp = app.api.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse(&resp.text().await.unwrap())
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The value of the one sample of `name` whose labels are exactly `labels`.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let sample = s.samples.iter().find(|x| {
        x.metric == name
            && x.labels.len() == labels.len()
            && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v))
    })?;
    match sample.value {
        Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => Some(v),
        _ => None,
    }
}

/// The cumulative buckets of the histogram series `name{labels}`, as (le, count).
fn buckets(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Vec<(f64, f64)> {
    s.samples
        .iter()
        .find(|x| {
            x.metric == name
                && x.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v))
        })
        .and_then(|x| match &x.value {
            Metric::Histogram(b) => Some(b.iter().map(|h| (h.less_than, h.count)).collect()),
            _ => None,
        })
        .unwrap_or_default()
}

fn requests(s: &Scrape, method: &str, route: &str, status: &str) -> Option<f64> {
    value(
        s,
        "portcullis_http_requests_total",
        &[("method", method), ("route", route), ("status", status)],
    )
}

async fn account_login(app: &TestApp, email: &str, password: &str) -> u16 {
    app.api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn families_after_traffic(backend: Backend) {
    // One failed guess locks the account budget, so a lockout and a throttle happen too.
    let app = spawn_app_with(backend, |s| {
        s.lockout.account_max_failures = 1;
        s.keys.algorithms = vec![Alg::RS256, Alg::ES256];
    })
    .await;
    let client = app.service_client();
    let es_client = app.create_client(ClientSpec {
        name: "es256 service".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read".into()],
        token_alg: Some("ES256".into()),
        ..ClientSpec::default()
    });
    let user = app.create_user("metrics@example.com", "student").await;

    let ok = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(ok.status(), 200);
    let es = app
        .token_basic(&es_client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(es.status(), 200);
    let bad_secret = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.id, Some("not-the-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_secret.status(), 401);
    let bad_grant = app.token_basic(&client, &[("grant_type", "magic")]).await;
    assert_eq!(bad_grant.status(), 400);
    assert_eq!(account_login(&app, &user.email, &user.password).await, 200);
    assert_eq!(account_login(&app, &user.email, "Wrong-Pass-1").await, 401);
    assert_eq!(account_login(&app, &user.email, &user.password).await, 429);
    let missing = app.api.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    let s = scrape(&app).await;

    // Requests by route pattern and status; unmatched paths share one label.
    assert_eq!(requests(&s, "POST", "/token", "200"), Some(2.0));
    assert_eq!(requests(&s, "POST", "/token", "401"), Some(1.0));
    assert_eq!(requests(&s, "POST", "/token", "400"), Some(1.0));
    assert_eq!(requests(&s, "POST", "/api/auth/login", "200"), Some(1.0));
    assert_eq!(requests(&s, "POST", "/api/auth/login", "401"), Some(1.0));
    assert_eq!(requests(&s, "POST", "/api/auth/login", "429"), Some(1.0));
    assert_eq!(requests(&s, "GET", "unmatched", "404"), Some(1.0));
    assert!(
        !s.samples
            .iter()
            .any(|x| x.labels.values().any(|v| v.contains("/no/such"))),
        "raw paths never become labels"
    );
    let token_ok = [("method", "POST"), ("route", "/token"), ("status", "200")];
    let latency = buckets(&s, "portcullis_http_request_duration_seconds", &token_ok);
    assert_eq!(latency.len(), 14, "13 buckets and +Inf: {latency:?}");
    assert_eq!(latency.first().map(|b| b.0), Some(0.0005));
    assert_eq!(latency.last(), Some(&(f64::INFINITY, 2.0)));
    assert!(latency.windows(2).all(|w| w[0].1 <= w[1].1), "{latency:?}");
    let count = "portcullis_http_request_duration_seconds_count";
    assert_eq!(value(&s, count, &token_ok), Some(2.0));
    let sum = value(
        &s,
        "portcullis_http_request_duration_seconds_sum",
        &token_ok,
    )
    .unwrap();
    assert!(sum > 0.0 && sum < 5.0, "{sum}");

    // Tokens by grant and algorithm (/token and the account API), errors by RFC code.
    let issued = "portcullis_tokens_issued_total";
    let cc = [("grant", "client_credentials"), ("alg", "RS256")];
    assert_eq!(value(&s, issued, &cc), Some(1.0));
    let cc_es = [("grant", "client_credentials"), ("alg", "ES256")];
    assert_eq!(value(&s, issued, &cc_es), Some(1.0));
    let pw = [("grant", "password"), ("alg", "RS256")];
    assert_eq!(value(&s, issued, &pw), Some(1.0));
    let errors = "portcullis_token_errors_total";
    assert_eq!(value(&s, errors, &[("error", "invalid_client")]), Some(1.0));
    let unsupported = [("error", "unsupported_grant_type")];
    assert_eq!(value(&s, errors, &unsupported), Some(1.0));

    // Logins by result, and the lockout the failure caused.
    let logins = "portcullis_logins_total";
    assert_eq!(value(&s, logins, &[("result", "success")]), Some(1.0));
    assert_eq!(
        value(&s, logins, &[("result", "bad_credentials")]),
        Some(1.0)
    );
    assert_eq!(value(&s, logins, &[("result", "throttled")]), Some(1.0));
    assert_eq!(value(&s, "portcullis_lockouts_total", &[]), Some(1.0));

    // The database: queue, waits, pool (size 4 in the tests).
    assert_eq!(value(&s, "portcullis_db_queue_depth", &[]), Some(0.0));
    let waits = value(&s, "portcullis_db_wait_seconds_count", &[]).unwrap();
    assert!(
        waits >= 6.0,
        "every request above used the database: {waits}"
    );
    assert_eq!(value(&s, "portcullis_db_max_connections", &[]), Some(4.0));
    let in_use = value(&s, "portcullis_db_connections", &[("state", "in_use")]).unwrap();
    let idle = value(&s, "portcullis_db_connections", &[("state", "idle")]).unwrap();
    assert!(
        in_use >= 0.0 && idle >= 1.0 && in_use + idle <= 4.0,
        "{in_use} {idle}"
    );
    assert_eq!(
        value(&s, "portcullis_password_hash_queue_depth", &[]),
        Some(0.0)
    );

    // Key ages, read at scrape time with the server's clock.
    let ready: Value = app
        .api
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ages = "portcullis_signing_key_age_seconds";
    for alg in ["RS256", "ES256"] {
        let kid = ready["signing_kids"][alg].as_str().unwrap();
        let key = [("kid", kid), ("alg", alg), ("status", "active")];
        let age = value(&s, ages, &key).unwrap();
        assert!((0.0..120.0).contains(&age), "{alg}: {age}");
    }
    let kid = ready["signing_kid"].as_str().unwrap();
    let key = [("kid", kid), ("alg", "RS256"), ("status", "active")];
    app.clock.advance(3600);
    let later = scrape(&app).await;
    let aged = value(&later, ages, &key).unwrap();
    assert!((3600.0..3720.0).contains(&aged), "{aged}");
    // The first scrape is counted like any request.
    assert_eq!(requests(&later, "GET", "/metrics", "200"), Some(1.0));

    let build = s
        .samples
        .iter()
        .find(|x| x.metric == "portcullis_build_info")
        .unwrap();
    assert_eq!(build.labels.get("version"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(build.value, Metric::Gauge(1.0));
    for family in [
        "portcullis_http_requests_total",
        "portcullis_http_request_duration_seconds",
        "portcullis_tokens_issued_total",
        "portcullis_token_errors_total",
        "portcullis_logins_total",
        "portcullis_lockouts_total",
        "portcullis_db_wait_seconds",
        "portcullis_signing_key_age_seconds",
    ] {
        assert!(s.docs.contains_key(family), "no HELP for {family}");
    }
}

async fn a_bearer_token_guards_metrics(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.metrics.bearer_token = Some("scrape-me-please".into())
    })
    .await;
    let get = |auth: Option<&'static str>| {
        let mut req = app.api.get(app.url("/metrics"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    let none = get(None).await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"metrics\""
    );
    assert_eq!(none.text().await.unwrap(), "");
    assert_eq!(
        get(Some("Bearer scrape-me-pleas")).await.unwrap().status(),
        401
    );
    assert_eq!(
        get(Some("Basic scrape-me-please")).await.unwrap().status(),
        401
    );
    let ok = get(Some("Bearer scrape-me-please")).await.unwrap();
    assert_eq!(ok.status(), 200);
    let s = parse(&ok.text().await.unwrap());
    assert!(s
        .samples
        .iter()
        .any(|x| x.metric == "portcullis_build_info"));
    // The refused scrapes were requests like any other.
    assert_eq!(requests(&s, "GET", "/metrics", "401"), Some(3.0));

    // `config show` never prints it.
    let shown = app.settings.redacted().to_string();
    assert!(!shown.contains("scrape-me-please"), "{shown}");
}

async fn a_separate_listener_serves_metrics_alone(backend: Backend) {
    let test_db = TestDb::new(backend);
    let keys = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        issuer: "http://127.0.0.1:0".into(),
        database_url: test_db.url.clone(),
        database_pool_size: Some(2),
        keys_dir: keys.path().join("keys"),
        workers: Some(1),
        metrics: portcullis::config::MetricsSettings {
            bind: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        ..Settings::default()
    };
    if backend == Backend::Postgres {
        settings.keys.encryption_key = Some(crate::key_helpers::TEST_KEK.into());
    }
    let app = Application::build_with_clock(settings, Arc::new(ManualClock::starting_now()))
        .await
        .unwrap();
    let (main, metrics) = (app.issuer().to_string(), app.metrics_port().unwrap());
    assert_ne!(metrics, app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();

    let health = http.get(format!("{main}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let on_main = http.get(format!("{main}/metrics")).send().await.unwrap();
    assert_eq!(on_main.status(), 404);
    let base = format!("http://127.0.0.1:{metrics}");
    let resp = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let s = parse(&resp.text().await.unwrap());
    // The main listener's requests are in it; the metrics listener serves nothing else.
    assert_eq!(requests(&s, "GET", "/healthz", "200"), Some(1.0));
    assert_eq!(requests(&s, "GET", "unmatched", "404"), Some(1.0));
    let other = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(other.status(), 404);
    server.abort();
}

async fn disabled_metrics_are_not_served(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.metrics.enabled = false).await;
    let client = app.service_client();
    let ok = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(ok.status(), 200);
    let resp = app.api.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    // Enabled is the default.
    let on = spawn_app(backend).await;
    assert!(on.settings.metrics.enabled);
    assert_eq!(
        on.api
            .get(on.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
