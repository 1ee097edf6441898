//! Scrape time: gauges of the application's current state are read, then everything is encoded.
use prometheus::{Encoder, IntGaugeVec, TextEncoder};

use super::families::Families;
use crate::state::AppState;
use crate::tokens::keys::KeyStatus;
use crate::tokens::KeySet;

/// Encodes the registry, after reading the current-state gauges from `state` when given.
pub(super) fn render(f: &Families, state: Option<&AppState>) -> String {
    let _one_at_a_time = f.scrape.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(state) = state {
        read_state(f, state);
    }
    let mut out = Vec::with_capacity(16 * 1024);
    if let Err(e) = TextEncoder::new().encode(&f.registry.gather(), &mut out) {
        tracing::error!(error = %e, "encoding the metrics failed");
    }
    String::from_utf8(out).unwrap_or_default()
}

fn read_state(f: &Families, state: &AppState) {
    f.db_queue.set(count(state.db.queued()));
    let pool = state.db.pool_state();
    f.db_connections
        .with_label_values(&["in_use"])
        .set(i64::from(pool.connections.saturating_sub(pool.idle)));
    f.db_connections
        .with_label_values(&["idle"])
        .set(i64::from(pool.idle));
    f.db_max_connections.set(i64::from(pool.max));
    f.hash_queue.set(count(state.hasher.queued()));
    key_ages(&f.key_age_seconds, &state.keys.current(), state.clock.now());
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One gauge per key that signs or signed and is still published (active, retired): seconds
/// since it started signing (`signs_from`). Pending keys (published, not signing yet) and
/// removed ones are left out.
fn key_ages(gauge: &IntGaugeVec, keys: &KeySet, now: i64) {
    gauge.reset();
    for info in keys.infos() {
        let status = match info.status {
            KeyStatus::Active => "active",
            KeyStatus::Retired => "retired",
            KeyStatus::Scheduled | KeyStatus::Pending | KeyStatus::Removed => continue,
        };
        gauge
            .with_label_values(&[info.kid.as_str(), info.alg.name(), status])
            .set((now - info.timeline.signs_from).max(0));
    }
}
