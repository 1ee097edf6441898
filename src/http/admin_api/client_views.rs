//! The JSON shapes of `/admin/api/clients`: a client as shown (`ClientView`), as created or
//! replaced (`ClientBody`, the settings of `client create`), and the secrets shown once.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::oauth::client::Client;
use crate::oauth::registration::{ClientSpec, Registered};

/// A client's settings, under the names of `portcullis client create`'s flags.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    /// `managed` (the operator's), `dynamic` (registered itself) or `metadata_document`.
    pub kind: ClientKind,
    pub public: bool,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub audiences: Vec<String>,
    pub skip_consent: bool,
    pub access_token_ttl_secs: Option<i64>,
    pub can_introspect: bool,
    pub pkce_optional: bool,
    pub web_origins: Vec<String>,
    pub token_alg: Option<String>,
    pub id_token_alg: Option<String>,
    pub require_mfa: bool,
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126: its authorization requests must be pushed.
    pub require_par: bool,
    pub exchange_audiences: Vec<String>,
    pub exchange_impersonation: bool,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// The security profile: `fapi2` (FAPI 2.0 Security Profile) or null.
    pub profile: Option<String>,
    /// `private_key_jwt` (RFC 7523), `client_secret_basic` or `none`.
    pub token_endpoint_auth_method: String,
    /// Its public keys by value (a JWKS).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where its public keys are fetched from.
    pub jwks_uri: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    Managed,
    Dynamic,
    MetadataDocument,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        let kind = if c.is_metadata_document() {
            ClientKind::MetadataDocument
        } else if c.dynamic {
            ClientKind::Dynamic
        } else {
            ClientKind::Managed
        };
        ClientView {
            client_id: c.id.clone(),
            name: c.name.clone(),
            kind,
            public: c.public,
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.label().to_string())
                .collect(),
            scopes: c.scopes.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            audiences: c.audiences.clone(),
            skip_consent: c.skip_consent,
            access_token_ttl_secs: c.access_token_ttl_secs,
            can_introspect: c.can_introspect,
            pkce_optional: !c.public && !c.pkce_required,
            web_origins: c.web_origins.clone(),
            token_alg: c.access_token_alg.map(|a| a.name().to_string()),
            id_token_alg: c.id_token_alg.map(|a| a.name().to_string()),
            require_mfa: c.require_mfa,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            require_par: c.require_par,
            exchange_audiences: c.exchange_audiences.clone(),
            exchange_impersonation: c.exchange_impersonation,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            profile: c.profile.map(|p| p.as_str().to_string()),
            token_endpoint_auth_method: c.auth_method_name().to_string(),
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: c.jwks_uri.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A client's settings to create or replace it with (`client create`'s flags); every one but
/// `name` may be left out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "reports", "grant_types": ["client_credentials"], "scopes": ["read"],
    "audiences": ["https://api.example.com"]
}))]
pub struct ClientBody {
    pub name: String,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub skip_consent: bool,
    #[serde(default)]
    pub access_token_ttl_secs: Option<i64>,
    #[serde(default)]
    pub can_introspect: bool,
    #[serde(default)]
    pub pkce_optional: bool,
    #[serde(default)]
    pub web_origins: Vec<String>,
    #[serde(default)]
    pub token_alg: Option<String>,
    #[serde(default)]
    pub id_token_alg: Option<String>,
    #[serde(default)]
    pub require_mfa: bool,
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    #[serde(default)]
    pub require_par: bool,
    #[serde(default)]
    pub exchange_audiences: Vec<String>,
    #[serde(default)]
    pub exchange_impersonation: bool,
    #[serde(default)]
    pub private_use_redirects: bool,
    /// OIDC Back-Channel Logout: where logout tokens are POSTed when a session ends.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// `fapi2`: the FAPI 2.0 Security Profile's rules (confidential only; PAR, PKCE S256,
    /// DPoP; PS256/ES256/EdDSA tokens). Absent, null or `none`: no profile.
    #[serde(default)]
    pub profile: Option<String>,
    /// `private_key_jwt` (RFC 7523: no secret; needs `jwks` or `jwks_uri`); absent: a secret
    /// (confidential) or none (public).
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys by value (a JWKS object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where the client's public keys are fetched from (https).
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

impl ClientBody {
    pub(super) fn spec(self) -> ClientSpec {
        ClientSpec {
            name: self.name,
            grant_types: self.grant_types,
            scopes: self.scopes,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            audiences: self.audiences,
            public: self.public,
            skip_consent: self.skip_consent,
            access_token_ttl_secs: self.access_token_ttl_secs,
            can_introspect: self.can_introspect,
            pkce_optional: self.pkce_optional,
            web_origins: self.web_origins,
            token_alg: self.token_alg,
            id_token_alg: self.id_token_alg,
            require_mfa: self.require_mfa,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            exchange_audiences: self.exchange_audiences,
            exchange_impersonation: self.exchange_impersonation,
            private_use_redirects: self.private_use_redirects,
            dynamic: false,
            require_par: self.require_par,
            backchannel_logout_uri: self.backchannel_logout_uri,
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            profile: self.profile,
            auth_method: self.token_endpoint_auth_method,
            jwks: self.jwks.map(|j| j.to_string()),
            jwks_uri: self.jwks_uri,
        }
    }
}

/// A client as stored, and its secret in clear when one was just made (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

impl From<Registered> for ClientWithSecret {
    fn from(r: Registered) -> Self {
        ClientWithSecret {
            client: ClientView::from(&r.client),
            client_secret: r.secret,
        }
    }
}

/// A confidential client's new secret (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    pub client_id: String,
    pub client_secret: String,
}
