//! The use cases of dynamic registration: register (RFC 7591 §3) and the client configuration
//! endpoint's read, update and delete (RFC 7592 §2), each in one transaction with its audit event.
use serde_json::{json, Value};

use super::{admit, check, invalid, DcrError, Extras, Metadata, Registered};
use crate::config::{RegistrationPolicy, Settings};
use crate::identity::audit::{self, Event};
use crate::identity::{guesses, RequestMeta};
use crate::oauth::client::{Client, ClientStore};
use crate::oauth::registration;
use crate::store::client_registrations::{self as store, ClientMetadata, RegistrationRow};
use crate::store::{clients, write_transaction, DbConnection};
use crate::tokens::secret;

/// What a registration audit event says about the client.
fn detail(client: &Client, extras: &Extras) -> Value {
    json!({
        "dynamic": true,
        "name": client.name,
        "public": client.public,
        "application_type": extras.application_type,
        "grant_types": client.grant_types,
        "scopes": client.scopes,
        "redirect_uris": client.redirect_uris,
    })
}

/// Registers a client from its metadata (RFC 7591 §3), in one transaction: the source's budget,
/// the initial access token (under that policy), the client, its registration, the audit event.
pub fn register(
    conn: &mut DbConnection,
    settings: &Settings,
    meta: &Metadata,
    initial_token: Option<&str>,
    from: &RequestMeta,
    now: i64,
) -> Result<Registered, DcrError> {
    let rules = &settings.clients;
    admit(rules.registration, initial_token)?;
    let max_ttl = settings.tokens.max_access_token_ttl_secs;
    let (spec, extras) = check(meta, rules, max_ttl)?;
    let extras_json = serde_json::to_string(&extras)?;
    write_transaction(conn, |c| {
        if let Some(ip) = &from.ip {
            let limit = rules.registration_rate_limit_per_ip;
            if let Err(retry_after) = guesses::reserve_client_registration(c, limit, ip, now)? {
                return Err(DcrError::Throttled { retry_after });
            }
        }
        let mut initial_token_id = None;
        if rules.registration == RegistrationPolicy::InitialAccessToken {
            let token = initial_token.ok_or(DcrError::MissingToken)?;
            initial_token_id = store::use_token(c, &secret::hash_secret(token), now)?;
            if initial_token_id.is_none() {
                return Err(DcrError::InvalidToken(
                    "the initial access token is invalid, used up or expired",
                ));
            }
        }
        let reg = registration::register(c, &spec, max_ttl, now)?;
        let access_token = secret::new_secret()?;
        store::insert(
            c,
            &RegistrationRow {
                client_id: reg.client.id.clone(),
                access_token_hash: secret::hash_secret(&access_token),
                metadata: extras_json,
                created_at: now,
                updated_at: now,
            },
        )?;
        audit::record(
            c,
            Event {
                kind: audit::CLIENT_REGISTERED,
                success: true,
                client_id: Some(&reg.client.id),
                meta: Some(from),
                detail: Some({
                    let mut d = detail(&reg.client, &extras);
                    if let Some(id) = initial_token_id {
                        d["initial_access_token"] = json!(id);
                    }
                    d
                }),
                ..Event::default()
            },
            now,
        )?;
        Ok(Registered {
            client: reg.client,
            extras,
            client_secret: reg.secret,
            access_token,
        })
    })
}

/// An arbitrary hash compared against when there is no registration, so an unknown client costs
/// the same work as a wrong token.
const NO_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The dynamic client `client_id` if `token` is its registration access token.
fn authenticate(
    c: &mut DbConnection,
    client_id: &str,
    token: &str,
) -> Result<(Client, Extras), DcrError> {
    let refused =
        DcrError::InvalidToken("the registration access token is not valid for this client");
    let row = store::find(c, client_id)?;
    let hash = row
        .as_ref()
        .map_or(NO_HASH, |r| r.access_token_hash.as_str());
    if !secret::verify_secret(token, hash) || row.is_none() {
        return Err(refused);
    }
    let Some(client) = c.find_client(client_id)?.filter(|cl| cl.dynamic) else {
        return Err(refused);
    };
    let extras = match row {
        Some(r) => serde_json::from_str(&r.metadata)?,
        None => return Err(refused),
    };
    Ok((client, extras))
}

