//! CORS: public data for any origin; `/token`, `/revoke` and `/userinfo` only for the origins a
//! client allows (its redirect URIs' origins and its `--web-origin`s); nothing elsewhere.
use portcullis::oauth::registration::ClientSpec;
use reqwest::header::HeaderMap;
use reqwest::{Method, Response};
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app, Backend, TestApp, TestClient};

both_backends!(
    token_and_revoke_answer_the_named_clients_origins,
    userinfo_answers_any_clients_origins,
    preflights_answer_any_clients_origins,
    a_new_clients_origin_is_answered_within_the_cache_ttl,
);

/// The SPA's own origin (from its redirect URI) and the one added with `--web-origin`.
const SPA: &str = "http://127.0.0.1:5173";
const SPA_EXTRA: &str = "https://spa.example.com";
/// Allowed for another client only.
const OTHER: &str = "https://other.example.com";
const EVIL: &str = "https://evil.example.net";

const ACAO: &str = "access-control-allow-origin";

struct Clients {
    spa: TestClient,
    other: TestClient,
}

fn clients(app: &TestApp) -> Clients {
    let spa = app.create_client(ClientSpec {
        name: "spa".into(),
        public: true,
        grant_types: vec!["authorization_code,refresh_token".into()],
        scopes: vec!["openid profile email offline_access".into()],
        redirect_uris: vec![format!("{SPA}/callback")],
        web_origins: vec![SPA_EXTRA.into()],
        ..ClientSpec::default()
    });
    let other = app.create_client(ClientSpec {
        name: "other".into(),
        grant_types: vec!["authorization_code".into()],
        redirect_uris: vec![format!("{OTHER}/cb")],
        ..ClientSpec::default()
    });
    Clients { spa, other }
}

async fn post_form(
    app: &TestApp,
    path: &str,
    origin: &str,
    basic: Option<&TestClient>,
    form: &[(&str, &str)],
) -> Response {
    let mut req = app
        .api
        .post(app.url(path))
        .header("Origin", origin)
        .form(form);
    if let Some(c) = basic {
        req = req.basic_auth(&c.id, Some(&c.secret));
    }
    req.send().await.unwrap()
}

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> Response {
    app.api
        .request(Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "authorization, dpop")
        .send()
        .await
        .unwrap()
}

/// The origin is echoed (never `*`), varies by Origin, exposes the challenge headers, and says
/// nothing about credentials.
fn assert_allowed(headers: &HeaderMap, origin: &str) {
    assert_eq!(headers[ACAO], origin, "{headers:?}");
    assert!(vary_origin(headers), "{headers:?}");
    assert_eq!(
        headers["access-control-expose-headers"],
        "WWW-Authenticate, DPoP-Nonce"
    );
    assert!(!headers.contains_key("access-control-allow-credentials"));
}

fn assert_refused(headers: &HeaderMap) {
    assert!(!headers.contains_key(ACAO), "{headers:?}");
    assert!(!headers.contains_key("access-control-expose-headers"));
}

fn vary_origin(headers: &HeaderMap) -> bool {
    headers
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().contains("Origin"))
}

fn bogus_refresh(client_id: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", "not-a-refresh-token"),
        ("client_id", client_id),
    ]
}

async fn token_and_revoke_answer_the_named_clients_origins(backend: Backend) {
    let app = spawn_app(backend).await;
    let Clients { spa, other } = clients(&app);

    // An error answer carries the headers, so the app can read `invalid_grant`.
    for origin in [SPA, SPA_EXTRA] {
        let resp = post_form(&app, "/token", origin, None, &bogus_refresh(&spa.id)).await;
        let headers = crate::helpers::assert_oauth_error(resp, 400, "invalid_grant").await;
        assert_allowed(&headers, origin);
    }
    // Another client's origin, an unknown origin, a `null` origin: not for this client.
    for origin in [OTHER, EVIL, "null"] {
        let resp = post_form(&app, "/token", origin, None, &bogus_refresh(&spa.id)).await;
        let headers = crate::helpers::assert_oauth_error(resp, 400, "invalid_grant").await;
        assert_refused(&headers);
        assert!(vary_origin(&headers));
    }
    // An unknown client allows no origin.
    let resp = post_form(&app, "/token", SPA, None, &bogus_refresh("no-such-client")).await;
    assert_refused(resp.headers());

    // HTTP Basic names the client: a 401 with its challenge, readable from its origin.
    let wrong = TestClient {
        id: other.id.clone(),
        secret: "wrong".into(),
    };
    let form = [("grant_type", "authorization_code"), ("code", "x")];
    let resp = post_form(&app, "/token", OTHER, Some(&wrong), &form).await;
    let headers = crate::helpers::assert_oauth_error(resp, 401, "invalid_client").await;
    assert_allowed(&headers, OTHER);
    assert!(headers.contains_key("www-authenticate"));
    let resp = post_form(&app, "/token", SPA, Some(&wrong), &form).await;
    assert_refused(resp.headers());

    // A request naming no client is answered like a preflight: any client's origin.
    let resp = post_form(&app, "/token", SPA, None, &[("grant_type", "password")]).await;
    assert_eq!(resp.status(), 401);
    assert_allowed(resp.headers(), SPA);
    let resp = post_form(&app, "/token", EVIL, None, &[("grant_type", "password")]).await;
    assert_refused(resp.headers());

    // /revoke: the same rule (an unknown token is a 200).
    let form = [("token", "unknown"), ("client_id", spa.id.as_str())];
    let resp = post_form(&app, "/revoke", SPA_EXTRA, None, &form).await;
    assert_eq!(resp.status(), 200);
    assert_allowed(resp.headers(), SPA_EXTRA);
    let resp = post_form(&app, "/revoke", OTHER, None, &form).await;
    assert_eq!(resp.status(), 200);
    assert_refused(resp.headers());

    // Without an Origin (not a browser), nothing changes.
    let resp = app.token_basic(&other, &[("grant_type", "x")]).await;
    assert!(!resp.headers().contains_key(ACAO));
    assert!(!vary_origin(resp.headers()));
}

