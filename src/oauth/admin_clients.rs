//! The operator's use cases on clients: create, change the web origins, delete, rotate the
//! secret. Each takes plain values and `now`, owns its transaction and writes its audit event
//! inside it, naming the actor (`cli`, `apply`, later an admin user); the CLI only parses flags,
//! calls one of these and prints. The `*_in` functions do the same inside a transaction the
//! caller already holds (`declarative::apply` reconciles many clients in one).
use serde_json::json;

use super::client::{Client, ClientStore};
use super::registration::{self, ClientSpec, Registered, SpecError};
use crate::config::Settings;
use crate::identity::audit;
use crate::store::{self, clients, DbConnection};
use crate::tokens::{secret, Alg};

/// The actor of changes made with `portcullis client …`.
pub const CLI: &str = "cli";
/// The actor of changes made by `portcullis apply` or `apply_on_start`.
pub const APPLY: &str = "apply";

/// The server's limits on what a client may ask for.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_access_token_ttl_secs: i64,
    /// `keys.algorithms`: the algorithms a client's tokens may be signed with.
    pub algorithms: Vec<Alg>,
}

impl Limits {
    pub fn from_settings(settings: &Settings) -> Limits {
        Limits {
            max_access_token_ttl_secs: settings.tokens.max_access_token_ttl_secs,
            algorithms: settings.keys.algorithms.clone(),
        }
    }
}

/// `registration::validate` plus this server's key algorithms: the client `spec` describes.
pub fn check(spec: &ClientSpec, limits: &Limits) -> Result<Client, SpecError> {
    for (flag, alg) in [
        ("--token-alg", &spec.token_alg),
        ("--id-token-alg", &spec.id_token_alg),
    ] {
        if let Some(Ok(a)) = alg.as_deref().map(str::parse::<Alg>) {
            if !limits.algorithms.contains(&a) {
                return Err(SpecError(vec![format!(
                    "{flag}: {a} is not in keys.algorithms ({:?}); add it there first",
                    limits.algorithms
                )]));
            }
        }
    }
    let mut client = registration::validate(spec, limits.max_access_token_ttl_secs)?;
    super::profile::pin_signing_algs(&mut client, &limits.algorithms)
        .map_err(|e| SpecError(vec![e]))?;
    Ok(client)
}

/// Registers an operator's client; returns it with its secret in clear (shown once).
pub fn create(
    conn: &mut DbConnection,
    spec: &ClientSpec,
    limits: &Limits,
    actor: &str,
    now: i64,
) -> anyhow::Result<Registered> {
    let client = check(spec, limits)?;
    let registered = registration::finish(client, now)?;
    store::write_transaction(conn, |c| insert_in(c, &registered.client, actor, now))?;
    Ok(registered)
}

/// Stores a new client and its audit event, inside the caller's transaction.
pub fn insert_in(
    conn: &mut DbConnection,
    client: &Client,
    actor: &str,
    now: i64,
) -> anyhow::Result<()> {
    clients::insert(conn, &client.to_row()?)?;
    record(
        conn,
        audit::CLIENT_CREATED,
        &client.id,
        json!({ "actor": actor }),
        now,
    )
}

/// Replaces an operator's client with `client` (same id), inside the caller's transaction; the
/// audit event lists the `fields` that changed. `false` when there is no such client.
pub fn replace_in(
    conn: &mut DbConnection,
    client: &Client,
    fields: &[&str],
    actor: &str,
    now: i64,
) -> anyhow::Result<bool> {
    if !clients::replace_managed(conn, &client.to_row()?)? {
        return Ok(false);
    }
    let detail = json!({ "actor": actor, "changed": fields });
    record(conn, audit::CLIENT_CHANGED, &client.id, detail, now)?;
    Ok(true)
}

