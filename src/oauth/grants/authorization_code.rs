//! RFC 6749 §4.1.3: exchanging an authorization code, with the PKCE check (RFC 7636 §4.6).
//! A code is redeemed once; presenting it again revokes what it issued (RFC 6749 §4.1.2).
use serde_json::json;

use super::super::token::{Issued, TokenContext};
use super::super::{pkce, resource, Client, ErrorCode, OAuthError, Params};
use super::user::{self, SessionGrant};
use crate::identity::audit::{self, Event};
use crate::identity::users::User;
use crate::identity::RequestMeta;
use crate::store::authorize::{self as store, CodeRow};
use crate::store::sessions as session_store;
use crate::store::{api_keys, users, write_transaction, DbConnection};
use crate::tokens::secret;

fn invalid(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

pub fn grant(
    conn: &mut DbConnection,
    ctx: &TokenContext,
    client: &Client,
    params: &Params,
    meta: &RequestMeta,
    now: i64,
) -> Result<Issued, OAuthError> {
    let code = params.require("code")?;
    // Syntax and the client's allowance first; against the code's resources below.
    resource::requested(params.all("resource"), client, ctx.shared_resources)?;
    let hash = secret::hash_secret(code);
    // Ok(Err(..)): a refusal whose side effects (a replay's revocations) must be committed.
    write_transaction(conn, |c| {
        let Some(row) = store::find_code(c, &hash)? else {
            return Ok(Err(invalid("unknown authorization code")));
        };
        if row.client_id != client.id {
            return Ok(Err(invalid("the code was issued to another client")));
        }
        if let Err(why) = check_binding(&row, params) {
            return Ok(Err(invalid(why)));
        }
        // RFC 8707 §2.2: the token may be for fewer of the resources the code was granted,
        // never more. Checked before the code is used, so the client may ask again.
        let bound = resource::from_stored(&row.resources);
        let audiences = match resource::audiences(
            params.all("resource"),
            &bound,
            client,
            ctx.shared_resources,
            ctx.default_audience,
        ) {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        if !store::claim_code(c, &hash, now)? {
            // Re-read: a concurrent exchange may have won since the first read.
            let row = store::find_code(c, &hash)?.unwrap_or(row);
            if row.used_at.is_some() {
                revoke_issued(c, &row, meta, now)?;
                return Ok(Err(invalid(
                    "the authorization code was already used; the tokens it issued are revoked",
                )));
            }
            return Ok(Err(invalid("the authorization code has expired")));
        }
        let session = match session_store::find_session(c, &row.session_id)? {
            Some(s) if s.ended_at.is_none() && s.expires_at > now => s,
            _ => return Ok(Err(invalid("the sign-in behind this code has ended"))),
        };
        let user = match users::find(c, &row.user_id)? {
            Some(u) if !u.disabled => User::from(&u),
            _ => return Ok(Err(invalid("the account is disabled"))),
        };
        let issued = user::issue_for_session(
            c,
            ctx,
            SessionGrant {
                client,
                user: &user,
                session: &session,
                auth_time: row.auth_time,
                scope: &row.scope,
                audiences,
                resources: &bound,
                nonce: row.nonce.as_deref(),
                grant: "authorization_code",
                meta,
            },
            now,
        )?;
        store::record_issued(
            c,
            &hash,
            &issued.access.jti,
            issued.access.exp,
            issued
                .refresh_token
                .as_deref()
                .map(secret::hash_secret)
                .as_deref(),
        )?;
        Ok::<_, anyhow::Error>(Ok(issued))
    })?
}

/// The code's bindings: the redirect URI (when the request had one, RFC 6749 §4.1.3) and the
/// PKCE verifier. A verifier without a challenge is refused too (no PKCE downgrade).
fn check_binding(row: &CodeRow, params: &Params) -> Result<(), &'static str> {
    match params.get("redirect_uri") {
        Some(uri) if uri != row.redirect_uri => {
            return Err("redirect_uri differs from the authorization request's")
        }
        None if row.redirect_uri_given => {
            return Err("redirect_uri is required: the authorization request had one")
        }
        _ => {}
    }
    match (&row.code_challenge, params.get("code_verifier")) {
        (Some(_), None) => Err("code_verifier is required (PKCE)"),
        (Some(challenge), Some(verifier)) if !pkce::verify(verifier, challenge) => {
            Err("code_verifier does not match the code_challenge")
        }
        (None, Some(_)) => Err("code_verifier was sent, but the request had no code_challenge"),
        _ => Ok(()),
    }
}

/// A replayed code: the access token it issued is denied until it expires and its refresh
/// token family is revoked.
fn revoke_issued(
    c: &mut DbConnection,
    row: &CodeRow,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<()> {
    if let (Some(jti), Some(exp)) = (&row.access_jti, row.access_expires_at) {
        api_keys::revoke_jti(c, jti, exp, now)?;
    }
    let mut families = 0;
    if let Some(hash) = &row.refresh_token_hash {
        if let Some(token) = session_store::find_refresh_token(c, hash)? {
            families = session_store::revoke_family(c, &token.family_id, now)?;
        }
    }
    audit::record(
        c,
        Event {
            kind: audit::CODE_REPLAY,
            success: false,
            user_id: Some(&row.user_id),
            client_id: Some(&row.client_id),
            meta: Some(meta),
            detail: Some(json!({ "revoked_refresh_tokens": families })),
        },
        now,
    )?;
    Ok(())
}
