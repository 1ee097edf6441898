//! A resource server protected by Portcullis access tokens.
//!
//! ```text
//! PORTCULLIS_ISSUER=http://127.0.0.1:8080 AUDIENCE=http://127.0.0.1:8080 PORT=3000 \
//!     cargo run -p portcullis-verify --example resource_server
//!
//! curl http://127.0.0.1:3000/public
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/me
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/reports   # needs scope "read"
//! ```
//!
//! Environment: `PORTCULLIS_ISSUER` (default `http://127.0.0.1:8080`), `AUDIENCE` (default: the
//! issuer), `PORT` (default 3000). Set `API_KEY_CLIENT_ID` and `API_KEY_CLIENT_SECRET` (a client
//! allowed to introspect) to accept `pc_…` API keys as well.

use std::env;
use std::io;

use actix_web::{web, App, HttpResponse, HttpServer};
use portcullis_verify::{require_scope, AuthError, Authenticated, Config, Verifier};
use serde_json::json;

/// No authentication.
async fn public() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "message": "anyone may read this" }))
}

/// Any valid token: echo its claims.
async fn me(auth: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(&auth.0)
}

/// Needs the `read` scope: 403 `insufficient_scope` otherwise.
async fn reports(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    require_scope(&auth, "read")?;
    Ok(HttpResponse::Ok().json(json!({
        "owner": auth.sub,
        "client": auth.client_id,
        "reports": [
            { "id": 1, "title": "Q1 revenue" },
            { "id": 2, "title": "Q2 revenue" },
        ],
    })))
}

#[actix_web::main]
async fn main() -> io::Result<()> {
    let issuer = env::var("PORTCULLIS_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let audience = env::var("AUDIENCE").unwrap_or_else(|_| issuer.clone());
    let port: u16 = match env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| io::Error::other(format!("PORT must be a port number, not {p:?}")))?,
        Err(_) => 3000,
    };

    let mut config = Config::default();
    if let (Ok(id), Ok(secret)) = (
        env::var("API_KEY_CLIENT_ID"),
        env::var("API_KEY_CLIENT_SECRET"),
    ) {
        config = config.api_keys(id, secret);
    }
    let verifier = Verifier::from_issuer_with_config(&issuer, &audience, config)
        .await
        .map_err(|e| io::Error::other(format!("cannot load the issuer {issuer}: {e}")))?;
    println!(
        "resource server on http://127.0.0.1:{port}: issuer {issuer}, audience {audience}, keys {:?}",
        verifier.key_ids()
    );

    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(verifier.clone()))
            .route("/public", web::get().to(public))
            .route("/me", web::get().to(me))
            .route("/reports", web::get().to(reports))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