/// Changes an operator's client to what `spec` describes (validated as at creation); its id,
/// secret, kind (public or confidential) and creation time stay. Returns the client as stored
/// and the settings that changed (none: nothing written, no audit event), or `Ok(None)` when
/// there is no such operator's client. A `SpecError` (in the `anyhow::Error`) lists what is
/// wrong with `spec`.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    spec: &ClientSpec,
    limits: &Limits,
    actor: &str,
    now: i64,
) -> anyhow::Result<Option<(Client, Vec<&'static str>)>> {
    store::write_transaction(conn, |c| {
        let Some(before) = c.find_client(id)? else {
            return Ok(None);
        };
        if !crate::declarative::diff::is_managed(&before) {
            return Ok(None);
        }
        if before.public != spec.public {
            return Err(SpecError(vec![
                "a client can't change between public and confidential; create a new one".into(),
            ])
            .into());
        }
        let mut after = check(spec, limits)?;
        after.id = before.id.clone();
        // A private_key_jwt client has no secret; one that stops using it gets one from
        // `rotate_secret`.
        after.secret_hash = before
            .secret_hash
            .clone()
            .filter(|_| !after.private_key_jwt);
        after.created_at = before.created_at;
        after.updated_at = before.updated_at;
        let fields: Vec<&'static str> = crate::declarative::diff::fields(&before, &after)
            .into_iter()
            .map(|f| f.name)
            .collect();
        if fields.is_empty() {
            return Ok(Some((before, fields)));
        }
        after.updated_at = now;
        if !replace_in(c, &after, &fields, actor, now)? {
            return Ok(None);
        }
        Ok(Some((after, fields)))
    })
}

/// Gives an operator's client a security profile (`None`: none), checked as at creation
/// (`profile::registration_problems`, token algorithms pinned); returns the client as stored,
/// or `Ok(None)` when there is no such operator's client.
pub fn set_profile(
    conn: &mut DbConnection,
    id: &str,
    profile: Option<super::profile::Profile>,
    limits: &Limits,
    actor: &str,
    now: i64,
) -> anyhow::Result<Option<Client>> {
    change_managed(conn, id, actor, now, |before| {
        let mut after = before.clone();
        after.profile = profile;
        super::profile::pin_signing_algs(&mut after, &limits.algorithms)
            .map_err(|e| SpecError(vec![e]))?;
        Ok(after)
    })
}

/// A change of how a client authenticates and of its keys (`client update --auth-method
/// --jwks --jwks-uri`): what is `None` stays, a new `jwks` replaces a `jwks_uri` and the other
/// way round.
#[derive(Debug, Clone, Default)]
pub struct KeyChange {
    pub auth_method: Option<String>,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
}

/// Changes an operator's client's authentication method and keys, validated as at creation
/// (`client_keys::check_spec`, and its profile's rules); a client that turns to
/// `private_key_jwt` loses its secret (one that leaves it gets a secret from `rotate_secret`).
/// `Ok(None)`: no such operator's client.
pub fn update_keys(
    conn: &mut DbConnection,
    id: &str,
    change: &KeyChange,
    actor: &str,
    now: i64,
) -> anyhow::Result<Option<Client>> {
    change_managed(conn, id, actor, now, |before| {
        let (jwks, jwks_uri) = match (&change.jwks, &change.jwks_uri) {
            (None, None) => (before.jwks.clone(), before.jwks_uri.clone()),
            (jwks, uri) => (jwks.clone(), uri.clone()),
        };
        let auth_method = match &change.auth_method {
            Some(m) => Some(m.clone()),
            None => before
                .private_key_jwt
                .then(|| super::client::PRIVATE_KEY_JWT.into()),
        };
        let spec = ClientSpec {
            public: before.public,
            auth_method,
            jwks,
            jwks_uri,
            ..ClientSpec::default()
        };
        let mut problems = Vec::new();
        let keys = super::client_keys::check_spec(&spec, &mut problems);
        if !problems.is_empty() {
            return Err(SpecError(problems).into());
        }
        let mut after = before.clone();
        after.private_key_jwt = keys.private_key_jwt;
        after.jwks = keys.jwks;
        after.jwks_uri = keys.jwks_uri;
        if after.private_key_jwt {
            after.secret_hash = None;
        }
        Ok(after)
    })
}

/// One change to an operator's client (not a dynamic or metadata-document one), in a
/// transaction: `edit` makes the new client from the stored one, the profile's rules
/// (`profile::registration_problems`) check it, and it is stored with its audit event when
/// anything changed. `Ok(None)`: no such operator's client.
fn change_managed(
    conn: &mut DbConnection,
    id: &str,
    actor: &str,
    now: i64,
    edit: impl FnOnce(&Client) -> anyhow::Result<Client>,
) -> anyhow::Result<Option<Client>> {
    store::write_transaction(conn, |c| {
        let Some(before) = c.find_client(id)? else {
            return Ok(None);
        };
        if !crate::declarative::diff::is_managed(&before) {
            return Ok(None);
        }
        let mut after = edit(&before)?;
        let problems = super::profile::registration_problems(&after);
        if !problems.is_empty() {
            return Err(SpecError(problems).into());
        }
        let fields: Vec<&'static str> = crate::declarative::diff::fields(&before, &after)
            .into_iter()
            .map(|f| f.name)
            .collect();
        if fields.is_empty() {
            return Ok(Some(before));
        }
        after.updated_at = now;
        if !replace_in(c, &after, &fields, actor, now)? {
            return Ok(None);
        }
        Ok(Some(after))
    })
}

