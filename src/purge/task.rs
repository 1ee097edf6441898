//! The purge in a running server: every `purge.interval_secs` (the first one interval after
//! start), on a blocking thread, recorded in `AppState::purge` and the application's metrics
//! (`portcullis_purged_rows_total{table}`), and logged in one line.
use std::sync::Arc;
use std::time::Duration;

use super::{Outcome, Policy, Totals};
use crate::clock::Clock;
use crate::store::Db;

/// What the periodic purge needs from the server.
pub struct Purger {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub policy: Policy,
    /// This process's lease holder id (`purge::holder_id`).
    pub holder: String,
    pub totals: Arc<Totals>,
    /// The application's metrics (`portcullis_purged_rows_total{table}`).
    pub metrics: crate::metrics::Metrics,
}

/// Runs the purge every `period` until the task is dropped. Never returns.
pub async fn every(period: Duration, purger: Purger) {
    let purger = Arc::new(purger);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let p = purger.clone();
        match tokio::task::spawn_blocking(move || once(&p)).await {
            Ok(()) => {}
            Err(e) => tracing::error!(error = %e, "the purge task failed"),
        }
    }
}

/// One run: purge, record, log.
pub fn once(p: &Purger) {
    let now = p.clock.now();
    let started = std::time::Instant::now();
    match super::run(&p.db, &p.holder, &p.policy, now) {
        Ok(Outcome::Ran { counts, complete }) => {
            p.totals.record(&counts, p.clock.now());
            for (table, n) in counts.iter() {
                p.metrics.record_purged(table, n);
            }
            tracing::info!(
                deleted = counts.total(),
                complete,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "purge finished: {counts}"
            );
        }
        Ok(Outcome::Busy(lease)) => tracing::debug!(
            holder = %lease.holder,
            until = lease.expires_at,
            "purge skipped: another instance holds the lease"
        ),
        Err(e) => tracing::warn!(
            error = %crate::telemetry::capped(format_args!("{e:#}")),
            "the purge failed; retrying next time"
        ),
    }
}
