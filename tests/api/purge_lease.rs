//! One purge at a time (the database lease), the server's periodic purge, and the CLI:
//! `portcullis purge` and `portcullis migrate --dry-run`.
use std::time::{Duration, Instant};

use portcullis::purge::{self, Outcome, Policy, LEASE, LEASE_SECS};
use portcullis::store::sessions as session_store;
use portcullis::store::{leases, DatabaseKind};

use crate::both_backends;
use crate::cli::run_ok;
use crate::helpers::{spawn_app_with, Backend, TestApp, TestDb, PASSWORD};
use crate::keys::portcullis;
use crate::purge::{count, purge_app};
use crate::refresh::tokens;

both_backends!(
    claims_of_one_lease_have_one_winner,
    a_held_lease_keeps_a_second_purge_from_working,
    the_server_purges_on_its_interval,
    cli_purge_and_migrate_dry_run,
);

/// Ends `n` sessions of a fresh user at the app's clock (so `n` sessions and `n` refresh
/// tokens die).
async fn dead_sessions(app: &TestApp, n: usize) {
    let client = app.password_client();
    let user = app.create_user("many@example.com", "student").await;
    for _ in 0..n {
        tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
    }
    let mut c = app.db.get().unwrap();
    for s in session_store::active_sessions(&mut c, &user.id, app.clock_now()).unwrap() {
        session_store::end_session(&mut c, &s.id, app.clock_now()).unwrap();
    }
}

async fn claims_of_one_lease_have_one_winner(backend: Backend) {
    const RIVALS: usize = 6;
    let app = purge_app(backend).await;
    // A connection each, so the claims really run at once.
    let db = portcullis::store::Db::open(&app.settings.database_url, RIVALS as u32).unwrap();
    let now = app.clock_now();
    for round in 0..5 {
        let name = format!("race-{round}");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(RIVALS));
        let claims: Vec<_> = (0..RIVALS)
            .map(|i| {
                let (db, name, barrier) = (db.clone(), name.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let got = db.get();
                    barrier.wait();
                    let mut c = got.unwrap();
                    leases::claim(&mut c, &name, &format!("holder-{i}"), now, now + 60).unwrap()
                })
            })
            .collect();
        let won = claims
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|&w| w)
            .count();
        assert_eq!(won, 1, "round {round}");
    }
    let mut c = app.db.get().unwrap();
    let held = leases::find(&mut c, "race-0").unwrap().unwrap();
    // The holder renews; a stranger can't, and can take it only once it expired or was released.
    assert!(leases::renew(&mut c, "race-0", &held.holder, now + 120).unwrap());
    assert!(!leases::renew(&mut c, "race-0", "stranger", now + 120).unwrap());
    assert!(!leases::claim(&mut c, "race-0", "stranger", now + 119, now + 200).unwrap());
    assert!(leases::claim(&mut c, "race-0", "stranger", now + 120, now + 200).unwrap());
    leases::release(&mut c, "race-0", "stranger", now + 130).unwrap();
    assert!(leases::claim(&mut c, "race-0", &held.holder, now + 130, now + 190).unwrap());
}

async fn a_held_lease_keeps_a_second_purge_from_working(backend: Backend) {
    let app = purge_app(backend).await;
    dead_sessions(&app, 5).await;
    app.clock.advance(2 * 3600);
    let now = app.clock_now();
    let policy = Policy::from_settings(&app.settings);

    // Another instance is purging: this one does nothing.
    let mut c = app.db.get().unwrap();
    assert!(leases::claim(&mut c, LEASE, "other-instance", now, now + LEASE_SECS).unwrap());
    drop(c);
    match purge::run(&app.db, "me", &policy, now).unwrap() {
        Outcome::Busy(lease) => assert_eq!(lease.holder, "other-instance"),
        other => panic!("expected Busy, got {other:?}"),
    }
    assert_eq!(count(&app, "sessions"), 5);
    // The other instance died: its lease expires, and this one takes over.
    match purge::run(&app.db, "me", &policy, now + LEASE_SECS).unwrap() {
        Outcome::Ran { counts, complete } => {
            assert!(complete);
            assert_eq!(counts.get("sessions"), 5);
        }
        other => panic!("expected a run, got {other:?}"),
    }

    // Two purges started together, one row per batch (a 5 ms pause between batches, so the run
    // lasts a while): one works, the other finds the lease held.
    dead_sessions_again(&app, 20).await;
    let one_row = Policy {
        batch_size: 1,
        ..policy
    };
    let later = app.clock_now() + 2 * 3600;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let runs: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|holder| {
            let (db, barrier) = (app.db.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                purge::run(&db, holder, &one_row, later).unwrap()
            })
        })
        .collect();
    let outcomes: Vec<Outcome> = runs.into_iter().map(|t| t.join().unwrap()).collect();
    let ran: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Ran { counts, .. } => Some(counts.get("sessions")),
            Outcome::Busy(_) => None,
        })
        .collect();
    assert_eq!(ran, vec![20], "exactly one purge works: {outcomes:?}");
}

