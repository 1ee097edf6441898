//! A client's keys, resolved: by value from its row, or fetched from its `jwks_uri` through the
//! SSRF-hardened fetcher (`metadata_document::fetch`) and kept in memory for [`TTL_SECS`]. A
//! JWT whose `kid` the cached set lacks makes one fetch again, at most once per
//! [`REFETCH_SECS`] per URL, so a client can rotate its keys without waiting out the cache and
//! an attacker naming unknown kids cannot make us fetch at will.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use josekit::jwk::JwkSet;

use super::verify::{self, Refusal, Verified};
use super::{parse_fetched_jwks, parse_jwks};
use crate::config::ClientSettings;
use crate::oauth::metadata_document::fetch::Fetcher;
use crate::oauth::Client;

/// How long a fetched JWKS is used before it is fetched again.
pub const TTL_SECS: i64 = 300;

/// The shortest time between two fetches of one URL forced by an unknown `kid`.
pub const REFETCH_SECS: i64 = 30;

/// The largest JWKS fetched, in bytes.
pub const MAX_FETCHED_BYTES: usize = 64 * 1024;

/// The most URLs cached at once (beyond, expired entries go, then all).
const MAX_ENTRIES: usize = 1024;

#[derive(Debug, Clone)]
struct Entry {
    keys: Arc<JwkSet>,
    fetched_at: i64,
    /// When an unknown `kid` last made a fetch.
    forced_at: Option<i64>,
}

/// The fetcher and the cache of fetched key sets (one per process, in `AppState`).
#[derive(Debug)]
pub struct ClientKeys {
    fetcher: Fetcher,
    cache: Mutex<HashMap<String, Entry>>,
}

impl ClientKeys {
    pub fn new(rules: &ClientSettings) -> anyhow::Result<ClientKeys> {
        Ok(ClientKeys {
            fetcher: Fetcher::for_jwks(rules, MAX_FETCHED_BYTES)?,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Verifies `jwt` (at most `max_len` bytes) with one of `client`'s keys. The error
    /// completes "the JWT …" (a client without keys: "… cannot be verified: …").
    pub async fn verify(
        &self,
        client: &Client,
        jwt: &str,
        max_len: usize,
        now: i64,
    ) -> Result<Verified, String> {
        if let Some(text) = &client.jwks {
            let keys = parse_jwks(text).map_err(|e| format!("cannot be verified: {e}"))?;
            return verify::verify(jwt, &keys, max_len).map_err(|r| r.reason());
        }
        let Some(uri) = &client.jwks_uri else {
            return Err("cannot be verified: this client has no keys".into());
        };
        let keys = self.keys_at(uri, false, now).await?;
        match verify::verify(jwt, &keys, max_len) {
            Err(Refusal::UnknownKid) => {
                let keys = self.keys_at(uri, true, now).await?;
                verify::verify(jwt, &keys, max_len).map_err(|r| r.reason())
            }
            other => other.map_err(|r| r.reason()),
        }
    }

    /// The key set at `uri`: cached while fresh; fetched again when stale, or when `force`d and
    /// the last fetch is older than [`REFETCH_SECS`].
    async fn keys_at(&self, uri: &str, force: bool, now: i64) -> Result<Arc<JwkSet>, String> {
        let cached = self.cached(uri);
        if let Some(entry) = &cached {
            let fresh = (0..TTL_SECS).contains(&(now - entry.fetched_at));
            let forced_lately = entry
                .forced_at
                .is_some_and(|t| (0..REFETCH_SECS).contains(&(now - t)));
            if (fresh && !force) || (force && forced_lately) {
                return Ok(entry.keys.clone());
            }
        }
        let forced_at = if force {
            Some(now)
        } else {
            cached.and_then(|e| e.forced_at)
        };
        let url = super::check_jwks_uri(uri)
            .map_err(|e| format!("cannot be verified: the client's {e}"))?;
        let fetched = self
            .fetcher
            .fetch(&url)
            .await
            .map_err(|why| format!("cannot be verified: the client's jwks_uri {uri}: {why}"))?;
        let keys = parse_fetched_jwks(&fetched.body)
            .map(Arc::new)
            .map_err(|why| format!("cannot be verified: the client's jwks_uri {uri}: {why}"))?;
        self.store(
            uri,
            Entry {
                keys: keys.clone(),
                fetched_at: now,
                forced_at,
            },
        );
        Ok(keys)
    }

    fn cached(&self, uri: &str) -> Option<Entry> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(uri).cloned()
    }

    fn store(&self, uri: &str, entry: Entry) {
        let now = entry.fetched_at;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, e| now - e.fetched_at < TTL_SECS);
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(uri.to_string(), entry);
    }
}
