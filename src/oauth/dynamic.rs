//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), free of HTTP.
//!
//! Who may register is `clients.registration`: nobody (the default), holders of an initial
//! access token an operator made (`client registration-token create`), or anyone; either way at
//! most `clients.registration_rate_limit_per_ip` registrations per source and hour
//! (`identity::guesses`).
//!
//! A client's metadata becomes a `registration::ClientSpec` and goes through the operator CLI's
//! rules (`registration::validate`, `registration::register`), after the limits for clients
//! nobody vetted, checked first so that each refusal names the RFC 7591 §3.2.2 error:
//! - grants `authorization_code` and `refresh_token`; `client_credentials` only for a
//!   confidential client and only with `clients.registration_client_credentials`; response type
//!   `code`;
//! - scopes within `clients.registration_scopes` (all of them when it names none);
//! - redirect URIs registered exactly (no wildcard, fragment or user information): a `web` app's
//!   use https, or http on a loopback host; a `native` app's use http on a loopback host or a
//!   private-use scheme (RFC 8252 §7.1, `com.example.app:/cb`);
//! - PKCE always, consent always (the page says the application registered itself), no
//!   introspection, audience, per-client lifetime or algorithm of its own.
//!
//! Registration access tokens (RFC 7592) and initial access tokens are 256-bit secrets stored
//! only as SHA-256. A registration access token is checked against its client's hash in constant
//! time, and replaced at each update. A client the CLI registered has none, so is never
//! manageable here.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

use super::client::{Client, ClientStore, GrantType};
use super::registration::{self, is_loopback_host, is_private_use, ClientSpec};
use crate::config::{ClientSettings, RegistrationPolicy, Settings};
use crate::identity::audit::{self, Event};
use crate::identity::{guesses, RequestMeta};
use crate::store::client_registrations::{
    self as store, ClientMetadata, RegistrationRow, RegistrationTokenRow,
};
use crate::store::{clients, write_transaction, DbConnection};
use crate::tokens::secret;

/// Most redirect URIs (and, apart, post-logout redirect URIs) a dynamic client may register.
pub const MAX_REDIRECT_URIS: usize = 10;
/// Longest URI a dynamic client may register.
pub const MAX_URI_LEN: usize = 2000;
pub const MAX_CONTACTS: usize = 10;
pub const MAX_CONTACT_LEN: usize = 254;

/// Why a registration or management request went no further (mapped to HTTP in `http/error`).
#[derive(Debug, thiserror::Error)]
pub enum DcrError {
    /// `clients.registration = "disabled"`.
    #[error("dynamic client registration is disabled on this server")]
    Disabled,
    /// No `Authorization: Bearer` where an initial access token or a registration access token
    /// is required.
    #[error("a Bearer token is required")]
    MissingToken,
    /// A wrong, used-up or expired token; or a client that does not exist or is not dynamic.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// RFC 7591 §3.2.2 `invalid_redirect_uri`.
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// RFC 7591 §3.2.2 `invalid_client_metadata`.
    #[error("{0}")]
    InvalidMetadata(String),
    /// The source's registrations for the hour are spent.
    #[error("too many client registrations from this source")]
    Throttled { retry_after: i64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for DcrError {
    fn from(e: diesel::result::Error) -> Self {
        DcrError::Internal(e.into())
    }
}

impl From<crate::store::DbError> for DcrError {
    fn from(e: crate::store::DbError) -> Self {
        DcrError::Internal(e.into())
    }
}

impl From<serde_json::Error> for DcrError {
    fn from(e: serde_json::Error) -> Self {
        DcrError::Internal(e.into())
    }
}

fn invalid(why: impl Into<String>) -> DcrError {
    DcrError::InvalidMetadata(why.into())
}

/// The client metadata a request carries (RFC 7591 §2, RFC 7592 §2.2). Fields this server does
/// not know are ignored, as RFC 7591 §2 asks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// RFC 7592 updates only: must be the client's own.
    pub client_id: Option<String>,
    /// RFC 7592 updates only: must match the client's secret when given.
    pub client_secret: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub scope: Option<String>,
    pub application_type: Option<String>,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub contacts: Option<Vec<String>>,
}

impl Metadata {
    /// The metadata in a JSON body; a body of the wrong shape is `invalid_client_metadata`.
    pub fn from_json(value: Value) -> Result<Metadata, DcrError> {
        if !value.is_object() {
            return Err(invalid("the body must be a JSON object of client metadata"));
        }
        serde_json::from_value(value).map_err(|e| invalid(format!("invalid client metadata: {e}")))
    }
}

/// `application_type` (OpenID Connect Dynamic Client Registration §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    Web,
    Native,
}

