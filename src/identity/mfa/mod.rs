//! Second factors and step-up: what a sign-in proved (`amr`, RFC 8176), the level it reached
//! (`acr`), when a sign-in needs a second factor, and how recent a sign-in must be for a
//! sensitive account operation. The pending second-factor step itself is `challenge`.
//!
//! The rule: a user who has a second factor (an authenticator app or a passkey) is always asked
//! for it after a password or an upstream sign-in. A user who has none is asked to set one up
//! when their role (`require_mfa` in the roles file), the client (`client create --require-mfa`)
//! or the request (`acr_values` holding [`ACR_MFA`]) requires one. A live single-factor session
//! meeting such a requirement is stepped up, not signed out.
pub mod challenge;

use crate::store::sessions::SessionRow;
use crate::store::DbConnection;

/// Password.
pub const PWD: &str = "pwd";
/// One-time code: an authenticator app or a recovery code.
pub const OTP: &str = "otp";
/// Proof of possession of a hardware-bound key: a passkey.
pub const HWK: &str = "hwk";
/// Signed in by an upstream identity provider.
pub const FED: &str = "fed";
/// More than one factor.
pub const MFA: &str = "mfa";

/// The single-factor level (`acr`).
pub const ACR_1FA: &str = "urn:portcullis:loa:1fa";
/// The multi-factor level: ask for it in `acr_values` to require a second factor.
pub const ACR_MFA: &str = "urn:portcullis:loa:2fa";
/// Discovery's `acr_values_supported`, lowest first.
pub const ACR_VALUES: &[&str] = &[ACR_1FA, ACR_MFA];

/// Sensitive account operations need a sign-in (and, for users with a second factor, a second
/// factor) at most this old.
pub const RECENT_SECS: i64 = 600;

/// The methods of an `amr` text (space separated, as sessions store them).
pub fn methods(amr: &str) -> impl Iterator<Item = &str> {
    amr.split(' ').filter(|m| !m.is_empty())
}

pub fn is_multi_factor(amr: &str) -> bool {
    methods(amr).any(|m| m == MFA)
}

/// A first factor's methods as the session records them. A passkey is multi-factor on its own:
/// every passkey ceremony requires user verification (PIN or biometric), so possession and
/// knowledge or inherence are both proven.
pub fn first_factor(amr: &str) -> String {
    if methods(amr).any(|m| m == HWK) && !is_multi_factor(amr) {
        join([amr, MFA])
    } else {
        join([amr])
    }
}

/// The methods after `second` completed a sign-in whose first factor was `first`.
pub fn with_second(first: &str, second: &str) -> String {
    join([first, second, MFA])
}

fn join<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for m in parts.into_iter().flat_map(methods) {
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    // `mfa` last, as RFC 8176's examples list it.
    seen.sort_by_key(|m| *m == MFA);
    seen.join(" ")
}

/// The `acr` a sign-in with these methods reached.
pub fn acr(amr: &str) -> &'static str {
    if is_multi_factor(amr) {
        ACR_MFA
    } else {
        ACR_1FA
    }
}

/// The second factors a user has set up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    /// A confirmed authenticator app.
    pub totp: bool,
    /// Unused recovery codes (a fallback, not a factor of their own).
    pub recovery_codes: i64,
    pub passkeys: i64,
}

