//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, as the MCP
//! authorization spec of 2025-11-25 requires): a `client_id` that is an https URL names a JSON
//! document, fetched by this server, that defines the client.
//!
//! - Which URLs: `id` (https with a path; no fragment, user information or dot segment) and the
//!   policy `clients.metadata_documents` (`off`, `on`, `listed` with
//!   `clients.metadata_document_domains`).
//! - Fetching: `fetch` (SSRF-hardened: public addresses only, resolved once and connected to as
//!   checked, no redirects, no proxy, time and size caps, `application/json` only).
//! - What a document may say: `document` (the limits for dynamic clients, then the CLI's rules;
//!   public clients with PKCE only).
//! - How long it holds: `cache` (its `Cache-Control` within bounds; failures remembered 30 s).
//!
//! A document that is good becomes a row of `clients` whose `metadata_document_expires_at` says
//! until when it stands (other clients have none). `/authorize` calls [`Resolver::ensure`]
//! first: a fresh row is used as it is; a stale or missing one is fetched again and replaced
//! (or the request refused: a stale document is never used to start a sign-in). Codes, consents
//! and refresh tokens reference the row like any client's, so `/consent` and `/token` read it
//! as they read every client; a new document replaces it whole, so it can't widen what the
//! current one allows. Such a client is always asked for consent, shown as unverified.
use anyhow::Context;
use serde_json::json;

use crate::config::{ClientSettings, MetadataDocumentPolicy, Settings};
use crate::identity::audit::{self, Event};
use crate::identity::guesses;
use crate::oauth::Client;
use crate::store::{clients, write_transaction, Db, DbError};

pub mod cache;
pub mod document;
pub mod fetch;
pub mod id;
mod reach;

/// Why a URL client_id was refused (shown to the user as is: no secret, no internal detail).
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("The application's metadata document at {url} could not be used: {reason}.")]
    Refused { url: String, reason: String },
    /// This source asked for more documents than `clients.metadata_document_fetches_per_minute`.
    #[error("too many document fetches from this source")]
    Throttled { retry_after: i64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for DocumentError {
    fn from(e: DbError) -> Self {
        DocumentError::Internal(e.into())
    }
}

impl From<diesel::result::Error> for DocumentError {
    fn from(e: diesel::result::Error) -> Self {
        DocumentError::Internal(e.into())
    }
}

/// The policy's settings that `config check` refuses.
pub fn check_settings(rules: &ClientSettings) -> anyhow::Result<()> {
    if rules.metadata_documents == MetadataDocumentPolicy::Listed
        && rules.metadata_document_domains.is_empty()
    {
        anyhow::bail!(
            "clients.metadata_documents = \"listed\" needs clients.metadata_document_domains"
        );
    }
    for domain in &rules.metadata_document_domains {
        let d = domain.trim_start_matches('.');
        let ok = !d.is_empty()
            && d.len() <= 253
            && d.split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !ok {
            anyhow::bail!("clients.metadata_document_domains: {domain:?} is not a domain name");
        }
    }
    if !(1..=60).contains(&rules.metadata_document_timeout_secs) {
        anyhow::bail!("clients.metadata_document_timeout_secs must be 1 to 60");
    }
    if !(256..=1024 * 1024).contains(&rules.metadata_document_max_bytes) {
        anyhow::bail!("clients.metadata_document_max_bytes must be 256 to 1048576");
    }
    Ok(())
}

/// Whether the policy still accepts the URL of a client a document made (checked at `/token`:
/// turning the policy off, or leaving a domain off the list, ends its codes and refresh tokens).
pub fn still_allowed(client_id: &str, rules: &ClientSettings) -> Result<(), String> {
    let url = id::parse(client_id, rules.metadata_document_allow_loopback)?;
    id::allowed(&url, rules)
}

/// Turns URL client_ids into clients: the fetcher, and the memory of recent failures.
#[derive(Debug)]
pub struct Resolver {
    fetcher: fetch::Fetcher,
    failures: cache::Failures,
}

/// What `ensure` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// Not a URL: an ordinary client id (or none).
    NotAUrl,
    /// The stored client is fresh.
    Cached,
    /// The document was fetched and stored.
    Fetched,
}

impl Resolver {
    pub fn new(rules: &ClientSettings) -> anyhow::Result<Resolver> {
        Ok(Resolver {
            fetcher: fetch::Fetcher::new(rules)?,
            failures: cache::Failures::default(),
        })
    }

