//! Declarative configuration: `portcullis apply FILE` (and `apply_on_start`, and the roles
//! file at start) reconciles the operators' clients, the roles and the scopes' consent
//! descriptions and the declared upstream providers to a document in one transaction — creates what is missing, updates what
//! differs and, with `prune`, deletes what the document no longer names (never clients that
//! registered themselves or that a metadata document defines; roles and scopes only when the
//! document has that section; never a role users have); `portcullis export` writes the
//! document that describes them. `document` (TOML) and `yaml` read the format, `diff` and
//! `roles` and `providers` compute the changes; this module loads, validates and writes, through
//! `oauth::admin_clients` and `identity::roles_admin`.
pub mod diff;
pub mod document;
pub mod providers;
pub mod role_entries;
pub mod roles;
pub mod yaml;

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::identity::admin_users::Actor;
use crate::oauth::admin_clients::{self, Limits};
use crate::oauth::client::Client;
use crate::store::{self, clients, leases, DbConnection};
use crate::tokens::secret;
use diff::{Change, Desired};
use document::{Format, Located, Parsed, SecretSource};

/// The row `apply` holds locked while it reconciles, so that two at once run one after the other.
const LOCK: &str = "declarative_apply";

/// The actor of changes made by the roles file at start (`identity::role_seed`).
pub const ROLES_FILE: &str = "roles_file";

/// How to apply.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `users.default_role`: never deleted.
    pub default_role: String,
    /// A roles file: the document may hold roles and scopes only, and clients are left alone.
    pub roles_only: bool,
    /// Delete the operators' clients (and, when the document has those sections, the roles and
    /// scope descriptions) the document does not name.
    pub prune: bool,
    /// Compute the changes, write nothing.
    pub dry_run: bool,
    /// Refuse a new confidential client without `secret_env` / `secret_file` (at start-up a
    /// secret made up would be shown to no one).
    pub require_secret_source: bool,
    /// The upstream providers `[federation]` configures, as (name, setting): the document
    /// declares none of these names.
    pub configured_providers: Vec<(String, String)>,
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

/// Reads `path` (YAML when it ends in `.yaml` / `.yml`, else TOML) and applies it; `env` looks
/// up `secret_env` variables.
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
    apply_text(
        conn,
        &origin,
        &text,
        Format::of(path),
        options,
        limits,
        env,
        now,
    )
}

/// Applies the document `text` (`origin` names it in errors).
#[allow(clippy::too_many_arguments)]
pub fn apply_text(
    conn: &mut DbConnection,
    origin: &str,
    text: &str,
    format: Format,
    options: Options,
    limits: &Limits,
    env: &dyn Fn(&str) -> Option<String>,
    now: i64,
) -> anyhow::Result<Outcome> {
    let parsed = document::parse_as(format, origin, text).map_err(anyhow::Error::msg)?;
    if options.roles_only && (!parsed.clients.is_empty() || parsed.providers.is_some()) {
        anyhow::bail!(
            "{origin}: a roles file holds [roles] and [scopes] only, no clients or providers"
        );
    }
    let (desired, wanted, declared) = load(origin, parsed, limits, env, &options)?;
    let plan_all = |c: &mut DbConnection| -> anyhow::Result<Plan> {
        let clients = if options.roles_only {
            Vec::new()
        } else {
            plan(origin, &desired, &stored(c)?, options.prune)?
        };
        let role_changes = roles::plan(
            &wanted,
            &roles::stored(c)?,
            options.prune,
            &options.default_role,
        )
        .map_err(|e| {
            let lines: Vec<String> = e.lines().map(|l| format!("{origin}: {l}")).collect();
            anyhow::anyhow!("{}", lines.join("\n"))
        })?;
        let provider_changes =
            providers::plan(declared.as_deref(), &providers::stored(c)?, options.prune);
        Ok((clients, role_changes, provider_changes))
    };
    if options.dry_run {
        let (clients, role_changes, provider_changes) = plan_all(conn)?;
        let mut changes: Vec<String> = clients.iter().map(Change::to_string).collect();
        changes.extend(role_changes.iter().map(roles::Change::to_string));
        changes.extend(provider_changes.iter().map(providers::Change::to_string));
        return Ok(Outcome {
            changes,
            secrets: Vec::new(),
        });
    }
    store::write_transaction(conn, |c| {
        leases::lock_until_commit(c, LOCK, now)?;
        let (clients, role_changes, provider_changes) = plan_all(c)?;
        if options.require_secret_source {
            if let Some(name) = clients.iter().find_map(made_up_secret) {
                anyhow::bail!(
                    "client {name:?} is confidential and needs secret_env or secret_file here \
                     (a secret made now would be shown to no one)"
                );
            }
        }
        let mut outcome = Outcome::default();
        for change in clients {
            outcome.changes.push(change.to_string());
            if let Some(made) = write(c, change, now)? {
                outcome.secrets.push(made);
            }
        }
        let actor = Actor {
            name: if options.roles_only {
                ROLES_FILE
            } else {
                admin_clients::APPLY
            },
            meta: None,
        };
        for change in role_changes {
            outcome.changes.push(change.to_string());
            roles::write(c, &change, &options.default_role, actor, now)?;
        }
        for change in provider_changes {
            outcome.changes.push(change.to_string());
            providers::write(c, &change, actor, now)?;
        }
        Ok(outcome)
    })
}

/// The clients', the roles' and scopes', and the providers' changes.
type Plan = (Vec<Change>, Vec<roles::Change>, Vec<providers::Change>);

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

/// The operators' clients, the roles and the scope descriptions as the document that would
/// describe them, in `format`.
pub fn export(conn: &mut DbConnection, format: Format) -> anyhow::Result<String> {
    let managed: Vec<Client> = stored(conn)?.into_iter().filter(diff::is_managed).collect();
    let current = roles::stored(conn)?;
    let exported = document::Exported {
        clients: managed.iter().map(document::ClientEntry::of).collect(),
        roles: current
            .roles
            .iter()
            .map(|r| (r.name.clone(), role_entries::RoleEntry::of(r)))
            .collect(),
        scopes: current
            .scopes
            .iter()
            .map(|(s, t)| (s.clone(), role_entries::ScopeEntry::of(t)))
            .collect(),
        providers: providers::stored(conn)?
            .iter()
            .map(|p| (p.name.clone(), providers::ProviderEntry::of(p)))
            .collect(),
    };
    document::export(&exported, format).map_err(anyhow::Error::msg)
}

/// What a document wants: clients, roles and scopes, providers (`None`: no such section).
type Wants = (
    Vec<Desired>,
    roles::Wanted,
    Option<Vec<crate::federation::declared::Declared>>,
);

/// Validates a parsed document into the clients, roles and scopes, and providers it wants;
/// every problem is reported, each naming its line and entry.
fn load(
    origin: &str,
    parsed: Parsed,
    limits: &Limits,
    env: &dyn Fn(&str) -> Option<String>,
    options: &Options,
) -> anyhow::Result<Wants> {
    let mut problems = Vec::new();
    let mut desired = Vec::new();
    for Located { line, entry } in parsed.clients {
        match desire(&entry, limits, env) {
            Ok(mut client) => {
                client.line = line;
                desired.push(client);
            }
            Err(why) => problems.push(format!("{origin}:{line}: client {:?}: {why}", entry.name)),
        }
    }
    let wanted = roles::check(origin, parsed.roles, parsed.scopes, &mut problems);
    let declared = providers::check(
        origin,
        parsed.providers,
        &options.configured_providers,
        env,
        &mut problems,
    );
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }
    Ok((desired, wanted, declared))
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
