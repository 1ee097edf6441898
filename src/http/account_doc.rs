//! The account JSON API's answers as the OpenAPI document describes them (`/api/auth/*`,
//! `/api/keys*`). The handlers build the same fields (`account::user_json`, `TokenResponse`,
//! `identity::api_keys::KeyInfo`, …); schemathesis checks live answers against these
//! (`tests/schemathesis/run.sh`), so a field that drifts fails there.
#![allow(dead_code)] // documentation types: never built, only described

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::admin_api::Common;
use super::{account, api_keys, email_links, identities, me, second_factor, sessions, step_up};

/// An account, as the account API shows it to its owner.
#[derive(Serialize, ToSchema)]
pub struct AccountUser {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    /// The scopes the role allows.
    pub permissions: Vec<String>,
    pub email_verified: bool,
    pub created_at: i64,
}

/// Tokens of the built-in `account` client (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
pub struct Tokens {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    pub expires_in: i64,
    #[schema(required = false)]
    pub scope: Option<String>,
    #[schema(required = false)]
    pub refresh_token: Option<String>,
    #[schema(required = false)]
    pub id_token: Option<String>,
}

/// One of the caller's live sessions.
#[derive(Serialize, ToSchema)]
pub struct AccountSession {
    pub id: String,
    pub client_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session of the token making this request.
    pub current: bool,
}

/// A sign-in through an upstream provider linked to the account.
#[derive(Serialize, ToSchema)]
pub struct LinkedIdentity {
    pub id: String,
    pub provider: String,
    pub email: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct MfaStatus {
    pub totp: bool,
    pub recovery_codes_left: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing into the app.
    pub secret: String,
    pub otpauth_uri: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Verified {
    /// `totp` or `recovery_code`.
    pub method: String,
}

/// The answer to asking for a link, whatever the address.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// `accepted`.
    pub status: String,
    pub message: String,
}

/// An API key as listed (never the secret).
#[derive(Serialize, ToSchema)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub retire_at: Option<i64>,
}

/// A new API key: its listing and the key itself, shown once.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyCreated {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub retire_at: Option<i64>,
    pub api_key: String,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        account::register, account::login, account::refresh, account::logout, account::me,
        step_up::login_mfa, me::update, sessions::change_password, sessions::list_sessions,
        sessions::end_session, second_factor::status, second_factor::start,
        second_factor::turn_off, second_factor::confirm, second_factor::recovery_codes,
        second_factor::verify, email_links::forgot, email_links::reset, email_links::verify,
        email_links::resend, identities::list, identities::unlink, api_keys::list,
        api_keys::create, api_keys::rotate, api_keys::revoke,
    ),
    modifiers(&Common),
)]
pub struct AccountApiDoc;
