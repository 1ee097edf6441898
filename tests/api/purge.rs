//! The purge (storage stays bounded): dead rows of every kind go after the grace, live rows
//! stay, reuse detection survives it, audit events follow `audit.retention_days`. The lease and
//! the CLI are in `purge_lease.rs`.
use diesel::RunQueryDsl;
use portcullis::purge::{self, Counts, Outcome, Policy};
use portcullis::store::authorize::{self, CodeRow, RequestRow};
use portcullis::store::federation::{self, LinkRow, StateRow};
use portcullis::store::sessions::{self as session_store, RefreshTokenRow, SessionRow};
use portcullis::store::{api_keys, guesses};

use crate::both_backends;
use crate::helpers::{assert_oauth_error, spawn_app_with, Backend, TestApp, PASSWORD};
use crate::refresh::{rt, tokens};

both_backends!(
    dead_rows_go_after_the_grace_and_live_rows_stay,
    reuse_is_still_detected_after_a_purge,
    audit_events_follow_the_retention,
);

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Grace 1 h, access tokens live at most 2 h, audit events a day: easy to step over.
pub async fn purge_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.purge.grace_secs = HOUR;
        s.tokens.max_access_token_ttl_secs = 2 * HOUR;
        s.audit.retention_days = 1;
    })
    .await
}

/// Runs a purge at the app's clock with `policy`; it must get the lease and complete.
pub async fn purge_with(app: &TestApp, policy: Policy) -> Counts {
    let (db, now) = (app.db.clone(), app.clock_now());
    let outcome = tokio::task::spawn_blocking(move || purge::run(&db, "test", &policy, now))
        .await
        .unwrap()
        .unwrap();
    match outcome {
        Outcome::Ran {
            counts,
            complete: true,
        } => counts,
        other => panic!("the purge did not run through: {other:?}"),
    }
}

