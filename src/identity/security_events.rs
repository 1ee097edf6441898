//! A user's recent security events, from the audit log, in words for the account page.
use crate::store::audit::{self, AuditRow};
use crate::store::DbConnection;

/// How many events the account page shows.
pub const RECENT: i64 = 20;

/// One event as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    pub at: i64,
    pub what: String,
    pub success: bool,
    pub ip: Option<String>,
}

/// The user's last `RECENT` audit events, newest first.
pub fn recent(c: &mut DbConnection, user_id: &str) -> diesel::QueryResult<Vec<SecurityEvent>> {
    Ok(audit::list(c, Some(user_id), None, None, RECENT)?
        .into_iter()
        .map(from_row)
        .collect())
}

fn from_row(row: AuditRow) -> SecurityEvent {
    let success = row.outcome == "success";
    SecurityEvent {
        what: in_words(&row.kind, success),
        at: row.at,
        success,
        ip: row.ip,
    }
}

/// An audit kind and outcome in words ("Signed in", "Failed sign-in", …); an unknown kind is
/// shown as it is stored, with underscores as spaces.
pub fn in_words(kind: &str, success: bool) -> String {
    let words = match (kind, success) {
        ("login", true) => "Signed in",
        ("login", false) => "Failed sign-in",
        ("federated_login", _) => "Signed in with a linked provider",
        ("lockout", _) => "Account locked after failed sign-ins",
        ("password_check", _) => "Wrong current password entered",
        ("logout", _) => "Signed out",
        ("session_ended", _) => "Session ended",
        ("password_changed", _) => "Password changed",
        ("password_reset_requested", true) => "Password reset link sent",
        ("password_reset_requested", false) => "Password reset asked for",
        ("password_reset", true) => "Password reset",
        ("password_reset", false) => "Invalid password reset link used",
        ("user_created", _) => "Account created",
        ("user_changed", _) => "Profile changed",
        ("email_changed", _) => "Email address changed",
        ("email_verification_sent", true) => "Verification link sent",
        ("email_verification_sent", false) => "Verification link asked for",
        ("email_verified", true) => "Email address confirmed",
        ("email_verified", false) => "Invalid verification link used",
        ("api_key_created", _) => "API key created",
        ("api_key_revoked", _) => "API key revoked",
        ("identity_linked", _) => "Provider linked",
        ("identity_unlinked", _) => "Provider unlinked",
        ("consent_granted", _) => "Access granted to an application",
        ("consent_denied", _) => "Access denied to an application",
        ("device_approved", _) => "A device was allowed to sign in",
        ("device_denied", _) => "A device's sign-in was denied",
        ("token_issued", _) => "Application signed in",
        ("token_revoked", _) => "Application token revoked",
        ("refresh_reuse_detected", _) => "Reused token detected: its sessions were ended",
        ("refresh_retry", _) => "Token refresh retried",
        ("code_replay_detected", _) => "Replayed authorization code refused",
        _ => return fallback(kind, success),
    };
    words.to_string()
}

fn fallback(kind: &str, success: bool) -> String {
    let mut words: String = kind.replace('_', " ");
    if let Some(first) = words.get(..1) {
        words = first.to_uppercase() + &words[1..];
    }
    if success {
        words
    } else {
        format!("{words} (failed)")
    }
}

#[cfg(test)]
mod tests {
    use super::in_words;

    #[test]
    fn kinds_read_as_words() {
        assert_eq!(in_words("login", true), "Signed in");
        assert_eq!(in_words("login", false), "Failed sign-in");
        assert_eq!(in_words("password_changed", true), "Password changed");
        assert_eq!(in_words("mfa_enabled", true), "Mfa enabled");
        assert_eq!(in_words("totp_check", false), "Totp check (failed)");
    }
}
