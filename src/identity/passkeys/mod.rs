//! WebAuthn passkeys (webauthn-rs): registration for a signed-in user, passwordless sign-in with
//! a discoverable credential, a passkey as the second factor of a known user, and the user's
//! list (named, last used, removable).
//!
//! Every ceremony has two requests: options (a challenge), then the authenticator's answer. The
//! state between them lives in `passkey_ceremonies` (`ceremony.rs`), not in process memory, so
//! any instance finishes what another started; it is bound to the browser that started it and
//! used once.
//!
//! The relying party is the issuer: its host is the RP id and its origin the only origin
//! accepted. WebAuthn needs a domain there (browsers refuse an IP address as RP id), so with an
//! issuer such as `http://127.0.0.1:8080` passkeys are off (`RelyingParty::for_issuer` answers
//! `None`); `http://localhost:8080` works for local use.
//!
//! **User handle.** WebAuthn stores a user handle with a discoverable credential and returns it
//! at sign-in. Ours is derived, not stored: the first 16 bytes of HMAC-SHA256(server secret
//! `webauthn`, user id), as a UUID. It is stable for a user, reveals nothing about the account
//! to whoever reads the authenticator (unlike the user id, which is every token's `sub`), and
//! needs no column on `users`. At sign-in the credential id finds the passkey row; the handle
//! the authenticator returned must then be the one derived from that row's user.
mod ceremony;
mod manage;
mod register;
mod sign_in;

pub use ceremony::Started;
pub use manage::{has_passkeys, list, remove, PasskeyInfo};
pub use register::{finish_registration, start_registration};
pub use sign_in::{
    finish_second_factor, finish_sign_in, start_second_factor, start_sign_in, SignInRules, Verified,
};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use webauthn_rs::prelude::{Url, Uuid, Webauthn, WebauthnBuilder};

/// The name of the server secret user handles are derived with (`store::server_secrets`).
pub const HANDLE_SECRET: &str = "webauthn";
/// Audit kinds: a passkey added or removed, a passwordless sign-in, a second factor.
pub const PASSKEY_ADDED: &str = "passkey_added";
pub const PASSKEY_REMOVED: &str = "passkey_removed";
pub const PASSKEY_LOGIN: &str = "passkey_login";
pub const PASSKEY_SECOND_FACTOR: &str = "passkey_second_factor";
/// How long the answer to a challenge may take (WebAuthn's own timeout is 5 minutes too).
pub const CEREMONY_SECS: i64 = 300;
/// The longest passkey name.
pub const NAME_MAX: usize = 60;

/// This server as a WebAuthn relying party.
pub struct RelyingParty {
    webauthn: Webauthn,
    handle_key: Vec<u8>,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelyingParty(REDACTED)")
    }
}

impl RelyingParty {
    /// The relying party for `issuer`, or `None` when its host is not a domain name (an IP
    /// address: no browser accepts one as RP id).
    pub fn for_issuer(issuer: &str, handle_secret: &str) -> anyhow::Result<Option<RelyingParty>> {
        let origin = Url::parse(issuer)?;
        let Some(rp_id) = origin.domain().map(str::to_string) else {
            return Ok(None);
        };
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .map_err(|e| anyhow::anyhow!("WebAuthn relying party for {issuer}: {e}"))?
            .rp_name("Portcullis")
            .build()
            .map_err(|e| anyhow::anyhow!("WebAuthn relying party for {issuer}: {e}"))?;
        Ok(Some(RelyingParty {
            webauthn,
            handle_key: handle_secret.as_bytes().to_vec(),
        }))
    }

    /// The WebAuthn user handle of `user_id` (see the module doc).
    pub fn user_handle(&self, user_id: &str) -> Uuid {
        let mut bytes = [0u8; 16];
        // HMAC accepts a key of any length.
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.handle_key) {
            mac.update(b"webauthn-user-handle:");
            mac.update(user_id.as_bytes());
            bytes.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        }
        Uuid::from_bytes(bytes)
    }
}

/// Why a passkey operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The issuer is no domain name: this server offers no passkeys.
    #[error("passkeys are not available on this server")]
    Unavailable,
    #[error("{0}")]
    InvalidName(String),
    /// The ceremony is unknown, expired, already answered, or from another browser.
    #[error("this passkey request expired, was already used, or was started in another browser")]
    Ceremony,
    /// The authenticator's answer did not verify (signature, challenge, origin, user
    /// verification, a malformed answer).
    #[error("the passkey could not be verified")]
    Rejected,
    /// The credential is registered to no account (never, or removed since).
    #[error("this passkey is not registered here")]
    UnknownPasskey,
    /// The account is disabled.
    #[error("this account is disabled")]
    Disabled,
    /// `users.require_verified_email`, and the address is not verified yet.
    #[error("confirm your email address first")]
    Unverified,
    /// The user already registered this authenticator.
    #[error("this passkey is already registered")]
    AlreadyRegistered,
    /// A sensitive operation, and the session's sign-in is not recent enough (or lacks the
    /// second factor the user has).
    #[error("sign in again (with your second factor) to do this")]
    Reauthenticate,
    /// No passkey of this user has that id.
    #[error("no such passkey")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for PasskeyError {
    fn from(e: diesel::result::Error) -> Self {
        PasskeyError::Internal(e.into())
    }
}

impl From<crate::store::DbError> for PasskeyError {
    fn from(e: crate::store::DbError) -> Self {
        PasskeyError::Internal(e.into())
    }
}

/// Checks and trims a passkey's name.
pub fn check_name(name: &str) -> Result<String, PasskeyError> {
    let name = name.trim();
    super::text::check_name("the name", name, NAME_MAX).map_err(PasskeyError::InvalidName)?;
    Ok(name.to_string())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, PasskeyError> {
    serde_json::to_string(value).map_err(|e| PasskeyError::Internal(e.into()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, PasskeyError> {
    serde_json::from_str(text).map_err(|e| PasskeyError::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_issuer_has_no_relying_party() {
        assert!(RelyingParty::for_issuer("http://127.0.0.1:8080", "k")
            .unwrap()
            .is_none());
        assert!(RelyingParty::for_issuer("http://[::1]:8080", "k")
            .unwrap()
            .is_none());
        assert!(RelyingParty::for_issuer("https://id.example.com", "k")
            .unwrap()
            .is_some());
        assert!(RelyingParty::for_issuer("http://localhost:8080", "k")
            .unwrap()
            .is_some());
    }

    #[test]
    fn user_handles_are_stable_per_user_and_keyed() {
        let rp = RelyingParty::for_issuer("https://id.example.com", "secret-1")
            .unwrap()
            .unwrap();
        let other_key = RelyingParty::for_issuer("https://id.example.com", "secret-2")
            .unwrap()
            .unwrap();
        assert_eq!(rp.user_handle("u1"), rp.user_handle("u1"));
        assert_ne!(rp.user_handle("u1"), rp.user_handle("u2"));
        assert_ne!(rp.user_handle("u1"), other_key.user_handle("u1"));
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(check_name("  Laptop ").unwrap(), "Laptop");
        assert!(matches!(check_name(""), Err(PasskeyError::InvalidName(_))));
        assert!(matches!(
            check_name(&"x".repeat(NAME_MAX + 1)),
            Err(PasskeyError::InvalidName(_))
        ));
        assert!(matches!(
            check_name("evil\u{202E}gnp"),
            Err(PasskeyError::InvalidName(_))
        ));
    }
}
