//! Items of the OAuth Security BCP (RFC 9700) and the MCP authorization spec that
//! `docs/security.md` claims and no other test proved: public clients' refresh tokens rotate
//! with reuse detection, access tokens only from the `Authorization` header, client ids nobody
//! chooses, and sign-in pages that can't be framed and answer their posts with 303.
use portcullis::config::RegistrationPolicy;
use portcullis::oauth::registration::ClientSpec;
use serde_json::{json, Value};

use crate::authorize::assert_page_headers;
use crate::helpers::{assert_oauth_error, spawn_app, spawn_app_with, Backend, TestApp};
use crate::web::{self, browser, param, REDIRECT_URI};

crate::both_backends!(
    public_refresh_tokens_rotate_and_a_replay_revokes_the_family,
    access_tokens_are_taken_from_the_authorization_header_only,
    this_servers_endpoints_refuse_tokens_for_another_audience,
    clients_cannot_choose_their_client_id_and_client_tokens_carry_no_user_session,
    sign_in_pages_cannot_be_framed_and_answer_posts_with_303,
);

/// `POST /token` as a public client (`client_id` in the form, no secret).
async fn public_token(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.api
        .post(app.url("/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn userinfo_status(app: &TestApp, token: &str) -> u16 {
    app.api
        .get(app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// RFC 9700 §2.2.2 and §4.14.2, MCP "Token Theft": a public client's refresh token is replaced
/// at every use; presenting the replaced one again revokes the whole family, the live refresh
/// token and its access token included.
async fn public_refresh_tokens_rotate_and_a_replay_revokes_the_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("spa@example.com", "student").await;
    let client = app.code_client_with(|s| s.public = true);
    let (verifier, challenge) = web::pkce();
    let params = TestApp::code_request(&client, &challenge, "openid offline_access");
    let back = web::authorize_through(&app, &browser(), &params, &user.email, &user.password).await;
    let code = param(&back, "code").unwrap();
    let resp = public_token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client.id),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let first: Value = resp.json().await.unwrap();
    let first_rt = first["refresh_token"].as_str().unwrap().to_string();

    let refresh = |rt: String| {
        let app = &app;
        let id = client.id.clone();
        async move {
            public_token(
                app,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &id),
                    ("refresh_token", &rt),
                ],
            )
            .await
        }
    };
    let resp = refresh(first_rt.clone()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let second: Value = resp.json().await.unwrap();
    let second_rt = second["refresh_token"].as_str().unwrap().to_string();
    let second_at = second["access_token"].as_str().unwrap().to_string();
    assert_ne!(second_rt, first_rt, "a new refresh token at every use");
    assert_eq!(userinfo_status(&app, &second_at).await, 200);

    // The replaced token again: refused, and the family is over.
    assert_oauth_error(refresh(first_rt).await, 400, "invalid_grant").await;
    assert_oauth_error(refresh(second_rt).await, 400, "invalid_grant").await;
    assert_eq!(userinfo_status(&app, &second_at).await, 401);
}

/// RFC 9700 §4.3.2 and RFC 6750 §2.3, MCP "Token Requirements": this server's protected
/// resources (`/userinfo`) take an access token from the `Authorization` header only, never
/// from the query string or a form body.
async fn access_tokens_are_taken_from_the_authorization_header_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("hdr@example.com", "student").await;
    let client = app.password_client();
    let resp = app
        .password_grant_scoped(&client, &user.email, "openid email")
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, token).await, 200);

    let url =
        reqwest::Url::parse_with_params(&app.url("/userinfo"), &[("access_token", token)]).unwrap();
    let resp = app.api.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");

    let resp = app
        .api
        .post(app.url("/userinfo"))
        .form(&[("access_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
}

/// RFC 9700 §2.3 (a resource server MUST refuse a token not meant for it), MCP "Token Handling":
/// a token whose `aud` names only an API is refused by this server's own protected resources
/// (`/userinfo`, the account API) with 401 `invalid_token`; with `openid` the userinfo audience
/// is added beside the API's and `/userinfo` takes it.
async fn this_servers_endpoints_refuse_tokens_for_another_audience(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("aud@example.com", "student").await;
    let api = "https://api.example/";
    let client = app.create_client(ClientSpec {
        name: "api client".into(),
        grant_types: vec!["password".into()],
        scopes: vec!["openid read".into()],
        audiences: vec![api.into()],
        ..ClientSpec::default()
    });
    let token_for = |scope: &'static str| {
        let (app, client, email) = (&app, &client, user.email.clone());
        async move {
            let resp = app.password_grant_scoped(client, &email, scope).await;
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().await.unwrap();
            body["access_token"].as_str().unwrap().to_string()
        }
    };
    let api_only = token_for("read").await;
    for path in ["/userinfo", "/api/auth/me"] {
        let resp = app
            .api
            .get(app.url(path))
            .bearer_auth(&api_only)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{path}");
        let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("invalid_token"), "{path}: {challenge}");
    }
    let with_openid = token_for("openid read").await;
    assert_eq!(userinfo_status(&app, &with_openid).await, 200);
}

