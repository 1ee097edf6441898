//! Client ID metadata documents: a URL client_id whose document a local https host serves (its
//! own CA, trusted through `clients.metadata_document_ca_file`) signs users in with PKCE; bad
//! documents, unlisted redirect URIs and private addresses are refused with an error page; the
//! document is fetched once within its max-age; the policy turns it all off or limits it.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::config::{MetadataDocumentPolicy, Settings};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::doc_host::{Answer, DocHost};
use crate::helpers::{spawn_app_with, spawn_sibling_with, Backend, TestApp, TestClient};
use crate::web::{self, browser, pkce, REDIRECT_URI};

mod refusals;

both_backends!(
    a_url_client_signs_in_with_pkce_and_is_fetched_once,
    a_stale_document_is_fetched_again_and_replaces_the_client,
);

/// Trusts the host's CA, allows loopback (the host is on it), a 1 s time cap.
pub(crate) fn trusting(host: &DocHost) -> impl FnOnce(&mut Settings) {
    let ca = host.ca_file.clone();
    move |s: &mut Settings| {
        s.clients.metadata_document_ca_file = Some(ca);
        s.clients.metadata_document_allow_loopback = true;
        s.clients.metadata_document_timeout_secs = 1;
    }
}

pub(crate) fn document(url: &str) -> Value {
    json!({
        "client_id": url,
        "client_name": "Agent Tool",
        "client_uri": "https://tool.example",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "openid profile offline_access",
    })
}

/// The error page an authorization request with `client_id` gets: 400, HTML, no redirect.
pub(crate) async fn refused(app: &TestApp, client_id: &str) -> String {
    let (_, challenge) = pkce();
    let client = TestClient {
        id: client_id.into(),
        secret: String::new(),
    };
    let params = TestApp::code_request(&client, &challenge, "openid");
    let resp = browser()
        .get(app.authorize_url(&params))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    resp.text().await.unwrap()
}

