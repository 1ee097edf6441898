//! The operator CLI (DESIGN §5). Commands that create something print one JSON object on
//! stdout; logs and errors go to stderr; failures exit non-zero.
mod client;
mod config;
mod health;
mod keys;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::config::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "OAuth 2.0 / OpenID Connect authorization server"
)]
pub struct Cli {
    /// Configuration file (default: ./portcullis.toml when present).
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Show or check the configuration.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Ask a running server whether it is ready.
    Health {
        /// Base URL of the server (default: the configured bind address).
        #[arg(long)]
        url: Option<String>,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: configuration: {e:#}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if !matches!(command, Command::Serve) {
        crate::telemetry::init(settings.log_format, "warn");
    }
    let result = match command {
        Command::Serve => serve::serve(settings),
        Command::Migrate => serve::migrate(&settings),
        Command::Client(c) => client::run(&settings, c),
        Command::Keys(c) => keys::run(&settings, c),
        Command::Config(c) => config::run(&settings, c),
        Command::Health { url } => health::run(&settings, url),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints one JSON document on stdout.
fn print_json(value: &impl Serialize) -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(ExitCode::SUCCESS)
}

fn now() -> i64 {
    use crate::clock::Clock;
    crate::clock::SystemClock.now()
}
