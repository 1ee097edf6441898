//! Registered clients as the protocol sees them, and the store trait the grants use.
use std::fmt;
use std::str::FromStr;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::store::clients::{self, ClientRow};
use crate::store::DbConnection;
use crate::tokens::Alg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    Password,
    RefreshToken,
    /// RFC 8693. Not registrable with `--grant` (and never stored in `grant_types`, which a
    /// previous release must still read): a client may use it when it has exchange audiences.
    TokenExchange,
    /// RFC 8628, the device authorization grant: `--grant device_code` (or its URN), stored as
    /// `device_code`.
    DeviceCode,
}

/// RFC 8693 §2.1's `grant_type`.
pub const TOKEN_EXCHANGE_URN: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8628 §3.4's `grant_type`.
pub const DEVICE_CODE_URN: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::DeviceCode,
    ];

    /// Every `grant_type` `/token` takes, in the order discovery lists them
    /// (`grant_types_supported` is this list: one registry for both).
    pub const SUPPORTED: [GrantType; 6] = [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::TokenExchange,
        GrantType::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::TokenExchange => TOKEN_EXCHANGE_URN,
            GrantType::DeviceCode => DEVICE_CODE_URN,
        }
    }

    /// A short name for metrics labels (`as_str` but for the token exchange URN).
    pub fn label(self) -> &'static str {
        match self {
            GrantType::TokenExchange => "token_exchange",
            GrantType::DeviceCode => "device_code",
            other => other.as_str(),
        }
    }
}

impl GrantType {
    /// A grant as an operator names it (`client create --grant`): its `grant_type`, or
    /// `device_code` for RFC 8628's URN. `/token` takes only the `grant_type` itself.
    pub fn from_name(s: &str) -> Result<GrantType, String> {
        match s {
            "device_code" => Ok(GrantType::DeviceCode),
            other => other.parse(),
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GrantType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GrantType::SUPPORTED
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown grant {s:?} (known: authorization_code, client_credentials, \
                     password, refresh_token, device_code)"
                )
            })
    }
}

/// `token_endpoint_auth_method` of a client that signs JWTs to authenticate (RFC 7523 §2.2).
pub const PRIVATE_KEY_JWT: &str = "private_key_jwt";

/// What `clients.secret_hash` holds for a confidential client without a secret — a
/// `private_key_jwt` client, or one that just left that method and has not had a secret made
/// (`client rotate-secret`): the table's CHECK (`is_public OR secret_hash IS NOT NULL`) wants a
/// value, and this one is no SHA-256 base64url hash, so no presented secret ever matches it
/// (not even on a previous release that does not know the method). Read back as `None`.
const NO_SECRET: &str = "!private_key_jwt";

/// A registered client. The secret exists only as its hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub audiences: Vec<String>,
    pub skip_consent: bool,
    pub access_token_ttl_secs: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// May introspect tokens issued to other clients (a resource server).
    pub can_introspect: bool,
    /// Authorization requests must carry a PKCE S256 challenge. Always true for public
    /// clients; an operator may relax it for a confidential client.
    pub pkce_required: bool,
    /// Origins added by the operator for browser apps (CORS), beside the origins of the
    /// redirect URIs; `oauth::origins` holds the rule.
    pub web_origins: Vec<String>,
    /// The algorithm of its access tokens; `None`: the server's default.
    pub access_token_alg: Option<Alg>,
    /// OIDC Dynamic Registration's `id_token_signed_response_alg`; `None`: the default.
    pub id_token_alg: Option<Alg>,
    /// Every sign-in for this client needs a second factor (`client create --require-mfa`).
    pub require_mfa: bool,
    /// RFC 9449 §5.2: every token request needs a DPoP proof (`--dpop-bound-access-tokens`).
    pub dpop_bound_access_tokens: bool,
    /// RFC 8693: the audiences it may exchange a user's token for (`--exchange-audience`);
    /// empty: it may not use token exchange.
    pub exchange_audiences: Vec<String>,
    /// It may exchange a token to act *as* the user, with no `act` claim
    /// (`--exchange-impersonation`); otherwise every exchanged token names it in `act`.
    pub exchange_impersonation: bool,
    /// It registered itself (RFC 7591, `oauth::dynamic`): Portcullis has not vetted it.
    pub dynamic: bool,
    /// Its `id` is the URL of the client metadata document that defines it
    /// (`oauth::metadata_document`), which stands until then; Portcullis has not vetted it.
    pub metadata_document_expires_at: Option<i64>,
    /// Its authorization requests must be pushed (RFC 9126 `POST /par`,
    /// `client create --require-par`).
    pub require_par: bool,
    /// OIDC Back-Channel Logout 1.0: where a logout token is POSTed when a session it got
    /// tokens in ends (`oidc::backchannel`); `None`: it is not told.
    pub backchannel_logout_uri: Option<String>,
    /// It needs `sid` in logout tokens (always sent anyway).
    pub backchannel_logout_session_required: bool,
    /// Its security profile (`client create --profile fapi2`); `oauth::profile` holds the rules.
    pub profile: Option<super::profile::Profile>,
    /// It authenticates with a JWT signed by one of its keys (RFC 7523 `private_key_jwt`),
    /// never with a secret; `false`: a secret (confidential) or none (public).
    pub private_key_jwt: bool,
    /// Its public keys by value (a JWKS, JSON; `oauth::client_keys`); exclusive with `jwks_uri`.
    pub jwks: Option<String>,
    /// Where its public keys are fetched from (`oauth::client_keys`).
    pub jwks_uri: Option<String>,
}

