//! Password reset by email: "forgot password" sends a single-use link (30 minutes) to the
//! account's address — the same answer whether or not the address has an account — and the
//! link sets a new password under the policy. A reset ends every session and refresh-token
//! family of the user, clears the brute-force budgets of the account (its owner proved control
//! of the address), verifies the address, and a mail tells the user their password changed.
use serde_json::json;

use super::audit::{self, Event};
use super::email_tokens::{self, LinkError, LinkRequest, Purpose};
use super::password::{self, Hasher};
use super::RequestMeta;
use crate::config::Settings;
use crate::email::{messages, Mailer};
use crate::store::email_tokens as token_store;
use crate::store::sessions as session_store;
use crate::store::users::{self as user_store, UserRow};
use crate::store::{write_transaction, Db, DbConnection};

/// "Forgot password": sends a reset link when the address has an account that may sign in.
/// `Ok` whatever the address (`Throttled` only for the source's budget).
pub async fn request(
    db: &Db,
    mailer: &Mailer,
    settings: &Settings,
    email: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<(), LinkError> {
    if !mailer.enabled() {
        return Err(LinkError::Disabled);
    }
    let (policy, email_typed, meta) = (settings.email.clone(), email.to_string(), meta.clone());
    let decided = db
        .run(move |c| {
            write_transaction(c, |c| {
                let req = LinkRequest {
                    purpose: Purpose::ResetPassword,
                    audit_kind: audit::PASSWORD_RESET_REQUESTED,
                    email: &email_typed,
                    meta: &meta,
                };
                email_tokens::request(c, &policy, req, |r| r.disabled.then_some("disabled"), now)
            })
        })
        .await?;
    if let Some((row, token)) = decided {
        let ttl = Purpose::ResetPassword.ttl_secs();
        match messages::password_reset(&settings.issuer, &row.email, &token, ttl) {
            Ok(mail) => {
                mailer.send(mail);
            }
            Err(e) => tracing::error!(error = %e, "rendering a reset mail failed"),
        }
    }
    Ok(())
}

/// The address a live reset link is for (to show the form); `InvalidToken` otherwise.
pub async fn check(db: &Db, token: &str, now: i64) -> Result<String, LinkError> {
    let token = token.to_string();
    db.run(move |c| {
        let Some(link) = email_tokens::peek(c, Purpose::ResetPassword, &token, now)? else {
            return Err(LinkError::InvalidToken);
        };
        match user_store::find(c, &link.user_id)? {
            Some(u) if usable(&u, &link.email) => Ok(u.email),
            _ => Err(LinkError::InvalidToken),
        }
    })
    .await
}

/// A link is usable while its account may sign in and still has the address it was sent to.
fn usable(user: &UserRow, sent_to: &str) -> bool {
    !user.disabled && user.email == sent_to
}

/// A completed reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub user_id: String,
    pub email: String,
    pub sessions_ended: usize,
}

/// Sets a new password with a reset link (once): the policy is checked and the password hashed
/// before the link is used up, so a weak password leaves the link working.
#[allow(clippy::too_many_arguments)]
pub async fn reset(
    db: &Db,
    hasher: &Hasher,
    mailer: &Mailer,
    settings: &Settings,
    token: &str,
    new_password: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<Done, LinkError> {
    let email = match check(db, token, now).await {
        Ok(email) => email,
        Err(LinkError::InvalidToken) => {
            let meta = meta.clone();
            db.run(move |c| refused(c, None, &meta, now)).await?;
            return Err(LinkError::InvalidToken);
        }
        Err(e) => return Err(e),
    };
    let violations = password::check_policy(&settings.password, new_password, &email);
    if !violations.is_empty() {
        return Err(LinkError::WeakPassword(violations));
    }
    let hash = hasher.hash(new_password.to_string()).await?;
    let (token, meta) = (token.to_string(), meta.clone());
    // A refusal is committed with its audit event.
    let done = db
        .run(move |c| write_transaction(c, |c| reset_in(c, &token, &hash, &meta, now)))
        .await??;
    match messages::password_changed(&settings.issuer, &done.email, now, true) {
        Ok(mail) => {
            mailer.send(mail);
        }
        Err(e) => tracing::error!(error = %e, "rendering a password-changed mail failed"),
    }
    Ok(done)
}

fn reset_in(
    c: &mut DbConnection,
    token: &str,
    hash: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<Result<Done, LinkError>, LinkError> {
    // The link is used up here: of two concurrent resets with one link, one wins.
    let Some(link) = email_tokens::redeem(c, Purpose::ResetPassword, token, now)? else {
        refused(c, None, meta, now)?;
        return Ok(Err(LinkError::InvalidToken));
    };
    let user = match user_store::find(c, &link.user_id)? {
        Some(u) if usable(&u, &link.email) => u,
        _ => {
            refused(c, Some(&link.user_id), meta, now)?;
            return Ok(Err(LinkError::InvalidToken));
        }
    };
    user_store::lock_row(c, &user.id)?;
    user_store::set_password_hash(c, &user.id, hash, now)?;
    let mut sessions_ended = 0;
    for s in session_store::active_sessions(c, &user.id, now)? {
        if session_store::end_session(c, &s.id, now)? {
            sessions_ended += 1;
        }
    }
    // Every family, whatever its session's state.
    session_store::revoke_user_refresh_tokens(c, &user.id, now)?;
    token_store::retire(c, &user.id, Purpose::ResetPassword.as_str(), now)?;
    // The owner proved control of the address: the lockout is lifted and the address verified.
    user_store::clear_failures(c, &user.id)?;
    super::guesses::unlock(c, &user.id, &user.email)?;
    let verified = user_store::set_email_verified(c, &user.id, now)?;
    audit::record(
        c,
        Event {
            kind: audit::PASSWORD_RESET,
            success: true,
            user_id: Some(&user.id),
            meta: Some(meta),
            detail: Some(json!({ "sessions_ended": sessions_ended, "email_verified": verified })),
            ..Event::default()
        },
        now,
    )?;
    Ok(Ok(Done {
        user_id: user.id,
        email: user.email,
        sessions_ended,
    }))
}

/// Audits a reset refused for its link.
fn refused(
    c: &mut DbConnection,
    user_id: Option<&str>,
    meta: &RequestMeta,
    now: i64,
) -> Result<(), LinkError> {
    audit::record(
        c,
        Event {
            kind: audit::PASSWORD_RESET,
            success: false,
            user_id,
            meta: Some(meta),
            detail: Some(json!({ "reason": "invalid_token" })),
            ..Event::default()
        },
        now,
    )?;
    Ok(())
}
