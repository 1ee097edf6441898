//! The operator's use cases on roles and on the consent descriptions of scopes: create, change,
//! delete. Each takes plain values and `now`, owns its transaction and writes its audit event
//! (`role_created`, `role_changed`, `role_deleted`, `scope_described`) inside it, naming the
//! actor; the `*_in` functions do the same inside a transaction the caller holds
//! (`declarative` reconciles many in one). A role users still have, or `users.default_role`,
//! is never deleted. A server that changes roles through these calls `RoleBook::reload`
//! afterwards; other instances see the change within `role_book::RELOAD_EVERY`.
use std::collections::BTreeMap;

use serde_json::json;

use super::admin_users::Actor;
use super::audit;
use super::roles::{Role, ADMIN_SCOPE, MAX_DESCRIPTION};
use crate::i18n::Lang;
use crate::store::{self, roles as role_store, DbConnection};

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("no such role {0:?}")]
    NoSuchRole(String),
    #[error("role {0:?} already exists")]
    Exists(String),
    #[error("{0}")]
    Invalid(String),
    #[error("role {role:?} is still the role of {users} user(s): give them another role first")]
    InUse { role: String, users: i64 },
    #[error("role {0:?} is users.default_role (the role of new users): it can't be deleted")]
    DefaultRole(String),
    #[error(
        "role {0:?} is your own role: without {ADMIN_SCOPE} you would lock yourself out of \
         administration"
    )]
    SelfLockout(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for RoleError {
    fn from(e: diesel::result::Error) -> Self {
        RoleError::Internal(e.into())
    }
}

impl From<store::DbError> for RoleError {
    fn from(e: store::DbError) -> Self {
        RoleError::Internal(e.into())
    }
}

pub fn create(
    conn: &mut DbConnection,
    role: &Role,
    actor: Actor,
    now: i64,
) -> Result<(), RoleError> {
    store::write_transaction(conn, |c| create_in(c, role, actor, now))
}

pub fn create_in(
    conn: &mut DbConnection,
    role: &Role,
    actor: Actor,
    now: i64,
) -> Result<(), RoleError> {
    role.check().map_err(RoleError::Invalid)?;
    if role_store::find(conn, &role.name)?.is_some() {
        return Err(RoleError::Exists(role.name.clone()));
    }
    role_store::insert(conn, &role.to_row(now, now))?;
    let detail = json!({
        "role": role.name,
        "permissions": role.permissions,
        "require_mfa": role.require_mfa,
    });
    record(conn, audit::ROLE_CREATED, actor, detail, now)
}

/// Replaces the role `role.name`; returns it as it was.
pub fn update(
    conn: &mut DbConnection,
    role: &Role,
    actor: Actor,
    now: i64,
) -> Result<Role, RoleError> {
    store::write_transaction(conn, |c| update_in(c, role, actor, now))
}

pub fn update_in(
    conn: &mut DbConnection,
    role: &Role,
    actor: Actor,
    now: i64,
) -> Result<Role, RoleError> {
    role.check().map_err(RoleError::Invalid)?;
    let before = role_store::find(conn, &role.name)?
        .ok_or_else(|| RoleError::NoSuchRole(role.name.clone()))
        .and_then(|row| Role::from_row(row).map_err(RoleError::Internal))?;
    let mut changed = Vec::new();
    if before.permissions != role.permissions {
        changed.push("permissions");
    }
    if before.require_mfa != role.require_mfa {
        changed.push("require_mfa");
    }
    if before.description != role.description {
        changed.push("description");
    }
    if changed.is_empty() {
        return Ok(before);
    }
    role_store::update(conn, &role.to_row(now, now))?;
    let detail = json!({
        "role": role.name,
        "changed": changed,
        "permissions": role.permissions,
        "require_mfa": role.require_mfa,
    });
    record(conn, audit::ROLE_CHANGED, actor, detail, now)?;
    Ok(before)
}

/// What [`put`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    Created,
    /// Replaced; the role as it was.
    Replaced(Role),
}

/// Refuses a change by which an administrator would lock themselves out: their own role
/// (`caller_role`, `None` when the caller is not a user) losing [`ADMIN_SCOPE`].
pub fn check_self_lockout(caller_role: Option<&str>, role: &Role) -> Result<(), RoleError> {
    if caller_role == Some(role.name.as_str()) && !role.permissions.iter().any(|p| p == ADMIN_SCOPE)
    {
        return Err(RoleError::SelfLockout(role.name.clone()));
    }
    Ok(())
}

/// Creates `role`, or replaces the role of that name, in one transaction; refused when it
/// would take [`ADMIN_SCOPE`] from the caller's own role (see [`check_self_lockout`]).
pub fn put(
    conn: &mut DbConnection,
    role: &Role,
    caller_role: Option<&str>,
    actor: Actor,
    now: i64,
) -> Result<Put, RoleError> {
    role.check().map_err(RoleError::Invalid)?;
    check_self_lockout(caller_role, role)?;
    store::write_transaction(conn, |c| {
        if role_store::find(c, &role.name)?.is_none() {
            create_in(c, role, actor, now)?;
            return Ok(Put::Created);
        }
        update_in(c, role, actor, now).map(Put::Replaced)
    })
}

/// Deletes a role no user has and that is not `default_role`.
pub fn delete(
    conn: &mut DbConnection,
    name: &str,
    default_role: &str,
    actor: Actor,
    now: i64,
) -> Result<(), RoleError> {
    store::write_transaction(conn, |c| delete_in(c, name, default_role, actor, now))
}

