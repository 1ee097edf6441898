//! The account JSON API and its RFC 6750 Bearer answers.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with, Backend, PASSWORD};

both_backends!(
    register_validates_and_reports_each_rule,
    login_me_refresh_logout,
    password_change_ends_other_sessions,
    sessions_can_be_listed_and_ended,
    bearer_errors_follow_rfc6750,
    registration_can_be_switched_off,
);

async fn register_validates_and_reports_each_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let register = |body: Value| {
        app.api
            .post(app.url("/api/auth/register"))
            .json(&body)
            .send()
    };

    let resp = register(json!({ "email": "new@example.com", "password": PASSWORD, "name": "New" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(user["email"], "new@example.com");
    assert_eq!(user["role"], "guest");
    assert_eq!(user["permissions"], json!(["read"]));
    assert!(user.get("password_hash").is_none());

    let resp = register(json!({ "email": "NEW@example.com", "password": PASSWORD }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "email_taken");

    let resp = register(json!({ "email": "weak@example.com", "password": "short" }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "weak_password");
    let rules: Vec<&str> = body["details"]["failed_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["min_length", "uppercase", "digit"]);
    assert!(body["details"]["failed_rules"][0]["message"]
        .as_str()
        .unwrap()
        .contains('8'));

    let resp = register(json!({ "email": "Same@Example1.com", "password": "same@example1.com" }))
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let rules: Vec<&str> = body["details"]["failed_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["uppercase", "not_email"]);

    let resp = register(json!({ "email": "not an email", "password": PASSWORD }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_email"
    );

    // Malformed bodies are 400 JSON, never 5xx.
    let resp = app
        .api
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let resp = register(json!({ "email": "x@example.com", "password": PASSWORD, "role": "admin" }))
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        400,
        "unknown fields (like a self-chosen role) are refused"
    );
}

async fn login_me_refresh_logout(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("me@example.com", "instructor").await;
    let tokens = app.account_login(&user.email, PASSWORD).await;
    assert_eq!(tokens["scope"], "account profile email");
    let access = tokens["access_token"].as_str().unwrap().to_string();

    let me: Value = app
        .api
        .get(app.url("/api/auth/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], user.id.as_str());
    assert_eq!(me["role"], "instructor");
    assert_eq!(
        me["permissions"],
        json!(["read", "write", "manage_content"])
    );

    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": user.email, "password": "Wrong-1234" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_credentials"
    );

    let resp = app
        .api
        .post(app.url("/api/auth/refresh"))
        .json(&json!({ "refresh_token": tokens["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let refreshed: Value = resp.json().await.unwrap();
    let resp = app
        .api
        .post(app.url("/api/auth/refresh"))
        .json(&json!({ "refresh_token": "nope" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let resp = app
        .api
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    // The session is over: its refresh tokens and (on this API) its access tokens stop working.
    let resp = app
        .api
        .post(app.url("/api/auth/refresh"))
        .json(&json!({ "refresh_token": refreshed["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = app
        .api
        .get(app.url("/api/auth/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
}

async fn password_change_ends_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("pw@example.com", "guest").await;
    let here = app.account_login(&user.email, PASSWORD).await;
    let elsewhere = app.account_login(&user.email, PASSWORD).await;
    let access = here["access_token"].as_str().unwrap();
    let change = |current: &str, new: &str| {
        app.api
            .put(app.url("/api/auth/password"))
            .bearer_auth(access)
            .json(&json!({ "current_password": current, "new_password": new }))
            .send()
    };
    let resp = change("Wrong-Password-1", "Brand-New-Pass-2")
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = change(PASSWORD, "weak").await.unwrap();
    assert_eq!(resp.status(), 422);
    let resp = change(PASSWORD, "Brand-New-Pass-2").await.unwrap();
    assert_eq!(resp.status(), 204);

    let resp = app
        .api
        .get(app.url("/api/auth/me"))
        .bearer_auth(elsewhere["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "the other session ended");
    let resp = app
        .api
        .get(app.url("/api/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "this session lives on");
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": user.email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    app.account_login(&user.email, "Brand-New-Pass-2").await;
}

async fn sessions_can_be_listed_and_ended(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("sess@example.com", "guest").await;
    let mine = app.account_login(&user.email, PASSWORD).await;
    let other = app.account_login(&user.email, PASSWORD).await;
    let access = mine["access_token"].as_str().unwrap();
    let listed: Value = app
        .api
        .get(app.url("/api/auth/sessions"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let other_id = listed.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(listed.iter().filter(|s| s["current"] == true).count(), 1);

    let resp = app
        .api
        .delete(app.url(&format!("/api/auth/sessions/{other_id}")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = app
        .api
        .get(app.url("/api/auth/me"))
        .bearer_auth(other["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app
        .api
        .delete(app.url(&format!("/api/auth/sessions/{other_id}")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // Someone else's session is not found either.
    let stranger = app.create_user("stranger@example.com", "guest").await;
    let theirs = app.account_login(&stranger.email, PASSWORD).await;
    let their_sessions: Value = app
        .api
        .get(app.url("/api/auth/sessions"))
        .bearer_auth(theirs["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let their_id = their_sessions[0]["id"].as_str().unwrap();
    let resp = app
        .api
        .delete(app.url(&format!("/api/auth/sessions/{their_id}")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

async fn bearer_errors_follow_rfc6750(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = app.url("/api/auth/me");

    let resp = app.api.get(&me).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\""
    );

    let resp = app
        .api
        .get(&me)
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer realm=\"portcullis\", error=\"invalid_token\""),
        "{challenge}"
    );
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_token"
    );

    let resp = app
        .api
        .get(&me)
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // A valid token without the `account` scope (client_credentials): 403 insufficient_scope.
    let client = app.service_client();
    let cc: Value = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .api
        .get(&me)
        .bearer_auth(cc["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"account\""),
        "{challenge}"
    );

    // An expired token.
    let user = app.create_user("exp@example.com", "guest").await;
    let tokens = app.account_login(&user.email, PASSWORD).await;
    app.clock.advance(901);
    let resp = app
        .api
        .get(&me)
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("expired"));
}

async fn registration_can_be_switched_off(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.users.registration_enabled = false).await;
    let resp = app
        .api
        .post(app.url("/api/auth/register"))
        .json(&json!({ "email": "late@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "registration_disabled"
    );
}