/// Adds and removes a client's explicit web origins; returns the client as stored, or
/// `Ok(None)` when there is no such client. Removing an origin the client does not list is an
/// error (the origins of redirect URIs are not removable: they follow the URIs).
pub fn update_web_origins(
    conn: &mut DbConnection,
    id: &str,
    add: &[String],
    remove: &[String],
    actor: &str,
    now: i64,
) -> anyhow::Result<Option<Client>> {
    let mut problems = Vec::new();
    let add = registration::parse_origins(add, &mut problems);
    let remove = registration::parse_origins(remove, &mut problems);
    if !problems.is_empty() {
        return Err(SpecError(problems).into());
    }
    store::write_transaction(conn, |c| {
        let Some(mut client) = c.find_client(id)? else {
            return Ok(None);
        };
        let missing: Vec<String> = remove
            .iter()
            .filter(|o| !client.web_origins.contains(o))
            .map(|o| format!("{o} is not among the client's web origins"))
            .collect();
        if !missing.is_empty() {
            return Err(SpecError(missing).into());
        }
        client.web_origins.retain(|o| !remove.contains(o));
        for origin in add {
            if !client.web_origins.contains(&origin) {
                client.web_origins.push(origin);
            }
        }
        client.updated_at = now;
        let list = serde_json::to_string(&client.web_origins)?;
        clients::set_web_origins(c, id, &list, now)?;
        let detail = json!({ "actor": actor, "web_origins": client.web_origins });
        record(c, audit::CLIENT_CHANGED, id, detail, now)?;
        Ok(Some(client))
    })
}

/// A service client acting through the admin API tried to delete itself (it would lose its
/// own access mid-change); another administrator can.
#[derive(Debug, thiserror::Error)]
#[error("a client can't delete itself")]
pub struct SelfDelete;

/// Deletes a client; `false` when there was none. A client may not delete itself
/// ([`SelfDelete`]).
pub fn delete(conn: &mut DbConnection, id: &str, actor: &str, now: i64) -> anyhow::Result<bool> {
    if actor == crate::identity::admin_users::client_actor(id) {
        return Err(SelfDelete.into());
    }
    store::write_transaction(conn, |c| delete_in(c, id, actor, now))
}

/// Deletes a client and records it, inside the caller's transaction; `false` when there was none.
pub fn delete_in(conn: &mut DbConnection, id: &str, actor: &str, now: i64) -> anyhow::Result<bool> {
    if !clients::delete(conn, id)? {
        return Ok(false);
    }
    let detail = json!({ "actor": actor, "deleted": true });
    record(conn, audit::CLIENT_CHANGED, id, detail, now)?;
    Ok(true)
}

/// Gives a confidential client a new secret (the old one stops working at once on this
/// instance, and on others within `clients.cache_refresh_ms`); returns it in clear, or `Ok(None)` when there is no such confidential client.
pub fn rotate_secret(
    conn: &mut DbConnection,
    id: &str,
    actor: &str,
    now: i64,
) -> anyhow::Result<Option<String>> {
    let new = secret::new_secret()?;
    store::write_transaction(conn, |c| {
        if !clients::set_secret_hash(c, id, &secret::hash_secret(&new), now)? {
            return Ok(None);
        }
        let detail = json!({ "actor": actor, "secret_rotated": true });
        record(c, audit::CLIENT_CHANGED, id, detail, now)?;
        Ok(Some(new))
    })
}

fn record(
    conn: &mut DbConnection,
    kind: &str,
    client_id: &str,
    detail: serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    audit::record(
        conn,
        audit::Event {
            kind,
            success: true,
            client_id: Some(client_id),
            detail: Some(detail),
            ..audit::Event::default()
        },
        now,
    )?;
    Ok(())
}
