//! `portcullis apikey create | list | revoke`
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;
use crate::identity::api_keys::{self, KeyInfo, NewKey};
use crate::identity::roles::Roles;
use crate::identity::users;
use crate::oauth::registration::split_list;
use crate::store::api_keys as key_store;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a user; prints it once.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        /// Within the user's permissions; none: all of them.
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        #[arg(long, value_name = "N")]
        expires_in_days: Option<i64>,
    },
    /// List keys (no secrets), of one user or all.
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a key.
    Revoke { id: String },
}

pub fn run(settings: &Settings, cmd: ApiKeyCommand) -> anyhow::Result<ExitCode> {
    let access = match cmd {
        ApiKeyCommand::List { .. } => super::Access::Read,
        _ => super::Access::Write,
    };
    let db = super::database::open(settings, access)?;
    let mut conn = db.get()?;
    let now = super::now();
    let roles = Roles::read(&mut conn)?;
    match cmd {
        ApiKeyCommand::Create {
            user,
            name,
            scopes,
            expires_in_days,
        } => {
            let owner = users::find_by_email(&mut conn, &user)?;
            let created = api_keys::create(
                &mut conn,
                &roles,
                &owner,
                NewKey {
                    name,
                    scopes: split_list(&scopes),
                    expires_in_days,
                },
                None,
                None,
                now,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            super::print_json(&created)
        }
        ApiKeyCommand::List { user } => {
            let user_id = match user {
                Some(email) => Some(users::find_by_email(&mut conn, &email)?.id),
                None => None,
            };
            let keys: Vec<KeyInfo> = key_store::list(&mut conn, user_id.as_deref())?
                .iter()
                .map(KeyInfo::from)
                .collect();
            super::print_json(&keys)
        }
        ApiKeyCommand::Revoke { id } => {
            api_keys::revoke(&mut conn, None, &id, None, Some("cli"), now)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            super::print_json(&serde_json::json!({ "revoked": id }))
        }
    }
}
