//! Clients held in memory for client authentication (`/token`, `/introspect`, `/revoke`), so an
//! unchanged client costs no database round trip per request, and a `client_credentials` grant
//! none at all (`http::token`).
//!
//! When a copy is stale:
//! - a change this process made is seen by the next request (`store::clients::local_changes`,
//!   counted once the job that made it ended, so a re-read can only find what is committed);
//! - a change made anywhere else (the CLI, `apply`, another instance) raises the
//!   database's `clients` change counter (triggers), which every instance polls every
//!   `clients.cache_refresh_ms`: it takes effect there within that interval (at most three
//!   intervals when the database is slow to answer the read);
//! - copies are used only while the counter was read within three intervals: when the
//!   database cannot be read, every request reads (and fails) as without the cache.
//!
//! A copy is kept only if nothing changed while it was read (its load is tagged with the
//! cache's epoch and refused when the epoch moved). Clients defined by a metadata document are
//! never cached (their document expires on its own schedule). Credentials a copy refuses are
//! checked again against the client as read now (`authenticate`), so a new secret works at
//! once; every other setting of a client changed elsewhere (grants, scopes, deletion) takes
//! effect within the interval. `cache_refresh_ms = 0` turns the cache off: every request reads
//! the client.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::{client_auth, Client, ClientStore, OAuthError};
use crate::store::clients as store;

/// At most this many clients are held; beyond it, clients are read on every request until the
/// next change empties the cache.
pub const MAX_CLIENTS: usize = 4096;

pub struct ClientCache {
    /// `None`: off.
    interval: Option<Duration>,
    state: RwLock<State>,
    /// How many changes this process has committed (`store::clients::local_changes`).
    local_changes: fn() -> u64,
}

#[derive(Default)]
struct State {
    /// Moves on every change seen; a load tagged with an older epoch is not kept.
    epoch: u64,
    /// `store::clients::local_changes()` when last looked at.
    local: u64,
    /// The database's change counter as last read, and when.
    counter: Option<i64>,
    read_at: Option<Instant>,
    clients: HashMap<String, Arc<Client>>,
}

impl State {
    fn forget(&mut self) {
        self.epoch += 1;
        self.clients.clear();
    }
}

impl ClientCache {
    /// A cache whose change counter is read every `refresh_ms` (0: no cache).
    pub fn new(refresh_ms: u64) -> ClientCache {
        ClientCache::counting(refresh_ms, store::local_changes)
    }

    /// A cache that learns of this process's changes from `local_changes`.
    fn counting(refresh_ms: u64, local_changes: fn() -> u64) -> ClientCache {
        ClientCache {
            interval: (refresh_ms > 0).then(|| Duration::from_millis(refresh_ms)),
            state: RwLock::new(State::default()),
            local_changes,
        }
    }

    /// How often the change counter is to be read (`None`: the cache is off).
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets everything when this process changed a client since last looked.
    fn catch_up_local(&self) {
        let local = (self.local_changes)();
        if self.read().local != local {
            let mut state = self.write();
            if state.local != local {
                state.local = local;
                state.forget();
            }
        }
    }

    /// The held copy of `id`, if any and current.
    pub fn get(&self, id: &str) -> Option<Arc<Client>> {
        let interval = self.interval?;
        self.catch_up_local();
        let state = self.read();
        let fresh = state.read_at.is_some_and(|at| at.elapsed() <= interval * 3);
        if !fresh {
            return None;
        }
        state.clients.get(id).cloned()
    }

    /// The tag for a load about to start (see `keep`).
    pub fn epoch(&self) -> u64 {
        self.catch_up_local();
        self.read().epoch
    }

    /// Keeps `client`, read after `epoch()` answered `epoch`, unless something changed since.
    pub fn keep(&self, epoch: u64, client: &Client) {
        if self.interval.is_none() || client.is_metadata_document() {
            return;
        }
        self.catch_up_local();
        let mut state = self.write();
        if state.epoch == epoch
            && (state.clients.len() < MAX_CLIENTS || state.clients.contains_key(&client.id))
        {
            state
                .clients
                .insert(client.id.clone(), Arc::new(client.clone()));
        }
    }

    /// The poller's reading of the database's change counter: forgets everything when it moved
    /// (or is read for the first time). `true` when it moved.
    pub fn observe(&self, counter: i64) -> bool {
        let mut state = self.write();
        state.read_at = Some(Instant::now());
        if state.counter == Some(counter) {
            return false;
        }
        state.counter = Some(counter);
        state.forget();
        true
    }

