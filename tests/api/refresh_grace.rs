//! The refresh-token grace window (`sessions.refresh_reuse_grace_secs`) and concurrent duplicates:
//! a retry of the just-rotated token replaces its undelivered successor, so a family always has
//! exactly one live refresh token; anything else rotated is reuse; N simultaneous presentations
//! of one token on two instances have one winner and N − 1 `invalid_grant` losers, never a 500.
use diesel::prelude::*;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{
    assert_oauth_error, spawn_app_with, spawn_sibling, Backend, TestApp, TestClient, PASSWORD,
};
use crate::refresh::{refresh_concurrently, rt, tokens};

both_backends!(
    strict_immediate_replay_revokes_the_family,
    retry_in_grace_replaces_the_undelivered_successor,
    retry_after_the_successor_was_used_is_reuse,
    retry_after_the_grace_is_reuse,
    concurrent_duplicates_strict,
    concurrent_duplicates_with_grace,
);

fn at(v: &Value) -> &str {
    v["access_token"].as_str().unwrap()
}

/// Refresh tokens of the user (one family in these tests) that are live: not rotated, not
/// revoked, not expired.
fn live_refresh_tokens(app: &TestApp, user_id: &str) -> i64 {
    use portcullis::store::schema::refresh_tokens::dsl as r;
    let now = app.clock_now();
    let mut conn = app.db.get().unwrap();
    r::refresh_tokens
        .filter(r::user_id.eq(user_id))
        .filter(r::rotated_at.is_null())
        .filter(r::revoked_at.is_null())
        .filter(r::expires_at.gt(now))
        .filter(r::idle_expires_at.gt(now))
        .count()
        .get_result(&mut *conn)
        .unwrap()
}

async fn active(app: &TestApp, client: &TestClient, token: &str) -> bool {
    let resp = app
        .api
        .post(app.url("/introspect"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["active"] == true
}

async fn with_grace(backend: Backend, grace: i64) -> TestApp {
    spawn_app_with(backend, move |s| {
        s.sessions.refresh_reuse_grace_secs = grace
    })
    .await
}

async fn strict_immediate_replay_revokes_the_family(backend: Backend) {
    let app = with_grace(backend, 0).await;
    let client = app.password_client();
    let user = app.create_user("strict@example.com", "guest").await;
    let first = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    let second = tokens(app.refresh(&client, &rt(&first)).await).await;
    // Immediately, in the same second: reuse, the family is revoked.
    let replay = app.refresh(&client, &rt(&first)).await;
    assert_oauth_error(replay, 400, "invalid_grant").await;
    let dead = app.refresh(&client, &rt(&second)).await;
    assert_oauth_error(dead, 400, "invalid_grant").await;
    assert!(!active(&app, &client, at(&second)).await);
    assert_eq!(live_refresh_tokens(&app, &user.id), 0);
}

async fn retry_in_grace_replaces_the_undelivered_successor(backend: Backend) {
    let app = with_grace(backend, 10).await;
    let client = app.password_client();
    let user = app.create_user("retry@example.com", "guest").await;
    let first = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    // This answer is "lost": the client never sees `lost`, and retries with `first`.
    let lost = tokens(app.refresh(&client, &rt(&first)).await).await;
    app.clock.advance(5);
    let retried = tokens(app.refresh(&client, &rt(&first)).await).await;
    assert_ne!(rt(&retried), rt(&lost));
    // The undelivered successor and its access token are dead; the new pair lives.
    assert!(!active(&app, &client, at(&lost)).await);
    assert!(!active(&app, &client, &rt(&lost)).await);
    assert!(active(&app, &client, at(&retried)).await);
    assert_eq!(live_refresh_tokens(&app, &user.id), 1);
    // A second retry (that answer lost too) replaces it again, still one live token.
    app.clock.advance(1);
    let again = tokens(app.refresh(&client, &rt(&first)).await).await;
    assert!(!active(&app, &client, at(&retried)).await);
    assert_eq!(live_refresh_tokens(&app, &user.id), 1);
    // The revoked successor is refused without touching the family; the chain goes on.
    let stale = app.refresh(&client, &rt(&lost)).await;
    assert_oauth_error(stale, 400, "invalid_grant").await;
    let next = tokens(app.refresh(&client, &rt(&again)).await).await;
    assert!(active(&app, &client, at(&next)).await);
    assert_eq!(live_refresh_tokens(&app, &user.id), 1);
}

async fn retry_after_the_successor_was_used_is_reuse(backend: Backend) {
    let app = with_grace(backend, 10).await;
    let client = app.password_client();
    let user = app.create_user("used@example.com", "guest").await;
    let first = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    let second = tokens(app.refresh(&client, &rt(&first)).await).await;
    let third = tokens(app.refresh(&client, &rt(&second)).await).await;
    app.clock.advance(2);
    // `second` was used, so `first` is no longer the just-rotated token: reuse, family revoked.
    let reuse = app.refresh(&client, &rt(&first)).await;
    assert_oauth_error(reuse, 400, "invalid_grant").await;
    assert!(!active(&app, &client, at(&third)).await);
    assert_eq!(live_refresh_tokens(&app, &user.id), 0);
}

async fn retry_after_the_grace_is_reuse(backend: Backend) {
    let app = with_grace(backend, 10).await;
    let client = app.password_client();
    let user = app.create_user("late@example.com", "guest").await;
    let first = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    let second = tokens(app.refresh(&client, &rt(&first)).await).await;
    app.clock.advance(11);
    let late = app.refresh(&client, &rt(&first)).await;
    assert_oauth_error(late, 400, "invalid_grant").await;
    assert!(!active(&app, &client, at(&second)).await);
    assert_eq!(live_refresh_tokens(&app, &user.id), 0);
}

async fn concurrent_duplicates_strict(backend: Backend) {
    concurrent_duplicates(backend, 0).await
}

async fn concurrent_duplicates_with_grace(backend: Backend) {
    concurrent_duplicates(backend, 10).await
}

/// Rounds of 10 simultaneous refreshes of one token, spread over two instances (100 rounds on
/// PostgreSQL, where row locks decide; 20 on SQLite, which serialises writers): one winner.
/// With a grace window the losers revoke nothing and the winner's token carries on (one live
/// token per family); strict (grace 0), a loser is a reuse and revokes the family, so each round
/// starts a new one and ends with none live.
async fn concurrent_duplicates(backend: Backend, grace: i64) {
    let a = with_grace(backend, grace).await;
    let b = spawn_sibling(&a).await;
    let client = a.password_client();
    let user = a.create_user("race@example.com", "guest").await;
    let mut token = String::new();
    let started = std::time::Instant::now();
    let rounds = if backend == Backend::Postgres {
        100
    } else {
        20
    };
    for round in 0..rounds {
        if grace == 0 || round == 0 {
            token = rt(&tokens(a.password_grant(&client, &user.email, PASSWORD).await).await);
        }
        let answers = refresh_concurrently(&a, &b, &client, &token, 10).await;
        let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: {statuses:?}"
        );
        for (status, body) in &answers {
            if *status != 200 {
                assert_eq!(*status, 400, "round {round}: {statuses:?}");
                assert_eq!(body["error"], "invalid_grant", "round {round}: {body}");
            }
        }
        let (_, won) = answers.iter().find(|(s, _)| *s == 200).unwrap();
        token = rt(won);
        let live = if grace == 0 { 0 } else { 1 };
        assert_eq!(live_refresh_tokens(&a, &user.id), live, "round {round}");
    }
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}
