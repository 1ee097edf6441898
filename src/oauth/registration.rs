//! Registering clients (the operator CLI): input rules, secret generation, rotation.
use std::collections::BTreeSet;

use url::{Host, Url};

use super::client::{Client, GrantType};
use super::origins;
use super::scope;
use crate::store::{clients, DbConnection};
use crate::tokens::{secret, Alg};

/// What an operator asks for; lists may hold comma- or space-separated items.
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    pub name: String,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub audiences: Vec<String>,
    pub public: bool,
    pub skip_consent: bool,
    pub access_token_ttl_secs: Option<i64>,
    /// May introspect every token (resource servers).
    pub can_introspect: bool,
    /// Let this confidential client omit PKCE (public clients always need it).
    pub pkce_optional: bool,
    /// Extra origins browser apps may call from (CORS), beside the redirect URIs' origins.
    pub web_origins: Vec<String>,
    /// The access tokens' algorithm (RS256, PS256, ES256, EdDSA); `None`: the server's default.
    pub token_alg: Option<String>,
    /// `id_token_signed_response_alg`; `None`: the server's default.
    pub id_token_alg: Option<String>,
    /// Every sign-in for this client needs a second factor.
    pub require_mfa: bool,
    /// RFC 9449 §5.2: token requests must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// RFC 8693: the audiences it may exchange users' tokens for; none: no token exchange.
    pub exchange_audiences: Vec<String>,
    /// It may exchange a token to act as the user (no `act` claim).
    pub exchange_impersonation: bool,
    /// Also accept private-use URI scheme redirects (RFC 8252 §7.1: a reverse domain name as
    /// the scheme, `com.example.app:/cb`), as native apps use.
    pub private_use_redirects: bool,
    /// The client registered itself (RFC 7591, `oauth::dynamic`): Portcullis has not vetted it.
    pub dynamic: bool,
    /// Its authorization requests must be pushed (RFC 9126 `POST /par`).
    pub require_par: bool,
    /// OIDC Back-Channel Logout: where logout tokens are POSTed (https, or http on loopback).
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// Its security profile (`oauth::profile`): `fapi2`, or `None` / `none` for none.
    pub profile: Option<String>,
    /// `token_endpoint_auth_method`: `None` (a secret, or none for a public client) or
    /// `private_key_jwt` (RFC 7523; `oauth::client_keys::check_spec`).
    pub auth_method: Option<String>,
    /// The client's public keys by value (a JWKS, JSON).
    pub jwks: Option<String>,
    /// Where the client's public keys are fetched from (https).
    pub jwks_uri: Option<String>,
}

/// Every rule the spec broke, one message each.
#[derive(Debug, thiserror::Error)]
#[error("invalid client: {}", .0.join("; "))]
pub struct SpecError(pub Vec<String>);

/// A new client and its secret in clear (shown once; `None` for public clients).
#[derive(Debug, Clone)]
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
}

/// Splits repeatable flag values that may themselves be comma- or space-separated lists.
pub fn split_list(values: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    values
        .iter()
        .flat_map(|v| v.split([',', ' ', '\t', '\n']))
        .filter(|s| !s.is_empty())
        .filter(|s| seen.insert(s.to_string()))
        .map(str::to_string)
        .collect()
}

