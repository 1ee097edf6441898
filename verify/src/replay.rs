//! The DPoP replay cache (RFC 9449 §11.1): the proofs this process has accepted, in memory,
//! bounded in time and in size.
//!
//! A proof is remembered (by SHA-256 of its key's thumbprint and its `jti`) until it could no
//! longer pass the `iat` window: `now + 2 × window + leeway` from when it was accepted. Entries
//! are kept in acceptance order, so the expired ones are dropped from the front as new proofs
//! come. When the cache holds `capacity` unexpired proofs, a new proof is **refused** (the
//! request gets 503 `temporarily_unavailable`) rather than an unexpired entry forgotten: forgetting
//! would let that proof be replayed.
//!
//! The cache is per process: behind a load balancer, each instance has its own, so a proof
//! replayed to another instance is not caught there (its `iat` window still limits it).

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};

/// The default number of proofs remembered.
pub(crate) const DEFAULT_CAPACITY: usize = 100_000;

/// What remembering a proof found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// First time: now remembered.
    Fresh,
    /// Already remembered: a replay.
    Replayed,
    /// The cache is full of unexpired proofs: not remembered, refuse the request.
    Full,
}

pub(crate) struct ReplayCache {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    seen: HashSet<[u8; 32]>,
    /// (expires at, key), in acceptance order.
    order: VecDeque<(i64, [u8; 32])>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> ReplayCache {
        ReplayCache {
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    /// Remembers `key` until `expires_at`, first dropping what expired by `now`.
    pub(crate) fn remember(&self, key: [u8; 32], now: i64, expires_at: i64) -> Seen {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        // A clock that stepped back can leave a later expiry in front: that entry, and those
        // behind it, are then kept longer than needed, never shorter.
        while let Some(&(expiry, old)) = state.order.front() {
            if expiry > now {
                break;
            }
            state.order.pop_front();
            state.seen.remove(&old);
        }
        if state.seen.contains(&key) {
            return Seen::Replayed;
        }
        if state.seen.len() >= self.capacity {
            return Seen::Full;
        }
        state.seen.insert(key);
        state.order.push_back((expires_at, key));
        Seen::Fresh
    }

    /// How many proofs are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn replays_are_caught_until_expiry() {
        let cache = ReplayCache::new(10);
        assert_eq!(cache.remember(key(1), 100, 200), Seen::Fresh);
        assert_eq!(cache.remember(key(1), 150, 250), Seen::Replayed);
        assert_eq!(cache.remember(key(1), 199, 299), Seen::Replayed);
        // Expired: forgotten, and a proof that old could not pass the iat window anyway.
        assert_eq!(cache.remember(key(2), 200, 300), Seen::Fresh);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.remember(key(1), 200, 300), Seen::Fresh);
    }

    #[test]
    fn a_full_cache_refuses_rather_than_forgets() {
        let cache = ReplayCache::new(2);
        assert_eq!(cache.remember(key(1), 100, 200), Seen::Fresh);
        assert_eq!(cache.remember(key(2), 110, 210), Seen::Fresh);
        assert_eq!(cache.remember(key(3), 120, 220), Seen::Full);
        // The unexpired ones are still caught.
        assert_eq!(cache.remember(key(1), 120, 220), Seen::Replayed);
        assert_eq!(cache.remember(key(2), 120, 220), Seen::Replayed);
        // Once the first expires, its room is taken by a new proof.
        assert_eq!(cache.remember(key(3), 200, 300), Seen::Fresh);
        assert_eq!(cache.remember(key(4), 200, 300), Seen::Full);
        assert_eq!(cache.len(), 2);
    }
}
