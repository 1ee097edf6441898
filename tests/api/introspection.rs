//! RFC 7662 introspection and RFC 7009 revocation of access tokens, refresh tokens and API
//! keys; API keys from creation to revocation.
use portcullis::oauth::registration::ClientSpec;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{assert_oauth_error, spawn_app, Backend, TestApp, TestClient, PASSWORD};

both_backends!(
    userinfo_and_its_answer_to_revocation,
    introspection_of_each_kind_live_expired_and_revoked,
    revocation_is_limited_to_the_tokens_owner,
    api_key_lifecycle,
    concurrent_introspections_of_client_tokens_each_get_their_own_answer,
);

fn resource_server(app: &TestApp) -> TestClient {
    app.create_client(ClientSpec {
        name: "orders api".into(),
        grant_types: vec!["client_credentials".into()],
        can_introspect: true,
        ..ClientSpec::default()
    })
}

async fn introspect(app: &TestApp, client: &TestClient, token: &str, hint: Option<&str>) -> Value {
    let mut form = vec![("token", token)];
    if let Some(h) = hint {
        form.push(("token_type_hint", h));
    }
    let resp = app
        .api
        .post(app.url("/introspect"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    resp.json().await.unwrap()
}

async fn revoke(app: &TestApp, client: &TestClient, token: &str) -> reqwest::Response {
    app.api
        .post(app.url("/revoke"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

async fn introspection_of_each_kind_live_expired_and_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let rs = resource_server(&app);
    let client = app.password_client();
    let user = app.create_user("intro@example.com", "student").await;
    let tokens: Value = app
        .password_grant(&client, &user.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let (access, refresh) = (
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    );

    // Access token: live, with the claims RFC 7662 names; the hint is honoured, not trusted.
    let a = introspect(&app, &rs, access, Some("refresh_token")).await;
    assert_eq!(a["active"], true);
    assert_eq!(a["token_type"], "Bearer");
    assert_eq!(a["sub"], user.id.as_str());
    assert_eq!(a["username"], user.email.as_str());
    assert_eq!(a["client_id"], client.id.as_str());
    assert_eq!(a["scope"], "openid profile email read chat");
    assert_eq!(a["iss"], app.address.as_str());
    for k in ["exp", "iat", "aud", "jti"] {
        assert!(a.get(k).is_some(), "{k}");
    }
    // Refresh token: live.
    let r = introspect(&app, &rs, refresh, None).await;
    assert_eq!(r["active"], true);
    assert_eq!(r["token_type"], "refresh_token");
    assert_eq!(r["client_id"], client.id.as_str());
    // The client the tokens were issued to may introspect them without the flag.
    assert_eq!(
        introspect(&app, &client, access, None).await["active"],
        true
    );
    // Another client without the flag learns nothing: exactly {"active": false}.
    let other = app.service_client();
    assert_eq!(
        introspect(&app, &other, access, None).await,
        json!({ "active": false })
    );
    assert_eq!(
        introspect(&app, &other, refresh, None).await,
        json!({ "active": false })
    );
    // Garbage is inactive too.
    assert_eq!(
        introspect(&app, &rs, "garbage", None).await,
        json!({ "active": false })
    );

    // Revoked by the client it was issued to: inactive; and the account/Bearer side refuses it.
    assert_eq!(revoke(&app, &client, access).await.status(), 200);
    assert_eq!(
        introspect(&app, &rs, access, None).await,
        json!({ "active": false })
    );
    assert_eq!(revoke(&app, &client, refresh).await.status(), 200);
    assert_eq!(
        introspect(&app, &rs, refresh, None).await,
        json!({ "active": false })
    );
    assert_oauth_error(app.refresh(&client, refresh).await, 400, "invalid_grant").await;
    // Revoking again, or something unknown: still 200.
    assert_eq!(revoke(&app, &client, refresh).await.status(), 200);
    assert_eq!(revoke(&app, &client, "never-issued").await.status(), 200);

    // Expired: a fresh pair, then the clock moves past both lifetimes.
    let fresh: Value = app
        .password_grant(&client, &user.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    app.clock.advance(901);
    assert_eq!(
        introspect(&app, &rs, fresh["access_token"].as_str().unwrap(), None).await,
        json!({ "active": false })
    );
    assert_eq!(
        introspect(&app, &rs, fresh["refresh_token"].as_str().unwrap(), None).await["active"],
        true
    );
    app.clock.advance(15 * 24 * 3600);
    assert_eq!(
        introspect(&app, &rs, fresh["refresh_token"].as_str().unwrap(), None).await,
        json!({ "active": false })
    );

    // Client authentication is required; missing token is invalid_request.
    let resp = app
        .api
        .post(app.url("/introspect"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 401, "invalid_client").await;
    let resp = app
        .api
        .post(app.url("/introspect"))
        .basic_auth(&rs.id, Some(&rs.secret))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;
    let resp = app.api.get(app.url("/introspect")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
}

async fn revocation_is_limited_to_the_tokens_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.password_client();
    let intruder = app.password_client();
    let user = app.create_user("owner@example.com", "guest").await;
    let tokens: Value = app
        .password_grant(&client, &user.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    for t in ["access_token", "refresh_token"] {
        let resp = revoke(&app, &intruder, tokens[t].as_str().unwrap()).await;
        assert_oauth_error(resp, 400, "unauthorized_client").await;
    }
    // Nothing was revoked.
    app.refresh(&client, tokens["refresh_token"].as_str().unwrap())
        .await
        .error_for_status()
        .unwrap();

    // An account-API token revoked through its client stops working on the Bearer API.
    let account = app.account_login(&user.email, PASSWORD).await;
    let access = account["access_token"].as_str().unwrap();
    let me = || {
        app.api
            .get(app.url("/api/auth/me"))
            .bearer_auth(access)
            .send()
    };
    assert_eq!(me().await.unwrap().status(), 200);
    let resp = app
        .api
        .post(app.url("/revoke"))
        .form(&[("token", access), ("client_id", "account")])
        .send()
        .await
        .unwrap();
    // The built-in account client is not a /token or /revoke client: unknown here.
    assert_eq!(resp.status(), 401);
    let mut conn = app.db.get().unwrap();
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(access)
        .unwrap()
        .claims;
    portcullis::store::api_keys::revoke_jti(
        &mut conn,
        claims["jti"].as_str().unwrap(),
        claims["exp"].as_i64().unwrap(),
        app.clock_now(),
    )
    .unwrap();
    assert_eq!(me().await.unwrap().status(), 401);
}

async fn api_key_lifecycle(backend: Backend) {
    let app = spawn_app(backend).await;
    let rs = resource_server(&app);
    let user = app.create_user("keys@example.com", "instructor").await;
    let login = app.account_login(&user.email, PASSWORD).await;
    let bearer = login["access_token"].as_str().unwrap().to_string();
    let post = |path: &str, body: Value| {
        app.api
            .post(app.url(path))
            .bearer_auth(&bearer)
            .json(&body)
            .send()
    };

    // Scopes are limited to the owner's permissions.
    let resp = post(
        "/api/keys",
        json!({ "name": "ci", "scopes": ["read", "delete"] }),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = post(
        "/api/keys",
        json!({ "name": "ci", "scopes": ["read", "write"], "expires_in_days": 30 }),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let key = created["api_key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    let prefix = created["prefix"].as_str().unwrap();
    assert!(key.starts_with(&format!("pc_{prefix}_")));
    assert_eq!(prefix.len(), 8);

    // Listed without secrets.
    let listed: Value = app
        .api
        .get(app.url("/api/keys"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&key[12..]));

    // Used through introspection by a resource server.
    let seen = introspect(&app, &rs, &key, None).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["token_type"], "api_key");
    assert_eq!(seen["sub"], user.id.as_str());
    assert_eq!(seen["scope"], "read write");
    assert_eq!(seen["exp"], app.clock_now() + 30 * 86_400);
    let listed: Value = app
        .api
        .get(app.url("/api/keys"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["last_used_at"], app.clock_now());
    // A client without the flag cannot check API keys; a wrong secret with a right prefix is inactive.
    let plain = app.service_client();
    assert_eq!(
        introspect(&app, &plain, &key, None).await,
        json!({ "active": false })
    );
    let forged = format!("{}X", &key[..key.len() - 1]);
    assert_eq!(
        introspect(&app, &rs, &forged, None).await,
        json!({ "active": false })
    );

    // Rotate: a new key; the old one works during the overlap (24 h), then not.
    let resp = post(&format!("/api/keys/{id}/rotate"), json!({}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let rotated: Value = resp.json().await.unwrap();
    let new_key = rotated["api_key"].as_str().unwrap().to_string();
    assert_ne!(new_key, key);
    assert_eq!(introspect(&app, &rs, &key, None).await["active"], true);
    assert_eq!(introspect(&app, &rs, &new_key, None).await["active"], true);
    app.clock.advance(24 * 3600 + 1);
    assert_eq!(
        introspect(&app, &rs, &key, None).await,
        json!({ "active": false })
    );
    assert_eq!(introspect(&app, &rs, &new_key, None).await["active"], true);

    // Revoke (a fresh login: the account token above has expired meanwhile).
    let login = app.account_login(&user.email, PASSWORD).await;
    let bearer = login["access_token"].as_str().unwrap();
    let new_id = rotated["id"].as_str().unwrap();
    let resp = app
        .api
        .delete(app.url(&format!("/api/keys/{new_id}")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        introspect(&app, &rs, &new_key, None).await,
        json!({ "active": false })
    );
    let resp = app
        .api
        .delete(app.url(&format!("/api/keys/{new_id}")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    // Operators: the CLI, and the secret is in no table.
    let out = crate::keys::portcullis()
        .args([
            "apikey",
            "create",
            "--user",
            &user.email,
            "--name",
            "ops",
            "--scope",
            "read",
            "--expires-in-days",
            "7",
        ])
        .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli_key: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cli_secret = cli_key["api_key"].as_str().unwrap();
    assert_eq!(
        introspect(&app, &rs, cli_secret, Some("api_key")).await["active"],
        true
    );
    let out = crate::keys::portcullis()
        .args(["apikey", "list", "--user", &user.email])
        .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    let mut conn = app.db.get().unwrap();
    let rows = format!(
        "{:?}",
        portcullis::store::api_keys::list(&mut conn, None).unwrap()
    );
    for secret in [&key, &new_key, &cli_secret.to_string()] {
        let secret_part = &secret[12..];
        assert!(
            !rows.contains(secret_part),
            "an API key secret is stored in clear"
        );
    }
    drop(conn);
    let out = crate::keys::portcullis()
        .args(["apikey", "revoke", cli_key["id"].as_str().unwrap()])
        .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        introspect(&app, &rs, cli_secret, None).await,
        json!({ "active": false })
    );

    // An expiring key (made through the API, so on the server's clock): live until its expiry,
    // then inactive.
    let resp = app
        .api
        .post(app.url("/api/keys"))
        .bearer_auth(bearer)
        .json(&json!({ "name": "short", "expires_in_days": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let short: Value = resp.json().await.unwrap();
    let short = short["api_key"].as_str().unwrap();
    assert_eq!(introspect(&app, &rs, short, None).await["active"], true);
    app.clock.advance(86_399);
    assert_eq!(introspect(&app, &rs, short, None).await["active"], true);
    app.clock.advance(1);
    assert_eq!(
        introspect(&app, &rs, short, None).await,
        json!({ "active": false })
    );
}

async fn userinfo_and_its_answer_to_revocation(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.password_client();
    let user = app.create_user("info@example.com", "student").await;
    let tokens: Value = app
        .password_grant(&client, &user.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    // GET and POST; claims by scope (openid profile email were granted).
    let resp = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["sub"], user.id.as_str());
    assert_eq!(info["email"], user.email.as_str());
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["name"], "Test User");
    let resp = app
        .api
        .post(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Only `openid email`: no name.
    let narrow: Value = app
        .password_grant_scoped(&client, &user.email, "openid email")
        .await
        .json()
        .await
        .unwrap();
    let info: Value = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(narrow["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info.get("name").is_none());
    assert_eq!(info["email"], user.email.as_str());

    // Without `openid`: 403 insufficient_scope; no token: 401 with a bare challenge.
    let plain: Value = app
        .password_grant_scoped(&client, &user.email, "read")
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(plain["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    let resp = app.api.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\""
    );

    // Revoked at /revoke by its client: userinfo refuses it with invalid_token.
    assert_eq!(revoke(&app, &client, access).await.status(), 200);
    let resp = app
        .api
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let resp = app
        .api
        .delete(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}

async fn client_token(app: &TestApp, client: &TestClient) -> String {
    let resp = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// Client tokens asked about by a cached resource server are looked up in batches
/// (`oauth::liveness_batch`): many at once, each answer is still its own token's, and a
/// revocation made just before is never missed.
async fn concurrent_introspections_of_client_tokens_each_get_their_own_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let rs = resource_server(&app);
    let service = app.service_client();
    let mut tokens = Vec::new();
    for _ in 0..30 {
        tokens.push(client_token(&app, &service).await);
    }
    // The resource server held in the client cache (trusted once the change counter was read).
    assert_eq!(
        introspect(&app, &rs, &tokens[0], None).await["active"],
        true
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    for rounds in 0..2 {
        // Every third token is revoked right before the round (by its own client).
        for (i, token) in tokens.iter().enumerate() {
            if i % 3 == rounds {
                assert_eq!(revoke(&app, &service, token).await.status(), 200);
            }
        }
        let answers = futures_util::future::join_all(
            tokens
                .iter()
                .map(|t| introspect(&app, &rs, t, Some("access_token"))),
        )
        .await;
        for (i, (answer, token)) in answers.iter().zip(&tokens).enumerate() {
            if i % 3 <= rounds {
                assert_eq!(answer, &json!({ "active": false }), "token {i}");
            } else {
                assert_eq!(answer["active"], true, "token {i}");
                assert_eq!(answer["client_id"], service.id.as_str());
                assert_eq!(answer["sub"], service.id.as_str());
                let claims = crate::client_jwt::claims_of(token);
                assert_eq!(answer["jti"], claims["jti"], "token {i}");
                assert!(answer.get("username").is_none());
            }
        }
    }
    // The service itself (no introspection flag) learns about its own tokens, not others'.
    let other = app.service_client();
    let theirs = client_token(&app, &other).await;
    assert_eq!(
        introspect(&app, &service, &theirs, None).await,
        json!({ "active": false })
    );
    assert_eq!(
        introspect(&app, &service, &tokens[2], None).await["active"],
        true
    );
}
