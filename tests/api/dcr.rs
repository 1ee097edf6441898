//! Dynamic client registration (RFC 7591) and management (RFC 7592): each policy, the client
//! used through `/authorize` + PKCE + `/token`, the management endpoint, refused metadata, the
//! rate limit and the consent page's notice.
use portcullis::config::RegistrationPolicy;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, TestClient};
use crate::keys::cli_json;
use crate::web::{self, browser, pkce, REDIRECT_URI};

both_backends!(
    registration_is_refused_while_disabled,
    initial_access_tokens_gate_registration,
    open_registration_signs_users_in_with_pkce,
    native_public_clients_use_loopback_redirects,
    registrations_are_managed_with_their_token,
    refused_metadata_names_the_rfc_error,
    registrations_are_rate_limited_per_source,
);

async fn app_with(backend: Backend, policy: RegistrationPolicy) -> TestApp {
    spawn_app_with(backend, |s| s.clients.registration = policy).await
}

async fn register(app: &TestApp, body: &Value, token: Option<&str>) -> Response {
    let mut req = app.api.post(app.url("/register")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

/// A confidential web app with the code flow and refresh tokens.
fn web_app() -> Value {
    json!({
        "client_name": "Gadget",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid profile offline_access",
        "client_uri": "https://gadget.example.com",
        "contacts": ["dev@gadget.example.com"],
        "unknown_field": "ignored",
    })
}

async fn created(resp: Response) -> Value {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    body
}

/// Asserts a JSON error answer; returns its headers.
async fn error(resp: Response, status: u16, code: &str) -> reqwest::header::HeaderMap {
    let headers = resp.headers().clone();
    let got = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    headers
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

fn audit_kinds(app: &TestApp, client_id: &str) -> Vec<(String, Value)> {
    let mut conn = app.db.get().unwrap();
    let mut events: Vec<(String, Value)> =
        portcullis::store::audit::list(&mut conn, None, None, None, 1000)
            .unwrap()
            .into_iter()
            .filter(|e| e.client_id.as_deref() == Some(client_id))
            .map(|e| {
                let detail = e
                    .detail
                    .and_then(|d| serde_json::from_str(&d).ok())
                    .unwrap_or(Value::Null);
                (e.kind, detail)
            })
            .collect();
    events.reverse();
    events
}

async fn registration_is_refused_while_disabled(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = register(&app, &web_app(), None).await;
    error(resp, 403, "access_denied").await;
    // Nothing is advertised, and the sign-up page keeps `/register` for browsers.
    assert!(discovery(&app).await.get("registration_endpoint").is_none());
    let (status, _, html) = web::get(&browser(), &app.url("/register")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<form"), "{html}");
    // The management endpoint knows no client either.
    let resp = app
        .api
        .get(app.url("/register/nope"))
        .bearer_auth("x")
        .send()
        .await
        .unwrap();
    error(resp, 401, "invalid_token").await;
}

async fn initial_access_tokens_gate_registration(backend: Backend) {
    let app = app_with(backend, RegistrationPolicy::InitialAccessToken).await;
    assert_eq!(
        discovery(&app).await["registration_endpoint"],
        app.url("/register").as_str()
    );
    // Without a token, and with a wrong one.
    let headers = error(register(&app, &web_app(), None).await, 401, "invalid_token").await;
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let headers = error(
        register(&app, &web_app(), Some("not-a-token")).await,
        401,
        "invalid_token",
    )
    .await;
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));

    // A token from the CLI, good for two registrations.
    let made = cli_json(
        &app,
        &[
            "client",
            "registration-token",
            "create",
            "--uses",
            "2",
            "--expires-in",
            "600",
        ],
    );
    let token = made["initial_access_token"].as_str().unwrap().to_string();
    assert_eq!(made["uses_left"], 2);
    assert_eq!(
        made["expires_at"].as_i64().unwrap() - made["created_at"].as_i64().unwrap(),
        600
    );
    let first = created(register(&app, &web_app(), Some(&token)).await).await;
    assert!(first["client_secret"].is_string());
    // The audit log says which token registered the client.
    let events = audit_kinds(&app, first["client_id"].as_str().unwrap());
    assert_eq!(events[0].0, "client_registered");
    assert_eq!(events[0].1["initial_access_token"], made["id"]);
    // Refused metadata takes no use.
    let bad = json!({ "client_name": "x", "redirect_uris": ["http://evil.example.com/cb"] });
    error(
        register(&app, &bad, Some(&token)).await,
        400,
        "invalid_redirect_uri",
    )
    .await;
    created(register(&app, &web_app(), Some(&token)).await).await;
    error(
        register(&app, &web_app(), Some(&token)).await,
        401,
        "invalid_token",
    )
    .await;
    let listed = cli_json(&app, &["client", "registration-token", "list"]);
    assert_eq!(listed[0]["id"], made["id"]);
    assert_eq!(listed[0]["uses_left"], 0);
    assert!(listed[0].get("initial_access_token").is_none());
    assert!(!listed.to_string().contains(&token), "never the token");

    // An expired token, and a revoked one.
    let expiring = cli_json(
        &app,
        &[
            "client",
            "registration-token",
            "create",
            "--expires-in",
            "60",
        ],
    );
    // (The CLI reads the real clock, the server this test's: well past it.)
    app.clock.advance(3600);
    let t = expiring["initial_access_token"].as_str().unwrap();
    error(
        register(&app, &web_app(), Some(t)).await,
        401,
        "invalid_token",
    )
    .await;
    let revoked = cli_json(&app, &["client", "registration-token", "create"]);
    let id = revoked["id"].as_str().unwrap();
    assert_eq!(
        cli_json(&app, &["client", "registration-token", "revoke", id])["revoked"],
        id
    );
    let t = revoked["initial_access_token"].as_str().unwrap();
    error(
        register(&app, &web_app(), Some(t)).await,
        401,
        "invalid_token",
    )
    .await;

    // The database holds only hashes.
    let mut conn = app.db.get().unwrap();
    let rows = portcullis::store::client_registrations::list_tokens(&mut conn).unwrap();
    assert_eq!(rows.len(), 2, "the revoked one is gone");
    assert!(rows.iter().all(|r| r.token_hash != token));
}

async fn open_registration_signs_users_in_with_pkce(backend: Backend) {
    let app = app_with(backend, RegistrationPolicy::Open).await;
    let user = app.create_user("ada@example.com", "student").await;
    let reg = created(register(&app, &web_app(), None).await).await;
    let id = reg["client_id"].as_str().unwrap().to_string();
    assert_eq!(reg["client_name"], "Gadget");
    assert_eq!(reg["redirect_uris"], json!([REDIRECT_URI]));
    assert_eq!(
        reg["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(reg["response_types"], json!(["code"]));
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(reg["application_type"], "web");
    assert_eq!(reg["scope"], "openid profile offline_access");
    assert_eq!(reg["client_secret_expires_at"], 0);
    assert_eq!(reg["client_id_issued_at"], app.clock_now());
    assert_eq!(reg["client_uri"], "https://gadget.example.com");
    assert_eq!(reg["contacts"], json!(["dev@gadget.example.com"]));
    assert!(reg.get("unknown_field").is_none());
    assert_eq!(
        reg["registration_client_uri"],
        app.url(&format!("/register/{id}")).as_str()
    );
    let secret = reg["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43);
    assert_eq!(reg["registration_access_token"].as_str().unwrap().len(), 43);
    let client = TestClient {
        id: id.clone(),
        secret: secret.to_string(),
    };

    // The operator sees it as dynamic; it never skips consent and always needs PKCE.
    let shown = cli_json(&app, &["client", "show", &id]);
    assert_eq!(shown["dynamic"], true);
    assert_eq!(shown["skip_consent"], false);
    assert_eq!(shown["pkce_required"], true);
    let listed = cli_json(&app, &["client", "list"]);
    assert_eq!(listed[0]["dynamic"], true);

    let b = browser();
    let no_pkce = [
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("state", "s"),
    ];
    let resp = b.get(app.authorize_url(&no_pkce)).send().await.unwrap();
    let to = web::location(&app, &resp);
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    assert_eq!(
        web::param(&to, "error").as_deref(),
        Some("invalid_request"),
        "{to}"
    );

    // authorize → login → consent, which says the application registered itself.
    let (verifier, challenge) = pkce();
    let params = TestApp::code_request(&client, &challenge, "openid profile offline_access");
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let login = web::location(&app, &resp);
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let consent = web::location(&app, &resp);
    assert!(consent.contains("/consent?"), "{consent}");
    let (status, _, html) = web::get(&b, &consent).await;
    assert_eq!(status, 200);
    let notice = web::text(&html, "#unverified-client").expect("the unverified notice");
    assert!(
        notice.contains("This application registered itself: Portcullis has not verified it"),
        "{notice}"
    );
    assert!(
        notice.contains("127.0.0.1:9"),
        "the redirect host: {notice}"
    );
    let resp = web::decide(&app, &b, &consent, "allow").await;
    assert_eq!(resp.status(), 303);
    let back = web::location(&app, &resp);
    let code = web::param(&back, "code").expect("a code");

    let resp = web::exchange(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    assert!(tokens["id_token"].is_string(), "{tokens}");
    let refresh = tokens["refresh_token"].as_str().expect("offline_access");
    assert_eq!(app.refresh(&client, refresh).await.status(), 200);

    // The consent is remembered, until the app changes its registration.
    let again = |b: &reqwest::Client| {
        let (_, challenge) = pkce();
        let params = TestApp::code_request(&client, &challenge, "openid profile offline_access");
        let url = app.authorize_url(&params);
        let b = b.clone();
        async move { b.get(url).send().await.unwrap() }
    };
    let resp = again(&b).await;
    assert!(web::location(&app, &resp).starts_with(REDIRECT_URI));
    let mut renamed = web_app();
    renamed["client_id"] = json!(id);
    renamed["client_name"] = json!("Gadget Pro");
    let resp = app
        .api
        .put(reg["registration_client_uri"].as_str().unwrap())
        .bearer_auth(reg["registration_access_token"].as_str().unwrap())
        .json(&renamed)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let consent = web::location(&app, &again(&b).await);
    assert!(consent.contains("/consent?"), "{consent}");
    let (_, _, html) = web::get(&b, &consent).await;
    assert!(html.contains("Gadget Pro"), "{html}");
    assert!(web::text(&html, "#unverified-client").is_some(), "{html}");

    // A client the CLI made shows no notice.
    let vetted = app.code_client();
    let (_, challenge) = pkce();
    let params = TestApp::code_request(&vetted, &challenge, "openid profile");
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    let consent = web::location(&app, &resp);
    let (_, _, html) = web::get(&b, &consent).await;
    assert!(html.contains("Example App"), "{html}");
    assert!(web::text(&html, "#unverified-client").is_none(), "{html}");

    let events = audit_kinds(&app, &id);
    let (kind, detail) = &events[0];
    assert_eq!(kind, "client_registered");
    assert_eq!(detail["dynamic"], true);
    assert_eq!(detail["redirect_uris"], json!([REDIRECT_URI]));
}

async fn native_public_clients_use_loopback_redirects(backend: Backend) {
    let app = app_with(backend, RegistrationPolicy::Open).await;
    let user = app.create_user("grace@example.com", "student").await;
    let reg = created(
        register(
            &app,
            &json!({
                "client_name": "Desk App",
                "application_type": "native",
                "token_endpoint_auth_method": "none",
                "redirect_uris": ["http://127.0.0.1/callback", "com.example.desk:/oauth"],
                "grant_types": ["authorization_code", "refresh_token"],
                "scope": "openid offline_access",
            }),
            None,
        )
        .await,
    )
    .await;
    assert!(reg.get("client_secret").is_none(), "{reg}");
    assert!(reg.get("client_secret_expires_at").is_none(), "{reg}");
    assert_eq!(reg["token_endpoint_auth_method"], "none");
    assert_eq!(reg["application_type"], "native");
    let id = reg["client_id"].as_str().unwrap();

    // Any port on the loopback literal (RFC 8252 §7.3).
    let (verifier, challenge) = pkce();
    let client = TestClient {
        id: id.to_string(),
        secret: String::new(),
    };
    let params = TestApp::code_request(&client, &challenge, "openid offline_access");
    let b = browser();
    let next = web::authorize_through(&app, &b, &params, &user.email, &user.password).await;
    let code = web::param(&next, "code").unwrap();
    let resp = app
        .api
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", id),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    // The private-use scheme works at /authorize too: the answer goes there.
    let (_, challenge) = pkce();
    let mut resp = b
        .get(app.authorize_url(&[
            ("response_type", "code"),
            ("client_id", id),
            ("redirect_uri", "com.example.desk:/oauth"),
            ("scope", "openid offline_access"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]))
        .send()
        .await
        .unwrap();
    let mut to = resp.headers()["location"].to_str().unwrap().to_string();
    if to.starts_with("/consent?") {
        resp = web::decide(&app, &b, &app.url(&to), "allow").await;
        to = resp.headers()["location"].to_str().unwrap().to_string();
    }
    assert!(to.starts_with("com.example.desk:/oauth?code="), "{to}");
}

async fn registrations_are_managed_with_their_token(backend: Backend) {
    let app = app_with(backend, RegistrationPolicy::Open).await;
    let reg = created(register(&app, &web_app(), None).await).await;
    let id = reg["client_id"].as_str().unwrap().to_string();
    let token = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = reg["client_secret"].as_str().unwrap().to_string();
    let uri = reg["registration_client_uri"].as_str().unwrap().to_string();

    // Read it back.
    let resp = app.api.get(&uri).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let read: Value = resp.json().await.unwrap();
    for key in [
        "client_id",
        "client_name",
        "redirect_uris",
        "grant_types",
        "scope",
        "client_uri",
        "contacts",
        "registration_client_uri",
        "registration_access_token",
    ] {
        assert_eq!(read[key], reg[key], "{key}");
    }
    assert!(read.get("client_secret").is_none(), "shown once: {read}");

    // Wrong, missing, or another client's token.
    for auth in [Some("wrong"), None] {
        let mut req = app.api.get(&uri);
        if let Some(t) = auth {
            req = req.bearer_auth(t);
        }
        error(req.send().await.unwrap(), 401, "invalid_token").await;
    }
    let other = created(register(&app, &web_app(), None).await).await;
    let other_token = other["registration_access_token"].as_str().unwrap();
    let resp = app
        .api
        .get(&uri)
        .bearer_auth(other_token)
        .send()
        .await
        .unwrap();
    error(resp, 401, "invalid_token").await;
    // A client the CLI registered is never managed here.
    let vetted = app.code_client();
    let resp = app
        .api
        .delete(app.url(&format!("/register/{}", vetted.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    error(resp, 401, "invalid_token").await;
    let resp = app.api.post(&uri).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 405);

    // Replace its metadata: the same rules, the body names the client, and a new token.
    let mut changed = json!({
        "client_id": id,
        "client_secret": secret,
        "client_name": "Gadget 2",
        "redirect_uris": ["https://gadget.example.com/cb"],
        "grant_types": ["authorization_code"],
        "scope": "openid",
    });
    let put = |body: Value, t: String| {
        let app = &app;
        let uri = uri.clone();
        async move {
            app.api
                .put(&uri)
                .bearer_auth(t)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let mut wrong_id = changed.clone();
    wrong_id["client_id"] = json!(vetted.id);
    error(
        put(wrong_id, token.clone()).await,
        400,
        "invalid_client_metadata",
    )
    .await;
    let mut wrong_secret = changed.clone();
    wrong_secret["client_secret"] = json!("nope");
    error(
        put(wrong_secret, token.clone()).await,
        400,
        "invalid_client_metadata",
    )
    .await;
    let mut http = changed.clone();
    http["redirect_uris"] = json!(["http://gadget.example.com/cb"]);
    error(put(http, token.clone()).await, 400, "invalid_redirect_uri").await;
    let mut to_public = changed.clone();
    to_public["token_endpoint_auth_method"] = json!("none");
    error(
        put(to_public, token.clone()).await,
        400,
        "invalid_client_metadata",
    )
    .await;
    changed["token_endpoint_auth_method"] = json!("client_secret_post");
    let resp = put(changed, token.clone()).await;
    assert_eq!(resp.status(), 200);
    let updated: Value = resp.json().await.unwrap();
    assert_eq!(updated["client_name"], "Gadget 2");
    assert_eq!(
        updated["redirect_uris"],
        json!(["https://gadget.example.com/cb"])
    );
    assert_eq!(updated["grant_types"], json!(["authorization_code"]));
    assert_eq!(updated["scope"], "openid");
    assert_eq!(updated["token_endpoint_auth_method"], "client_secret_post");
    assert!(updated.get("client_uri").is_none(), "omitted fields go");
    let new_token = updated["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_token, token);
    let resp = app.api.get(&uri).bearer_auth(&token).send().await.unwrap();
    error(resp, 401, "invalid_token").await;
    let shown = cli_json(&app, &["client", "show", &id]);
    assert_eq!(shown["name"], "Gadget 2");
    assert_eq!(shown["scopes"], json!(["openid"]));
    // The secret did not change (and the grants did: no more refresh_token).
    let client = TestClient {
        id: id.clone(),
        secret: secret.clone(),
    };
    let resp = app
        .token_basic(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
    error(resp, 400, "unauthorized_client").await;

    // Delete it: 204, then it is gone for the token and at /token.
    let resp = app
        .api
        .delete(&uri)
        .bearer_auth(&new_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = app
        .api
        .get(&uri)
        .bearer_auth(&new_token)
        .send()
        .await
        .unwrap();
    error(resp, 401, "invalid_token").await;
    let resp = app
        .token_basic(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
    error(resp, 401, "invalid_client").await;

    let kinds: Vec<String> = audit_kinds(&app, &id)
        .into_iter()
        .map(|(k, d)| {
            assert_eq!(d["dynamic"], true, "{k}");
            k
        })
        .collect();
    assert_eq!(
        kinds,
        ["client_registered", "client_updated", "client_deleted"]
    );
}

async fn refused_metadata_names_the_rfc_error(backend: Backend) {
    let app = app_with(backend, RegistrationPolicy::Open).await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut body = web_app();
        f(&mut body);
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "http for a web app",
            with(&|b| b["redirect_uris"] = json!(["http://gadget.example.com/cb"])),
            "invalid_redirect_uri",
        ),
        (
            "a wildcard",
            with(&|b| b["redirect_uris"] = json!(["https://*.gadget.example.com/cb"])),
            "invalid_redirect_uri",
        ),
        (
            "a fragment",
            with(&|b| b["redirect_uris"] = json!(["https://gadget.example.com/cb#top"])),
            "invalid_redirect_uri",
        ),
        (
            "a relative URI",
            with(&|b| b["redirect_uris"] = json!(["/cb"])),
            "invalid_redirect_uri",
        ),
        (
            "no redirect URI for the code flow",
            with(&|b| b["redirect_uris"] = json!([])),
            "invalid_redirect_uri",
        ),
        (
            "https for a native app",
            with(&|b| {
                b["application_type"] = json!("native");
                b["redirect_uris"] = json!(["https://gadget.example.com/cb"]);
            }),
            "invalid_redirect_uri",
        ),
        (
            "an unknown grant",
            with(&|b| b["grant_types"] = json!(["authorization_code", "implicit"])),
            "invalid_client_metadata",
        ),
        (
            "the password grant",
            with(&|b| b["grant_types"] = json!(["password"])),
            "invalid_client_metadata",
        ),
        (
            "client_credentials (not configured)",
            with(&|b| b["grant_types"] = json!(["client_credentials"])),
            "invalid_client_metadata",
        ),
        (
            "a scope outside the allowed set",
            with(&|b| b["scope"] = json!("openid manage_users")),
            "invalid_client_metadata",
        ),
        (
            "an implicit response type",
            with(&|b| b["response_types"] = json!(["code", "token"])),
            "invalid_client_metadata",
        ),
        (
            "an unsupported client authentication",
            with(&|b| b["token_endpoint_auth_method"] = json!("private_key_jwt")),
            "invalid_client_metadata",
        ),
        (
            "no name",
            with(&|b| {
                b.as_object_mut().unwrap().remove("client_name");
            }),
            "invalid_client_metadata",
        ),
        (
            "a name with a bidi override",
            with(&|b| b["client_name"] = json!("Gad\u{202E}get")),
            "invalid_client_metadata",
        ),
        (
            "a javascript: logo",
            with(&|b| b["logo_uri"] = json!("javascript:alert(1)")),
            "invalid_client_metadata",
        ),
        (
            "a list where a string belongs",
            with(&|b| b["scope"] = json!(["openid"])),
            "invalid_client_metadata",
        ),
        ("not an object", json!(["x"]), "invalid_client_metadata"),
    ];
    for (what, body, code) in cases {
        let resp = register(&app, &body, None).await;
        assert_eq!(resp.status(), 400, "{what}");
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(answer["error"], code, "{what}: {answer}");
    }
    let mut conn = app.db.get().unwrap();
    assert!(portcullis::store::clients::list(&mut conn)
        .unwrap()
        .is_empty());
}

async fn registrations_are_rate_limited_per_source(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.clients.registration = RegistrationPolicy::Open;
        s.clients.registration_rate_limit_per_ip = 2;
    })
    .await;
    for _ in 0..2 {
        created(register(&app, &web_app(), None).await).await;
    }
    let headers = error(
        register(&app, &web_app(), None).await,
        429,
        "too_many_requests",
    )
    .await;
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    // Another hour, another budget.
    app.clock.advance(3600);
    created(register(&app, &web_app(), None).await).await;
}
