//! Roles and their permissions (RBAC). A user's permissions are the scopes they may be granted.
//! Roles live in the database (`store::roles`), seeded from a roles file (`role_seed`) and
//! changed by `portcullis apply` (`roles_admin`); every instance holds the current set in its
//! `role_book::RoleBook`.
use std::collections::BTreeMap;

use crate::store::roles::RoleRow;
use crate::store::{self, DbConnection};

/// Scopes about identity rather than permissions: grantable to any user. `api_keys` lets a
/// client the operator registered with that scope mint API keys (see
/// `identity::api_keys::client_may_mint`); the user still consents to it.
pub const IDENTITY_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "offline_access",
    "account",
    "api_keys",
];

/// The permission (and scope) of administrators: the admin API takes access tokens carrying
/// it, and the admin console lets in signed-in users whose role has it.
pub const ADMIN_SCOPE: &str = "portcullis:admin";

/// The longest role description.
pub const MAX_DESCRIPTION: usize = 500;

/// One role: the scopes its users may be granted, and whether they must use a second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// In the order given, without repeats.
    pub permissions: Vec<String>,
    pub require_mfa: bool,
    pub description: Option<String>,
}

impl Role {
    /// Why this role can't be stored, if it can't: its name is 1 to 64 letters, digits, `_`,
    /// `-` or `.`; every permission is a scope token; a description is one line of at most
    /// [`MAX_DESCRIPTION`] characters, without control characters.
    pub fn check(&self) -> Result<(), String> {
        let fits = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
        if self.name.is_empty() || self.name.len() > 64 || !self.name.chars().all(fits) {
            return Err(format!(
                "role name {:?} must be 1 to 64 letters, digits, '_', '-' or '.'",
                self.name
            ));
        }
        crate::oauth::scope::validate_tokens(&self.permissions)
            .map_err(|bad| format!("permissions: {bad}"))?;
        let mut seen = std::collections::BTreeSet::new();
        if let Some(again) = self.permissions.iter().find(|p| !seen.insert(p.as_str())) {
            return Err(format!("permissions: {again:?} is listed twice"));
        }
        if let Some(d) = &self.description {
            if d.chars().count() > MAX_DESCRIPTION || d.chars().any(char::is_control) {
                return Err(format!(
                    "description: one line of at most {MAX_DESCRIPTION} characters"
                ));
            }
        }
        Ok(())
    }

    pub fn to_row(&self, created_at: i64, updated_at: i64) -> RoleRow {
        RoleRow {
            name: self.name.clone(),
            permissions: serde_json::Value::from(self.permissions.clone()).to_string(),
            require_mfa: self.require_mfa,
            description: self.description.clone(),
            created_at,
            updated_at,
        }
    }

    pub fn from_row(row: RoleRow) -> anyhow::Result<Role> {
        let permissions: Vec<String> = serde_json::from_str(&row.permissions).map_err(|e| {
            anyhow::anyhow!(
                "role {:?}: stored permissions are not a list: {e}",
                row.name
            )
        })?;
        Ok(Role {
            name: row.name,
            permissions,
            require_mfa: row.require_mfa,
            description: row.description,
        })
    }
}

/// A set of roles, by name (what decisions are made with).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles {
    map: BTreeMap<String, Role>,
}

impl Roles {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Roles {
        Roles {
            map: roles.into_iter().map(|r| (r.name.clone(), r)).collect(),
        }
    }

    /// The roles stored in the database.
    pub fn read(conn: &mut DbConnection) -> anyhow::Result<Roles> {
        let rows = store::roles::list(conn)?;
        Ok(Roles::new(
            rows.into_iter()
                .map(Role::from_row)
                .collect::<anyhow::Result<Vec<_>>>()?,
        ))
    }

    /// The roles of `examples/roles-education.toml` (admin, instructor, student, guest), as a
    /// value: for tests of decisions that don't need a database.
    pub fn education() -> anyhow::Result<Roles> {
        let text = include_str!("../../examples/roles-education.toml");
        let doc = crate::declarative::document::parse("roles-education.toml", text)
            .map_err(anyhow::Error::msg)?;
        Ok(Roles::new(
            doc.roles.unwrap_or_default().into_iter().map(|r| r.role),
        ))
    }

    /// Whether users with `role` must sign in with a second factor.
    pub fn requires_mfa(&self, role: &str) -> bool {
        self.map.get(role).is_some_and(|r| r.require_mfa)
    }

    pub fn exists(&self, role: &str) -> bool {
        self.map.contains_key(role)
    }

    pub fn get(&self, role: &str) -> Option<&Role> {
        self.map.get(role)
    }

    pub fn permissions(&self, role: &str) -> &[String] {
        self.map
            .get(role)
            .map(|r| r.permissions.as_slice())
            .unwrap_or(&[])
    }

    /// Every role's name and permissions, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.map.iter().map(|(name, r)| (name, &r.permissions))
    }

    /// Every role, by name.
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.map.values()
    }

    /// Whether users with `role` are administrators (their role has [`ADMIN_SCOPE`]).
    pub fn is_admin(&self, role: &str) -> bool {
        self.permissions(role).iter().any(|p| p == ADMIN_SCOPE)
    }

    /// Whether `scope` may be granted to a user with `role`.
    pub fn may_grant(&self, role: &str, scope: &str) -> bool {
        IDENTITY_SCOPES.contains(&scope) || self.permissions(role).iter().any(|p| p == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn education_roles_decide() {
        let r = Roles::education().unwrap();
        assert!(r.may_grant("student", "chat"));
        assert!(!r.may_grant("guest", "write"));
        assert!(r.may_grant("guest", "openid"));
        assert!(r.is_admin("admin") && !r.is_admin("instructor"));
        assert!(!r.requires_mfa("admin"));
        assert_eq!(
            r.permissions("instructor"),
            ["read", "write", "manage_content"]
        );
    }

    #[test]
    fn roles_are_checked() {
        let role = |name: &str, perms: &[&str]| Role {
            name: name.into(),
            permissions: perms.iter().map(|p| p.to_string()).collect(),
            require_mfa: false,
            description: None,
        };
        assert_eq!(role("ops", &["deploy"]).check(), Ok(()));
        assert!(role("ops", &["bad scope"])
            .check()
            .unwrap_err()
            .starts_with("permissions: "));
        assert!(role("o p", &[])
            .check()
            .unwrap_err()
            .starts_with("role name"));
        assert_eq!(
            role("ops", &["a", "a"]).check(),
            Err("permissions: \"a\" is listed twice".into())
        );
        let row = role("ops", &["b", "a"]).to_row(1, 2);
        assert_eq!(row.permissions, r#"["b","a"]"#);
        assert_eq!(Role::from_row(row).unwrap(), role("ops", &["b", "a"]));
    }
}
