//! Refresh-token rotation (RFC 6749 §6, RFC 9700 §4.14.2): a presented token is claimed under
//! its session's lock and gets a successor in its family; a rotated one presented again revokes
//! the family, except a retry inside the grace window. Re-exported by `identity::sessions`.
use serde_json::json;

use super::audit::{self, Event};
use super::sessions::NewRefreshToken;
use super::RequestMeta;
use crate::config::SessionSettings;
use crate::store::rotation;
use crate::store::sessions::{self, RefreshTokenRow, SessionRow};
use crate::store::users::UserRow;
use crate::store::DbConnection;
use crate::tokens::secret;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, expired, revoked, or another client's: `invalid_grant`.
    #[error("{0}")]
    Invalid(&'static str),
    /// A rotated token came back: its family is now revoked.
    #[error("the refresh token was already used; its sessions' tokens are revoked")]
    Reused,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for RefreshError {
    fn from(e: diesel::result::Error) -> Self {
        RefreshError::Internal(e.into())
    }
}

/// A successful rotation.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub session: SessionRow,
    pub scope: String,
    /// The resources the family is bound to (RFC 8707; empty: none).
    pub resources: Vec<String>,
    /// The new refresh token.
    pub token: NewRefreshToken,
}

/// How long after its successor was issued (in whole seconds of the clock: within the same
/// second) another presentation of the just-rotated token, whose successor is unused, counts as
/// a concurrent duplicate of the request that rotated it: `invalid_grant`, nothing revoked. Requests sent
/// "at once" reach the database milliseconds apart, some after the winner committed.
pub const DUPLICATE_WINDOW_SECS: i64 = 1;

/// How stale a session's `last_seen_at` may be before a refresh writes it again (it is shown in
/// the account's and the admin's session lists, nothing decides by it).
pub const LAST_SEEN_RESOLUTION_SECS: i64 = 60;

/// A presented refresh token as it stood before the rotation's transaction began. Read outside
/// any transaction, so a request that saw the token live and then found it rotated once it held
/// the session's lock knows it lost a race against a concurrent duplicate (not a replay).
#[derive(Debug, Clone)]
pub struct Presented {
    hash: String,
    seen: Option<RefreshTokenRow>,
    user: Option<UserRow>,
}

impl Presented {
    pub fn read(conn: &mut DbConnection, token: &str) -> diesel::QueryResult<Presented> {
        let hash = secret::hash_secret(token);
        let (seen, user) = match sessions::find_refresh_token_and_user(conn, &hash)? {
            Some((seen, user)) => (Some(seen), user),
            None => (None, None),
        };
        Ok(Presented { hash, seen, user })
    }

    /// The token's user as read with it (before the rotation's transaction: disabling a user
    /// ends their sessions, which waits for, or is seen under, the rotation's session lock).
    pub fn user(&self) -> Option<&UserRow> {
        self.user.as_ref()
    }

    /// The token's row as read, if it was then live and `client_id`'s: a rotation's common
    /// case, whose outcome (scopes, resources, user) is known before anything is written.
    pub fn live_for(&self, client_id: &str, now: i64) -> Option<&RefreshTokenRow> {
        self.seen.as_ref().filter(|r| {
            r.client_id == client_id
                && r.rotated_at.is_none()
                && r.revoked_at.is_none()
                && now < r.expires_at
                && now < r.idle_expires_at
        })
    }

    /// The DPoP key its family is bound to, if it is a known token of a bound family.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.seen.as_ref().and_then(|r| r.dpop_jkt.as_deref())
    }
}

