//! The operator's use cases on users, their sessions and their API keys: create, change the
//! role, disable and enable, unlock, delete, end sessions. Each takes plain values and `now`,
//! owns its transaction and writes its audit event inside it naming the actor (`cli`, or
//! `admin:<user id>` / `client:<client id>` for the admin API and console). The CLI, the admin
//! API and the admin console call these; none of them touches the store for these operations.
use serde_json::json;

use super::audit::{self, Event};
use super::password::Hasher;
use super::roles::Roles;
use super::users::{self, CreateError, NewUser, Record, User};
use super::RequestMeta;
use crate::config::Settings;
use crate::store::passkeys as passkey_store;
use crate::store::totp as totp_store;
use crate::store::users::{self as user_store, UserRow};
use crate::store::{sessions as session_store, write_transaction, DbConnection};

/// Who made a change, as the audit log names them.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// `cli`, `apply`, `admin:<user id>` or `client:<client id>`.
    pub name: &'a str,
    /// Where an HTTP request came from (`None` for the CLI).
    pub meta: Option<&'a RequestMeta>,
}

impl<'a> Actor<'a> {
    pub const CLI: Actor<'static> = Actor {
        name: "cli",
        meta: None,
    };

    /// Records a change this actor made: a successful `kind` event (about `user_id`, if a
    /// user's) whose detail names the actor. Every use case's audit event goes through here.
    pub fn record(
        &self,
        conn: &mut DbConnection,
        kind: &str,
        user_id: Option<&str>,
        mut detail: serde_json::Value,
        now: i64,
    ) -> diesel::QueryResult<()> {
        detail["actor"] = json!(self.name);
        audit::record(
            conn,
            Event {
                kind,
                success: true,
                user_id,
                meta: self.meta,
                detail: Some(detail),
                ..Event::default()
            },
            now,
        )
    }
}

/// The actor name of a signed-in administrator.
pub fn admin_actor(user_id: &str) -> String {
    format!("admin:{user_id}")
}

/// The actor name of a service client holding the admin scope.
pub fn client_actor(client_id: &str) -> String {
    format!("client:{client_id}")
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no such user")]
    NoSuchUser,
    #[error("no such live session")]
    NoSuchSession,
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    /// An administrator may not disable, demote or delete their own account (they would lock
    /// themselves out mid-change); another administrator can.
    #[error("you can't {0} your own account")]
    SelfChange(&'static str),
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        AdminError::Internal(e.into())
    }
}

impl From<crate::store::DbError> for AdminError {
    fn from(e: crate::store::DbError) -> Self {
        AdminError::Internal(e.into())
    }
}

/// Creates a user with a password the operator chose (hashed here: call it off the executor).
pub fn create(
    conn: &mut DbConnection,
    roles: &Roles,
    settings: &Settings,
    new: NewUser,
    actor: Actor,
    now: i64,
) -> Result<User, AdminError> {
    let (email, role) = users::check_new(&new, roles, settings)?;
    if user_store::find_by_email(conn, &email)?.is_some() {
        return Err(CreateError::EmailTaken.into());
    }
    let hash = Hasher::new(&settings.password)?.hash_blocking(&new.password)?;
    let record = Record {
        email,
        name: new.name,
        role,
        password_hash: Some(hash),
        email_verified: new.email_verified,
    };
    Ok(write_transaction(conn, |c| {
        users::insert(c, record, actor.meta, Some(actor.name), now)
    })?)
}

/// Gives a user another role; returns the user as stored.
pub fn set_role(
    conn: &mut DbConnection,
    roles: &Roles,
    user_id: &str,
    role: &str,
    actor: Actor,
    now: i64,
) -> Result<User, AdminError> {
    if !roles.exists(role) {
        return Err(AdminError::UnknownRole(role.to_string()));
    }
    if is_self(actor, user_id) {
        return Err(AdminError::SelfChange("change the role of"));
    }
    write_transaction(conn, |c| {
        // The role may have been deleted since `roles` was read.
        if crate::store::roles::find(c, role)?.is_none() {
            return Err(AdminError::UnknownRole(role.to_string()));
        }
        let row = load(c, user_id)?;
        user_store::set_role(c, user_id, role, now)?;
        changed(c, &row, actor, json!({ "role": role }), now)?;
        reload(c, user_id)
    })
}

/// Disables a user (every session ends, with its refresh tokens) or enables them again.
pub fn set_disabled(
    conn: &mut DbConnection,
    user_id: &str,
    disabled: bool,
    actor: Actor,
    now: i64,
) -> Result<User, AdminError> {
    if disabled && is_self(actor, user_id) {
        return Err(AdminError::SelfChange("disable"));
    }
    write_transaction(conn, |c| {
        let row = load(c, user_id)?;
        user_store::set_disabled(c, user_id, disabled, now)?;
        let mut ended = 0;
        if disabled {
            for s in session_store::active_sessions(c, user_id, now)? {
                if session_store::end_session(c, &s.id, now)? {
                    ended += 1;
                }
            }
        }
        let detail = json!({ "disabled": disabled, "sessions_ended": ended });
        changed(c, &row, actor, detail, now)?;
        reload(c, user_id)
    })
}

