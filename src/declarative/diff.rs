//! What it takes to make the database say what the document says: pure functions from the
//! desired clients and the stored ones to a list of changes, each printable as one line.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{json, Value};

use crate::oauth::client::Client;
use crate::tokens::secret;

/// A client as the document wants it (validated; `id` empty unless the entry gave one).
#[derive(Debug, Clone)]
pub struct Desired {
    pub line: usize,
    pub client: Client,
    /// The entry named its `client_id`.
    pub explicit_id: bool,
    /// A confidential client's secret from the environment or a file; `None`: keep the stored
    /// one (or make one, for a new client).
    pub secret: Option<String>,
}

/// One change to one client.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `needs_secret`: confidential with no secret given; one is made and shown once.
    Create {
        client: Client,
        needs_secret: bool,
    },
    Update {
        before: Box<Client>,
        after: Client,
        fields: Vec<Field>,
        needs_secret: bool,
    },
    Delete {
        client: Client,
    },
}

/// A setting that changes, with its values as compact JSON (`None` for the secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub values: Option<(String, String)>,
}

/// The settings `apply` compares, under the document's names.
fn settings(c: &Client) -> [(&'static str, Value); 25] {
    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.label()).collect();
    [
        ("name", json!(c.name)),
        ("public", json!(c.public)),
        ("grant_types", json!(grants)),
        ("scopes", json!(c.scopes)),
        ("redirect_uris", json!(c.redirect_uris)),
        (
            "post_logout_redirect_uris",
            json!(c.post_logout_redirect_uris),
        ),
        ("audiences", json!(c.audiences)),
        ("skip_consent", json!(c.skip_consent)),
        ("access_token_ttl_secs", json!(c.access_token_ttl_secs)),
        ("can_introspect", json!(c.can_introspect)),
        ("pkce_optional", json!(!c.public && !c.pkce_required)),
        ("web_origins", json!(c.web_origins)),
        ("token_alg", json!(c.access_token_alg.map(|a| a.name()))),
        ("id_token_alg", json!(c.id_token_alg.map(|a| a.name()))),
        ("require_mfa", json!(c.require_mfa)),
        (
            "dpop_bound_access_tokens",
            json!(c.dpop_bound_access_tokens),
        ),
        ("require_par", json!(c.require_par)),
        ("exchange_audiences", json!(c.exchange_audiences)),
        ("exchange_impersonation", json!(c.exchange_impersonation)),
        ("backchannel_logout_uri", json!(c.backchannel_logout_uri)),
        (
            "backchannel_logout_session_required",
            json!(c.backchannel_logout_session_required),
        ),
        ("profile", json!(c.profile.map(|p| p.as_str()))),
        (
            "token_endpoint_auth_method",
            json!(c.private_key_jwt.then_some("private_key_jwt")),
        ),
        // Compared as JSON, so formatting alone is no change.
        (
            "jwks",
            c.jwks
                .as_deref()
                .map_or(Value::Null, |j| serde_json::from_str(j).unwrap_or(json!(j))),
        ),
        ("jwks_uri", json!(c.jwks_uri)),
    ]
}

/// The settings that differ from `before` to `after`.
pub fn fields(before: &Client, after: &Client) -> Vec<Field> {
    settings(before)
        .into_iter()
        .zip(settings(after))
        .filter(|((_, b), (_, a))| a != b)
        .map(|((name, b), (_, a))| Field {
            name,
            values: Some((b.to_string(), a.to_string())),
        })
        .collect()
}

/// Operators' clients: neither registered by themselves nor defined by a metadata document.
pub fn is_managed(c: &Client) -> bool {
    !c.dynamic && !c.is_metadata_document()
}

/// The changes from `stored` (every client) to `desired`; with `prune`, operators' clients the
/// document does not name are deleted. Errors, one a line, start with the entry's line number
/// (`7: client "x": …`) and name its client.
pub fn plan(desired: &[Desired], stored: &[Client], prune: bool) -> Result<Vec<Change>, String> {
    let mut problems = Vec::new();
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut changes = Vec::new();
    for d in desired {
        let what = format!("{}: client {:?}", d.line, d.client.name);
        let found: Vec<&Client> = if d.explicit_id {
            stored.iter().filter(|c| c.id == d.client.id).collect()
        } else {
            if let Some(first) = names.insert(&d.client.name, d.line) {
                problems.push(format!("{what}: named again (first on line {first})"));
                continue;
            }
            let same = |c: &&Client| is_managed(c) && c.name == d.client.name;
            stored.iter().filter(same).collect()
        };
        let before = match found.as_slice() {
            [] => None,
            [one] if !is_managed(one) => {
                problems.push(format!(
                    "{what}: {} registered itself; apply manages only operators' clients",
                    one.id
                ));
                continue;
            }
            [one] => Some(*one),
            _ => {
                problems.push(format!(
                    "{what}: several clients have this name; give its client_id"
                ));
                continue;
            }
        };
        if let Some(b) = before {
            if !matched.insert(&b.id) {
                problems.push(format!("{what}: {} is named by another entry too", b.id));
                continue;
            }
        }
        changes.extend(change(d, before));
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    if prune {
        changes.extend(
            stored
                .iter()
                .filter(|c| is_managed(c) && !matched.contains(c.id.as_str()))
                .map(|c| Change::Delete { client: c.clone() }),
        );
    }
    Ok(changes)
}

/// The change one entry asks for (none when the stored client already says it).
fn change(d: &Desired, before: Option<&Client>) -> Option<Change> {
    let mut after = d.client.clone();
    // A private_key_jwt client has no secret, like a public one.
    let secretless = after.public || after.private_key_jwt;
    after.secret_hash = d
        .secret
        .as_deref()
        .filter(|_| !secretless)
        .map(secret::hash_secret);
    let Some(before) = before else {
        let needs_secret = !secretless && after.secret_hash.is_none();
        return Some(Change::Create {
            client: after,
            needs_secret,
        });
    };
    after.id.clone_from(&before.id);
    after.created_at = before.created_at;
    after.updated_at = before.updated_at;
    if !secretless && after.secret_hash.is_none() {
        after.secret_hash.clone_from(&before.secret_hash);
    }
    let needs_secret = !secretless && after.secret_hash.is_none();
    let mut fields = fields(before, &after);
    if d.secret.is_some() && after.secret_hash != before.secret_hash {
        fields.push(Field {
            name: "secret",
            values: None,
        });
    }
    (!fields.is_empty()).then(|| Change::Update {
        before: Box::new(before.clone()),
        after,
        fields,
        needs_secret,
    })
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Create { client, .. } => write!(f, "+ client {}", client.name),
            Change::Delete { client } => write!(f, "- client {}", client.name),
            Change::Update { before, fields, .. } => {
                write!(f, "~ client {}: ", before.name)?;
                for (i, field) in fields.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "; " };
                    match &field.values {
                        Some((b, a)) => write!(f, "{sep}{} {b} → {a}", field.name)?,
                        None => write!(f, "{sep}{} (changed)", field.name)?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
