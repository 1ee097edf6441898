//! Password login with brute-force protection: a per-IP window of failures (429 beyond it) and
//! a progressive per-account lock. Counters live in the database, so they hold across restarts
//! and instances. Unknown user, wrong password, disabled and locked accounts all fail the same
//! way and after the same work.
use serde_json::json;

use super::audit::{self, Event};
use super::password::{HashError, Hasher};
use super::users::User;
use super::RequestMeta;
use crate::config::LockoutSettings;
use crate::store::users::{self, UserRow};
use crate::store::{throttle, write_transaction, Db, DbError};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Too many failures from this IP: retry after this many seconds.
    #[error("too many failed logins; retry in {retry_after} s")]
    Throttled { retry_after: i64 },
    /// Bad credentials, or an account that may not sign in; deliberately one case.
    #[error("invalid credentials")]
    Failed,
    #[error("password hashing is saturated")]
    Busy,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for LoginError {
    fn from(e: DbError) -> Self {
        LoginError::Internal(e.into())
    }
}

impl From<diesel::result::Error> for LoginError {
    fn from(e: diesel::result::Error) -> Self {
        LoginError::Internal(e.into())
    }
}

impl From<HashError> for LoginError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => LoginError::Busy,
            HashError::Internal(e) => LoginError::Internal(e),
        }
    }
}

/// An email and password as typed.
pub struct Credentials<'a> {
    pub email: &'a str,
    pub password: &'a str,
}

/// Checks credentials for `client_id`; returns the user on success.
pub async fn password_login(
    db: &Db,
    hasher: &Hasher,
    policy: &LockoutSettings,
    creds: Credentials<'_>,
    client_id: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<User, LoginError> {
    let (email, password) = (creds.email, creds.password);
    let window = policy.ip_window_secs;
    let max_ip = policy.ip_max_failures;
    let (ip, email_owned) = (meta.ip.clone(), email.trim().to_string());
    let (row, ip_window) = db
        .run(move |c| {
            let window_state = match &ip {
                Some(ip) => throttle::current(c, ip, window, now)?,
                None => None,
            };
            let row = users::find_by_email(c, &email_owned)?;
            Ok::<_, LoginError>((row, window_state))
        })
        .await?;
    if let Some((start, failures)) = ip_window {
        if failures > max_ip {
            return Err(LoginError::Throttled {
                retry_after: (start + window - now).max(1),
            });
        }
    }

    let verified = hasher
        .verify(
            password.to_string(),
            row.as_ref().and_then(|r| r.password_hash.clone()),
        )
        .await?;
    let refusal = match &row {
        None => Some("unknown_user"),
        Some(r) if r.locked_until.is_some_and(|t| t > now) => Some("locked"),
        Some(r) if r.disabled => Some("disabled"),
        Some(_) if !verified.ok => Some("bad_password"),
        Some(_) => None,
    };

    let (policy, meta, client_id) = (policy.clone(), meta.clone(), client_id.to_string());
    db.run(move |c| {
        write_transaction(c, |c| match (row, refusal) {
            (Some(row), None) => {
                if row.failed_logins > 0 || row.lockouts > 0 || row.locked_until.is_some() {
                    users::clear_failures(c, &row.id)?;
                }
                if let Some(hash) = &verified.rehash {
                    users::set_password_hash(c, &row.id, hash, now)?;
                }
                audit::record(
                    c,
                    login_event(Some(&row.id), &client_id, &meta, true, None),
                    now,
                )?;
                Ok::<_, diesel::result::Error>(Ok(User::from(&row)))
            }
            (row, refusal) => {
                let reason = refusal.unwrap_or("bad_password");
                let ip_failures = match &meta.ip {
                    Some(ip) => Some(throttle::add_failure(c, ip, policy.ip_window_secs, now)?),
                    None => None,
                };
                if let (Some(row), "bad_password") = (&row, reason) {
                    count_account_failure(c, row, &policy, &client_id, &meta, now)?;
                }
                audit::record(
                    c,
                    login_event(
                        row.as_ref().map(|r| r.id.as_str()),
                        &client_id,
                        &meta,
                        false,
                        Some(reason),
                    ),
                    now,
                )?;
                Ok(Err(match ip_failures {
                    Some((start, n)) if n > policy.ip_max_failures => LoginError::Throttled {
                        retry_after: (start + policy.ip_window_secs - now).max(1),
                    },
                    _ => LoginError::Failed,
                }))
            }
        })
        .map_err(LoginError::from)
    })
    .await?
}

fn count_account_failure(
    c: &mut crate::store::DbConnection,
    row: &UserRow,
    policy: &LockoutSettings,
    client_id: &str,
    meta: &RequestMeta,
    now: i64,
) -> diesel::QueryResult<()> {
    if users::add_failure(c, &row.id)? < policy.account_max_failures {
        return Ok(());
    }
    let secs = if row.lockouts == 0 {
        policy.account_lock_secs
    } else {
        policy.account_relock_secs
    };
    let lock_number = users::lock(c, &row.id, now + secs)?;
    audit::record(
        c,
        Event {
            kind: audit::LOCKOUT,
            success: true,
            user_id: Some(&row.id),
            client_id: Some(client_id),
            meta: Some(meta),
            detail: Some(json!({ "locked_until": now + secs, "lockout": lock_number })),
        },
        now,
    )
}

fn login_event<'a>(
    user_id: Option<&'a str>,
    client_id: &'a str,
    meta: &'a RequestMeta,
    success: bool,
    reason: Option<&str>,
) -> Event<'a> {
    Event {
        kind: audit::LOGIN,
        success,
        user_id,
        client_id: Some(client_id),
        meta: Some(meta),
        detail: reason.map(|r| json!({ "reason": r })),
    }
}
