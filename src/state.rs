//! What every handler gets: the pool, the key store, the settings, the clock and the metrics.
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::identity::client_ip::TrustedProxies;
use crate::identity::password::Hasher;
use crate::identity::role_book::RoleBook;
use crate::store::Db;
use crate::tokens::KeyStore;

pub struct AppState {
    pub db: Db,
    pub keys: Arc<KeyStore>,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub hasher: Hasher,
    /// The roles as this instance last read them from the database (`current()`; re-read
    /// every few seconds, and by `reload` after a change made here).
    pub roles: Arc<RoleBook>,
    pub proxies: TrustedProxies,
    /// Upstream identity providers (federation): the configured ones and those declared in the
    /// database (`current()`; re-read every few seconds).
    pub federation: Arc<crate::federation::ProviderBook>,
    /// Outgoing mail (disabled without `email.smtp_url`).
    pub mailer: crate::email::Mailer,
    /// The discovery document, rendered once (the issuer never changes while running).
    pub discovery_json: String,
    /// Clients held for client authentication (`oauth::client_cache`; polled by `watch`).
    pub clients: Arc<crate::oauth::client_cache::ClientCache>,
    /// Threads that sign tokens which need no database work (a `client_credentials` grant of a
    /// cached client): as many as cores, behind a bounded queue (503 when full).
    pub signing: crate::workers::Workers,
    /// Liveness lookups of client tokens at `/introspect`, read in batches.
    pub liveness: Arc<crate::oauth::liveness_batch::LivenessBatch>,
    /// Every client's allowed web origins, cached briefly (CORS preflights and `/userinfo`).
    pub known_origins: crate::http::cors::KnownOrigins,
    /// The server secret CSRF tokens are bound with (from the database: every instance agrees).
    pub csrf_key: crate::http::browser::cookies::CsrfKey,
    /// The server secret DPoP nonces are made with (from the database: every instance agrees).
    pub dpop_nonces: crate::oauth::dpop::NonceKey,
    /// What this process's purges deleted (the last run, and since start), for monitoring.
    pub purge: Arc<crate::purge::Totals>,
    /// This process's id as the holder of database leases (`store::leases`).
    pub lease_holder: String,
    /// Set on SIGTERM/SIGINT: every answer from then on closes its connection.
    pub draining: std::sync::atomic::AtomicBool,
    /// This server as a WebAuthn relying party (`None` when the issuer's host is no domain
    /// name: passkeys are off).
    pub passkeys: Option<Arc<crate::identity::passkeys::RelyingParty>>,
    /// Client ID metadata documents: the fetcher and its memory of failures.
    pub metadata_documents: Arc<crate::oauth::metadata_document::Resolver>,
    /// Clients' public keys fetched from their `jwks_uri`, cached (`oauth::client_keys`).
    pub client_keys: Arc<crate::oauth::client_keys::ClientKeys>,
    /// This application's metrics registry (`/metrics`); empty when disabled.
    pub metrics: crate::metrics::Metrics,
    /// The pages' product name, footer line and theme (`[ui]`; re-read on SIGHUP).
    pub ui: Arc<crate::ui::UiHandle>,
}

impl AppState {
    /// The nonce key when `dpop.require_nonce` is on: every DPoP proof must carry a nonce.
    pub fn required_dpop_nonce(&self) -> Option<&crate::oauth::dpop::NonceKey> {
        self.settings
            .dpop
            .require_nonce
            .then_some(&self.dpop_nonces)
    }
}