/// Reads a dynamic client's registration (RFC 7592 §2.1).
pub fn read(conn: &mut DbConnection, client_id: &str, token: &str) -> Result<Registered, DcrError> {
    let (client, extras) = authenticate(conn, client_id, token)?;
    Ok(Registered {
        client,
        extras,
        client_secret: None,
        access_token: token.to_string(),
    })
}

/// Replaces a dynamic client's metadata (RFC 7592 §2.2) under the same rules as a registration,
/// and its registration access token with a new one. Consents given to it are forgotten: its
/// users are asked again, and see the new name and redirect host.
pub fn update(
    conn: &mut DbConnection,
    settings: &Settings,
    client_id: &str,
    token: &str,
    meta: &Metadata,
    from: &RequestMeta,
    now: i64,
) -> Result<Registered, DcrError> {
    let max_ttl = settings.tokens.max_access_token_ttl_secs;
    write_transaction(conn, |c| {
        let (client, _) = authenticate(c, client_id, token)?;
        if meta.client_id.as_deref() != Some(client_id) {
            return Err(invalid(
                "the body must carry the client's own client_id (RFC 7592 §2.2)",
            ));
        }
        if let Some(presented) = &meta.client_secret {
            let matches = client
                .secret_hash
                .as_deref()
                .is_some_and(|h| secret::verify_secret(presented, h));
            if !matches {
                return Err(invalid("client_secret is not the client's secret"));
            }
        }
        let (spec, extras) = check(meta, &settings.clients, max_ttl)?;
        if spec.public != client.public {
            return Err(invalid(
                "token_endpoint_auth_method cannot change between none and a client secret: \
                 register a new client instead",
            ));
        }
        let new = registration::validate(&spec, max_ttl).map_err(|e| invalid(e.0.join("; ")))?;
        let changed = store::set_client_metadata(
            c,
            client_id,
            &ClientMetadata {
                name: &new.name,
                grant_types: &serde_json::to_string(&new.grant_types)?,
                scopes: &serde_json::to_string(&new.scopes)?,
                redirect_uris: &serde_json::to_string(&new.redirect_uris)?,
                post_logout_redirect_uris: &serde_json::to_string(&new.post_logout_redirect_uris)?,
            },
            now,
        )?;
        let access_token = secret::new_secret()?;
        let hash = secret::hash_secret(&access_token);
        let extras_json = serde_json::to_string(&extras)?;
        if !changed || !store::update(c, client_id, &hash, &extras_json, now)? {
            return Err(
                anyhow::anyhow!("dynamic client {client_id} vanished during its update").into(),
            );
        }
        // Users allowed the app as it was (its name, where it sends them): they are asked again.
        crate::store::authorize::forget_consents(c, client_id)?;
        let client = c
            .find_client(client_id)?
            .ok_or_else(|| anyhow::anyhow!("dynamic client {client_id} vanished"))?;
        audit::record(
            c,
            Event {
                kind: audit::CLIENT_UPDATED,
                success: true,
                client_id: Some(client_id),
                meta: Some(from),
                detail: Some(detail(&client, &extras)),
                ..Event::default()
            },
            now,
        )?;
        Ok(Registered {
            client,
            extras,
            client_secret: None,
            access_token,
        })
    })
}

/// Deletes a dynamic client (RFC 7592 §2.3): its tokens die with it (`oauth::liveness`).
pub fn delete(
    conn: &mut DbConnection,
    client_id: &str,
    token: &str,
    from: &RequestMeta,
    now: i64,
) -> Result<(), DcrError> {
    write_transaction(conn, |c| {
        authenticate(c, client_id, token)?;
        if !clients::delete(c, client_id)? {
            return Err(DcrError::InvalidToken(
                "the registration access token is not valid for this client",
            ));
        }
        audit::record(
            c,
            Event {
                kind: audit::CLIENT_DELETED,
                success: true,
                client_id: Some(client_id),
                meta: Some(from),
                detail: Some(json!({ "dynamic": true })),
                ..Event::default()
            },
            now,
        )?;
        Ok(())
    })
}
