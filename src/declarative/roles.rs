//! `apply` for roles and scope descriptions: checks the document's `[roles]` and `[scopes]`,
//! plans the changes from the stored ones (pure; each printable as one line) and writes them
//! through `identity::roles_admin`.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::json;

use super::document::{LocatedRole, LocatedScope};
use crate::identity::admin_users::Actor;
use crate::identity::roles::{Role, Roles};
use crate::identity::roles_admin;
use crate::store::{roles as role_store, DbConnection};

/// Descriptions of one scope, by language.
pub type Texts = BTreeMap<String, String>;

/// The roles and scopes a document wants (`None`: it has no such section).
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub roles: Option<Vec<Role>>,
    pub scopes: Option<BTreeMap<String, Texts>>,
}

/// The document's roles and scopes, checked; every problem names its line and entry.
pub fn check(
    origin: &str,
    roles: Option<Vec<LocatedRole>>,
    scopes: Option<Vec<LocatedScope>>,
    problems: &mut Vec<String>,
) -> Wanted {
    let roles = roles.map(|roles| {
        roles
            .into_iter()
            .filter_map(|LocatedRole { line, role }| match role.check() {
                Ok(()) => Some(role),
                Err(why) => {
                    problems.push(format!("{origin}:{line}: role {:?}: {why}", role.name));
                    None
                }
            })
            .collect()
    });
    let scopes = scopes.map(|scopes| {
        scopes
            .into_iter()
            .filter_map(|LocatedScope { line, scope, entry }| {
                let texts = if crate::oauth::scope::is_valid_token(&scope) {
                    entry.texts()
                } else {
                    Err("not a scope name".to_string())
                };
                match texts {
                    Ok(t) => Some((scope, t)),
                    Err(why) => {
                        problems.push(format!("{origin}:{line}: scope {scope:?}: {why}"));
                        None
                    }
                }
            })
            .collect()
    });
    Wanted { roles, scopes }
}

/// One change to a role or to a scope's descriptions.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    CreateRole(Role),
    UpdateRole {
        before: Role,
        after: Role,
    },
    DeleteRole(Role),
    DescribeScope {
        scope: String,
        before: Texts,
        after: Texts,
    },
}

/// What is stored now.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub roles: Vec<Role>,
    pub scopes: BTreeMap<String, Texts>,
    /// How many users have each role.
    pub users: BTreeMap<String, i64>,
}

pub fn stored(conn: &mut DbConnection) -> anyhow::Result<Stored> {
    let roles: Vec<Role> = Roles::read(conn)?.roles().cloned().collect();
    let mut users = BTreeMap::new();
    for r in &roles {
        users.insert(r.name.clone(), role_store::users_with(conn, &r.name)?);
    }
    let mut scopes: BTreeMap<String, Texts> = BTreeMap::new();
    for row in role_store::scope_texts(conn)? {
        scopes
            .entry(row.scope)
            .or_default()
            .insert(row.lang, row.text);
    }
    Ok(Stored {
        roles,
        scopes,
        users,
    })
}