/// Changes the role and/or the disabled flag in one transaction (the admin API's `PATCH`): both
/// or neither, each audited as [`set_role`] and [`set_disabled`] are.
pub fn update(
    conn: &mut DbConnection,
    roles: &Roles,
    user_id: &str,
    role: Option<&str>,
    disabled: Option<bool>,
    actor: Actor,
    now: i64,
) -> Result<User, AdminError> {
    write_transaction(conn, |c| {
        if let Some(role) = role {
            set_role(c, roles, user_id, role, actor, now)?;
        }
        if let Some(disabled) = disabled {
            set_disabled(c, user_id, disabled, actor, now)?;
        }
        reload(c, user_id)
    })
}

/// Lifts a brute-force lock: the account's counters and every guess budget keyed to it.
pub fn unlock(
    conn: &mut DbConnection,
    user_id: &str,
    actor: Actor,
    now: i64,
) -> Result<User, AdminError> {
    write_transaction(conn, |c| {
        let row = load(c, user_id)?;
        user_store::clear_failures(c, user_id)?;
        super::guesses::unlock(c, user_id, &row.email)?;
        super::guesses::unlock_second_factor(c, user_id)?;
        changed(c, &row, actor, json!({ "unlocked": true }), now)?;
        reload(c, user_id)
    })
}

/// Deletes a user and everything that hangs off the account. The audit log keeps the event
/// (with the email it had) so the deletion itself stays on record.
pub fn delete(
    conn: &mut DbConnection,
    user_id: &str,
    actor: Actor,
    now: i64,
) -> Result<(), AdminError> {
    if is_self(actor, user_id) {
        return Err(AdminError::SelfChange("delete"));
    }
    write_transaction(conn, |c| {
        let row = load(c, user_id)?;
        // Ended first, so the refresh tokens die even on a backend that defers the cascade.
        for s in session_store::active_sessions(c, user_id, now)? {
            session_store::end_session(c, &s.id, now)?;
        }
        user_store::delete(c, user_id)?;
        let detail = json!({ "deleted": true, "email": row.email });
        changed(c, &row, actor, detail, now)
    })
}

/// Ends one live session of any user (its refresh tokens die with it).
pub fn end_session(
    conn: &mut DbConnection,
    session_id: &str,
    actor: Actor,
    now: i64,
) -> Result<(), AdminError> {
    write_transaction(conn, |c| {
        let session = session_store::find_session(c, session_id)?
            .filter(|s| s.ended_at.is_none() && s.expires_at > now)
            .ok_or(AdminError::NoSuchSession)?;
        if !session_store::end_session(c, session_id, now)? {
            return Err(AdminError::NoSuchSession);
        }
        audit::record(
            c,
            Event {
                kind: audit::SESSION_ENDED,
                success: true,
                user_id: Some(&session.user_id),
                client_id: Some(&session.client_id),
                meta: actor.meta,
                detail: Some(json!({ "session": session_id, "actor": actor.name })),
            },
            now,
        )?;
        Ok(())
    })
}

/// Ends every live session of a user; returns how many ended.
pub fn end_all_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    actor: Actor,
    now: i64,
) -> Result<usize, AdminError> {
    write_transaction(conn, |c| {
        let row = load(c, user_id)?;
        let mut count = 0;
        for s in session_store::active_sessions(c, user_id, now)? {
            if session_store::end_session(c, &s.id, now)? {
                count += 1;
            }
        }
        audit::record(
            c,
            Event {
                kind: audit::SESSION_ENDED,
                success: true,
                user_id: Some(&row.id),
                meta: actor.meta,
                detail: Some(json!({ "all": count, "actor": actor.name })),
                ..Event::default()
            },
            now,
        )?;
        Ok(count)
    })
}

/// What `remove_second_factors` removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovedFactors {
    pub totp: bool,
    pub recovery_codes: i64,
    pub passkeys: usize,
}

/// Removes a user's second factors (authenticator app, recovery codes, passkeys), for someone
/// who lost them; they sign in with their password and, when a second factor is required, set a
/// new one up. Sessions stay.
pub fn remove_second_factors(
    conn: &mut DbConnection,
    user_id: &str,
    actor: Actor,
    now: i64,
) -> Result<RemovedFactors, AdminError> {
    write_transaction(conn, |c| {
        let row = load(c, user_id)?;
        let recovery_codes = totp_store::count_unused(c, user_id)?;
        let totp = totp_store::delete(c, user_id)?;
        totp_store::replace_codes(c, user_id, &[])?;
        let mut passkeys = 0;
        for p in passkey_store::list(c, user_id)? {
            if passkey_store::delete(c, user_id, &p.id)?.is_some() {
                passkeys += 1;
            }
        }
        let removed = RemovedFactors {
            totp,
            recovery_codes,
            passkeys,
        };
        let detail = json!({
            "second_factors_removed": { "totp": totp, "recovery_codes": recovery_codes, "passkeys": passkeys },
        });
        changed(c, &row, actor, detail, now)?;
        Ok(removed)
    })
}

fn is_self(actor: Actor, user_id: &str) -> bool {
    actor.name == admin_actor(user_id)
}

fn load(c: &mut DbConnection, user_id: &str) -> Result<UserRow, AdminError> {
    user_store::find(c, user_id)?.ok_or(AdminError::NoSuchUser)
}

fn reload(c: &mut DbConnection, user_id: &str) -> Result<User, AdminError> {
    Ok(User::from(&load(c, user_id)?))
}

fn changed(
    c: &mut DbConnection,
    row: &UserRow,
    actor: Actor,
    detail: serde_json::Value,
    now: i64,
) -> Result<(), AdminError> {
    Ok(actor.record(c, audit::USER_CHANGED, Some(&row.id), detail, now)?)
}
