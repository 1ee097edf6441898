//! `GET /admin/api/roles`: the roles, their permissions, whether they require a second factor,
//! and which one new users get.
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::users::PageQuery;
use super::{ok, Page, Paged};
use crate::http::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/roles", web::get().to(list));
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
}

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
        .map(|role| RoleView {
            name: role.name.clone(),
            permissions: role.permissions.clone(),
            require_mfa: role.require_mfa,
            default: &role.name == default,
        })
        .collect();
    Ok(ok(&Paged::slice(all, page)))
}
