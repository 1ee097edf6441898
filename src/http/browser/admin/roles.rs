//! `GET /admin/roles`: the roles, their permissions, which require a second factor and which
//! is the default, with links to create and edit them (`role_form`); and the consent
//! descriptions of scopes, in English and German, each changed with
//! `POST /admin/scopes/{scope}` (`roles_admin::describe_scope`, actor `admin:<user id>`).
use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{confirmed, done, get_page, post_form, Admin, Chrome};
use crate::http::browser::pages::render;
use crate::http::browser::see_other;
use crate::http::error::PageError;
use crate::identity::admin_users::Actor;
use crate::identity::roles_admin::{self, RoleError};
use crate::state::AppState;

pub struct RoleView {
    pub name: String,
    pub href: String,
    pub permissions: Vec<String>,
    pub require_mfa: bool,
    pub admin: bool,
    pub default: bool,
}

/// One scope's descriptions as the form shows them.
pub struct ScopeView {
    pub scope: String,
    pub action: String,
    pub en: String,
    pub de: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
pub struct RolesPage {
    pub chrome: Chrome,
    pub roles: Vec<RoleView>,
    pub scopes: Vec<ScopeView>,
}

fn encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The page: every role, and every scope a role grants or that has descriptions.
async fn page(
    state: &web::Data<AppState>,
    admin: &Admin,
    notice: Option<&str>,
) -> Result<RolesPage, PageError> {
    let texts = state
        .db
        .run(|c| roles_admin::scope_texts(c).map_err(role_error))
        .await?;
    let default = &state.settings.users.default_role;
    let book = state.roles.current();
    let roles = book
        .roles()
        .map(|role| RoleView {
            name: role.name.clone(),
            href: format!("/admin/roles/{}", encoded(&role.name)),
            permissions: role.permissions.clone(),
            require_mfa: role.require_mfa,
            admin: book.is_admin(&role.name),
            default: &role.name == default,
        })
        .collect();
    let mut names: BTreeSet<String> = texts.keys().cloned().collect();
    names.extend(book.roles().flat_map(|r| r.permissions.iter().cloned()));
    let scopes = names
        .into_iter()
        .map(|scope| {
            let of = |lang: &str| {
                texts
                    .get(&scope)
                    .and_then(|t| t.get(lang))
                    .cloned()
                    .unwrap_or_default()
            };
            ScopeView {
                action: format!("/admin/scopes/{}", encoded(&scope)),
                en: of("en"),
                de: of("de"),
                scope,
                error: None,
            }
        })
        .collect();
    Ok(RolesPage {
        chrome: admin.chrome("roles", notice),
        roles,
        scopes,
    })
}

fn role_error(e: RoleError) -> PageError {
    PageError::internal(anyhow::anyhow!(e))
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let page = page(&state, &admin, params.get("done")).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `GET /admin/scopes`: the descriptions are on the roles page.
pub async fn to_roles() -> HttpResponse {
    see_other("/admin/roles#scopes")
}

/// `POST /admin/scopes/{scope}`: `en` and `de` (an empty one: none in that language); a
/// refused text comes back on the roles page (400) with the fields kept.
pub async fn describe(
    req: HttpRequest,
    state: web::Data<AppState>,
    scope: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match post_form(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    confirmed(&params, "/admin/roles#scopes")?;
    let scope = scope.into_inner();
    let field = |lang: &str| params.get(lang).unwrap_or("").trim().to_string();
    let (en, de) = (field("en"), field("de"));
    let texts: BTreeMap<String, String> = [("en", &en), ("de", &de)]
        .into_iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(l, t)| (l.to_string(), t.clone()))
        .collect();
    let (st, actor, meta, now) = (
        state.clone(),
        admin.actor_name(),
        admin.ctx.meta.clone(),
        admin.ctx.now,
    );
    let target = scope.clone();
    let result = state
        .db
        .run(move |c| {
            let who = Actor {
                name: &actor,
                meta: Some(&meta),
            };
            let described = roles_admin::describe_scope(c, &target, &texts, who, now);
            if described.is_ok() {
                st.roles.reload(c).map_err(PageError::internal)?;
            }
            Ok::<_, PageError>(described)
        })
        .await?;
    match result {
        Ok(()) => Ok(done("/admin/roles", "scope-saved")),
        Err(RoleError::Internal(e)) => Err(PageError::internal(e)),
        Err(e) => {
            let mut page = page(&state, &admin, None).await?;
            let error = Some(e.to_string());
            match page.scopes.iter_mut().find(|s| s.scope == scope) {
                Some(view) => {
                    (view.en, view.de, view.error) = (en, de, error);
                }
                None => page.scopes.push(ScopeView {
                    action: format!("/admin/scopes/{}", encoded(&scope)),
                    scope,
                    en,
                    de,
                    error,
                }),
            }
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
    }
}
