//! The document in YAML: the same shape as in TOML (`clients:` a list, `roles:`, `scopes:` and
//! `providers:` maps). A syntax or shape error names its line and column (from the parser); the line of each
//! entry, for the errors found later, is where its name stands (YAML's parser gives no
//! positions of values).
use std::collections::BTreeMap;

use serde::Deserialize;

use super::document::{ClientEntry, Located, LocatedRole, LocatedScope, Parsed};
use super::providers::{LocatedProvider, ProviderEntry};
use super::role_entries::{RoleEntry, ScopeEntry};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    clients: Vec<ClientEntry>,
    #[serde(default)]
    roles: Option<BTreeMap<String, RoleEntry>>,
    #[serde(default)]
    scopes: Option<BTreeMap<String, ScopeEntry>>,
    #[serde(default)]
    providers: Option<BTreeMap<String, ProviderEntry>>,
}

/// Parses a YAML document (an empty one is an empty document).
pub fn parse(origin: &str, text: &str) -> Result<Parsed, String> {
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    }) {
        return Ok(Parsed::default());
    }
    let doc: Document = serde_norway::from_str(text).map_err(|e| {
        let message = e.to_string();
        // The message ends with " at line L column C" when it has a place: say it first.
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        match e.location() {
            Some(at) => format!("{origin}:{}:{}: {message}", at.line(), at.column()),
            None => format!("{origin}: {message}"),
        }
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let clients = doc
        .clients
        .into_iter()
        .map(|entry| {
            let line = find(&lines, from, |l| {
                let l = l.trim_start().trim_start_matches("- ").trim_start();
                l.strip_prefix("name:")
                    .is_some_and(|v| unquote(v) == entry.name)
            });
            from = line;
            Located { line, entry }
        })
        .collect();
    let section = |name: &str| find(&lines, 0, |l| l.starts_with(&format!("{name}:")));
    let key_line = |start: usize, key: &str| {
        find(&lines, start, |l| {
            l.starts_with([' ', '\t']) && map_key(l.trim_start()) == Some(key)
        })
    };
    let roles = doc.roles.map(|roles| {
        let start = section("roles");
        roles
            .into_iter()
            .map(|(name, entry)| LocatedRole {
                line: key_line(start, &name),
                role: entry.role(&name),
            })
            .collect()
    });
    let scopes = doc.scopes.map(|scopes| {
        let start = section("scopes");
        scopes
            .into_iter()
            .map(|(scope, entry)| LocatedScope {
                line: key_line(start, &scope),
                scope,
                entry,
            })
            .collect()
    });
    let providers = doc.providers.map(|providers| {
        let start = section("providers");
        providers
            .into_iter()
            .map(|(name, entry)| LocatedProvider {
                line: key_line(start, &name),
                name,
                entry,
            })
            .collect()
    });
    Ok(Parsed {
        clients,
        roles,
        scopes,
        providers,
    })
}

/// The 1-based number of the first line from line `from` (1-based; 0: the start) that `hit`
/// accepts, else `from`.
fn find(lines: &[&str], from: usize, hit: impl Fn(&str) -> bool) -> usize {
    lines
        .iter()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| hit(l))
        .map_or(from, |(i, _)| i + 1)
}

/// The key of a `key: value` (or `key:`) line: quoted, or plain up to the first `: `.
fn map_key(line: &str) -> Option<&str> {
    for quote in ['"', '\''] {
        if let Some(rest) = line.strip_prefix(quote) {
            let (key, after) = rest.split_once(quote)?;
            return after.trim_start().starts_with(':').then_some(key);
        }
    }
    match line.split_once(": ") {
        Some((key, _)) => Some(key.trim_end()),
        None => line.trim_end().strip_suffix(':'),
    }
}

/// A plain scalar as written (`"x"`, `'x'` or `x`, without a trailing comment).
fn unquote(v: &str) -> &str {
    let v = v.trim();
    let v = v.split(" #").next().unwrap_or(v).trim();
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_know_their_line() {
        let text = "clients:\n  - name: a\n    scopes: [read]\n  - name: \"b\"\nroles:\n  auditor:\n    permissions: [read]\n  ops: [deploy]\nscopes:\n  read:\n    description: Read\n";
        let parsed = parse("f.yaml", text).unwrap();
        let clients: Vec<(usize, &str)> = parsed
            .clients
            .iter()
            .map(|c| (c.line, c.entry.name.as_str()))
            .collect();
        assert_eq!(clients, [(2, "a"), (4, "b")]);
        let roles: Vec<(usize, String, Vec<String>)> = parsed
            .roles
            .unwrap()
            .into_iter()
            .map(|r| (r.line, r.role.name, r.role.permissions))
            .collect();
        assert_eq!(roles[0].0, 6);
        assert_eq!(roles[1], (8, "ops".to_string(), vec!["deploy".to_string()]));
        assert_eq!(parsed.scopes.unwrap()[0].line, 10);
    }

    #[test]
    fn keys_are_read_as_written() {
        assert_eq!(map_key("read:"), Some("read"));
        assert_eq!(map_key("portcullis:admin:"), Some("portcullis:admin"));
        assert_eq!(
            map_key("\"portcullis:admin\": {}"),
            Some("portcullis:admin")
        );
        assert_eq!(
            map_key("description: \"A user: reads\""),
            Some("description")
        );
        assert_eq!(map_key("ops: [deploy]"), Some("ops"));
        assert_eq!(map_key("- read"), None);
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse(
            "f.yaml",
            "roles:\n  ops:\n    permissions: [read]\n    mfa: true\n",
        )
        .unwrap_err();
        assert!(err.starts_with("f.yaml:4:"), "{err}");
        assert!(err.contains("unknown field `mfa`"), "{err}");
        let err = parse("f.yaml", "clients:\n  - name: a\n    scopes: [read\n").unwrap_err();
        assert!(err.starts_with("f.yaml:"), "{err}");
    }
}
