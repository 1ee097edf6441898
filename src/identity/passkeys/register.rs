//! Registering a passkey for a signed-in user.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use webauthn_rs::prelude::{Passkey, PasskeyRegistration, RegisterPublicKeyCredential};

use super::super::audit::{self, Event};
use super::super::mfa;
use super::super::users::User;
use super::super::RequestMeta;
use super::ceremony::{self, Kind, Opening, Started};
use super::manage::PasskeyInfo;
use super::{check_name, from_json, to_json, PasskeyError, RelyingParty, PASSKEY_ADDED};
use crate::store::passkeys::{self as store, PasskeyRow};
use crate::store::sessions::{self, SessionRow};
use crate::store::{write_transaction, DbConnection};
use crate::tokens::secret;

/// The credential id as stored (base64url).
pub(super) fn credential_id(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Options to create a passkey named `name` for `user`, excluding the authenticators the user
/// already registered.
pub fn start_registration(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    user: &User,
    name: &str,
    browser_hash: &str,
    now: i64,
) -> Result<Started<serde_json::Value>, PasskeyError> {
    let name = check_name(name)?;
    let mut existing = Vec::new();
    for row in store::list(conn, &user.id)? {
        let passkey: Passkey = from_json(&row.credential)?;
        existing.push(passkey.cred_id().clone());
    }
    let display = user.name.as_deref().unwrap_or(&user.email);
    let (options, state) = rp
        .webauthn
        .start_passkey_registration(
            rp.user_handle(&user.id),
            &user.email,
            display,
            (!existing.is_empty()).then_some(existing),
        )
        .map_err(|e| PasskeyError::Internal(anyhow::anyhow!("starting a registration: {e}")))?;
    let options =
        require_resident_key(serde_json::to_value(&options).map_err(anyhow::Error::from)?);
    let ceremony = ceremony::open(
        conn,
        Opening {
            kind: Kind::Registration,
            user_id: Some(&user.id),
            name: Some(name),
            state: to_json(&state)?,
            browser_hash,
        },
        now,
    )?;
    Ok(Started { ceremony, options })
}

/// Checks the authenticator's answer to the ceremony `handle` of the session's user and stores
/// the new passkey (audited). The answer proved a second factor in this browser's sign-in (user
/// verification on the authenticator), so the session's methods gain `hwk` (and `mfa`), as
/// confirming an authenticator app adds `otp`: operations that need a recent second factor
/// don't send the user to sign in again.
#[allow(clippy::too_many_arguments)]
pub fn finish_registration(
    conn: &mut DbConnection,
    rp: &RelyingParty,
    session: &SessionRow,
    handle: &str,
    browser_hash: &str,
    answer: &RegisterPublicKeyCredential,
    meta: &RequestMeta,
    now: i64,
) -> Result<PasskeyInfo, PasskeyError> {
    let user_id = session.user_id.as_str();
    // Spent whatever follows: a challenge gets one answer.
    let row = ceremony::claim(
        conn,
        Kind::Registration,
        handle,
        browser_hash,
        Some(user_id),
        now,
    )?;
    let state: PasskeyRegistration = from_json(&row.state)?;
    let passkey = rp
        .webauthn
        .finish_passkey_registration(answer, &state)
        .map_err(|e| {
            tracing::debug!(error = %e, "passkey registration refused");
            PasskeyError::Rejected
        })?;
    let new = PasskeyRow {
        id: secret::random_id()?,
        user_id: user_id.to_string(),
        credential_id: credential_id(passkey.cred_id().as_ref()),
        name: row.name.clone().unwrap_or_else(|| "Passkey".into()),
        credential: to_json(&passkey)?,
        created_at: now,
        last_used_at: None,
    };
    write_transaction(conn, |c| {
        if store::find_by_credential_id(c, &new.credential_id)?.is_some()
            || !store::insert(c, &new)?
        {
            return Err(PasskeyError::AlreadyRegistered);
        }
        sessions::set_amr(c, &session.id, &mfa::with_second(&session.amr, mfa::HWK))?;
        audit::record(
            c,
            Event {
                kind: PASSKEY_ADDED,
                success: true,
                user_id: Some(user_id),
                meta: Some(meta),
                detail: Some(json!({ "passkey_id": new.id, "name": new.name })),
                ..Event::default()
            },
            now,
        )?;
        Ok(PasskeyInfo::from(&new))
    })
}

/// webauthn-rs asks for a discouraged resident key (so that security keys with little storage
/// still register as plain second factors). Our passkeys are also for signing in without an
/// email, which needs a discoverable credential: the options we send ask for one. The state does
/// not depend on it (webauthn-rs ignores `require_resident_key` when it verifies), and user
/// verification stays `required`. (webauthn-rs does not export the options' selection type, so
/// this edits the JSON the browser gets.)
fn require_resident_key(mut options: serde_json::Value) -> serde_json::Value {
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(|s| s.as_object_mut())
    {
        selection.insert("residentKey".into(), "required".into());
        selection.insert("requireResidentKey".into(), true.into());
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_ask_for_a_resident_key() {
        let rp = RelyingParty::for_issuer("https://id.example.com", "k")
            .unwrap()
            .unwrap();
        let (options, _) = rp
            .webauthn
            .start_passkey_registration(rp.user_handle("u1"), "ada@example.com", "Ada", None)
            .unwrap();
        let options = require_resident_key(serde_json::to_value(&options).unwrap());
        let selection = &options["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["requireResidentKey"], true);
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(options["publicKey"]["rp"]["id"], "id.example.com");
    }
}
