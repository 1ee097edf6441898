//! The document `apply` reads and `export` writes, in TOML or YAML (the same shape):
//! `[[clients]]` entries whose keys are `client create`'s flags (`grant_types`, `scopes`,
//! `redirect_uris`, …), `[roles.NAME]` and `[scopes.NAME]` (`role_entries`), `[providers.NAME]`
//! (`providers`). Parsing names the
//! line of every problem and the entry it is in; secrets are never in the document, only the
//! name of the variable or file that holds one.
use serde::{Deserialize, Serialize};
use toml::Spanned;

use std::collections::BTreeMap;
use std::path::Path;

use super::providers::{LocatedProvider, ProviderEntry};
use super::role_entries::{RoleEntry, ScopeEntry};
use crate::identity::roles::Role;
use crate::oauth::client::Client;
use crate::oauth::registration::ClientSpec;

/// The document's syntax, by the file's name: `.yaml` / `.yml` are YAML, anything else TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
}

impl Format {
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml") => {
                Format::Yaml
            }
            _ => Format::Toml,
        }
    }
}

/// A parsed document. `roles` / `scopes` are `None` when the document has no such section
/// (then `apply` leaves them alone, even with `--prune`).
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub clients: Vec<Located>,
    pub roles: Option<Vec<LocatedRole>>,
    pub scopes: Option<Vec<LocatedScope>>,
    /// `None`: no `[providers]` section.
    pub providers: Option<Vec<LocatedProvider>>,
}

/// A role and the line it starts on.
#[derive(Debug, Clone)]
pub struct LocatedRole {
    pub line: usize,
    pub role: Role,
}

/// A scope's descriptions and the line they start on.
#[derive(Debug, Clone)]
pub struct LocatedScope {
    pub line: usize,
    pub scope: String,
    pub entry: ScopeEntry,
}

/// One `[[clients]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    pub name: String,
    /// Match (or create) the client with this id instead of matching by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_consent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub can_introspect: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pkce_optional: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub web_origins: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_alg: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_mfa: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126: its authorization requests must be pushed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_par: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchange_audiences: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exchange_impersonation: bool,
    /// OIDC Back-Channel Logout: where logout tokens are POSTed when a session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backchannel_logout_session_required: bool,
    /// The security profile (`oauth::profile`): `"fapi2"`; absent for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `private_key_jwt` (RFC 7523): it authenticates with a JWT signed by one of its keys and
    /// has no secret; absent: a secret (confidential) or none (public).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Its public keys by value: a JWKS (`{ keys = [ … ] }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Where its public keys are fetched from (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The environment variable holding a confidential client's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// The file holding a confidential client's secret (surrounding whitespace is dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// Refused: a secret never goes in the document (here only to say so clearly).
    #[serde(default, skip_serializing)]
    pub secret: Option<toml::Value>,
    #[serde(default, skip_serializing)]
    pub client_secret: Option<toml::Value>,
}

/// An entry and the line it starts on.
#[derive(Debug, Clone)]
pub struct Located {
    pub line: usize,
    pub entry: ClientEntry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    clients: Vec<Spanned<ClientEntry>>,
    #[serde(default)]
    roles: Option<BTreeMap<String, Spanned<RoleEntry>>>,
    #[serde(default)]
    scopes: Option<BTreeMap<String, Spanned<ScopeEntry>>>,
    #[serde(default)]
    providers: Option<BTreeMap<String, Spanned<ProviderEntry>>>,
}

/// The same document read loosely, to tell which client a parse error is in.
#[derive(Deserialize)]
struct Loose {
    #[serde(default)]
    clients: Vec<Spanned<toml::Table>>,
}

/// What `export` writes.
#[derive(Serialize)]
pub struct Exported {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientEntry>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, RoleEntry>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub scopes: BTreeMap<String, ScopeEntry>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, ProviderEntry>,
}

/// Parses a document in `format`.
pub fn parse_as(format: Format, origin: &str, text: &str) -> Result<Parsed, String> {
    match format {
        Format::Toml => parse(origin, text),
        Format::Yaml => super::yaml::parse(origin, text),
    }
}

