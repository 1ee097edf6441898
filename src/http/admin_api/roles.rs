//! `/admin/api/roles`: the roles, their permissions, whether they require a second factor,
//! and which one new users get; create or replace (`PUT`) and delete one, through
//! `identity::roles_admin` with the caller as actor. After a change this instance re-reads its
//! role book at once.
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::doc::ErrorBody;
use super::users::PageQuery;
use super::{id, ok, Page, Paged};
use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::identity::roles::Role;
use crate::identity::roles_admin::{self, Put};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/roles", web::get().to(list))
        .route("/roles/{name}", web::get().to(get))
        .route("/roles/{name}", web::put().to(put))
        .route("/roles/{name}", web::delete().to(delete));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub name: String,
    /// The scopes users with this role may be granted.
    pub permissions: Vec<String>,
    /// Users with this role must sign in with a second factor.
    pub require_mfa: bool,
    /// New users get this role (`users.default_role`).
    pub default: bool,
    /// What the role is for (for operators).
    pub description: Option<String>,
}

impl RoleView {
    fn of(role: &Role, default_role: &str) -> RoleView {
        RoleView {
            name: role.name.clone(),
            permissions: role.permissions.clone(),
            require_mfa: role.require_mfa,
            default: role.name == default_role,
            description: role.description.clone(),
        }
    }
}

/// A role as it should be (its name is in the path).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "permissions": ["openid", "profile", "email", "library:read"],
    "require_mfa": false, "description": "Library staff"
}))]
pub struct RoleBody {
    /// The scopes users with this role may be granted (scope tokens, each once).
    pub permissions: Vec<String>,
    pub require_mfa: bool,
    /// One line of at most 500 characters.
    #[serde(default)]
    pub description: Option<String>,
}

const NOT_FOUND: &str = "No such role";

#[utoipa::path(get, operation_id = "roles_list", path = "/admin/api/roles", tag = "roles", params(PageQuery),
    responses((status = 200, description = "The roles, by name", body = Paged<RoleView>)))]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::new(query.limit, query.offset)?;
    let default = &state.settings.users.default_role;
    let all = state
        .roles
        .current()
        .roles()
        .map(|role| RoleView::of(role, default))
        .collect();
    Ok(ok(&Paged::slice(all, page)))
}

#[utoipa::path(get, operation_id = "roles_get", path = "/admin/api/roles/{name}", tag = "roles",
    params(("name" = String, Path, description = "The role's name")),
    responses((status = 200, description = "The role", body = RoleView),
        (status = 404, description = NOT_FOUND, body = ErrorBody)))]
pub async fn get(
    _: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = id(path, "role")?;
    let roles = state.roles.current();
    let role = roles
        .get(&name)
        .ok_or_else(|| ApiError::not_found("role"))?;
    Ok(ok(&RoleView::of(role, &state.settings.users.default_role)))
}

#[utoipa::path(put, operation_id = "roles_put", path = "/admin/api/roles/{name}", tag = "roles", request_body = RoleBody,
    params(("name" = String, Path, description = "The role's name: 1 to 64 letters, digits, `_`, `-` or `.`")),
    responses((status = 200, description = "Replaced; the role as stored", body = RoleView),
        (status = 201, description = "Created; the role as stored", body = RoleView),
        (status = 409, description = "`self_change`: the caller's own role would lose \
            `portcullis:admin`", body = ErrorBody),
        (status = 422, description = "`invalid_role`: an invalid name, permission or \
            description (`details.problems`)", body = ErrorBody)))]
pub async fn put(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<RoleBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let role = Role {
        name: path.into_inner(),
        permissions: body.permissions,
        require_mfa: body.require_mfa,
        description: body.description,
    };
    let now = state.clock.now();
    let book = state.roles.clone();
    let (done, role) = state
        .db
        .run(move |c| {
            let caller_role = caller.role.as_deref();
            let done = roles_admin::put(c, &role, caller_role, caller.actor(), now)?;
            book.reload(c).map_err(ApiError::internal)?;
            Ok::<_, ApiError>((done, role))
        })
        .await?;
    let view = RoleView::of(&role, &state.settings.users.default_role);
    Ok(match done {
        Put::Created => HttpResponse::Created().json(view),
        Put::Replaced(_) => ok(&view),
    })
}

#[utoipa::path(delete, operation_id = "roles_delete", path = "/admin/api/roles/{name}", tag = "roles",
    params(("name" = String, Path, description = "The role's name")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 409, description = "`role_in_use`: users still have the role \
            (`details.users` says how many); `default_role`: new users get it",
            body = ErrorBody)))]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = id(path, "role")?;
    let (now, default) = (state.clock.now(), state.settings.users.default_role.clone());
    let book = state.roles.clone();
    state
        .db
        .run(move |c| {
            roles_admin::delete(c, &name, &default, caller.actor(), now)?;
            book.reload(c).map_err(ApiError::internal)?;
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
