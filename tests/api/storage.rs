//! What lands in the database: migrations on both backends, and no secret in clear.
use portcullis::store::{self, clients};
use portcullis::tokens::secret;

use crate::both_backends;
use crate::helpers::{spawn_app, Backend, TestDb};

both_backends!(
    migrations_go_up_down_up,
    client_secrets_are_stored_only_as_hashes
);

async fn migrations_go_up_down_up(backend: Backend) {
    let test_db = TestDb::new(backend);
    let db = store::Db::open(&test_db.url, 1).unwrap();
    assert!(db.migrate().unwrap() >= 1);
    assert_eq!(db.migrate().unwrap(), 0, "migrations are idempotent");
    let mut conn = db.get().unwrap();
    assert!(clients::list(&mut conn).unwrap().is_empty());
    store::revert_all_migrations(&mut conn).unwrap();
    assert!(
        clients::list(&mut conn).is_err(),
        "the table is gone after down"
    );
    assert!(store::run_migrations(&mut conn).unwrap() >= 1);
    assert!(clients::list(&mut conn).unwrap().is_empty());
}

async fn client_secrets_are_stored_only_as_hashes(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.service_client();
    let resp = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(resp.status(), 200);

    let mut conn = app.db.get().unwrap();
    let rows = clients::list(&mut conn).unwrap();
    assert_eq!(rows.len(), 1);
    let every_column = format!("{rows:?}");
    assert!(
        !every_column.contains(&client.secret),
        "the secret is stored in clear"
    );
    assert_eq!(
        rows[0].secret_hash.as_deref(),
        Some(secret::hash_secret(&client.secret).as_str())
    );
}