/// What a dynamic client registered that `clients` has no column for (stored as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extras {
    pub application_type: ApplicationType,
    /// `none`, `client_secret_basic` or `client_secret_post` (what the client said it will use;
    /// `/token` takes either secret method from a confidential client).
    pub token_endpoint_auth_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
}

/// A dynamic client as its registration (or management) answer shows it.
#[derive(Debug, Clone)]
pub struct Registered {
    pub client: Client,
    pub extras: Extras,
    /// In clear, only in the answer to the registration that made it.
    pub client_secret: Option<String>,
    /// The registration access token now valid (a new one after an update).
    pub access_token: String,
}

impl Registered {
    /// The client information response (RFC 7591 §3.2.1, RFC 7592 §3).
    pub fn response(&self, issuer: &str) -> Value {
        let (c, x) = (&self.client, &self.extras);
        let response_types: &[&str] = if c.allows_grant(GrantType::AuthorizationCode) {
            &["code"]
        } else {
            &[]
        };
        let mut out = json!({
            "client_id": c.id,
            "client_id_issued_at": c.created_at,
            "client_name": c.name,
            "redirect_uris": c.redirect_uris,
            "grant_types": c.grant_types,
            "response_types": response_types,
            "token_endpoint_auth_method": x.token_endpoint_auth_method,
            "application_type": x.application_type,
            "scope": c.scopes.join(" "),
            "registration_access_token": self.access_token,
            "registration_client_uri": client_uri(issuer, &c.id),
        });
        if !c.public {
            out["client_secret_expires_at"] = json!(0);
            if let Some(s) = &self.client_secret {
                out["client_secret"] = json!(s);
            }
        }
        if !c.post_logout_redirect_uris.is_empty() {
            out["post_logout_redirect_uris"] = json!(c.post_logout_redirect_uris);
        }
        for (key, value) in [
            ("logo_uri", &x.logo_uri),
            ("client_uri", &x.client_uri),
            ("policy_uri", &x.policy_uri),
            ("tos_uri", &x.tos_uri),
        ] {
            if let Some(v) = value {
                out[key] = json!(v);
            }
        }
        if !x.contacts.is_empty() {
            out["contacts"] = json!(x.contacts);
        }
        out
    }
}

/// The client configuration endpoint of a client (RFC 7592 `registration_client_uri`).
pub fn client_uri(issuer: &str, client_id: &str) -> String {
    format!("{issuer}/register/{client_id}")
}

/// Whether a registration may go on to its metadata under `policy`, before anything is read from
/// the database: refused when registration is off, or when an initial access token is required
/// and none came.
pub fn admit(policy: RegistrationPolicy, initial_token: Option<&str>) -> Result<(), DcrError> {
    match policy {
        RegistrationPolicy::Disabled => Err(DcrError::Disabled),
        RegistrationPolicy::InitialAccessToken if initial_token.is_none() => {
            Err(DcrError::MissingToken)
        }
        _ => Ok(()),
    }
}

