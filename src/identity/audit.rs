//! The audit log: who did what, from where, with what outcome. Never a secret or a token.
use serde::Serialize;

use crate::store::audit::{self, AuditRow, NewAuditEvent};
use crate::store::DbConnection;

use super::RequestMeta;

pub const LOGIN: &str = "login";
pub const LOCKOUT: &str = "lockout";
/// A wrong current password at the account API's password change.
pub const PASSWORD_CHECK: &str = "password_check";
pub const TOKEN_ISSUED: &str = "token_issued";
/// RFC 8693: a client exchanged a user's token for one to another audience (subject, actor,
/// client, audience).
pub const TOKEN_EXCHANGED: &str = "token_exchanged";
pub const REFRESH_REUSE: &str = "refresh_reuse_detected";
/// A retry of the just-rotated refresh token inside the grace window replaced its successor.
pub const REFRESH_RETRY: &str = "refresh_retry";
pub const LOGOUT: &str = "logout";
pub const SESSION_ENDED: &str = "session_ended";
pub const PASSWORD_CHANGED: &str = "password_changed";
pub const USER_CREATED: &str = "user_created";
pub const USER_CHANGED: &str = "user_changed";
pub const CLIENT_CREATED: &str = "client_created";
pub const CLIENT_CHANGED: &str = "client_changed";
/// A client registered itself (RFC 7591; detail `dynamic: true`).
pub const CLIENT_REGISTERED: &str = "client_registered";
/// A dynamic client replaced its metadata (RFC 7592).
pub const CLIENT_UPDATED: &str = "client_updated";
/// A dynamic client deleted itself (RFC 7592).
pub const CLIENT_DELETED: &str = "client_deleted";
/// A client metadata document was used for the first time, or said something new (detail:
/// `first_use`, name, redirect URIs, grants, scope); the client id is its URL.
pub const CLIENT_METADATA_DOCUMENT: &str = "client_metadata_document";
/// An operator made or revoked an initial access token for client registration.
pub const REGISTRATION_TOKEN_CREATED: &str = "registration_token_created";
pub const REGISTRATION_TOKEN_REVOKED: &str = "registration_token_revoked";
pub const KEY_ROTATED: &str = "key_rotated";
pub const API_KEY_CREATED: &str = "api_key_created";
pub const API_KEY_REVOKED: &str = "api_key_revoked";
pub const TOKEN_REVOKED: &str = "token_revoked";
pub const CONSENT_GRANTED: &str = "consent_granted";
pub const CONSENT_DENIED: &str = "consent_denied";
/// A signed-in user approved a device's request on `/device` (RFC 8628).
pub const DEVICE_APPROVED: &str = "device_approved";
/// A signed-in user denied a device's request on `/device`.
pub const DEVICE_DENIED: &str = "device_denied";
pub const CODE_REPLAY: &str = "code_replay_detected";
pub const FEDERATED_LOGIN: &str = "federated_login";
pub const IDENTITY_LINKED: &str = "identity_linked";
pub const IDENTITY_UNLINKED: &str = "identity_unlinked";
/// A verification link was sent (success), or asked for and not sent (failure: the reason).
pub const EMAIL_VERIFICATION_SENT: &str = "email_verification_sent";
/// A verification link was followed (success), or a bad one presented (failure).
pub const EMAIL_VERIFIED: &str = "email_verified";
/// "Forgot password": a reset link was sent (success), or not (failure: the reason).
pub const PASSWORD_RESET_REQUESTED: &str = "password_reset_requested";
/// A reset link was used to set a new password (success), or a bad one presented (failure).
pub const PASSWORD_RESET: &str = "password_reset";
/// An authenticator app was set up (its first code confirmed).
pub const TOTP_ENABLED: &str = "totp_enabled";
pub const TOTP_DISABLED: &str = "totp_disabled";
/// A new set of recovery codes replaced the old ones.
pub const RECOVERY_CODES_GENERATED: &str = "recovery_codes_generated";
/// A recovery code was used (the user is also told by mail).
pub const RECOVERY_CODE_USED: &str = "recovery_code_used";
/// A second-factor code was checked (`identity::second_factor::check_code`): accepted (the
/// method), or refused (the reason).
pub const SECOND_FACTOR: &str = "second_factor";
/// The account's email address was changed (it is unverified until its link is followed).
pub const EMAIL_CHANGED: &str = "email_changed";

#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    pub kind: &'a str,
    pub success: bool,
    pub user_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub meta: Option<&'a RequestMeta>,
    pub detail: Option<serde_json::Value>,
}

pub fn record(conn: &mut DbConnection, event: Event, now: i64) -> diesel::QueryResult<()> {
    audit::insert(conn, &row(event, now))
}

/// The row [`record`] writes for `event`.
pub fn row(event: Event, now: i64) -> NewAuditEvent {
    NewAuditEvent {
        at: now,
        kind: event.kind.to_string(),
        outcome: if event.success { "success" } else { "failure" }.to_string(),
        user_id: event.user_id.map(str::to_string),
        client_id: event.client_id.map(str::to_string),
        ip: event.meta.and_then(|m| m.ip.clone()),
        user_agent: event
            .meta
            .and_then(|m| m.user_agent.as_ref().map(|u| u.chars().take(512).collect())),
        detail: event.detail.map(|d| d.to_string()),
    }
}

/// An audit row as the CLI prints it.
#[derive(Debug, Serialize)]
pub struct Printed {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<serde_json::Value>,
}

impl From<AuditRow> for Printed {
    fn from(r: AuditRow) -> Self {
        Printed {
            id: r.id,
            at: r.at,
            kind: r.kind,
            outcome: r.outcome,
            user_id: r.user_id,
            client_id: r.client_id,
            ip: r.ip,
            user_agent: r.user_agent,
            detail: r.detail.and_then(|d| serde_json::from_str(&d).ok()),
        }
    }
}
/// A role was created (`portcullis apply`, the admin API or console), changed or deleted; the
/// detail names the role and the actor.
pub const ROLE_CREATED: &str = "role_created";
pub const ROLE_CHANGED: &str = "role_changed";
pub const ROLE_DELETED: &str = "role_deleted";
/// A scope's consent descriptions were set, changed or removed.
pub const SCOPE_DESCRIBED: &str = "scope_described";
/// An upstream identity provider was declared (`portcullis apply`), changed or deleted; the
/// detail names the provider, where its secret is read from (never the secret) and the actor.
pub const PROVIDER_CREATED: &str = "provider_created";
pub const PROVIDER_CHANGED: &str = "provider_changed";
pub const PROVIDER_DELETED: &str = "provider_deleted";
