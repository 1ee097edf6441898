//! Declarative configuration: `portcullis apply FILE` (and `apply_on_start`) reconciles the
//! operators' clients to a document in one transaction — creates what is missing, updates what
//! differs and, with `prune`, deletes what the document no longer names (never clients that
//! registered themselves or that a metadata document defines); `portcullis export` writes the
//! document that describes them. `document` reads and writes the format, `diff` computes the
//! changes (pure); this module loads, validates and writes, through `oauth::admin_clients`.
pub mod diff;
pub mod document;

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::oauth::admin_clients::{self, Limits};
use crate::oauth::client::Client;
use crate::store::{self, clients, leases, DbConnection};
use crate::tokens::secret;
use diff::{Change, Desired};
use document::{Located, SecretSource};

/// The row `apply` holds locked while it reconciles, so that two at once run one after the other.
const LOCK: &str = "declarative_apply";

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Delete the operators' clients the document does not name.
    pub prune: bool,
    /// Compute the changes, write nothing.
    pub dry_run: bool,
    /// Refuse a new confidential client without `secret_env` / `secret_file` (at start-up a
    /// secret made up would be shown to no one).
    pub require_secret_source: bool,
}

/// What an apply did (or, dry, would do).
#[derive(Debug, Default)]
pub struct Outcome {
    /// One line per change (`+ client a`, `~ client b: scopes [..] → [..]`, `- client c`).
    pub changes: Vec<String>,
    /// The secrets made for new confidential clients, shown once.
    pub secrets: Vec<NewSecret>,
}

#[derive(Debug, Serialize)]
pub struct NewSecret {
    pub client_id: String,
    pub name: String,
    pub client_secret: String,
}

/// Reads `path` and applies it; `env` looks up `secret_env` variables.
pub fn apply_file(
    conn: &mut DbConnection,
    path: &Path,
    options: Options,
    limits: &Limits,
    env: &dyn Fn(&str) -> Option<String>,
    now: i64,
) -> anyhow::Result<Outcome> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let origin = path.display().to_string();
    let desired = load(&origin, &text, limits, env)?;
    if options.dry_run {
        let stored = stored(conn)?;
        let changes = plan(&origin, &desired, &stored, options.prune)?;
        return Ok(Outcome {
            changes: changes.iter().map(Change::to_string).collect(),
            secrets: Vec::new(),
        });
    }
    store::write_transaction(conn, |c| {
        leases::lock_until_commit(c, LOCK, now)?;
        let stored = stored(c)?;
        let changes = plan(&origin, &desired, &stored, options.prune)?;
        if options.require_secret_source {
            if let Some(name) = changes.iter().find_map(made_up_secret) {
                anyhow::bail!(
                    "client {name:?} is confidential and needs secret_env or secret_file here \
                     (a secret made now would be shown to no one)"
                );
            }
        }
        let mut outcome = Outcome::default();
        for change in changes {
            outcome.changes.push(change.to_string());
            if let Some(made) = write(c, change, now)? {
                outcome.secrets.push(made);
            }
        }
        Ok(outcome)
    })
}

/// `diff::plan`, its errors naming the file (`clients.toml:7: client "x": …`).
fn plan(
    origin: &str,
    desired: &[Desired],
    stored: &[Client],
    prune: bool,
) -> anyhow::Result<Vec<Change>> {
    diff::plan(desired, stored, prune).map_err(|problems| {
        let lines: Vec<String> = problems.lines().map(|l| format!("{origin}:{l}")).collect();
        anyhow::anyhow!("{}", lines.join("\n"))
    })
}

/// The operators' clients as the document that would describe them.
pub fn export(conn: &mut DbConnection) -> anyhow::Result<String> {
    let managed: Vec<Client> = stored(conn)?.into_iter().filter(diff::is_managed).collect();
    Ok(document::export(&managed)?)
}

