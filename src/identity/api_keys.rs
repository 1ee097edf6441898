//! API keys: `pc_<8-char prefix>_<secret>`, shown once, stored as prefix + SHA-256 of the
//! secret; scopes within the owner's permissions; optional expiry; rotation with an overlap.
use serde::Serialize;

use super::audit::{self, Event};
use super::roles::Roles;
use super::RequestMeta;
use crate::store::api_keys::{self, ApiKeyRow};
use crate::store::users::UserRow;
use crate::store::{users, write_transaction, DbConnection};
use crate::tokens::secret;

const PREFIX_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// What a caller asks for.
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such API key")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::store::DbError> for KeyError {
    fn from(e: crate::store::DbError) -> Self {
        KeyError::Internal(e.into())
    }
}

impl From<diesel::result::Error> for KeyError {
    fn from(e: diesel::result::Error) -> Self {
        KeyError::Internal(e.into())
    }
}

/// A key as listed (never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub retire_at: Option<i64>,
}

impl From<&ApiKeyRow> for KeyInfo {
    fn from(r: &ApiKeyRow) -> Self {
        KeyInfo {
            id: r.id.clone(),
            name: r.name.clone(),
            prefix: r.prefix.clone(),
            scopes: split(&r.scope),
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
            retire_at: r.retire_at,
        }
    }
}

/// A new key: its listing and, once, the key itself.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    #[serde(flatten)]
    pub info: KeyInfo,
    pub api_key: String,
}

fn split(scope: &str) -> Vec<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn random_prefix() -> anyhow::Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(PREFIX_ALPHABET[usize::from(*b) % PREFIX_ALPHABET.len()]))
        .collect())
}

/// The scope a client other than the built-in `account` client needs, beside `account`, to
/// create or rotate API keys for its user.
pub const MINT_SCOPE: &str = "api_keys";

/// Whether a token issued to `client_id` with `scope` may create or rotate API keys. A key
/// outlives the token and carries the user's permissions, so the `account` scope alone is not
/// enough: only the built-in first-party `account` client, or a client the operator registered
/// with the `api_keys` scope (and the user consented to it), may mint keys.
pub fn client_may_mint(client_id: &str, scope: Option<&str>) -> bool {
    client_id == crate::oauth::client::ACCOUNT_CLIENT_ID
        || scope.is_some_and(|s| s.split(' ').any(|s| s == MINT_SCOPE))
}

