//! Validation of the settings as a whole (run once at start, and by `config check`).
use anyhow::{bail, Context};
use url::Url;

use super::Settings;

impl Settings {
    /// Checks that the settings make sense together; run once at start.
    pub fn validate(&self) -> anyhow::Result<()> {
        let issuer = self.issuer_url()?;
        if !matches!(issuer.scheme(), "http" | "https") {
            bail!("issuer must be an http(s) URL, got {}", self.issuer);
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            bail!("issuer must not have a query or fragment");
        }
        if self.issuer.ends_with('/') {
            bail!("issuer must not end with '/' (tokens carry it verbatim)");
        }
        crate::store::DatabaseKind::from_url(&self.database_url)?;
        if self.database_pool_size.is_some_and(|n| n == 0 || n > 1000) {
            bail!("database_pool_size must be between 1 and 1000");
        }
        if !(1..=100_000).contains(&self.database_queue) {
            bail!("database_queue must be between 1 and 100000");
        }
        if !(1..=60).contains(&self.database_timeout_secs) {
            bail!("database_timeout_secs must be between 1 and 60");
        }
        if self.workers == Some(0) {
            bail!("workers must be at least 1");
        }
        self.bind_addr()?;
        let t = &self.tokens;
        if t.access_token_ttl_secs <= 0 || t.max_access_token_ttl_secs <= 0 {
            bail!("tokens.*_ttl_secs must be positive");
        }
        if t.access_token_ttl_secs > t.max_access_token_ttl_secs {
            bail!("tokens.access_token_ttl_secs exceeds tokens.max_access_token_ttl_secs");
        }
        if ![2048, 3072, 4096].contains(&self.keys.rsa_bits) {
            bail!("keys.rsa_bits must be 2048, 3072 or 4096");
        }
        if !(1..=60).contains(&self.keys.reload_interval_secs) {
            bail!("keys.reload_interval_secs must be between 1 and 60");
        }
        if !(1..=300).contains(&self.shutdown_timeout_secs) {
            bail!("shutdown_timeout_secs must be between 1 and 300");
        }
        let k = &self.keys;
        if k.algorithms.is_empty() {
            bail!("keys.algorithms must name at least one of RS256, PS256, ES256, EdDSA");
        }
        if (1..k.algorithms.len()).any(|i| k.algorithms[..i].contains(&k.algorithms[i])) {
            bail!("keys.algorithms lists an algorithm twice");
        }
        let floor = (k.reload_interval_secs + k.jwks_max_age_secs) as i64;
        if k.publish_ahead_secs <= floor {
            bail!(
                "keys.publish_ahead_secs ({}) must exceed keys.reload_interval_secs + \
                 keys.jwks_max_age_secs ({floor}): every instance and every cached JWKS must \
                 have a new key before it signs",
                k.publish_ahead_secs
            );
        }
        if k.rotate_every_days != 0
            && i64::from(k.rotate_every_days) * 86_400 <= k.publish_ahead_secs
        {
            bail!("keys.rotate_every_days must be longer than keys.publish_ahead_secs (or 0)");
        }
        if let Some(text) = &k.encryption_key {
            crate::tokens::keys::Kek::from_base64(text).context("keys.encryption_key")?;
        }
        let p = &self.password;
        if p.min_length == 0 || p.min_length > p.max_length {
            bail!("password.min_length must be at least 1 and at most password.max_length");
        }
        if p.argon2_memory_kib < 8 * p.argon2_parallelism.max(1)
            || p.argon2_iterations == 0
            || p.argon2_parallelism == 0
        {
            bail!("password.argon2_* parameters are out of range");
        }
        if p.hash_threads == Some(0) {
            bail!("password.hash_threads must be at least 1");
        }
        let clients = &self.clients;
        crate::oauth::scope::validate_tokens(&clients.registration_scopes)
            .map_err(|e| anyhow::anyhow!("clients.registration_scopes: {e}"))?;
        for r in &clients.resources {
            crate::oauth::resource::check_uri(r)
                .map_err(|why| anyhow::anyhow!("clients.resources: {r:?} {why}"))?;
        }
        if clients.cache_refresh_ms > 60_000 {
            bail!("clients.cache_refresh_ms must be at most 60000 (0: no cache)");
        }
        if clients.metadata_document_fetches_per_minute < 0 {
            bail!(
                "clients.metadata_document_fetches_per_minute must not be negative (0: no limit)"
            );
        }
        if clients.registration_rate_limit_per_ip < 0 {
            bail!("clients.registration_rate_limit_per_ip must not be negative (0: no limit)");
        }
        crate::oauth::metadata_document::check_settings(clients)?;
        if !(10..=86_400).contains(&clients.device_code_lifetime_secs) {
            bail!("clients.device_code_lifetime_secs must be between 10 and 86400");
        }
        if !(1..=60).contains(&clients.device_poll_interval_secs) {
            bail!("clients.device_poll_interval_secs must be between 1 and 60");
        }
        let l = &self.lockout;
        if l.ip_max_failures < 1 || l.ip_window_secs < 1 || l.account_max_failures < 1 {
            bail!("lockout limits must be at least 1");
        }
        if l.account_lock_secs < 1 || l.account_relock_secs < 1 {
            bail!("lockout.account_*_secs must be positive");
        }
        let sess = &self.sessions;
        if sess.max_per_user < 1
            || sess.refresh_token_ttl_secs < 1
            || sess.refresh_token_idle_secs < 1
            || sess.browser_idle_secs < 1
            || sess.browser_lifetime_secs < 1
        {
            bail!("sessions limits must be positive");
        }
        if sess.refresh_reuse_grace_secs < 0 {
            bail!("sessions.refresh_reuse_grace_secs must not be negative");
        }
        let purge = &self.purge;
        if purge.grace_secs < 0 || !(1..=100_000).contains(&purge.batch_size) {
            bail!("purge.grace_secs must not be negative; purge.batch_size must be 1 to 100000");
        }
        if purge.interval_secs > 7 * 86_400 {
            bail!("purge.interval_secs must be at most 604800 (a week); 0 turns it off");
        }
        if self.audit.retention_days < 0 || self.audit.retention_secs.is_some_and(|s| s < 0) {
            bail!("audit.retention_days must not be negative (0 keeps events forever)");
        }
        if !(1..=3600).contains(&self.http.body_timeout_secs) {
            bail!("http.body_timeout_secs must be between 1 and 3600");
        }
        self.metrics_bind_addr()?;
        if self
            .metrics
            .bearer_token
            .as_ref()
            .is_some_and(|t| t.trim().is_empty())
        {
            bail!("metrics.bearer_token must not be empty (leave it unset for no token)");
        }
        if self.api_keys.rotation_overlap_secs < 0 {
            bail!("api_keys.rotation_overlap_secs must not be negative");
        }
        let fed = &self.federation;
        if fed.timeout_secs < 1 || fed.timeout_secs > 120 {
            bail!("federation.timeout_secs must be 1 to 120");
        }
        for (name, p) in &fed.oidc {
            let ok_name = !name.is_empty()
                && name.len() <= 32
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !ok_name || name == "google" || name == "github" {
                bail!(
                    "federation.oidc.{name}: a provider name is 1-32 of a-z 0-9 - _, and not \
                     google or github"
                );
            }
            Url::parse(&p.issuer)
                .with_context(|| format!("federation.oidc.{name}.issuer is not a URL"))?;
        }
        Url::parse(&fed.google.issuer).context("federation.google.issuer is not a URL")?;
        for (key, url) in [
            ("authorize_url", &fed.github.authorize_url),
            ("token_url", &fed.github.token_url),
            ("api_url", &fed.github.api_url),
        ] {
            Url::parse(url).with_context(|| format!("federation.github.{key} is not a URL"))?;
        }
        self.email.validate()?;
        self.ui.validate()?;
        for proxy in &self.trusted_proxies {
            crate::identity::client_ip::parse_net(proxy)?;
        }
        Ok(())
    }
}
