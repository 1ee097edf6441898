//! People: users, password hashing and policy, roles and permissions, sessions and refresh
//! tokens, brute-force protection and the audit log. Plain functions over the store; the async
//! ones only orchestrate the database and hashing pools.
pub mod api_keys;
pub mod audit;
pub mod browser;
pub mod client_ip;
pub mod email;
pub mod email_tokens;
pub mod guesses;
pub mod login;
pub mod password;
pub mod password_change;
pub mod profile;
pub mod reset;
pub mod roles;
pub mod security_events;
pub mod sessions;
pub mod text;
pub mod users;
pub mod verification;

/// Who is asking, for throttling and the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
