//! People: users, password hashing and policy, roles and permissions, sessions and refresh
//! tokens, brute-force protection, second factors (authenticator apps, recovery codes) and the
//! audit log. Plain functions over the store; the async ones only orchestrate the database and
//! hashing pools.
pub mod admin_users;
pub mod api_keys;
pub mod audit;
pub mod browser;
pub mod client_ip;
pub mod email;
pub mod email_tokens;
pub mod factor_notice;
pub mod guesses;
pub mod login;
pub mod mfa;
pub mod passkeys;
pub mod password;
pub mod password_change;
pub mod profile;
pub mod recovery_codes;
pub mod reset;
pub mod role_book;
pub mod role_seed;
pub mod roles;
pub mod roles_admin;
pub mod rotation;
pub mod second_factor;
pub mod security_events;
pub mod sessions;
pub mod text;
pub mod totp;
pub mod users;
pub mod verification;

/// Who is asking, for throttling and the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
