//! Mail to a user whose second factors changed (an app turned on or off, new recovery codes, a
//! passkey added or removed): the one warning its owner gets when someone else did it. Sent
//! after the change is stored, queued without waiting; without mail configured, nothing.
use crate::email::{messages, Mailer};

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    AppOn,
    AppOff,
    NewRecoveryCodes,
    PasskeyAdded(&'a str),
    PasskeyRemoved(&'a str),
}

impl Change<'_> {
    /// The mail's sentence, without its full stop.
    pub fn sentence(self) -> String {
        match self {
            Change::AppOn => "An authenticator app was turned on".into(),
            Change::AppOff => "The authenticator app was turned off".into(),
            Change::NewRecoveryCodes => {
                "New recovery codes were made, and the old ones no longer work".into()
            }
            Change::PasskeyAdded(name) => format!("A passkey ({name}) was added"),
            Change::PasskeyRemoved(name) => format!("A passkey ({name}) was removed"),
        }
    }
}

/// Queues the notice of `change` to `to` (the account's address).
pub fn send(mailer: &Mailer, issuer: &str, to: &str, change: Change<'_>, now: i64) {
    if !mailer.enabled() {
        return;
    }
    match messages::second_factor_changed(issuer, to, &change.sentence(), now) {
        Ok(mail) => {
            mailer.send(mail);
        }
        Err(e) => tracing::error!(error = %e, "rendering a second-factor notice failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_name_the_change() {
        assert_eq!(
            Change::AppOn.sentence(),
            "An authenticator app was turned on"
        );
        assert_eq!(
            Change::PasskeyRemoved("Laptop").sentence(),
            "A passkey (Laptop) was removed"
        );
        let m = messages::second_factor_changed(
            "https://id.example.com",
            "a@example.com",
            &Change::PasskeyAdded("<b>").sentence(),
            0,
        )
        .unwrap();
        assert!(m.text.contains("A passkey (<b>) was added (your account a@example.com at id.example.com, 1970-01-01 at 00:00 UTC)."), "{}", m.text);
        assert!(m.text.contains("https://id.example.com/account/mfa"));
        assert!(!m.html.contains("<b>"), "{}", m.html);
    }
}
