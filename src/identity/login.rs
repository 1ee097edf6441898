//! Password login with brute-force protection: every guess is reserved in the database before it
//! is hashed (`identity::guesses`: per source, per account, per trusted browser), so the limits
//! hold across concurrent requests, restarts and instances. Unknown user, wrong password and
//! disabled accounts all fail the same way and after the same work; a spent budget is a 429.
//! With `users.require_verified_email`, a right password for an account whose address is not
//! verified yet is refused as `Unverified` (only someone who knows the password learns it).
use serde_json::json;

use super::audit::{self, Event};
use super::guesses::{Guess, GuessFrom, Locked};
use super::password::{HashError, Hasher};
use super::users::User;
use super::RequestMeta;
use crate::config::{LockoutSettings, Settings};
use crate::store::users::{self, UserRow};
use crate::store::{guesses, write_transaction, Db, DbError};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Too many failures from this IP: retry after this many seconds.
    #[error("too many failed logins; retry in {retry_after} s")]
    Throttled { retry_after: i64 },
    /// Bad credentials, or an account that may not sign in; deliberately one case.
    #[error("invalid credentials")]
    Failed,
    /// The password is right, but the account's email address must be verified first.
    #[error("the email address is not verified")]
    Unverified,
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

/// What a password sign-in requires besides the password.
#[derive(Debug, Clone, Copy)]
pub struct LoginRules<'a> {
    pub lockout: &'a LockoutSettings,
    /// Refuse accounts whose email address is not verified (`users.require_verified_email`).
    pub require_verified_email: bool,
}

impl<'a> LoginRules<'a> {
    pub fn of(settings: &'a Settings) -> LoginRules<'a> {
        LoginRules {
            lockout: &settings.lockout,
            require_verified_email: settings.users.require_verified_email,
        }
    }
}

/// An email and password as typed.
pub struct Credentials<'a> {
    pub email: &'a str,
    pub password: &'a str,
}

/// Checks credentials for `client_id`; returns the user on success. `device` is the hash of the
/// browser's device cookie (browser sign-ins only): a browser that signed in to the account
/// before keeps a guess budget of its own, and a successful sign-in makes it trusted. Counted in
/// `portcullis_logins_total` by result.
#[allow(clippy::too_many_arguments)]
pub async fn password_login(
    db: &Db,
    hasher: &Hasher,
    rules: LoginRules<'_>,
    creds: Credentials<'_>,
    client_id: &str,
    meta: &RequestMeta,
    device: Option<&str>,
    now: i64,
) -> Result<User, LoginError> {
    let result = attempt(db, hasher, rules, creds, client_id, meta, device, now).await;
    crate::metrics::login(match &result {
        Ok(_) => "success",
        Err(LoginError::Failed) => "bad_credentials",
        Err(LoginError::Unverified) => "unverified",
        Err(LoginError::Throttled { .. }) => "throttled",
        Err(LoginError::Busy) => "busy",
        Err(LoginError::Internal(_)) => "error",
    });
    result
}

#[allow(clippy::too_many_arguments)]
async fn attempt(
    db: &Db,
    hasher: &Hasher,
    rules: LoginRules<'_>,
    creds: Credentials<'_>,
    client_id: &str,
    meta: &RequestMeta,
    device: Option<&str>,
    now: i64,
) -> Result<User, LoginError> {
    let email = super::users::lookup_form(creds.email);
    let (policy_c, ip, device_c) = (
        rules.lockout.clone(),
        meta.ip.clone(),
        device.map(String::from),
    );
    // The guess is reserved before anything is hashed (identity::guesses).
    let (row, guess) = db
        .run(move |c| {
            write_transaction(c, |c| {
                let row = users::find_by_email(c, &email)?;
                let trusted = match (&row, &device_c) {
                    (Some(r), Some(d)) if guesses::is_trusted_device(c, &r.id, d)? => {
                        Some((r.id.clone(), d.clone()))
                    }
                    _ => None,
                };
                let guess = Guess::plan(
                    &policy_c,
                    GuessFrom {
                        ip: ip.as_deref(),
                        email: &email,
                        trusted_device: trusted.as_ref().map(|(u, d)| (u.as_str(), d.as_str())),
                    },
                );
                match guess.reserve(c, now)? {
                    Ok(()) => Ok((row, guess)),
                    Err(retry_after) => Err(LoginError::Throttled { retry_after }),
                }
            })
        })
        .await?;
    let hash = row.as_ref().and_then(|r| r.password_hash.clone());
    let verified = match hasher.verify(creds.password.to_string(), hash).await {
        Ok(v) => v,
        Err(e) => {
            let g = guess.clone();
            db.run(move |c| g.not_checked(c).map_err(LoginError::from))
                .await?;
            return Err(e.into());
        }
    };
    let refusal = match &row {
        None => Some("unknown_user"),
        Some(r) if r.disabled => Some("disabled"),
        Some(_) if !verified.ok => Some("bad_password"),
        Some(r) if rules.require_verified_email && !r.email_verified => Some(UNVERIFIED),
        Some(_) => None,
    };
    let (meta, client_id) = (meta.clone(), client_id.to_string());
    let device = device.map(String::from);
    db.run(move |c| {
        write_transaction(c, |c| match (row, refusal) {
            (Some(row), None) => {
                guess.succeeded(c)?;
                if row.failed_logins > 0 || row.lockouts > 0 || row.locked_until.is_some() {
                    users::clear_failures(c, &row.id)?;
                }
                if let Some(hash) = &verified.rehash {
                    users::set_password_hash(c, &row.id, hash, now)?;
                }
                if let Some(d) = &device {
                    guesses::trust_device(c, &row.id, d, now)?;
                }
                audit::record(
                    c,
                    login_event(Some(&row.id), &client_id, &meta, true, None),
                    now,
                )?;
                Ok::<_, diesel::result::Error>(Ok(User::from(&row)))
            }
            (Some(row), Some(UNVERIFIED)) => {
                // A right guess: its slots come back; the sign-in waits for the address.
                guess.succeeded(c)?;
                audit::record(
                    c,
                    login_event(Some(&row.id), &client_id, &meta, false, Some(UNVERIFIED)),
                    now,
                )?;
                Ok(Err(Refused::Unverified))
            }
            (row, refusal) => {
                let reason = refusal.unwrap_or("bad_password");
                let user_id = row.as_ref().map(|r| r.id.as_str());
                let locked = guess.failed(c, now)?;
                if let Some(locked) = locked {
                    record_lockout(c, user_id, &client_id, &meta, locked, now)?;
                }
                audit::record(
                    c,
                    login_event(user_id, &client_id, &meta, false, Some(reason)),
                    now,
                )?;
                Ok(Err(Refused::Wrong {
                    locked: locked.is_some(),
                }))
            }
        })
        .map_err(LoginError::from)
    })
    .await?
    .map_err(Refused::settle)
}

