//! Refresh tokens: rotation, reuse detection that revokes the family and only it, the grace
//! window (`refresh_grace.rs`), idle expiry, max sessions, and the race across two instances.
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{
    assert_oauth_error, spawn_app, spawn_app_with, spawn_sibling, Backend, TestApp, TestClient,
    PASSWORD,
};

both_backends!(
    rotation_and_reuse_revokes_only_that_family,
    refresh_expires_when_idle_and_keeps_scope,
    oldest_session_is_ended_beyond_the_limit,
    rotation_stores_the_successor_and_its_audit_row,
    the_common_case_in_one_statement,
);

pub async fn tokens(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

pub fn rt(v: &Value) -> String {
    v["refresh_token"].as_str().unwrap().to_string()
}

/// `n` simultaneous refreshes of `token` by `client`, alternating between instances `a` and
/// `b`: each answer's status and body.
pub async fn refresh_concurrently(
    a: &TestApp,
    b: &TestApp,
    client: &TestClient,
    token: &str,
    n: usize,
) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let url = if i % 2 == 0 {
                a.url("/token")
            } else {
                b.url("/token")
            };
            let (http, id, secret, token) = (
                a.api.clone(),
                client.id.clone(),
                client.secret.clone(),
                token.to_string(),
            );
            tokio::spawn(async move {
                let resp = http
                    .post(url)
                    .basic_auth(id, Some(secret))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

async fn rotation_and_reuse_revokes_only_that_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.password_client();
    let user = app.create_user("rot@example.com", "student").await;
    let first = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    let other_session = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;

    let second = tokens(app.refresh(&client, &rt(&first)).await).await;
    assert_ne!(rt(&second), rt(&first));
    assert_eq!(second["scope"], first["scope"]);
    assert!(second["id_token"].as_str().is_some());
    let third = tokens(app.refresh(&client, &rt(&second)).await).await;

    // Presenting a retired token again: invalid_grant, and its whole family is revoked…
    assert_oauth_error(
        app.refresh(&client, &rt(&first)).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        app.refresh(&client, &rt(&third)).await,
        400,
        "invalid_grant",
    )
    .await;
    // …but not the user's other session.
    tokens(app.refresh(&client, &rt(&other_session)).await).await;

    let mut conn = app.db.get().unwrap();
    let reuse = portcullis::store::audit::list(
        &mut conn,
        Some(&user.id),
        Some("refresh_reuse_detected"),
        None,
        10,
    )
    .unwrap();
    assert_eq!(reuse.len(), 1);
    assert!(
        !format!("{reuse:?}").contains(&rt(&first)),
        "no token in the audit log"
    );

    // Another client cannot use it; a garbage token is invalid_grant.
    let intruder = app.password_client();
    assert_oauth_error(
        app.refresh(&intruder, &rt(&other_session)).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        app.refresh(&client, "not-a-token").await,
        400,
        "invalid_grant",
    )
    .await;
}

async fn refresh_expires_when_idle_and_keeps_scope(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.sessions.refresh_token_idle_secs = 3600).await;
    let client = app.password_client();
    let user = app.create_user("idle@example.com", "student").await;
    let first = tokens(
        app.password_grant_scoped(&client, &user.email, "read chat")
            .await,
    )
    .await;
    // Narrowing on refresh is allowed; widening is not (and does not burn the token).
    assert_oauth_error(
        app.token_basic(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&first)),
                ("scope", "read write"),
            ],
        )
        .await,
        400,
        "invalid_scope",
    )
    .await;
    // An empty `scope` is no scope parameter (RFC 6749 §3.3 has no empty scope): the family's.
    let kept = tokens(
        app.token_basic(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&first)),
                ("scope", ""),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(kept["scope"], first["scope"]);
    assert_eq!(kept["scope"], "read chat");
    let narrowed = tokens(
        app.token_basic(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&kept)),
                ("scope", "read"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(narrowed["scope"], "read");
    app.clock.advance(3601);
    assert_oauth_error(
        app.refresh(&client, &rt(&narrowed)).await,
        400,
        "invalid_grant",
    )
    .await;
}

async fn oldest_session_is_ended_beyond_the_limit(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.sessions.max_per_user = 2).await;
    let client = app.password_client();
    let user = app.create_user("many@example.com", "guest").await;
    let a = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    app.clock.advance(1);
    let b = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    app.clock.advance(1);
    let c = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    // The oldest session (a) was ended with its refresh tokens; b and c live on.
    assert_oauth_error(app.refresh(&client, &rt(&a)).await, 400, "invalid_grant").await;
    tokens(app.refresh(&client, &rt(&b)).await).await;
    tokens(app.refresh(&client, &rt(&c)).await).await;
    let mut conn = app.db.get().unwrap();
    let live =
        portcullis::store::sessions::active_sessions(&mut conn, &user.id, app.clock_now()).unwrap();
    assert_eq!(live.len(), 2);
}

