//! [`Config`]: everything a [`Verifier`](crate::Verifier) can be tuned with, and the [`Clock`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::alg::Alg;
use crate::error::Error;
use crate::metadata::ResourceMetadata;

/// A source of the current time in unix seconds. The verifier reads it for `exp`/`nbf`, the JWKS
/// refetch limit, JWKS freshness and the API-key cache, so tests can move time by hand.
///
/// Any `Fn() -> i64 + Send + Sync` is a clock:
///
/// ```
/// use std::sync::atomic::{AtomicI64, Ordering};
/// use std::sync::Arc;
/// use portcullis_verify::Config;
///
/// let now = Arc::new(AtomicI64::new(1_700_000_000));
/// let clock = now.clone();
/// let config = Config::default().clock(move || clock.load(Ordering::SeqCst));
/// now.fetch_add(31, Ordering::SeqCst); // 31 seconds later, for the verifier
/// # drop(config);
/// ```
pub trait Clock: Send + Sync {
    /// Seconds since the unix epoch.
    fn now(&self) -> i64;
}

impl<F> Clock for F
where
    F: Fn() -> i64 + Send + Sync,
{
    fn now(&self) -> i64 {
        self()
    }
}

/// The system clock (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// Client credentials used to call the issuer's introspection endpoint for API keys.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

