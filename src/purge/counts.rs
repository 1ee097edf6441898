//! What a purge deleted, per table; and [`Totals`], the counts of the last run and since start
//! that a running server keeps (in `AppState::purge`) for monitoring to read.
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde::ser::{Serialize, SerializeMap, Serializer};

/// The tables the purge deletes from, in the order it does.
pub const TABLES: [&str; 18] = [
    "authorization_codes",
    "authorization_requests",
    "pushed_requests",
    "device_authorizations",
    "federation_states",
    "federation_links",
    "email_tokens",
    "mfa_challenges",
    "passkey_ceremonies",
    "registration_tokens",
    "revoked_tokens",
    "dpop_jtis",
    "client_assertion_jtis",
    "refresh_tokens",
    "sessions",
    "guess_budgets",
    "trusted_devices",
    "audit_events",
];

/// Rows deleted per table (serialized as `{"table": n, …}` in [`TABLES`] order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; TABLES.len()]);

impl Counts {
    /// The count for `table` (0 for a table the purge does not know).
    pub fn get(&self, table: &str) -> u64 {
        TABLES
            .iter()
            .position(|t| *t == table)
            .map_or(0, |i| self.0[i])
    }

    pub(super) fn add(&mut self, table: &str, n: usize) {
        if let Some(i) = TABLES.iter().position(|t| *t == table) {
            self.0[i] += n as u64;
        }
    }

    /// `(table, rows deleted)` in [`TABLES`] order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        TABLES.iter().copied().zip(self.0.iter().copied())
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(TABLES.len()))?;
        for (table, n) in self.iter() {
            map.serialize_entry(table, &n)?;
        }
        map.end()
    }
}

/// `table=n` pairs, for the log line.
impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (table, n)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{table}={n}")?;
        }
        Ok(())
    }
}

/// The purges this process ran: the last one's counts, the sum since start, how many ran and
/// when the last finished. Lock-free; a reader may see a run half recorded (each number is
/// right on its own). Runs skipped because another instance held the lease are not recorded.
#[derive(Debug, Default)]
pub struct Totals {
    last: [AtomicU64; TABLES.len()],
    since_start: [AtomicU64; TABLES.len()],
    runs: AtomicU64,
    last_run_at: AtomicI64,
}

impl Totals {
    pub fn record(&self, counts: &Counts, finished_at: i64) {
        for (i, (_, n)) in counts.iter().enumerate() {
            self.last[i].store(n, Ordering::Relaxed);
            self.since_start[i].fetch_add(n, Ordering::Relaxed);
        }
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.last_run_at.store(finished_at, Ordering::Relaxed);
    }

    /// What the last run deleted.
    pub fn last(&self) -> Counts {
        Counts(std::array::from_fn(|i| {
            self.last[i].load(Ordering::Relaxed)
        }))
    }

    /// What every run of this process deleted, summed (a Prometheus counter per table).
    pub fn since_start(&self) -> Counts {
        Counts(std::array::from_fn(|i| {
            self.since_start[i].load(Ordering::Relaxed)
        }))
    }

    /// Runs that completed (or stopped early) in this process.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// When the last run finished (Unix seconds; 0 before the first).
    pub fn last_run_at(&self) -> i64 {
        self.last_run_at.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_keep_the_last_run_and_the_sum() {
        let totals = Totals::default();
        let mut c = Counts::default();
        c.add("sessions", 3);
        c.add("audit_events", 2);
        totals.record(&c, 100);
        let mut d = Counts::default();
        d.add("sessions", 1);
        totals.record(&d, 200);
        assert_eq!(totals.last().get("sessions"), 1);
        assert_eq!(totals.last().get("audit_events"), 0);
        assert_eq!(totals.since_start().get("sessions"), 4);
        assert_eq!(totals.since_start().total(), 6);
        assert_eq!((totals.runs(), totals.last_run_at()), (2, 200));
        assert_eq!(
            serde_json::to_value(c).unwrap()["audit_events"],
            serde_json::json!(2)
        );
        assert!(c.to_string().starts_with("authorization_codes=0 "));
    }
}