/// A sign-in refused after the password was checked.
enum Refused {
    /// The right password for an address not verified yet (`users.require_verified_email`).
    Unverified,
    /// A wrong guess, and whether it locked an account budget.
    Wrong { locked: bool },
}

impl Refused {
    /// Once committed: counts a lockout; a wrong guess answers as every wrong guess does.
    fn settle(self) -> LoginError {
        match self {
            Refused::Unverified => LoginError::Unverified,
            Refused::Wrong { locked } => {
                if locked {
                    crate::metrics::lockout();
                }
                LoginError::Failed
            }
        }
    }
}

/// Checks the password of a signed-in user (the account API's password change), under the same
/// guess budgets as a sign-in: a stolen access token is no password oracle. `Ok(false)` for a
/// wrong password (audited as `password_check`).
pub async fn check_password(
    db: &Db,
    hasher: &Hasher,
    policy: &LockoutSettings,
    user: &UserRow,
    password: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<bool, LoginError> {
    let guess = Guess::plan(
        policy,
        GuessFrom {
            ip: meta.ip.as_deref(),
            email: &user.email,
            trusted_device: None,
        },
    );
    let g = guess.clone();
    db.run(move |c| {
        write_transaction(c, |c| match g.reserve(c, now)? {
            Ok(()) => Ok(()),
            Err(retry_after) => Err(LoginError::Throttled { retry_after }),
        })
    })
    .await?;
    let verified = match hasher
        .verify(password.to_string(), user.password_hash.clone())
        .await
    {
        Ok(v) => v,
        Err(e) => {
            db.run(move |c| guess.not_checked(c).map_err(LoginError::from))
                .await?;
            return Err(e.into());
        }
    };
    let (meta, user_id) = (meta.clone(), user.id.clone());
    db.run(move |c| {
        write_transaction(c, |c| {
            if verified.ok {
                guess.succeeded(c)?;
                return Ok::<_, diesel::result::Error>(Ok(()));
            }
            let locked = guess.failed(c, now)?;
            if let Some(locked) = locked {
                record_lockout(c, Some(&user_id), ACCOUNT_CLIENT, &meta, locked, now)?;
            }
            audit::record(
                c,
                Event {
                    kind: audit::PASSWORD_CHECK,
                    success: false,
                    user_id: Some(&user_id),
                    client_id: Some(ACCOUNT_CLIENT),
                    meta: Some(&meta),
                    detail: Some(json!({ "reason": "bad_password" })),
                },
                now,
            )?;
            Ok(Err(Refused::Wrong {
                locked: locked.is_some(),
            }))
        })
        .map_err(LoginError::from)
    })
    .await
    .map(|checked| checked.map_err(Refused::settle).is_ok())
}

/// The refusal reason of a right password for an unverified address.
const UNVERIFIED: &str = "email_unverified";

/// The account API's client id, for audit events of password checks.
const ACCOUNT_CLIENT: &str = "account";

fn record_lockout(
    c: &mut crate::store::DbConnection,
    user_id: Option<&str>,
    client_id: &str,
    meta: &RequestMeta,
    locked: Locked,
    now: i64,
) -> diesel::QueryResult<()> {
    audit::record(
        c,
        Event {
            kind: audit::LOCKOUT,
            success: true,
            user_id,
            client_id: Some(client_id),
            meta: Some(meta),
            detail: Some(json!({ "locked_until": locked.until, "lockout": locked.strike })),
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
