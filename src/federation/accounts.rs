//! Which account an upstream identity signs in to. A known identity signs in to its account. An
//! unknown one with a verified email nobody has gets a new account. An unknown one whose email
//! belongs to an existing account is never linked silently: the person must confirm with that
//! account's password. An unverified email never creates or claims an account.
use serde_json::json;

use super::UpstreamIdentity;
use crate::identity::audit::{self, Event};
use crate::identity::users::{self, CreateError, Record, User};
use crate::identity::RequestMeta;
use crate::store::federation::{self as store, IdentityRow, LinkRow};
use crate::store::{users as user_store, write_transaction, DbConnection};
use crate::tokens::secret;

/// A pending link waits this long for the password.
const LINK_TTL_SECS: i64 = 600;

#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    SignIn(User),
    /// An account has this email: confirm with its password (token in clear, once).
    ConfirmLink {
        token: String,
    },
    /// Sign-in refused; the message is for the person.
    Refused(String),
}

/// Where the browser came from, for pending links.
pub struct Origin<'a> {
    pub browser_hash: &'a str,
    pub request_id: Option<&'a str>,
}

pub fn resolve(
    conn: &mut DbConnection,
    id: &UpstreamIdentity,
    display_name: &str,
    origin: Origin,
    default_role: &str,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<Resolution> {
    write_transaction(conn, |c| {
        if let Some(link) = store::find_identity(c, &id.provider, &id.issuer, &id.subject)? {
            let user = match user_store::find(c, &link.user_id)? {
                Some(u) if !u.disabled => User::from(&u),
                _ => return Ok(Resolution::Refused("This account is disabled.".into())),
            };
            store::touch_identity(c, &link.id, now)?;
            record(c, audit::FEDERATED_LOGIN, &user.id, id, meta, now)?;
            return Ok(Resolution::SignIn(user));
        }
        let Some(email) = id.email.as_ref().filter(|_| id.email_verified) else {
            return Ok(Resolution::Refused(format!(
                "{display_name} did not confirm an email address for this account, so it can't \
                 be used to sign in here. Verify your email with {display_name}, or sign in with \
                 a password."
            )));
        };
        if let Some(existing) = user_store::find_by_email(c, email)? {
            let token = secret::new_secret()?;
            store::insert_link(
                c,
                &LinkRow {
                    token_hash: secret::hash_secret(&token),
                    browser_hash: origin.browser_hash.to_string(),
                    user_id: existing.id,
                    provider: id.provider.clone(),
                    issuer: id.issuer.clone(),
                    subject: id.subject.clone(),
                    email: email.clone(),
                    request_id: origin.request_id.map(str::to_string),
                    created_at: now,
                    expires_at: now + LINK_TTL_SECS,
                },
                now,
            )?;
            return Ok(Resolution::ConfirmLink { token });
        }
        let user = match users::insert(
            c,
            Record {
                email: email.clone(),
                name: id.name.clone(),
                role: default_role.to_string(),
                password_hash: None,
                email_verified: true,
            },
            Some(meta),
            None,
            now,
        ) {
            Ok(u) => u,
            // A concurrent first sign-in of the same identity created the account: use it.
            Err(CreateError::EmailTaken) => {
                let linked = store::find_identity(c, &id.provider, &id.issuer, &id.subject)?;
                let user = match linked {
                    Some(l) => user_store::find(c, &l.user_id)?.filter(|u| !u.disabled),
                    None => None,
                };
                return Ok(match user {
                    Some(u) => Resolution::SignIn(User::from(&u)),
                    None => Resolution::Refused(
                        "Another sign-in created this account at the same moment. Please \
                             try again."
                            .into(),
                    ),
                });
            }
            Err(e) => return Err(anyhow::anyhow!("creating a federated user: {e}")),
        };
        link(c, &user.id, id, email, meta, now)?;
        record(c, audit::FEDERATED_LOGIN, &user.id, id, meta, now)?;
        Ok(Resolution::SignIn(user))
    })
}

/// After the account's password was confirmed: links the identity from the pending link.
/// `None` when the pending link is gone, expired, for another browser or another account.
pub fn complete_link(
    conn: &mut DbConnection,
    token_hash: &str,
    browser_hash: &str,
    user_id: &str,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<Option<LinkRow>> {
    write_transaction(conn, |c| {
        let hash = token_hash.to_string();
        let Some(row) = store::find_link(c, &hash)? else {
            return Ok(None);
        };
        if row.expires_at <= now || row.browser_hash != browser_hash || row.user_id != user_id {
            return Ok(None);
        }
        if !store::delete_link(c, &hash)? {
            return Ok(None);
        }
        let identity = UpstreamIdentity {
            provider: row.provider.clone(),
            issuer: row.issuer.clone(),
            subject: row.subject.clone(),
            email: Some(row.email.clone()),
            email_verified: true,
            name: None,
        };
        if !link(c, user_id, &identity, &row.email, meta, now)? {
            return Ok(None);
        }
        // The provider vouched for the address the account has: it is verified now.
        let same_address = user_store::find(c, user_id)?
            .is_some_and(|u| u.email_lower == row.email.to_lowercase());
        if same_address && user_store::set_email_verified(c, user_id, now)? {
            audit::record(
                c,
                Event {
                    kind: audit::EMAIL_VERIFIED,
                    success: true,
                    user_id: Some(user_id),
                    meta: Some(meta),
                    detail: Some(json!({ "via": identity.provider })),
                    ..Event::default()
                },
                now,
            )?;
        }
        record(c, audit::FEDERATED_LOGIN, user_id, &identity, meta, now)?;
        Ok(Some(row))
    })
}

/// The pending link behind a token's hash, if it is live and this browser's.
pub fn pending_link(
    conn: &mut DbConnection,
    token_hash: &str,
    browser_hash: &str,
    now: i64,
) -> anyhow::Result<Option<LinkRow>> {
    Ok(store::find_link(conn, token_hash)?
        .filter(|r| r.expires_at > now && r.browser_hash == browser_hash))
}

/// Whether `id` is already linked to `user_id` (it can then confirm a new link).
pub fn is_linked_to(
    conn: &mut DbConnection,
    id: &UpstreamIdentity,
    user_id: &str,
) -> anyhow::Result<bool> {
    Ok(
        store::find_identity(conn, &id.provider, &id.issuer, &id.subject)?
            .is_some_and(|l| l.user_id == user_id),
    )
}

/// The providers linked to `user_id`.
pub fn linked_providers(conn: &mut DbConnection, user_id: &str) -> anyhow::Result<Vec<String>> {
    Ok(store::user_identities(conn, user_id)?
        .into_iter()
        .map(|r| r.provider)
        .collect())
}

fn link(
    c: &mut DbConnection,
    user_id: &str,
    id: &UpstreamIdentity,
    email: &str,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<bool> {
    let inserted = store::insert_identity(
        c,
        &IdentityRow {
            id: secret::random_id()?,
            provider: id.provider.clone(),
            issuer: id.issuer.clone(),
            subject: id.subject.clone(),
            user_id: user_id.to_string(),
            email: Some(email.to_string()),
            created_at: now,
            last_used_at: Some(now),
        },
    )?;
    if inserted {
        record(c, audit::IDENTITY_LINKED, user_id, id, meta, now)?;
    }
    Ok(inserted)
}

fn record(
    c: &mut DbConnection,
    kind: &'static str,
    user_id: &str,
    id: &UpstreamIdentity,
    meta: &RequestMeta,
    now: i64,
) -> diesel::QueryResult<()> {
    audit::record(
        c,
        Event {
            kind,
            success: true,
            user_id: Some(user_id),
            client_id: None,
            meta: Some(meta),
            detail: Some(json!({ "provider": id.provider })),
        },
        now,
    )
}

/// What unlinking an identity did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    Done,
    NotFound,
    /// It is the account's only way to sign in (no password, no other provider): refused.
    LastMethod,
}

/// Unlinks one of `user_id`'s upstream identities, unless that would leave the account with
/// no way to sign in; audited.
pub fn unlink(
    conn: &mut DbConnection,
    user_id: &str,
    identity_id: &str,
    client_id: &str,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<Unlinked> {
    write_transaction(conn, |c| {
        // Two concurrent unlinks must not both see the other identity left.
        user_store::lock_row(c, user_id)?;
        let linked = store::user_identities(c, user_id)?;
        let Some(target) = linked.iter().find(|r| r.id == identity_id) else {
            return Ok(Unlinked::NotFound);
        };
        let has_password = user_store::find(c, user_id)?.is_some_and(|u| u.password_hash.is_some());
        if !has_password && linked.len() == 1 {
            return Ok(Unlinked::LastMethod);
        }
        store::delete_identity(c, &target.id, user_id)?;
        audit::record(
            c,
            Event {
                kind: audit::IDENTITY_UNLINKED,
                success: true,
                user_id: Some(user_id),
                client_id: Some(client_id),
                meta: Some(meta),
                detail: Some(json!({ "provider": target.provider })),
            },
            now,
        )?;
        Ok(Unlinked::Done)
    })
}
