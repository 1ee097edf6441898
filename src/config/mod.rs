//! Typed settings: defaults → optional `portcullis.toml` → `PORTCULLIS_*` environment.
//!
//! Environment names are `PORTCULLIS_` + the key in upper case, with nested sections joined by
//! `__` (`PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS=600`); lists are comma-separated. Every source
//! is merged into one tree and deserialized once (`sources`). An unknown key in the file is an
//! error naming it; an unknown `PORTCULLIS_*` variable is a warning (an error for `config check`),
//! so a typo never silently falls back to a default; Kubernetes service links are ignored.
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use url::Url;

mod coerce;
mod email;
pub mod env;
mod federation;
mod retention;
mod sections;
mod sources;
mod ui;
mod validate;
pub use email::EmailSettings;
pub use federation::*;
pub use retention::*;
pub use sections::*;
pub use sources::Loaded;
pub use ui::UiSettings;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The issuer identifier: the public base URL of this server (no trailing slash).
    pub issuer: String,
    /// Listen address; defaults to the issuer's host and port.
    pub bind: Option<String>,
    /// `sqlite://PATH` (embedded default) or `postgres://…`.
    pub database_url: String,
    /// Connections (and concurrent database tasks) per instance. Default: 2 × cores on SQLite
    /// (its work is CPU-bound; more only adds scheduling tail latency), 10 on PostgreSQL.
    pub database_pool_size: Option<u32>,
    /// Database jobs that may wait for a connection's thread; beyond it a request is answered
    /// 503 at once.
    pub database_queue: u32,
    /// Longest a database job may wait (queue, then a connection) before the request is
    /// answered 503; also bounds connecting to the database.
    pub database_timeout_secs: u64,
    pub keys_dir: PathBuf,
    /// HTTP worker threads; defaults to the number of cores.
    pub workers: Option<usize>,
    /// `text` (human) or `json`.
    pub log_format: LogFormat,
    pub tokens: TokenSettings,
    pub keys: KeySettings,
    pub users: UserSettings,
    /// Clients that register themselves (RFC 7591).
    pub clients: ClientSettings,
    /// DPoP (RFC 9449): server nonces.
    pub dpop: DpopSettings,
    pub password: PasswordSettings,
    pub lockout: LockoutSettings,
    pub sessions: SessionSettings,
    /// The purge of dead rows (`purge`).
    pub purge: PurgeSettings,
    /// The audit log's retention.
    pub audit: AuditSettings,
    pub api_keys: ApiKeySettings,
    pub http: HttpSettings,
    pub metrics: MetricsSettings,
    pub federation: FederationSettings,
    pub email: EmailSettings,
    /// Peers (IPs or CIDR ranges) whose `X-Forwarded-For` is believed for the client IP.
    pub trusted_proxies: Vec<String>,
    /// The header the trusted proxies set: `x-forwarded-for` or RFC 7239 `forwarded`.
    pub proxy_header: crate::identity::client_ip::ProxyHeader,
    /// On SIGTERM/SIGINT: how long requests already read may take to be answered before the
    /// server exits anyway.
    pub shutdown_timeout_secs: u64,
    /// A document of clients (`portcullis apply`'s format) the server applies at start-up,
    /// before serving (never pruning); a bad document stops the start.
    pub apply_on_start: Option<PathBuf>,
    /// The pages' product name, footer line and theme (`[ui]`).
    pub ui: UiSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            issuer: "http://127.0.0.1:8080".into(),
            bind: None,
            database_url: "sqlite://portcullis.db".into(),
            database_pool_size: None,
            database_queue: 256,
            database_timeout_secs: 3,
            keys_dir: PathBuf::from("keys"),
            workers: None,
            log_format: LogFormat::Text,
            tokens: TokenSettings::default(),
            keys: KeySettings::default(),
            users: UserSettings::default(),
            clients: ClientSettings::default(),
            dpop: DpopSettings::default(),
            password: PasswordSettings::default(),
            lockout: LockoutSettings::default(),
            sessions: SessionSettings::default(),
            purge: PurgeSettings::default(),
            audit: AuditSettings::default(),
            api_keys: ApiKeySettings::default(),
            http: HttpSettings::default(),
            metrics: MetricsSettings::default(),
            federation: FederationSettings::default(),
            email: EmailSettings::default(),
            trusted_proxies: Vec::new(),
            proxy_header: Default::default(),
            shutdown_timeout_secs: 10,
            apply_on_start: None,
            ui: UiSettings::default(),
        }
    }
}