/// [`rotate`]'s common case in one statement, where the backend has one (PostgreSQL:
/// `store::rotation`): `presented` was live and `client_id`'s when read, and is claimed under its
/// session's lock, with its successor and `audit` (the caller's `token_issued` row) stored as
/// one. `Ok(None)` when it was not claimed (no longer live, its session ended) or the backend
/// has no such statement: nothing was written, and [`rotate`], in a transaction, decides.
pub fn rotate_at_once(
    conn: &mut DbConnection,
    presented: &Presented,
    client_id: &str,
    policy: &SessionSettings,
    audit: Event,
    now: i64,
) -> anyhow::Result<Option<Rotated>> {
    let DbConnection::Postgres(pg) = conn else {
        return Ok(None);
    };
    let Some(seen) = presented.live_for(client_id, now) else {
        return Ok(None);
    };
    let token = secret::new_secret()?;
    let row_id = secret::random_token(16)?;
    let claim = rotation::Claim {
        session_id: &seen.session_id,
        token_hash: &presented.hash,
        client_id,
        successor_id: &row_id,
        successor_hash: &secret::hash_secret(&token),
        idle_secs: policy.refresh_token_idle_secs,
        audit: &audit::row(audit, now),
        now,
    };
    let Some(session) = rotation::rotate(pg, &claim)? else {
        return Ok(None);
    };
    // As in `rotate`, but on its own (once a minute per session): the rotation has committed,
    // so a failure here must not fail the grant, whose new token would then be lost and the
    // old one, presented again, count as reuse. "Last seen" is shown, never decided by.
    if now - session.last_seen_at >= LAST_SEEN_RESOLUTION_SECS {
        if let Err(e) = sessions::touch_session(conn, &session.id, now) {
            tracing::warn!(error = %e, "could not record the session's last use");
        }
    }
    // A row's scope and resources never change: as read, they are what was claimed.
    Ok(Some(Rotated {
        session,
        resources: crate::oauth::resource::from_stored(&seen.resources),
        scope: seen.scope.clone(),
        token: NewRefreshToken { token, row_id },
    }))
}

/// Redeems `presented` for `client_id`: retires it and issues its successor in the same family.
/// Call it inside a `write_transaction`; nothing it writes commits before that transaction does.
///
/// Every rotation first locks the token's session row, then claims the token (reading it again
/// only when it cannot be claimed), so concurrent refreshes of one family run one after the
/// other (on any instance) and in one lock order.
/// - A live token is claimed and gets a successor.
/// - Within `refresh_reuse_grace_secs`, the family's most recently rotated token whose successor
///   was never used (a retry after a lost response) revokes that undelivered successor — and with
///   it the access token issued alongside — and gets a new one: one live token per family. Unless
///   it is a concurrent duplicate: the token was live when this request read it but rotated once
///   it held the lock, or the successor is less than `DUPLICATE_WINDOW_SECS` old. Then it lost the
///   race: `invalid_grant`, nothing revoked.
/// - Any other rotated token is reuse: the whole family is revoked. With the default grace of 0
///   (strict, RFC 9700 §4.14.2) that includes the losers of a race and an immediate replay alike:
///   a duplicate that reaches the database after the winner committed cannot be told from one.
pub fn rotate(
    conn: &mut DbConnection,
    presented: &Presented,
    client_id: &str,
    policy: &SessionSettings,
    meta: &RequestMeta,
    now: i64,
) -> Result<Rotated, RefreshError> {
    let Some(seen) = &presented.seen else {
        return Err(RefreshError::Invalid("unknown refresh token"));
    };
    if seen.client_id != client_id {
        return Err(RefreshError::Invalid(
            "the refresh token was issued to another client",
        ));
    }
    // No transaction of its own: the caller's (`grants::refresh_token`), which also writes the
    // audit event, holds the lock and the claim until it ends (a savepoint here cost two more
    // round trips per refresh on PostgreSQL).
    let c = conn;
    (|| {
        let locked = sessions::lock_session(c, &seen.session_id)?;
        // The common case, a live token, in one statement: claiming it reads it.
        let row = match sessions::claim_refresh_token_row(c, &presented.hash, client_id, now)? {
            Some(claimed) => claimed,
            None => match not_claimed(c, presented, seen, client_id, policy, meta, now)? {
                Ok(row) => row,
                Err(refused) => return Ok(Err(refused)),
            },
        };
        // The row read under the lock: the token's session (`session_id` never changes).
        let session = match locked {
            Some(s) if s.ended_at.is_none() && s.expires_at > now => s,
            _ => return Ok(Err(RefreshError::Invalid("the session has ended"))),
        };
        let token = secret::new_secret()?;
        let row_id = secret::random_token(16)?;
        sessions::insert_refresh_token(
            c,
            &RefreshTokenRow {
                id: row_id.clone(),
                token_hash: secret::hash_secret(&token),
                family_id: row.family_id.clone(),
                session_id: row.session_id.clone(),
                user_id: row.user_id.clone(),
                client_id: row.client_id.clone(),
                scope: row.scope.clone(),
                created_at: now,
                expires_at: row.expires_at,
                idle_expires_at: (now + policy.refresh_token_idle_secs).min(row.expires_at),
                rotated_at: None,
                revoked_at: None,
                parent_id: Some(row.id.clone()),
                resources: row.resources.clone(),
                dpop_jkt: row.dpop_jkt.clone(),
            },
        )?;
        // "Last seen" to the minute: a session refreshed more often is not rewritten each time
        // (a row version and a round trip per refresh on PostgreSQL).
        if now - session.last_seen_at >= LAST_SEEN_RESOLUTION_SECS {
            sessions::touch_session(c, &session.id, now)?;
        }
        Ok::<_, anyhow::Error>(Ok(Rotated {
            session,
            resources: crate::oauth::resource::from_stored(&row.resources),
            scope: row.scope,
            token: NewRefreshToken { token, row_id },
        }))
    })()?
}

