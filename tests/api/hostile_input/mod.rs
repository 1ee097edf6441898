//! Hostile text on every text field of every JSON and form endpoint (issue 11): control
//! characters are refused at the edge with 400 `invalid_request` in the endpoint's error shape
//! (RFC 6749 JSON, the account API's JSON, an HTML page) on both backends, and nothing is
//! written; bidi overrides are refused in names (and emails and passwords); a body dribbled at
//! 1 byte/s is cut off with 408.
mod world;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use self::world::Endpoint::*;
use self::world::{send, world, Endpoint, Shape, FIELDS};
use crate::both_backends;
use crate::helpers::{assert_oauth_error, spawn_app_with, Backend, TestApp, PASSWORD};
use crate::web::{location, REDIRECT_URI};

both_backends!(
    control_characters_are_refused_everywhere,
    bidi_controls_are_refused_in_names,
    slow_bodies_are_cut_off_with_408,
);

/// NUL, ESC, a C1 control (CSI), DEL, and tab and newline (no field needs them either).
const CONTROLS: [char; 6] = ['\u{0}', '\u{1B}', '\u{9B}', '\u{7F}', '\t', '\n'];
/// RIGHT-TO-LEFT OVERRIDE: not a control character, refused in names.
const BIDI: char = '\u{202E}';

/// Asserts a 4xx in `shape` with `error` (for JSON shapes); returns the body.
async fn assert_refused(resp: reqwest::Response, status: u16, shape: Shape, error: &str) -> String {
    let what = format!("{} {}", resp.url().path(), resp.status());
    match shape {
        Shape::OAuth => {
            assert_oauth_error(resp, status, error).await;
            String::new()
        }
        Shape::Api => {
            assert_eq!(resp.status().as_u16(), status, "{what}");
            assert_eq!(resp.headers()["content-type"], "application/json", "{what}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"], error, "{what}: {body}");
            assert!(body["error_description"].is_string(), "{body}");
            body.to_string()
        }
        Shape::Page => {
            assert_eq!(resp.status().as_u16(), status, "{what}");
            let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
            assert!(ct.starts_with("text/html"), "{what}: {ct}");
            resp.text().await.unwrap()
        }
    }
}

/// What the database holds that a request could add: users, API keys, audit events.
fn counts(app: &TestApp) -> (usize, usize, usize) {
    let mut c = app.db.get().unwrap();
    (
        portcullis::store::users::list(&mut c).unwrap().len(),
        portcullis::store::api_keys::list(&mut c, None)
            .unwrap()
            .len(),
        portcullis::store::audit::list(&mut c, None, None, None, 100_000)
            .unwrap()
            .len(),
    )
}

async fn control_characters_are_refused_everywhere(backend: Backend) {
    let w = world(backend).await;
    let before = counts(&w.app);
    for (endpoint, field, shape) in FIELDS {
        for c in CONTROLS {
            let value = format!("ok{c}ok");
            let resp = send(&w, *endpoint, field, &value).await;
            let label = format!("{endpoint:?} {field} {c:?}");
            let status = resp.status().as_u16();
            assert_eq!(status, 400, "{label}");
            let body = assert_refused(resp, 400, *shape, "invalid_request").await;
            if *shape == Shape::Page {
                assert!(body.contains("control characters"), "{label}: {body}");
            }
        }
    }
    assert_eq!(counts(&w.app), before, "nothing is written");
    // The requests were fine but for the character: the same with "ok" instead works.
    let resp = send(&w, ApiKeys, "name", "ok").await;
    assert_eq!(resp.status(), 201);
}