impl Factors {
    /// Whether the user has a second factor to be asked for.
    pub fn any(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

/// The second factors `user_id` has set up.
pub fn factors(conn: &mut DbConnection, user_id: &str) -> anyhow::Result<Factors> {
    let codes = super::second_factor::enrolled(conn, user_id)?;
    Ok(Factors {
        totp: codes.totp,
        recovery_codes: codes.recovery_codes_left,
        passkeys: crate::store::passkeys::count(conn, user_id)?,
    })
}

/// What a sign-in needs after its first factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Nothing more: sign in.
    Pass,
    /// Ask for the user's second factor.
    SecondFactor,
    /// The user must set up a second factor first.
    Enrol,
}

/// The gate after a first factor whose methods are `amr`; `required`: the role, the client or
/// the request requires a second factor.
pub fn gate(amr: &str, factors: &Factors, required: bool) -> Gate {
    if is_multi_factor(amr) {
        Gate::Pass
    } else if factors.any() {
        Gate::SecondFactor
    } else if required {
        Gate::Enrol
    } else {
        Gate::Pass
    }
}

/// Why a sensitive operation was refused: the caller must sign in again (with the second
/// factor, when `second_factor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reauthenticate {
    pub second_factor: bool,
}

impl Reauthenticate {
    /// What the user is told on a page.
    pub fn explain(self) -> String {
        let what = if self.second_factor {
            "a sign-in with your second factor in the last 10 minutes"
        } else {
            "a sign-in in the last 10 minutes"
        };
        format!("For your security, this needs {what}.")
    }
}

/// Whether `session` may perform a sensitive account operation at `now`: it signed in within
/// [`RECENT_SECS`], with a second factor when the user has one.
pub fn check_recent(
    session: &SessionRow,
    factors: &Factors,
    now: i64,
) -> Result<(), Reauthenticate> {
    let second_factor = factors.any();
    let recent = now - session.auth_time <= RECENT_SECS;
    if recent && (!second_factor || is_multi_factor(&session.amr)) {
        Ok(())
    } else {
        Err(Reauthenticate { second_factor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_combine_once_with_mfa_last() {
        assert_eq!(first_factor("pwd"), "pwd");
        assert_eq!(first_factor("hwk"), "hwk mfa");
        assert_eq!(with_second("pwd", "otp"), "pwd otp mfa");
        assert_eq!(with_second("pwd", "hwk"), "pwd hwk mfa");
        assert_eq!(with_second("fed otp mfa", "otp"), "fed otp mfa");
        assert_eq!(acr("pwd"), ACR_1FA);
        assert_eq!(acr("pwd otp mfa"), ACR_MFA);
    }

    #[test]
    fn the_gate() {
        let none = Factors::default();
        let app = Factors {
            totp: true,
            ..Factors::default()
        };
        let codes_only = Factors {
            recovery_codes: 3,
            ..Factors::default()
        };
        assert_eq!(gate("pwd", &none, false), Gate::Pass);
        assert_eq!(gate("pwd", &none, true), Gate::Enrol);
        assert_eq!(gate("pwd", &codes_only, true), Gate::Enrol);
        assert_eq!(gate("pwd", &app, false), Gate::SecondFactor);
        assert_eq!(gate("fed", &app, true), Gate::SecondFactor);
        assert_eq!(gate("hwk mfa", &none, true), Gate::Pass);
    }

    #[test]
    fn recency() {
        let session = |auth_time, amr: &str| SessionRow {
            id: "s".into(),
            user_id: "u".into(),
            client_id: "c".into(),
            auth_time,
            created_at: 0,
            last_seen_at: 0,
            expires_at: i64::MAX,
            ip: None,
            user_agent: None,
            ended_at: None,
            cookie_hash: None,
            cookie_seen_at: None,
            amr: amr.into(),
        };
        let app = Factors {
            totp: true,
            ..Factors::default()
        };
        let none = Factors::default();
        assert_eq!(check_recent(&session(1000, "pwd"), &none, 1600), Ok(()));
        assert_eq!(
            check_recent(&session(1000, "pwd"), &none, 1601),
            Err(Reauthenticate {
                second_factor: false
            })
        );
        assert_eq!(
            check_recent(&session(1000, "pwd"), &app, 1001),
            Err(Reauthenticate {
                second_factor: true
            })
        );
        assert_eq!(
            check_recent(&session(1000, "pwd otp mfa"), &app, 1600),
            Ok(())
        );
    }
}
