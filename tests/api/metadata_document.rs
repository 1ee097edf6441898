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
use crate::helpers::{spawn_app_with, Backend, TestApp, TestClient};
use crate::web::{self, browser, pkce, REDIRECT_URI};

both_backends!(
    a_url_client_signs_in_with_pkce_and_is_fetched_once,
    bad_documents_are_refused_with_a_page,
    private_addresses_are_refused_before_any_request,
    the_policy_turns_documents_off_or_limits_them,
);

/// Trusts the host's CA, allows loopback (the host is on it), a 1 s time cap.
fn trusting(host: &DocHost) -> impl FnOnce(&mut Settings) {
    let ca = host.ca_file.clone();
    move |s: &mut Settings| {
        s.clients.metadata_document_ca_file = Some(ca);
        s.clients.metadata_document_allow_loopback = true;
        s.clients.metadata_document_timeout_secs = 1;
    }
}

fn document(url: &str) -> Value {
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
async fn refused(app: &TestApp, client_id: &str) -> String {
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

fn assert_refused(html: &str, url: &str, reason: &str) {
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
        if round == 2 {
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

async fn bad_documents_are_refused_with_a_page(backend: Backend) {
    let host = DocHost::start();
    let app = spawn_app_with(backend, trusting(&host)).await;
    let good = |path: &str| document(&host.url(path));

    // An unlisted redirect URI: the document is good, the request is not.
    host.answer("/good", Answer::json(&good("/good"), None));
    let (_, challenge) = pkce();
    let client = TestClient {
        id: host.url("/good"),
        secret: String::new(),
    };
    let mut params = TestApp::code_request(&client, &challenge, "openid");
    params.retain(|(k, _)| *k != "redirect_uri");
    params.push(("redirect_uri", "https://evil.example/cb"));
    let resp = browser()
        .get(app.authorize_url(&params))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("The redirect_uri is not registered for this application."),
        "{html}"
    );

    let mut mismatched = good("/mismatch");
    mismatched["client_id"] = json!(host.url("/other"));
    host.answer("/mismatch", Answer::json(&mismatched, None));
    let big = json!({"client_id": host.url("/big"), "client_name": "x".repeat(6000)});
    host.answer("/big", Answer::json(&big, None));
    host.answer(
        "/big-unannounced",
        Answer::Body {
            status: 200,
            content_type: "application/json".into(),
            cache_control: None,
            body: json!({"padding": "x".repeat(6000)}).to_string(),
            length: false,
        },
    );
    host.answer(
        "/slow",
        Answer::Slow(
            std::time::Duration::from_millis(2500),
            Box::new(Answer::json(&good("/slow"), None)),
        ),
    );
    host.answer("/moved", Answer::Redirect(host.url("/good")));
    host.answer(
        "/html",
        Answer::Body {
            status: 200,
            content_type: "text/html".into(),
            cache_control: None,
            body: good("/html").to_string(),
            length: true,
        },
    );
    let mut secret = good("/secret");
    secret["token_endpoint_auth_method"] = json!("client_secret_basic");
    host.answer("/secret", Answer::json(&secret, None));
    let mut jwt = good("/jwt");
    jwt["token_endpoint_auth_method"] = json!("private_key_jwt");
    jwt["jwks_uri"] = json!("https://tool.example/jwks.json");
    host.answer("/jwt", Answer::json(&jwt, None));
    let mut wildcard = good("/wildcard");
    wildcard["redirect_uris"] = json!(["https://*.tool.example/cb"]);
    host.answer("/wildcard", Answer::json(&wildcard, None));

    let cases = [
        (
            "/mismatch",
            "its client_id does not match the URL it was fetched from".to_string(),
        ),
        ("/big", "it is larger than 5120 bytes".into()),
        ("/big-unannounced", "it is larger than 5120 bytes".into()),
        ("/slow", "it did not answer within 1 s".into()),
        (
            "/moved",
            "it answered with a redirect (HTTP 302), which is not followed".into(),
        ),
        (
            "/html",
            "its Content-Type is \"text/html\", not application/json".into(),
        ),
        ("/missing", "it answered HTTP 404".into()),
        (
            "/secret",
            "it asks for token_endpoint_auth_method client_secret_basic: a metadata document \
             cannot use a client secret"
                .into(),
        ),
        (
            "/jwt",
            "it asks for token_endpoint_auth_method private_key_jwt, which this server does not \
             support yet (use none, with PKCE)"
                .into(),
        ),
        (
            "/wildcard",
            "redirect URI https://*.tool.example/cb has a wildcard: register every redirect URI \
             exactly"
                .into(),
        ),
    ];
    for (path, reason) in &cases {
        let html = refused(&app, &host.url(path)).await;
        assert_refused(&html, &host.url(path), reason);
        assert_eq!(host.hits(path), 1, "{path}");
    }
    assert_eq!(host.hits("/good"), 1, "a redirect is never followed");
    // A failure is remembered briefly: asking again doesn't reach the host.
    let html = refused(&app, &host.url("/mismatch")).await;
    assert_refused(&html, &host.url("/mismatch"), &cases[0].1);
    assert_eq!(host.hits("/mismatch"), 1);
    // URLs that can't name a document are refused without a request.
    for (id, reason) in [
        (
            format!("https://localhost:{}/", host.port),
            "the URL must have a path (https://example.com/client.json)",
        ),
        (
            format!("https://localhost:{}/a/../good", host.port),
            "the URL must not hold . or .. path segments",
        ),
        (
            format!("https://localhost:{}/good#x", host.port),
            "the URL must not have a fragment",
        ),
        (
            format!("https://me:pw@localhost:{}/good", host.port),
            "the URL must not carry a user name or password",
        ),
        (
            "http://tool.example/client.json".to_string(),
            "the URL must use https",
        ),
    ] {
        let html = refused(&app, &id).await;
        assert_refused(&html, &id, reason);
    }
    assert_eq!(host.hits("/good"), 1);
}

async fn private_addresses_are_refused_before_any_request(backend: Backend) {
    let host = DocHost::start();
    host.answer("/good", Answer::json(&document(&host.url("/good")), None));
    let ca = host.ca_file.clone();
    // Loopback is not allowed here (the production default).
    let app = spawn_app_with(backend, move |s| {
        s.clients.metadata_document_ca_file = Some(ca);
        s.clients.metadata_document_timeout_secs = 1;
    })
    .await;
    let html = refused(&app, &host.url("/good")).await;
    assert!(
        html.contains("its host is on a private or reserved address (127.0.0.1)")
            || html.contains("its host is on a private or reserved address (::1)"),
        "{html}"
    );
    let literal = format!("https://127.0.0.1:{}/good", host.port);
    assert_refused(
        &refused(&app, &literal).await,
        &literal,
        "its host is on a private or reserved address (127.0.0.1), which this server does not \
         contact",
    );
    assert_eq!(host.hits("/good"), 0);
    for (id, ip) in [
        ("https://10.0.0.1/client.json", "10.0.0.1"),
        (
            "https://169.254.169.254/latest/meta-data",
            "169.254.169.254",
        ),
        ("https://[fd00::1]/client.json", "fd00::1"),
        (
            "https://[::ffff:192.168.0.1]/client.json",
            "::ffff:192.168.0.1",
        ),
    ] {
        assert_refused(
            &refused(&app, id).await,
            id,
            &format!(
                "its host is on a private or reserved address ({ip}), which this server does \
                 not contact"
            ),
        );
    }
    // Plain http is refused even on loopback without the development setting.
    let http = format!("http://127.0.0.1:{}/good", host.port);
    assert_refused(&refused(&app, &http).await, &http, "the URL must use https");
}

async fn the_policy_turns_documents_off_or_limits_them(backend: Backend) {
    let host = DocHost::start();
    let url = host.url("/client.json");
    host.answer("/client.json", Answer::json(&document(&url), None));

    let trust = trusting(&host);
    let off = spawn_app_with(backend, move |s| {
        trust(s);
        s.clients.metadata_documents = MetadataDocumentPolicy::Off;
    })
    .await;
    let discovery: Value = off
        .api
        .get(off.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(discovery
        .get("client_id_metadata_document_supported")
        .is_none());
    assert_refused(
        &refused(&off, &url).await,
        &url,
        "this server does not accept applications identified by a URL",
    );

    let trust = trusting(&host);
    let elsewhere = spawn_app_with(backend, move |s| {
        trust(s);
        s.clients.metadata_documents = MetadataDocumentPolicy::Listed;
        s.clients.metadata_document_domains = vec!["example.com".into()];
    })
    .await;
    assert_refused(
        &refused(&elsewhere, &url).await,
        &url,
        "this server accepts documents only from listed domains, and localhost is not one",
    );
    assert_eq!(host.hits("/client.json"), 0);

    let trust = trusting(&host);
    let listed = spawn_app_with(backend, move |s| {
        trust(s);
        s.clients.metadata_documents = MetadataDocumentPolicy::Listed;
        s.clients.metadata_document_domains = vec!["example.com".into(), "localhost".into()];
    })
    .await;
    let (_, challenge) = pkce();
    let client = TestClient {
        id: url.clone(),
        secret: String::new(),
    };
    let params = TestApp::code_request(&client, &challenge, "openid");
    let resp = browser()
        .get(listed.authorize_url(&params))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert!(web::location(&listed, &resp).contains("/login?"));
    assert_eq!(host.hits("/client.json"), 1);
}