/// The changes from `stored` to `wanted`; with `prune`, roles and scope descriptions the
/// document's sections don't name are deleted — refused (naming them) for roles users have and
/// for `default_role`.
pub fn plan(
    wanted: &Wanted,
    stored: &Stored,
    prune: bool,
    default_role: &str,
) -> Result<Vec<Change>, String> {
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    if let Some(roles) = &wanted.roles {
        let named: BTreeSet<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        for want in roles {
            match stored.roles.iter().find(|r| r.name == want.name) {
                None => changes.push(Change::CreateRole(want.clone())),
                Some(had) if had != want => changes.push(Change::UpdateRole {
                    before: had.clone(),
                    after: want.clone(),
                }),
                Some(_) => {}
            }
        }
        for had in stored
            .roles
            .iter()
            .filter(|r| !named.contains(r.name.as_str()))
        {
            if !prune {
                continue;
            }
            let users = stored.users.get(&had.name).copied().unwrap_or(0);
            if had.name == default_role {
                problems.push(format!(
                    "role {:?} is users.default_role: the document must name it",
                    had.name
                ));
            } else if users > 0 {
                problems.push(format!(
                    "role {:?} is not in the document but {users} user(s) have it: give them \
                     another role first",
                    had.name
                ));
            } else {
                changes.push(Change::DeleteRole(had.clone()));
            }
        }
    }
    if let Some(scopes) = &wanted.scopes {
        for (scope, after) in scopes {
            let before = stored.scopes.get(scope).cloned().unwrap_or_default();
            if &before != after {
                changes.push(Change::DescribeScope {
                    scope: scope.clone(),
                    before,
                    after: after.clone(),
                });
            }
        }
        if prune {
            for (scope, before) in &stored.scopes {
                if !scopes.contains_key(scope) {
                    changes.push(Change::DescribeScope {
                        scope: scope.clone(),
                        before: before.clone(),
                        after: Texts::new(),
                    });
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    Ok(changes)
}

/// Writes one change with its audit event, inside the caller's transaction.
pub fn write(
    conn: &mut DbConnection,
    change: &Change,
    default_role: &str,
    actor: Actor,
    now: i64,
) -> anyhow::Result<()> {
    match change {
        Change::CreateRole(role) => roles_admin::create_in(conn, role, actor, now)?,
        Change::UpdateRole { after, .. } => {
            roles_admin::update_in(conn, after, actor, now)?;
        }
        Change::DeleteRole(role) => {
            roles_admin::delete_in(conn, &role.name, default_role, actor, now)?
        }
        Change::DescribeScope { scope, after, .. } => {
            let texts: Vec<(String, String)> =
                after.iter().map(|(l, t)| (l.clone(), t.clone())).collect();
            roles_admin::describe_scope_in(conn, scope, &texts, actor, now)?
        }
    }
    Ok(())
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::CreateRole(r) => write!(f, "+ role {}", r.name),
            Change::DeleteRole(r) => write!(f, "- role {}", r.name),
            Change::UpdateRole { before, after } => {
                let fields = [
                    (
                        "permissions",
                        json!(before.permissions),
                        json!(after.permissions),
                    ),
                    (
                        "require_mfa",
                        json!(before.require_mfa),
                        json!(after.require_mfa),
                    ),
                    (
                        "description",
                        json!(before.description),
                        json!(after.description),
                    ),
                ];
                write!(f, "~ role {}: ", before.name)?;
                let changed = fields.iter().filter(|(_, b, a)| b != a);
                for (i, (name, b, a)) in changed.enumerate() {
                    let sep = if i == 0 { "" } else { "; " };
                    write!(f, "{sep}{name} {b} → {a}")?;
                }
                Ok(())
            }
            Change::DescribeScope { scope, before, .. } if before.is_empty() => {
                write!(f, "+ scope {scope}")
            }
            Change::DescribeScope { scope, after, .. } if after.is_empty() => {
                write!(f, "- scope {scope}")
            }
            Change::DescribeScope {
                scope,
                before,
                after,
            } => {
                write!(f, "~ scope {scope}: ")?;
                let langs: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
                let changed = langs
                    .into_iter()
                    .filter(|l| before.get(*l) != after.get(*l));
                for (i, lang) in changed.enumerate() {
                    let sep = if i == 0 { "" } else { "; " };
                    let (b, a) = (json!(before.get(lang)), json!(after.get(lang)));
                    write!(f, "{sep}{lang} {b} → {a}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, perms: &[&str]) -> Role {
        Role {
            name: name.into(),
            permissions: perms.iter().map(|p| p.to_string()).collect(),
            require_mfa: false,
            description: None,
        }
    }

    fn texts(pairs: &[(&str, &str)]) -> Texts {
        pairs
            .iter()
            .map(|(l, t)| (l.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn plans_roles_and_scopes_line_by_line() {
        let stored = Stored {
            roles: vec![
                role("guest", &["read"]),
                role("old", &[]),
                role("used", &[]),
            ],
            scopes: BTreeMap::from([
                (
                    "read".to_string(),
                    texts(&[("en", "Read"), ("de", "Lesen")]),
                ),
                ("gone".to_string(), texts(&[("en", "Gone")])),
            ]),
            users: BTreeMap::from([("used".to_string(), 2)]),
        };
        let wanted = Wanted {
            roles: Some(vec![
                role("guest", &["read", "write"]),
                role("new", &["x"]),
                role("used", &[]),
            ]),
            scopes: Some(BTreeMap::from([(
                "read".to_string(),
                texts(&[("en", "Read it")]),
            )])),
        };
        let lines: Vec<String> = plan(&wanted, &stored, true, "guest")
            .unwrap()
            .iter()
            .map(Change::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "~ role guest: permissions [\"read\"] → [\"read\",\"write\"]",
                "+ role new",
                "- role old",
                "~ scope read: de \"Lesen\" → null; en \"Read\" → \"Read it\"",
                "- scope gone",
            ]
        );
        // Without prune nothing is deleted; without sections nothing is touched.
        assert_eq!(plan(&wanted, &stored, false, "guest").unwrap().len(), 3);
        assert_eq!(plan(&Wanted::default(), &stored, true, "guest"), Ok(vec![]));
        // A role users have, or the default role, is not pruned: the error names them.
        let only_new = Wanted {
            roles: Some(vec![role("new", &[])]),
            scopes: None,
        };
        let err = plan(&only_new, &stored, true, "guest").unwrap_err();
        assert_eq!(
            err,
            "role \"guest\" is users.default_role: the document must name it\n\
             role \"used\" is not in the document but 2 user(s) have it: give them another \
             role first"
        );
    }
}
