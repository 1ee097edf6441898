//! A ceremony between its two requests: the webauthn-rs state, stored under the SHA-256 of a
//! random handle that only the browser holds, bound to that browser's binding cookie, for
//! `CEREMONY_SECS`, and taken once.
use super::{PasskeyError, CEREMONY_SECS};
use crate::store::passkeys::{self as store, CeremonyRow};
use crate::store::DbConnection;
use crate::tokens::secret;

/// What a ceremony is for; a handle of one kind never finishes another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Registration,
    /// Passwordless sign-in with a discoverable credential.
    SignIn,
    /// A known user's passkey after the password.
    SecondFactor,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Registration => "registration",
            Kind::SignIn => "sign_in",
            Kind::SecondFactor => "second_factor",
        }
    }
}

/// The answer to a ceremony's first request: the handle the browser sends back with the
/// authenticator's answer, and the options for `navigator.credentials`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started<T> {
    pub ceremony: String,
    pub options: T,
}

/// At most this many expired ceremonies are deleted each time one starts.
const FORGET_BATCH: i64 = 100;

pub struct Opening<'a> {
    pub kind: Kind,
    pub user_id: Option<&'a str>,
    pub name: Option<String>,
    pub state: String,
    pub browser_hash: &'a str,
}

/// Stores a new ceremony; returns the handle for the browser.
pub fn open(conn: &mut DbConnection, o: Opening, now: i64) -> Result<String, PasskeyError> {
    store::forget_expired(conn, now, FORGET_BATCH)?;
    let handle = secret::new_secret()?;
    store::insert_ceremony(
        conn,
        &CeremonyRow {
            id: secret::hash_secret(&handle),
            user_id: o.user_id.map(str::to_string),
            kind: o.kind.as_str().to_string(),
            name: o.name,
            state: o.state,
            browser_hash: o.browser_hash.to_string(),
            created_at: now,
            expires_at: now + CEREMONY_SECS,
        },
    )?;
    Ok(handle)
}

/// Takes the ceremony behind `handle`: it must be of `kind`, unexpired, unused and started by
/// this browser (and, when `user_id` is given, for that user). Whatever the answer then proves,
/// the ceremony is spent.
pub fn claim(
    conn: &mut DbConnection,
    kind: Kind,
    handle: &str,
    browser_hash: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<CeremonyRow, PasskeyError> {
    let row = store::claim_ceremony(
        conn,
        &secret::hash_secret(handle),
        kind.as_str(),
        browser_hash,
        now,
    )?
    .ok_or(PasskeyError::Ceremony)?;
    if user_id.is_some() && row.user_id.as_deref() != user_id {
        return Err(PasskeyError::Ceremony);
    }
    Ok(row)
}