/// Parses a TOML document; an error names `origin` (the file), the line and, when it is inside
/// a client entry, the client.
pub fn parse(origin: &str, text: &str) -> Result<Parsed, String> {
    let doc: Document = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        let client = toml::from_str::<Loose>(text).ok().and_then(|loose| {
            loose
                .clients
                .iter()
                // The last entry starting before the error (a table's span may cover only
                // its `[[clients]]` header).
                .rfind(|t| t.span().start <= at)
                .and_then(|t| t.get_ref().get("name")?.as_str().map(str::to_string))
        });
        let within = client.map_or(String::new(), |n| format!("client {n:?}: "));
        format!("{origin}:{}: {within}{}", line_of(text, at), e.message())
    })?;
    let clients = doc
        .clients
        .into_iter()
        .map(|spanned| Located {
            line: line_of(text, spanned.span().start),
            entry: spanned.into_inner(),
        })
        .collect();
    let roles = doc.roles.map(|roles| {
        roles
            .into_iter()
            .map(|(name, spanned)| LocatedRole {
                line: line_of(text, spanned.span().start),
                role: spanned.into_inner().role(&name),
            })
            .collect()
    });
    let scopes = doc.scopes.map(|scopes| {
        scopes
            .into_iter()
            .map(|(scope, spanned)| LocatedScope {
                line: line_of(text, spanned.span().start),
                scope,
                entry: spanned.into_inner(),
            })
            .collect()
    });
    let providers = doc.providers.map(|providers| {
        providers
            .into_iter()
            .map(|(name, spanned)| LocatedProvider {
                line: line_of(text, spanned.span().start),
                name,
                entry: spanned.into_inner(),
            })
            .collect()
    });
    Ok(Parsed {
        clients,
        roles,
        scopes,
        providers,
    })
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl ClientEntry {
    /// The client this entry describes, as `client create` would take it.
    pub fn spec(&self) -> ClientSpec {
        ClientSpec {
            name: self.name.clone(),
            grant_types: self.grant_types.clone(),
            scopes: self.scopes.clone(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            audiences: self.audiences.clone(),
            public: self.public,
            skip_consent: self.skip_consent,
            access_token_ttl_secs: self.access_token_ttl_secs,
            can_introspect: self.can_introspect,
            pkce_optional: self.pkce_optional,
            web_origins: self.web_origins.clone(),
            token_alg: self.token_alg.clone(),
            id_token_alg: self.id_token_alg.clone(),
            require_mfa: self.require_mfa,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            exchange_audiences: self.exchange_audiences.clone(),
            exchange_impersonation: self.exchange_impersonation,
            private_use_redirects: false,
            dynamic: false,
            require_par: self.require_par,
            backchannel_logout_uri: self.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            profile: self.profile.clone(),
            auth_method: self.token_endpoint_auth_method.clone(),
            jwks: self.jwks.as_ref().map(|j| j.to_string()),
            jwks_uri: self.jwks_uri.clone(),
        }
    }

    /// The entry that describes `client` (with its id; no secret).
    pub fn of(client: &Client) -> ClientEntry {
        ClientEntry {
            name: client.name.clone(),
            client_id: Some(client.id.clone()),
            public: client.public,
            grant_types: client
                .grant_types
                .iter()
                .map(|g| g.label().to_string())
                .collect(),
            scopes: client.scopes.clone(),
            redirect_uris: client.redirect_uris.clone(),
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            audiences: client.audiences.clone(),
            skip_consent: client.skip_consent,
            access_token_ttl_secs: client.access_token_ttl_secs,
            can_introspect: client.can_introspect,
            pkce_optional: !client.public && !client.pkce_required,
            web_origins: client.web_origins.clone(),
            token_alg: client.access_token_alg.map(|a| a.name().to_string()),
            id_token_alg: client.id_token_alg.map(|a| a.name().to_string()),
            require_mfa: client.require_mfa,
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            require_par: client.require_par,
            exchange_audiences: client.exchange_audiences.clone(),
            exchange_impersonation: client.exchange_impersonation,
            backchannel_logout_uri: client.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: client.backchannel_logout_session_required,
            profile: client.profile.map(|p| p.as_str().to_string()),
            token_endpoint_auth_method: client
                .private_key_jwt
                .then(|| crate::oauth::client::PRIVATE_KEY_JWT.to_string()),
            jwks: client
                .jwks
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: client.jwks_uri.clone(),
            ..ClientEntry::default()
        }
    }

    /// Where this entry's secret comes from: `Ok(None)` when it names no source. A secret in
    /// the document itself, or two sources, is an error.
    pub fn secret_source(&self) -> Result<Option<SecretSource>, String> {
        if self.secret.is_some() || self.client_secret.is_some() {
            return Err(
                "a secret never goes in the document: name the environment variable \
                        (secret_env) or the file (secret_file) that holds it"
                    .into(),
            );
        }
        match (&self.secret_env, &self.secret_file) {
            (Some(_), Some(_)) => Err("give secret_env or secret_file, not both".into()),
            (Some(_), None) | (None, Some(_)) if self.public => {
                Err("a public client has no secret (drop secret_env / secret_file)".into())
            }
            (Some(_), None) | (None, Some(_))
                if self.token_endpoint_auth_method.as_deref()
                    == Some(crate::oauth::client::PRIVATE_KEY_JWT) =>
            {
                Err("a private_key_jwt client has no secret (drop secret_env / secret_file)".into())
            }
            (Some(name), None) => Ok(Some(SecretSource::Env(name.clone()))),
            (None, Some(path)) => Ok(Some(SecretSource::File(path.clone()))),
            (None, None) => Ok(None),
        }
    }
}

/// Where a confidential client's secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(String),
}

/// The document for `exported` (no secrets) in `format`.
pub fn export(exported: &Exported, format: Format) -> Result<String, String> {
    match format {
        Format::Toml => toml::to_string(exported).map_err(|e| e.to_string()),
        Format::Yaml => serde_norway::to_string(exported).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests;