/// Splits `pc_<prefix>_<secret>`.
pub fn parse(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("pc_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 8 && !secret.is_empty()).then_some((prefix, secret))
}

/// Creates a key for `owner`; scopes must be within the owner's permissions (none asked: all).
pub fn create(
    conn: &mut DbConnection,
    roles: &Roles,
    owner: &UserRow,
    new: NewKey,
    created_by_client: Option<&str>,
    meta: Option<&RequestMeta>,
    now: i64,
) -> Result<Created, KeyError> {
    let name = new.name.trim().to_string();
    super::text::check_name("name", &name, 100).map_err(KeyError::Invalid)?;
    let permissions = roles.permissions(&owner.role);
    let scopes = if new.scopes.is_empty() {
        permissions.to_vec()
    } else {
        new.scopes
    };
    if let Some(bad) = scopes.iter().find(|s| !permissions.contains(s)) {
        return Err(KeyError::Invalid(format!(
            "scope {bad:?} is not among the owner's permissions ({})",
            permissions.join(" ")
        )));
    }
    let expires_at = match new.expires_in_days {
        None => None,
        Some(d) if (1..=3650).contains(&d) => Some(now + d * 86_400),
        Some(_) => {
            return Err(KeyError::Invalid(
                "expires_in_days must be between 1 and 3650".into(),
            ))
        }
    };
    let secret = secret::new_secret()?;
    let row = ApiKeyRow {
        id: secret::random_id()?,
        user_id: owner.id.clone(),
        name,
        prefix: random_prefix()?,
        secret_hash: secret::hash_secret(&secret),
        scope: scopes.join(" "),
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
        retire_at: None,
        created_by_client: created_by_client.map(str::to_string),
    };
    write_transaction(conn, |c| {
        api_keys::insert(c, &row)?;
        audit::record(
            c,
            Event {
                kind: audit::API_KEY_CREATED,
                success: true,
                user_id: Some(&owner.id),
                client_id: created_by_client,
                meta,
                detail: Some(serde_json::json!({ "key": row.id, "prefix": row.prefix })),
            },
            now,
        )
    })?;
    let api_key = format!("pc_{}_{secret}", row.prefix);
    Ok(Created {
        info: KeyInfo::from(&row),
        api_key,
    })
}

/// Replaces `id` (owned by `owner_id`) with a new key of the same name, scopes and expiry; the
/// old one keeps working for `overlap_secs`.
pub fn rotate(
    conn: &mut DbConnection,
    roles: &Roles,
    owner_id: &str,
    id: &str,
    overlap_secs: i64,
    meta: Option<&RequestMeta>,
    now: i64,
) -> Result<Created, KeyError> {
    write_transaction(conn, |c| {
        let old = match api_keys::find(c, id)? {
            Some(k) if k.user_id == owner_id && k.revoked_at.is_none() && k.retire_at.is_none() => {
                k
            }
            _ => return Err(KeyError::NotFound),
        };
        let owner = users::find(c, owner_id)?.ok_or(KeyError::NotFound)?;
        let remaining_days = old.expires_at.map(|e| ((e - now) / 86_400).max(1));
        let created = create(
            c,
            roles,
            &owner,
            NewKey {
                name: old.name.clone(),
                scopes: split(&old.scope),
                expires_in_days: remaining_days,
            },
            old.created_by_client.as_deref(),
            meta,
            now,
        )?;
        api_keys::retire_at(c, &old.id, now + overlap_secs)?;
        Ok(created)
    })
}

/// Revokes a key of `owner_id` (or any key when `None`: an operator, named by `actor` in the
/// audit event).
pub fn revoke(
    conn: &mut DbConnection,
    owner_id: Option<&str>,
    id: &str,
    meta: Option<&RequestMeta>,
    actor: Option<&str>,
    now: i64,
) -> Result<(), KeyError> {
    write_transaction(conn, |c| {
        let key = match api_keys::find(c, id)? {
            Some(k) if owner_id.is_none_or(|o| o == k.user_id) && k.revoked_at.is_none() => k,
            _ => return Err(KeyError::NotFound),
        };
        api_keys::revoke(c, &key.id, now)?;
        audit::record(
            c,
            Event {
                kind: audit::API_KEY_REVOKED,
                success: true,
                user_id: Some(&key.user_id),
                meta,
                detail: Some(match actor {
                    Some(actor) => serde_json::json!({ "key": key.id, "actor": actor }),
                    None => serde_json::json!({ "key": key.id }),
                }),
                ..Event::default()
            },
            now,
        )?;
        Ok(())
    })
}

/// A live key, its owner and its effective scopes (its own ∩ the owner's permissions now), or
/// `None` (unknown, wrong secret, revoked, retired, expired, or its owner disabled or gone).
/// Records the use (at most once a minute).
pub fn check(
    conn: &mut DbConnection,
    roles: &Roles,
    presented: &str,
    now: i64,
) -> anyhow::Result<Option<(ApiKeyRow, UserRow, Vec<String>)>> {
    let Some((prefix, secret_part)) = parse(presented) else {
        return Ok(None);
    };
    let Some(key) = api_keys::find_by_prefix(conn, prefix)? else {
        // Same work as a known prefix.
        let _ = secret::verify_secret(secret_part, "");
        return Ok(None);
    };
    let live = secret::verify_secret(secret_part, &key.secret_hash)
        && key.revoked_at.is_none()
        && key.retire_at.is_none_or(|t| now < t)
        && key.expires_at.is_none_or(|t| now < t);
    if !live {
        return Ok(None);
    }
    let Some(owner) = users::find(conn, &key.user_id)?.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    api_keys::touch(conn, &key.id, now)?;
    let scopes = effective_scopes(&key, &owner, roles);
    Ok(Some((key, owner, scopes)))
}

/// An API key's effective scopes: its own, narrowed to what its owner's role allows now (a
/// downgraded owner's key narrows with them).
pub fn effective_scopes(key: &ApiKeyRow, owner: &UserRow, roles: &Roles) -> Vec<String> {
    let permissions = roles.permissions(&owner.role);
    key.scope
        .split(' ')
        .filter(|s| !s.is_empty() && permissions.iter().any(|p| p == s))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_format() {
        assert_eq!(
            super::parse("pc_abcd2345_se_cr-et"),
            Some(("abcd2345", "se_cr-et"))
        );
        assert_eq!(super::parse("pc_short_x"), None);
        assert_eq!(super::parse("xx_abcd2345_x"), None);
        assert_eq!(super::parse("pc_abcd2345_"), None);
        let p = super::random_prefix().unwrap();
        assert_eq!(p.len(), 8);
        assert!(p
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn only_the_account_client_or_the_api_keys_scope_mints() {
        use super::client_may_mint;
        assert!(client_may_mint("account", Some("account")));
        assert!(client_may_mint("app", Some("openid account api_keys")));
        assert!(!client_may_mint("app", Some("openid account")));
        assert!(!client_may_mint("app", Some("api_keys_extra")));
        assert!(!client_may_mint("app", None));
    }
}
