//! Second factors, as the pages and the API use them: [`check_code`] is the one entry point for
//! a code typed after the password (or to prove the factor again): six digits are an
//! authenticator-app code (`totp`), anything else a recovery code (`recovery_codes`). Every
//! check is a guess under the login throttle (`guesses::Guess::second_factor`: the source's
//! budget shared with password guesses, and a budget of the account's own), reserved before the
//! code is looked at and settled after. Setting up and removing factors goes through here too,
//! so handlers stay thin; each change is mailed to the user (`factor_notice`).
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use super::audit::{self, Event};
use super::guesses::Guess;
use super::totp::{self, Checked};
use super::users::User;
use super::{recovery_codes, RequestMeta};
use crate::config::Settings;
use crate::email::{messages, Mailer};
use crate::store::{write_transaction, Db, DbConnection, DbError};
use crate::tokens::keys::Kek;
use crate::tokens::KeyStore;

/// What a second factor check needs besides the code: the server's pools, mailer, settings and
/// keys (for the key-encryption key that seals app secrets).
#[derive(Clone, Copy)]
pub struct Factors<'a> {
    pub db: &'a Db,
    pub mailer: &'a Mailer,
    pub settings: &'a Settings,
    pub keys: &'a Arc<KeyStore>,
}

/// Which kind of code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMethod {
    Totp,
    RecoveryCode,
}

impl CodeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeMethod::Totp => "totp",
            CodeMethod::RecoveryCode => "recovery_code",
        }
    }

    /// The OIDC `amr` value (RFC 8176) of a sign-in with this code: both are one-time codes.
    pub fn amr(self) -> &'static str {
        "otp"
    }
}

/// How a code fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    Accepted {
        method: CodeMethod,
    },
    /// Not a code of this user (or no factor to check it against).
    Wrong,
    /// A right app code whose step was already used.
    Replayed,
    /// Too many wrong codes (from this source, or for this account): retry after this many
    /// seconds.
    Throttled {
        retry_after: i64,
    },
}

/// The second factors a user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolled {
    /// A confirmed authenticator app.
    pub totp: bool,
    pub recovery_codes_left: i64,
}

pub fn enrolled(conn: &mut DbConnection, user_id: &str) -> anyhow::Result<Enrolled> {
    Ok(Enrolled {
        totp: totp::enabled(conn, user_id)?,
        recovery_codes_left: recovery_codes::remaining(conn, user_id)?,
    })
}

/// A code as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Typed {
    Totp(String),
    Recovery(String),
    Malformed,
}

/// Spaces and dashes don't count; six digits are an app code, else a recovery code if it can
/// be one.
fn classify(code: &str) -> Typed {
    let compact: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.len() == totp::DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Typed::Totp(compact);
    }
    match recovery_codes::normalise(&compact) {
        Some(code) => Typed::Recovery(code),
        None => Typed::Malformed,
    }
}

/// A throttled reservation (rolled back) or a failure.
enum Stop {
    Throttled(i64),
    Failed(anyhow::Error),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Failed(e.into())
    }
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Failed(e.into())
    }
}

fn kek(keys: &KeyStore) -> anyhow::Result<&Kek> {
    keys.kek()
        .context("no key-encryption key to open second-factor secrets")
}

