//! [`Verifier`]: discovery, the key cache and token validation.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::alg::Alg;
use crate::api_key::{ApiKeys, API_KEY_PREFIX};
use crate::auth::AuthError;
use crate::claims::{numeric_date, Claims, TokenKind};
use crate::config::Clock;
use crate::error::{Error, VerifyError};
use crate::http;
use crate::jwks::{parse_jwks, KeyEntry, KeySet};
use crate::metadata::ProtectedResourceMetadata;

/// Longest token looked at; anything longer is malformed.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// JWKS freshness when the issuer sends no `Cache-Control: max-age`.
const DEFAULT_JWKS_MAX_AGE: i64 = 300;
/// Upper bound on how long a JWKS is trusted without asking again.
const MAX_JWKS_MAX_AGE: i64 = 24 * 3600;

/// Validates Portcullis access tokens (and, optionally, API keys).
///
/// Cheap to clone: clones share the key cache. Build one per issuer/audience at start-up and
/// hand clones to every worker (e.g. `web::Data::new(verifier)` with actix-web).
#[derive(Clone)]
pub struct Verifier {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) algorithms: Vec<Alg>,
    pub(crate) leeway: i64,
    pub(crate) refetch_interval: i64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) http: reqwest::Client,
    /// `None` for an offline verifier ([`Verifier::from_jwks`]): its keys never change.
    pub(crate) jwks_uri: Option<String>,
    pub(crate) keys: RwLock<Keys>,
    /// Held while fetching the JWKS: concurrent callers share one fetch.
    pub(crate) refresh: tokio::sync::Mutex<RefreshState>,
    pub(crate) api_keys: Option<ApiKeys>,
    /// RFC 9728 metadata, when configured; its `resource` is `audience`.
    pub(crate) resource_metadata: Option<ProtectedResourceMetadata>,
    /// The URL clients reach this resource server at, without a trailing `/` (DPoP `htu`).
    pub(crate) external_url: Option<String>,
    /// The DPoP proofs accepted lately.
    pub(crate) replay: crate::replay::ReplayCache,
}

pub(crate) struct Keys {
    pub(crate) set: Arc<KeySet>,
    /// After this (unix seconds) the JWKS is refreshed on use.
    pub(crate) fresh_until: i64,
}

pub(crate) struct RefreshState {
    /// When the JWKS was last requested (successfully or not).
    pub(crate) last_attempt: i64,
}

/// The part of a JOSE header we look at.
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    crit: bool,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("algorithms", &self.inner.algorithms)
            .field("jwks_uri", &self.inner.jwks_uri)
            .field("key_ids", &self.key_ids())
            .field("accepts_api_keys", &self.accepts_api_keys())
            .field(
                "resource_metadata",
                &self.resource_metadata().map(ProtectedResourceMetadata::url),
            )
            .finish_non_exhaustive()
    }
}

pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Verifier {
    /// The issuer tokens must come from.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The audience tokens must be meant for.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The `kid`s currently cached, sorted.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys().0.kids()
    }

    /// The protected resource metadata (RFC 9728) this verifier publishes, when
    /// [`Config::resource_metadata`](crate::Config::resource_metadata) was given. Its
    /// `resource` is [`audience`](Verifier::audience): the value clients send as RFC 8707
    /// `resource` and find in the tokens' `aud`.
    pub fn resource_metadata(&self) -> Option<&ProtectedResourceMetadata> {
        self.inner.resource_metadata.as_ref()
    }

    /// The RFC 6750 answer for a rejected token: [`AuthError::from_verify_error`] with this
    /// verifier's issuer as realm and, when metadata is configured, its `resource_metadata`.
    pub fn auth_error(&self, error: &VerifyError) -> AuthError {
        self.challenge(AuthError::from_verify_error(self.issuer(), error))
    }

    /// Adds this verifier's `resource_metadata` URL (if configured and not already there) to an
    /// answer, e.g. one from [`require_scope`](crate::require_scope).
    pub fn challenge(&self, error: AuthError) -> AuthError {
        match self.resource_metadata() {
            Some(m) if error.resource_metadata().is_none() => error.with_resource_metadata(m.url()),
            _ => error,
        }
    }

    /// `true` when `pc_…` API keys are checked through introspection.
    pub fn accepts_api_keys(&self) -> bool {
        self.inner.api_keys.is_some()
    }

    /// Verifies a bearer token: an RFC 9068 access token, or — when configured — a `pc_` API key.
    ///
    /// For a JWT, in this order: three base64url parts; `alg` in the allow-list (before any key
    /// lookup); `typ` `at+jwt` or `application/at+jwt`; no `crit`; the key by `kid` (refetching
    /// the JWKS once if it is unknown and the last fetch is at least the refetch interval old);
    /// the signature; then `iss`, `sub`, `aud`, `exp` and `nbf` (with the leeway). A DPoP-bound
    /// token (`cnf.jkt`) is refused with [`VerifyError::DpopBoundToken`]: it is only good with a
    /// proof, through [`verify_dpop`](Verifier::verify_dpop).
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let claims = self.verify_token(token).await?;
        if claims.extra.get("cnf").and_then(|c| c.get("jkt")).is_some() {
            return Err(VerifyError::DpopBoundToken);
        }
        Ok(claims)
    }

    /// A JWT or an API key, DPoP binding not looked at.
    pub(crate) async fn verify_token(&self, token: &str) -> Result<Claims, VerifyError> {
        if token.starts_with(API_KEY_PREFIX) {
            return match &self.inner.api_keys {
                Some(api_keys) => {
                    api_keys
                        .verify(
                            &self.inner.http,
                            token,
                            &self.inner.issuer,
                            &self.inner.audience,
                            self.inner.clock.now(),
                        )
                        .await
                }
                None => Err(VerifyError::ApiKeysNotAccepted),
            };
        }
        self.verify_jwt(token).await
    }

    async fn verify_jwt(&self, token: &str) -> Result<Claims, VerifyError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(VerifyError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed);
        };
        let header = parse_header(header_b64)?;

        // The algorithm is checked before anything else depends on it.
        let alg = Alg::from_name(&header.alg)
            .filter(|a| self.inner.algorithms.contains(a))
            .ok_or_else(|| VerifyError::AlgorithmNotAllowed(header.alg.clone()))?;
        match header.typ.as_deref() {
            Some(t)
                if t.eq_ignore_ascii_case("at+jwt")
                    || t.eq_ignore_ascii_case("application/at+jwt") => {}
            _ => return Err(VerifyError::WrongType),
        }
        if header.crit {
            return Err(VerifyError::UnsupportedCritical);
        }
        let Some(kid) = header.kid else {
            return Err(VerifyError::UnknownKey(String::new()));
        };
        let key = self.key_for(&kid).await?;
        if !key.fits(alg) {
            return Err(VerifyError::KeyMismatch);
        }

        let message_len = header_b64.len() + 1 + payload_b64.len();
        let message = &token.as_bytes()[..message_len];
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| VerifyError::InvalidSignature)?;
        if !key.verify(alg, message, &signature) {
            return Err(VerifyError::InvalidSignature);
        }

        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| VerifyError::Malformed)?;
        let map: Map<String, Value> =
            serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
        self.check_claims(map)
    }

    fn check_claims(&self, mut map: Map<String, Value>) -> Result<Claims, VerifyError> {
        let now = self.inner.clock.now();
        let leeway = self.inner.leeway;
        for name in ["iss", "sub", "aud", "exp"] {
            if map.get(name).is_none_or(Value::is_null) {
                return Err(VerifyError::MissingClaim(name));
            }
        }
        let nbf = numeric_date(map.get("nbf").cloned(), "nbf")?;
        if nbf.is_none() {
            map.remove("nbf");
        }
        let claims = Claims::from_object(map, TokenKind::AccessToken)?;
        if claims.iss != self.inner.issuer {
            return Err(VerifyError::WrongIssuer);
        }
        if claims.sub.is_empty() {
            return Err(VerifyError::MissingClaim("sub"));
        }
        if !claims.aud.iter().any(|a| *a == self.inner.audience) {
            return Err(VerifyError::WrongAudience);
        }
        let exp = claims.exp.ok_or(VerifyError::MissingClaim("exp"))?;
        if now >= exp.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
        if nbf.is_some_and(|nbf| now.saturating_add(leeway) < nbf) {
            return Err(VerifyError::NotYetValid);
        }
        Ok(claims)
    }

    fn keys(&self) -> (Arc<KeySet>, i64) {
        let keys = self
            .inner
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        (keys.set.clone(), keys.fresh_until)
    }

    /// Finds the key for `kid`, refreshing the JWKS when it is stale or the `kid` is unknown,
    /// at most once per refetch interval and with one fetch for all concurrent callers.
    async fn key_for(&self, kid: &str) -> Result<Arc<KeyEntry>, VerifyError> {
        let inner = &self.inner;
        let (set, fresh_until) = self.keys();
        let cached = set.get(kid);
        let Some(jwks_uri) = inner.jwks_uri.as_deref() else {
            return cached.ok_or_else(|| VerifyError::UnknownKey(kid.to_owned()));
        };
        let now = inner.clock.now();

        if let Some(key) = cached {
            if now < fresh_until {
                return Ok(key);
            }
            // Stale: one caller refreshes; everyone else keeps using the cached key.
            let Ok(mut state) = inner.refresh.try_lock() else {
                return Ok(key);
            };
            let (set, fresh_until) = self.keys();
            if now < fresh_until || now - state.last_attempt < inner.refetch_interval {
                return set
                    .get(kid)
                    .ok_or_else(|| VerifyError::UnknownKey(kid.to_owned()));
            }
            state.last_attempt = now;
            return match self.refresh_keys(jwks_uri, now).await {
                // Keys the issuer dropped stop verifying.
                Ok(set) => set
                    .get(kid)
                    .ok_or_else(|| VerifyError::UnknownKey(kid.to_owned())),
                // The issuer is down: keep trusting what we had.
                Err(_) => Ok(key),
            };
        }

        // Unknown kid: wait for any fetch under way, then look again before fetching.
        let mut state = inner.refresh.lock().await;
        if let Some(key) = self.keys().0.get(kid) {
            return Ok(key);
        }
        let now = inner.clock.now();
        if now - state.last_attempt < inner.refetch_interval {
            return Err(VerifyError::UnknownKey(kid.to_owned()));
        }
        state.last_attempt = now;
        let set = self
            .refresh_keys(jwks_uri, now)
            .await
            .map_err(|e| VerifyError::Unavailable(e.to_string()))?;
        set.get(kid)
            .ok_or_else(|| VerifyError::UnknownKey(kid.to_owned()))
    }

    /// Fetches the JWKS and installs it, unless it holds no usable key.
    async fn refresh_keys(&self, jwks_uri: &str, now: i64) -> Result<Arc<KeySet>, Error> {
        let inner = &self.inner;
        let (set, fresh_until) = fetch_jwks(
            &inner.http,
            jwks_uri,
            &inner.algorithms,
            inner.refetch_interval,
            now,
        )
        .await?;
        if set.len() == 0 {
            return Err(Error::NoUsableKeys);
        }
        let set = Arc::new(set);
        let mut keys = inner.keys.write().unwrap_or_else(PoisonError::into_inner);
        keys.set = set.clone();
        keys.fresh_until = fresh_until;
        Ok(set)
    }
}

