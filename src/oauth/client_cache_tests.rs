//! Unit tests of `client_cache`.
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::oauth::GrantType;

/// "Local changes" of one test's own (the process-wide count moves with other tests).
static LOCAL: AtomicU64 = AtomicU64::new(0);

fn moving() -> u64 {
    LOCAL.load(Ordering::SeqCst)
}

fn local() -> u64 {
    0
}

fn client(id: &str, secret: &str) -> Client {
    Client {
        id: id.into(),
        name: id.into(),
        secret_hash: Some(crate::tokens::secret::hash_secret(secret)),
        public: false,
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec![],
        skip_consent: false,
        ..crate::oauth::client::account_client()
    }
}

/// A store that counts its reads.
struct Counting(HashMap<String, Client>, usize);

impl ClientStore for Counting {
    fn find_client(&mut self, id: &str) -> anyhow::Result<Option<Client>> {
        self.1 += 1;
        Ok(self.0.get(id).cloned())
    }

    fn remember_assertion(&mut self, _: &str, _: i64) -> anyhow::Result<bool> {
        Ok(true)
    }
}

fn find(store: &mut Counting, cache: &ClientCache, id: &str) -> Option<Client> {
    Cached::new(store, cache).find_client(id).unwrap()
}

#[test]
fn an_unchanged_client_is_read_once() {
    let cache = ClientCache::counting(500, local);
    let mut store = Counting(HashMap::from([("a".into(), client("a", "s1"))]), 0);
    // Before the change counter was ever read, nothing is served from memory.
    assert!(find(&mut store, &cache, "a").is_some());
    assert!(find(&mut store, &cache, "a").is_some());
    assert_eq!(store.1, 2);
    cache.observe(7);
    for _ in 0..5 {
        assert_eq!(find(&mut store, &cache, "a").unwrap().id, "a");
    }
    assert_eq!(store.1, 3);
    // Unknown clients are not remembered: each is read.
    assert!(find(&mut store, &cache, "nobody").is_none());
    assert!(find(&mut store, &cache, "nobody").is_none());
    assert_eq!(store.1, 5);
}

#[test]
fn a_moved_counter_or_a_local_change_forgets_everything() {
    let cache = ClientCache::counting(500, moving);
    let mut store = Counting(HashMap::from([("a".into(), client("a", "s1"))]), 0);
    cache.observe(1);
    find(&mut store, &cache, "a");
    assert_eq!(cache.len(), 1);
    // The same reading changes nothing.
    assert!(!cache.observe(1));
    assert_eq!(cache.len(), 1);
    // Changed elsewhere: the next request reads the new secret.
    store.0.insert("a".into(), client("a", "s2"));
    assert!(cache.observe(2));
    assert!(cache.is_empty());
    let fresh = find(&mut store, &cache, "a").unwrap();
    assert_eq!(fresh.secret_hash, client("a", "s2").secret_hash);
    // Changed by this process: forgotten at the next look, without waiting for the poller.
    store.0.insert("a".into(), client("a", "s3"));
    LOCAL.fetch_add(1, Ordering::SeqCst);
    let fresh = find(&mut store, &cache, "a").unwrap();
    assert_eq!(fresh.secret_hash, client("a", "s3").secret_hash);
}

#[test]
fn a_load_overtaken_by_a_change_is_not_kept() {
    let cache = ClientCache::counting(500, local);
    cache.observe(1);
    let epoch = cache.epoch();
    // The row was read (old), then the change committed and the poller saw it.
    cache.observe(2);
    cache.keep(epoch, &client("a", "old"));
    assert!(cache.get("a").is_none());
    // A load started after the change is kept.
    let epoch = cache.epoch();
    cache.keep(epoch, &client("a", "new"));
    assert!(cache.get("a").is_some());
}

#[test]
fn off_stale_or_document_clients_are_never_served() {
    let off = ClientCache::counting(0, local);
    off.observe(1);
    off.keep(off.epoch(), &client("a", "s"));
    assert!(off.get("a").is_none());
    assert_eq!(off.interval(), None);

    let cache = ClientCache::counting(1, local);
    cache.observe(1);
    let doc = Client {
        metadata_document_expires_at: Some(10),
        ..client("https://app.example/client.json", "s")
    };
    cache.keep(cache.epoch(), &doc);
    assert!(cache.is_empty());
    cache.keep(cache.epoch(), &client("a", "s"));
    assert!(cache.get("a").is_some());
    // The counter has not been read for three intervals: the database decides again.
    std::thread::sleep(Duration::from_millis(10));
    assert!(cache.get("a").is_none());
}

#[test]
fn the_cache_is_bounded() {
    let cache = ClientCache::counting(500, local);
    cache.observe(1);
    for i in 0..MAX_CLIENTS + 10 {
        cache.keep(cache.epoch(), &client(&format!("c{i}"), "s"));
    }
    assert_eq!(cache.len(), MAX_CLIENTS);
    assert!(cache.get(&format!("c{}", MAX_CLIENTS + 5)).is_none());
}

#[test]
fn a_stale_copy_never_refuses() {
    let cache = ClientCache::counting(500, local);
    cache.observe(1);
    let mut store = Counting(HashMap::from([("a".into(), client("a", "old"))]), 0);
    find(&mut store, &cache, "a");
    // Rotated elsewhere; the poller has not seen it yet.
    store.0.insert("a".into(), client("a", "new"));
    let creds = |secret: &str| client_auth::Credentials {
        client_id: "a".into(),
        secret: Some(secret.into()),
        method: client_auth::AuthMethod::Basic,
        assertion: None,
    };
    // The new secret: the copy refuses, the client read now lets it through (and is kept).
    assert!(authenticate(&mut store, &cache, &creds("new")).is_ok());
    assert_eq!(store.1, 2);
    assert!(authenticate(&mut store, &cache, &creds("new")).is_ok());
    assert_eq!(store.1, 2);
    // A wrong secret is refused after a fresh read.
    assert!(authenticate(&mut store, &cache, &creds("wrong")).is_err());
    assert_eq!(store.1, 3);
}
