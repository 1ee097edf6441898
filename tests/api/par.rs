//! Pushed authorization requests (RFC 9126): `POST /par` authenticated as `/token`, the
//! `request_uri` single use, bound to its client and short-lived, per-client and global
//! `require_pushed_authorization_requests`, discovery, the purge.
use serde_json::Value;

use crate::helpers::{assert_oauth_error, spawn_app, spawn_app_with, Backend, TestApp, TestClient};
use crate::web::{self, browser, param, REDIRECT_URI};

crate::both_backends!(
    pushed_request_runs_the_whole_code_flow,
    request_uri_is_single_use,
    request_uri_race_has_one_winner,
    expired_request_uri_is_refused_and_purged,
    request_uri_belongs_to_its_client,
    par_authenticates_the_client_as_token_does,
    par_validates_the_request_as_authorize_does,
    require_par_client_must_push,
    global_require_par_and_discovery,
);

/// `POST /par` with HTTP Basic.
async fn push(app: &TestApp, client: &TestClient, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/par"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Pushes a code request; returns the `request_uri` (asserting the 201 answer).
async fn pushed(app: &TestApp, client: &TestClient, challenge: &str) -> String {
    let resp = push(
        app,
        client,
        &TestApp::code_request(client, challenge, "openid"),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 60, "{body}");
    let uri = body["request_uri"].as_str().unwrap().to_string();
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:") && uri.len() > 60,
        "{uri}"
    );
    uri
}

/// Asserts an HTML error page (400, never a redirect) holding `needle`.
pub(crate) async fn assert_error_page(resp: reqwest::Response, needle: &str) {
    assert_eq!(resp.status().as_u16(), 400);
    assert!(
        resp.headers().get("location").is_none(),
        "a page, not a redirect"
    );
    let html = resp.text().await.unwrap();
    let message = web::text(&html, "#error-message").unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

async fn pushed_request_runs_the_whole_code_flow(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let user = app.create_user("ada@example.com", "student").await;
    let (verifier, challenge) = web::pkce();
    let uri = pushed(&app, &client, &challenge).await;
    // Only client_id and request_uri travel through the browser; a state sent beside them is
    // ignored (RFC 9126 §4): the pushed one comes back.
    let b = browser();
    let back = web::authorize_through(
        &app,
        &b,
        &[
            ("client_id", &client.id),
            ("request_uri", &uri),
            ("state", "tampered"),
        ],
        &user.email,
        &user.password,
    )
    .await;
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    let code = param(&back, "code").expect("a code");
    let resp = web::exchange(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    assert!(tokens["access_token"].is_string(), "{tokens}");
    assert!(tokens["id_token"].is_string(), "{tokens}");
}

async fn request_uri_is_single_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let uri = pushed(&app, &client, &challenge).await;
    let url = app.authorize_url(&[("client_id", &client.id), ("request_uri", &uri)]);
    let first = browser().get(&url).send().await.unwrap();
    assert_eq!(first.status(), 302);
    assert!(web::location(&app, &first).contains("/login?"));
    let again = browser().get(&url).send().await.unwrap();
    assert_error_page(again, "already used").await;
}

/// Two browsers racing with one request_uri: exactly one goes on.
async fn request_uri_race_has_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    for _ in 0..3 {
        let uri = pushed(&app, &client, &challenge).await;
        let url = app.authorize_url(&[("client_id", &client.id), ("request_uri", &uri)]);
        let (a, b) = (browser(), browser());
        let (ra, rb) = tokio::join!(a.get(&url).send(), b.get(&url).send());
        let mut statuses = [ra.unwrap().status().as_u16(), rb.unwrap().status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [302, 400]);
    }
}

async fn expired_request_uri_is_refused_and_purged(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let uri = pushed(&app, &client, &challenge).await;
    app.clock.advance(61);
    let url = app.authorize_url(&[("client_id", &client.id), ("request_uri", &uri)]);
    assert_error_page(browser().get(&url).send().await.unwrap(), "expired").await;

    let policy = portcullis::purge::Policy {
        grace_secs: 0,
        audit_retention_secs: None,
        batch_size: 100,
        max_access_token_ttl_secs: 3600,
    };
    let outcome = portcullis::purge::run(&app.db, "test", &policy, app.clock_now() + 1).unwrap();
    match outcome {
        portcullis::purge::Outcome::Ran { counts, .. } => {
            assert_eq!(counts.get("pushed_requests"), 1, "{counts:?}")
        }
        other => panic!("{other:?}"),
    }
}

