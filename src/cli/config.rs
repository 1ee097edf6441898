//! `portcullis config show | check`
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted).
    Show,
    /// Refuse a configuration that is unsafe for production, has unknown PORTCULLIS_* variables
    /// or a bad users.roles_file.
    Check,
}

/// `unknown_env`: the `PORTCULLIS_*` variables that name no setting (refused by `check`).
pub fn run(
    settings: &Settings,
    unknown_env: &[String],
    cmd: ConfigCommand,
) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Show => super::print_json(&settings.redacted()),
        ConfigCommand::Check => {
            let mut problems = unknown_env.to_vec();
            problems.extend(settings.production_problems());
            // The theme as the server would load it: a broken template names its file and line.
            if let Err(e) = crate::ui::Ui::load(&settings.ui) {
                problems.push(format!("{e:#}"));
            }
            problems.extend(crate::identity::role_seed::problems(settings));
            for note in settings.notes() {
                eprintln!("note: {note}");
            }
            if problems.is_empty() {
                super::print_json(&serde_json::json!({ "ok": true }))
            } else {
                for p in &problems {
                    eprintln!("error: {p}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