    /// Makes sure a URL `client_id` has a fresh row in `clients` (fetching its document when
    /// needed), or says why it can't be used. Other client ids are left alone.
    pub async fn ensure(
        &self,
        db: &Db,
        settings: &Settings,
        client_id: &str,
        from_ip: Option<&str>,
        now: i64,
    ) -> Result<Ensured, DocumentError> {
        if !id::looks_like_url(client_id) {
            return Ok(Ensured::NotAUrl);
        }
        let rules = &settings.clients;
        let refused = |reason: String| DocumentError::Refused {
            url: client_id.to_string(),
            reason,
        };
        let url = id::parse(client_id, rules.metadata_document_allow_loopback).map_err(refused)?;
        id::allowed(&url, rules).map_err(refused)?;

        let id = client_id.to_string();
        let stored = db
            .run(move |c| Ok::<_, DocumentError>(clients::find(c, &id)?))
            .await?;
        match stored.as_ref().map(|row| row.metadata_document_expires_at) {
            // A client with this id that no document made (never from our generators).
            Some(None) => return Err(refused("its URL names another client".into())),
            Some(Some(expires_at)) if expires_at > now => return Ok(Ensured::Cached),
            _ => {}
        }
        if let Some(reason) = self.failures.get(client_id, now) {
            return Err(refused(reason));
        }
        // Each fetch is a request we make for whoever asked: a budget per source, so nobody
        // can turn the server into a crawler of many URLs (shared by instances: the database).
        if let Some(ip) = from_ip {
            let (ip, limit) = (ip.to_string(), rules.metadata_document_fetches_per_minute);
            let spent = db
                .run(move |c| {
                    Ok::<_, DocumentError>(guesses::reserve_document_fetch(c, limit, &ip, now)?)
                })
                .await?;
            if let Err(retry_after) = spent {
                return Err(DocumentError::Throttled { retry_after });
            }
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let fetched = match self.fetcher.fetch(&url).await {
            Ok(f) => f,
            Err(reason) => return Err(self.failed(client_id, reason, now)),
        };
        let expires_at = now + cache::lifetime(fetched.cache_control.as_deref());
        let client = match document::to_client(
            client_id,
            &host,
            &fetched.body,
            rules,
            settings.tokens.max_access_token_ttl_secs,
            now,
            expires_at,
        ) {
            Ok(c) => c,
            Err(reason) => return Err(self.failed(client_id, reason, now)),
        };
        self.failures.forget(client_id);
        let again = client.clone();
        let first = db
            .run(move |c| Ok::<_, DocumentError>(store(c, &client, now)?))
            .await;
        if let Err(e) = first {
            // Another sign-in stored the same client at the same moment (the insert lost the
            // race on the primary key): once more, as a replacement.
            tracing::debug!(error = %e, "storing a metadata document client, retrying");
            db.run(move |c| Ok::<_, DocumentError>(store(c, &again, now)?))
                .await?;
        }
        Ok(Ensured::Fetched)
    }

    fn failed(&self, client_id: &str, reason: String, now: i64) -> DocumentError {
        tracing::warn!(
            client_id = %crate::telemetry::capped(client_id),
            reason = %reason,
            "client metadata document refused"
        );
        self.failures.remember(client_id, &reason, now);
        DocumentError::Refused {
            url: client_id.to_string(),
            reason,
        }
    }
}

/// Stores a client a document defines: inserted, or replacing the one an earlier document made
/// (never a client made otherwise). Its first use and every change go to the audit log.
fn store(conn: &mut crate::store::DbConnection, client: &Client, now: i64) -> anyhow::Result<()> {
    let row = client.to_row()?;
    write_transaction(conn, |c| {
        let before = clients::find(c, &client.id)?;
        let changed = match &before {
            None => {
                clients::insert(c, &row)?;
                true
            }
            Some(old) if old.metadata_document_expires_at.is_none() => {
                anyhow::bail!("client {} was not made by a metadata document", client.id)
            }
            Some(old) => {
                let row = clients::ClientRow {
                    created_at: old.created_at,
                    ..row.clone()
                };
                clients::replace_metadata_document(c, &row)?;
                old.name != row.name
                    || old.redirect_uris != row.redirect_uris
                    || old.grant_types != row.grant_types
                    || old.scopes != row.scopes
                    || old.post_logout_redirect_uris != row.post_logout_redirect_uris
            }
        };
        if changed {
            audit::record(
                c,
                Event {
                    kind: audit::CLIENT_METADATA_DOCUMENT,
                    success: true,
                    client_id: Some(&client.id),
                    detail: Some(json!({
                        "first_use": before.is_none(),
                        "name": client.name,
                        "redirect_uris": client.redirect_uris,
                        "grant_types": client.grant_types,
                        "scope": client.scopes.join(" "),
                    })),
                    ..Event::default()
                },
                now,
            )?;
        }
        Ok(())
    })
    .context("storing a client from its metadata document")
}
