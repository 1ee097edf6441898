//! `POST /admin/users/{id}/{action}`: the changes of a user's page, each confirmed and made by
//! a use case with the administrator as actor: `role`, `disable`, `enable`, `unlock`, `delete`,
//! `end-session` (`session`), `end-sessions`, `remove-factors`, `revoke-key` (`key`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{admin_error, confirmed, done, not_found, post_form};
use crate::http::error::PageError;
use crate::identity::admin_users::{self, AdminError};
use crate::identity::api_keys::{self, KeyError};
use crate::state::AppState;
use crate::store::DbConnection;

pub async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, admin) = match post_form(&req, &state, payload).await? {
        Ok(found) => found,
        Err(resp) => return Ok(resp),
    };
    let (user_id, action) = path.into_inner();
    let back = format!("/admin/users/{user_id}");
    if !ACTIONS.contains(&action.as_str()) {
        return Err(not_found("There is no such action."));
    }
    confirmed(&params, &back)?;
    let arg = |name: &str| params.get(name).unwrap_or("").to_string();
    let (role, session, key) = (arg("role"), arg("session"), arg("key"));
    let (st, name, meta, now) = (
        state.clone(),
        admin.actor_name(),
        admin.ctx.meta.clone(),
        admin.ctx.now,
    );
    let id = user_id.clone();
    let outcome = state
        .db
        .run(move |c| {
            let who = admin_users::Actor {
                name: &name,
                meta: Some(&meta),
            };
            let args = Args {
                role: &role,
                session: &session,
                key: &key,
            };
            apply(c, &st, &action, &id, args, who, now)
        })
        .await?;
    Ok(if outcome == "user-deleted" {
        done("/admin/users", outcome)
    } else {
        done(&back, outcome)
    })
}

/// The values a user page's forms send besides the action.
struct Args<'a> {
    role: &'a str,
    session: &'a str,
    key: &'a str,
}

/// Makes the change (on a database worker); the notice to show.
fn apply(
    c: &mut DbConnection,
    state: &AppState,
    action: &str,
    id: &str,
    args: Args,
    who: admin_users::Actor,
    now: i64,
) -> Result<&'static str, PageError> {
    let done: Result<&'static str, AdminError> = match action {
        "role" => admin_users::set_role(c, &state.roles.current(), id, args.role, who, now)
            .map(|_| "user-role"),
        "disable" => admin_users::set_disabled(c, id, true, who, now).map(|_| "user-disabled"),
        "enable" => admin_users::set_disabled(c, id, false, who, now).map(|_| "user-enabled"),
        "unlock" => admin_users::unlock(c, id, who, now).map(|_| "user-unlocked"),
        "delete" => admin_users::delete(c, id, who, now).map(|_| "user-deleted"),
        "end-session" => owned_session(c, id, args.session)
            .and_then(|_| admin_users::end_session(c, args.session, who, now))
            .map(|_| "session-ended"),
        "end-sessions" => admin_users::end_all_sessions(c, id, who, now).map(|_| "sessions-ended"),
        "remove-factors" => {
            admin_users::remove_second_factors(c, id, who, now).map(|_| "factors-removed")
        }
        "revoke-key" => return revoke_key(c, id, args.key, who, now),
        _ => return Err(not_found("There is no such action.")),
    };
    done.map_err(admin_error)
}

const ACTIONS: &[&str] = &[
    "role",
    "disable",
    "enable",
    "unlock",
    "delete",
    "end-session",
    "end-sessions",
    "remove-factors",
    "revoke-key",
];

/// The session must be one of this user's (the form names both).
fn owned_session(c: &mut DbConnection, user_id: &str, session: &str) -> Result<(), AdminError> {
    match crate::store::sessions::find_session(c, session)? {
        Some(s) if s.user_id == user_id => Ok(()),
        _ => Err(AdminError::NoSuchSession),
    }
}

fn revoke_key(
    c: &mut DbConnection,
    user_id: &str,
    key: &str,
    who: admin_users::Actor,
    now: i64,
) -> Result<&'static str, PageError> {
    match api_keys::revoke(c, Some(user_id), key, who.meta, Some(who.name), now) {
        Ok(()) => Ok("key-revoked"),
        Err(KeyError::NotFound) => Err(not_found("There is no such live API key.")),
        Err(KeyError::Invalid(why)) => Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "This change can't be made",
            why,
        )),
        Err(KeyError::Internal(e)) => Err(PageError::internal(e)),
    }
}
