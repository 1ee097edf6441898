//! Discovery documents and the JWKS.
use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::state::AppState;

pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(state.discovery_json.clone())
}

pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let keys = state.keys.current();
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", state.settings.keys.jwks_max_age_secs),
        ))
        .body(keys.jwks_json().to_string())
}
