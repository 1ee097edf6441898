//! `client create --auth-method private_key_jwt --jwks FILE` and `client update` of the keys,
//! as an operator runs them; the client then authenticates with its key.
use serde_json::{json, Value};

use crate::client_jwt::{jwks, Key};
use crate::helpers::{spawn_app, Backend, TestClient};
use crate::private_key_jwt::{assert_token_for, claims, client_credentials};

crate::both_backends!(cli_creates_a_private_key_jwt_client_from_a_jwks_file);

async fn cli_creates_a_private_key_jwt_client_from_a_jwks_file(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = Key::es256("cli-1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks(&[&key]).to_string()).unwrap();
    let cli = |args: &[&str]| {
        let mut c = crate::keys::portcullis();
        c.args(args)
            .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
            .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir);
        c
    };
    let created = crate::cli::run_ok(&mut cli(&[
        "client",
        "create",
        "--name",
        "signed",
        "--grant",
        "client_credentials",
        "--scope",
        "read",
        "--auth-method",
        "private_key_jwt",
        "--jwks",
        file.to_str().unwrap(),
    ]));
    assert_eq!(created["client_secret"], Value::Null);
    assert_eq!(created["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(created["jwks"]["keys"][0]["kid"], "cli-1");
    let id = created["client_id"].as_str().unwrap().to_string();
    let resp = client_credentials(&app, &key.sign(&claims(&app, &id, &app.address))).await;
    assert_token_for(resp, &id).await;
    // A key set with a private key is refused, naming the problem.
    std::fs::write(
        &file,
        json!({ "keys": [Value::Object(key.jwk.as_ref().clone())] }).to_string(),
    )
    .unwrap();
    let err = crate::cli::run_err(&mut cli(&[
        "client",
        "update",
        &id,
        "--jwks",
        file.to_str().unwrap(),
    ]));
    assert!(err.contains("private"), "{err}");
    // Moving to a jwks_uri.
    let shown = crate::cli::run_ok(&mut cli(&[
        "client",
        "update",
        &id,
        "--jwks-uri",
        "https://rp.example/jwks.json",
    ]));
    assert_eq!(shown["jwks_uri"], "https://rp.example/jwks.json");
    assert_eq!(shown["jwks"], Value::Null);
    // Back to a secret: none until one is made, then it works.
    let shown = crate::cli::run_ok(&mut cli(&[
        "client",
        "update",
        &id,
        "--auth-method",
        "client_secret_basic",
    ]));
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_basic");
    let rotated = crate::cli::run_ok(&mut cli(&["client", "rotate-secret", &id]));
    let secret = rotated["client_secret"].as_str().unwrap().to_string();
    let resp = app
        .token_basic(
            &TestClient {
                id: id.clone(),
                secret,
            },
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await;
    assert_eq!(resp.status(), 200);
}
