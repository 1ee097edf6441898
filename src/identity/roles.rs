//! Roles and their permissions (RBAC). A user's permissions are the scopes they may be granted.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    map: BTreeMap<String, Vec<String>>,
    /// Roles whose users must sign in with a second factor.
    require_mfa: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    roles: BTreeMap<String, RoleEntry>,
}

/// `name = ["perm", …]`, or a table `[roles.name]` with `permissions` and `require_mfa`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RoleEntry {
    Permissions(Vec<String>),
    Table(RoleTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleTable {
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    require_mfa: bool,
}

impl Roles {
    /// admin (with [`ADMIN_SCOPE`]), instructor, student, guest.
    pub fn builtin() -> Roles {
        let role = |perms: &[&str]| perms.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        Roles {
            map: BTreeMap::from([
                (
                    "admin".to_string(),
                    role(&[
                        "read",
                        "write",
                        "delete",
                        "manage_users",
                        "manage_content",
                        ADMIN_SCOPE,
                    ]),
                ),
                (
                    "instructor".to_string(),
                    role(&["read", "write", "manage_content"]),
                ),
                (
                    "student".to_string(),
                    role(&["read", "chat", "save_progress"]),
                ),
                ("guest".to_string(), role(&["read"])),
            ]),
            require_mfa: BTreeSet::new(),
        }
    }

    /// The built-in roles, or those of `file` (TOML: `[roles]` then `name = ["perm", …]`, or
    /// `[roles.name]` with `permissions = […]` and `require_mfa = true`).
    pub fn load(file: Option<&Path>) -> anyhow::Result<Roles> {
        let Some(path) = file else {
            return Ok(Roles::builtin());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading roles file {}", path.display()))?;
        let parsed: RolesFile =
            toml::from_str(&text).with_context(|| format!("roles file {}", path.display()))?;
        if parsed.roles.is_empty() {
            bail!("roles file {} defines no roles", path.display());
        }
        let mut map = BTreeMap::new();
        let mut require_mfa = BTreeSet::new();
        for (name, entry) in parsed.roles {
            let perms = match entry {
                RoleEntry::Permissions(perms) => perms,
                RoleEntry::Table(table) => {
                    if table.require_mfa {
                        require_mfa.insert(name.clone());
                    }
                    table.permissions
                }
            };
            map.insert(name, perms);
        }
        for (name, perms) in &map {
            if name.is_empty()
                || perms
                    .iter()
                    .any(|p| !crate::oauth::scope::is_valid_token(p))
            {
                bail!(
                    "roles file {}: role {name:?} has an invalid name or permission",
                    path.display()
                );
            }
        }
        Ok(Roles { map, require_mfa })
    }

    /// Whether users with `role` must sign in with a second factor.
    pub fn requires_mfa(&self, role: &str) -> bool {
        self.require_mfa.contains(role)
    }

    pub fn exists(&self, role: &str) -> bool {
        self.map.contains_key(role)
    }

    pub fn permissions(&self, role: &str) -> &[String] {
        self.map.get(role).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.map.iter()
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
    fn builtin_and_file() {
        let r = Roles::builtin();
        assert!(r.may_grant("student", "chat"));
        assert!(!r.may_grant("guest", "write"));
        assert!(r.may_grant("guest", "openid"));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("roles.toml");
        std::fs::write(&f, "[roles]\nops = [\"deploy\"]\n").unwrap();
        let r = Roles::load(Some(&f)).unwrap();
        assert!(r.exists("ops") && !r.exists("admin"));
        std::fs::write(&f, "[roles]\nops = [\"bad scope\"]\n").unwrap();
        assert!(Roles::load(Some(&f)).is_err());
        std::fs::write(
            &f,
            "[roles]\nuser = [\"read\"]\n[roles.ops]\npermissions = [\"deploy\"]\nrequire_mfa = true\n",
        )
        .unwrap();
        let r = Roles::load(Some(&f)).unwrap();
        assert!(r.requires_mfa("ops") && !r.requires_mfa("user"));
        assert!(r.may_grant("ops", "deploy") && r.may_grant("user", "read"));
        std::fs::write(&f, "[roles.ops]\npermissions = [\"deploy\"]\nmfa = true\n").unwrap();
        assert!(Roles::load(Some(&f)).is_err());
    }
}