pub async fn purge_now(app: &TestApp) -> Counts {
    purge_with(app, Policy::from_settings(&app.settings)).await
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// `SELECT COUNT(*) FROM {from}` (`from` may carry a WHERE).
pub fn count(app: &TestApp, from: &str) -> i64 {
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {from}"))
        .get_result::<Count>(&mut *app.db.get().unwrap())
        .unwrap()
        .n
}

fn token_row(id: &str, family: &str, session: &SessionRow, t: i64) -> RefreshTokenRow {
    RefreshTokenRow {
        id: id.into(),
        token_hash: format!("hash-{id}"),
        family_id: family.into(),
        session_id: session.id.clone(),
        user_id: session.user_id.clone(),
        client_id: session.client_id.clone(),
        scope: "read".into(),
        created_at: t,
        expires_at: session.expires_at,
        idle_expires_at: t + 14 * DAY,
        rotated_at: None,
        revoked_at: None,
        parent_id: None,
        resources: "[]".into(),
        dpop_jkt: None,
    }
}

fn live_session(app: &TestApp, user_id: &str) -> SessionRow {
    let mut conn = app.db.get().unwrap();
    let live = session_store::active_sessions(&mut conn, user_id, app.clock_now()).unwrap();
    assert_eq!(live.len(), 1);
    live[0].clone()
}

fn code(hash: &str, s: &SessionRow, t: i64, used: bool) -> CodeRow {
    CodeRow {
        code_hash: hash.into(),
        client_id: s.client_id.clone(),
        redirect_uri: "https://app.example.com/cb".into(),
        redirect_uri_given: true,
        scope: "read".into(),
        nonce: None,
        code_challenge: None,
        session_id: s.id.clone(),
        user_id: s.user_id.clone(),
        auth_time: t,
        created_at: t,
        expires_at: t + 60,
        used_at: used.then_some(t + 1),
        access_jti: None,
        access_expires_at: None,
        refresh_token_hash: None,
        resources: "[]".into(),
    }
}

fn request(id: &str, client_id: &str, t: i64, expires_at: i64) -> RequestRow {
    RequestRow {
        id: id.into(),
        browser_hash: "b".into(),
        client_id: client_id.into(),
        redirect_uri: "https://app.example.com/cb".into(),
        redirect_uri_given: true,
        response_mode: "query".into(),
        scope: "openid".into(),
        state: None,
        nonce: None,
        code_challenge: None,
        prompt: String::new(),
        max_age: None,
        login_hint: None,
        authenticated_at: None,
        created_at: t,
        expires_at,
        acr_values: None,
        resources: "[]".into(),
        ui_locales: None,
    }
}

async fn dead_rows_go_after_the_grace_and_live_rows_stay(backend: Backend) {
    let app = purge_app(backend).await;
    let client = app.password_client();
    let (alice, bob, carol) = (
        app.create_user("alice@example.com", "student").await,
        app.create_user("bob@example.com", "student").await,
        app.create_user("carol@example.com", "student").await,
    );
    let t0 = app.clock_now();
    // Alice: a live family rotated twice (3 rows, 2 of them rotated).
    let first = tokens(app.password_grant(&client, &alice.email, PASSWORD).await).await;
    let second = tokens(app.refresh(&client, &rt(&first)).await).await;
    let live = tokens(app.refresh(&client, &rt(&second)).await).await;
    let s1 = live_session(&app, &alice.id);
    // Bob: a session that ended (its refresh token is revoked with it).
    tokens(app.password_grant(&client, &bob.email, PASSWORD).await).await;
    let s2 = live_session(&app, &bob.id);
    // Carol: a family revoked by reuse detection, in a session that stays live.
    let c1 = tokens(app.password_grant(&client, &carol.email, PASSWORD).await).await;
    tokens(app.refresh(&client, &rt(&c1)).await).await;
    assert_oauth_error(app.refresh(&client, &rt(&c1)).await, 400, "invalid_grant").await;
    {
        let mut c = app.db.get().unwrap();
        assert!(session_store::end_session(&mut c, &s2.id, t0).unwrap());
        // An expired session with its token.
        let s4 = SessionRow {
            id: "s4".into(),
            expires_at: t0 + 600,
            ..s1.clone()
        };
        session_store::insert_session(&mut c, &s4).unwrap();
        session_store::insert_refresh_token(&mut c, &token_row("r4", "f4", &s4, t0)).unwrap();
        // In Alice's live session: a family whose head idled out (dead) ...
        let mut parent = token_row("f5a", "f5", &s1, t0);
        parent.rotated_at = Some(t0);
        parent.idle_expires_at = t0 + 300;
        let head = RefreshTokenRow {
            parent_id: Some("f5a".into()),
            idle_expires_at: t0 + 600,
            ..token_row("f5b", "f5", &s1, t0)
        };
        // ... and one whose undelivered successor a retry replaced (live: its new head is).
        let mut retried = token_row("f6a", "f6", &s1, t0);
        retried.rotated_at = Some(t0);
        let replaced = RefreshTokenRow {
            parent_id: Some("f6a".into()),
            revoked_at: Some(t0),
            ..token_row("f6b", "f6", &s1, t0)
        };
        let new_head = RefreshTokenRow {
            parent_id: Some("f6a".into()),
            ..token_row("f6c", "f6", &s1, t0)
        };
        for row in [parent, head, retried, replaced, new_head] {
            session_store::insert_refresh_token(&mut c, &row).unwrap();
        }
        authorize::insert_code(&mut c, &code("used", &s1, t0, true)).unwrap();
        authorize::insert_code(&mut c, &code("unused", &s1, t0, false)).unwrap();
        authorize::insert_request(&mut c, &request("old", &client.id, t0, t0 + 600)).unwrap();
        authorize::insert_request(&mut c, &request("new", &client.id, t0, t0 + 10 * DAY)).unwrap();
        let state = StateRow {
            state_hash: "st".into(),
            provider: "github".into(),
            browser_hash: "b".into(),
            request_id: None,
            link_token_hash: None,
            pkce_verifier: "v".into(),
            nonce: "n".into(),
            created_at: t0,
            expires_at: t0 + 600,
            used_at: None,
        };
        federation::insert_state(&mut c, &state, t0).unwrap();
        let link = LinkRow {
            token_hash: "lk".into(),
            browser_hash: "b".into(),
            user_id: alice.id.clone(),
            provider: "github".into(),
            issuer: "https://api.github.com".into(),
            subject: "1".into(),
            email: alice.email.clone(),
            request_id: None,
            created_at: t0,
            expires_at: t0 + 600,
        };
        federation::insert_link(&mut c, &link, t0).unwrap();
        api_keys::revoke_jti(&mut c, "jti-dead", t0 + 600, t0).unwrap();
        api_keys::revoke_jti(&mut c, "jti-live", t0 + 10 * DAY, t0).unwrap();
        guesses::trust_device(&mut c, &alice.id, "old-browser", t0 - 401 * DAY).unwrap();
        guesses::trust_device(&mut c, &alice.id, "usual-browser", t0).unwrap();
    }
    // Links sent by email: one that expired at t0 + 30 min, one still good for a day.
    for (hash, expires) in [("mail-old", t0 + HOUR / 2), ("mail-new", t0 + 24 * HOUR)] {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_at, \
             expires_at) VALUES ('{hash}', 'reset', '{}', 'alice@example.com', {t0}, {expires})",
            alice.id
        ))
        .execute(&mut *app.db.get().unwrap())
        .unwrap();
    }
    // Second-factor steps: one that expired at t0 + 5 min, one still open.
    for (hash, expires) in [("mfa-old", t0 + 300), ("mfa-new", t0 + 3 * DAY)] {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO mfa_challenges (id_hash, user_id, first_amr, enrol, created_at, \
             expires_at) VALUES ('{hash}', '{}', 'pwd', FALSE, {t0}, {expires})",
            alice.id
        ))
        .execute(&mut *app.db.get().unwrap())
        .unwrap();
    }
    // An unfinished passkey ceremony (expired at t0 + 5 min) and one still open; initial access
    // tokens: one expired at t0 + 10 min, one still good, one without an expiry.
    for (id, expires) in [("pk-old", t0 + 300), ("pk-new", t0 + 3 * DAY)] {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO passkey_ceremonies (id, user_id, kind, state, browser_hash, created_at, \
             expires_at) VALUES ('{id}', NULL, 'login', '{{}}', 'b', {t0}, {expires})"
        ))
        .execute(&mut *app.db.get().unwrap())
        .unwrap();
    }
    for (id, expires) in [
        ("iat-old", (t0 + 600).to_string()),
        ("iat-new", (t0 + 3 * DAY).to_string()),
        ("iat-forever", "NULL".to_string()),
    ] {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO registration_tokens (id, token_hash, uses_left, created_at, expires_at) \
             VALUES ('{id}', 'h-{id}', 1, {t0}, {expires})"
        ))
        .execute(&mut *app.db.get().unwrap())
        .unwrap();
    }
    let budgets = count(&app, "guess_budgets");
    assert!(budgets > 0, "sign-ins reserve guess budgets");
    let audit = count(&app, "audit_events");
    assert_eq!(count(&app, "refresh_tokens"), 3 + 1 + 2 + 1 + 2 + 3);

    // Within the grace, only what died long before goes: the browser nobody used for 401 days.
    app.clock.set(t0 + HOUR / 2);
    let first_run = purge_now(&app).await;
    assert_eq!(first_run.total(), 1, "{first_run}");
    assert_eq!(first_run.get("trusted_devices"), 1);

    app.clock.set(t0 + 2 * HOUR);
    let n = purge_now(&app).await;
    let expect = [
        ("authorization_codes", 2),
        ("authorization_requests", 1),
        ("federation_states", 1),
        ("federation_links", 1),
        ("email_tokens", 1),
        ("mfa_challenges", 1),
        ("passkey_ceremonies", 1),
        ("registration_tokens", 1),
        ("revoked_tokens", 1),
        // Bob's ended session, the expired session's token, the idled-out family.
        ("refresh_tokens", 1 + 1 + 2),
        ("sessions", 2),
        ("guess_budgets", 0),
        ("trusted_devices", 0),
        ("audit_events", 0),
    ];
    for (table, rows) in expect {
        assert_eq!(n.get(table), rows, "{table}: {n}");
    }
    assert_eq!(count(&app, "sessions WHERE id = 's4'"), 0);
    assert_eq!(count(&app, &format!("sessions WHERE id = '{}'", s2.id)), 0);
    assert_eq!(count(&app, "authorization_requests WHERE id = 'new'"), 1);
    assert_eq!(count(&app, "email_tokens WHERE token_hash = 'mail-new'"), 1);
    assert_eq!(count(&app, "mfa_challenges WHERE id_hash = 'mfa-new'"), 1);
    assert_eq!(count(&app, "passkey_ceremonies WHERE id = 'pk-new'"), 1);
    assert_eq!(count(&app, "registration_tokens"), 2);
    assert_eq!(count(&app, "registration_tokens WHERE id = 'iat-old'"), 0);
    assert_eq!(count(&app, "revoked_tokens WHERE jti = 'jti-live'"), 1);
    // Carol's revoked family waits for the access token issued with it to expire (2 h + grace).
    assert_eq!(count(&app, "refresh_tokens"), 3 + 2 + 3);

    app.clock.set(t0 + 3 * HOUR + 60);
    let n = purge_now(&app).await;
    assert_eq!(n.get("refresh_tokens"), 2, "{n}");
    assert_eq!(n.total(), 2, "{n}");
    assert_eq!(count(&app, "refresh_tokens WHERE family_id = 'f6'"), 3);

    // A day later the idle guess budgets and the day-old audit events go; Alice's family stays.
    app.clock.set(t0 + DAY + 2 * HOUR);
    let n = purge_now(&app).await;
    assert_eq!(n.get("guess_budgets") as i64, budgets, "{n}");
    assert_eq!(n.get("audit_events") as i64, audit, "{n}");
    assert_eq!(n.get("refresh_tokens") + n.get("sessions"), 0, "{n}");
    assert_eq!(count(&app, "refresh_tokens"), 3 + 3);
    assert_eq!(
        count(&app, "sessions"),
        2,
        "Alice's and Carol's sessions are live"
    );
    assert_eq!(count(&app, "trusted_devices"), 1);
    // Alice's live token still works.
    tokens(app.refresh(&client, &rt(&live)).await).await;
    assert_eq!(purge_now(&app).await.total(), 0, "nothing left to purge");
}