/// Checks metadata against the limits for dynamic clients, then the CLI's rules; returns the spec
/// to register and what goes beside it.
pub fn check(
    meta: &Metadata,
    rules: &ClientSettings,
    max_ttl_secs: i64,
) -> Result<(ClientSpec, Extras), DcrError> {
    let application_type = match meta.application_type.as_deref() {
        None | Some("web") => ApplicationType::Web,
        Some("native") => ApplicationType::Native,
        Some(other) => {
            return Err(invalid(format!(
                "application_type {other:?} is not supported (web, native)"
            )))
        }
    };
    let auth_method = meta
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic");
    if !matches!(
        auth_method,
        "none" | "client_secret_basic" | "client_secret_post"
    ) {
        return Err(invalid(format!(
            "token_endpoint_auth_method {auth_method:?} is not supported (none, \
             client_secret_basic, client_secret_post)"
        )));
    }
    let public = auth_method == "none";

    let redirect_uris = meta.redirect_uris.clone().unwrap_or_default();
    let post_logout = meta.post_logout_redirect_uris.clone().unwrap_or_default();
    for (field, list) in [
        ("redirect_uris", &redirect_uris),
        ("post_logout_redirect_uris", &post_logout),
    ] {
        if list.len() > MAX_REDIRECT_URIS {
            return Err(DcrError::InvalidRedirectUri(format!(
                "{field} may list at most {MAX_REDIRECT_URIS} URIs"
            )));
        }
    }
    let bad: Vec<String> = redirect_uris
        .iter()
        .chain(&post_logout)
        .filter_map(|uri| check_redirect_uri(uri, application_type).err())
        .collect();
    if !bad.is_empty() {
        return Err(DcrError::InvalidRedirectUri(bad.join("; ")));
    }

    let grants = check_grants(meta, public, rules)?;
    if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(DcrError::InvalidRedirectUri(
            "the authorization_code grant needs at least one redirect URI in redirect_uris".into(),
        ));
    }
    let scopes = check_scopes(meta.scope.as_deref(), rules)?;

    let name = meta.client_name.as_deref().map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Err(invalid(
            "client_name is required: users see it when they are asked to allow access",
        ));
    }
    crate::identity::text::check_name("client_name", name, 200).map_err(invalid)?;

    let uri = |field: &str, value: &Option<String>| -> Result<Option<String>, DcrError> {
        value
            .as_deref()
            .map(|v| check_info_uri(field, v).map(|()| v.to_string()))
            .transpose()
    };
    let extras = Extras {
        application_type,
        token_endpoint_auth_method: auth_method.to_string(),
        logo_uri: uri("logo_uri", &meta.logo_uri)?,
        client_uri: uri("client_uri", &meta.client_uri)?,
        policy_uri: uri("policy_uri", &meta.policy_uri)?,
        tos_uri: uri("tos_uri", &meta.tos_uri)?,
        contacts: check_contacts(meta.contacts.as_deref().unwrap_or_default())?,
    };

    let spec = ClientSpec {
        name: name.to_string(),
        grant_types: grants.iter().map(|g| g.as_str().to_string()).collect(),
        scopes,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        public,
        private_use_redirects: application_type == ApplicationType::Native,
        dynamic: true,
        ..ClientSpec::default()
    };
    // The CLI's rules too (they hold for every client); the checks above make them pass.
    registration::validate(&spec, max_ttl_secs).map_err(|e| invalid(e.0.join("; ")))?;
    Ok((spec, extras))
}

