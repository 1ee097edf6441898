//! Dynamic client registration: `POST /register` with a JSON body (RFC 7591; a form posted to
//! `/register` is the sign-up page's) and the client configuration endpoint
//! `/register/{client_id}` (RFC 7592: GET, PUT, DELETE with the registration access token).
//! The rules are `oauth::dynamic`'s; errors are JSON (`invalid_redirect_uri`,
//! `invalid_client_metadata`, 401 `invalid_token`, 403 `access_denied` while registration is
//! disabled, 429 with `Retry-After`).
use actix_web::guard::{self, Guard, GuardContext};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::error::{self, ApiError};
use super::json::Json;
use super::meta::request_meta;
use crate::oauth::dynamic::{self, DcrError, Metadata};
use crate::state::AppState;

/// Before the HTML pages: they answer every other request to `/register`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/register")
            .guard(guard::Post())
            .guard(JsonBody)
            .app_data(super::account::json_config())
            .route(web::post().to(register)),
    )
    .service(
        web::resource("/register/{client_id}")
            .app_data(super::account::json_config())
            .route(web::get().to(read))
            .route(web::put().to(update))
            .route(web::delete().to(delete))
            .default_service(web::to(|| async {
                error::method_not_allowed("GET, PUT, DELETE")
            })),
    );
}

/// A request whose body is JSON (`Content-Type: application/json`, parameters allowed).
struct JsonBody;

impl Guard for JsonBody {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        ctx.head()
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    }
}

/// The token of `Authorization: Bearer <token>`, if the request has one.
fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

fn answer(status: actix_web::http::StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let policy = state.settings.clients.registration;
    let token = bearer_token(&req);
    dynamic::admit(policy, token.as_deref())?;
    let meta = Metadata::from_json(body.into_inner())?;
    let (from, now, st) = (request_meta(&req, &state), state.clock.now(), state.clone());
    let registered = state
        .db
        .run(move |c| dynamic::register(c, &st.settings, &meta, token.as_deref(), &from, now))
        .await?;
    let body = registered.response(&state.settings.issuer);
    Ok(answer(actix_web::http::StatusCode::CREATED, &body))
}

/// The path's client id and the registration access token (401 without one).
fn target(req: &HttpRequest, client_id: web::Path<String>) -> Result<(String, String), ApiError> {
    let token = bearer_token(req).ok_or(DcrError::MissingToken)?;
    Ok((client_id.into_inner(), token))
}

async fn read(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, token) = target(&req, client_id)?;
    let registered = state.db.run(move |c| dynamic::read(c, &id, &token)).await?;
    let body = registered.response(&state.settings.issuer);
    Ok(answer(actix_web::http::StatusCode::OK, &body))
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
    body: Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let (id, token) = target(&req, client_id)?;
    let meta = Metadata::from_json(body.into_inner())?;
    let (from, now, st) = (request_meta(&req, &state), state.clock.now(), state.clone());
    let registered = state
        .db
        .run(move |c| dynamic::update(c, &st.settings, &id, &token, &meta, &from, now))
        .await?;
    let body = registered.response(&state.settings.issuer);
    Ok(answer(actix_web::http::StatusCode::OK, &body))
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, token) = target(&req, client_id)?;
    let (from, now) = (request_meta(&req, &state), state.clock.now());
    state
        .db
        .run(move |c| dynamic::delete(c, &id, &token, &from, now))
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
