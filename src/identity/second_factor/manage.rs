//! Setting up and removing second factors (an authenticator app, recovery codes) for the
//! signed-in user; each change is audited and mailed to them (`factor_notice`).
use super::{check_code, enrolled, kek, CodeOutcome, Enrolled, Factors};
use crate::identity::factor_notice::{self, Change};
use crate::identity::login::{self, LoginError};
use crate::identity::password::Hasher;
use crate::identity::totp::{self, Enrolment, TotpError};
use crate::identity::users::User;
use crate::identity::{recovery_codes, RequestMeta};
use crate::store::users as user_store;

/// Starts setting up an authenticator app (see `totp::start`).
pub async fn start_totp(f: Factors<'_>, user: &User, now: i64) -> Result<Enrolment, TotpError> {
    let (keys, issuer, user) = (f.keys.clone(), f.settings.issuer.clone(), user.clone());
    f.db.run(move |c| totp::start(c, kek(&keys)?, &issuer, &user, now))
        .await
}

/// The app being set up, to show again (see `totp::pending`).
pub async fn pending_totp(f: Factors<'_>, user: &User) -> Result<Option<Enrolment>, TotpError> {
    let (keys, issuer, user) = (f.keys.clone(), f.settings.issuer.clone(), user.clone());
    f.db.run(move |c| totp::pending(c, kek(&keys)?, &issuer, &user))
        .await
}

/// Enables the app being set up with its first code (see `totp::confirm`).
pub async fn confirm_totp(
    f: Factors<'_>,
    user: &User,
    code: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<(), TotpError> {
    let (keys, user_id, meta) = (f.keys.clone(), user.id.clone(), meta.clone());
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    f.db.run(move |c| totp::confirm(c, kek(&keys)?, &user_id, &code, &meta, now))
        .await?;
    notify(f, user, Change::AppOn, now);
    Ok(())
}

fn notify(f: Factors<'_>, user: &User, change: Change<'_>, now: i64) {
    factor_notice::send(f.mailer, &f.settings.issuer, &user.email, change, now);
}

/// What proves the user may turn the app off.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// A current code (app or recovery), checked by [`check_code`].
    Code(&'a str),
    /// The account's password, under the same guess budgets as a sign-in.
    Password(&'a str),
}

/// How turning the app off went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnOff {
    Done,
    NotEnabled,
    /// The code was refused (wrong, replayed), or the guess throttled.
    Refused(CodeOutcome),
    WrongPassword,
    /// Password hashing is saturated: try again shortly.
    Busy,
}

/// Turns the user's authenticator app off, given a proof.
pub async fn turn_off_totp(
    f: Factors<'_>,
    hasher: &Hasher,
    user: &User,
    proof: Proof<'_>,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<TurnOff> {
    let id = user.id.clone();
    let (enabled, row) = f
        .db
        .run(move |c| Ok::<_, anyhow::Error>((totp::enabled(c, &id)?, user_store::find(c, &id)?)))
        .await?;
    let row = match (enabled, row) {
        (true, Some(row)) => row,
        _ => return Ok(TurnOff::NotEnabled),
    };
    match proof {
        Proof::Code(code) => match check_code(f, user, code, meta, now).await? {
            CodeOutcome::Accepted { .. } => {}
            refused => return Ok(TurnOff::Refused(refused)),
        },
        Proof::Password(password) => {
            let lockout = &f.settings.lockout;
            match login::check_password(f.db, hasher, lockout, &row, password, meta, now).await {
                Ok(true) => {}
                Ok(false) => return Ok(TurnOff::WrongPassword),
                Err(LoginError::Throttled { retry_after }) => {
                    return Ok(TurnOff::Refused(CodeOutcome::Throttled { retry_after }))
                }
                Err(LoginError::Busy) => return Ok(TurnOff::Busy),
                Err(e) => return Err(e.into()),
            }
        }
    }
    let (id, meta) = (user.id.clone(), meta.clone());
    match f.db.run(move |c| totp::disable(c, &id, &meta, now)).await {
        Ok(()) => {
            notify(f, user, Change::AppOff, now);
            Ok(TurnOff::Done)
        }
        Err(TotpError::NotEnabled) => Ok(TurnOff::NotEnabled),
        Err(e) => Err(e.into()),
    }
}

/// A new set of recovery codes, replacing the old one; the codes as shown, once.
pub async fn new_recovery_codes(
    f: Factors<'_>,
    user: &User,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let (user_id, meta) = (user.id.clone(), meta.clone());
    let codes =
        f.db.run(move |c| recovery_codes::generate(c, &user_id, &meta, now))
            .await?;
    notify(f, user, Change::NewRecoveryCodes, now);
    Ok(codes)
}

/// The user's second factors (see [`enrolled`]).
pub async fn status(f: Factors<'_>, user_id: &str) -> anyhow::Result<Enrolled> {
    let user_id = user_id.to_string();
    f.db.run(move |c| enrolled(c, &user_id)).await
}