/// Settings of a [`Verifier`](crate::Verifier). Start from `Config::default()` and chain:
///
/// ```
/// use std::time::Duration;
/// use portcullis_verify::Config;
///
/// let config = Config::default()
///     .allowed_algorithms(["RS256", "PS256"])
///     .leeway(Duration::from_secs(10))
///     .api_keys("my-resource-server", "its-client-secret");
/// # drop(config);
/// ```
///
/// The values are checked when the verifier is built: asking for `none` or an `HS*` algorithm
/// makes [`Verifier::from_issuer_with_config`](crate::Verifier::from_issuer_with_config) and
/// [`Verifier::from_jwks`](crate::Verifier::from_jwks) fail with [`Error::ForbiddenAlgorithm`].
#[derive(Clone)]
pub struct Config {
    pub(crate) algorithms: Vec<String>,
    pub(crate) leeway: Duration,
    pub(crate) refetch_interval: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) introspection_endpoint: Option<String>,
    pub(crate) api_key_cache_ttl: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) resource_metadata: Option<ResourceMetadata>,
    pub(crate) external_url: Option<String>,
    pub(crate) dpop_replay_cache_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            algorithms: vec!["RS256".to_owned()],
            leeway: Duration::from_secs(30),
            refetch_interval: Duration::from_secs(30),
            http_timeout: Duration::from_secs(5),
            credentials: None,
            introspection_endpoint: None,
            api_key_cache_ttl: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
            resource_metadata: None,
            external_url: None,
            dpop_replay_cache_size: crate::replay::DEFAULT_CAPACITY,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field("refetch_interval", &self.refetch_interval)
            .field("http_timeout", &self.http_timeout)
            .field(
                "api_keys_client_id",
                &self.credentials.as_ref().map(|c| c.client_id.as_str()),
            )
            .field("introspection_endpoint", &self.introspection_endpoint)
            .field("api_key_cache_ttl", &self.api_key_cache_ttl)
            .field("resource_metadata", &self.resource_metadata)
            .field("external_url", &self.external_url)
            .field("dpop_replay_cache_size", &self.dpop_replay_cache_size)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The same as `Config::default()`.
    pub fn new() -> Config {
        Config::default()
    }

    /// The `alg` values accepted in token headers (default `["RS256"]`). Known names: `RS256`,
    /// `RS384`, `RS512`, `PS256`, `PS384`, `PS512`, `ES256`, `ES384`, `EdDSA`. `none` and `HS*`
    /// are refused when the verifier is built.
    pub fn allowed_algorithms<I, S>(mut self, algorithms: I) -> Config
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.algorithms = algorithms.into_iter().map(Into::into).collect();
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Config {
        self.leeway = leeway;
        self
    }

    /// The least time between two JWKS fetches caused by unknown `kid`s (default 30 s).
    pub fn refetch_interval(mut self, interval: Duration) -> Config {
        self.refetch_interval = interval;
        self
    }

    /// Connect and whole-request timeout of every call to the issuer (default 5 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Config {
        self.http_timeout = timeout;
        self
    }

    /// Accept API keys (`pc_…`) by asking the issuer's introspection endpoint (RFC 7662),
    /// authenticating with these client credentials (HTTP Basic). The client needs the
    /// introspection permission at the issuer. Without this, API keys are rejected.
    pub fn api_keys(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Config {
        self.credentials = Some(Credentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        });
        self
    }

    /// Use this introspection endpoint instead of the discovery document's
    /// `introspection_endpoint` (needed with [`Verifier::from_jwks`](crate::Verifier::from_jwks)).
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Config {
        self.introspection_endpoint = Some(url.into());
        self
    }

    /// How long a positive introspection answer is reused (default 30 s, never beyond the key's
    /// `exp`). Negative answers are never cached. Zero disables the cache.
    pub fn api_key_cache_ttl(mut self, ttl: Duration) -> Config {
        self.api_key_cache_ttl = ttl;
        self
    }

    /// Publish OAuth 2.0 Protected Resource Metadata (RFC 9728) for the verifier's audience,
    /// which becomes the document's `resource` and must then be an http(s) URL (see
    /// [`ResourceMetadata`]). Challenges of refused requests then carry `resource_metadata="<its
    /// URL>"` (RFC 9728 §5.1), and the `ProtectedResource` middleware (feature `actix`) serves
    /// the document. Without it (the default), nothing is published and challenges
    /// are as before.
    pub fn resource_metadata(mut self, metadata: ResourceMetadata) -> Config {
        self.resource_metadata = Some(metadata);
        self
    }

    /// The URL clients reach this resource server at: scheme, host, port and any path prefix a
    /// proxy in front adds (`https://api.example.com`, `https://example.com/api`). A DPoP
    /// proof's `htu` (RFC 9449 §4.3) must be this followed by the request's path. Without it the
    /// `Authenticated` extractor takes the scheme and host the request names (`Host`,
    /// `Forwarded`, `X-Forwarded-*`): set it whenever a proxy stands in front.
    pub fn external_url(mut self, url: impl Into<String>) -> Config {
        let url: String = url.into();
        self.external_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// How many DPoP proofs the in-memory replay cache remembers (default 100 000). Each is kept
    /// until its `iat` window has passed (about two minutes); when this many unexpired proofs
    /// are remembered, new proofs are refused (503 `temporarily_unavailable`) rather than an
    /// unexpired one forgotten.
    pub fn dpop_replay_cache_size(mut self, size: usize) -> Config {
        self.dpop_replay_cache_size = size;
        self
    }

    /// Replace the system clock (unix seconds), e.g. in tests.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Config {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the algorithm names: refuses `none` and `HS*`, and unknown names.
    pub(crate) fn parsed_algorithms(&self) -> Result<Vec<Alg>, Error> {
        if self.algorithms.is_empty() {
            return Err(Error::Config(
                "at least one algorithm must be allowed".to_owned(),
            ));
        }
        let mut out = Vec::with_capacity(self.algorithms.len());
        for name in &self.algorithms {
            let alg = parse_algorithm(name)?;
            if !out.contains(&alg) {
                out.push(alg);
            }
        }
        Ok(out)
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.http_timeout.is_zero() {
            return Err(Error::Config(
                "the HTTP timeout must not be zero".to_owned(),
            ));
        }
        if let Some(url) = &self.external_url {
            let fine = reqwest::Url::parse(url).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if !fine {
                return Err(Error::Config(format!(
                    "the external URL must be an http(s) URL without query or fragment, not {url:?}"
                )));
            }
        }
        if self.dpop_replay_cache_size == 0 {
            return Err(Error::Config(
                "the DPoP replay cache size must not be zero".to_owned(),
            ));
        }
        if let Some(c) = &self.credentials {
            if c.client_id.is_empty() {
                return Err(Error::Config(
                    "the introspection client_id must not be empty".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

/// Maps a JOSE `alg` name to a verification algorithm, refusing `none` and HMAC outright.
pub(crate) fn parse_algorithm(name: &str) -> Result<Alg, Error> {
    if name.eq_ignore_ascii_case("none") || name.to_ascii_uppercase().starts_with("HS") {
        return Err(Error::ForbiddenAlgorithm(name.to_owned()));
    }
    Alg::from_name(name).ok_or_else(|| Error::UnsupportedAlgorithm(name.to_owned()))
}
