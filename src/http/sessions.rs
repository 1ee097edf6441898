//! The account API's security routes: changing the password (which ends the user's other
//! sessions) and listing or ending sessions.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::account::caller;
use super::bearer::Bearer;
use super::error::ApiError;
use super::json::Json;
use super::meta::request_meta;
use crate::identity::mfa;
use crate::identity::password_change::{self, ChangeError, PasswordChange};
use crate::identity::{login, sessions, users};
use crate::state::AppState;
use crate::store::sessions as session_store;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// Required when the account has a password; absent for a first password (an account
    /// made by federated sign-in).
    current_password: Option<String>,
    new_password: String,
}

#[utoipa::path(put, operation_id = "change_password", path = "/api/auth/password", tag = "account", request_body = PasswordBody, responses((status = 204, description = "Changed; the other sessions ended"), (status = 422, description = "A weak password, or the current one missing", body = crate::http::admin_api::ErrorBody)))]
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    body: Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let (session, _) = caller(&bearer)?;
    // A sensitive operation: a recent sign-in (with the second factor, if the user has one).
    // For an account without a password (made by federated sign-in) that is all it needs.
    super::step_up::require_recent(&state, &session).await?;
    let body = body.into_inner();
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let env = password_change::Env {
        db: &state.db,
        hasher: &state.hasher,
        settings: &state.settings,
        mailer: &state.mailer,
    };
    let change = PasswordChange {
        current: body.current_password,
        new: body.new_password,
    };
    password_change::change_password(env, &session, change, &meta, now).await?;
    Ok(HttpResponse::NoContent().finish())
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::CurrentRequired => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "current_password is required",
            ),
            ChangeError::WrongCurrent => ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_credentials",
                "the current password is wrong",
            ),
            ChangeError::ReauthRequired => ApiError::step_up(mfa::Reauthenticate {
                second_factor: false,
            }),
            ChangeError::Weak(v) => users::CreateError::WeakPassword(v).into(),
            ChangeError::Throttled { retry_after } => {
                login::LoginError::Throttled { retry_after }.into()
            }
            ChangeError::Busy => users::CreateError::Busy.into(),
            ChangeError::NotFound => {
                ApiError::bearer(Some("invalid_token"), "the token has no user", None)
            }
            ChangeError::Internal(e) => ApiError::internal(e),
        }
    }
}

#[utoipa::path(get, operation_id = "list_sessions", path = "/api/auth/sessions", tag = "account", responses((status = 200, description = "The caller's live sessions", body = Vec<crate::http::account_doc::AccountSession>)))]
pub async fn list_sessions(
    state: web::Data<AppState>,
    bearer: Bearer,
) -> Result<HttpResponse, ApiError> {
    let (current, user) = caller(&bearer)?;
    let now = state.clock.now();
    let sessions = state
        .db
        .run(move |c| session_store::active_sessions(c, &user.id, now).map_err(anyhow::Error::from))
        .await?;
    let listed: Vec<_> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.id, "client_id": s.client_id, "created_at": s.created_at,
                "last_seen_at": s.last_seen_at, "ip": s.ip, "user_agent": s.user_agent,
                "current": s.id == current.id,
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(listed))
}

#[utoipa::path(delete, operation_id = "end_own_session", path = "/api/auth/sessions/{id}", tag = "account", params(("id" = String, Path)), responses((status = 204, description = "Ended"), (status = 404, description = "No such live session of the caller", body = crate::http::admin_api::ErrorBody)))]
pub async fn end_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (_, user) = caller(&bearer)?;
    let target = path.into_inner();
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let client = crate::oauth::client::ACCOUNT_CLIENT_ID;
    let ended = state
        .db
        .run(move |c| sessions::end_own(c, &user.id, &target, client, &meta, now))
        .await?;
    if ended {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such session",
        ))
    }
}
