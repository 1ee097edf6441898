//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), free of HTTP:
//! the metadata and its rules here and in `rules`, the use cases in `management`.
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

use super::client::{Client, GrantType};
use super::registration::{self, is_loopback_host, is_private_use, ClientSpec};
use crate::config::{ClientSettings, RegistrationPolicy};
use crate::identity::audit::{self, Event};
use crate::store::client_registrations::{self as store, RegistrationTokenRow};
use crate::store::{write_transaction, DbConnection};
use crate::tokens::secret;

mod initial_tokens;
mod management;
mod rules;
#[cfg(test)]
mod tests;

pub use initial_tokens::{
    create_initial_token, list_initial_tokens, revoke_initial_token, InitialTokenInfo,
    NewInitialToken,
};
pub use management::{delete, read, register, update};
pub use rules::{admit, check, check_redirect_uri};

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
            // RFC 7591 §2: each as its `grant_type` (RFC 8628's is a URN).
            "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
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