/// Parses and validates a document into the clients it wants; every problem is reported, each
/// naming its line and client.
fn load(
    origin: &str,
    text: &str,
    limits: &Limits,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<Desired>> {
    let entries = document::parse(origin, text).map_err(anyhow::Error::msg)?;
    let mut problems = Vec::new();
    let mut desired = Vec::new();
    for Located { line, entry } in entries {
        match desire(&entry, limits, env) {
            Ok(mut client) => {
                client.line = line;
                desired.push(client);
            }
            Err(why) => problems.push(format!("{origin}:{line}: client {:?}: {why}", entry.name)),
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }
    Ok(desired)
}

fn desire(
    entry: &document::ClientEntry,
    limits: &Limits,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Desired, String> {
    let source = entry.secret_source()?;
    let mut client = admin_clients::check(&entry.spec(), limits).map_err(|e| e.to_string())?;
    if let Some(id) = &entry.client_id {
        check_id(id)?;
        client.id.clone_from(id);
    }
    let secret = match source {
        None => None,
        Some(SecretSource::Env(name)) => {
            Some(env(&name).ok_or_else(|| format!("secret_env: {name} is not set"))?)
        }
        Some(SecretSource::File(path)) => Some(
            std::fs::read_to_string(&path)
                .map_err(|e| format!("secret_file: reading {path}: {e}"))?
                .trim()
                .to_string(),
        ),
    };
    if secret.as_deref() == Some("") {
        return Err("the secret is empty".into());
    }
    Ok(Desired {
        line: 0,
        client,
        explicit_id: entry.client_id.is_some(),
        secret,
    })
}

/// A `client_id` an operator may choose: 1 to 200 of `A-Z a-z 0-9 . _ ~ -`.
fn check_id(id: &str) -> Result<(), String> {
    let fits = |c: char| c.is_ascii_alphanumeric() || "._~-".contains(c);
    if id.is_empty() || id.len() > 200 || !id.chars().all(fits) {
        return Err(format!(
            "client_id {id:?} must be 1 to 200 letters, digits, '.', '_', '~' or '-'"
        ));
    }
    Ok(())
}

/// The name of the client `change` would make a secret for.
fn made_up_secret(change: &Change) -> Option<&str> {
    match change {
        Change::Create {
            client,
            needs_secret: true,
        } => Some(&client.name),
        Change::Update {
            after,
            needs_secret: true,
            ..
        } => Some(&after.name),
        _ => None,
    }
}

fn stored(conn: &mut DbConnection) -> anyhow::Result<Vec<Client>> {
    clients::list(conn)?
        .into_iter()
        .map(Client::try_from)
        .collect()
}

/// Writes one change (with its audit event); returns the secret it made, if any.
fn write(conn: &mut DbConnection, change: Change, now: i64) -> anyhow::Result<Option<NewSecret>> {
    let actor = admin_clients::APPLY;
    match change {
        Change::Create {
            mut client,
            needs_secret,
        } => {
            if client.id.is_empty() {
                client.id = secret::random_id()?;
            }
            let made = needs_secret.then(secret::new_secret).transpose()?;
            if let Some(s) = &made {
                client.secret_hash = Some(secret::hash_secret(s));
            }
            client.created_at = now;
            client.updated_at = now;
            admin_clients::insert_in(conn, &client, actor, now)?;
            Ok(made.map(|client_secret| NewSecret {
                client_id: client.id,
                name: client.name,
                client_secret,
            }))
        }
        Change::Update {
            mut after,
            fields,
            needs_secret,
            ..
        } => {
            let made = needs_secret.then(secret::new_secret).transpose()?;
            if let Some(s) = &made {
                after.secret_hash = Some(secret::hash_secret(s));
            }
            after.updated_at = now;
            let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
            if !admin_clients::replace_in(conn, &after, &names, actor, now)? {
                anyhow::bail!("client {} changed while applying; try again", after.id);
            }
            Ok(made.map(|client_secret| NewSecret {
                client_id: after.id,
                name: after.name,
                client_secret,
            }))
        }
        Change::Delete { client } => {
            admin_clients::delete_in(conn, &client.id, actor, now)?;
            Ok(None)
        }
    }
}
