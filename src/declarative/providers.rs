//! `apply` for upstream identity providers: the document's `[providers.NAME]` (TOML) or
//! `providers: {NAME: …}` (YAML) — `kind`, `display_name`, `issuer`, `client_id`, `scopes`,
//! `authorize_url` / `token_url` / `api_url`, and `secret_env` or `secret_file`, never the
//! secret. Checks them (the secret must be readable on the machine running `apply`; no name
//! `[federation]` configures), plans the changes from the stored ones (pure; each printable as
//! one line) and writes them through `federation::admin`.
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::federation::admin;
use crate::federation::declared::{Declared, OIDC};
use crate::identity::admin_users::Actor;
use crate::store::DbConnection;

/// One `[providers.NAME]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    /// `oidc` (the default) or `github`.
    #[serde(default = "oidc")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default)]
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The environment variable holding the client secret, on each machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// The file holding the client secret, on each machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// Refused: a secret never goes in the document (here only to say so clearly).
    #[serde(default, skip_serializing)]
    pub secret: Option<toml::Value>,
    #[serde(default, skip_serializing)]
    pub client_secret: Option<toml::Value>,
}

fn oidc() -> String {
    OIDC.to_string()
}

/// A provider entry and the line it starts on.
#[derive(Debug, Clone)]
pub struct LocatedProvider {
    pub line: usize,
    pub name: String,
    pub entry: ProviderEntry,
}

impl ProviderEntry {
    fn declared(&self, name: &str) -> Result<Declared, String> {
        if self.secret.is_some() || self.client_secret.is_some() {
            return Err(
                "a secret never goes in the document: name the environment variable \
                        (secret_env) or the file (secret_file) that holds it"
                    .into(),
            );
        }
        Declared {
            name: name.to_string(),
            kind: self.kind.clone(),
            display_name: self.display_name.clone().unwrap_or_default(),
            issuer: self.issuer.clone(),
            authorize_url: self.authorize_url.clone(),
            token_url: self.token_url.clone(),
            api_url: self.api_url.clone(),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            secret_env: self.secret_env.clone(),
            secret_file: self.secret_file.clone(),
        }
        .checked()
    }

    /// The entry that describes `provider` (where its secret is; never a secret).
    pub fn of(provider: &Declared) -> ProviderEntry {
        ProviderEntry {
            kind: provider.kind.clone(),
            display_name: Some(provider.display_name.clone()),
            issuer: provider.issuer.clone(),
            client_id: provider.client_id.clone(),
            scopes: provider.scopes.clone(),
            authorize_url: provider.authorize_url.clone(),
            token_url: provider.token_url.clone(),
            api_url: provider.api_url.clone(),
            secret_env: provider.secret_env.clone(),
            secret_file: provider.secret_file.clone(),
            secret: None,
            client_secret: None,
        }
    }
}

/// The document's providers, checked; every problem names its line and provider. `configured`
/// holds `[federation]`'s providers as (name, setting); `env` looks up `secret_env` here.
pub fn check(
    origin: &str,
    providers: Option<Vec<LocatedProvider>>,
    configured: &[(String, String)],
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Option<Vec<Declared>> {
    let providers = providers?;
    let mut wanted = Vec::new();
    for LocatedProvider { line, name, entry } in providers {
        let checked = entry.declared(&name).and_then(|d| {
            if let Some((_, setting)) = configured.iter().find(|(n, _)| *n == name) {
                return Err(format!(
                    "[federation] already configures a provider of this name ({setting}): \
                     rename one of them"
                ));
            }
            d.read_secret(env)
                .map(|_| d)
                .map_err(|why| format!("{why} on this machine"))
        });
        match checked {
            Ok(d) => wanted.push(d),
            Err(why) => problems.push(format!("{origin}:{line}: provider {name:?}: {why}")),
        }
    }
    Some(wanted)
}

/// One change to a declared provider.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Create(Declared),
    Update {
        before: Box<Declared>,
        after: Box<Declared>,
    },
    Delete(Declared),
}

