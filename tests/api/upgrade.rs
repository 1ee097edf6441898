//! Upgrades: a database as an earlier release left it (`tests/fixtures/upgrade/<commit>/`, made
//! by that release's binary, see the README there) is migrated by the current server at start,
//! and its data still works: the old client gets a token, the old user signs in, the old refresh
//! token refreshes, and reuse of its rotated predecessor is still detected.
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use serde_json::Value;

use crate::both_backends;
use crate::cli::run_ok;
use crate::helpers::{
    assert_oauth_error, spawn_app_with, verify_with_jwks, Backend, TestClient, TestDb,
};
use crate::keys::portcullis;
use crate::refresh::{rt, tokens};

both_backends!(a_database_from_64f875b_upgrades_and_its_data_works);

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/upgrade");

/// Loads `<commit>/{sqlite,postgres}.sql` into the fresh database `db`; returns what the
/// fixture's README says is in it (`data.json`).
fn load_snapshot(commit: &str, backend: Backend, db: &TestDb) -> Value {
    let dir = format!("{FIXTURES}/{commit}");
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/data.json")).unwrap())
            .unwrap();
    match backend {
        Backend::Sqlite => {
            let sql = std::fs::read_to_string(format!("{dir}/sqlite.sql")).unwrap();
            let path = db.url.trim_start_matches("sqlite://");
            let mut conn = SqliteConnection::establish(path).unwrap();
            conn.batch_execute(&sql).unwrap();
            data["sqlite"].clone()
        }
        Backend::Postgres => {
            // A plain pg_dump: SQL, plus psql's `\restrict` guards, which are not SQL.
            let sql: String = std::fs::read_to_string(format!("{dir}/postgres.sql"))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('\\'))
                .map(|l| format!("{l}\n"))
                .collect();
            let mut conn = PgConnection::establish(&db.url).unwrap();
            conn.batch_execute(&sql).unwrap();
            data["postgres"].clone()
        }
    }
}

async fn a_database_from_64f875b_upgrades_and_its_data_works(backend: Backend) {
    let old = TestDb::new(backend);
    let data = load_snapshot("64f875b", backend, &old);
    let text = |key: &str| data[key].as_str().unwrap().to_string();

    // The dry run lists what this release adds after that one's last migration, and applies none.
    let dry_run = || {
        let mut cmd = portcullis();
        cmd.args(["migrate", "--dry-run"])
            .env("PORTCULLIS_DATABASE_URL", &old.url);
        run_ok(&mut cmd)
    };
    let pending = dry_run()["pending"].clone();
    let names: Vec<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"2026-12-06-000004_refresh_successor"));
    assert!(names.iter().all(|n| n > &"2026-12-06-000003"), "{names:?}");
    assert_eq!(dry_run()["pending"], pending, "the dry run changed nothing");

    // The current server on the old database: migrations run at start.
    let url = old.url.clone();
    let app = spawn_app_with(backend, move |s| s.database_url = url).await;
    assert_eq!(dry_run()["pending"], serde_json::json!([]));

    // The old client's secret still authenticates it.
    let client = TestClient {
        id: text("client_id"),
        secret: text("client_secret"),
    };
    let token = tokens(
        app.token_basic(
            &client,
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await,
    )
    .await;
    let (_, claims) = verify_with_jwks(
        token["access_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.address,
        &app.address,
    );
    assert_eq!(claims["sub"], client.id.as_str());

    // The old user signs in with their password, by the account API and by the password grant.
    let login = app.account_login(&text("email"), &text("password")).await;
    assert!(login["access_token"].as_str().is_some(), "{login}");
    tokens(
        app.token_basic(
            &client,
            &[
                ("grant_type", "password"),
                ("username", &text("email")),
                ("password", &text("password")),
            ],
        )
        .await,
    )
    .await;

    // The old refresh token refreshes (and rotates) ...
    let refreshed = tokens(app.refresh(&client, &text("refresh_token")).await).await;
    assert_ne!(rt(&refreshed), text("refresh_token"));
    // ... and presenting the token it replaced under the old release is still reuse: the
    // family, old rows and new, is revoked.
    assert_oauth_error(
        app.refresh(&client, &text("rotated_refresh_token")).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        app.refresh(&client, &rt(&refreshed)).await,
        400,
        "invalid_grant",
    )
    .await;
}
