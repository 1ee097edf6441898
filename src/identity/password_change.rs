//! A signed-in user changes their password (or sets a first one, for an account made by
//! federated sign-in). The one use case behind the account API (`PUT /api/auth/password`) and
//! the account page: the current password is checked under the sign-in guess budgets, the new
//! one against the policy; the user's other sessions end (their refresh tokens with them), the
//! change is audited and a notice is mailed.
use serde_json::json;

use super::audit::{self, Event};
use super::login::{self, LoginError};
use super::password::{self, HashError, Hasher, Violation};
use super::RequestMeta;
use crate::config::Settings;
use crate::email::{messages, Mailer};
use crate::store::sessions::{self as session_store, SessionRow};
use crate::store::users::UserRow;
use crate::store::{users as user_store, write_transaction, Db, DbError};

/// A first password (no current one to type) needs a sign-in this recent.
pub const FRESH_SIGN_IN_SECS: i64 = 600;

/// What the user typed.
pub struct PasswordChange {
    /// Required when the account has a password.
    pub current: Option<String>,
    pub new: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the current password is required")]
    CurrentRequired,
    #[error("the current password is wrong")]
    WrongCurrent,
    /// A first password needs a recent sign-in (`FRESH_SIGN_IN_SECS`).
    #[error("setting a first password needs a sign-in within the last 10 minutes")]
    ReauthRequired,
    #[error("the password breaks {} rule(s)", .0.len())]
    Weak(Vec<Violation>),
    #[error("too many wrong passwords; retry in {retry_after} s")]
    Throttled { retry_after: i64 },
    #[error("password hashing is saturated")]
    Busy,
    #[error("no such account")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for ChangeError {
    fn from(e: DbError) -> Self {
        ChangeError::Internal(e.into())
    }
}

impl From<diesel::result::Error> for ChangeError {
    fn from(e: diesel::result::Error) -> Self {
        ChangeError::Internal(e.into())
    }
}

impl From<HashError> for ChangeError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => ChangeError::Busy,
            HashError::Internal(e) => ChangeError::Internal(e),
        }
    }
}

impl From<LoginError> for ChangeError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Throttled { retry_after } => ChangeError::Throttled { retry_after },
            LoginError::Busy => ChangeError::Busy,
            LoginError::Failed | LoginError::Unverified => ChangeError::WrongCurrent,
            LoginError::Internal(e) => ChangeError::Internal(e),
        }
    }
}

/// Where the change runs: the pools, the policies and the mailer.
pub struct Env<'a> {
    pub db: &'a Db,
    pub hasher: &'a Hasher,
    pub settings: &'a Settings,
    pub mailer: &'a Mailer,
}

/// The check before a sensitive change to the account (its password, its email address): the
/// current password when the account has one (under the sign-in guess budgets), else a sign-in
/// within `FRESH_SIGN_IN_SECS`.
pub async fn confirm_current(
    env: &Env<'_>,
    row: &UserRow,
    session: &SessionRow,
    current: Option<&str>,
    meta: &RequestMeta,
    now: i64,
) -> Result<(), ChangeError> {
    match (row.password_hash.is_some(), current) {
        (true, Some(current)) => {
            let lockout = &env.settings.lockout;
            if login::check_password(env.db, env.hasher, lockout, row, current, meta, now).await? {
                Ok(())
            } else {
                Err(ChangeError::WrongCurrent)
            }
        }
        (true, None) => Err(ChangeError::CurrentRequired),
        (false, _) if now - session.auth_time > FRESH_SIGN_IN_SECS => {
            Err(ChangeError::ReauthRequired)
        }
        (false, _) => Ok(()),
    }
}

/// The signed-in user's account row (`NotFound` when gone or disabled).
pub async fn account_row(db: &Db, user_id: &str) -> Result<UserRow, ChangeError> {
    let user_id = user_id.to_string();
    db.run(move |c| user_store::find(c, &user_id).map_err(ChangeError::from))
        .await?
        .filter(|u| !u.disabled)
        .ok_or(ChangeError::NotFound)
}

/// Changes the password of `session`'s user; returns how many other sessions were ended.
pub async fn change_password(
    env: Env<'_>,
    session: &SessionRow,
    change: PasswordChange,
    meta: &RequestMeta,
    now: i64,
) -> Result<usize, ChangeError> {
    let row = account_row(env.db, &session.user_id).await?;
    confirm_current(&env, &row, session, change.current.as_deref(), meta, now).await?;
    let violations = password::check_policy(&env.settings.password, &change.new, &row.email);
    if !violations.is_empty() {
        return Err(ChangeError::Weak(violations));
    }
    let hash = env.hasher.hash(change.new).await?;
    let (user_id, keep, client_id, meta_c) = (
        row.id.clone(),
        session.id.clone(),
        session.client_id.clone(),
        meta.clone(),
    );
    let first = row.password_hash.is_none();
    let ended = env
        .db
        .run(move |c| {
            write_transaction(c, |c| {
                user_store::set_password_hash(c, &user_id, &hash, now)?;
                let mut ended = 0;
                for other in session_store::active_sessions(c, &user_id, now)? {
                    if other.id != keep && session_store::end_session(c, &other.id, now)? {
                        ended += 1;
                    }
                }
                audit::record(
                    c,
                    Event {
                        kind: audit::PASSWORD_CHANGED,
                        success: true,
                        user_id: Some(&user_id),
                        client_id: Some(&client_id),
                        meta: Some(&meta_c),
                        detail: Some(json!({ "sessions_ended": ended, "first": first })),
                    },
                    now,
                )?;
                Ok::<_, ChangeError>(ended)
            })
        })
        .await?;
    if env.mailer.enabled() {
        match messages::password_changed(&env.settings.issuer, &row.email, now, false) {
            Ok(mail) => {
                env.mailer.send(mail);
            }
            Err(e) => tracing::error!(error = %e, "rendering a password-changed mail failed"),
        }
    }
    Ok(ended)
}
