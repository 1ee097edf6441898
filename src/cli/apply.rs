//! `portcullis apply FILE` and `portcullis export` (`declarative`): the CLI only reads the
//! flags, calls the use case and prints.
use std::path::Path;
use std::process::ExitCode;

use crate::config::Settings;
use crate::declarative::{self, document::Format, Options};
use crate::oauth::admin_clients::Limits;

/// Prints one line per change (or `no changes`), then each secret made, once, as one JSON
/// object per line.
pub fn apply(
    settings: &Settings,
    file: &Path,
    prune: bool,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let access = if dry_run {
        super::Access::Read
    } else {
        super::Access::Write
    };
    let db = super::database::open(settings, access)?;
    let options = Options {
        prune,
        dry_run,
        require_secret_source: false,
        default_role: settings.users.default_role.clone(),
        roles_only: false,
        configured_providers: settings.federation.configured_names(),
    };
    let env = |name: &str| std::env::var(name).ok();
    let limits = Limits::from_settings(settings);
    let outcome =
        declarative::apply_file(&mut *db.get()?, file, options, &limits, &env, super::now())?;
    if outcome.changes.is_empty() {
        super::output::print_line("no changes")?;
    }
    for line in &outcome.changes {
        super::output::print_line(line)?;
    }
    for made in &outcome.secrets {
        super::output::print_line(&serde_json::to_string(made)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The syntax `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Toml,
    Yaml,
}

/// Prints the document that describes the operators' clients, the roles and the scope
/// descriptions (no secrets).
pub fn export(settings: &Settings, format: ExportFormat) -> anyhow::Result<ExitCode> {
    let db = super::database::open(settings, super::Access::Read)?;
    let format = match format {
        ExportFormat::Toml => Format::Toml,
        ExportFormat::Yaml => Format::Yaml,
    };
    let text = declarative::export(&mut *db.get()?, format)?;
    super::output::print_line(text.trim_end())?;
    Ok(ExitCode::SUCCESS)
}