impl Client {
    /// It has public keys (by value or by URL): it may sign request objects, and may use
    /// `private_key_jwt`.
    pub fn has_keys(&self) -> bool {
        self.jwks.is_some() || self.jwks_uri.is_some()
    }

    /// Its `token_endpoint_auth_method` as RFC 7591 names it.
    pub fn auth_method_name(&self) -> &'static str {
        if self.private_key_jwt {
            PRIVATE_KEY_JWT
        } else if self.public {
            "none"
        } else {
            "client_secret_basic"
        }
    }

    /// Defined by a client metadata document (its id is the document's URL).
    pub fn is_metadata_document(&self) -> bool {
        self.metadata_document_expires_at.is_some()
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        match grant {
            // Allowed by the exchange policy, not by `grant_types` (see `GrantType`).
            GrantType::TokenExchange => !self.public && !self.exchange_audiences.is_empty(),
            _ => self.grant_types.contains(&grant),
        }
    }

    pub fn to_row(&self) -> anyhow::Result<ClientRow> {
        Ok(ClientRow {
            id: self.id.clone(),
            name: self.name.clone(),
            secret_hash: match &self.secret_hash {
                Some(hash) if !self.private_key_jwt => Some(hash.clone()),
                _ if self.public => None,
                _ => Some(NO_SECRET.to_string()),
            },
            is_public: self.public,
            grant_types: serde_json::to_string(&self.grant_types)?,
            scopes: serde_json::to_string(&self.scopes)?,
            redirect_uris: serde_json::to_string(&self.redirect_uris)?,
            post_logout_redirect_uris: serde_json::to_string(&self.post_logout_redirect_uris)?,
            audiences: serde_json::to_string(&self.audiences)?,
            skip_consent: self.skip_consent,
            access_token_ttl_secs: self.access_token_ttl_secs,
            created_at: self.created_at,
            updated_at: self.updated_at,
            can_introspect: self.can_introspect,
            pkce_required: self.pkce_required,
            web_origins: serde_json::to_string(&self.web_origins)?,
            access_token_alg: self.access_token_alg.map(|a| a.name().to_string()),
            id_token_signed_response_alg: self.id_token_alg.map(|a| a.name().to_string()),
            require_mfa: self.require_mfa,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            exchange_audiences: serde_json::to_string(&self.exchange_audiences)?,
            exchange_impersonation: self.exchange_impersonation,
            dynamic: self.dynamic,
            metadata_document_expires_at: self.metadata_document_expires_at,
            require_par: self.require_par,
            backchannel_logout_uri: self.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            profile: self.profile.map(|p| p.as_str().to_string()),
            token_endpoint_auth_method: self.private_key_jwt.then(|| PRIVATE_KEY_JWT.to_string()),
            jwks: self.jwks.clone(),
            jwks_uri: self.jwks_uri.clone(),
        })
    }
}

impl TryFrom<ClientRow> for Client {
    type Error = anyhow::Error;

