//! `portcullis keys list | rotate | import | rewrap`: the signing keys in the database.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::config::Settings;
use crate::tokens::keys::{kek, ops, Alg, Kek, Policy};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys: status, and when each is published, signs, retires and is removed.
    List,
    /// Schedule a new key for each of keys.algorithms (or --alg): published now, signing after
    /// keys.publish_ahead_secs; the old key stays published until its tokens expire.
    Rotate {
        #[arg(long, value_name = "ALG")]
        alg: Option<String>,
        /// Sign with the new key at once (an emergency, e.g. a leaked key). Instances keep
        /// signing with the old key until they reload (keys.reload_interval_secs), and resource
        /// servers holding a cached JWKS refuse the new tokens until the cache expires
        /// (keys.jwks_max_age_secs). The old key stays published until its tokens expire.
        #[arg(long)]
        now: bool,
    },
    /// Import the RSA PEM files of an earlier version (`<created ms>-<kid>.pem`) from DIR.
    Import { dir: PathBuf },
    /// Re-encrypt every private key under a new key-encryption key read from FILE (standard
    /// base64 of 32 bytes); then give every instance that key and restart them.
    Rewrap {
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
}

pub fn run(settings: &Settings, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let now = super::now();
    let policy = Policy::from_settings(settings);
    let access = match cmd {
        KeysCommand::List => super::Access::Read,
        _ => super::Access::Write,
    };
    let db = super::database::open(settings, access)?;
    let mut conn = db.get()?;
    match cmd {
        KeysCommand::List => super::print_json(&ops::list(&mut conn, &policy, now)?),
        KeysCommand::Rotate { alg, now: at_once } => {
            let algs = match alg {
                Some(a) => vec![a.parse::<Alg>()?],
                None => policy.algorithms.clone(),
            };
            let kek = kek::resolve(settings, true)?;
            let out = ops::rotate_audited(&mut conn, &kek, &policy, &algs, at_once, "cli", now)?;
            super::print_json(&out)
        }
        KeysCommand::Import { dir } => {
            let kek = kek::resolve(settings, true)?;
            let kids = ops::import(&mut conn, &kek, &dir)?;
            for kid in &kids {
                ops::record_key_event(&mut conn, "import", kid, Alg::RS256, false, "cli", now)?;
            }
            super::print_json(&serde_json::json!({ "imported": kids }))
        }
        KeysCommand::Rewrap { new_key_file } => {
            let old = kek::resolve(settings, false)?;
            let text = std::fs::read_to_string(&new_key_file)
                .with_context(|| format!("reading {}", new_key_file.display()))?;
            let new =
                Kek::from_base64(&text).with_context(|| format!("{}", new_key_file.display()))?;
            if new.id() == old.id() {
                bail!("the new key is the key in use");
            }
            // The signing keys and the authenticator-app secrets, all or nothing.
            let (count, totp) = crate::store::write_transaction(&mut conn, |c| {
                let count = ops::rewrap(c, &old, &new)?;
                let totp = crate::identity::totp::rewrap(c, &old, &new)?;
                Ok::<_, anyhow::Error>((count, totp))
            })?;
            super::print_json(&serde_json::json!({
                "rewrapped": count,
                "totp_secrets_rewrapped": totp,
                "old_kek_id": old.id(),
                "new_kek_id": new.id(),
            }))
        }
    }
}
