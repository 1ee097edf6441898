//! Where the roles come from at first. The server (at start) and `portcullis migrate` call
//! [`seed`]: with `users.roles_file` set, that file is applied every time with `prune` — it
//! stays the truth, as `apply_on_start` does for clients (a role it no longer names that users
//! still have stops the start, naming it); without one, an empty roles table gets the default
//! roles file shipped in the binary (`config/roles.toml`), once, and `portcullis apply` changes
//! them from then on. A database that already has users but no roles was made by a version with
//! built-in roles: it gets those (`examples/roles-education.toml`), so that no one's
//! permissions change with the upgrade. Other CLI commands call [`seed_if_empty`].
use std::path::Path;

use anyhow::Context;

use crate::config::Settings;
use crate::declarative::{self, document::Format, Options};
use crate::oauth::admin_clients::Limits;
use crate::store::{roles as role_store, DbConnection};

/// The default roles file (admin, member, guest, and the descriptions of their scopes).
pub const DEFAULT_ROLES: &str = include_str!("../../config/roles.toml");

/// The roles built in before roles were stored (admin, instructor, student, guest).
pub const FORMER_ROLES: &str = include_str!("../../examples/roles-education.toml");

/// Seeds or reconciles the roles (see the module doc); returns the changes made.
pub fn seed(conn: &mut DbConnection, settings: &Settings, now: i64) -> anyhow::Result<Vec<String>> {
    match &settings.users.roles_file {
        Some(path) => apply(conn, settings, path, now),
        None => seed_if_empty(conn, settings, now),
    }
}

/// Fills an empty roles table from `users.roles_file`, or the default roles file.
pub fn seed_if_empty(
    conn: &mut DbConnection,
    settings: &Settings,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    if role_store::count(conn)? > 0 {
        return Ok(Vec::new());
    }
    if let Some(path) = &settings.users.roles_file {
        return apply(conn, settings, path, now);
    }
    let (origin, text) = if role_store::any_users(conn)? {
        ("the former built-in roles", FORMER_ROLES)
    } else {
        ("the default roles file", DEFAULT_ROLES)
    };
    let outcome = declarative::apply_text(
        conn,
        origin,
        text,
        Format::Toml,
        options(settings),
        &Limits::from_settings(settings),
        &|_| None,
        now,
    )?;
    Ok(outcome.changes)
}

fn apply(
    conn: &mut DbConnection,
    settings: &Settings,
    path: &Path,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let outcome = declarative::apply_file(
        conn,
        path,
        Options {
            prune: true,
            ..options(settings)
        },
        &Limits::from_settings(settings),
        &|_| None,
        now,
    )
    .with_context(|| format!("users.roles_file {}", path.display()))?;
    Ok(outcome.changes)
}

fn options(settings: &Settings) -> Options {
    Options {
        default_role: settings.users.default_role.clone(),
        roles_only: true,
        ..Options::default()
    }
}

/// What is wrong with `users.roles_file` (for `config check`): unreadable, a bad document, a
/// client in it, or a `[roles]` section without `users.default_role`. Empty when it is fine
/// or unset.
pub fn problems(settings: &Settings) -> Vec<String> {
    let Some(path) = &settings.users.roles_file else {
        return Vec::new();
    };
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("users.roles_file: reading {shown}: {e}")],
    };
    let parsed = match declarative::document::parse_as(Format::of(path), &shown, &text) {
        Ok(p) => p,
        Err(e) => return vec![format!("users.roles_file: {e}")],
    };
    let mut problems = Vec::new();
    if !parsed.clients.is_empty() {
        problems.push(format!(
            "users.roles_file: {shown} holds [roles] and [scopes] only, no clients"
        ));
    }
    let wanted = declarative::roles::check(&shown, parsed.roles, parsed.scopes, &mut problems);
    let default = &settings.users.default_role;
    if let Some(roles) = &wanted.roles {
        if !roles.iter().any(|r| &r.name == default) {
            problems.push(format!(
                "users.roles_file: {shown} does not name users.default_role {default:?}"
            ));
        }
    }
    problems
}