/// What a rotation writes, row by row (on PostgreSQL one statement writes it all: the claim,
/// the successor, the audit row; on SQLite a transaction): the same on both backends.
async fn rotation_stores_the_successor_and_its_audit_row(backend: Backend) {
    use portcullis::store::{audit, sessions};
    use portcullis::tokens::secret::hash_secret;
    let app = spawn_app_with(backend, |s| s.sessions.refresh_token_idle_secs = 3600).await;
    let client = app.password_client();
    let user = app.create_user("rows@example.com", "student").await;
    let first = tokens(
        app.password_grant_scoped(&client, &user.email, "read chat")
            .await,
    )
    .await;
    let mut conn = app.db.get().unwrap();
    let parent = sessions::find_refresh_token(&mut conn, &hash_secret(&rt(&first)))
        .unwrap()
        .unwrap();
    let started = sessions::find_session(&mut conn, &parent.session_id)
        .unwrap()
        .unwrap();

    // A minute and more later: the session's "last seen" is written again.
    app.clock.advance(61);
    let second = tokens(
        app.token_basic(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&first)),
                ("scope", "read"),
            ],
        )
        .await,
    )
    .await;
    let now = app.clock_now();
    let claimed = sessions::find_refresh_token(&mut conn, &parent.token_hash)
        .unwrap()
        .unwrap();
    assert_eq!(claimed.rotated_at, Some(now));
    assert_eq!(claimed.revoked_at, None);
    let successor = sessions::find_refresh_token(&mut conn, &hash_secret(&rt(&second)))
        .unwrap()
        .unwrap();
    assert_eq!(successor.parent_id.as_deref(), Some(parent.id.as_str()));
    assert_eq!(
        (
            &successor.family_id,
            &successor.session_id,
            &successor.user_id,
            &successor.client_id
        ),
        (
            &parent.family_id,
            &parent.session_id,
            &parent.user_id,
            &parent.client_id
        )
    );
    // The family's scope is kept whole (the narrowing is the access token's), and its expiry.
    assert_eq!(successor.scope, "read chat");
    assert_eq!(successor.resources, parent.resources);
    assert_eq!(successor.expires_at, parent.expires_at);
    assert_eq!(successor.created_at, now);
    assert_eq!(
        successor.idle_expires_at,
        (now + 3600).min(parent.expires_at)
    );
    assert_eq!((successor.rotated_at, successor.revoked_at), (None, None));
    // The access token's `jti` is the successor's row id.
    let claims =
        jsonwebtoken::dangerous::insecure_decode::<Value>(second["access_token"].as_str().unwrap())
            .unwrap()
            .claims;
    assert_eq!(claims["jti"], successor.id.as_str());
    assert_eq!(claims["sid"], parent.session_id.as_str());
    assert_eq!(claims["auth_time"], started.auth_time);
    let session = sessions::find_session(&mut conn, &parent.session_id)
        .unwrap()
        .unwrap();
    assert_eq!(session.last_seen_at, now);
    let issued = audit::list(
        &mut conn,
        Some(&user.id),
        Some("token_issued"),
        Some(now),
        10,
    )
    .unwrap();
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0].outcome, "success");
    assert_eq!(issued[0].client_id.as_deref(), Some(client.id.as_str()));
    let detail: Value = serde_json::from_str(issued[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(
        detail,
        serde_json::json!({ "grant": "refresh_token", "scope": "read" })
    );

    // Seconds later: rotated again, "last seen" left as it was.
    app.clock.advance(5);
    let third = tokens(app.refresh(&client, &rt(&second)).await).await;
    let session = sessions::find_session(&mut conn, &parent.session_id)
        .unwrap()
        .unwrap();
    assert_eq!(session.last_seen_at, now);
    let next = sessions::find_refresh_token(&mut conn, &hash_secret(&rt(&third)))
        .unwrap()
        .unwrap();
    assert_eq!(next.parent_id.as_deref(), Some(successor.id.as_str()));

    // A refused refresh writes nothing: no successor, no audit row, the token still live.
    let before = audit::list(&mut conn, Some(&user.id), None, None, 100)
        .unwrap()
        .len();
    assert_oauth_error(
        app.token_basic(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt(&third)),
                ("scope", "read write"),
            ],
        )
        .await,
        400,
        "invalid_scope",
    )
    .await;
    let after = audit::list(&mut conn, Some(&user.id), None, None, 100)
        .unwrap()
        .len();
    assert_eq!(after, before);
    let live = sessions::find_refresh_token(&mut conn, &hash_secret(&rt(&third)))
        .unwrap()
        .unwrap();
    assert_eq!((live.rotated_at, live.revoked_at), (None, None));

    // A session ended (signed out elsewhere) takes its live token with it.
    let now = app.clock_now();
    sessions::end_session(&mut conn, &parent.session_id, now).unwrap();
    assert_oauth_error(
        app.refresh(&client, &rt(&third)).await,
        400,
        "invalid_grant",
    )
    .await;
    let count = audit::list(&mut conn, Some(&user.id), Some("token_issued"), None, 100)
        .unwrap()
        .len();
    assert_eq!(
        count, 3,
        "one per grant that issued: the password grant and two refreshes"
    );
}

