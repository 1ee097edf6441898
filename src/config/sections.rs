//! The sections of `Settings`, each with its defaults.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    pub access_token_ttl_secs: i64,
    /// Upper bound for any per-client access-token lifetime; also how long a retired signing key
    /// stays published.
    pub max_access_token_ttl_secs: i64,
    /// `aud` when the request names no resource and the client has no audience; the issuer if unset.
    pub default_audience: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// The algorithms kept published and rotated (RS256, PS256, ES256, EdDSA); the first is the
    /// default for clients that name none.
    pub algorithms: Vec<crate::tokens::keys::Alg>,
    pub rsa_bits: usize,
    /// How often a running server re-reads the keys from the database (it also does on SIGHUP).
    pub reload_interval_secs: u64,
    /// `Cache-Control: max-age` of `/jwks.json`.
    pub jwks_max_age_secs: u64,
    /// How long a new key is published before it signs: more than `reload_interval_secs` plus
    /// `jwks_max_age_secs`, so every instance and every cached JWKS has it first.
    pub publish_ahead_secs: i64,
    /// Automatic rotation: a new key signs this long after the current one started (0: never).
    pub rotate_every_days: u32,
    /// The key-encryption key sealing private keys in the database: standard base64 of 32
    /// bytes (`openssl rand -base64 32`). Required with PostgreSQL; on SQLite, generated into
    /// `keys_dir/encryption.key` when neither this nor `encryption_key_file` is set.
    pub encryption_key: Option<String>,
    pub encryption_key_file: Option<PathBuf>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_token_ttl_secs: 900,
            max_access_token_ttl_secs: 86_400,
            default_audience: None,
        }
    }
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            algorithms: vec![crate::tokens::keys::Alg::RS256],
            rsa_bits: 2048,
            reload_interval_secs: 10,
            jwks_max_age_secs: 300,
            publish_ahead_secs: 3_600,
            rotate_every_days: 90,
            encryption_key: None,
            encryption_key_file: None,
        }
    }
}

/// DPoP (RFC 9449, `oauth::dpop`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DpopSettings {
    /// Every DPoP proof, at `/token` and at the resource endpoints, must carry a `nonce` this
    /// server issued (`DPoP-Nonce`, RFC 9449 §8/§9); off: the claim is ignored.
    pub require_nonce: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UserSettings {
    /// Whether `POST /api/auth/register` (and the registration page) accept sign-ups.
    pub registration_enabled: bool,
    /// Role given to new users.
    pub default_role: String,
    /// A TOML file replacing the built-in roles: `[roles]` then `name = ["permission", …]`.
    pub roles_file: Option<PathBuf>,
    /// Sign-ups from one source (IPv4 address or IPv6 /64) per `registration_window_secs`.
    pub registration_ip_limit: i32,
    /// Sign-ups from everywhere per `registration_window_secs`.
    pub registration_global_limit: i32,
    pub registration_window_secs: i64,
    /// Password sign-ins are refused until the account's email address is verified.
    pub require_verified_email: bool,
}

/// Who may register a client at `POST /register` (RFC 7591 dynamic client registration).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationPolicy {
    /// Nobody: clients come from the operator's CLI only (`/register` answers 403).
    #[default]
    Disabled,
    /// Holders of an initial access token (`client registration-token create`).
    InitialAccessToken,
    /// Anyone (within `registration_rate_limit_per_ip`).
    Open,
}

/// Clients that register themselves (`oauth::dynamic`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClientSettings {
    pub registration: RegistrationPolicy,
    /// The scopes a dynamic client may register (and gets when it names none).
    pub registration_scopes: Vec<String>,
    /// Registrations per source (IPv4 address or IPv6 /64) per hour; 0: no limit.
    pub registration_rate_limit_per_ip: i32,
    /// Confidential dynamic clients may register the client_credentials grant.
    pub registration_client_credentials: bool,
    /// RFC 8707 resources (absolute URIs without fragment) that every client allowed a grant
    /// may ask tokens for, besides its own audiences: the resource servers of clients that have
    /// none of their own (dynamic ones), such as an MCP server. `oauth::resource::allowed`.
    pub resources: Vec<String>,
    /// Clients identified by an https URL whose JSON document defines them
    /// (`oauth::metadata_document`, draft-ietf-oauth-client-id-metadata-document).
    pub metadata_documents: MetadataDocumentPolicy,
    /// With `metadata_documents = "listed"`: the hosts whose documents are accepted (a name
    /// matches itself and its subdomains).
    pub metadata_document_domains: Vec<String>,
    /// Development only: also fetch documents from loopback addresses, over plain http too.
    pub metadata_document_allow_loopback: bool,
    /// A PEM file of extra certificate authorities trusted for fetching documents (a private CA).
    pub metadata_document_ca_file: Option<PathBuf>,
    /// Connecting and reading a document together may take this long.
    pub metadata_document_timeout_secs: u64,
    /// Largest document accepted (bytes).
    pub metadata_document_max_bytes: usize,
    /// Documents fetched for one source (IPv4 address or IPv6 /64) per minute; a stored fresh
    /// copy costs nothing. 0: no limit.
    pub metadata_document_fetches_per_minute: i32,
    /// How long a device authorization request (RFC 8628: its device_code and user_code)
    /// waits for the user.
    pub device_code_lifetime_secs: i64,
    /// The polling interval a device is given at first (`slow_down` adds 5 s each time).
    pub device_poll_interval_secs: i64,
    /// Every client must push its authorization requests (RFC 9126 `POST /par`); a client may
    /// also require it alone (`client create --require-par`).
    pub require_pushed_authorization_requests: bool,
    /// How often each instance reads the database's client change counter (milliseconds): a
    /// client changed elsewhere (the CLI, `apply`, another instance) takes effect here within
    /// this; a change made through this instance, at once. 0: no cache, every request reads
    /// its client (`oauth::client_cache`).
    pub cache_refresh_ms: u64,
}