impl Settings {
    pub fn issuer_url(&self) -> anyhow::Result<Url> {
        Url::parse(&self.issuer).with_context(|| format!("issuer {:?} is not a URL", self.issuer))
    }

    /// The listen address: `bind`, else the issuer's port on the issuer's host when that is an
    /// IP address or `localhost`, or on every interface when it is a domain name (the public
    /// name usually belongs to a proxy in front of us).
    pub fn bind_addr(&self) -> anyhow::Result<SocketAddr> {
        if let Some(b) = &self.bind {
            return b
                .to_socket_addrs()
                .with_context(|| format!("bind address {b:?} is not host:port"))?
                .next()
                .with_context(|| format!("bind address {b:?} does not resolve"));
        }
        let url = self.issuer_url()?;
        let port = url.port_or_known_default().context("issuer has no port")?;
        let ip: IpAddr = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.into(),
            Some(url::Host::Ipv6(ip)) => ip.into(),
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
                std::net::Ipv4Addr::LOCALHOST.into()
            }
            Some(url::Host::Domain(_)) => std::net::Ipv4Addr::UNSPECIFIED.into(),
            None => bail!("issuer has no host"),
        };
        Ok(SocketAddr::new(ip, port))
    }

    /// Where `/metrics` is served apart from the main listener (`metrics.bind`), if anywhere.
    pub fn metrics_bind_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        let Some(b) = &self.metrics.bind else {
            return Ok(None);
        };
        let addr = b
            .to_socket_addrs()
            .with_context(|| format!("metrics.bind {b:?} is not host:port"))?
            .next()
            .with_context(|| format!("metrics.bind {b:?} does not resolve"))?;
        Ok(Some(addr))
    }

    /// The effective pool size (see `database_pool_size`).
    pub fn pool_size(&self) -> u32 {
        if let Some(n) = self.database_pool_size {
            return n;
        }
        if self.database_url.starts_with("sqlite://") {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            u32::try_from(cores * 2).unwrap_or(4).max(2)
        } else {
            10
        }
    }

    /// The pool's limits: size, queue and timeout.
    pub fn db_limits(&self) -> crate::store::DbLimits {
        crate::store::DbLimits {
            pool_size: self.pool_size(),
            queue: self.database_queue as usize,
            timeout: std::time::Duration::from_secs(self.database_timeout_secs),
        }
    }

    /// The effective number of HTTP workers (see `workers`).
    pub fn worker_count(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// The audience used when a request names no resource and the client has no audience.
    pub fn default_audience(&self) -> &str {
        self.tokens
            .default_audience
            .as_deref()
            .unwrap_or(&self.issuer)
    }

    /// Settings as JSON with secrets redacted and derived defaults resolved (for `config show`):
    /// the bind address, worker, pool and hashing thread counts as the server would use them.
    pub fn redacted(&self) -> serde_json::Value {
        let mut copy = self.clone();
        if let Ok(addr) = self.bind_addr() {
            copy.bind = Some(addr.to_string());
        }
        copy.workers = Some(self.worker_count());
        copy.database_pool_size = Some(self.pool_size());
        copy.password.hash_threads = Some(self.password.threads());
        copy.database_url = redact_url_password(&copy.database_url);
        copy.email.redact();
        let hide = |s: &mut Option<String>| {
            if s.is_some() {
                *s = Some("<redacted>".into());
            }
        };
        hide(&mut copy.keys.encryption_key);
        hide(&mut copy.federation.google.client_secret);
        hide(&mut copy.federation.github.client_secret);
        hide(&mut copy.metrics.bearer_token);
        for p in copy.federation.oidc.values_mut() {
            hide(&mut p.client_secret);
        }
        serde_json::to_value(copy).unwrap_or(serde_json::Value::Null)
    }

    /// Problems that make this configuration unsafe for production (`config check`).
    pub fn production_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.validate() {
            problems.push(format!("{e:#}"));
            return problems;
        }
        let issuer_https = self
            .issuer_url()
            .map(|u| u.scheme() == "https")
            .unwrap_or(false);
        if let Ok(addr) = self.bind_addr() {
            if !issuer_https && !is_loopback(addr.ip()) {
                problems.push(format!(
                    "issuer {} is plain http but the server binds {addr}, which is reachable from \
                     other machines: use an https issuer (TLS at your proxy) or bind to loopback",
                    self.issuer
                ));
            }
        }
        let postgres = !self.database_url.starts_with("sqlite://");
        if (postgres || issuer_https) && !crate::tokens::keys::kek::is_explicit(self) {
            problems.push(
                "keys.encryption_key (or keys.encryption_key_file) is not set: the key that seals \
                 the signing keys would be generated into keys_dir, a file every instance must \
                 then share and that backups must keep apart from the database; set one \
                 (`openssl rand -base64 32`)"
                    .to_string(),
            );
        }
        for (key, url) in self.federation.upstream_urls() {
            let plain = Url::parse(&url).is_ok_and(|u| {
                u.scheme() == "http"
                    && !matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
            });
            if plain {
                problems.push(format!(
                    "{key} = {url} is plain http: the client secret and upstream tokens would \
                     cross the network in clear"
                ));
            }
        }
        problems.extend(self.email.problems(self.users.require_verified_email));
        problems
    }

    /// What `config check` points out without refusing (features that are off).
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.email.notes();
        let domain = self
            .issuer_url()
            .ok()
            .and_then(|u| u.domain().map(str::to_string));
        if domain.is_none() {
            notes.push(
                "the issuer's host is an IP address, which browsers refuse as a WebAuthn \
                 relying-party id: passkeys are off; use a domain name (http://localhost:PORT \
                 on one machine)"
                    .to_string(),
            );
        }
        notes
    }
}

