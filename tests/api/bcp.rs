//! Rules of the OAuth Security BCP (RFC 9700): loopback redirect URIs on any port (RFC 8252
//! §7.3), no password grant for public clients, no token valid in the future, API keys only from
//! allowed clients, no lookalike emails.
use portcullis::oauth::registration::{self, ClientSpec};

use crate::helpers::{assert_oauth_error, spawn_app, Backend, TestApp};
use crate::web::{self, browser, param, REDIRECT_URI};

crate::both_backends!(
    loopback_redirect_uris_match_on_any_port,
    public_clients_may_not_use_the_password_grant,
    tokens_not_valid_yet_are_refused_everywhere,
    only_allowed_clients_mint_api_keys,
    lookalike_emails_are_refused_and_idn_domains_normalised,
);

/// The registered `REDIRECT_URI` is `http://127.0.0.1:9/callback`.
async fn loopback_redirect_uris_match_on_any_port(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let user = app.create_user("native@example.com", "guest").await;
    let (verifier, challenge) = web::pkce();
    let used = "http://127.0.0.1:51234/callback";

    // Another path or host: the error page, never a redirect.
    for bad in [
        "http://127.0.0.1:51234/other",
        "http://localhost:9/callback",
        "http://[::1]:9/callback",
    ] {
        let mut p = TestApp::code_request(&client, &challenge, "openid");
        p[2].1 = bad;
        let resp = browser().get(app.authorize_url(&p)).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        assert!(resp.headers().get("location").is_none());
        let html = resp.text().await.unwrap();
        let message = web::text(&html, "#error-message").unwrap_or_default();
        assert!(message.contains("not registered"), "{message}");
    }

    // Another port: the flow runs and comes back to the port the app asked for.
    let mut p = TestApp::code_request(&client, &challenge, "openid");
    p[2].1 = used;
    let b = browser();
    let resp = b.get(app.authorize_url(&p)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let login = web::location(&app, &resp);
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let consent = web::location(&app, &resp);
    let resp = web::decide(&app, &b, &consent, "allow").await;
    assert_eq!(resp.status(), 303);
    let back = web::location(&app, &resp);
    assert!(back.starts_with(&format!("{used}?")), "{back}");
    let code = param(&back, "code").unwrap();

    // The code is bound to the exact URI used: the registered one is refused.
    let form = |uri: &'static str| {
        [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", uri),
            ("code_verifier", verifier.as_str()),
        ]
    };
    let resp = app.token_basic(&client, &form(REDIRECT_URI)).await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
    let resp = app.token_basic(&client, &form(used)).await;
    assert_eq!(resp.status(), 200);
}

/// RFC 9700 §2.4. Registration refuses it (see `cli.rs` for the command); a public password
/// client from an older database is refused at `/token`; the built-in account client still
/// signs in.
async fn public_clients_may_not_use_the_password_grant(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("pub@example.com", "guest").await;
    let spec = ClientSpec {
        name: "legacy".into(),
        grant_types: vec!["password".into()],
        scopes: vec!["openid".into()],
        ..ClientSpec::default()
    };
    let err = registration::validate(
        &ClientSpec {
            public: true,
            ..spec.clone()
        },
        3600,
    )
    .unwrap_err();
    assert!(err.to_string().contains("password grant"), "{err}");

    // Stored as an older release would have.
    let mut client = registration::validate(&spec, 3600).unwrap();
    client.id = "legacy-public".into();
    client.public = true;
    let mut conn = app.db.get().unwrap();
    portcullis::store::clients::insert(&mut conn, &client.to_row().unwrap()).unwrap();
    let resp = app
        .api
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "legacy-public"),
            ("username", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "unauthorized_client").await;

    // A confidential password client and the account API are unaffected.
    let confidential = app.password_client();
    let resp = app
        .password_grant(&confidential, &user.email, &user.password)
        .await;
    assert_eq!(resp.status(), 200);
    let tokens = app.account_login(&user.email, &user.password).await;
    assert!(tokens["access_token"].is_string());
}