    /// How many clients are held now.
    pub fn len(&self) -> usize {
        self.read().clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the database's change counter every `cache.interval()` for as long as the server
/// runs (nothing when the cache is off). The read takes a pooled connection on a blocking
/// thread of its own, not a place in the database job queue: under overload, when that queue
/// is full, the cache must keep working. A failed read changes nothing here: once reads have
/// failed for three intervals, `get` stops answering.
pub async fn watch(cache: Arc<ClientCache>, db: crate::store::Db) {
    let Some(interval) = cache.interval() else {
        return;
    };
    let mut failing = false;
    loop {
        let pool = db.clone();
        let read = tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
            let mut conn = pool.get()?;
            Ok(store::change_counter(&mut conn)?)
        })
        .await
        .map_err(anyhow::Error::from)
        .and_then(|r| r);
        match read {
            Ok(counter) => {
                if failing {
                    tracing::info!("the client change counter is readable again");
                    failing = false;
                }
                cache.observe(counter);
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %format!("{e:#}"), "reading the client change counter failed; cached clients are dropped until it works");
            }
            Err(_) => {}
        }
        tokio::time::sleep(interval).await;
    }
}

/// Client authentication through the cache: the held copy when it lets the request through;
/// otherwise the client as read now, which decides (a stale copy never refuses the client's
/// current credentials).
pub fn authenticate<S: ClientStore>(
    store: &mut S,
    cache: &ClientCache,
    creds: &client_auth::Credentials,
) -> Result<Client, OAuthError> {
    let mut first = Cached::new(&mut *store, cache);
    match client_auth::authenticate(&mut first, creds) {
        Err(_) if first.served_copy => {
            let mut fresh = Cached::new(store, cache);
            fresh.fresh = true;
            client_auth::authenticate(&mut fresh, creds)
        }
        other => other,
    }
}

/// Authentication against the held copy alone, with no database work: the client when the
/// request's secret (HTTP Basic or the body; no assertion) lets it through and the client's
/// profile allows that method; `None` otherwise (uncached, a metadata-document client, refused:
/// the caller's database path then decides, and answers any error).
pub fn authenticate_held(cache: &ClientCache, creds: &client_auth::Credentials) -> Option<Client> {
    let held = cache.get(&creds.client_id)?;
    let client = client_auth::authenticate(&mut Held(&held), creds).ok()?;
    super::profile::check_client_authentication(&client, creds.method).ok()?;
    (!client.is_metadata_document()).then_some(client)
}

/// A store holding one client (the held copy `authenticate_held` checks against).
struct Held<'a>(&'a Client);

impl ClientStore for Held<'_> {
    fn find_client(&mut self, id: &str) -> anyhow::Result<Option<Client>> {
        Ok((self.0.id == id).then(|| self.0.clone()))
    }

    fn remember_assertion(&mut self, _: &str, _: i64) -> anyhow::Result<bool> {
        Ok(false)
    }
}

/// A `ClientStore` that answers from the cache when it can (unless `fresh`) and keeps what it
/// reads.
pub struct Cached<'a, S: ClientStore> {
    pub store: &'a mut S,
    pub cache: &'a ClientCache,
    /// Read the client even when a copy is held.
    pub fresh: bool,
    /// Whether an answer came from a held copy.
    pub served_copy: bool,
}

impl<'a, S: ClientStore> Cached<'a, S> {
    pub fn new(store: &'a mut S, cache: &'a ClientCache) -> Self {
        Cached {
            store,
            cache,
            fresh: false,
            served_copy: false,
        }
    }
}

impl<S: ClientStore> ClientStore for Cached<'_, S> {
    fn find_client(&mut self, id: &str) -> anyhow::Result<Option<Client>> {
        if !self.fresh {
            if let Some(client) = self.cache.get(id) {
                self.served_copy = true;
                return Ok(Some((*client).clone()));
            }
        }
        let epoch = self.cache.epoch();
        let found = self.store.find_client(id)?;
        if let Some(client) = &found {
            self.cache.keep(epoch, client);
        }
        Ok(found)
    }

    fn remember_assertion(&mut self, key: &str, expires_at: i64) -> anyhow::Result<bool> {
        self.store.remember_assertion(key, expires_at)
    }
}

#[cfg(test)]
#[path = "client_cache_tests.rs"]
mod tests;
