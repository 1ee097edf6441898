//! Every metric family Portcullis exports: names, help, labels and buckets, registered in one
//! per-application registry. Label values come from small fixed sets (route patterns, status
//! codes, grant types, RFC error codes, results, table names, kids), never from raw input.
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Request latency buckets (seconds): 0.5 ms to 5 s.
const REQUEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Database wait buckets (seconds): 0.1 ms to the longest `database_timeout_secs` worth seeing.
const DB_WAIT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

pub(super) struct Families {
    pub registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub tokens_issued: IntCounterVec,
    pub token_errors: IntCounterVec,
    pub logins: IntCounterVec,
    pub lockouts: IntCounter,
    pub db_wait_seconds: Histogram,
    pub db_queue: IntGauge,
    pub db_connections: IntGaugeVec,
    pub db_max_connections: IntGauge,
    pub hash_queue: IntGauge,
    pub key_age_seconds: IntGaugeVec,
    pub purged_rows: IntCounterVec,
    /// One scrape at a time reads the current-state gauges (they are reset and set again).
    pub scrape: std::sync::Mutex<()>,
}

impl Families {
    pub fn new() -> prometheus::Result<Families> {
        let registry = Registry::new();
        let f = Families {
            requests: IntCounterVec::new(
                Opts::new(
                    "portcullis_http_requests_total",
                    "HTTP requests by method, route pattern (\"unmatched\" when no route \
                     matched) and status code.",
                ),
                &["method", "route", "status"],
            )?,
            request_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "portcullis_http_request_duration_seconds",
                    "Time from receiving a request to its response head, by method, route \
                     pattern and status code.",
                )
                .buckets(REQUEST_BUCKETS.to_vec()),
                &["method", "route", "status"],
            )?,
            tokens_issued: IntCounterVec::new(
                Opts::new(
                    "portcullis_tokens_issued_total",
                    "Access tokens issued (/token and the account API) by grant type and \
                     signing algorithm.",
                ),
                &["grant", "alg"],
            )?,
            token_errors: IntCounterVec::new(
                Opts::new(
                    "portcullis_token_errors_total",
                    "Error answers of /token by RFC 6749 error code.",
                ),
                &["error"],
            )?,
            logins: IntCounterVec::new(
                Opts::new(
                    "portcullis_logins_total",
                    "Password sign-ins (password grant, account API, login page, account \
                     linking) by result: success, bad_credentials, throttled, busy, error.",
                ),
                &["result"],
            )?,
            lockouts: IntCounter::new(
                "portcullis_lockouts_total",
                "Account guess budgets locked after a full window of failed passwords.",
            )?,
            db_wait_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "portcullis_db_wait_seconds",
                    "Time a database job waited for a thread and a connection.",
                )
                .buckets(DB_WAIT_BUCKETS.to_vec()),
            )?,
            db_queue: IntGauge::new(
                "portcullis_db_queue_depth",
                "Database jobs waiting for a database thread.",
            )?,
            db_connections: IntGaugeVec::new(
                Opts::new(
                    "portcullis_db_connections",
                    "Pooled database connections by state (in_use, idle).",
                ),
                &["state"],
            )?,
            db_max_connections: IntGauge::new(
                "portcullis_db_max_connections",
                "The size of the database connection pool.",
            )?,
            hash_queue: IntGauge::new(
                "portcullis_password_hash_queue_depth",
                "Password hashes waiting for a hashing thread.",
            )?,
            key_age_seconds: IntGaugeVec::new(
                Opts::new(
                    "portcullis_signing_key_age_seconds",
                    "Seconds since each published signing key started signing, by kid, \
                     algorithm and status (active, retired).",
                ),
                &["kid", "alg", "status"],
            )?,
            purged_rows: IntCounterVec::new(
                Opts::new(
                    "portcullis_purged_rows_total",
                    "Rows removed by the purge task, by table.",
                ),
                &["table"],
            )?,
            scrape: std::sync::Mutex::new(()),
            registry,
        };
        f.register()?;
        f.build_info()?;
        Ok(f)
    }

    fn register(&self) -> prometheus::Result<()> {
        let r = &self.registry;
        r.register(Box::new(self.requests.clone()))?;
        r.register(Box::new(self.request_seconds.clone()))?;
        r.register(Box::new(self.tokens_issued.clone()))?;
        r.register(Box::new(self.token_errors.clone()))?;
        r.register(Box::new(self.logins.clone()))?;
        r.register(Box::new(self.lockouts.clone()))?;
        r.register(Box::new(self.db_wait_seconds.clone()))?;
        r.register(Box::new(self.db_queue.clone()))?;
        r.register(Box::new(self.db_connections.clone()))?;
        r.register(Box::new(self.db_max_connections.clone()))?;
        r.register(Box::new(self.hash_queue.clone()))?;
        r.register(Box::new(self.key_age_seconds.clone()))?;
        r.register(Box::new(self.purged_rows.clone()))?;
        Ok(())
    }

    /// `portcullis_build_info{version, profile} 1`.
    fn build_info(&self) -> prometheus::Result<()> {
        let info = IntGaugeVec::new(
            Opts::new(
                "portcullis_build_info",
                "Always 1; the labels say which build is running.",
            ),
            &["version", "profile"],
        )?;
        let profile = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        info.with_label_values(&[env!("CARGO_PKG_VERSION"), profile])
            .set(1);
        self.registry.register(Box::new(info))
    }
}