/// The grants a dynamic client may have (`authorization_code` when it names none).
fn check_grants(
    meta: &Metadata,
    public: bool,
    rules: &ClientSettings,
) -> Result<Vec<GrantType>, DcrError> {
    let names = meta
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if names.is_empty() {
        return Err(invalid("grant_types must name at least one grant"));
    }
    let mut grants = Vec::new();
    for name in &names {
        let grant = match name.as_str() {
            "authorization_code" => GrantType::AuthorizationCode,
            "refresh_token" => GrantType::RefreshToken,
            "client_credentials" if public => {
                return Err(invalid(
                    "a public client (token_endpoint_auth_method none) cannot use the \
                     client_credentials grant",
                ))
            }
            "client_credentials" if !rules.registration_client_credentials => {
                return Err(invalid(
                    "this server does not let dynamic clients register the client_credentials \
                     grant",
                ))
            }
            "client_credentials" => GrantType::ClientCredentials,
            other => {
                return Err(invalid(format!(
                    "grant type {other:?} is not available to dynamic clients \
                     (authorization_code, refresh_token)"
                )))
            }
        };
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    let code = grants.contains(&GrantType::AuthorizationCode);
    if grants.contains(&GrantType::RefreshToken) && !code {
        return Err(invalid(
            "the refresh_token grant needs the authorization_code grant",
        ));
    }
    match meta.response_types.as_deref() {
        None => {}
        Some(types) => {
            if let Some(other) = types.iter().find(|t| *t != "code") {
                return Err(invalid(format!(
                    "response type {other:?} is not supported (code)"
                )));
            }
            let has_code = types.iter().any(|t| t == "code");
            if has_code && !code {
                return Err(invalid(
                    "response type code needs the authorization_code grant",
                ));
            }
            if code && !has_code {
                return Err(invalid(
                    "the authorization_code grant needs response type code",
                ));
            }
        }
    }
    Ok(grants)
}

/// The scopes asked for, each among `registration_scopes`; all of those when none are named.
fn check_scopes(scope: Option<&str>, rules: &ClientSettings) -> Result<Vec<String>, DcrError> {
    let Some(scope) = scope else {
        return Ok(rules.registration_scopes.clone());
    };
    let mut scopes: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !rules.registration_scopes.iter().any(|allowed| allowed == s) {
            return Err(invalid(format!(
                "scope {s:?} is not available to dynamic clients (allowed: {})",
                rules.registration_scopes.join(" ")
            )));
        }
        if !scopes.iter().any(|have| have == s) {
            scopes.push(s.to_string());
        }
    }
    Ok(scopes)
}

/// A dynamic client's redirect URI: registered exactly, so no wildcard, fragment, user
/// information, space or comma; for a web app https (http on a loopback host), for a native
/// app http on a loopback host or a private-use scheme.
pub fn check_redirect_uri(uri: &str, app: ApplicationType) -> Result<(), String> {
    if uri.len() > MAX_URI_LEN {
        return Err(format!(
            "a redirect URI is longer than {MAX_URI_LEN} characters"
        ));
    }
    if uri.contains('*') {
        return Err(format!(
            "redirect URI {uri} has a wildcard: register every redirect URI exactly"
        ));
    }
    if uri.contains('#') {
        return Err(format!("redirect URI {uri} must not have a fragment"));
    }
    if uri.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(format!(
            "redirect URI {uri:?} must not contain spaces or commas"
        ));
    }
    let url = Url::parse(uri).map_err(|e| format!("redirect URI {uri:?} is not absolute: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "redirect URI {uri} must not carry user information"
        ));
    }
    let loopback_http = url.scheme() == "http" && is_loopback_host(url.host());
    match app {
        ApplicationType::Web if loopback_http => Ok(()),
        ApplicationType::Web if url.scheme() == "https" && url.host().is_some() => Ok(()),
        ApplicationType::Web => Err(format!(
            "redirect URI {uri} must use https (http only on a loopback host: 127.0.0.1, [::1], \
             localhost); native apps register with application_type native"
        )),
        ApplicationType::Native if loopback_http || is_private_use(uri) => Ok(()),
        ApplicationType::Native => Err(format!(
            "a native app's redirect URI {uri} must be http on a loopback host \
             (http://127.0.0.1/callback; any port matches) or use a private-use scheme \
             (com.example.app:/callback, RFC 8252)"
        )),
    }
}