/// The rotation's common case in one statement (PostgreSQL; `None` on SQLite, which keeps the
/// transaction): it claims a live token once; a second try with the token as read before (a
/// duplicate that lost) gets `None` and writes nothing, which sends the grant the
/// transaction's way.
async fn the_common_case_in_one_statement(backend: Backend) {
    use portcullis::identity::audit::Event;
    use portcullis::identity::sessions::{rotate_at_once, Presented};
    use portcullis::store::{audit, sessions};
    use portcullis::tokens::secret::hash_secret;
    let app = spawn_app(backend).await;
    let client = app.password_client();
    let user = app.create_user("once@example.com", "student").await;
    let first = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    let mut conn = app.db.get().unwrap();
    let presented = Presented::read(&mut conn, &rt(&first)).unwrap();
    let policy = portcullis::config::SessionSettings::default();
    let event = || Event {
        kind: "token_issued",
        success: true,
        user_id: Some(&user.id),
        client_id: Some(&client.id),
        meta: None,
        detail: None,
    };
    let now = app.clock_now();
    let audited = || audit::list(&mut app.db.get().unwrap(), Some(&user.id), None, None, 100);
    let before = audited().unwrap().len();
    let rotated = rotate_at_once(&mut conn, &presented, &client.id, &policy, event(), now).unwrap();
    let Some(rotated) = rotated else {
        assert!(
            matches!(backend, Backend::Sqlite),
            "PostgreSQL rotates in one statement"
        );
        return;
    };
    assert!(matches!(backend, Backend::Postgres));
    assert_eq!(audited().unwrap().len(), before + 1);
    let successor = sessions::find_refresh_token(&mut conn, &hash_secret(&rotated.token.token))
        .unwrap()
        .unwrap();
    assert_eq!(successor.id, rotated.token.row_id);
    // The token as read before, tried again: not claimed, nothing written.
    let again = rotate_at_once(&mut conn, &presented, &client.id, &policy, event(), now).unwrap();
    assert!(again.is_none());
    assert_eq!(audited().unwrap().len(), before + 1);
    // Another client's token, or one past its idle expiry, is never tried.
    let other = app.password_client();
    let fresh = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    let fresh = Presented::read(&mut conn, &rt(&fresh)).unwrap();
    assert!(
        rotate_at_once(&mut conn, &fresh, &other.id, &policy, event(), now)
            .unwrap()
            .is_none()
    );
    let late = now + policy.refresh_token_idle_secs;
    assert!(
        rotate_at_once(&mut conn, &fresh, &client.id, &policy, event(), late)
            .unwrap()
            .is_none()
    );
    // The successor works over HTTP; the token it replaced is reuse.
    tokens(app.refresh(&client, &rotated.token.token).await).await;
    assert_oauth_error(
        app.refresh(&client, &rt(&first)).await,
        400,
        "invalid_grant",
    )
    .await;
}

/// 20 concurrent refreshes of one token against two instances on one PostgreSQL database:
/// exactly one succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(portcullis_test_postgres),
    ignore = "PostgreSQL skipped: PORTCULLIS_TEST_POSTGRES_URL was not set at build time"
)]
async fn concurrent_refresh_across_two_instances_on_postgres() {
    if crate::helpers::postgres_admin_url().is_none() {
        return;
    }
    let a = spawn_app(Backend::Postgres).await;
    let b = spawn_sibling(&a).await;
    let client = a.password_client();
    let user = a.create_user("race@example.com", "guest").await;
    let first = tokens(a.password_grant(&client, &user.email, PASSWORD).await).await;
    let token = rt(&first);
    let statuses: Vec<u16> = refresh_concurrently(&a, &b, &client, &token, 20)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        19,
        "{statuses:?}"
    );
}
