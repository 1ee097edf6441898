//! Federated sign-in: Portcullis as a client of upstream identity providers (Google and any
//! OpenID provider with the `openidconnect` crate, GitHub with `oauth2` and its REST API). The
//! apps behind Portcullis never see upstream tokens: an upstream sign-in ends in an ordinary
//! Portcullis browser session.
//!
//! The HTTP client follows no redirects (SSRF) and has connect and total timeouts.
mod accounts;
pub mod admin;
pub mod book;
pub mod declared;
mod github;
mod http;
mod identity;
mod oidc;

pub use accounts::{
    complete_link, is_linked_to, linked_providers, pending_link, resolve, unlink, Origin,
    Resolution, Unlinked,
};
pub use book::ProviderBook;
use identity::checked;
pub use identity::{FederationError, UpstreamIdentity};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use openidconnect::core::CoreProviderMetadata;
use openidconnect::PkceCodeChallenge;

use crate::config::FederationSettings;

/// An upstream provider that is configured (client id and secret set) or declared
/// (`declared`, its secret read on this machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// `google`, `github`, or the `federation.oidc.<name>` name; part of the callback URL.
    pub name: String,
    pub display_name: String,
    client_id: String,
    client_secret: String,
    scopes: Vec<String>,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Oidc {
        issuer: String,
    },
    Github {
        authorize_url: String,
        token_url: String,
        api_url: String,
    },
}

/// What the start of an upstream sign-in sends along and keeps.
pub struct Start {
    pub state: String,
    pub nonce: String,
    pub pkce_challenge: PkceCodeChallenge,
}

/// Discovered OIDC metadata is reused this long (it carries the upstream's JWKS).
const METADATA_TTL: Duration = Duration::from_secs(300);

type MetadataCache = HashMap<String, (Instant, Arc<CoreProviderMetadata>)>;

/// The providers offered (configured, then declared) and the HTTP client used to reach them.
pub struct Providers {
    providers: Vec<Provider>,
    /// Built only when a provider is configured (its TLS roots cost memory).
    http: Option<reqwest::Client>,
    /// Bound on a whole upstream exchange (several calls), besides each call's own.
    timeout: Duration,
    discovered: Mutex<MetadataCache>,
}

impl Providers {
    pub fn from_settings(fed: &FederationSettings) -> anyhow::Result<Providers> {
        Providers::new(
            Providers::configured(fed),
            Duration::from_secs(fed.timeout_secs),
            None,
        )
    }

    /// The providers `[federation]` enables, in order (Google, GitHub, then the others by name).
    pub fn configured(fed: &FederationSettings) -> Vec<Provider> {
        let mut providers = Vec::new();
        let creds = |id: &Option<String>, secret: &Option<String>| match (id, secret) {
            (Some(i), Some(s)) => Some((i.clone(), s.clone())),
            (None, None) => None,
            _ => {
                tracing::warn!(
                    "a federation provider has a client id or a client secret but not both; \
                     it stays off"
                );
                None
            }
        };
        if let Some((client_id, client_secret)) =
            creds(&fed.google.client_id, &fed.google.client_secret)
        {
            providers.push(Provider {
                name: "google".into(),
                display_name: fed.google.display_name.clone(),
                client_id,
                client_secret,
                scopes: fed.google.scopes.clone(),
                kind: Kind::Oidc {
                    issuer: fed.google.issuer.clone(),
                },
            });
        }
        if let Some((client_id, client_secret)) =
            creds(&fed.github.client_id, &fed.github.client_secret)
        {
            let gh = &fed.github;
            providers.push(Provider {
                name: "github".into(),
                display_name: gh.display_name.clone(),
                client_id,
                client_secret,
                scopes: gh.scopes.clone(),
                kind: Kind::Github {
                    authorize_url: gh.authorize_url.clone(),
                    token_url: gh.token_url.clone(),
                    api_url: gh.api_url.trim_end_matches('/').to_string(),
                },
            });
        }
        for (name, p) in &fed.oidc {
            if let Some((client_id, client_secret)) = creds(&p.client_id, &p.client_secret) {
                providers.push(Provider {
                    name: name.clone(),
                    display_name: p.display_name.clone().unwrap_or_else(|| name.clone()),
                    client_id,
                    client_secret,
                    scopes: p.scopes.clone(),
                    kind: Kind::Oidc {
                        issuer: p.issuer.clone(),
                    },
                });
            }
        }
        providers
    }

    /// `providers`, reached with `http` (built here when there is a provider and no client).
    fn new(
        providers: Vec<Provider>,
        timeout: Duration,
        http: Option<reqwest::Client>,
    ) -> anyhow::Result<Providers> {
        let http = if providers.is_empty() || http.is_some() {
            http
        } else {
            Some(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(timeout.min(Duration::from_secs(5)))
                    .timeout(timeout)
                    .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .context("building the upstream HTTP client")?,
            )
        };
        Ok(Providers {
            providers,
            http,
            timeout,
            discovered: Mutex::new(HashMap::new()),
        })
    }

