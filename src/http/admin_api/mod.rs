//! `/admin/api/*`: the operator's JSON API (clients, users and sessions, roles, API keys,
//! signing keys, the audit log, settings), authorized by [`auth::AdminCaller`]. Handlers parse,
//! call one use case (which owns its transaction and audit event) and answer; reads go to the
//! store. Lists answer one shape, `{"items", "total", "limit", "offset"}`; errors are
//! `{"error", "error_description"}` with the right 4xx; every answer is `Cache-Control: no-store`.
mod api_keys;
mod audit;
pub mod auth;
mod client_views;
mod clients;
mod doc;
mod keys;
mod page;
mod roles;
mod scopes;
mod settings;
mod users;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpResponse};

use super::error::ApiError;
use crate::identity::text;

pub use doc::{Common, ErrorBody};
pub use page::{Page, Paged};

/// Registers every admin API route (and the public `/admin/api/openapi.json`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/api")
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .app_data(super::account::json_config())
            .app_data(query_config())
            .app_data(path_config())
            .route("/openapi.json", web::get().to(doc::openapi))
            .configure(clients::configure)
            .configure(users::configure)
            .configure(roles::configure)
            .configure(scopes::configure)
            .configure(api_keys::configure)
            .configure(keys::configure)
            .configure(audit::configure)
            .configure(settings::configure)
            .default_service(web::to(super::not_found)),
    );
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::invalid_request(format!("invalid query: {err}")).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _| ApiError::invalid_request(format!("invalid path: {err}")).into())
}

/// An id from the path: one with a control character names nothing (and never reaches the
/// database).
fn id(path: web::Path<String>, what: &str) -> Result<String, ApiError> {
    let id = path.into_inner();
    if text::has_control(&id) {
        return Err(ApiError::not_found(what));
    }
    Ok(id)
}

/// An optional text from the query, refused when it holds a control character.
fn query_text(value: Option<String>, name: &str) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if text::has_control(&v) => Err(ApiError::invalid_request(format!(
            "{name} contains control characters"
        ))),
        other => Ok(other),
    }
}

fn ok<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}
