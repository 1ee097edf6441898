//! `/admin/api/users` and `/admin/api/sessions`: search, read, create, change the role or
//! disable, unlock, delete; list and end sessions. Each change is one `identity::admin_users`
//! use case, audited with the caller as actor.
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::AdminCaller;
use super::doc::ErrorBody;
use super::{id, ok, query_text, Page, Paged};
use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::identity::admin_users::{self, AdminError};
use crate::identity::users::{NewUser, User};
use crate::state::AppState;
use crate::store::sessions::SessionRow;
use crate::store::{sessions as session_store, users as user_store};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/{id}", web::get().to(get))
        .route("/users/{id}", web::patch().to(update))
        .route("/users/{id}", web::delete().to(delete))
        .route("/users/{id}/unlock", web::post().to(unlock))
        .route("/users/{id}/sessions", web::get().to(sessions))
        .route("/users/{id}/sessions", web::delete().to(end_all_sessions))
        .route("/sessions/{id}", web::delete().to(end_session));
}

/// A user account (never its password or factors).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub email_verified: bool,
    pub disabled: bool,
    /// Locked against password guessing until then (seconds since the epoch).
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            email_verified: u.email_verified,
            disabled: u.disabled,
            locked_until: u.locked_until,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// A live session of a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub client_id: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How the user signed in (RFC 8176 methods, space separated).
    pub amr: String,
}

impl From<SessionRow> for SessionView {
    fn from(s: SessionRow) -> Self {
        SessionView {
            id: s.id,
            client_id: s.client_id,
            auth_time: s.auth_time,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
            amr: s.amr,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Text the email or name contains (any case).
    q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// A new user; without `role`, `users.default_role`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "ada@example.com", "password": "Analytical-Engine-1843", "name": "Ada",
    "role": "guest", "email_verified": true
}))]
pub struct NewUserBody {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
}

/// What to change; what is left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "role": "student", "disabled": false }))]
pub struct UserPatch {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// How many sessions ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    pub ended: usize,
}

const NOT_FOUND: &str = "No such user";

#[utoipa::path(get, operation_id = "users_list", path = "/admin/api/users", tag = "users", params(UserQuery),
    responses((status = 200, description = "One page of users, by email", body = Paged<UserView>)))]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = Page::new(query.limit, query.offset)?;
    let q = query_text(query.q, "q")?;
    let (rows, total) = state
        .db
        .run(move |c| {
            Ok::<_, ApiError>(user_store::search(
                c,
                q.as_deref(),
                page.offset,
                page.limit,
            )?)
        })
        .await?;
    let items = rows.iter().map(|r| UserView::from(User::from(r))).collect();
    Ok(ok(&Paged::of(items, total, page)))
}

#[utoipa::path(get, operation_id = "users_get", path = "/admin/api/users/{id}", tag = "users",
    params(("id" = String, Path, description = "The user id")),
    responses((status = 200, description = "The user", body = UserView),
        (status = 404, description = NOT_FOUND, body = ErrorBody)))]
pub async fn get(
    _: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "user")?;
    let row = state
        .db
        .run(move |c| Ok::<_, ApiError>(user_store::find(c, &id)?))
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(ok(&UserView::from(User::from(&row))))
}

#[utoipa::path(post, operation_id = "users_create", path = "/admin/api/users", tag = "users", request_body = NewUserBody,
    responses((status = 201, description = "The new user", body = UserView),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid email, name or role, or a weak password",
            body = ErrorBody)))]
pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: Json<NewUserBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewUser {
        email: body.email,
        name: body.name,
        password: body.password,
        role: body.role,
        email_verified: body.email_verified,
    };
    let (roles, settings, now) = (
        state.roles.current(),
        state.settings.clone(),
        state.clock.now(),
    );
    let user = state
        .db
        .run(move |c| admin_users::create(c, &roles, &settings, new, caller.actor(), now))
        .await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

#[utoipa::path(patch, operation_id = "users_update", path = "/admin/api/users/{id}", tag = "users", request_body = UserPatch,
    params(("id" = String, Path, description = "The user id")),
    responses((status = 200, description = "The user as stored", body = UserView),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 409, description = "An administrator can't disable or demote themselves",
            body = ErrorBody),
        (status = 422, description = "Unknown role", body = ErrorBody)))]
pub async fn update(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "user")?;
    let patch = body.into_inner();
    let (roles, now) = (state.roles.current(), state.clock.now());
    let user = state
        .db
        .run(move |c| {
            admin_users::update(
                c,
                &roles,
                &id,
                patch.role.as_deref(),
                patch.disabled,
                caller.actor(),
                now,
            )
        })
        .await?;
    Ok(ok(&UserView::from(user)))
}

#[utoipa::path(post, operation_id = "users_unlock", path = "/admin/api/users/{id}/unlock", tag = "users",
    params(("id" = String, Path, description = "The user id")),
    responses((status = 200, description = "The user, unlocked", body = UserView),
        (status = 404, description = NOT_FOUND, body = ErrorBody)))]
pub async fn unlock(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "user")?;
    let now = state.clock.now();
    let user = state
        .db
        .run(move |c| admin_users::unlock(c, &id, caller.actor(), now))
        .await?;
    Ok(ok(&UserView::from(user)))
}

#[utoipa::path(delete, operation_id = "users_delete", path = "/admin/api/users/{id}", tag = "users",
    params(("id" = String, Path, description = "The user id")),
    responses((status = 204, description = "Deleted, with everything of the account"),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 409, description = "An administrator can't delete themselves",
            body = ErrorBody)))]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "user")?;
    let now = state.clock.now();
    state
        .db
        .run(move |c| admin_users::delete(c, &id, caller.actor(), now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, operation_id = "users_sessions", path = "/admin/api/users/{id}/sessions", tag = "sessions",
    params(("id" = String, Path, description = "The user id"), PageQuery),
    responses((status = 200, description = "The user's live sessions", body = Paged<SessionView>),
        (status = 404, description = NOT_FOUND, body = ErrorBody)))]
pub async fn sessions(
    _: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "user")?;
    let page = Page::new(query.limit, query.offset)?;
    let now = state.clock.now();
    let rows = state
        .db
        .run(move |c| {
            user_store::find(c, &id)?.ok_or(AdminError::NoSuchUser)?;
            Ok::<_, AdminError>(session_store::active_sessions(c, &id, now)?)
        })
        .await?;
    let all = rows.into_iter().map(SessionView::from).collect();
    Ok(ok(&Paged::slice(all, page)))
}

#[utoipa::path(delete, operation_id = "users_end_all_sessions", path = "/admin/api/users/{id}/sessions", tag = "sessions",
    params(("id" = String, Path, description = "The user id")),
    responses((status = 200, description = "Every live session of the user ended",
            body = Ended),
        (status = 404, description = NOT_FOUND, body = ErrorBody)))]
pub async fn end_all_sessions(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "user")?;
    let now = state.clock.now();
    let ended = state
        .db
        .run(move |c| admin_users::end_all_sessions(c, &id, caller.actor(), now))
        .await?;
    Ok(ok(&Ended { ended }))
}

#[utoipa::path(delete, operation_id = "users_end_session", path = "/admin/api/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The session id")),
    responses((status = 204, description = "Ended, with its refresh tokens"),
        (status = 404, description = "No such live session", body = ErrorBody)))]
pub async fn end_session(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "live session")?;
    let now = state.clock.now();
    state
        .db
        .run(move |c| admin_users::end_session(c, &id, caller.actor(), now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
