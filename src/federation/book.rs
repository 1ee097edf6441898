//! This instance's upstream providers: the ones `[federation]` configures, then the ones
//! `portcullis apply` declared in the database, each with its client secret read from THIS
//! machine's environment or file. Handlers read `current()` (no query); the server re-reads
//! the table every [`RELOAD_EVERY`] and swaps the providers only when they changed, so the
//! discovered metadata of the others stays cached. A declared provider whose secret can't be
//! read here, or whose name a configured one has, stays off with a warning (once).
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::{admin, Provider, Providers};
use crate::config::FederationSettings;
use crate::store::DbConnection;

/// How often every instance re-reads the declared providers.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// Where a declared provider's secret is looked up (the process environment, in the server).
pub type Env = dyn Fn(&str) -> Option<String> + Send + Sync;

pub struct ProviderBook {
    configured: Vec<Provider>,
    current: RwLock<Arc<Providers>>,
    /// Declared providers off here, with why (each warned about once).
    off: Mutex<BTreeMap<String, String>>,
    env: Box<Env>,
}

impl ProviderBook {
    /// The configured providers only (no database).
    pub fn new(fed: &FederationSettings, env: Box<Env>) -> anyhow::Result<ProviderBook> {
        Ok(ProviderBook {
            configured: Providers::configured(fed),
            current: RwLock::new(Arc::new(Providers::from_settings(fed)?)),
            off: Mutex::new(BTreeMap::new()),
            env,
        })
    }

    /// The configured providers and those declared in the database.
    pub fn load(
        fed: &FederationSettings,
        env: Box<Env>,
        conn: &mut DbConnection,
    ) -> anyhow::Result<ProviderBook> {
        let book = ProviderBook::new(fed, env)?;
        book.reload(conn)?;
        Ok(book)
    }

    /// The providers as last read.
    pub fn current(&self) -> Arc<Providers> {
        match self.current.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the declared providers; `true` when the providers offered changed.
    pub fn reload(&self, conn: &mut DbConnection) -> anyhow::Result<bool> {
        let mut wanted = self.configured.clone();
        let mut off = BTreeMap::new();
        for declared in admin::list(conn)? {
            if self.configured.iter().any(|p| p.name == declared.name) {
                off.insert(
                    declared.name.clone(),
                    "[federation] configures a provider of this name".to_string(),
                );
                continue;
            }
            match declared.read_secret(&*self.env) {
                Ok(secret) => wanted.push(declared.provider(secret)),
                Err(why) => {
                    off.insert(declared.name.clone(), why);
                }
            }
        }
        self.warn_once(off);
        if self.current().enabled() == wanted.as_slice() {
            return Ok(false);
        }
        let mut slot = match self.current.write() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(slot.replaced_by(wanted)?);
        Ok(true)
    }

    fn warn_once(&self, off: BTreeMap<String, String>) {
        let mut known = match self.off.lock() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (name, why) in &off {
            if known.get(name) != Some(why) {
                tracing::warn!(provider = %name, "declared upstream provider stays off here: {why}");
            }
        }
        *known = off;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use openidconnect::core::CoreProviderMetadata;
    use serde_json::json;

    use super::*;
    use crate::federation::declared::{Declared, OIDC};
    use crate::federation::Kind;
    use crate::identity::admin_users::Actor;
    use crate::store::Db;

    fn provider(name: &str, issuer: &str) -> Provider {
        Provider {
            name: name.into(),
            display_name: name.into(),
            client_id: "id".into(),
            client_secret: "s".into(),
            scopes: Vec::new(),
            kind: Kind::Oidc {
                issuer: issuer.into(),
            },
        }
    }

    fn declared(name: &str, var: &str) -> Declared {
        Declared {
            name: name.into(),
            kind: OIDC.into(),
            display_name: String::new(),
            issuer: Some("https://sso.example.com".into()),
            authorize_url: None,
            token_url: None,
            api_url: None,
            client_id: "id".into(),
            scopes: Vec::new(),
            secret_env: Some(var.into()),
            secret_file: None,
        }
    }

    #[test]
    fn a_swap_keeps_the_metadata_of_providers_that_stay_the_same() {
        let (a, b) = (
            provider("a", "https://a.example"),
            provider("b", "https://b.example"),
        );
        let old = Providers::new(vec![a.clone(), b], Duration::from_secs(5), None).unwrap();
        let meta: CoreProviderMetadata = serde_json::from_value(json!({
            "issuer": "https://a.example",
            "authorization_endpoint": "https://a.example/authorize",
            "jwks_uri": "https://a.example/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"]
        }))
        .unwrap();
        let meta = Arc::new(meta);
        for name in ["a", "b"] {
            let entry = (Instant::now(), meta.clone());
            old.discovered.lock().unwrap().insert(name.into(), entry);
        }
        let next = old
            .replaced_by(vec![a, provider("b", "https://b2.example")])
            .unwrap();
        let cache = next.discovered.lock().unwrap();
        assert_eq!(cache.keys().collect::<Vec<_>>(), ["a"]);
        assert!(next.http.is_some());
    }

    #[test]
    fn reload_swaps_only_on_a_change_and_needs_the_secret_here() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::open(&url, 2).unwrap();
        db.migrate().unwrap();
        let mut conn = db.get().unwrap();
        let env = |n: &str| (n == "HERE").then(|| "s3cret".to_string());
        let book =
            ProviderBook::load(&FederationSettings::default(), Box::new(env), &mut conn).unwrap();
        assert!(book.current().enabled().is_empty());

        let actor = Actor::CLI;
        admin::create(&mut conn, &declared("corp", "HERE"), actor, 1).unwrap();
        admin::create(&mut conn, &declared("elsewhere", "NOT_HERE"), actor, 1).unwrap();
        assert!(book.reload(&mut conn).unwrap());
        let first = book.current();
        let names: Vec<&str> = first.enabled().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["corp"]);
        assert_eq!(first.enabled()[0].client_secret, "s3cret");
        // Nothing changed: the same providers (and their metadata cache) stay.
        assert!(!book.reload(&mut conn).unwrap());
        assert!(Arc::ptr_eq(&first, &book.current()));

        admin::delete(&mut conn, "corp", actor, 2).unwrap();
        assert!(book.reload(&mut conn).unwrap());
        assert!(book.current().enabled().is_empty());
    }
}
