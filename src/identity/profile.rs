//! A signed-in user's own profile: the display name, and the email address. A new address is
//! stored unverified and gets a verification link (`identity::verification`); the old address's
//! links stop working (links are bound to the address they were sent to, and the unused ones
//! are retired), and the old address is told. The same rules as registration decide what an
//! address may be (`users::validate_email`) and whether it is free.
use serde_json::json;

use super::audit::{self, Event};
use super::email_tokens::{self, Purpose};
use super::users::{self, CreateError, User};
use super::{text, RequestMeta};
use crate::email::{messages, Mailer};
use crate::store::email_tokens as token_store;
use crate::store::users as user_store;
use crate::store::{write_transaction, Db, DbConnection};

/// The longest display name (as at registration).
const NAME_MAX: usize = 200;

/// Why a profile change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidEmail(String),
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Changing the address needs a mail server (the new one must be verified).
    #[error("this server sends no email, so the address can't be changed here")]
    MailDisabled,
    #[error("no such account")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for ProfileError {
    fn from(e: diesel::result::Error) -> Self {
        ProfileError::Internal(e.into())
    }
}

impl From<crate::store::DbError> for ProfileError {
    fn from(e: crate::store::DbError) -> Self {
        ProfileError::Internal(e.into())
    }
}

/// The stored form of a display name: trimmed, `None` when blank, else checked.
pub fn clean_name(raw: &str) -> Result<Option<String>, ProfileError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    text::check_name("name", name, NAME_MAX).map_err(ProfileError::InvalidName)?;
    Ok(Some(name.to_string()))
}

/// Sets (or, with a blank `raw`, clears) the user's display name; audited.
pub fn set_name(
    c: &mut DbConnection,
    user_id: &str,
    raw: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<User, ProfileError> {
    let name = clean_name(raw)?;
    write_transaction(c, |c| {
        if !user_store::set_name(c, user_id, name.as_deref(), now)? {
            return Err(ProfileError::NotFound);
        }
        audit::record(c, changed(user_id, meta, "name"), now)?;
        let row = user_store::find(c, user_id)?.ok_or(ProfileError::NotFound)?;
        Ok(User::from(&row))
    })
}

/// What changing the address did.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailChanged {
    pub user: User,
    /// False when the address typed is the one the account already has (nothing changed).
    pub changed: bool,
}

/// Changes the user's address: validated like a registration's, refused when another account
/// has it, stored unverified; the old address's unused verification links are retired and a
/// link is mailed to the new one. The caller has checked the current password when the
/// account has one (`login::check_password`).
pub async fn change_email(
    db: &Db,
    mailer: &Mailer,
    issuer: &str,
    user_id: &str,
    raw: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<EmailChanged, ProfileError> {
    let email = users::validate_email(raw).map_err(|e| match e {
        CreateError::InvalidEmail(why) => ProfileError::InvalidEmail(why),
        other => ProfileError::Internal(other.into()),
    })?;
    if !mailer.enabled() {
        return Err(ProfileError::MailDisabled);
    }
    let (user_id, meta_c) = (user_id.to_string(), meta.clone());
    let outcome = db
        .run(move |c| {
            write_transaction(c, |c| {
                let row = user_store::find(c, &user_id)?.ok_or(ProfileError::NotFound)?;
                if row.email == email {
                    return Ok((
                        EmailChanged {
                            user: User::from(&row),
                            changed: false,
                        },
                        None,
                    ));
                }
                let old = row.email;
                if !user_store::set_email(c, &user_id, &email, now)? {
                    return Err(ProfileError::EmailTaken);
                }
                token_store::retire(c, &user_id, Purpose::VerifyEmail.as_str(), now)?;
                let token = email_tokens::issue(c, Purpose::VerifyEmail, &user_id, &email, now)?;
                audit::record(
                    c,
                    Event {
                        kind: audit::EMAIL_CHANGED,
                        success: true,
                        user_id: Some(&user_id),
                        meta: Some(&meta_c),
                        detail: Some(json!({ "verification_sent": true })),
                        ..Event::default()
                    },
                    now,
                )?;
                let row = user_store::find(c, &user_id)?.ok_or(ProfileError::NotFound)?;
                Ok((
                    EmailChanged {
                        user: User::from(&row),
                        changed: true,
                    },
                    Some((token, old)),
                ))
            })
        })
        .await?;
    let (changed, sent) = outcome;
    if let Some((token, old)) = sent {
        let user = &changed.user;
        super::verification::deliver(mailer, issuer, &user.email, user.name.as_deref(), &token);
        // The old address hears of it: its owner's one warning if someone else did it.
        match messages::email_changed(issuer, &old, &user.email, now) {
            Ok(mail) => {
                mailer.send(mail);
            }
            Err(e) => tracing::error!(error = %e, "rendering an address-changed mail failed"),
        }
    }
    Ok(changed)
}

fn changed<'a>(user_id: &'a str, meta: &'a RequestMeta, field: &str) -> Event<'a> {
    Event {
        kind: audit::USER_CHANGED,
        success: true,
        user_id: Some(user_id),
        meta: Some(meta),
        detail: Some(json!({ "field": field })),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_blank_clears_and_bad_ones_are_refused() {
        assert_eq!(clean_name("  Ada  ").unwrap(), Some("Ada".to_string()));
        assert_eq!(clean_name("   ").unwrap(), None);
        assert!(matches!(
            clean_name(&"x".repeat(201)),
            Err(ProfileError::InvalidName(_))
        ));
        assert!(matches!(
            clean_name("a\u{202e}b"),
            Err(ProfileError::InvalidName(_))
        ));
    }
}
