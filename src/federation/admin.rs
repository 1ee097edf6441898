//! The operator's use cases on declared upstream providers: create, change, delete. Each takes
//! plain values and `now`, owns its transaction and writes its audit event
//! (`provider_created`, `provider_changed`, `provider_deleted`) inside it, naming the actor;
//! the `*_in` functions do the same inside a transaction the caller holds (`declarative`
//! reconciles many in one). Audit details name where the secret is, never a secret. A server
//! sees a change within `book::RELOAD_EVERY` (or at once by `ProviderBook::reload`).
use serde_json::json;

use super::declared::Declared;
use crate::identity::admin_users::Actor;
use crate::identity::audit;
use crate::store::{self, federation_providers as rows, DbConnection};

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("no such provider {0:?}")]
    NoSuchProvider(String),
    #[error("provider {0:?} already exists")]
    Exists(String),
    #[error("provider {name:?}: {why}")]
    Invalid { name: String, why: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for ProviderError {
    fn from(e: diesel::result::Error) -> Self {
        ProviderError::Internal(e.into())
    }
}

fn valid(provider: &Declared) -> Result<Declared, ProviderError> {
    provider
        .clone()
        .checked()
        .map_err(|why| ProviderError::Invalid {
            name: provider.name.clone(),
            why,
        })
}

pub fn create(
    conn: &mut DbConnection,
    provider: &Declared,
    actor: Actor,
    now: i64,
) -> Result<(), ProviderError> {
    store::write_transaction(conn, |c| create_in(c, provider, actor, now))
}

pub fn create_in(
    conn: &mut DbConnection,
    provider: &Declared,
    actor: Actor,
    now: i64,
) -> Result<(), ProviderError> {
    let provider = valid(provider)?;
    if rows::find(conn, &provider.name)?.is_some() {
        return Err(ProviderError::Exists(provider.name));
    }
    rows::insert(conn, &provider.to_row(now, now))?;
    let detail = json!({
        "provider": provider.name,
        "kind": provider.kind,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "secret": provider.secret_place(),
    });
    record(conn, audit::PROVIDER_CREATED, actor, detail, now)
}

/// Replaces the provider `provider.name`; returns it as it was.
pub fn update(
    conn: &mut DbConnection,
    provider: &Declared,
    actor: Actor,
    now: i64,
) -> Result<Declared, ProviderError> {
    store::write_transaction(conn, |c| update_in(c, provider, actor, now))
}

pub fn update_in(
    conn: &mut DbConnection,
    provider: &Declared,
    actor: Actor,
    now: i64,
) -> Result<Declared, ProviderError> {
    let provider = valid(provider)?;
    let row = rows::find(conn, &provider.name)?
        .ok_or_else(|| ProviderError::NoSuchProvider(provider.name.clone()))?;
    let created_at = row.created_at;
    let before = Declared::from_row(row)?;
    let changed: Vec<&str> = before
        .fields()
        .into_iter()
        .zip(provider.fields())
        .filter(|((_, b), (_, a))| a != b)
        .map(|((name, _), _)| name)
        .collect();
    if changed.is_empty() {
        return Ok(before);
    }
    rows::update(conn, &provider.to_row(created_at, now))?;
    let detail = json!({
        "provider": provider.name,
        "changed": changed,
        "secret": provider.secret_place(),
    });
    record(conn, audit::PROVIDER_CHANGED, actor, detail, now)?;
    Ok(before)
}

pub fn delete(
    conn: &mut DbConnection,
    name: &str,
    actor: Actor,
    now: i64,
) -> Result<(), ProviderError> {
    store::write_transaction(conn, |c| delete_in(c, name, actor, now))
}

pub fn delete_in(
    conn: &mut DbConnection,
    name: &str,
    actor: Actor,
    now: i64,
) -> Result<(), ProviderError> {
    if !rows::delete(conn, name)? {
        return Err(ProviderError::NoSuchProvider(name.to_string()));
    }
    let detail = json!({ "provider": name });
    record(conn, audit::PROVIDER_DELETED, actor, detail, now)
}

/// Every declared provider, by name.
pub fn list(conn: &mut DbConnection) -> anyhow::Result<Vec<Declared>> {
    rows::list(conn)?
        .into_iter()
        .map(Declared::from_row)
        .collect()
}

fn record(
    conn: &mut DbConnection,
    kind: &str,
    actor: Actor,
    detail: serde_json::Value,
    now: i64,
) -> Result<(), ProviderError> {
    Ok(actor.record(conn, kind, None, detail, now)?)
}