/// Validates a spec into a client (without id, secret or timestamps set meaningfully).
pub fn validate(spec: &ClientSpec, max_ttl_secs: i64) -> Result<Client, SpecError> {
    let mut problems = Vec::new();
    let name = spec.name.trim().to_string();
    if let Err(why) = crate::identity::text::check_name("--name", &name, 200) {
        problems.push(why);
    }
    let mut grants = Vec::new();
    for g in split_list(&spec.grant_types) {
        match GrantType::from_name(&g) {
            Ok(GrantType::TokenExchange) => problems.push(
                "token exchange is not a --grant: give the client --exchange-audience".into(),
            ),
            Ok(g) => grants.push(g),
            Err(e) => problems.push(e),
        }
    }
    if grants.is_empty() && spec.grant_types.is_empty() {
        grants = if spec.public {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        } else {
            vec![GrantType::ClientCredentials]
        };
    }
    if spec.public && spec.pkce_optional {
        problems.push(
            "--pkce-optional is for confidential clients; public clients always need PKCE".into(),
        );
    }
    if spec.public && grants.contains(&GrantType::ClientCredentials) {
        problems.push("a public client cannot use client_credentials (it has no secret)".into());
    }
    // RFC 9700 §2.4: the password grant hands the user's password to the client; never to one
    // that cannot even authenticate itself. (The built-in `account` client is the exception:
    // it lives in code, not here, see `client::account_client`.)
    if spec.public && grants.contains(&GrantType::Password) {
        problems.push(
            "a public client cannot use the password grant (RFC 9700 §2.4); use \
             authorization_code with PKCE"
                .into(),
        );
    }
    let scopes = split_list(&spec.scopes);
    if let Err(e) = scope::validate_tokens(&scopes) {
        problems.push(e);
    }
    let redirect_uris = split_list(&spec.redirect_uris);
    let post_logout = split_list(&spec.post_logout_redirect_uris);
    for uri in redirect_uris.iter().chain(&post_logout) {
        let checked = if spec.private_use_redirects && is_private_use(uri) {
            Ok(())
        } else {
            check_redirect_uri(uri)
        };
        if let Err(e) = checked {
            problems.push(e);
        }
    }
    if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        problems.push("authorization_code needs at least one --redirect-uri".into());
    }
    let audiences = split_list(&spec.audiences);
    for aud in &audiences {
        if let Err(e) = super::resource::check_uri(aud) {
            problems.push(format!("--audience {aud}: {e}"));
        }
    }
    let web_origins = parse_origins(&spec.web_origins, &mut problems);
    let exchange_audiences = split_list(&spec.exchange_audiences);
    check_exchange(spec, &exchange_audiences, &mut problems);
    if let Some(ttl) = spec.access_token_ttl_secs {
        if ttl <= 0 || ttl > max_ttl_secs {
            problems.push(format!(
                "--access-token-ttl must be between 1 and {max_ttl_secs} seconds"
            ));
        }
    }
    let mut alg = |flag: &str, value: &Option<String>| match value.as_deref().map(str::parse::<Alg>)
    {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(e)) => {
            problems.push(format!("{flag}: {e}"));
            None
        }
    };
    let access_token_alg = alg("--token-alg", &spec.token_alg);
    let id_token_alg = alg("--id-token-alg", &spec.id_token_alg);
    let backchannel_logout_uri = spec
        .backchannel_logout_uri
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    if let Some(uri) = &backchannel_logout_uri {
        if let Err(e) = check_backchannel_logout_uri(uri) {
            problems.push(e);
        }
    } else if spec.backchannel_logout_session_required {
        problems
            .push("--backchannel-logout-session-required needs --backchannel-logout-uri".into());
    }
    let profile = match spec.profile.as_deref().map(super::profile::Profile::parse) {
        None => None,
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            problems.push(e);
            None
        }
    };
    let keys = super::client_keys::check_spec(spec, &mut problems);
    let client = Client {
        id: String::new(),
        name,
        secret_hash: None,
        public: spec.public,
        grant_types: grants,
        scopes,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        audiences,
        skip_consent: spec.skip_consent,
        access_token_ttl_secs: spec.access_token_ttl_secs,
        created_at: 0,
        updated_at: 0,
        can_introspect: spec.can_introspect,
        pkce_required: spec.public || !spec.pkce_optional,
        web_origins,
        access_token_alg,
        id_token_alg,
        require_mfa: spec.require_mfa,
        dpop_bound_access_tokens: spec.dpop_bound_access_tokens,
        exchange_audiences,
        exchange_impersonation: spec.exchange_impersonation,
        dynamic: spec.dynamic,
        metadata_document_expires_at: None,
        require_par: spec.require_par,
        backchannel_logout_uri,
        backchannel_logout_session_required: spec.backchannel_logout_session_required,
        profile,
        private_key_jwt: keys.private_key_jwt,
        jwks: keys.jwks,
        jwks_uri: keys.jwks_uri,
    };
    problems.extend(super::profile::registration_problems(&client));
    if !problems.is_empty() {
        return Err(SpecError(problems));
    }
    Ok(client)
}

