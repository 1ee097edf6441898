//! Links sent by email: single-use tokens (256 bits from the OS RNG, stored as SHA-256), one
//! purpose each (`verify_email` for 24 hours, `reset_password` for 30 minutes), bound to the
//! address they were sent to. And the one rule for asking for a link by address ("forgot
//! password", "send a new verification link"): the same answer and nearly the same work whether
//! or not the address has an account, within two sending budgets kept with the guess budgets
//! (`store::guesses`): per source (spent: 429) and per address (spent: the usual answer, nothing
//! sent, so nobody can flood an inbox or learn anything from it).
use serde_json::json;

use super::audit::{self, Event};
use super::guesses::{account_key, source_key};
use super::password::{HashError, Violation};
use super::RequestMeta;
use crate::config::EmailSettings;
use crate::store::email_tokens::{self as store, EmailTokenRow};
use crate::store::users::{self as user_store, UserRow};
use crate::store::{guesses, DbConnection, DbError};
use crate::tokens::secret;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }

    /// How long a link works.
    pub fn ttl_secs(self) -> i64 {
        match self {
            Purpose::VerifyEmail => 24 * 3600,
            Purpose::ResetPassword => 30 * 60,
        }
    }
}

/// Why a mail flow (asking for a link, following one) did not complete.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No mail server is configured: the feature is off.
    #[error("this server sends no email")]
    Disabled,
    /// Too many mail requests from this source.
    #[error("too many requests; retry in {retry_after} s")]
    Throttled { retry_after: i64 },
    /// Unknown, used, expired, or for an address the account no longer has.
    #[error("the link is invalid or has expired")]
    InvalidToken,
    #[error("the password breaks {} rule(s)", .0.len())]
    WeakPassword(Vec<Violation>),
    #[error("password hashing is saturated")]
    Busy,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for LinkError {
    fn from(e: DbError) -> Self {
        LinkError::Internal(e.into())
    }
}

impl From<diesel::result::Error> for LinkError {
    fn from(e: diesel::result::Error) -> Self {
        LinkError::Internal(e.into())
    }
}

impl From<HashError> for LinkError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => LinkError::Busy,
            HashError::Internal(e) => LinkError::Internal(e),
        }
    }
}

/// A new link for `user_id` at `email`; returns the token in clear (it goes into the mail only).
/// The user's spent links of this purpose are forgotten first, so their rows stay few.
pub fn issue(
    c: &mut DbConnection,
    purpose: Purpose,
    user_id: &str,
    email: &str,
    now: i64,
) -> anyhow::Result<String> {
    store::forget_spent(c, user_id, purpose.as_str(), now)?;
    let token = secret::new_secret()?;
    store::insert(
        c,
        &EmailTokenRow {
            token_hash: secret::hash_secret(&token),
            purpose: purpose.as_str().to_string(),
            user_id: user_id.to_string(),
            email: email.to_string(),
            created_at: now,
            expires_at: now + purpose.ttl_secs(),
            used_at: None,
        },
    )?;
    Ok(token)
}

/// The live link behind `token`, without using it up (to show a form).
pub fn peek(
    c: &mut DbConnection,
    purpose: Purpose,
    token: &str,
    now: i64,
) -> diesel::QueryResult<Option<EmailTokenRow>> {
    store::find_live(c, &secret::hash_secret(token), purpose.as_str(), now)
}

/// Uses the link behind `token` up, if it is live and this request wins it.
pub fn redeem(
    c: &mut DbConnection,
    purpose: Purpose,
    token: &str,
    now: i64,
) -> diesel::QueryResult<Option<EmailTokenRow>> {
    let hash = secret::hash_secret(token);
    let Some(row) = store::find_live(c, &hash, purpose.as_str(), now)? else {
        return Ok(None);
    };
    Ok(store::claim(c, &hash, purpose.as_str(), now)?.then_some(row))
}

/// A link asked for by address.
pub struct LinkRequest<'a> {
    pub purpose: Purpose,
    /// The audit event of the request (success: sent; failure: why not).
    pub audit_kind: &'static str,
    /// The address as typed.
    pub email: &'a str,
    pub meta: &'a RequestMeta,
}

/// Decides a request for a link, in the caller's write transaction: `Some((user, token))` to
/// send, `None` for the same answer with nothing sent. `refuse` says why an account gets no
/// link (`Some(reason)`), e.g. a disabled one. Spends the source's budget (`Throttled` when
/// spent: roll back) and the address's (spent: nothing sent).
pub fn request(
    c: &mut DbConnection,
    policy: &EmailSettings,
    req: LinkRequest,
    refuse: impl Fn(&UserRow) -> Option<&'static str>,
    now: i64,
) -> Result<Option<(UserRow, String)>, LinkError> {
    let window = policy.send_limit_window_secs;
    if let Some(ip) = &req.meta.ip {
        let key = format!("mail:src:{}", source_key(ip));
        if let Some(state) = guesses::take(c, &key, policy.send_limit_per_ip, window, now)? {
            let retry_after = (state.window_start + window - now).max(1);
            return Err(LinkError::Throttled { retry_after });
        }
    }
    let email = super::users::lookup_form(req.email);
    let row = user_store::find_by_email(c, &email)?;
    let key = format!("mail:addr:{}", account_key(&email));
    let spent = guesses::take(c, &key, policy.send_limit_per_address, window, now)?.is_some();
    let refusal = match &row {
        _ if spent => Some("throttled"),
        None => Some("unknown_user"),
        Some(r) => refuse(r),
    };
    match (row, refusal) {
        (Some(row), None) => {
            let token = issue(c, req.purpose, &row.id, &row.email, now)?;
            audit::record(c, event(&req, true, Some(&row.id), json!({})), now)?;
            Ok(Some((row, token)))
        }
        (row, reason) => {
            let user_id = row.as_ref().map(|r| r.id.as_str());
            let detail = json!({ "reason": reason.unwrap_or("refused") });
            audit::record(c, event(&req, false, user_id, detail), now)?;
            Ok(None)
        }
    }
}

fn event<'a>(
    req: &'a LinkRequest,
    success: bool,
    user_id: Option<&'a str>,
    detail: serde_json::Value,
) -> Event<'a> {
    Event {
        kind: req.audit_kind,
        success,
        user_id,
        client_id: None,
        meta: Some(req.meta),
        detail: Some(detail),
    }
}