pub fn delete_in(
    conn: &mut DbConnection,
    name: &str,
    default_role: &str,
    actor: Actor,
    now: i64,
) -> Result<(), RoleError> {
    if name == default_role {
        return Err(RoleError::DefaultRole(name.to_string()));
    }
    let users = role_store::users_with(conn, name)?;
    if users > 0 {
        return Err(RoleError::InUse {
            role: name.to_string(),
            users,
        });
    }
    if !role_store::delete(conn, name)? {
        return Err(RoleError::NoSuchRole(name.to_string()));
    }
    record(
        conn,
        audit::ROLE_DELETED,
        actor,
        json!({ "role": name }),
        now,
    )
}

/// The consent descriptions of one scope, checked: by language code, every language one the
/// server speaks, every text one line of 1 to [`MAX_DESCRIPTION`] characters without control
/// characters. Every problem.
pub fn check_scope_texts(
    texts: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut problems = Vec::new();
    for (lang, text) in texts {
        if Lang::from_tag(lang).map(|l| l.code()) != Some(lang.as_str()) {
            let known: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
            problems.push(format!(
                "descriptions: unknown language {lang:?} (known: {})",
                known.join(", ")
            ));
        } else if text.trim().is_empty()
            || text.chars().count() > MAX_DESCRIPTION
            || text.chars().any(char::is_control)
        {
            problems.push(format!(
                "descriptions.{lang}: one line of 1 to {MAX_DESCRIPTION} characters"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(texts.iter().map(|(l, t)| (l.clone(), t.clone())).collect())
}

/// Sets the consent descriptions of `scope` (by language; none: the catalogs describe it) in
/// one transaction, after [`check_scope_texts`].
pub fn describe_scope(
    conn: &mut DbConnection,
    scope: &str,
    texts: &BTreeMap<String, String>,
    actor: Actor,
    now: i64,
) -> Result<(), RoleError> {
    let texts = check_scope_texts(texts).map_err(|p| RoleError::Invalid(p.join("; ")))?;
    store::write_transaction(conn, |c| describe_scope_in(c, scope, &texts, actor, now))
}

/// Every stored consent description, by scope then language.
pub fn scope_texts(
    conn: &mut DbConnection,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, RoleError> {
    let mut scopes: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for row in role_store::scope_texts(conn)? {
        scopes
            .entry(row.scope)
            .or_default()
            .insert(row.lang, row.text);
    }
    Ok(scopes)
}

/// Sets the consent descriptions of `scope` (`(lang, text)`; none: the catalogs describe it),
/// inside the caller's transaction.
pub fn describe_scope_in(
    conn: &mut DbConnection,
    scope: &str,
    texts: &[(String, String)],
    actor: Actor,
    now: i64,
) -> Result<(), RoleError> {
    if !crate::oauth::scope::is_valid_token(scope) {
        return Err(RoleError::Invalid(format!("{scope:?} is not a scope name")));
    }
    role_store::set_scope_texts(conn, scope, texts, now)?;
    let langs: Vec<&str> = texts.iter().map(|(l, _)| l.as_str()).collect();
    let detail = json!({ "scope": scope, "languages": langs });
    record(conn, audit::SCOPE_DESCRIBED, actor, detail, now)
}

fn record(
    conn: &mut DbConnection,
    kind: &str,
    actor: Actor,
    detail: serde_json::Value,
    now: i64,
) -> Result<(), RoleError> {
    Ok(actor.record(conn, kind, None, detail, now)?)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{check_scope_texts, check_self_lockout, RoleError};
    use crate::identity::roles::Role;

    fn role(name: &str, permissions: &[&str]) -> Role {
        Role {
            name: name.into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
            require_mfa: false,
            description: None,
        }
    }

    #[test]
    fn only_a_users_own_role_losing_the_admin_scope_is_refused() {
        let without = role("admin", &["read"]);
        assert!(matches!(
            check_self_lockout(Some("admin"), &without),
            Err(RoleError::SelfLockout(name)) if name == "admin"
        ));
        assert!(check_self_lockout(None, &without).is_ok());
        assert!(check_self_lockout(Some("ops"), &without).is_ok());
        let with = role("admin", &["read", "portcullis:admin"]);
        assert!(check_self_lockout(Some("admin"), &with).is_ok());
    }

    #[test]
    fn scope_texts_are_known_languages_and_one_line() {
        let texts = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect()
        };
        assert_eq!(
            check_scope_texts(&texts(&[("en", "Read"), ("de", "Lesen")])),
            Ok(vec![
                ("de".into(), "Lesen".into()),
                ("en".into(), "Read".into())
            ])
        );
        assert_eq!(check_scope_texts(&texts(&[])), Ok(vec![]));
        assert_eq!(
            check_scope_texts(&texts(&[("de-DE", "Lesen"), ("en", "a\nb"), ("fr", "")])),
            Err(vec![
                "descriptions: unknown language \"de-DE\" (known: en, de)".to_string(),
                "descriptions.en: one line of 1 to 500 characters".to_string(),
                "descriptions: unknown language \"fr\" (known: en, de)".to_string(),
            ])
        );
        let long = "x".repeat(501);
        assert!(check_scope_texts(&texts(&[("en", &long)])).is_err());
    }
}