/// The changes from `stored` to `wanted` (`None`: the document has no `[providers]`, nothing
/// changes); with `prune`, declared providers the document doesn't name are deleted.
pub fn plan(wanted: Option<&[Declared]>, stored: &[Declared], prune: bool) -> Vec<Change> {
    let Some(wanted) = wanted else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    for want in wanted {
        match stored.iter().find(|p| p.name == want.name) {
            None => changes.push(Change::Create(want.clone())),
            Some(had) if had != want => changes.push(Change::Update {
                before: Box::new(had.clone()),
                after: Box::new(want.clone()),
            }),
            Some(_) => {}
        }
    }
    if prune {
        let named: BTreeSet<&str> = wanted.iter().map(|p| p.name.as_str()).collect();
        changes.extend(
            stored
                .iter()
                .filter(|p| !named.contains(p.name.as_str()))
                .map(|p| Change::Delete(p.clone())),
        );
    }
    changes
}

pub fn stored(conn: &mut DbConnection) -> anyhow::Result<Vec<Declared>> {
    admin::list(conn)
}

/// Writes one change with its audit event, inside the caller's transaction.
pub fn write(
    conn: &mut DbConnection,
    change: &Change,
    actor: Actor,
    now: i64,
) -> anyhow::Result<()> {
    match change {
        Change::Create(p) => admin::create_in(conn, p, actor, now)?,
        Change::Update { after, .. } => {
            admin::update_in(conn, after, actor, now)?;
        }
        Change::Delete(p) => admin::delete_in(conn, &p.name, actor, now)?,
    }
    Ok(())
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Create(p) => write!(f, "+ provider {}", p.name),
            Change::Delete(p) => write!(f, "- provider {}", p.name),
            Change::Update { before, after } => {
                write!(f, "~ provider {}: ", before.name)?;
                let changed = before
                    .fields()
                    .into_iter()
                    .zip(after.fields())
                    .filter(|((_, b), (_, a))| b != a);
                for (i, ((name, b), (_, a))) in changed.enumerate() {
                    let sep = if i == 0 { "" } else { "; " };
                    write!(f, "{sep}{name} {b} → {a}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(issuer: &str) -> ProviderEntry {
        ProviderEntry {
            kind: oidc(),
            issuer: Some(issuer.into()),
            client_id: "id".into(),
            secret_env: Some("CORP_SECRET".into()),
            ..ProviderEntry::default()
        }
    }

    fn located(name: &str, line: usize, entry: ProviderEntry) -> LocatedProvider {
        LocatedProvider {
            line,
            name: name.into(),
            entry,
        }
    }

    #[test]
    fn checks_name_lines_secrets_and_clashes() {
        let env = |n: &str| (n == "CORP_SECRET").then(|| "s".to_string());
        let mut secret = entry("https://a.example");
        secret.client_secret = Some(toml::Value::String("x".into()));
        let mut unset = entry("https://a.example");
        unset.secret_env = Some("NOT_SET_HERE".into());
        let given = vec![
            located("corp", 2, entry("https://a.example")),
            located("leak", 7, secret),
            located("acme", 12, entry("https://a.example")),
            located("other", 17, unset),
        ];
        let configured = [("acme".to_string(), "federation.oidc.acme".to_string())];
        let mut problems = Vec::new();
        let wanted = check("f.toml", Some(given), &configured, &env, &mut problems).unwrap();
        assert_eq!(wanted.len(), 1);
        assert_eq!(
            problems,
            [
                "f.toml:7: provider \"leak\": a secret never goes in the document: name the \
                 environment variable (secret_env) or the file (secret_file) that holds it",
                "f.toml:12: provider \"acme\": [federation] already configures a provider of \
                 this name (federation.oidc.acme): rename one of them",
                "f.toml:17: provider \"other\": secret_env: NOT_SET_HERE is not set on this \
                 machine",
            ]
        );
    }

    #[test]
    fn plans_line_by_line() {
        let d = |name: &str, issuer: &str| entry(issuer).declared(name).unwrap();
        let stored = vec![
            d("corp", "https://a.example"),
            d("old", "https://o.example"),
        ];
        let wanted = vec![
            d("corp", "https://b.example"),
            d("new", "https://n.example"),
        ];
        let lines: Vec<String> = plan(Some(&wanted), &stored, true)
            .iter()
            .map(Change::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "~ provider corp: issuer \"https://a.example\" → \"https://b.example\"",
                "+ provider new",
                "- provider old",
            ]
        );
        assert_eq!(plan(Some(&wanted), &stored, false).len(), 2);
        assert_eq!(plan(None, &stored, true), []);
    }
}
