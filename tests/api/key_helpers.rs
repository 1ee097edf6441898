//! Reaching a test server's signing keys the way an operator would: through the database and
//! the key-encryption key its settings name.
use std::process::Command;

use portcullis::tokens::keys::{kek, ops, Policy};
use portcullis::tokens::{Alg, KeyStore};

use crate::helpers::TestApp;

/// The key-encryption key test servers on PostgreSQL use (any 32 bytes, standard base64).
pub const TEST_KEK: &str = "dGVzdC1rZWstZm9yLXBvcnRjdWxsaXMtdGVzdHMhISE=";

impl TestApp {
    /// A store over the server's keys (it can sign as the server does).
    pub fn key_store(&self) -> KeyStore {
        let kek = kek::resolve(&self.settings, false).unwrap();
        let mut conn = self.db.get().unwrap();
        KeyStore::open(
            &mut conn,
            kek,
            Policy::from_settings(&self.settings),
            None,
            self.clock_now(),
        )
        .unwrap()
    }

    /// `keys rotate --now` for one algorithm, in process.
    pub fn rotate_keys_now(&self, alg: Alg) -> ops::Rotation {
        self.rotate_keys(alg, true)
    }

    /// `keys rotate [--now]` in process, at the server's (injected) time; returns the new kid.
    pub fn rotate_keys(&self, alg: Alg, immediately: bool) -> ops::Rotation {
        let kek = kek::resolve(&self.settings, false).unwrap();
        let mut conn = self.db.get().unwrap();
        let policy = Policy::from_settings(&self.settings);
        ops::rotate(&mut conn, &kek, &policy, alg, immediately, self.clock_now()).unwrap()
    }

    /// The environment a CLI command needs to reach this server's database and keys.
    pub fn cli_env(&self, cmd: &mut Command) {
        cmd.env("PORTCULLIS_DATABASE_URL", &self.settings.database_url)
            .env("PORTCULLIS_KEYS_DIR", &self.settings.keys_dir);
        if let Some(k) = &self.settings.keys.encryption_key {
            cmd.env("PORTCULLIS_KEYS__ENCRYPTION_KEY", k);
        }
        // The operator's commands read the same key settings as the server.
        let k = &self.settings.keys;
        let algorithms: Vec<&str> = k.algorithms.iter().map(|a| a.name()).collect();
        cmd.env("PORTCULLIS_KEYS__ALGORITHMS", algorithms.join(","))
            .env(
                "PORTCULLIS_KEYS__PUBLISH_AHEAD_SECS",
                k.publish_ahead_secs.to_string(),
            )
            .env(
                "PORTCULLIS_KEYS__RELOAD_INTERVAL_SECS",
                k.reload_interval_secs.to_string(),
            )
            .env(
                "PORTCULLIS_KEYS__JWKS_MAX_AGE_SECS",
                k.jwks_max_age_secs.to_string(),
            )
            .env(
                "PORTCULLIS_KEYS__ROTATE_EVERY_DAYS",
                k.rotate_every_days.to_string(),
            )
            .env(
                "PORTCULLIS_TOKENS__MAX_ACCESS_TOKEN_TTL_SECS",
                self.settings.tokens.max_access_token_ttl_secs.to_string(),
            );
    }
}
