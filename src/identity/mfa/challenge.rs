//! The pending second-factor step: after a first factor (or for a step-up of a live session) a
//! challenge is stored under a random handle, bound to the browser that started it (pages) or
//! held as a bearer handle (the account API). It lives five minutes and is finished once.
use crate::store::mfa_challenges::{self as store, ChallengeRow};
use crate::store::DbConnection;
use crate::tokens::secret;

pub const CHALLENGE_TTL_SECS: i64 = 300;

/// A live challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub user_id: String,
    /// The methods proven so far.
    pub first_amr: String,
    /// The pending authorization request to continue, if any.
    pub request_id: Option<String>,
    /// The user must set up a second factor before finishing.
    pub enrol: bool,
}

/// Where a challenge belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder<'a> {
    /// The browser with this binding (`Browser::binding_hash`).
    Browser(&'a str),
    /// Whoever holds the handle (the account API).
    Bearer,
}

/// What a new challenge is for.
pub struct NewChallenge<'a> {
    pub user_id: &'a str,
    pub first_amr: &'a str,
    pub request_id: Option<&'a str>,
    pub enrol: bool,
    pub holder: Holder<'a>,
}

/// Stores a challenge; returns its handle (shown to the browser or API client, never stored).
pub fn start(conn: &mut DbConnection, new: NewChallenge, now: i64) -> anyhow::Result<String> {
    let handle = secret::new_secret()?;
    store::insert(
        conn,
        &ChallengeRow {
            id_hash: secret::hash_secret(&handle),
            user_id: new.user_id.to_string(),
            first_amr: new.first_amr.to_string(),
            request_id: new.request_id.map(str::to_string),
            browser_hash: match new.holder {
                Holder::Browser(hash) => Some(hash.to_string()),
                Holder::Bearer => None,
            },
            enrol: new.enrol,
            created_at: now,
            expires_at: now + CHALLENGE_TTL_SECS,
        },
    )?;
    Ok(handle)
}

/// The live challenge behind `handle` for this caller, if any. A page passes `is_bound`, which
/// tells whether a stored browser binding is its browser's (in constant time); the account API
/// passes `None`. A browser's challenge is never the API's, nor the reverse.
pub fn load(
    conn: &mut DbConnection,
    handle: &str,
    is_bound: Option<&dyn Fn(&str) -> bool>,
    now: i64,
) -> anyhow::Result<Option<Challenge>> {
    if handle.is_empty() || handle.len() > 128 {
        return Ok(None);
    }
    let Some(row) = store::find_live(conn, &secret::hash_secret(handle), now)? else {
        return Ok(None);
    };
    let ours = match (&row.browser_hash, is_bound) {
        (Some(hash), Some(is_bound)) => is_bound(hash),
        (None, None) => true,
        _ => false,
    };
    Ok(ours.then_some(Challenge {
        user_id: row.user_id,
        first_amr: row.first_amr,
        request_id: row.request_id,
        enrol: row.enrol,
    }))
}

/// Finishes the challenge: true for exactly one caller.
pub fn finish(conn: &mut DbConnection, handle: &str, now: i64) -> anyhow::Result<bool> {
    Ok(store::claim(conn, &secret::hash_secret(handle), now)?)
}
