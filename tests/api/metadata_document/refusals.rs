//! Refusals: bad documents, unusable URLs, private addresses, the policy. Each is an HTML error
//! page naming the document and why, never a redirect.
use portcullis::config::MetadataDocumentPolicy;
use serde_json::{json, Value};

use super::{assert_refused, document, refused, trusting};
use crate::both_backends;
use crate::doc_host::{Answer, DocHost};
use crate::helpers::{spawn_app_with, Backend, TestApp, TestClient};
use crate::web::{self, browser, pkce};

both_backends!(
    bad_documents_are_refused_with_a_page,
    private_addresses_are_refused_before_any_request,
    the_policy_turns_documents_off_or_limits_them,
    fetches_are_budgeted_per_source,
);

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
             support for metadata documents (use none, with PKCE)"
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

/// Each fetch is a request made for whoever asked: `metadata_document_fetches_per_minute` per
/// source. Over it, a 429 page before any request; a stored fresh copy costs nothing.
async fn fetches_are_budgeted_per_source(backend: Backend) {
    let host = DocHost::start();
    let trust = trusting(&host);
    let app = spawn_app_with(backend, move |s| {
        trust(s);
        s.clients.metadata_document_fetches_per_minute = 2;
    })
    .await;
    let ask = |path: &str| {
        let client = TestClient {
            id: host.url(path),
            secret: String::new(),
        };
        let (_, challenge) = pkce();
        let params = TestApp::code_request(&client, &challenge, "openid");
        let url = app.authorize_url(&params);
        async move { browser().get(url).send().await.unwrap() }
    };
    for path in ["/a", "/b", "/c"] {
        host.answer(
            path,
            Answer::json(&document(&host.url(path)), Some("max-age=600")),
        );
    }
    for path in ["/a", "/b"] {
        let resp = ask(path).await;
        assert_eq!(resp.status(), 302, "{path}");
        assert!(web::location(&app, &resp).contains("/login?request="));
    }
    let resp = ask("/c").await;
    assert_eq!(resp.status(), 429);
    let retry: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let html = resp.text().await.unwrap();
    assert_eq!(
        web::text(&html, "#error-title").as_deref(),
        Some("Too many requests")
    );
    assert_eq!(host.hits("/c"), 0, "nothing was sent");
    // The stored copy of /a is fresh: no fetch, no budget.
    assert_eq!(ask("/a").await.status(), 302);
    assert_eq!(host.hits("/a"), 1);
    // A minute later the budget is back.
    app.clock.advance(61);
    assert_eq!(ask("/c").await.status(), 302);
    assert_eq!(host.hits("/c"), 1);
}
