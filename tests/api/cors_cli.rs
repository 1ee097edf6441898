//! `portcullis client create --web-origin` and `client update`: validation, defaults from the
//! redirect URIs, and the origins taking effect at the server.
use std::process::Command;

use serde_json::{json, Value};

use crate::both_backends;
use crate::cli::{run_err, run_ok};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::keys::portcullis;

both_backends!(web_origins_from_the_cli);

fn cli(app: &TestApp, args: &[&str]) -> Command {
    let mut c = portcullis();
    c.args(args)
        .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
        .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir);
    c
}

async fn preflight_status(app: &TestApp, origin: &str) -> u16 {
    app.api
        .request(reqwest::Method::OPTIONS, app.url("/token"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn web_origins_from_the_cli(backend: Backend) {
    let app = spawn_app(backend).await;

    // Each bad origin is reported, nothing is created.
    let err = run_err(&mut cli(
        &app,
        &[
            "client",
            "create",
            "--name",
            "spa",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:5173/callback",
            "--web-origin",
            "http://spa.example.com, https://spa.example.com/app",
            "--web-origin",
            "https://spa.example.com?x=1 ftp://spa.example.com",
        ],
    ));
    for bad in [
        "\"http://spa.example.com\" must use https",
        "\"https://spa.example.com/app\" must not have a path",
        "\"https://spa.example.com?x=1\" must not have a query",
        "\"ftp://spa.example.com\" has scheme ftp",
    ] {
        assert!(err.contains(bad), "{bad} not in {err}");
    }
    assert_eq!(run_ok(&mut cli(&app, &["client", "list"])), json!([]));

    // Lists split like the other flags; origins are normalised; the redirect URIs' origins are
    // allowed by default.
    let created = run_ok(&mut cli(
        &app,
        &[
            "client",
            "create",
            "--name",
            "spa",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:5173/callback",
            "--web-origin",
            "https://SPA.example.com:443/, http://localhost:5173",
            "--web-origin",
            "https://spa.example.com",
        ],
    ));
    let id = created["client_id"].as_str().unwrap().to_string();
    assert_eq!(
        created["web_origins"],
        json!(["https://spa.example.com", "http://localhost:5173"])
    );
    assert_eq!(
        created["allowed_origins"],
        json!([
            "http://127.0.0.1:5173",
            "http://localhost:5173",
            "https://spa.example.com"
        ])
    );
    let listed = run_ok(&mut cli(&app, &["client", "list"]));
    assert_eq!(listed[0]["web_origins"], created["web_origins"]);

    // The server answers for them (its cache is empty so far).
    for origin in ["http://127.0.0.1:5173", "https://spa.example.com"] {
        assert_eq!(preflight_status(&app, origin).await, 204, "{origin}");
    }
    assert_eq!(preflight_status(&app, "https://new.example.com").await, 403);

    // update: add and remove in one go; prints the client like `show`.
    let updated = run_ok(&mut cli(
        &app,
        &[
            "client",
            "update",
            &id,
            "--web-origin",
            "https://new.example.com",
            "--remove-web-origin",
            "http://localhost:5173",
        ],
    ));
    assert_eq!(
        updated["web_origins"],
        json!(["https://spa.example.com", "https://new.example.com"])
    );
    let shown: Value = run_ok(&mut cli(&app, &["client", "show", &id]));
    assert_eq!(shown["web_origins"], updated["web_origins"]);
    assert_eq!(shown["allowed_origins"], updated["allowed_origins"]);
    app.clock.advance(portcullis::http::cors::TTL_SECS);
    assert_eq!(preflight_status(&app, "https://new.example.com").await, 204);

    // A redirect URI's origin is not removable; neither is one the client never had.
    let err = run_err(&mut cli(
        &app,
        &[
            "client",
            "update",
            &id,
            "--remove-web-origin",
            "http://127.0.0.1:5173",
        ],
    ));
    assert!(
        err.contains("is not among the client's web origins"),
        "{err}"
    );
    let err = run_err(&mut cli(
        &app,
        &[
            "client",
            "update",
            &id,
            "--web-origin",
            "https://x.example.com/path",
        ],
    ));
    assert!(err.contains("must not have a path"), "{err}");
    let err = run_err(&mut cli(
        &app,
        &[
            "client",
            "update",
            "nope",
            "--web-origin",
            "https://x.example.com",
        ],
    ));
    assert!(err.contains("no client nope"), "{err}");
}