/// A `backchannel_logout_uri` (Back-Channel Logout 1.0 §2.2): absolute, no fragment, https
/// unless the host is loopback; a query is allowed.
pub fn check_backchannel_logout_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri)
        .map_err(|e| format!("backchannel logout URI {uri:?} is not absolute: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!(
            "backchannel logout URI {uri} must not have a fragment"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "backchannel logout URI {uri} must not hold credentials"
        ));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback_host(url.host()) => Ok(()),
        "http" => Err(format!(
            "backchannel logout URI {uri} must use https (http is allowed only for 127.0.0.1, [::1] and localhost)"
        )),
        other => Err(format!("backchannel logout URI {uri} has scheme {other}; use https")),
    }
}

/// The token exchange policy: for confidential clients only (RFC 8693 needs the client
/// authenticated), audiences without control or bidi characters (an audience is any string;
/// one asked for as `resource` must also be an absolute URI, checked at the request), and
/// impersonation only beside audiences.
fn check_exchange(spec: &ClientSpec, audiences: &[String], problems: &mut Vec<String>) {
    if audiences.is_empty() {
        if spec.exchange_impersonation {
            problems.push("--exchange-impersonation needs at least one --exchange-audience".into());
        }
        return;
    }
    if spec.public {
        problems.push(
            "a public client cannot use token exchange (it cannot authenticate itself)".into(),
        );
    }
    for aud in audiences {
        if let Err(why) = crate::identity::text::check_name("--exchange-audience", aud, 2000) {
            problems.push(why);
        }
    }
}

/// Redirect URIs: absolute, no fragment, https unless the host is loopback (RFC 8252 §7.3).
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|e| format!("redirect URI {uri:?} is not absolute: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("redirect URI {uri} must not have a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url.host()) => Ok(()),
        "http" => Err(format!(
            "redirect URI {uri} must use https (http is allowed only for 127.0.0.1, [::1] and localhost)"
        )),
        other => Err(format!("redirect URI {uri} has scheme {other}; use https")),
    }
}

/// Whether `uri` is a private-use URI scheme redirect (RFC 8252 §7.1): an absolute URI without
/// fragment whose scheme is a reverse domain name (it holds a `.`), e.g. `com.example.app:/cb`.
pub fn is_private_use(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| {
        let scheme = url.scheme();
        scheme.contains('.')
            && scheme.split('.').all(|label| !label.is_empty())
            && url.fragment().is_none()
    })
}

pub(crate) fn is_loopback_host(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Normalised `--web-origin` values (split like the other lists, duplicates dropped); each bad
/// one adds a problem.
pub(crate) fn parse_origins(values: &[String], problems: &mut Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in split_list(values) {
        match origins::parse_origin(&value) {
            Ok(o) if !out.contains(&o) => out.push(o),
            Ok(_) => {}
            Err(e) => problems.push(e),
        }
    }
    out
}

/// Validates a spec into a new client with a fresh id and (when confidential) a fresh secret,
/// without storing it.
pub fn prepare(spec: &ClientSpec, max_ttl_secs: i64, now: i64) -> anyhow::Result<Registered> {
    finish(validate(spec, max_ttl_secs)?, now)
}

/// A validated client made new: a fresh id, (when confidential) a fresh secret, timestamps.
pub fn finish(mut client: Client, now: i64) -> anyhow::Result<Registered> {
    client.id = secret::random_id()?;
    let secret = if client.public || client.private_key_jwt {
        None
    } else {
        Some(secret::new_secret()?)
    };
    client.secret_hash = secret.as_deref().map(secret::hash_secret);
    client.created_at = now;
    client.updated_at = now;
    Ok(Registered { client, secret })
}

/// Validates and stores a new client; returns it with its one-time secret. (Operators' clients
/// go through `admin_clients::create`, which also owns the transaction and the audit event.)
pub fn register(
    conn: &mut DbConnection,
    spec: &ClientSpec,
    max_ttl_secs: i64,
    now: i64,
) -> anyhow::Result<Registered> {
    let registered = prepare(spec, max_ttl_secs, now)?;
    clients::insert(conn, &registered.client.to_row()?)?;
    Ok(registered)
}

#[cfg(test)]
#[path = "registration_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "registration_proptests.rs"]
mod proptests;
