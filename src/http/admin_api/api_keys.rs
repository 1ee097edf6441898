//! `/admin/api/api-keys`: every user's API keys (never their secrets); revoke one.
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::AdminCaller;
use super::doc::ErrorBody;
use super::{id, ok, query_text, Page, Paged};
use crate::http::error::ApiError;
use crate::identity::api_keys;
use crate::state::AppState;
use crate::store::api_keys::{self as key_store, ApiKeyRow};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api-keys", web::get().to(list))
        .route("/api-keys/{id}", web::delete().to(revoke));
}

/// An API key as listed (never the secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The key's public prefix, to recognise it.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub retire_at: Option<i64>,
}

impl From<&ApiKeyRow> for ApiKeyView {
    fn from(r: &ApiKeyRow) -> Self {
        let info = api_keys::KeyInfo::from(r);
        ApiKeyView {
            id: info.id,
            user_id: r.user_id.clone(),
            name: info.name,
            prefix: info.prefix,
            scopes: info.scopes,
            created_at: info.created_at,
            expires_at: info.expires_at,
            last_used_at: info.last_used_at,
            revoked_at: info.revoked_at,
            retire_at: info.retire_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// Only this user's keys (a user id).
    user: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
}

#[utoipa::path(get, operation_id = "api_keys_list", path = "/admin/api/api-keys", tag = "api-keys", params(KeyQuery),
    responses((status = 200, description = "API keys, newest first", body = Paged<ApiKeyView>)))]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<KeyQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = Page::new(query.limit, query.offset)?;
    let user = query_text(query.user, "user")?;
    let rows = state
        .db
        .run(move |c| Ok::<_, ApiError>(key_store::list(c, user.as_deref())?))
        .await?;
    let all = rows.iter().map(ApiKeyView::from).collect();
    Ok(ok(&Paged::slice(all, page)))
}

#[utoipa::path(delete, operation_id = "api_keys_revoke", path = "/admin/api/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "The key id")),
    responses((status = 204, description = "Revoked"),
        (status = 404, description = "No such live API key", body = ErrorBody)))]
pub async fn revoke(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "API key")?;
    let now = state.clock.now();
    state
        .db
        .run(move |c| api_keys::revoke(c, None, &id, Some(&caller.meta), Some(&caller.name), now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
