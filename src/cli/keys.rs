//! `portcullis keys list | rotate`
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;
use crate::identity::audit;
use crate::tokens::keys;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys with their status.
    List,
    /// Create a new signing key; running servers switch to it on SIGHUP or within
    /// keys.reload_interval_secs, and keep publishing the old one until its tokens expire.
    Rotate,
}

pub fn run(settings: &Settings, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let now = super::now();
    match cmd {
        KeysCommand::List => super::print_json(&keys::list_keys(
            &settings.keys_dir,
            settings.tokens.max_access_token_ttl_secs,
            now,
        )?),
        KeysCommand::Rotate => {
            let info = keys::rotate(&settings.keys_dir, settings.keys.rsa_bits, now)?;
            let db = super::database::open(settings, super::Access::Write)?;
            audit::record(
                &mut *db.get()?,
                audit::Event {
                    kind: audit::KEY_ROTATED,
                    success: true,
                    detail: Some(serde_json::json!({ "kid": info.kid })),
                    ..audit::Event::default()
                },
                now,
            )?;
            super::print_json(&info)
        }
    }
}
