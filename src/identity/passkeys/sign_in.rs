//! Signing in with a passkey: without an email (a discoverable credential names its account
//! through the user handle), or as the second factor of a user the password already named.
use serde_json::json;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PublicKeyCredential, RequestChallengeResponse,
};

use super::super::audit::{self, Event};
use super::super::users::User;
use super::super::RequestMeta;
use super::ceremony::{self, Kind, Opening, Started};
use super::register::credential_id;
use super::{from_json, to_json, PasskeyError, RelyingParty, PASSKEY_LOGIN, PASSKEY_SECOND_FACTOR};
use crate::store::passkeys::{self as store, PasskeyRow};
use crate::store::{users, DbConnection};

/// Who a passkey proved to be there, and with which passkey.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub user: User,
    pub passkey_id: String,
}

/// What a passkey sign-in checks beside the passkey.
#[derive(Debug, Clone, Copy)]
pub struct SignInRules<'a> {
    /// `users.require_verified_email`: an unverified address can't sign in.
    pub require_verified_email: bool,
    /// The client the sign-in is for (the audit event names it).
    pub client_id: &'a str,
}

fn rejected(e: impl std::fmt::Display) -> PasskeyError {
    tracing::debug!(error = %e, "passkey assertion refused");
    PasskeyError::Rejected
}

/// Options for a passwordless sign-in: any passkey of this site the authenticator holds.
pub fn start_sign_in(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    browser_hash: &str,
    now: i64,
) -> Result<Started<RequestChallengeResponse>, PasskeyError> {
    let (mut options, state) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| PasskeyError::Internal(anyhow::anyhow!("starting a sign-in: {e}")))?;
    // webauthn-rs marks this for conditional mediation (autofill); ours starts from a button,
    // a modal request.
    options.mediation = None;
    let ceremony = ceremony::open(
        conn,
        Opening {
            kind: Kind::SignIn,
            user_id: None,
            name: None,
            state: to_json(&state)?,
            browser_hash,
        },
        now,
    )?;
    Ok(Started { ceremony, options })
}

/// Checks a passwordless sign-in: the credential names a registered passkey, the user handle
/// is that passkey's user's, the signature verifies with user verification, and the account
/// may sign in. Records the use (time, counter, backup state) and an audit event.
#[allow(clippy::too_many_arguments)]
pub fn finish_sign_in(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    handle: &str,
    browser_hash: &str,
    answer: &PublicKeyCredential,
    rules: SignInRules,
    meta: &RequestMeta,
    now: i64,
) -> Result<Verified, PasskeyError> {
    let row = ceremony::claim(conn, Kind::SignIn, handle, browser_hash, None, now)?;
    let state: DiscoverableAuthentication = from_json(&row.state)?;
    let (user_handle, cred_id) = rp
        .webauthn
        .identify_discoverable_authentication(answer)
        .map_err(rejected)?;
    let Some(stored) = store::find_by_credential_id(conn, &credential_id(cred_id))? else {
        return Err(PasskeyError::UnknownPasskey);
    };
    if rp.user_handle(&stored.user_id) != user_handle {
        return Err(rejected("the user handle is not the passkey's user's"));
    }
    let mut passkey: Passkey = from_json(&stored.credential)?;
    let result = rp
        .webauthn
        .finish_discoverable_authentication(answer, state, &[DiscoverableKey::from(&passkey)])
        .map_err(rejected)?;
    let user = account(conn, &stored.user_id, rules.require_verified_email)?;
    record_use(conn, &stored, &mut passkey, &result, now)?;
    audit::record(
        conn,
        Event {
            kind: PASSKEY_LOGIN,
            success: true,
            user_id: Some(&user.id),
            client_id: Some(rules.client_id),
            meta: Some(meta),
            detail: Some(json!({ "passkey_id": stored.id })),
        },
        now,
    )?;
    Ok(Verified {
        user,
        passkey_id: stored.id,
    })
}

/// Options for `user_id`'s passkeys as a second factor; `NotFound` when the user has none.
pub fn start_second_factor(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    user_id: &str,
    browser_hash: &str,
    now: i64,
) -> Result<Started<RequestChallengeResponse>, PasskeyError> {
    let mut passkeys = Vec::new();
    for row in store::list(conn, user_id)? {
        passkeys.push(from_json::<Passkey>(&row.credential)?);
    }
    if passkeys.is_empty() {
        return Err(PasskeyError::NotFound);
    }
    let (options, state) = rp
        .webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| PasskeyError::Internal(anyhow::anyhow!("starting a second factor: {e}")))?;
    let ceremony = ceremony::open(
        conn,
        Opening {
            kind: Kind::SecondFactor,
            user_id: Some(user_id),
            name: None,
            state: to_json(&state)?,
            browser_hash,
        },
        now,
    )?;
    Ok(Started { ceremony, options })
}

/// Checks `user_id`'s passkey as a second factor (the ceremony must be this user's, started
/// by this browser). Records the use and an audit event.
#[allow(clippy::too_many_arguments)]
pub fn finish_second_factor(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    user_id: &str,
    handle: &str,
    browser_hash: &str,
    answer: &PublicKeyCredential,
    meta: &RequestMeta,
    now: i64,
) -> Result<Verified, PasskeyError> {
    let row = ceremony::claim(
        conn,
        Kind::SecondFactor,
        handle,
        browser_hash,
        Some(user_id),
        now,
    )?;
    let state: PasskeyAuthentication = from_json(&row.state)?;
    let result = rp
        .webauthn
        .finish_passkey_authentication(answer, &state)
        .map_err(rejected)?;
    let stored = store::find_by_credential_id(conn, &credential_id(result.cred_id().as_ref()))?
        .filter(|r| r.user_id == user_id)
        .ok_or(PasskeyError::UnknownPasskey)?;
    let mut passkey: Passkey = from_json(&stored.credential)?;
    let user = account(conn, user_id, false)?;
    record_use(conn, &stored, &mut passkey, &result, now)?;
    audit::record(
        conn,
        Event {
            kind: PASSKEY_SECOND_FACTOR,
            success: true,
            user_id: Some(user_id),
            meta: Some(meta),
            detail: Some(json!({ "passkey_id": stored.id })),
            ..Event::default()
        },
        now,
    )?;
    Ok(Verified {
        user,
        passkey_id: stored.id,
    })
}

/// The account behind a passkey, if it may sign in. A password lockout does not stop a
/// passkey: it guards against password guessing, and a passkey can't be guessed.
fn account(
    conn: &mut DbConnection,
    user_id: &str,
    require_verified_email: bool,
) -> Result<User, PasskeyError> {
    let row = users::find(conn, user_id)?.ok_or(PasskeyError::UnknownPasskey)?;
    if row.disabled {
        return Err(PasskeyError::Disabled);
    }
    if require_verified_email && !row.email_verified {
        return Err(PasskeyError::Unverified);
    }
    Ok(User::from(&row))
}

/// Stores the use: the time, and the credential when the authenticator's counter or backup
/// state moved.
fn record_use(
    conn: &mut DbConnection,
    stored: &PasskeyRow,
    passkey: &mut Passkey,
    result: &AuthenticationResult,
    now: i64,
) -> Result<(), PasskeyError> {
    let changed = passkey.update_credential(result) == Some(true);
    let credential = if changed {
        Some(to_json(passkey)?)
    } else {
        None
    };
    store::record_use(conn, &stored.id, credential.as_deref(), now)?;
    Ok(())
}