async fn request_uri_belongs_to_its_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let other = app.code_client();
    let (_, challenge) = web::pkce();
    let uri = pushed(&app, &client, &challenge).await;
    let url = app.authorize_url(&[("client_id", &other.id), ("request_uri", &uri)]);
    assert_error_page(browser().get(&url).send().await.unwrap(), "unknown").await;
    // An unknown one of ours: the page.
    let url = app.authorize_url(&[
        ("client_id", &client.id),
        ("request_uri", "urn:ietf:params:oauth:request_uri:nope"),
    ]);
    assert_error_page(browser().get(&url).send().await.unwrap(), "unknown").await;
    // Not one of ours (a URL to fetch): request_uri_not_supported, sent to the client's only
    // registered redirect URI (OIDC Core §6.2).
    let url = app.authorize_url(&[
        ("client_id", &client.id),
        ("request_uri", "https://evil.example/r"),
    ]);
    let resp = browser().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let loc = web::location(&app, &resp);
    assert!(loc.starts_with(crate::web::REDIRECT_URI), "{loc}");
    assert_eq!(
        web::param(&loc, "error").as_deref(),
        Some("request_uri_not_supported")
    );
    // The other client's failed attempt did not consume it.
    let url = app.authorize_url(&[("client_id", &client.id), ("request_uri", &uri)]);
    assert_eq!(browser().get(&url).send().await.unwrap().status(), 302);
}

async fn par_authenticates_the_client_as_token_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let form = TestApp::code_request(&client, &challenge, "openid");
    // No credentials at all (client_id alone, a confidential client).
    let resp = reqwest::Client::new()
        .post(app.url("/par"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 401, "invalid_client").await;
    let wrong = TestClient {
        id: client.id.clone(),
        secret: "wrong".into(),
    };
    assert_oauth_error(push(&app, &wrong, &form).await, 401, "invalid_client").await;
    // client_secret_post works as well as Basic.
    let mut post = form.clone();
    post.push(("client_secret", &client.secret));
    let resp = reqwest::Client::new()
        .post(app.url("/par"))
        .form(&post)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    // GET is not the endpoint.
    let resp = reqwest::Client::new()
        .get(app.url("/par"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
}

async fn par_validates_the_request_as_authorize_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let with = |name: &'static str, value: &'static str| {
        let mut form = TestApp::code_request(&client, &challenge, "openid");
        match form.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => form.push((name, value)),
        }
        form
    };
    let resp = push(
        &app,
        &client,
        &with("redirect_uri", "http://evil.example/cb"),
    )
    .await;
    assert_oauth_error(resp, 400, "invalid_request").await;
    let resp = push(&app, &client, &with("scope", "openid admin:everything")).await;
    assert_oauth_error(resp, 400, "invalid_scope").await;
    let resp = push(&app, &client, &with("code_challenge_method", "plain")).await;
    assert_oauth_error(resp, 400, "invalid_request").await;
    let resp = push(&app, &client, &with("request_uri", "urn:x")).await;
    assert_oauth_error(resp, 400, "invalid_request").await;
    let resp = push(&app, &client, &with("response_type", "token")).await;
    assert_oauth_error(resp, 400, "unsupported_response_type").await;
    // Nothing was stored by the refusals.
    let none = TestApp::code_request(&client, &challenge, "openid");
    assert_eq!(push(&app, &client, &none).await.status().as_u16(), 201);
}

async fn require_par_client_must_push(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client_with(|s| s.require_par = true);
    let user = app.create_user("ada@example.com", "student").await;
    let (verifier, challenge) = web::pkce();
    let plain = app.authorize_url(&TestApp::code_request(&client, &challenge, "openid"));
    assert_error_page(browser().get(&plain).send().await.unwrap(), "push").await;
    let uri = pushed(&app, &client, &challenge).await;
    let b = browser();
    let back = web::authorize_through(
        &app,
        &b,
        &[("client_id", &client.id), ("request_uri", &uri)],
        &user.email,
        &user.password,
    )
    .await;
    assert!(back.starts_with(REDIRECT_URI));
    let code = param(&back, "code").unwrap();
    let resp = web::exchange(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    // Other clients are not affected.
    let free = app.code_client();
    let plain = app.authorize_url(&TestApp::code_request(&free, &challenge, "openid"));
    assert_eq!(browser().get(&plain).send().await.unwrap().status(), 302);
}

async fn discovery(app: &TestApp) -> Value {
    app.api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn global_require_par_and_discovery(backend: Backend) {
    let app = spawn_app(backend).await;
    let d = discovery(&app).await;
    assert_eq!(
        d["pushed_authorization_request_endpoint"],
        app.url("/par").as_str()
    );
    assert_eq!(d["require_pushed_authorization_requests"], false);
    drop(app);

    let app = spawn_app_with(backend, |s| {
        s.clients.require_pushed_authorization_requests = true
    })
    .await;
    let d = discovery(&app).await;
    assert_eq!(d["require_pushed_authorization_requests"], true);
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let plain = app.authorize_url(&TestApp::code_request(&client, &challenge, "openid"));
    assert_error_page(browser().get(&plain).send().await.unwrap(), "push").await;
    let uri = pushed(&app, &client, &challenge).await;
    let url = app.authorize_url(&[("client_id", &client.id), ("request_uri", &uri)]);
    assert_eq!(browser().get(&url).send().await.unwrap().status(), 302);
}
