//! Metrics, exported in Prometheus text format by `GET /metrics` (`http::metrics`).
//!
//! Every application has a registry of its own ([`Metrics`], in `AppState`), so several servers
//! in one process (the tests) count apart. How things get recorded:
//! - **Requests**: the request middleware (`http::access_log`) records each one with the handle
//!   it holds, and runs the request under [`scope`].
//! - **Events** (tokens issued, token errors, logins, lockouts, purged rows): code running under
//!   a scope — handlers and the domain functions they await, such as `identity::login` — records
//!   with the free functions here ([`token_issued`], [`login`], …) without a handle being passed
//!   down. Outside any scope (the CLI, unit tests) they do nothing. Closures on the database
//!   threads (`Db::run`) are outside it: record after the `.await`. A background task runs under
//!   [`scope`] with the application's handle, or calls the methods of [`Metrics`].
//! - **Current state** (database queue and pool, hashing queue, key ages) is read at scrape time
//!   (`scrape.rs`).
//!
//! Recording hashes the label values and updates atomics; once a label set has been seen
//! nothing is allocated. With `metrics.enabled = false` the handle is empty and every call is a
//! no-op.
use std::future::Future;
use std::sync::Arc;

use anyhow::Context;

mod families;
mod scrape;

use families::Families;

use crate::state::AppState;

/// The application's metrics registry (cheap to clone); empty when metrics are disabled.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Families>>);

tokio::task_local! {
    /// The metrics of the application whose request (or background task) is running.
    static CURRENT: Metrics;
}

impl Metrics {
    /// A registry with every family registered, or an empty handle when `enabled` is false.
    pub fn new(enabled: bool) -> anyhow::Result<Metrics> {
        if !enabled {
            return Ok(Metrics(None));
        }
        let families = Families::new().context("registering the metrics")?;
        Ok(Metrics(Some(Arc::new(families))))
    }

    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// One request: `route` is the matched route pattern (or `unmatched`), `status` the code.
    pub fn observe_request(&self, method: &str, route: &str, status: &str, seconds: f64) {
        if let Some(f) = &self.0 {
            let labels = [method, route, status];
            f.requests.with_label_values(&labels).inc();
            f.request_seconds
                .with_label_values(&labels)
                .observe(seconds);
        }
    }

    /// An access token issued with `grant`, signed with `alg` (`TokenResponse::access_alg`).
    pub fn token_issued(&self, grant: &str, alg: &str) {
        if let Some(f) = &self.0 {
            f.tokens_issued.with_label_values(&[grant, alg]).inc();
        }
    }

    /// An error answer of `/token`, by its RFC 6749 `error` code.
    pub fn token_error(&self, error: &str) {
        if let Some(f) = &self.0 {
            f.token_errors.with_label_values(&[error]).inc();
        }
    }

    /// A password sign-in and how it ended.
    pub fn login(&self, result: &str) {
        if let Some(f) = &self.0 {
            f.logins.with_label_values(&[result]).inc();
        }
    }

    /// An account guess budget locked.
    pub fn lockout(&self) {
        if let Some(f) = &self.0 {
            f.lockouts.inc();
        }
    }

    /// `n` rows of `table` removed by the purge task (`portcullis_purged_rows_total{table}`).
    pub fn record_purged(&self, table: &str, n: u64) {
        if let Some(f) = &self.0 {
            f.purged_rows.with_label_values(&[table]).inc_by(n);
        }
    }

    /// The histogram the database pool records job waits in (`Db::observe_waits`).
    pub fn db_wait_histogram(&self) -> Option<prometheus::Histogram> {
        self.0.as_ref().map(|f| f.db_wait_seconds.clone())
    }

    /// The text exposition: gauges of current state read from `state` first. `None` when
    /// metrics are disabled.
    pub fn render(&self, state: &AppState) -> Option<String> {
        let f = self.0.as_ref()?;
        Some(scrape::render(f, Some(state)))
    }

    /// The text exposition of what was recorded, without reading any current state.
    pub fn render_recorded(&self) -> Option<String> {
        self.0.as_ref().map(|f| scrape::render(f, None))
    }
}

/// Runs `fut` with `metrics` as the current application's: the free functions of this module
/// record into it.
pub fn scope<F: Future>(metrics: Metrics, fut: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(metrics, fut)
}

fn with_current(f: impl FnOnce(&Metrics)) {
    let _ = CURRENT.try_with(f);
}

/// See [`Metrics::token_issued`].
pub fn token_issued(grant: &str, alg: &str) {
    with_current(|m| m.token_issued(grant, alg));
}

/// See [`Metrics::token_error`].
pub fn token_error(error: &str) {
    with_current(|m| m.token_error(error));
}

/// See [`Metrics::login`].
pub fn login(result: &str) {
    with_current(|m| m.login(result));
}

/// See [`Metrics::lockout`].
pub fn lockout() {
    with_current(Metrics::lockout);
}

/// See [`Metrics::record_purged`].
pub fn record_purged(table: &str, n: u64) {
    with_current(|m| m.record_purged(table, n));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[tokio::test]
    async fn purged_rows_count_per_table_in_the_current_application() {
        let (a, b) = (Metrics::new(true).unwrap(), Metrics::new(true).unwrap());
        scope(a.clone(), async {
            record_purged("sessions", 3);
            record_purged("sessions", 2);
            record_purged("refresh_tokens", 7);
        })
        .await;
        b.record_purged("audit_events", 1);
        // Outside any scope: nothing, anywhere.
        record_purged("sessions", 100);

        let text = a.render_recorded().unwrap();
        assert_eq!(
            sample(&text, "portcullis_purged_rows_total{table=\"sessions\"}"),
            Some(5.0)
        );
        assert_eq!(
            sample(
                &text,
                "portcullis_purged_rows_total{table=\"refresh_tokens\"}"
            ),
            Some(7.0)
        );
        assert!(!text.contains("audit_events"), "{text}");
        let other = b.render_recorded().unwrap();
        assert_eq!(
            sample(
                &other,
                "portcullis_purged_rows_total{table=\"audit_events\"}"
            ),
            Some(1.0)
        );
        assert!(!other.contains("\"sessions\""), "{other}");
    }

    #[test]
    fn disabled_metrics_record_nothing_and_render_nothing() {
        let m = Metrics::new(false).unwrap();
        m.record_purged("sessions", 1);
        m.observe_request("GET", "/token", "200", 0.001);
        assert!(!m.is_enabled());
        assert!(m.render_recorded().is_none());
        assert!(m.db_wait_histogram().is_none());
    }

    #[test]
    fn build_info_is_one_with_the_version() {
        let text = Metrics::new(true).unwrap().render_recorded().unwrap();
        let profile = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        let series = format!(
            "portcullis_build_info{{profile=\"{profile}\",version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(sample(&text, &series), Some(1.0), "{text}");
    }
}
