//! `/api/keys`: the caller's API keys (Bearer, account scope; creating and rotating also need
//! the account client or the `api_keys` scope, see `identity::api_keys::client_may_mint`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::account::caller;
use super::bearer::Bearer;
use super::error::ApiError;
use super::json::Json;
use super::meta::request_meta;
use crate::identity::api_keys::{self, KeyError, KeyInfo, NewKey};
use crate::state::AppState;
use crate::store::{api_keys as key_store, users as user_store};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/keys")
            .app_data(super::account::json_config())
            .route("", web::get().to(list))
            .route("", web::post().to(create))
            .route("/{id}", web::delete().to(revoke))
            .route("/{id}/rotate", web::post().to(rotate)),
    );
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Invalid(why) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", why)
            }
            KeyError::NotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API key")
            }
            KeyError::Internal(e) => ApiError::internal(e),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    expires_in_days: Option<i64>,
}

/// Creating and rotating keys: the caller (account scope) through an allowed client.
fn minting_caller(bearer: &Bearer) -> Result<crate::identity::users::User, ApiError> {
    let (_, user) = caller(bearer)?;
    let claims = &bearer.claims;
    if !api_keys::client_may_mint(&claims.client_id, claims.scope.as_deref()) {
        return Err(ApiError::bearer(
            Some("insufficient_scope"),
            "only the account client, or a client granted the api_keys scope, may create API keys",
            Some(api_keys::MINT_SCOPE),
        ));
    }
    Ok(user)
}

#[utoipa::path(post, operation_id = "create_api_key", path = "/api/keys", tag = "account-api-keys", request_body = CreateBody, responses((status = 201, description = "The key, shown once", body = crate::http::account_doc::ApiKeyCreated), (status = 404, description = "The account is gone", body = crate::http::admin_api::ErrorBody), (status = 422, description = "An invalid name, scope or lifetime", body = crate::http::admin_api::ErrorBody)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    body: Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let user = minting_caller(&bearer)?;
    if let Some(session) = &bearer.live.session {
        super::step_up::require_recent(&state, session).await?;
    }
    let (meta, now, roles) = (
        request_meta(&req, &state),
        state.clock.now(),
        state.roles.current(),
    );
    let client_id = bearer.claims.client_id.clone();
    let body = body.into_inner();
    let created = state
        .db
        .run(move |c| {
            let owner = user_store::find(c, &user.id)?.ok_or(KeyError::NotFound)?;
            api_keys::create(
                c,
                &roles,
                &owner,
                NewKey {
                    name: body.name,
                    scopes: body.scopes,
                    expires_in_days: body.expires_in_days,
                },
                Some(&client_id),
                Some(&meta),
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(created))
}

#[utoipa::path(get, operation_id = "list_own_api_keys", path = "/api/keys", tag = "account-api-keys", responses((status = 200, description = "The caller's API keys", body = Vec<crate::http::account_doc::ApiKeyInfo>)))]
pub async fn list(state: web::Data<AppState>, bearer: Bearer) -> Result<HttpResponse, ApiError> {
    let (_, user) = caller(&bearer)?;
    let keys = state
        .db
        .run(move |c| key_store::list(c, Some(&user.id)).map_err(anyhow::Error::from))
        .await?;
    let listed: Vec<KeyInfo> = keys.iter().map(KeyInfo::from).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(listed))
}

#[utoipa::path(post, operation_id = "rotate_api_key", path = "/api/keys/{id}/rotate", tag = "account-api-keys", params(("id" = String, Path)), responses((status = 201, description = "The new key, shown once; the old one retires after the overlap", body = crate::http::account_doc::ApiKeyCreated), (status = 404, description = "No such live key of the caller", body = crate::http::admin_api::ErrorBody), (status = 422, description = "The key cannot be rotated", body = crate::http::admin_api::ErrorBody)))]
pub async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = minting_caller(&bearer)?;
    let (meta, now, roles) = (
        request_meta(&req, &state),
        state.clock.now(),
        state.roles.current(),
    );
    let overlap = state.settings.api_keys.rotation_overlap_secs;
    let id = path.into_inner();
    let created = state
        .db
        .run(move |c| api_keys::rotate(c, &roles, &user.id, &id, overlap, Some(&meta), now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(created))
}

#[utoipa::path(delete, operation_id = "revoke_own_api_key", path = "/api/keys/{id}", tag = "account-api-keys", params(("id" = String, Path)), responses((status = 204, description = "Revoked"), (status = 404, description = "No such live key of the caller", body = crate::http::admin_api::ErrorBody)))]
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (_, user) = caller(&bearer)?;
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let id = path.into_inner();
    state
        .db
        .run(move |c| api_keys::revoke(c, Some(&user.id), &id, Some(&meta), None, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
