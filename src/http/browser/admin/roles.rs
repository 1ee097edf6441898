//! `GET /admin/roles`: the roles, their permissions, which require a second factor and which
//! is the default, read-only (roles are declared in the roles file or by `portcullis apply`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{get_page, Chrome};
use crate::http::browser::pages::render;
use crate::http::error::PageError;
use crate::state::AppState;

pub struct RoleView {
    pub name: String,
    pub permissions: Vec<String>,
    pub require_mfa: bool,
    pub admin: bool,
    pub default: bool,
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
pub struct RolesPage {
    pub chrome: Chrome,
    pub roles: Vec<RoleView>,
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (_, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let default = &state.settings.users.default_role;
    let book = state.roles.current();
    let roles = book
        .roles()
        .map(|role| RoleView {
            name: role.name.clone(),
            permissions: role.permissions.clone(),
            require_mfa: role.require_mfa,
            admin: book.is_admin(&role.name),
            default: &role.name == default,
        })
        .collect();
    let page = RolesPage {
        chrome: admin.chrome("roles", None),
        roles,
    };
    Ok(render(StatusCode::OK, &page))
}