/// `nbf` or `iat` beyond the 60 s leeway: the Bearer extractor and `/introspect` refuse it.
async fn tokens_not_valid_yet_are_refused_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("future@example.com", "guest").await;
    let login = app.account_login(&user.email, &user.password).await;
    let rs = app.create_client(ClientSpec {
        name: "resource server".into(),
        can_introspect: true,
        ..ClientSpec::default()
    });
    let store = app.key_store();
    // The account token's own claims, re-signed with a shifted nbf or iat.
    let access = login["access_token"].as_str().unwrap();
    let payload = access.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let now = app.clock_now();
    let introspect = |token: String| {
        app.api
            .post(app.url("/introspect"))
            .basic_auth(&rs.id, Some(&rs.secret))
            .form(&[("token", token)])
            .send()
    };
    let me = |token: String| {
        app.api
            .get(app.url("/api/auth/me"))
            .bearer_auth(token)
            .send()
    };
    for (claim, at, live) in [
        ("nbf", now, true),
        ("iat", now + 30, true),
        ("nbf", now + 300, false),
        ("iat", now + 300, false),
    ] {
        let mut c = claims.clone();
        c[claim] = serde_json::json!(at);
        let token = portcullis::tokens::sign(
            &store.current(),
            portcullis::tokens::Alg::RS256,
            "at+jwt",
            &c,
        )
        .unwrap();
        let answer: serde_json::Value = introspect(token.clone())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["active"], live, "{claim}={at}: {answer}");
        let status = me(token).await.unwrap().status();
        assert_eq!(status.is_success(), live, "{claim}={at}: {status}");
    }
}

/// `POST /api/keys` (and rotation) need the account client or the `api_keys` scope; a
/// third-party client granted `account` may still list keys.
async fn only_allowed_clients_mint_api_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("minter@example.com", "instructor").await;
    let code_token = |scope: &'static str| {
        let client = app.code_client_with(|s| s.scopes = vec![scope.into()]);
        let app = &app;
        let user = &user;
        async move {
            let (verifier, challenge) = web::pkce();
            let params = TestApp::code_request(&client, &challenge, scope);
            let back =
                web::authorize_through(app, &browser(), &params, &user.email, &user.password).await;
            let code = param(&back, "code").unwrap();
            let resp = web::exchange(app, &client, &code, Some(&verifier)).await;
            assert_eq!(resp.status(), 200);
            let body: serde_json::Value = resp.json().await.unwrap();
            body["access_token"].as_str().unwrap().to_string()
        }
    };
    let post = |token: String, path: String| {
        app.api
            .post(app.url(&path))
            .bearer_auth(token)
            .json(&serde_json::json!({ "name": "ci" }))
            .send()
    };

    let account = app.account_login(&user.email, &user.password).await;
    let account = account["access_token"].as_str().unwrap().to_string();
    let resp = post(account.clone(), "/api/keys".into()).await.unwrap();
    assert_eq!(resp.status(), 201);
    let created: serde_json::Value = resp.json().await.unwrap();
    let rotate = format!("/api/keys/{}/rotate", created["id"].as_str().unwrap());

    let third_party = code_token("openid account").await;
    for path in ["/api/keys".to_string(), rotate.clone()] {
        let resp = post(third_party.clone(), path.clone()).await.unwrap();
        assert_eq!(resp.status(), 403, "{path}");
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.contains("scope=\"api_keys\""), "{challenge}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "insufficient_scope");
    }
    let listed = app
        .api
        .get(app.url("/api/keys"))
        .bearer_auth(&third_party)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);

    let allowed = code_token("openid account api_keys").await;
    let resp = post(allowed, "/api/keys".into()).await.unwrap();
    assert_eq!(resp.status(), 201);
}

/// The JSON API and the page share `identity::email::normalise` (`user create` too: `cli.rs`).
async fn lookalike_emails_are_refused_and_idn_domains_normalised(backend: Backend) {
    let app = spawn_app(backend).await;
    let register = |email: &str| {
        app.api
            .post(app.url("/api/auth/register"))
            .json(&serde_json::json!({ "email": email, "password": crate::helpers::PASSWORD }))
            .send()
    };
    for bad in [
        "раураl@example.com",
        "pay\u{200b}pal@example.com",
        "a@xn--a.example",
    ] {
        let resp = register(bad).await.unwrap();
        assert_eq!(resp.status(), 422, "{bad}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "invalid_email", "{bad}: {body}");
    }
    let resp = register("user@bücher.example").await.unwrap();
    assert_eq!(resp.status(), 201);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["email"], "user@xn--bcher-kva.example");
    // The same account however the domain is spelt.
    let resp = register("user@xn--BCHER-kva.example").await.unwrap();
    assert_eq!(resp.status(), 409);
    app.account_login("user@BÜCHER.example", crate::helpers::PASSWORD)
        .await;
    let resp = register("Plain.User+tag@Example.com").await.unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["email"], "Plain.User+tag@Example.com");

    // The page: the form again with the reason.
    let b = browser();
    let (_, _, html) = web::get(&b, &app.url("/register")).await;
    let attempt = web::fill(
        web::form_fields(&html, "#register-form"),
        &[
            ("email", "раураl@example.com"),
            ("password", crate::helpers::PASSWORD),
        ],
    );
    let resp = web::post_form(&b, &app.url("/register"), &attempt).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    let error = web::text(&html, "#register-error").unwrap_or_default();
    assert!(error.contains("mixes scripts"), "{error}");
}
