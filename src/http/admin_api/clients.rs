//! `/admin/api/clients`: list and search, read, create (the settings of `client create`), replace,
//! delete, rotate the secret. Clients that registered themselves (RFC 7591) or are defined by a
//! client metadata document are listed, read and deleted here, but not replaced (409
//! `not_managed`): their metadata is their own.
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::AdminCaller;
use super::client_views::{ClientBody, ClientView, ClientWithSecret, NewSecret};
use super::doc::ErrorBody;
use super::{id, ok, query_text, Page, Paged};
use crate::declarative::diff::is_managed;
use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::oauth::admin_clients::{self, Limits};
use crate::oauth::client::{Client, ClientStore};
use crate::state::AppState;
use crate::store::clients as client_store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/clients", web::get().to(list))
        .route("/clients", web::post().to(create))
        .route("/clients/{id}", web::get().to(get))
        .route("/clients/{id}", web::put().to(replace))
        .route("/clients/{id}", web::delete().to(delete))
        .route("/clients/{id}/secret", web::post().to(rotate_secret));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientQuery {
    /// Text the client id or name contains (any case).
    q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
}

#[utoipa::path(get, operation_id = "clients_list", path = "/admin/api/clients", tag = "clients", params(ClientQuery),
    responses((status = 200, description = "One page of clients", body = Paged<ClientView>)))]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<ClientQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = Page::new(query.limit, query.offset)?;
    let q = query_text(query.q, "q")?;
    let (rows, total) = state
        .db
        .run(move |c| {
            let (rows, total) = client_store::search(c, q.as_deref(), page.offset, page.limit)?;
            let clients = rows
                .into_iter()
                .map(Client::try_from)
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok::<_, ApiError>((clients, total))
        })
        .await?;
    let items = rows.iter().map(ClientView::from).collect();
    Ok(ok(&Paged::of(items, total, page)))
}

#[utoipa::path(get, operation_id = "clients_get", path = "/admin/api/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The client", body = ClientView),
        (status = 404, description = "No such client", body = ErrorBody)))]
pub async fn get(
    _: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "client")?;
    let client = state
        .db
        .run(move |c| Ok::<_, ApiError>(c.find_client(&id)?))
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    Ok(ok(&ClientView::from(&client)))
}

#[utoipa::path(post, operation_id = "clients_create", path = "/admin/api/clients", tag = "clients", request_body = ClientBody,
    responses((status = 201, description = "The new client and its secret (shown once)",
            body = ClientWithSecret),
        (status = 422, description = "Invalid settings, each problem listed", body = ErrorBody)))]
pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: Json<ClientBody>,
) -> Result<HttpResponse, ApiError> {
    let spec = body.into_inner().spec();
    let limits = Limits::from_settings(&state.settings);
    let now = state.clock.now();
    let registered = state
        .db
        .run(move |c| {
            admin_clients::create(c, &spec, &limits, &caller.name, now)
                .map_err(ApiError::client_change)
        })
        .await?;
    Ok(HttpResponse::Created().json(ClientWithSecret::from(registered)))
}

#[utoipa::path(put, operation_id = "clients_replace", path = "/admin/api/clients/{id}", tag = "clients", request_body = ClientBody,
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The client as stored (its id, secret, kind and \
            creation time stay)", body = ClientView),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 409, description = "The client registered itself or is defined by a \
            metadata document", body = ErrorBody),
        (status = 422, description = "Invalid settings, or a change between public and \
            confidential; each problem listed", body = ErrorBody)))]
pub async fn replace(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<ClientBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "client")?;
    let spec = body.into_inner().spec();
    let limits = Limits::from_settings(&state.settings);
    let now = state.clock.now();
    let stored = state
        .db
        .run(move |c| {
            match c.find_client(&id)? {
                None => return Err(ApiError::not_found("client")),
                Some(before) if !is_managed(&before) => return Err(not_managed()),
                Some(_) => {}
            }
            admin_clients::update(c, &id, &spec, &limits, &caller.name, now)
                .map_err(ApiError::client_change)?
                .ok_or_else(|| ApiError::not_found("client"))
        })
        .await?;
    Ok(ok(&ClientView::from(&stored.0)))
}

fn not_managed() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::CONFLICT,
        "not_managed",
        "this client registered itself or is defined by a metadata document: its settings are \
         its own (delete it instead)",
    )
}

#[utoipa::path(delete, operation_id = "clients_delete", path = "/admin/api/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 409, description = "A service client may not delete itself", body = ErrorBody)))]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "client")?;
    let now = state.clock.now();
    let deleted = state
        .db
        .run(move |c| {
            admin_clients::delete(c, &id, &caller.name, now).map_err(ApiError::client_change)
        })
        .await?;
    if !deleted {
        return Err(ApiError::not_found("client"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, operation_id = "clients_rotate_secret", path = "/admin/api/clients/{id}/secret", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The new secret (shown once); the old one stops \
            working at once here, and on other instances within `clients.cache_refresh_ms`", body = NewSecret),
        (status = 404, description = "No such confidential client", body = ErrorBody)))]
pub async fn rotate_secret(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "confidential client")?;
    let now = state.clock.now();
    let client_id = id.clone();
    let secret = state
        .db
        .run(move |c| Ok::<_, ApiError>(admin_clients::rotate_secret(c, &id, &caller.name, now)?))
        .await?
        .ok_or_else(|| ApiError::not_found("confidential client"))?;
    Ok(ok(&NewSecret {
        client_id,
        client_secret: secret,
    }))
}