/// RFC 9700 §4.15: a registering client can't pick its `client_id` (the server draws one), so it
/// can't take a user's id; and a client's own token (client_credentials) has `sub` =
/// `client_id` and none of a user token's session claims, so a resource server tells them apart.
async fn clients_cannot_choose_their_client_id_and_client_tokens_carry_no_user_session(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| {
        s.clients.registration = RegistrationPolicy::Open
    })
    .await;
    let user = app.create_user("victim@example.com", "student").await;
    let resp = app
        .api
        .post(app.url("/register"))
        .json(&json!({
            "client_id": user.id,
            "client_name": "Impostor",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let reg: Value = resp.json().await.unwrap();
    let id = reg["client_id"].as_str().unwrap();
    assert_ne!(id, user.id, "the server chose the client_id");
    assert!(!id.is_empty());

    let claims = |token: &str| -> Value {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    let service = app.service_client();
    let resp = app
        .token_basic(&service, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], service.id.as_str());
    assert_eq!(c["client_id"], service.id.as_str());
    for user_claim in ["sid", "auth_time", "roles"] {
        assert!(c.get(user_claim).is_none(), "{user_claim} in {c}");
    }

    let password = app.password_client();
    let resp = app
        .password_grant_scoped(&password, &user.email, "read")
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let u = claims(body["access_token"].as_str().unwrap());
    assert_eq!(u["sub"], user.id.as_str());
    assert_ne!(u["sub"], u["client_id"]);
    assert!(u["sid"].is_string() && u["auth_time"].is_i64(), "{u}");
}

/// RFC 9700 §4.16 (clickjacking: `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`),
/// §4.2.4 (`Referrer-Policy`, no third-party content) and §4.12 (a POST carrying the user's
/// password, or the consent decision, is answered with 303, never 307) on the pages of a sign-in.
async fn sign_in_pages_cannot_be_framed_and_answer_posts_with_303(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("frame@example.com", "student").await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let b = browser();
    let resp = b
        .get(app.authorize_url(&TestApp::code_request(&client, &challenge, "openid")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let login = web::location(&app, &resp);
    assert!(login.contains("/login?request="), "{login}");

    let resp = b.get(login.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_page_headers(resp.headers());
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303, "the password POST is answered with 303");
    let consent = web::location(&app, &resp);
    assert!(consent.contains("/consent?request="), "{consent}");

    let resp = b.get(consent.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_page_headers(resp.headers());
    let html = resp.text().await.unwrap();
    // Nothing from elsewhere: scripts, stylesheets and images are our own, and no frames.
    {
        let doc = scraper::Html::parse_document(&html);
        let sel = scraper::Selector::parse("script[src], link[href], img[src], iframe").unwrap();
        for el in doc.select(&sel) {
            let v = el.value();
            let url = v.attr("src").or(v.attr("href")).unwrap_or("");
            assert!(
                v.name() != "iframe" && (url.starts_with('/') || url.starts_with("data:")),
                "third-party content: {}",
                el.html()
            );
        }
    }
    let resp = web::decide(&app, &b, &consent, "allow").await;
    assert_eq!(resp.status(), 303);
    let back = web::location(&app, &resp);
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    assert!(param(&back, "code").is_some());
}
