//! Signing keys, kept in the database (`signing_keys`) with their private parts sealed under the
//! key-encryption key (`kek`), so every instance shares them with no shared filesystem.
//!
//! Each key's state follows from timestamps (`schedule`): published `keys.publish_ahead_secs`
//! before it signs, superseded by the next generation of its algorithm, published after that
//! until every token it signed has expired. Every instance re-reads the (small) table every
//! `keys.reload_interval_secs` and creates what the schedule says is due (`ops::maintain`; two
//! instances doing it at once insert one key); between reads it rebuilds its snapshot (`set`)
//! at the moments a status changes.
mod alg;
pub mod kek;
mod legacy;
pub mod ops;
pub mod schedule;
mod set;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use josekit::jws::JwsSigner;

pub use alg::{thumbprint, Alg, ALL as ALGORITHMS};
pub use kek::Kek;
pub use schedule::{KeyStatus, Policy};
pub use set::{KeyInfo, KeySet, NoSigningKey, SigningKey};

use crate::config::Settings;
use crate::store::signing_keys::{self, SigningKeyRow};
use crate::store::DbConnection;

/// Extra time a retired key stays published beyond the longest token lifetime (clock skew).
pub const PUBLISH_LEEWAY_SECS: i64 = 300;

impl Policy {
    pub fn from_settings(s: &Settings) -> Policy {
        Policy {
            algorithms: s.keys.algorithms.clone(),
            publish_ahead_secs: s.keys.publish_ahead_secs,
            rotate_every_secs: i64::from(s.keys.rotate_every_days) * 86_400,
            removal_delay_secs: s.tokens.max_access_token_ttl_secs + PUBLISH_LEEWAY_SECS,
            rsa_bits: s.keys.rsa_bits,
        }
    }
}

/// The key set of a running server (or a command), rebuilt when the rows or the time say so.
pub struct KeyStore {
    /// `None`: verify only (no private key is ever opened).
    kek: Option<Kek>,
    policy: Policy,
    loaded: Mutex<Loaded>,
    current: RwLock<Arc<KeySet>>,
}

#[derive(Default)]
struct Loaded {
    rows: Vec<SigningKeyRow>,
    /// Opened private keys by kid: each is opened once per process.
    signers: HashMap<String, Arc<dyn JwsSigner>>,
}

impl KeyStore {
    /// The server's store: imports the PEM files of an earlier version from `legacy_dir` when the
    /// database has no key yet, creates what is due (the first keys on a fresh database), loads.
    pub fn open(
        conn: &mut DbConnection,
        kek: Kek,
        policy: Policy,
        legacy_dir: Option<&Path>,
        now: i64,
    ) -> anyhow::Result<KeyStore> {
        if let Some(dir) = legacy_dir {
            if ops::is_empty(conn)? && !legacy::key_files(dir)?.is_empty() {
                let kids = ops::import(conn, &kek, dir)?;
                tracing::info!(count = kids.len(), dir = %dir.display(), "imported the signing keys of the keys directory into the database; the files are no longer read");
            }
        }
        ops::maintain(conn, &kek, &policy, now)?;
        Self::load(conn, Some(kek), policy, now)
    }

    /// A store that only verifies: public keys only, nothing created.
    pub fn verify_only(
        conn: &mut DbConnection,
        policy: Policy,
        now: i64,
    ) -> anyhow::Result<KeyStore> {
        Self::load(conn, None, policy, now)
    }

    fn load(
        conn: &mut DbConnection,
        kek: Option<Kek>,
        policy: Policy,
        now: i64,
    ) -> anyhow::Result<KeyStore> {
        let store = KeyStore {
            kek,
            policy,
            loaded: Mutex::new(Loaded::default()),
            current: RwLock::new(Arc::new(set::build(&[], &Policy::empty(), now, None)?)),
        };
        store.refresh_rows(signing_keys::all(conn)?, now, true)?;
        Ok(store)
    }

    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The key-encryption key (`None` in a verify-only store). It seals other secrets at rest
    /// too: authenticator-app secrets (`identity::totp`).
    pub fn kek(&self) -> Option<&Kek> {
        self.kek.as_ref()
    }