    /// These providers' replacement by `providers`, keeping the HTTP client and the discovered
    /// metadata of every provider that stays the same.
    pub fn replaced_by(&self, providers: Vec<Provider>) -> anyhow::Result<Providers> {
        let kept: MetadataCache = match self.discovered.lock() {
            Ok(cache) => cache
                .iter()
                .filter(|(name, _)| self.get(name).is_some_and(|old| providers.contains(old)))
                .map(|(name, entry)| (name.clone(), entry.clone()))
                .collect(),
            Err(_) => HashMap::new(),
        };
        let next = Providers::new(providers, self.timeout, self.http.clone())?;
        if let Ok(mut cache) = next.discovered.lock() {
            *cache = kept;
        }
        Ok(next)
    }

    /// Enabled providers: the configured ones (Google, GitHub, then the others by name), then
    /// the declared ones by name.
    pub fn enabled(&self) -> &[Provider] {
        &self.providers
    }

    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// A fresh state, nonce and PKCE pair, and the verifier to keep.
    pub fn new_start() -> anyhow::Result<(Start, String)> {
        let (pkce_challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        Ok((
            Start {
                state: crate::tokens::secret::new_secret()?,
                nonce: crate::tokens::secret::new_secret()?,
                pkce_challenge,
            },
            verifier.secret().clone(),
        ))
    }

    /// Where to send the browser to sign in upstream.
    pub async fn authorize_url(
        &self,
        provider: &Provider,
        callback: &str,
        start: Start,
    ) -> Result<String, FederationError> {
        match &provider.kind {
            Kind::Oidc { issuer } => {
                let meta = tokio::time::timeout(self.timeout, self.metadata(provider, issuer))
                    .await
                    .map_err(|e| {
                        FederationError::new(provider, "it took too long to answer", e)
                    })??;
                oidc::authorize_url(provider, &meta, callback, start)
            }
            Kind::Github { authorize_url, .. } => {
                github::authorize_url(provider, authorize_url, callback, start)
            }
        }
    }

    /// Exchanges the upstream code and learns who signed in.
    pub async fn finish(
        &self,
        provider: &Provider,
        callback: &str,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<UpstreamIdentity, FederationError> {
        let limit = self.timeout;
        let work = self.finish_inner(provider, callback, code, verifier, nonce);
        match tokio::time::timeout(limit, work).await {
            Ok(result) => checked(provider, result?),
            Err(_) => Err(FederationError::new(
                provider,
                "it took too long to answer",
                anyhow::anyhow!("the sign-in took longer than {limit:?}"),
            )),
        }
    }

    async fn finish_inner(
        &self,
        provider: &Provider,
        callback: &str,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<UpstreamIdentity, FederationError> {
        match &provider.kind {
            Kind::Oidc { issuer } => {
                let meta = self.metadata(provider, issuer).await?;
                let tokens =
                    oidc::exchange(self.http()?, provider, &meta, callback, code, verifier).await?;
                match oidc::identity(self.http()?, provider, &meta, callback, &tokens, nonce).await
                {
                    // The upstream may have rotated its keys since discovery: look again, once.
                    Err(e) if e.bad_id_token && self.forget_if_stale(provider) => {
                        let meta = self.metadata(provider, issuer).await?;
                        oidc::identity(self.http()?, provider, &meta, callback, &tokens, nonce)
                            .await
                    }
                    other => other,
                }
            }
            Kind::Github {
                token_url, api_url, ..
            } => {
                let urls = github::Urls {
                    token_url,
                    api_url,
                    callback,
                };
                github::finish(self.http()?, provider, urls, code, verifier).await
            }
        }
    }

    fn http(&self) -> Result<&reqwest::Client, FederationError> {
        self.http.as_ref().ok_or_else(|| FederationError {
            message: "No upstream sign-in is configured.".into(),
            cause: None,
            bad_id_token: false,
        })
    }

    /// Drops cached metadata older than a few seconds; `true` if it did (a rediscovery is
    /// worth it, and at most one per sign-in).
    fn forget_if_stale(&self, provider: &Provider) -> bool {
        let Ok(mut cache) = self.discovered.lock() else {
            return false;
        };
        match cache.get(&provider.name) {
            Some((at, _)) if at.elapsed() >= Duration::from_secs(1) => {
                cache.remove(&provider.name);
                true
            }
            _ => false,
        }
    }

    async fn metadata(
        &self,
        provider: &Provider,
        issuer: &str,
    ) -> Result<Arc<CoreProviderMetadata>, FederationError> {
        if let Ok(cache) = self.discovered.lock() {
            if let Some((at, meta)) = cache.get(&provider.name) {
                if at.elapsed() < METADATA_TTL {
                    return Ok(meta.clone());
                }
            }
        }
        let meta = Arc::new(oidc::discover(self.http()?, provider, issuer).await?);
        if let Ok(mut cache) = self.discovered.lock() {
            cache.insert(provider.name.clone(), (Instant::now(), meta.clone()));
        }
        Ok(meta)
    }
}
