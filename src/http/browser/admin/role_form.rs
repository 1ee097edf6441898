//! `/admin/roles/new` and `/admin/roles/{name}`: create a role, change one, delete one, through
//! `identity::roles_admin` with the actor `admin:<user id>`; this instance's role book is
//! re-read after each change. A refused form comes back as a 400 page with its fields kept.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{confirmed, done, get_page, not_found, post_form, Admin, Chrome};
use crate::http::browser::pages::render;
use crate::http::error::PageError;
use crate::identity::admin_users::Actor;
use crate::identity::roles::Role;
use crate::identity::roles_admin::{self, Put, RoleError};
use crate::oauth::Params;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/role.html")]
pub struct RolePage {
    pub chrome: Chrome,
    pub is_new: bool,
    pub action: String,
    pub name: String,
    /// Space separated.
    pub permissions: String,
    pub require_mfa: bool,
    pub description: String,
    pub default: bool,
    pub error: Option<String>,
    pub delete_error: Option<String>,
}

fn href(name: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    format!("/admin/roles/{encoded}")
}

impl RolePage {
    fn of(admin: &Admin, state: &AppState, role: Option<&Role>) -> RolePage {
        let name = role.map(|r| r.name.clone()).unwrap_or_default();
        RolePage {
            chrome: admin.chrome("roles", None),
            is_new: role.is_none(),
            action: role.map_or_else(|| "/admin/roles/new".to_string(), |r| href(&r.name)),
            default: name == state.settings.users.default_role,
            name,
            permissions: role.map(|r| r.permissions.join(" ")).unwrap_or_default(),
            require_mfa: role.is_some_and(|r| r.require_mfa),
            description: role.and_then(|r| r.description.clone()).unwrap_or_default(),
            error: None,
            delete_error: None,
        }
    }

    /// The form as sent, with why it was refused.
    fn refused(mut self, role: Role, error: String) -> RolePage {
        self.name = role.name;
        self.permissions = role.permissions.join(" ");
        self.require_mfa = role.require_mfa;
        self.description = role.description.unwrap_or_default();
        self.error = Some(error);
        self
    }
}

/// The role a form describes (`name` from the path when editing).
fn role_of(params: &Params, name: String) -> Role {
    let text = |n: &str| params.get(n).unwrap_or("").trim().to_string();
    let description = text("description");
    Role {
        name,
        permissions: text("permissions")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        require_mfa: params.get("require_mfa") == Some("yes"),
        description: Some(description).filter(|d| !d.is_empty()),
    }
}

/// `GET /admin/roles/new`.
pub async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (_, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    Ok(render(StatusCode::OK, &RolePage::of(&admin, &state, None)))
}

/// `GET /admin/roles/{name}`.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let roles = state.roles.current();
    let role = roles
        .get(&name)
        .ok_or_else(|| not_found("There is no such role."))?;
    let mut page = RolePage::of(&admin, &state, Some(role));
    page.chrome = admin.chrome("roles", params.get("done"));
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/roles/new` (create) and `POST /admin/roles/{name}` (save): `roles_admin::put`.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    save(req, state, None, payload).await
}

pub async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    save(req, state, Some(name.into_inner()), payload).await
}

async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    editing: Option<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match post_form(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let current = match &editing {
        Some(name) => Some(
            state
                .roles
                .current()
                .get(name)
                .cloned()
                .ok_or_else(|| not_found("There is no such role."))?,
        ),
        None => None,
    };
    let back = current
        .as_ref()
        .map_or("/admin/roles/new".into(), |r| href(&r.name));
    confirmed(&params, &back)?;
    let name = editing.unwrap_or_else(|| params.get("name").unwrap_or("").trim().to_string());
    let role = role_of(&params, name);
    let page = RolePage::of(&admin, &state, current.as_ref());
    let (st, actor, meta, now) = (
        state.clone(),
        admin.actor_name(),
        admin.ctx.meta.clone(),
        admin.ctx.now,
    );
    let my_role = admin.me.user.role.clone();
    let wanted = role.clone();
    let is_new = current.is_none();
    let result = state
        .db
        .run(move |c| {
            let who = Actor {
                name: &actor,
                meta: Some(&meta),
            };
            // A new role's name must be new: the form creates, never replaces.
            let put = if is_new {
                roles_admin::create(c, &wanted, who, now).map(|()| Put::Created)
            } else {
                roles_admin::put(c, &wanted, Some(&my_role), who, now)
            };
            if put.is_ok() {
                st.roles.reload(c).map_err(PageError::internal)?;
            }
            Ok::<_, PageError>(put)
        })
        .await?;
    match result {
        Ok(Put::Created) => Ok(done(&href(&role.name), "role-created")),
        Ok(Put::Replaced(_)) => Ok(done(&href(&role.name), "role-saved")),
        Err(RoleError::Internal(e)) => Err(PageError::internal(e)),
        Err(e) => Ok(render(
            StatusCode::BAD_REQUEST,
            &page.refused(role, capitalized(e.to_string())),
        )),
    }
}

/// `POST /admin/roles/{name}/delete`: `roles_admin::delete`; a role users have, or the
/// default role, is refused on the role's page (400).
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match post_form(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let role = state
        .roles
        .current()
        .get(&name)
        .cloned()
        .ok_or_else(|| not_found("There is no such role."))?;
    confirmed(&params, &href(&role.name))?;
    let (st, actor, meta, now) = (
        state.clone(),
        admin.actor_name(),
        admin.ctx.meta.clone(),
        admin.ctx.now,
    );
    let default = state.settings.users.default_role.clone();
    let target = role.name.clone();
    let result = state
        .db
        .run(move |c| {
            let who = Actor {
                name: &actor,
                meta: Some(&meta),
            };
            let deleted = roles_admin::delete(c, &target, &default, who, now);
            if deleted.is_ok() {
                st.roles.reload(c).map_err(PageError::internal)?;
            }
            Ok::<_, PageError>(deleted)
        })
        .await?;
    match result {
        Ok(()) => Ok(done("/admin/roles", "role-deleted")),
        Err(RoleError::Internal(e)) => Err(PageError::internal(e)),
        Err(e) => {
            let mut page = RolePage::of(&admin, &state, Some(&role));
            page.delete_error = Some(capitalized(e.to_string()));
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
    }
}

fn capitalized(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => s,
    }
}
