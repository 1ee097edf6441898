//! actix-web routes. Handlers are thin: parse, call a domain function, render.
pub mod access_log;
mod account;
mod account_doc;
mod admin_api;
mod api_keys;
mod bearer;
pub mod browser;
mod client_assertion;
pub mod cors;
mod deadline;
mod device;
mod discovery;
mod dpop_nonce;
mod drain;
mod email_links;
pub mod error;
mod form;
mod health;
mod identities;
mod json;
mod me;
mod meta;
pub mod metrics;
mod par;
mod registration;
mod request_object;
mod resource;
mod second_factor;
mod sessions;
mod step_up;
mod token;
mod userinfo;

use actix_web::middleware::from_fn;
use actix_web::{http::header, web, HttpResponse};

pub use deadline::body_deadline;
pub use dpop_nonce::dpop_nonce;
pub use drain::drain;

/// CORS (`cors.rs`) wraps only discovery, the JWKS, `/token`, `/revoke` and `/userinfo`:
/// `/introspect` (server to server), the HTML pages and `/api/*` get no CORS headers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/openid-configuration")
            .wrap(from_fn(cors::public))
            .route(web::get().to(discovery::openid_configuration)),
    )
    .service(
        web::resource("/.well-known/oauth-authorization-server")
            .wrap(from_fn(cors::public))
            .route(web::get().to(discovery::openid_configuration)),
    )
    .service(
        web::resource("/jwks.json")
            .wrap(from_fn(cors::public))
            .route(web::get().to(discovery::jwks)),
    )
    .service(
        web::resource("/token")
            .wrap(from_fn(cors::client_endpoint))
            .route(web::post().to(token::token))
            .default_service(web::to(|| async { error::method_not_allowed("POST") })),
    )
    // RFC 9126, called by clients' back ends: no CORS.
    .service(
        web::resource("/par")
            .route(web::post().to(par::push))
            .default_service(web::to(|| async { error::method_not_allowed("POST") })),
    )
    .service(
        web::resource("/device_authorization")
            .route(web::post().to(device::device_authorization))
            .default_service(web::to(|| async { error::method_not_allowed("POST") })),
    )
    .service(
        web::resource("/introspect")
            .route(web::post().to(resource::introspect))
            .default_service(web::to(|| async { error::method_not_allowed("POST") })),
    )
    .service(
        web::resource("/revoke")
            .wrap(from_fn(cors::client_endpoint))
            .route(web::post().to(resource::revoke))
            .default_service(web::to(|| async { error::method_not_allowed("POST") })),
    )
    .service(
        web::resource("/userinfo")
            .wrap(from_fn(cors::userinfo))
            .route(web::get().to(userinfo::userinfo))
            .route(web::post().to(userinfo::userinfo))
            .default_service(web::to(|| async { error::method_not_allowed("GET, POST") })),
    )
    // Before the pages (and any `/admin` scope of the console): the operator's JSON API.
    .configure(admin_api::configure)
    // Before the pages: a JSON POST to `/register` is a client registration (RFC 7591).
    .configure(registration::configure)
    .configure(browser::configure)
    // Before `/api/auth`, whose scope would answer `/api/auth/mfa/*` itself.
    .configure(second_factor::configure)
    .configure(account::configure)
    .configure(api_keys::configure)
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz));
}

/// Answer for paths no route matches.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": "not_found", "error_description": "no such endpoint" }))
}