pub(crate) fn assert_refused(html: &str, url: &str, reason: &str) {
    assert_eq!(
        web::text(html, "#error-title").as_deref(),
        Some("This application can't be used")
    );
    assert_eq!(
        web::text(html, "#error-message").unwrap_or_default(),
        format!("The application's metadata document at {url} could not be used: {reason}.")
    );
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn a_url_client_signs_in_with_pkce_and_is_fetched_once(backend: Backend) {
    let host = DocHost::start();
    let url = host.url("/oauth/client.json");
    host.answer(
        "/oauth/client.json",
        Answer::json(&document(&url), Some("public, max-age=600")),
    );
    let app = spawn_app_with(backend, trusting(&host)).await;
    let discovery: Value = app
        .api
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["client_id_metadata_document_supported"], true);
    let user = app.create_user("ada@example.com", "student").await;
    let client = TestClient {
        id: url.clone(),
        secret: String::new(),
    };
    let b = browser();

    let mut kept_refresh = String::new();
    for round in 1..=2 {
        let (verifier, challenge) = pkce();
        let params = TestApp::code_request(&client, &challenge, "openid profile offline_access");
        let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
        assert_eq!(resp.status(), 302, "{}", resp.text().await.unwrap());
        let mut next = web::location(&app, &resp);
        if round == 1 {
            assert!(next.contains("/login?"), "{next}");
            let resp = web::sign_in(&app, &b, &next, &user.email, &user.password).await;
            assert_eq!(resp.status(), 303);
            next = web::location(&app, &resp);
        }
        // Consent every time, with the unverified notice, the redirect host and the warning
        // that the answer goes to this computer.
        assert!(next.contains("/consent?"), "round {round}: {next}");
        let (status, _, html) = web::get(&b, &next).await;
        assert_eq!(status, 200);
        assert!(html.contains("Agent Tool"), "{html}");
        let notice = web::text(&html, "#unverified-client").expect("the unverified notice");
        assert!(notice.contains("Unverified application."), "{notice}");
        assert!(
            notice.contains("what localhost says about itself"),
            "{notice}"
        );
        assert_eq!(
            web::text(&html, "#redirect-host").as_deref(),
            Some("127.0.0.1:9")
        );
        let warning = web::text(&html, "#localhost-warning").expect("the localhost warning");
        assert!(
            warning.contains("The answer goes to a program on this computer (127.0.0.1:9)."),
            "{warning}"
        );
        let resp = web::decide(&app, &b, &next, "allow").await;
        assert_eq!(resp.status(), 303);
        let back = web::location(&app, &resp);
        assert!(back.starts_with(REDIRECT_URI), "{back}");
        let code = web::param(&back, "code").expect("a code");

        // A public client: client_id in the form, the PKCE verifier, no secret.
        let resp = reqwest::Client::new()
            .post(app.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", &url),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let tokens: Value = resp.json().await.unwrap();
        let id_token = claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(id_token["aud"], json!(url));
        assert_eq!(id_token["nonce"], "n-456");
        let access = claims(tokens["access_token"].as_str().unwrap());
        assert_eq!(access["client_id"], json!(url));
        assert_eq!(access["scope"], "openid profile offline_access");
        if round == 1 {
            kept_refresh = tokens["refresh_token"].as_str().unwrap().to_string();
        } else {
            let refresh = tokens["refresh_token"].as_str().unwrap();
            let resp = reqwest::Client::new()
                .post(app.url("/token"))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh),
                    ("client_id", &url),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
        }
    }
    // Two sign-ins within max-age: one fetch.
    assert_eq!(host.hits("/oauth/client.json"), 1);

    // An instance whose policy no longer accepts documents refuses the client's refresh tokens.
    let off = spawn_sibling_with(&app, |s, _| {
        s.clients.metadata_documents = MetadataDocumentPolicy::Off;
    })
    .await;
    let resp = reqwest::Client::new()
        .post(off.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", kept_refresh.as_str()),
            ("client_id", &url),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(
        body["error_description"],
        "this client's metadata document is no longer accepted: this server does not accept \
         applications identified by a URL"
    );

    // The code can't be redeemed without the verifier.
    let (_, challenge) = pkce();
    let params = TestApp::code_request(&client, &challenge, "openid");
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    let consent = web::location(&app, &resp);
    let resp = web::decide(&app, &b, &consent, "allow").await;
    let code = web::param(&web::location(&app, &resp), "code").unwrap();
    let resp = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", &url),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    // The first use is audited, once.
    let mut conn = app.db.get().unwrap();
    let events: Vec<_> = portcullis::store::audit::list(&mut conn, None, None, None, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "client_metadata_document")
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_id.as_deref(), Some(url.as_str()));
    let detail: Value = serde_json::from_str(events[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["first_use"], true);
    assert_eq!(detail["redirect_uris"], json!([REDIRECT_URI]));
}

/// A request for `client_id` sent to `redirect_uri`: its answer.
async fn ask(app: &TestApp, client_id: &str, redirect_uri: &str) -> reqwest::Response {
    let (_, challenge) = pkce();
    let client = TestClient {
        id: client_id.into(),
        secret: String::new(),
    };
    let mut params = TestApp::code_request(&client, &challenge, "openid");
    params.retain(|(k, _)| *k != "redirect_uri");
    params.push(("redirect_uri", redirect_uri));
    browser()
        .get(app.authorize_url(&params))
        .send()
        .await
        .unwrap()
}

async fn a_stale_document_is_fetched_again_and_replaces_the_client(backend: Backend) {
    let host = DocHost::start();
    let url = host.url("/c.json");
    let other = "http://127.0.0.1:9/other";
    let mut doc = document(&url);
    doc["redirect_uris"] = json!([REDIRECT_URI, other]);
    host.answer("/c.json", Answer::json(&doc, Some("max-age=120")));
    let app = spawn_app_with(backend, trusting(&host)).await;
    let started = app.clock_now();
    let row = |app: &TestApp| {
        let mut conn = app.db.get().unwrap();
        portcullis::store::clients::find(&mut conn, &url)
            .unwrap()
            .unwrap()
    };

    assert_eq!(ask(&app, &url, REDIRECT_URI).await.status(), 302);
    assert_eq!(row(&app).metadata_document_expires_at, Some(started + 120));
    app.clock.advance(60);
    assert_eq!(ask(&app, &url, other).await.status(), 302);
    assert_eq!(host.hits("/c.json"), 1);

    // Past max-age the next request fetches again, and the new document replaces the client
    // whole: a redirect URI it no longer lists is refused.
    doc["redirect_uris"] = json!([other]);
    doc["client_name"] = json!("Agent Tool 2");
    host.answer("/c.json", Answer::json(&doc, Some("no-store")));
    app.clock.advance(61);
    let resp = ask(&app, &url, REDIRECT_URI).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("The redirect_uri is not registered for this application."),
        "{html}"
    );
    assert_eq!(host.hits("/c.json"), 2);
    let now = app.clock_now();
    let stored = row(&app);
    assert_eq!(stored.name, "Agent Tool 2");
    assert_eq!(stored.redirect_uris, json!([other]).to_string());
    // no-store: the shortest lifetime.
    assert_eq!(stored.metadata_document_expires_at, Some(now + 60));
    assert_eq!(stored.created_at, started);
    assert_eq!(ask(&app, &url, other).await.status(), 302);
    assert_eq!(host.hits("/c.json"), 2);

    // A document that is gone is not replaced by the stale copy.
    host.answer(
        "/c.json",
        Answer::Body {
            status: 410,
            content_type: "text/plain".into(),
            cache_control: None,
            body: "gone".into(),
            length: true,
        },
    );
    app.clock.advance(61);
    assert_refused(&refused(&app, &url).await, &url, "it answered HTTP 410");
    assert_eq!(host.hits("/c.json"), 3);

    let mut conn = app.db.get().unwrap();
    let changes: Vec<Value> = portcullis::store::audit::list(&mut conn, None, None, None, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "client_metadata_document")
        .map(|e| serde_json::from_str(e.detail.as_deref().unwrap()).unwrap())
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes
        .iter()
        .any(|d| d["first_use"] == false && d["name"] == "Agent Tool 2"));
}