fn parse_header(b64: &str) -> Result<Header, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| VerifyError::Malformed)?;
    let map: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)?;
    let string = |name: &str| -> Result<Option<String>, VerifyError> {
        match map.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(VerifyError::Malformed),
        }
    };
    Ok(Header {
        alg: string("alg")?.ok_or(VerifyError::Malformed)?,
        typ: string("typ")?,
        kid: string("kid")?,
        crit: map.contains_key("crit"),
    })
}

/// GETs and parses a JWKS; returns it with the time it stays fresh until (its `max-age`, at
/// least the refetch interval, at most a day).
pub(crate) async fn fetch_jwks(
    client: &reqwest::Client,
    jwks_uri: &str,
    algorithms: &[Alg],
    refetch_interval: i64,
    now: i64,
) -> Result<(KeySet, i64), Error> {
    let fetched = http::get(client, jwks_uri).await?;
    let set = parse_jwks(&fetched.body, algorithms).map_err(|message| Error::InvalidDocument {
        url: jwks_uri.to_owned(),
        message,
    })?;
    let max_age = http::max_age(&fetched.headers)
        .map_or(DEFAULT_JWKS_MAX_AGE, |a| {
            i64::try_from(a).unwrap_or(i64::MAX)
        })
        .clamp(refetch_interval.min(MAX_JWKS_MAX_AGE), MAX_JWKS_MAX_AGE);
    Ok((set, now.saturating_add(max_age)))
}
