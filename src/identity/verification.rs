//! Email verification. `email_verified` becomes true only when a link sent to the address is
//! followed, when an upstream provider vouched for the address (`federation::accounts`), when a
//! password-reset link to it was used (`identity::reset`), or when an operator says so
//! (`user create --email-verified`). A link holds only for the address it was sent to, so an
//! account whose address changed needs a new one. With `users.require_verified_email`, password
//! sign-ins wait for it (`identity::login`).
use serde_json::json;

use super::audit::{self, Event};
use super::email_tokens::{self, LinkError, LinkRequest, Purpose};
use super::users::User;
use super::RequestMeta;
use crate::config::Settings;
use crate::email::{messages, Mailer};
use crate::store::email_tokens as token_store;
use crate::store::users as user_store;
use crate::store::{write_transaction, Db, DbConnection};

/// Sends a verification link to a user who just signed up. Never fails the sign-up: a problem
/// is logged, and the user can ask for a new link. (No sending budget: sign-ups have theirs.)
pub async fn send_after_sign_up(
    db: &Db,
    mailer: &Mailer,
    issuer: &str,
    user: &User,
    meta: &RequestMeta,
    now: i64,
) {
    if !mailer.enabled() || user.email_verified {
        return;
    }
    let (user_id, email, meta) = (user.id.clone(), user.email.clone(), meta.clone());
    let issued = db
        .run(move |c| {
            write_transaction(c, |c| {
                let token = email_tokens::issue(c, Purpose::VerifyEmail, &user_id, &email, now)?;
                audit::record(c, sent_event(&user_id, &meta), now)?;
                Ok::<_, anyhow::Error>(token)
            })
        })
        .await;
    match issued {
        Ok(token) => deliver(mailer, issuer, &user.email, user.name.as_deref(), &token),
        Err(e) => {
            tracing::error!(error = %crate::telemetry::capped(format_args!("{e:#}")), "no verification link for a new account")
        }
    }
}

/// A new link for an account that is not verified yet, asked for by address: the same answer
/// whatever the address (see `email_tokens::request`).
pub async fn resend(
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
                    purpose: Purpose::VerifyEmail,
                    audit_kind: audit::EMAIL_VERIFICATION_SENT,
                    email: &email_typed,
                    meta: &meta,
                };
                email_tokens::request(c, &policy, req, refusal, now)
            })
        })
        .await?;
    if let Some((row, token)) = decided {
        deliver(
            mailer,
            &settings.issuer,
            &row.email,
            row.name.as_deref(),
            &token,
        );
    }
    Ok(())
}

fn refusal(row: &crate::store::users::UserRow) -> Option<&'static str> {
    if row.disabled {
        Some("disabled")
    } else if row.email_verified {
        Some("already_verified")
    } else {
        None
    }
}

/// Follows a verification link: the account's address is verified (once; the user's other
/// links are void). `InvalidToken` for an unknown, used or expired link, or one sent to an
/// address the account no longer has.
pub async fn verify(db: &Db, token: &str, meta: &RequestMeta, now: i64) -> Result<User, LinkError> {
    let (token, meta) = (token.to_string(), meta.clone());
    // The refusal is committed with its audit event (and the link stays used).
    db.run(move |c| write_transaction(c, |c| verify_in(c, &token, &meta, now)))
        .await?
}

fn verify_in(
    c: &mut DbConnection,
    token: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<Result<User, LinkError>, LinkError> {
    let redeemed = email_tokens::redeem(c, Purpose::VerifyEmail, token, now)?;
    let user = match &redeemed {
        Some(link) => {
            user_store::find(c, &link.user_id)?.filter(|u| !u.disabled && u.email == link.email)
        }
        None => None,
    };
    let Some(mut user) = user else {
        audit::record(
            c,
            Event {
                kind: audit::EMAIL_VERIFIED,
                success: false,
                user_id: redeemed.as_ref().map(|l| l.user_id.as_str()),
                meta: Some(meta),
                detail: Some(json!({ "reason": "invalid_token" })),
                ..Event::default()
            },
            now,
        )?;
        return Ok(Err(LinkError::InvalidToken));
    };
    user_store::set_email_verified(c, &user.id, now)?;
    token_store::retire(c, &user.id, Purpose::VerifyEmail.as_str(), now)?;
    audit::record(
        c,
        Event {
            kind: audit::EMAIL_VERIFIED,
            success: true,
            user_id: Some(&user.id),
            meta: Some(meta),
            detail: Some(json!({ "via": "link" })),
            ..Event::default()
        },
        now,
    )?;
    user.email_verified = true;
    Ok(Ok(User::from(&user)))
}

fn sent_event<'a>(user_id: &'a str, meta: &'a RequestMeta) -> Event<'a> {
    Event {
        kind: audit::EMAIL_VERIFICATION_SENT,
        success: true,
        user_id: Some(user_id),
        meta: Some(meta),
        detail: Some(json!({ "after": "sign_up" })),
        ..Event::default()
    }
}

/// Renders and queues the link (a full queue drops it: logged and counted by the mailer).
pub(crate) fn deliver(mailer: &Mailer, issuer: &str, to: &str, name: Option<&str>, token: &str) {
    match messages::verify_email(issuer, to, name, token, Purpose::VerifyEmail.ttl_secs()) {
        Ok(mail) => {
            mailer.send(mail);
        }
        Err(e) => tracing::error!(error = %e, "rendering a verification mail failed"),
    }
}