    fn try_from(row: ClientRow) -> anyhow::Result<Client> {
        let list = |field: &str, text: &str| -> anyhow::Result<Vec<String>> {
            serde_json::from_str(text)
                .with_context(|| format!("client {} has a corrupt {field}", row.id))
        };
        let private_key_jwt = match row.token_endpoint_auth_method.as_deref() {
            None => false,
            Some(PRIVATE_KEY_JWT) => true,
            Some(other) => anyhow::bail!(
                "client {} has an unknown token_endpoint_auth_method {other:?}",
                row.id
            ),
        };
        Ok(Client {
            grant_types: serde_json::from_str(&row.grant_types)
                .with_context(|| format!("client {} has corrupt grant_types", row.id))?,
            scopes: list("scopes", &row.scopes)?,
            redirect_uris: list("redirect_uris", &row.redirect_uris)?,
            post_logout_redirect_uris: list(
                "post_logout_redirect_uris",
                &row.post_logout_redirect_uris,
            )?,
            audiences: list("audiences", &row.audiences)?,
            web_origins: list("web_origins", &row.web_origins)?,
            exchange_audiences: list("exchange_audiences", &row.exchange_audiences)?,
            access_token_alg: row
                .access_token_alg
                .as_deref()
                .map(str::parse)
                .transpose()?,
            id_token_alg: row
                .id_token_signed_response_alg
                .as_deref()
                .map(str::parse)
                .transpose()?,
            // Before `id` moves out of the row.
            profile: match row.profile.as_deref() {
                None => None,
                Some(name) => super::profile::Profile::parse(name)
                    .map_err(|e| anyhow::anyhow!("client {} has a corrupt profile: {e}", row.id))?,
            },
            id: row.id,
            name: row.name,
            secret_hash: row
                .secret_hash
                .filter(|h| !private_key_jwt && h != NO_SECRET),
            public: row.is_public,
            skip_consent: row.skip_consent,
            access_token_ttl_secs: row.access_token_ttl_secs,
            created_at: row.created_at,
            updated_at: row.updated_at,
            can_introspect: row.can_introspect,
            pkce_required: row.pkce_required || row.is_public,
            require_mfa: row.require_mfa,
            dpop_bound_access_tokens: row.dpop_bound_access_tokens,
            exchange_impersonation: row.exchange_impersonation,
            dynamic: row.dynamic,
            metadata_document_expires_at: row.metadata_document_expires_at,
            require_par: row.require_par,
            backchannel_logout_uri: row.backchannel_logout_uri,
            backchannel_logout_session_required: row.backchannel_logout_session_required,
            private_key_jwt,
            jwks: row.jwks,
            jwks_uri: row.jwks_uri,
        })
    }
}

/// The built-in first-party client of the account JSON API. It lives in code, not in the
/// `clients` table: operators cannot delete or weaken it, and it is not usable at `/token`.
/// It is public and has the password grant, which RFC 9700 §2.4 rules out for registered
/// clients (`registration::validate`, `token::begin`): it is first-party and internal, and the
/// account API signs in through `identity::login` directly, never through `/token`'s client
/// authentication, so that rule does not reach it and `/api/auth/login` keeps working.
pub const ACCOUNT_CLIENT_ID: &str = "account";

pub fn account_client() -> Client {
    Client {
        id: ACCOUNT_CLIENT_ID.to_string(),
        name: "Account API".to_string(),
        secret_hash: None,
        public: true,
        grant_types: vec![GrantType::Password, GrantType::RefreshToken],
        scopes: vec!["account".into(), "profile".into(), "email".into()],
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        audiences: vec![],
        skip_consent: true,
        access_token_ttl_secs: None,
        created_at: 0,
        updated_at: 0,
        can_introspect: false,
        pkce_required: true,
        web_origins: vec![],
        access_token_alg: None,
        id_token_alg: None,
        require_mfa: false,
        dpop_bound_access_tokens: false,
        exchange_audiences: vec![],
        exchange_impersonation: false,
        dynamic: false,
        metadata_document_expires_at: None,
        require_par: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        profile: None,
        private_key_jwt: false,
        jwks: None,
        jwks_uri: None,
    }
}

/// What the protocol needs from storage to know its clients.
pub trait ClientStore {
    fn find_client(&mut self, id: &str) -> anyhow::Result<Option<Client>>;

    /// Remembers a client assertion (`client_auth`, by its replay key) until `expires_at`:
    /// `false` when it was seen before.
    fn remember_assertion(&mut self, key: &str, expires_at: i64) -> anyhow::Result<bool>;
}

impl ClientStore for DbConnection {
    fn find_client(&mut self, id: &str) -> anyhow::Result<Option<Client>> {
        clients::find(self, id)?.map(Client::try_from).transpose()
    }

    fn remember_assertion(&mut self, key: &str, expires_at: i64) -> anyhow::Result<bool> {
        Ok(crate::store::client_assertions::remember(
            self, key, expires_at,
        )?)
    }
}