/// `logo_uri`, `client_uri`, `policy_uri`, `tos_uri`: https (or http on a loopback host).
fn check_info_uri(field: &str, value: &str) -> Result<(), DcrError> {
    let bad = || invalid(format!("{field} must be an https URL"));
    if value.len() > MAX_URI_LEN {
        return Err(invalid(format!(
            "{field} is longer than {MAX_URI_LEN} characters"
        )));
    }
    let url = Url::parse(value).map_err(|_| bad())?;
    let ok = url.username().is_empty()
        && url.password().is_none()
        && match url.scheme() {
            "https" => url.host().is_some(),
            "http" => is_loopback_host(url.host()),
            _ => false,
        };
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

fn check_contacts(contacts: &[String]) -> Result<Vec<String>, DcrError> {
    if contacts.len() > MAX_CONTACTS {
        return Err(invalid(format!(
            "contacts may list at most {MAX_CONTACTS} addresses"
        )));
    }
    contacts
        .iter()
        .map(|c| {
            let c = c.trim();
            if c.is_empty() || c.chars().count() > MAX_CONTACT_LEN {
                Err(invalid(format!(
                    "each of contacts must be 1 to {MAX_CONTACT_LEN} characters"
                )))
            } else {
                Ok(c.to_string())
            }
        })
        .collect()
}

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

/// An initial access token as `client registration-token list` shows it (never the token).
#[derive(Debug, Clone, Serialize)]
pub struct InitialTokenInfo {
    pub id: String,
    pub uses_left: i32,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl From<RegistrationTokenRow> for InitialTokenInfo {
    fn from(r: RegistrationTokenRow) -> Self {
        InitialTokenInfo {
            id: r.id,
            uses_left: r.uses_left,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

/// A new initial access token, in clear (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct NewInitialToken {
    pub id: String,
    pub initial_access_token: String,
    pub uses_left: i32,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// Most registrations one initial access token may allow.
pub const MAX_TOKEN_USES: i32 = 1_000_000;

/// Makes an initial access token good for `uses` registrations, expiring `expires_in` seconds
/// from `now` (`None`: never); only its SHA-256 is stored.
pub fn create_initial_token(
    conn: &mut DbConnection,
    expires_in: Option<i64>,
    uses: i32,
    now: i64,
) -> anyhow::Result<NewInitialToken> {
    if expires_in.is_some_and(|s| s <= 0) {
        anyhow::bail!("--expires-in must be a positive number of seconds");
    }
    if !(1..=MAX_TOKEN_USES).contains(&uses) {
        anyhow::bail!("--uses must be between 1 and {MAX_TOKEN_USES}");
    }
    let token = secret::new_secret()?;
    let row = RegistrationTokenRow {
        id: secret::random_id()?,
        token_hash: secret::hash_secret(&token),
        uses_left: uses,
        created_at: now,
        expires_at: expires_in.map(|s| now.saturating_add(s)),
    };
    write_transaction(conn, |c| {
        store::insert_token(c, &row)?;
        audit::record(
            c,
            Event {
                kind: audit::REGISTRATION_TOKEN_CREATED,
                success: true,
                detail: Some(json!({
                    "id": row.id,
                    "uses": uses,
                    "expires_at": row.expires_at,
                })),
                ..Event::default()
            },
            now,
        )
    })?;
    Ok(NewInitialToken {
        id: row.id,
        initial_access_token: token,
        uses_left: uses,
        created_at: now,
        expires_at: row.expires_at,
    })
}

pub fn list_initial_tokens(conn: &mut DbConnection) -> anyhow::Result<Vec<InitialTokenInfo>> {
    Ok(store::list_tokens(conn)?
        .into_iter()
        .map(InitialTokenInfo::from)
        .collect())
}

/// Revokes an initial access token; `false` when there is none with this id.
pub fn revoke_initial_token(conn: &mut DbConnection, id: &str, now: i64) -> anyhow::Result<bool> {
    write_transaction(conn, |c| {
        if !store::delete_token(c, id)? {
            return Ok(false);
        }
        audit::record(
            c,
            Event {
                kind: audit::REGISTRATION_TOKEN_REVOKED,
                success: true,
                detail: Some(json!({ "id": id })),
                ..Event::default()
            },
            now,
        )?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ClientSettings {
        ClientSettings {
            registration: RegistrationPolicy::Open,
            ..ClientSettings::default()
        }
    }

    fn web(uris: &[&str]) -> Metadata {
        Metadata {
            client_name: Some("App".into()),
            redirect_uris: Some(uris.iter().map(|s| s.to_string()).collect()),
            ..Metadata::default()
        }
    }

    fn code(result: Result<(ClientSpec, Extras), DcrError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(DcrError::InvalidRedirectUri(_)) => "invalid_redirect_uri",
            Err(DcrError::InvalidMetadata(_)) => "invalid_client_metadata",
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn defaults_follow_rfc_7591() {
        let (spec, extras) = check(&web(&["https://app.example.com/cb"]), &rules(), 3600).unwrap();
        assert!(!spec.public, "client_secret_basic is the default");
        assert_eq!(extras.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(extras.application_type, ApplicationType::Web);
        assert_eq!(spec.grant_types, ["authorization_code"]);
        assert_eq!(spec.scopes, rules().registration_scopes);
        assert!(spec.dynamic && !spec.skip_consent && !spec.pkce_optional);
    }

    #[test]
    fn redirect_uris_by_application_type() {
        let r = rules();
        for (uri, native, want) in [
            ("https://app.example.com/cb", false, "ok"),
            ("http://127.0.0.1:8000/cb", false, "ok"),
            ("http://localhost/cb", false, "ok"),
            ("http://app.example.com/cb", false, "invalid_redirect_uri"),
            ("https://*.example.com/cb", false, "invalid_redirect_uri"),
            ("https://app.example.com/*", false, "invalid_redirect_uri"),
            (
                "https://app.example.com/cb#x",
                false,
                "invalid_redirect_uri",
            ),
            (
                "https://u:p@app.example.com/cb",
                false,
                "invalid_redirect_uri",
            ),
            ("/cb", false, "invalid_redirect_uri"),
            ("com.example.app:/cb", false, "invalid_redirect_uri"),
            ("com.example.app:/cb", true, "ok"),
            ("http://[::1]/cb", true, "ok"),
            ("https://app.example.com/cb", true, "invalid_redirect_uri"),
            ("myapp:/cb", true, "invalid_redirect_uri"),
            ("javascript:alert(1)", true, "invalid_redirect_uri"),
            ("com.example.app:/cb#f", true, "invalid_redirect_uri"),
        ] {
            let mut m = web(&[uri]);
            if native {
                m.application_type = Some("native".into());
            }
            assert_eq!(code(check(&m, &r, 3600)), want, "{uri} native={native}");
        }
    }

    #[test]
    fn grants_scopes_and_methods() {
        let r = rules();
        let with = |f: &dyn Fn(&mut Metadata)| {
            let mut m = web(&["https://app.example.com/cb"]);
            f(&mut m);
            code(check(&m, &r, 3600))
        };
        assert_eq!(
            with(&|m| m.grant_types = Some(vec!["implicit".into()])),
            "invalid_client_metadata"
        );
        assert_eq!(
            with(&|m| m.grant_types = Some(vec!["password".into()])),
            "invalid_client_metadata"
        );
        assert_eq!(
            with(&|m| m.grant_types = Some(vec!["refresh_token".into()])),
            "invalid_client_metadata"
        );
        assert_eq!(
            with(&|m| m.grant_types = Some(vec!["client_credentials".into()])),
            "invalid_client_metadata",
            "not configured"
        );
        assert_eq!(
            with(&|m| m.response_types = Some(vec!["token".into()])),
            "invalid_client_metadata"
        );
        assert_eq!(
            with(&|m| m.scope = Some("openid admin".into())),
            "invalid_client_metadata"
        );
        assert_eq!(with(&|m| m.scope = Some("openid email".into())), "ok");
        assert_eq!(
            with(&|m| m.token_endpoint_auth_method = Some("private_key_jwt".into())),
            "invalid_client_metadata"
        );
        assert_eq!(with(&|m| m.client_name = None), "invalid_client_metadata");
        assert_eq!(
            with(&|m| m.logo_uri = Some("javascript:x".into())),
            "invalid_client_metadata"
        );
        assert_eq!(
            with(&|m| m.application_type = Some("tv".into())),
            "invalid_client_metadata"
        );

        let cc = ClientSettings {
            registration_client_credentials: true,
            ..rules()
        };
        let m = Metadata {
            client_name: Some("svc".into()),
            grant_types: Some(vec!["client_credentials".into()]),
            ..Metadata::default()
        };
        let (spec, _) = check(&m, &cc, 3600).unwrap();
        assert_eq!(spec.grant_types, ["client_credentials"]);
        let public = Metadata {
            token_endpoint_auth_method: Some("none".into()),
            ..m
        };
        assert_eq!(code(check(&public, &cc, 3600)), "invalid_client_metadata");
    }
}