/// Bidi overrides: refused in names (and emails and new passwords); elsewhere the protocol's
/// usual answer for a wrong value, never a 5xx.
async fn bidi_controls_are_refused_in_names(backend: Backend) {
    let w = world(backend).await;
    let users_before = counts(&w.app).0;
    // (endpoint, field, status, shape, error)
    let expected: &[(Endpoint, &str, u16, Shape, &str)] = &[
        (ApiRegister, "email", 422, Shape::Api, "invalid_email"),
        (ApiRegister, "password", 422, Shape::Api, "weak_password"),
        (ApiRegister, "name", 422, Shape::Api, "invalid_name"),
        (ApiLogin, "email", 401, Shape::Api, "invalid_credentials"),
        (ApiLogin, "password", 401, Shape::Api, "invalid_credentials"),
        (
            ApiPassword,
            "current_password",
            403,
            Shape::Api,
            "invalid_credentials",
        ),
        (
            ApiPassword,
            "new_password",
            422,
            Shape::Api,
            "weak_password",
        ),
        (ApiKeys, "name", 422, Shape::Api, "invalid_request"),
        (ApiKeys, "scopes", 422, Shape::Api, "invalid_request"),
        (
            Token,
            "grant_type",
            400,
            Shape::OAuth,
            "unsupported_grant_type",
        ),
        (Token, "client_id", 401, Shape::OAuth, "invalid_client"),
        (Token, "username", 400, Shape::OAuth, "invalid_grant"),
        (Token, "password", 400, Shape::OAuth, "invalid_grant"),
        (Token, "scope", 400, Shape::OAuth, "invalid_scope"),
        (Token, "refresh_token", 400, Shape::OAuth, "invalid_grant"),
        (Token, "code", 400, Shape::OAuth, "invalid_grant"),
        (Token, "redirect_uri", 400, Shape::OAuth, "invalid_grant"),
        (Token, "code_verifier", 400, Shape::OAuth, "invalid_grant"),
        (Authorize, "client_id", 400, Shape::Page, ""),
        (Authorize, "redirect_uri", 400, Shape::Page, ""),
        (LoginForm, "username", 400, Shape::Page, ""),
        (LoginForm, "password", 400, Shape::Page, ""),
        (LoginForm, "csrf_token", 403, Shape::Page, ""),
        (RegisterForm, "email", 400, Shape::Page, ""),
        (RegisterForm, "password", 400, Shape::Page, ""),
        (RegisterForm, "name", 400, Shape::Page, ""),
        (ConsentForm, "csrf_token", 403, Shape::Page, ""),
        (ConsentForm, "request", 400, Shape::Page, ""),
    ];
    for (endpoint, field, status, shape, error) in expected {
        let resp = send(&w, *endpoint, field, &format!("ok{BIDI}ok")).await;
        let label = format!("{endpoint:?} {field}");
        assert_eq!(resp.status().as_u16(), *status, "{label}");
        assert_refused(resp, *status, *shape, error).await;
    }
    assert_eq!(counts(&w.app).0, users_before, "no user is created");
    let mut c = w.app.db.get().unwrap();
    assert!(portcullis::store::api_keys::list(&mut c, None)
        .unwrap()
        .is_empty());

    // Opaque values are not names: RFC 7662 and RFC 7009 answer an unknown token with 200;
    // /authorize sends errors about the request back to the (registered) redirect URI, and a
    // state is the client's to choose.
    let resp = send(&w, Introspect, "token", &format!("ok{BIDI}")).await;
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({ "active": false })
    );
    let resp = send(&w, Revoke, "token", &format!("ok{BIDI}")).await;
    assert_eq!(resp.status(), 200);
    for (field, error) in [
        ("response_type", Some("unsupported_response_type")),
        ("scope", Some("invalid_scope")),
        ("code_challenge", Some("invalid_request")),
        ("state", None),
    ] {
        let resp = send(&w, Authorize, field, &format!("ok{BIDI}")).await;
        assert_eq!(resp.status(), 302, "{field}");
        let to = location(&w.app, &resp);
        match error {
            Some(e) => {
                assert!(to.starts_with(REDIRECT_URI), "{field}: {to}");
                assert_eq!(crate::web::param(&to, "error").as_deref(), Some(e), "{to}");
            }
            None => assert!(to.contains("/login?"), "{field}: {to}"),
        }
    }
}

/// Sends headers announcing a 64-byte body, then a byte a second; returns the answer and
/// how long it took to come.
async fn dribble(port: u16, path: &str, content_type: &str) -> (String, Duration) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n\
         Content-Length: 64\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let dribbler = tokio::spawn(async move {
        for _ in 0..64 {
            if writer.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut answer)).await;
    let took = started.elapsed();
    dribbler.abort();
    assert!(read.is_ok(), "the connection was not closed within 10 s");
    (String::from_utf8_lossy(&answer).into_owned(), took)
}

async fn slow_bodies_are_cut_off_with_408(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.http.body_timeout_secs = 2).await;
    for (path, content_type) in [
        ("/token", "application/x-www-form-urlencoded"),
        ("/api/auth/login", "application/json"),
        ("/login", "application/x-www-form-urlencoded"),
    ] {
        let (answer, took) = dribble(app.port, path, content_type).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
        assert!(took >= Duration::from_millis(1900), "{path}: {took:?}");
        assert!(took < Duration::from_secs(5), "{path}: {took:?}");
        if path == "/login" {
            assert!(answer.contains("text/html"), "{answer}");
        } else {
            assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");
        }
    }
    // A body sent at once is unaffected.
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": "nobody@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