/// Whether a URL may stand for a client (`clients.metadata_documents`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MetadataDocumentPolicy {
    /// No: a URL client_id is an unknown client.
    Off,
    /// Any https URL on a public address.
    #[default]
    On,
    /// Only URLs on `metadata_document_domains`.
    Listed,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            registration: RegistrationPolicy::Disabled,
            registration_scopes: ["openid", "profile", "email", "offline_access"]
                .map(String::from)
                .to_vec(),
            registration_rate_limit_per_ip: 10,
            registration_client_credentials: false,
            resources: Vec::new(),
            metadata_documents: MetadataDocumentPolicy::On,
            metadata_document_domains: Vec::new(),
            metadata_document_allow_loopback: false,
            metadata_document_ca_file: None,
            metadata_document_timeout_secs: 5,
            metadata_document_max_bytes: 5 * 1024,
            metadata_document_fetches_per_minute: 20,
            device_code_lifetime_secs: 600,
            device_poll_interval_secs: 5,
            require_pushed_authorization_requests: false,
            cache_refresh_ms: 500,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    pub min_length: usize,
    pub max_length: usize,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_digit: bool,
    /// argon2id memory in KiB (OWASP: 19 MiB).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Threads that hash passwords; default half the cores (at least 1), so logins never take
    /// every core from the token endpoint.
    pub hash_threads: Option<usize>,
    /// Hashes that may wait for a thread; beyond that a login answers 503 at once.
    pub hash_queue: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutSettings {
    /// Failed logins from one IP within `ip_window_secs` beyond which it gets 429.
    pub ip_max_failures: i32,
    pub ip_window_secs: i64,
    /// Consecutive failed logins that lock an account.
    pub account_max_failures: i32,
    /// First lock, then every later lock until a successful login.
    pub account_lock_secs: i64,
    pub account_relock_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// Sessions a user may have at once; a new login ends the oldest beyond it.
    pub max_per_user: i64,
    /// Absolute lifetime of a refresh-token family (and its session).
    pub refresh_token_ttl_secs: i64,
    /// A refresh token unused this long expires.
    pub refresh_token_idle_secs: i64,
    /// A retired refresh token presented again within this many seconds of its rotation is a
    /// retry, not a reuse (0: every reuse revokes the family).
    pub refresh_reuse_grace_secs: i64,
    /// A browser sign-in (SSO cookie) unused this long ends.
    pub browser_idle_secs: i64,
    /// A browser sign-in ends this long after it started, however active.
    pub browser_lifetime_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeySettings {
    /// After a rotation the old key keeps working this long.
    pub rotation_overlap_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Time allowed to receive a request's whole body once its headers are in; beyond it the
    /// request is answered 408 and the connection closed (a slow sender holds no worker).
    pub body_timeout_secs: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            body_timeout_secs: 10,
        }
    }
}

/// `GET /metrics` (Prometheus text format).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Whether metrics are recorded and served at all (off: `/metrics` is 404).
    pub enabled: bool,
    /// A separate `host:port` for `/metrics` alone (e.g. an internal interface); when set, the
    /// main listener answers 404 for `/metrics`.
    pub bind: Option<String>,
    /// When set, `/metrics` requires `Authorization: Bearer <this>` (401 otherwise).
    pub bearer_token: Option<String>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            enabled: true,
            bind: None,
            bearer_token: None,
        }
    }
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        ApiKeySettings {
            rotation_overlap_secs: 24 * 3600,
        }
    }
}

impl Default for UserSettings {
    fn default() -> Self {
        UserSettings {
            registration_enabled: true,
            default_role: "guest".into(),
            roles_file: None,
            registration_ip_limit: 10,
            registration_global_limit: 1000,
            registration_window_secs: 3600,
            require_verified_email: false,
        }
    }
}

impl Default for PasswordSettings {
    fn default() -> Self {
        PasswordSettings {
            min_length: 8,
            max_length: 1024,
            require_uppercase: true,
            require_lowercase: true,
            require_digit: true,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_threads: None,
            hash_queue: 64,
        }
    }
}

impl PasswordSettings {
    /// The effective number of hashing threads (see `hash_threads`).
    pub fn threads(&self) -> usize {
        self.hash_threads.unwrap_or_else(|| {
            (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).max(1)
        })
    }
}

impl Default for LockoutSettings {
    fn default() -> Self {
        LockoutSettings {
            ip_max_failures: 5,
            ip_window_secs: 60,
            account_max_failures: 10,
            account_lock_secs: 15 * 60,
            account_relock_secs: 60 * 60,
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            max_per_user: 5,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            refresh_token_idle_secs: 14 * 24 * 3600,
            refresh_reuse_grace_secs: 0,
            browser_idle_secs: 60 * 60,
            browser_lifetime_secs: 24 * 3600,
        }
    }
}
