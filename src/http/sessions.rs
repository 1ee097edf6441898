//! The account API's security routes: changing the password (which ends the user's other
//! sessions) and listing or ending sessions.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::account::{account_event, caller, hash_error};
use super::bearer::Bearer;
use super::error::ApiError;
use super::json::Json;
use super::meta::request_meta;
use crate::email::messages;
use crate::identity::audit;
use crate::identity::login;
use crate::identity::password;
use crate::identity::users;
use crate::state::AppState;
use crate::store::sessions as session_store;
use crate::store::{users as user_store, write_transaction};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// Required when the account has a password; absent for a first password (an account
    /// made by federated sign-in).
    current_password: Option<String>,
    new_password: String,
}

pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    body: Json<PasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let (session, user) = caller(&bearer)?;
    // A sensitive operation: a recent sign-in (with the second factor, if the user has one).
    // For an account without a password (made by federated sign-in) that is all it needs.
    super::step_up::require_recent(&state, &session).await?;
    let body = body.into_inner();
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let row =
        bearer.live.user.clone().ok_or_else(|| {
            ApiError::bearer(Some("invalid_token"), "the token has no user", None)
        })?;
    match (row.password_hash.is_some(), body.current_password) {
        (true, Some(current)) => {
            let right = login::check_password(
                &state.db,
                &state.hasher,
                &state.settings.lockout,
                &row,
                &current,
                &meta,
                now,
            )
            .await?;
            if !right {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "invalid_credentials",
                    "the current password is wrong",
                ));
            }
        }
        (true, None) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "current_password is required",
            ))
        }
        (false, _) => {}
    }
    let violations =
        password::check_policy(&state.settings.password, &body.new_password, &user.email);
    if !violations.is_empty() {
        return Err(users::CreateError::WeakPassword(violations).into());
    }
    let email = user.email.clone();
    let hash = state
        .hasher
        .hash(body.new_password)
        .await
        .map_err(hash_error)?;
    state
        .db
        .run(move |c| {
            write_transaction(c, |c| {
                user_store::set_password_hash(c, &user.id, &hash, now)?;
                let mut ended = 0;
                for other in session_store::active_sessions(c, &user.id, now)? {
                    if other.id != session.id && session_store::end_session(c, &other.id, now)? {
                        ended += 1;
                    }
                }
                audit::record(
                    c,
                    account_event(
                        audit::PASSWORD_CHANGED,
                        &user.id,
                        &meta,
                        json!({ "sessions_ended": ended }),
                    ),
                    now,
                )
            })
            .map_err(anyhow::Error::from)
        })
        .await?;
    if state.mailer.enabled() {
        match messages::password_changed(&state.settings.issuer, &email, now, false) {
            Ok(mail) => {
                state.mailer.send(mail);
            }
            Err(e) => tracing::error!(error = %e, "rendering a password-changed mail failed"),
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

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

pub async fn end_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (_, user) = caller(&bearer)?;
    let target = path.into_inner();
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let ended = state
        .db
        .run(move |c| {
            write_transaction(c, |c| {
                let owned = session_store::find_session(c, &target)?
                    .is_some_and(|s| s.user_id == user.id && s.ended_at.is_none());
                if owned {
                    session_store::end_session(c, &target, now)?;
                    audit::record(
                        c,
                        account_event(
                            audit::SESSION_ENDED,
                            &user.id,
                            &meta,
                            json!({ "session": target }),
                        ),
                        now,
                    )?;
                }
                Ok::<_, diesel::result::Error>(owned)
            })
            .map_err(anyhow::Error::from)
        })
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