async fn reuse_is_still_detected_after_a_purge(backend: Backend) {
    let app = purge_app(backend).await;
    let client = app.password_client();
    let user = app.create_user("reuse@example.com", "student").await;
    let first = tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    let second = tokens(app.refresh(&client, &rt(&first)).await).await;
    let third = tokens(app.refresh(&client, &rt(&second)).await).await;

    // Two days on (grace 1 h): the family is live, so its rotated tokens stay.
    app.clock.advance(2 * DAY);
    let n = purge_now(&app).await;
    assert_eq!(n.get("refresh_tokens"), 0, "{n}");
    assert_eq!(count(&app, "refresh_tokens"), 3);

    // The first, long rotated token comes back: reuse; the whole family is revoked.
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
    assert_eq!(count(&app, "refresh_tokens WHERE revoked_at IS NULL"), 0);
    assert_eq!(
        count(&app, "audit_events WHERE kind = 'refresh_reuse_detected'"),
        1
    );

    // Once the family is dead past the grace and its last access token expired, it goes.
    app.clock.advance(3 * HOUR + 60);
    let n = purge_now(&app).await;
    assert_eq!(n.get("refresh_tokens"), 3, "{n}");
    assert_eq!(
        n.get("sessions"),
        0,
        "the session itself is still live: {n}"
    );
}

async fn audit_events_follow_the_retention(backend: Backend) {
    let app = purge_app(backend).await;
    let client = app.password_client();
    let user = app.create_user("audit@example.com", "student").await;
    tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    let old = count(&app, "audit_events");
    assert!(old > 0);
    app.clock.advance(12 * HOUR);
    tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    let recent = count(&app, "audit_events") - old;
    assert!(recent > 0);

    // retention_days = 1: a day and an hour after the first events, only they go.
    app.clock.advance(13 * HOUR);
    let n = purge_now(&app).await;
    assert_eq!(n.get("audit_events") as i64, old, "{n}");
    assert_eq!(count(&app, "audit_events"), recent);

    // retention_days = 0 keeps them forever.
    app.clock.advance(1000 * DAY);
    let forever = Policy {
        audit_retention_secs: None,
        ..Policy::from_settings(&app.settings)
    };
    assert_eq!(purge_with(&app, forever).await.get("audit_events"), 0);
    assert_eq!(count(&app, "audit_events"), recent);
}
