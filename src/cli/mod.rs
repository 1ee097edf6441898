//! The operator CLI (DESIGN §5). Commands that create something print one JSON object on
//! stdout; logs and errors go to stderr; failures exit non-zero. Stdout is written only through
//! `output` (a closed pipe ends the command quietly), the database opened only through
//! `database` (read commands never create one).
//!
//! Unknown `PORTCULLIS_*` variables are warnings for every command (the server still starts)
//! and errors for `config check`; Kubernetes service-link variables are logged at debug.
mod apikey;
mod apply;
mod audit;
mod client;
mod config;
mod database;
mod health;
mod keys;
mod migrate;
mod output;
mod purge;
mod serve;
mod user;

use database::Access;
use output::print_json;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Migrate {
        /// Only list the pending migrations; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete expired and dead rows now (sessions, refresh tokens, codes, old audit events, …).
    Purge,
    /// Make the operators' clients, the roles and the scopes' consent descriptions what FILE
    /// (TOML, or YAML when it ends in .yaml / .yml) says: create, update and, with --prune,
    /// delete; prints one line per change, or `no changes`.
    Apply {
        file: PathBuf,
        /// Also delete the clients made with `client create` or `apply` that FILE does not
        /// name (never dynamically registered or metadata-document clients) and, when FILE has
        /// a `roles` or `scopes` section, the roles (never one users have) and scope
        /// descriptions it does not name.
        #[arg(long)]
        prune: bool,
        /// Print the changes; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the operators' clients, the roles and the scope descriptions as a document for
    /// `apply` (no secrets).
    Export {
        /// `toml` or `yaml`.
        #[arg(long, value_enum, default_value_t = apply::ExportFormat::Toml)]
        format: apply::ExportFormat,
    },
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(Box<client::ClientCommand>),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(apikey::ApiKeyCommand),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Roles and their permissions.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
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

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// List roles with their permissions.
    List,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print events as JSON lines, newest first.
    List {
        /// Only this user's events (email).
        #[arg(long)]
        user: Option<String>,
        /// Only this kind (login, lockout, token_issued, refresh_reuse_detected, …).
        #[arg(long)]
        kind: Option<String>,
        /// Only events this recent (30m, 24h, 7d).
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Verify an access token against the current keys; print its claims.
    Verify { token: String },
}

pub fn run(cli: Cli) -> ExitCode {
    let loaded = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: configuration: {e:#}");
            return ExitCode::from(2);
        }
    };
    let settings = loaded.settings;
    let command = cli.command.unwrap_or(Command::Serve);
    let level = if matches!(command, Command::Serve) {
        "info"
    } else {
        "warn"
    };
    crate::telemetry::init(settings.log_format, level);
    for name in &loaded.service_links {
        tracing::debug!("ignoring Kubernetes service-link variable {name}");
    }
    let check = matches!(command, Command::Config(config::ConfigCommand::Check));
    if !check {
        for problem in &loaded.unknown_env {
            tracing::warn!("{problem}: ignored");
        }
    }
    let result = match command {
        Command::Serve => serve::serve(settings),
        Command::Migrate { dry_run } => migrate::run(&settings, dry_run),
        Command::Purge => purge::run(&settings),
        Command::Apply {
            file,
            prune,
            dry_run,
        } => apply::apply(&settings, &file, prune, dry_run),
        Command::Export { format } => apply::export(&settings, format),
        Command::Client(c) => client::run(&settings, *c),
        Command::Keys(c) => keys::run(&settings, c),
        Command::Config(c) => config::run(&settings, &loaded.unknown_env, c),
        Command::User(c) => user::run(&settings, c),
        Command::Apikey(c) => apikey::run(&settings, c),
        Command::Roles(RolesCommand::List) => user::list_roles(&settings),
        Command::Audit(AuditCommand::List {
            user,
            kind,
            since,
            limit,
        }) => audit::list(
            &settings,
            audit::AuditFilter {
                user,
                kind,
                since,
                limit,
            },
        ),
        Command::Token(TokenCommand::Verify { token }) => audit::verify(&settings, &token),
        Command::Health { url } => health::run(&settings, url),
    };
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`… | head -1`): nothing more to say, not a failure.
        Err(e) if output::is_stdout_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn now() -> i64 {
    use crate::clock::Clock;
    crate::clock::SystemClock.now()
}
