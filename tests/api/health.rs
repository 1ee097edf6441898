//! Liveness and readiness.
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app, Backend};

both_backends!(readyz_turns_503_when_the_database_is_gone);

async fn readyz_turns_503_when_the_database_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.api.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    app.test_db.destroy();

    let resp = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["reason"].as_str().unwrap().contains("database"),
        "{body}"
    );
    // Liveness does not depend on the database.
    let resp = app.api.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}