/// Like `dead_sessions`, for a second user.
async fn dead_sessions_again(app: &TestApp, n: usize) {
    let client = app.password_client();
    let user = app.create_user("more@example.com", "student").await;
    let mut ids = Vec::new();
    for _ in 0..n {
        tokens(app.password_grant(&client, &user.email, PASSWORD).await).await;
        let mut c = app.db.get().unwrap();
        for s in session_store::active_sessions(&mut c, &user.id, app.clock_now()).unwrap() {
            session_store::end_session(&mut c, &s.id, app.clock_now()).unwrap();
            ids.push(s.id);
        }
    }
    assert_eq!(ids.len(), n);
}

async fn the_server_purges_on_its_interval(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.purge.interval_secs = 1;
        s.purge.grace_secs = 3600;
    })
    .await;
    dead_sessions(&app, 3).await;
    app.clock.advance(2 * 3600);
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&app, "sessions") > 0 {
        assert!(Instant::now() < deadline, "the server never purged");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count(&app, "refresh_tokens"), 0);
    // Counted in the application's metrics.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = app.metrics_text().await;
        let purged = text.lines().find_map(|l| {
            l.strip_prefix("portcullis_purged_rows_total{table=\"sessions\"} ")?
                .parse::<u64>()
                .ok()
        });
        if purged == Some(3) {
            break;
        }
        assert!(Instant::now() < deadline, "purged sessions: {purged:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn cli_purge_and_migrate_dry_run(backend: Backend) {
    let db = TestDb::new(backend);
    let cli = |args: &[&str]| {
        let mut c = portcullis();
        c.args(args).env("PORTCULLIS_DATABASE_URL", &db.url);
        c
    };
    // A dry run lists every migration for a new database, and creates nothing.
    let dry = run_ok(&mut cli(&["migrate", "--dry-run"]));
    let pending = dry["pending"].as_array().unwrap().clone();
    assert!(pending.len() >= 10, "{dry}");
    assert_eq!(pending[0], "2026-11-22-000001_clients");
    if let DatabaseKind::Sqlite(path) = DatabaseKind::from_url(&db.url).unwrap() {
        assert!(
            !std::path::Path::new(&path).exists(),
            "the dry run created the file"
        );
    }
    let applied = run_ok(&mut cli(&["migrate"]));
    assert_eq!(applied["applied"], pending.len());
    assert_eq!(applied["migrations"], serde_json::Value::Array(pending));
    let dry = run_ok(&mut cli(&["migrate", "--dry-run"]));
    assert_eq!(dry["pending"], serde_json::json!([]));

    let out = run_ok(&mut cli(&["purge"]));
    assert_eq!(out["ran"], true, "{out}");
    assert_eq!(out["complete"], true, "{out}");
    assert_eq!(out["total"], 0);
    for table in purge::TABLES {
        assert_eq!(out["deleted"][table], 0, "{table}: {out}");
    }
    // While another instance holds the lease, the CLI says so and does nothing.
    let store = portcullis::store::Db::open(&db.url, 1).unwrap();
    let far = i64::MAX / 2;
    assert!(leases::claim(&mut store.get().unwrap(), LEASE, "server", far - 1, far).unwrap());
    let out = run_ok(&mut cli(&["purge"]));
    assert_eq!(out["ran"], false, "{out}");
    assert_eq!(out["held_by"], "server");
}
