//! `/admin/users`: search (paginated), a new user, and a user's page (role, status, sessions,
//! second factors, API keys, each with its forms; the posts are `user_actions`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{
    confirmed, done, get_page, not_found, param, post_form, query_of, when, Admin, Chrome, Pager,
};
use crate::http::browser::pages::render;
use crate::http::error::PageError;
use crate::identity::admin_users;
use crate::identity::mfa::{self, Factors};
use crate::identity::users::{NewUser, User};
use crate::state::AppState;
use crate::store::{api_keys, passkeys, sessions, users};

const PER_PAGE: i64 = 20;

pub struct UserRowView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub q: String,
    pub users: Vec<UserRowView>,
    pub total: i64,
    pub pager: Pager,
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
pub struct NewUserPage {
    pub chrome: Chrome,
    pub roles: Vec<String>,
    pub email: String,
    pub name: String,
    pub role: String,
    pub error: Option<String>,
}

pub struct SessionView {
    pub id: String,
    pub client: String,
    pub created: String,
    pub last_seen: String,
    pub ip: String,
    pub amr: String,
}

pub struct KeyView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scope: String,
    pub created: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    pub chrome: Chrome,
    pub user: User,
    pub base: String,
    pub status: &'static str,
    pub created: String,
    pub locked: Option<String>,
    pub roles: Vec<String>,
    pub sessions: Vec<SessionView>,
    pub factors: Factors,
    pub passkeys: Vec<String>,
    pub keys: Vec<KeyView>,
    /// The administrator looks at their own account (no role change, disable or delete).
    pub is_self: bool,
}

fn status(u: &User, now: i64) -> &'static str {
    if u.disabled {
        "disabled"
    } else if u.locked_until.is_some_and(|t| t > now) {
        "locked"
    } else {
        "active"
    }
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let q = param(&params, "q").map(str::to_string);
    let page_no = super::page_number(&params);
    let query = q.clone();
    let (rows, total) = state
        .db
        .run(move |c| {
            Ok::<_, PageError>(users::search(
                c,
                query.as_deref(),
                (page_no - 1) * PER_PAGE,
                PER_PAGE,
            )?)
        })
        .await?;
    let now = admin.ctx.now;
    let base = format!("/admin/users?{}", query_of(&[("q", q.as_deref())]));
    let page = UsersPage {
        chrome: admin.chrome("users", params.get("done")),
        users: rows
            .iter()
            .map(|r| {
                let u = User::from(r);
                UserRowView {
                    status: status(&u, now),
                    id: u.id,
                    email: u.email,
                    name: u.name.unwrap_or_default(),
                    role: u.role,
                }
            })
            .collect(),
        q: q.unwrap_or_default(),
        total,
        pager: Pager::new(&base, page_no, PER_PAGE, total),
    };
    Ok(render(StatusCode::OK, &page))
}

fn role_names(state: &AppState) -> Vec<String> {
    state.roles.iter().map(|(name, _)| name.clone()).collect()
}

/// `GET /admin/users/new`.
pub async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (_, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let page = NewUserPage {
        chrome: admin.chrome("users", None),
        roles: role_names(&state),
        email: String::new(),
        name: String::new(),
        role: state.settings.users.default_role.clone(),
        error: None,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/users/new`: `admin_users::create` (a 400 page with the fields kept when refused).
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match post_form(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    confirmed(&params, "/admin/users/new")?;
    let text = |name: &str| params.get(name).unwrap_or("").trim().to_string();
    let (email, name, role) = (text("email"), text("name"), text("role"));
    let new = NewUser {
        email: email.clone(),
        name: Some(name.clone()).filter(|n| !n.is_empty()),
        password: params.get("password").unwrap_or("").to_string(),
        role: Some(role.clone()),
        email_verified: true,
    };
    let (st, actor_name, meta, now) = (
        state.clone(),
        admin.actor_name(),
        admin.ctx.meta.clone(),
        admin.ctx.now,
    );
    let made = state
        .db
        .run(move |c| {
            let who = admin_users::Actor {
                name: &actor_name,
                meta: Some(&meta),
            };
            Ok::<_, PageError>(admin_users::create(
                c,
                &st.roles.current(),
                &st.settings,
                new,
                who,
                now,
            ))
        })
        .await?;
    match made {
        Ok(user) => Ok(done(&format!("/admin/users/{}", user.id), "user-created")),
        Err(admin_users::AdminError::Internal(e)) => Err(PageError::internal(e)),
        Err(e) => {
            let page = NewUserPage {
                chrome: admin.chrome("users", None),
                roles: role_names(&state),
                email,
                name,
                role,
                error: Some(e.to_string()),
            };
            Ok(render(StatusCode::BAD_REQUEST, &page))
        }
    }
}

/// `GET /admin/users/{id}`.
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match get_page(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let page = user_page(&state, &admin, &id, params.get("done")).await?;
    Ok(render(StatusCode::OK, &page))
}

async fn user_page(
    state: &AppState,
    admin: &Admin,
    id: &str,
    notice: Option<&str>,
) -> Result<UserPage, PageError> {
    let (id, now) = (id.to_string(), admin.ctx.now);
    let found = state
        .db
        .run(move |c| {
            let Some(row) = users::find(c, &id)? else {
                return Ok::<_, PageError>(None);
            };
            let live = sessions::active_sessions(c, &id, now)?;
            let factors = mfa::factors(c, &id)?;
            let passkeys = passkeys::list(c, &id)?;
            let keys = api_keys::list(c, Some(&id))?;
            Ok(Some((User::from(&row), live, factors, passkeys, keys)))
        })
        .await?;
    let Some((user, live, factors, passkeys, keys)) = found else {
        return Err(not_found("There is no such user."));
    };
    Ok(UserPage {
        chrome: admin.chrome("users", notice),
        base: format!("/admin/users/{}", user.id),
        status: status(&user, now),
        created: when(user.created_at),
        locked: user.locked_until.filter(|t| *t > now).map(when),
        roles: role_names(state),
        sessions: live
            .into_iter()
            .map(|s| SessionView {
                id: s.id,
                client: s.client_id,
                created: when(s.created_at),
                last_seen: when(s.last_seen_at),
                ip: s.ip.unwrap_or_default(),
                amr: s.amr,
            })
            .collect(),
        factors,
        passkeys: passkeys.into_iter().map(|p| p.name).collect(),
        keys: keys
            .into_iter()
            .map(|k| KeyView {
                revoked: k.revoked_at.is_some(),
                id: k.id,
                name: k.name,
                prefix: k.prefix,
                scope: k.scope,
                created: when(k.created_at),
            })
            .collect(),
        is_self: user.id == admin.me.user.id,
        user,
    })
}
