//! `portcullis config show | check`
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted).
    Show,
    /// Refuse a configuration that is unsafe for production.
    Check,
}

pub fn run(settings: &Settings, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Show => super::print_json(&settings.redacted()),
        ConfigCommand::Check => {
            let problems = settings.production_problems();
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