pub fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// `raw` with its password (if any) replaced, for printing.
pub fn redact_url_password(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("REDACTED"));
            url.to_string()
        }
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_issuer_notes_that_passkeys_are_off() {
        let ip = Settings {
            issuer: "http://127.0.0.1:8080".into(),
            ..Settings::default()
        };
        assert!(ip.notes().iter().any(|n| n.contains("passkeys are off")));
        let named = Settings {
            issuer: "http://localhost:8080".into(),
            ..Settings::default()
        };
        assert!(!named.notes().iter().any(|n| n.contains("passkeys")));
    }

    #[test]
    fn validation_and_production_checks() {
        let mut s = Settings {
            issuer: "http://id.example.com/".into(),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
        s.issuer = "http://127.0.0.1:8080".into();
        s.bind = Some("0.0.0.0:8080".into());
        assert_eq!(s.production_problems().len(), 1);
        s.bind = None;
        assert!(s.production_problems().is_empty());
        // A plain-http upstream on another host carries secrets in clear; loopback is fine.
        s.federation.github.client_id = Some("id".into());
        s.federation.github.client_secret = Some("secret".into());
        s.federation.github.api_url = "http://127.0.0.1:9000".into();
        assert!(s.production_problems().is_empty());
        s.federation.github.api_url = "http://ghe.internal/api/v3".into();
        let problems = s.production_problems();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("federation.github.api_url"),
            "{problems:?}"
        );
        s.federation.github.client_secret = None;
        assert!(s.production_problems().is_empty(), "a provider that is off");
        s.keys.rsa_bits = 1024;
        assert!(s.validate().is_err());
    }

    #[test]
    fn metrics_settings() {
        let mut s = Settings::default();
        assert!(s.metrics.enabled);
        assert_eq!(s.metrics_bind_addr().unwrap(), None);
        s.metrics.bind = Some("127.0.0.1:9100".into());
        assert_eq!(
            s.metrics_bind_addr().unwrap(),
            Some("127.0.0.1:9100".parse().unwrap())
        );
        s.metrics.bind = Some("nowhere".into());
        assert!(s.validate().is_err());
        s.metrics.bind = None;
        s.metrics.bearer_token = Some(" ".into());
        assert!(s.validate().is_err());
        s.metrics.bearer_token = Some("t0ken-for-scrapers".into());
        assert!(s.validate().is_ok());
        let shown = s.redacted();
        assert_eq!(shown["metrics"]["bearer_token"], "<redacted>");
    }
}
