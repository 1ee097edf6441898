//! The password grant: tokens and claims, one error for every bad login, throttling and the
//! progressive account lock (with the injected clock, never sleeps).
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{
    assert_oauth_error, spawn_app, spawn_app_with, verify_with_jwks, Backend, PASSWORD,
};

both_backends!(
    password_grant_issues_access_refresh_and_id_tokens,
    bad_logins_all_look_the_same,
    ip_throttle_answers_429_after_the_sixth_failure,
    accounts_lock_progressively_and_unlock,
);

async fn password_grant_issues_access_refresh_and_id_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.password_client();
    let user = app.create_user("Ada@Example.com", "student").await;

    // The email matches case-insensitively.
    let resp = app
        .password_grant(&client, "ada@example.COM", &user.password)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    // student: read chat save_progress; the client allows read/write/chat + OIDC scopes.
    assert_eq!(body["scope"], "openid profile email read chat");
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    let jwks = app.jwks().await;
    let (_, at) = verify_with_jwks(
        body["access_token"].as_str().unwrap(),
        &jwks,
        &app.address,
        &app.address,
    );
    assert_eq!(at["sub"], user.id.as_str());
    assert_eq!(at["client_id"], client.id.as_str());
    assert_eq!(at["roles"], serde_json::json!(["student"]));
    assert_eq!(at["auth_time"], at["iat"]);
    assert!(at["sid"].as_str().is_some());

    let (header, id) = verify_with_jwks(
        body["id_token"].as_str().unwrap(),
        &jwks,
        &app.address,
        &client.id,
    );
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(id["sub"], user.id.as_str());
    assert_eq!(id["aud"], client.id.as_str());
    assert_eq!(id["email"], "Ada@Example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Test User");
    assert_eq!(id["auth_time"], at["auth_time"]);
    assert_eq!(
        id["at_hash"],
        portcullis::oidc::id_token::at_hash(
            portcullis::tokens::Alg::RS256,
            body["access_token"].as_str().unwrap()
        )
        .as_str()
    );

    // Without openid: no id_token; a scope the client lacks: invalid_scope; one the role
    // lacks: silently not granted.
    let resp = app
        .password_grant_scoped(&client, &user.email, "read write")
        .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["scope"], "read");
    assert!(body.get("id_token").is_none());
    let resp = app
        .password_grant_scoped(&client, &user.email, "admin")
        .await;
    assert_oauth_error(resp, 400, "invalid_scope").await;

    // Missing parameters.
    let resp = app
        .token_basic(
            &client,
            &[("grant_type", "password"), ("username", &user.email)],
        )
        .await;
    assert_oauth_error(resp, 400, "invalid_request").await;

    // A client without the grant.
    let cc = app.service_client();
    let resp = app.password_grant(&cc, &user.email, PASSWORD).await;
    assert_oauth_error(resp, 400, "unauthorized_client").await;
}

async fn bad_logins_all_look_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.password_client();
    let user = app.create_user("grace@example.com", "guest").await;
    let disabled = app.create_user("eve@example.com", "guest").await;
    {
        let mut conn = app.db.get().unwrap();
        portcullis::store::users::set_disabled(&mut conn, &disabled.id, true, app.clock_now())
            .unwrap();
    }
    let mut bodies = Vec::new();
    for (email, password) in [
        ("nobody@example.com", PASSWORD),
        (user.email.as_str(), "Wrong-Password-1"),
        (disabled.email.as_str(), PASSWORD),
    ] {
        let resp = app.password_grant(&client, email, password).await;
        assert_eq!(resp.status(), 400);
        bodies.push(resp.text().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    let body: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "invalid username or password");
}

async fn ip_throttle_answers_429_after_the_sixth_failure(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.password_client();
    let user = app.create_user("mallory-target@example.com", "guest").await;
    for attempt in 1..=5 {
        let resp = app
            .password_grant(&client, &user.email, "Nope-nope-1")
            .await;
        assert_eq!(resp.status(), 400, "attempt {attempt}");
    }
    // The sixth failure within the minute, and everything after it from this IP: 429.
    let resp = app
        .password_grant(&client, &user.email, "Nope-nope-1")
        .await;
    assert_eq!(resp.status(), 429);
    let retry: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // Even the right password is refused while the window lasts.
    let resp = app.password_grant(&client, &user.email, PASSWORD).await;
    assert_eq!(resp.status(), 429);
    // The account API is covered by the same counter.
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({ "email": user.email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));

    // A minute later the window has closed.
    app.clock.advance(61);
    let resp = app.password_grant(&client, &user.email, PASSWORD).await;
    assert_eq!(resp.status(), 200);
}

async fn accounts_lock_progressively_and_unlock(backend: Backend) {
    // Per account: 3 failures delay every further guess (right or wrong, unhashed) by 15 min,
    // the next full window by 30 min (doubling). The source limit is raised so only the
    // account rule is at work.
    let app = spawn_app_with(backend, |s| {
        s.lockout.account_max_failures = 3;
        s.lockout.ip_max_failures = 1000;
    })
    .await;
    let client = app.password_client();
    let user = app.create_user("locked@example.com", "guest").await;
    let fail = || app.password_grant(&client, &user.email, "Wrong-Password-1");
    let ok = || app.password_grant(&client, &user.email, PASSWORD);
    let delayed = |resp: reqwest::Response, secs: i64| {
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.headers()["retry-after"].to_str().unwrap(),
            secs.to_string()
        );
    };

    for _ in 0..3 {
        assert_eq!(fail().await.status(), 400);
    }
    delayed(ok().await, 15 * 60);
    app.clock.advance(15 * 60 - 1);
    delayed(fail().await, 1);
    app.clock.advance(1);
    // The first delay lasted 15 minutes. Fail again: the second lasts 30.
    for _ in 0..3 {
        assert_eq!(fail().await.status(), 400);
    }
    app.clock.advance(15 * 60 + 1);
    delayed(ok().await, 15 * 60 - 1);
    app.clock.advance(15 * 60);
    assert_eq!(
        ok().await.status(),
        200,
        "the second delay ends after 30 min"
    );

    // A success resets the schedule; `user unlock` lifts a delay at once.
    for _ in 0..3 {
        assert_eq!(fail().await.status(), 400);
    }
    delayed(ok().await, 15 * 60);
    let out = crate::keys::portcullis()
        .args(["user", "unlock", &user.email])
        .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ok().await.status(), 200);

    let mut conn = app.db.get().unwrap();
    let events =
        portcullis::store::audit::list(&mut conn, Some(&user.id), Some("lockout"), None, 10)
            .unwrap();
    assert_eq!(events.len(), 3);
}