/// Why a presented token could not be claimed, read under the session's lock: unknown, revoked,
/// expired, reused (its family is revoked here), a concurrent duplicate — or the one case that
/// goes on, a retry within the grace period, whose undelivered successor is revoked here: then
/// the token's row, to rotate again.
fn not_claimed(
    c: &mut DbConnection,
    presented: &Presented,
    seen: &RefreshTokenRow,
    client_id: &str,
    policy: &SessionSettings,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<Result<RefreshTokenRow, RefreshError>> {
    let Some(row) = sessions::find_refresh_token(c, &presented.hash)? else {
        return Ok(Err(RefreshError::Invalid("unknown refresh token")));
    };
    if row.revoked_at.is_some() {
        return Ok(Err(RefreshError::Invalid("the refresh token was revoked")));
    }
    if now >= row.expires_at || now >= row.idle_expires_at {
        return Ok(Err(RefreshError::Invalid("the refresh token has expired")));
    }
    if let Some(rotated_at) = row.rotated_at {
        let grace = policy.refresh_reuse_grace_secs;
        let undelivered = if grace > 0 && now - rotated_at <= grace {
            sessions::live_successor(c, &row.id)?
        } else {
            None
        };
        let duplicate = undelivered.as_ref().is_some_and(|s| {
            seen.rotated_at.is_none() || now - s.created_at < DUPLICATE_WINDOW_SECS
        });
        if duplicate {
            return Ok(Err(RefreshError::Invalid(
                "the refresh token was redeemed by a concurrent request",
            )));
        }
        match undelivered {
            Some(successor) if sessions::revoke_unused(c, &successor.id, now)? => {
                audit::record(
                    c,
                    Event {
                        kind: audit::REFRESH_RETRY,
                        success: true,
                        user_id: Some(&row.user_id),
                        client_id: Some(client_id),
                        meta: Some(meta),
                        detail: Some(json!({ "family": row.family_id })),
                    },
                    now,
                )?;
            }
            _ => {
                let revoked = sessions::revoke_family(c, &row.family_id, now)?;
                audit::record(
                    c,
                    Event {
                        kind: audit::REFRESH_REUSE,
                        success: false,
                        user_id: Some(&row.user_id),
                        client_id: Some(client_id),
                        meta: Some(meta),
                        detail: Some(json!({ "family": row.family_id, "revoked": revoked })),
                    },
                    now,
                )?;
                return Ok(Err(RefreshError::Reused));
            }
        }
    } else {
        // Live, yet the claim found nothing to update: it changed since (never, under the
        // session's lock) — refused like a revoked one, as before.
        return Ok(Err(RefreshError::Invalid("the refresh token was revoked")));
    }
    Ok(Ok(row))
}
