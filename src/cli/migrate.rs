//! `portcullis migrate [--dry-run]`: apply the pending migrations, or only list them.
use std::path::Path;
use std::process::ExitCode;

use crate::config::{redact_url_password, Settings};
use crate::store::{self, DatabaseKind, Db};

pub fn run(settings: &Settings, dry_run: bool) -> anyhow::Result<ExitCode> {
    let url = &settings.database_url;
    eprintln!("using database {}", redact_url_password(url));
    if dry_run {
        return super::print_json(&serde_json::json!({
            "dry_run": true,
            "pending": pending(url)?,
        }));
    }
    let db = Db::open(url, 1)?;
    let pending = store::pending_migrations(&mut *db.get()?)?;
    let applied = db.migrate()?;
    let roles = crate::identity::role_seed::seed(&mut *db.get()?, settings, super::now())?;
    super::print_json(&serde_json::json!({
        "applied": applied,
        "migrations": pending,
        "roles": roles,
    }))
}

/// The migrations `migrate` would apply, without creating or changing anything: a missing SQLite
/// file or a database without the schema has them all pending.
fn pending(url: &str) -> anyhow::Result<Vec<String>> {
    let kind = DatabaseKind::from_url(url)?;
    if let DatabaseKind::Sqlite(path) = &kind {
        if !Path::new(path).exists() {
            return store::known_migrations(&kind);
        }
    }
    let db = Db::open(url, 1)?;
    let mut conn = db.get()?;
    if !store::has_schema(&mut conn)? {
        return store::known_migrations(&kind);
    }
    store::pending_migrations(&mut conn)
}