    /// The periodic step: create what is due, re-read the rows, rebuild when they changed or a
    /// status changed. Returns whether the set changed. On error the old set stays in force.
    pub fn refresh(&self, conn: &mut DbConnection, now: i64) -> anyhow::Result<bool> {
        if let Some(kek) = &self.kek {
            ops::maintain(conn, kek, &self.policy, now)?;
        }
        self.refresh_rows(signing_keys::all(conn)?, now, false)
    }

    fn refresh_rows(
        &self,
        rows: Vec<SigningKeyRow>,
        now: i64,
        force: bool,
    ) -> anyhow::Result<bool> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        let due = self.current().next_change().is_some_and(|t| now >= t);
        if !force && !due && rows == loaded.rows {
            return Ok(false);
        }
        let kek = self.kek.as_ref();
        let Loaded { signers, .. } = &mut *loaded;
        let mut open = |row: &SigningKeyRow, alg: Alg| -> anyhow::Result<Arc<dyn JwsSigner>> {
            if let Some(s) = signers.get(&row.kid) {
                return Ok(s.clone());
            }
            let kek = kek.context("no key-encryption key")?;
            let pem = kek
                .open(&row.private_key, &ops::seal_context(&row.kid, alg))
                .with_context(|| {
                    format!(
                        "signing key {} was sealed under key-encryption key {}; is keys.encryption_key the one every instance uses?",
                        row.kid, row.kek_id
                    )
                })?;
            let signer: Arc<dyn JwsSigner> = Arc::from(alg.signer_from_pem(&pem)?);
            signers.insert(row.kid.clone(), signer.clone());
            Ok(signer)
        };
        let opener: Option<&mut set::OpenSigner<'_>> =
            if kek.is_some() { Some(&mut open) } else { None };
        let new = set::build(&rows, &self.policy, now, opener)?;
        if kek.is_some() && new.signer(new.default_alg()).is_err() {
            anyhow::bail!(
                "no signing key is active (keys.algorithms: {:?})",
                self.policy.algorithms
            );
        }
        let old = self.current();
        let changed =
            new.jwks_json() != old.jwks_json() || new.signing_kids() != old.signing_kids();
        signers.retain(|kid, _| rows.iter().any(|r| &r.kid == kid));
        loaded.rows = rows;
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(new),
            Err(p) => *p.into_inner() = Arc::new(new),
        }
        Ok(changed)
    }
}

impl Policy {
    fn empty() -> Policy {
        Policy {
            algorithms: vec![],
            publish_ahead_secs: 0,
            rotate_every_secs: 0,
            removal_delay_secs: 0,
            rsa_bits: 2048,
        }
    }
}

/// A key set held in memory only, one fresh key per algorithm, signing from `now` (fakes of
/// upstream providers in tests, unit tests).
pub fn ephemeral(algorithms: &[Alg], now: i64) -> anyhow::Result<KeySet> {
    let kek = Kek::generate()?;
    let policy = Policy {
        algorithms: algorithms.to_vec(),
        ..Policy::empty()
    };
    let mut pems = HashMap::new();
    let rows = algorithms
        .iter()
        .map(|&alg| {
            let key = alg.generate(2048)?;
            pems.insert(key.kid.clone(), key.private_pem.clone());
            Ok(SigningKeyRow {
                private_key: kek.seal(&key.private_pem, "ephemeral")?,
                kek_id: kek.id().to_string(),
                kid: key.kid,
                alg: alg.name().to_string(),
                generation: 1,
                public_jwk: key.public_jwk,
                created_at: now,
                published_at: now,
                signs_from: now,
            })
        })
        .collect::<anyhow::Result<Vec<SigningKeyRow>>>()?;
    let mut open = |row: &SigningKeyRow, alg: Alg| -> anyhow::Result<Arc<dyn JwsSigner>> {
        let pem = pems.get(&row.kid).context("no such key")?;
        Ok(Arc::from(alg.signer_from_pem(pem)?))
    };
    set::build(&rows, &policy, now, Some(&mut open))
}