/// Checks a second-factor code of `user`: reserves the guess, tries the authenticator app
/// (six digits) or a recovery code, audits the result (`second_factor`; `recovery_code_used`),
/// and mails the user when a recovery code was used. An accepted code is used up.
pub async fn check_code(
    f: Factors<'_>,
    user: &User,
    code: &str,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<CodeOutcome> {
    let guess = Guess::second_factor(&f.settings.lockout, meta.ip.as_deref(), &user.id);
    let g = guess.clone();
    let reserved =
        f.db.run(move |c| {
            write_transaction(c, |c| match g.reserve(c, now)? {
                Ok(()) => Ok(()),
                Err(retry_after) => Err(Stop::Throttled(retry_after)),
            })
        })
        .await;
    match reserved {
        Ok(()) => {}
        Err(Stop::Throttled(retry_after)) => return Ok(CodeOutcome::Throttled { retry_after }),
        Err(Stop::Failed(e)) => return Err(e),
    }
    let (keys, typed, user_id, meta_c) = (
        f.keys.clone(),
        classify(code),
        user.id.clone(),
        meta.clone(),
    );
    let (outcome, left, locked) =
        f.db.run(move |c| {
            write_transaction(c, |c| {
                let (outcome, left, reason) = check_in(c, kek(&keys)?, &user_id, &typed, now)?;
                let locked = match outcome {
                    CodeOutcome::Accepted { .. } => {
                        guess.succeeded(c)?;
                        None
                    }
                    _ => guess.failed(c, now)?,
                };
                record(c, &user_id, &meta_c, outcome, reason, left, locked, now)?;
                Ok::<_, anyhow::Error>((outcome, left, locked))
            })
        })
        .await?;
    if locked.is_some() {
        crate::metrics::lockout();
    }
    if let (Some(left), true) = (left, f.mailer.enabled()) {
        match messages::recovery_code_used(&f.settings.issuer, &user.email, now, left) {
            Ok(mail) => {
                f.mailer.send(mail);
            }
            Err(e) => tracing::error!(error = %e, "rendering a recovery-code mail failed"),
        }
    }
    Ok(outcome)
}

/// The check itself: the outcome, the recovery codes left after one was used, and the reason of
/// a refusal (for the audit log).
fn check_in(
    c: &mut DbConnection,
    kek: &Kek,
    user_id: &str,
    typed: &Typed,
    now: i64,
) -> anyhow::Result<(CodeOutcome, Option<i64>, Option<&'static str>)> {
    let accepted = |method| CodeOutcome::Accepted { method };
    Ok(match typed {
        Typed::Totp(code) => match totp::verify(c, kek, user_id, code, now)? {
            Checked::Accepted => (accepted(CodeMethod::Totp), None, None),
            Checked::Replayed => (CodeOutcome::Replayed, None, Some("replayed")),
            Checked::Wrong => (CodeOutcome::Wrong, None, Some("wrong_code")),
            Checked::NotEnabled => (CodeOutcome::Wrong, None, Some("no_totp")),
        },
        Typed::Recovery(code) => match recovery_codes::redeem(c, user_id, code, now)? {
            Some(left) => (accepted(CodeMethod::RecoveryCode), Some(left), None),
            None => (CodeOutcome::Wrong, None, Some("wrong_code")),
        },
        Typed::Malformed => (CodeOutcome::Wrong, None, Some("malformed")),
    })
}

#[allow(clippy::too_many_arguments)]
fn record(
    c: &mut DbConnection,
    user_id: &str,
    meta: &RequestMeta,
    outcome: CodeOutcome,
    reason: Option<&str>,
    left: Option<i64>,
    locked: Option<super::guesses::Locked>,
    now: i64,
) -> diesel::QueryResult<()> {
    let event = |kind, success, detail| Event {
        kind,
        success,
        user_id: Some(user_id),
        meta: Some(meta),
        detail: Some(detail),
        ..Event::default()
    };
    if let Some(locked) = locked {
        let detail =
            json!({ "locked_until": locked.until, "lockout": locked.strike, "factor": "code" });
        audit::record(c, event(audit::LOCKOUT, true, detail), now)?;
    }
    let detail = match (outcome, reason) {
        (CodeOutcome::Accepted { method }, _) => json!({ "method": method.as_str() }),
        (_, reason) => json!({ "reason": reason.unwrap_or("wrong_code") }),
    };
    let success = matches!(outcome, CodeOutcome::Accepted { .. });
    audit::record(c, event(audit::SECOND_FACTOR, success, detail), now)?;
    if let Some(left) = left {
        let detail = json!({ "remaining": left });
        audit::record(c, event(audit::RECOVERY_CODE_USED, true, detail), now)?;
    }
    Ok(())
}

mod manage;
pub use manage::{
    confirm_totp, new_recovery_codes, pending_totp, start_totp, status, turn_off_totp, Proof,
    TurnOff,
};

#[cfg(test)]
mod db_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_are_app_codes_and_the_rest_recovery_codes() {
        assert_eq!(classify("123 456"), Typed::Totp("123456".into()));
        assert_eq!(classify("123-456"), Typed::Totp("123456".into()));
        assert_eq!(
            classify("abcde-fghjk"),
            Typed::Recovery("ABCDEFGHJK".into())
        );
        assert_eq!(classify("12345"), Typed::Malformed);
        assert_eq!(classify("１２３４５６"), Typed::Malformed);
        assert_eq!(CodeMethod::RecoveryCode.amr(), "otp");
        assert_eq!(CodeMethod::Totp.as_str(), "totp");
        assert_eq!(classify(""), Typed::Malformed);
    }
}
