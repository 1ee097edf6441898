//! The pending-request lifecycle (DESIGN §9, "Flows as modules"): a request a client made that
//! waits for a person — to sign in, maybe with a second factor, and to decide. Both flows that
//! wait go through the same four steps, and the rules of each step live here once:
//!
//! | step | `/authorize` (this module) | device grant (`oauth::device`) |
//! |---|---|---|
//! | create | [`create`]: stored, bound to the browser | `device::start`: stored, found by its user code |
//! | load and re-check | [`load`] | `device::find` (by user code, under the guess budget) |
//! | authenticated | [`authenticated`]: signed in for it, rebound | the signed-in browser that entered the code |
//! | finish | [`finish`]: one winner | `device::decide`, then the one poll that claims it |
//!
//! Shared by both: [`recheck`] (the client may still use the flow; scopes it lost are dropped),
//! [`grantable`] (what the user's role may grant), and [`mfa_required`] (who must show a
//! second factor). Nothing here knows HTTP; every function takes `now`.
use super::authorize::AuthRequest;
use super::{Client, ClientStore, GrantType};
use crate::identity::roles::Roles;
use crate::store::authorize as store;
use crate::store::DbConnection;
use crate::tokens::secret;

/// A pending authorization request, loaded and re-checked.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    /// The browser binding the request belongs to.
    pub browser_hash: String,
    pub client: Client,
    pub request: AuthRequest,
}

/// Why a pending request can't be continued.
#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    /// Unknown, expired, finished, or its client changed so that it no longer holds.
    #[error("the request has expired or was already completed")]
    Gone,
    /// Started in another browser.
    #[error("the request was started in another browser")]
    OtherBrowser,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for PendingError {
    fn from(e: diesel::result::Error) -> Self {
        PendingError::Internal(e.into())
    }
}

/// Stores a validated request, bound to the browser whose binding hashes to `browser_hash`;
/// returns its id.
pub fn create(
    c: &mut DbConnection,
    request: &AuthRequest,
    browser_hash: &str,
    now: i64,
) -> anyhow::Result<String> {
    let id = secret::random_token(16)?;
    store::insert_request(c, &request.to_row(id.clone(), browser_hash.into(), now))?;
    Ok(id)
}

/// Loads a pending request: it must exist, be unexpired, belong to this browser (`is_bound`
/// says whether a stored binding hash is this browser's), and still [`recheck`] against its
/// client.
pub fn load(
    c: &mut DbConnection,
    id: &str,
    is_bound: impl Fn(&str) -> bool,
    now: i64,
) -> Result<Pending, PendingError> {
    let row = store::find_request(c, id)?.ok_or(PendingError::Gone)?;
    if row.expires_at <= now {
        return Err(PendingError::Gone);
    }
    if !is_bound(&row.browser_hash) {
        return Err(PendingError::OtherBrowser);
    }
    let client = c.find_client(&row.client_id)?.ok_or(PendingError::Gone)?;
    let mut request = AuthRequest::from_row(&row);
    // The registration may have changed since the request was checked.
    if !recheck(&client, GrantType::AuthorizationCode, &mut request.scopes)
        || !super::redirect_uri::is_registered(&client, &request.reply.redirect_uri)
    {
        return Err(PendingError::Gone);
    }
    Ok(Pending {
        id: row.id,
        browser_hash: row.browser_hash,
        request,
        client,
    })
}

/// The re-check of a request that waited: its client may still use `grant`, and the scopes it
/// no longer has are dropped. `false`: the request no longer holds.
pub fn recheck(client: &Client, grant: GrantType, scopes: &mut Vec<String>) -> bool {
    scopes.retain(|s| client.scopes.contains(s));
    client.allows_grant(grant)
}

/// The user signed in for this request (`now`), on a browser whose binding now hashes to
/// `new_binding` (it rotates at sign-in); `false` when the request is gone (finished).
pub fn authenticated(
    c: &mut DbConnection,
    pending: &mut Pending,
    new_binding: &str,
    now: i64,
) -> diesel::QueryResult<bool> {
    if !store::mark_authenticated(c, &pending.id, now)?
        || !store::rebind(c, &pending.id, new_binding)?
    {
        return Ok(false);
    }
    pending.request.authenticated_at = Some(now);
    pending.browser_hash = new_binding.to_string();
    Ok(true)
}

/// Finishes the request (its answer goes back to the client); `false` when another tab or a
/// double submit finished it first.
pub fn finish(c: &mut DbConnection, id: &str) -> diesel::QueryResult<bool> {
    store::delete_request(c, id)
}

/// The `requested` scopes a user with `role` may grant. `offline_access` only goes to clients
/// that may use refresh tokens.
pub fn grantable(requested: &[String], client: &Client, role: &str, roles: &Roles) -> Vec<String> {
    requested
        .iter()
        .filter(|s| roles.may_grant(role, s))
        .filter(|s| *s != "offline_access" || client.allows_grant(GrantType::RefreshToken))
        .cloned()
        .collect()
}

/// Whether a sign-in of a user with `role` needs a second factor: the role, the client (if
/// the sign-in is for one) or the request (`wants_mfa`: `acr_values`) says so.
pub fn mfa_required(client: Option<&Client>, wants_mfa: bool, role: &str, roles: &Roles) -> bool {
    roles.requires_mfa(role) || client.is_some_and(|c| c.require_mfa) || wants_mfa
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recheck_drops_lost_scopes_and_refuses_a_lost_grant() {
        let mut client = crate::oauth::client::account_client();
        client.grant_types = vec![GrantType::DeviceCode, GrantType::RefreshToken];
        client.scopes = vec!["openid".into(), "read".into()];
        let mut scopes = vec!["openid".to_string(), "write".into(), "read".into()];
        assert!(recheck(&client, GrantType::DeviceCode, &mut scopes));
        assert_eq!(scopes, ["openid", "read"]);
        assert!(!recheck(&client, GrantType::AuthorizationCode, &mut scopes));
    }

    #[test]
    fn offline_access_needs_the_refresh_grant() {
        let roles = Roles::education().unwrap();
        let mut client = crate::oauth::client::account_client();
        client.grant_types = vec![GrantType::DeviceCode];
        let asked = vec!["openid".to_string(), "offline_access".into()];
        assert_eq!(grantable(&asked, &client, "student", &roles), ["openid"]);
        client.grant_types.push(GrantType::RefreshToken);
        assert_eq!(grantable(&asked, &client, "student", &roles), asked);
    }
}