async fn userinfo_answers_any_clients_origins(backend: Backend) {
    let app = spawn_app(backend).await;
    clients(&app);
    let user = app.create_user("ada@example.com", "student").await;
    let client = app.password_client();
    let tokens: Value = app
        .password_grant_scoped(&client, &user.email, "openid email")
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    let userinfo = |origin: &'static str, token: String| {
        app.api
            .get(app.url("/userinfo"))
            .header("Origin", origin)
            .bearer_auth(token)
            .send()
    };
    for origin in [SPA, SPA_EXTRA, OTHER] {
        let resp = userinfo(origin, access.to_string()).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_allowed(resp.headers(), origin);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["email"], "ada@example.com");
    }
    let resp = userinfo(EVIL, access.to_string()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_refused(resp.headers());

    // A 401 is readable, with its (exposed) challenge.
    let resp = userinfo(SPA, "not-a-token".into()).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_allowed(resp.headers(), SPA);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

async fn preflights_answer_any_clients_origins(backend: Backend) {
    let app = spawn_app(backend).await;
    clients(&app);
    for (path, methods) in [
        ("/token", "POST"),
        ("/revoke", "POST"),
        ("/userinfo", "GET, POST"),
    ] {
        for origin in [SPA, SPA_EXTRA, OTHER] {
            let resp = preflight(&app, path, origin, "POST").await;
            assert_eq!(resp.status(), 204, "{path} from {origin}");
            let h = resp.headers();
            assert_eq!(h[ACAO], origin);
            assert_eq!(h["access-control-allow-methods"], methods);
            assert_eq!(
                h["access-control-allow-headers"],
                "Authorization, Content-Type, DPoP"
            );
            assert_eq!(h["access-control-max-age"], "600");
            assert!(vary_origin(h));
            assert!(!h.contains_key("access-control-allow-credentials"));
        }
        // Refused: 403 and no Access-Control-* header at all.
        for origin in [EVIL, "null", "http://127.0.0.1:5173/callback"] {
            let resp = preflight(&app, path, origin, "POST").await;
            assert_eq!(resp.status(), 403, "{path} from {origin}");
            assert!(
                resp.headers()
                    .keys()
                    .all(|k| !k.as_str().starts_with("access-control-")),
                "{:?}",
                resp.headers()
            );
        }
        // An OPTIONS that is no preflight stays what it was.
        let resp = app
            .api
            .request(Method::OPTIONS, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{path}");
    }
}

async fn a_new_clients_origin_is_answered_within_the_cache_ttl(backend: Backend) {
    let app = spawn_app(backend).await;
    const LATE: &str = "https://late.example.com";
    assert_eq!(
        preflight(&app, "/userinfo", LATE, "GET").await.status(),
        403
    );
    app.create_client(ClientSpec {
        name: "late".into(),
        web_origins: vec![LATE.into()],
        ..ClientSpec::default()
    });
    // The instance answers from its cache for up to TTL_SECS, then sees the new client.
    app.clock.advance(portcullis::http::cors::TTL_SECS);
    let resp = preflight(&app, "/userinfo", LATE, "GET").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()[ACAO], LATE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_jwks_are_public() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/jwks.json",
    ] {
        for origin in [Some(EVIL), None] {
            let mut req = app.api.get(app.url(path));
            if let Some(o) = origin {
                req = req.header("Origin", o);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()[ACAO], "*", "{path}");
        }
        let resp = preflight(&app, path, EVIL, "GET").await;
        assert_eq!(resp.status(), 204, "{path}");
        let h = resp.headers();
        assert_eq!(h[ACAO], "*");
        assert_eq!(h["access-control-allow-methods"], "GET");
        assert_eq!(h["access-control-max-age"], "600");
        assert!(!h.contains_key("access-control-allow-credentials"));
    }
}

/// `/introspect` (server to server), the HTML pages and the account API: no CORS at all, and
/// their OPTIONS answers are what they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_pages_and_account_api_get_no_cors() {
    let app = spawn_app(Backend::Sqlite).await;
    let Clients { other, .. } = clients(&app);
    let no_cors = |resp: &Response| {
        assert!(
            resp.headers()
                .keys()
                .all(|k| !k.as_str().starts_with("access-control-")),
            "{} {:?}",
            resp.url(),
            resp.headers()
        );
    };
    let resp = post_form(&app, "/introspect", OTHER, Some(&other), &[("token", "x")]).await;
    assert_eq!(resp.status(), 200);
    no_cors(&resp);
    let resp = preflight(&app, "/introspect", OTHER, "POST").await;
    assert_eq!(resp.status(), 405);
    no_cors(&resp);
    for path in ["/login", "/register", "/logout", "/authorize?client_id=x"] {
        let resp = app
            .api
            .get(app.url(path))
            .header("Origin", SPA)
            .send()
            .await
            .unwrap();
        no_cors(&resp);
        no_cors(&preflight(&app, path, SPA, "POST").await);
    }
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .header("Origin", SPA)
        .json(&serde_json::json!({ "email": "a@example.com", "password": "x" }))
        .send()
        .await
        .unwrap();
    no_cors(&resp);
    no_cors(&preflight(&app, "/api/auth/login", SPA, "POST").await);
}
