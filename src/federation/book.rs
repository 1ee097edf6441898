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
        let mut slot = match self.current.write() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if slot.enabled() == wanted.as_slice() {
            return Ok(false);
        }
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
