//! Sessions and refresh tokens. A login starts a session; refresh tokens belong to a session
//! and a family. Every refresh rotates the token; presenting a rotated one again revokes its
//! whole family, except a retry of the just-rotated token inside the grace window (see `rotate`).
//! All of it is decided by the database: a rotation holds its session's row lock and claims the
//! token with one conditional UPDATE, so two instances can never both redeem it.
use serde_json::json;

use super::audit::{self, Event};
use super::RequestMeta;
use crate::config::SessionSettings;
use crate::store::sessions::{self, RefreshTokenRow, SessionRow};
use crate::store::{write_transaction, DbConnection};
use crate::tokens::secret;

pub use super::rotation::{
    rotate, rotate_at_once, Presented, RefreshError, Rotated, DUPLICATE_WINDOW_SECS,
    LAST_SEEN_RESOLUTION_SECS,
};

/// Starts a session for a fresh login (`amr`: how the user authenticated), ending the oldest
/// ones beyond the per-user limit.
#[allow(clippy::too_many_arguments)]
pub fn start(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
    amr: &str,
    meta: &RequestMeta,
    policy: &SessionSettings,
    now: i64,
) -> anyhow::Result<SessionRow> {
    let row = SessionRow {
        id: secret::random_token(16)?,
        user_id: user_id.to_string(),
        client_id: client_id.to_string(),
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        expires_at: now + policy.refresh_token_ttl_secs,
        ip: meta.ip.clone(),
        user_agent: meta
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(512).collect()),
        ended_at: None,
        cookie_hash: None,
        cookie_seen_at: None,
        amr: amr.to_string(),
    };
    write_transaction(conn, |c| {
        let live = sessions::active_sessions(c, user_id, now)?;
        let excess = (live.len() as i64 + 1 - policy.max_per_user).max(0) as usize;
        for old in live.iter().take(excess) {
            sessions::end_session(c, &old.id, now)?;
            audit::record(
                c,
                Event {
                    kind: audit::SESSION_ENDED,
                    success: true,
                    user_id: Some(user_id),
                    client_id: Some(&old.client_id),
                    meta: Some(meta),
                    detail: Some(json!({ "session": old.id, "reason": "max_sessions" })),
                },
                now,
            )?;
        }
        sessions::insert_session(c, &row)
    })?;
    Ok(row)
}

/// A refresh token just stored: the token in clear (handed out once) and its row id, which
/// becomes the `jti` of the access token issued with it, so revoking the token's family also
/// revokes that access token (`oauth::liveness`).
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub token: String,
    pub row_id: String,
}

/// Issues a refresh token in a new family for `session`, bound to `resources` (RFC 8707: what
/// the authorization request was granted; empty when it named none).
pub fn issue_refresh_token(
    conn: &mut DbConnection,
    session: &SessionRow,
    scope: &str,
    resources: &[String],
    policy: &SessionSettings,
    now: i64,
) -> anyhow::Result<NewRefreshToken> {
    let token = secret::new_secret()?;
    let row_id = secret::random_token(16)?;
    sessions::insert_refresh_token(
        conn,
        &RefreshTokenRow {
            id: row_id.clone(),
            token_hash: secret::hash_secret(&token),
            family_id: secret::random_token(16)?,
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
            client_id: session.client_id.clone(),
            scope: scope.to_string(),
            created_at: now,
            expires_at: session.expires_at,
            idle_expires_at: (now + policy.refresh_token_idle_secs).min(session.expires_at),
            rotated_at: None,
            revoked_at: None,
            parent_id: None,
            resources: crate::oauth::resource::to_stored(resources),
            dpop_jkt: None,
        },
    )?;
    Ok(NewRefreshToken { token, row_id })
}

/// Ends one of `user_id`'s own live sessions (its refresh tokens die with it); audited.
/// `false` when there is no such live session of this user.
pub fn end_own(
    conn: &mut DbConnection,
    user_id: &str,
    session_id: &str,
    client_id: &str,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<bool> {
    write_transaction(conn, |c| {
        let owned = sessions::find_session(c, session_id)?
            .is_some_and(|s| s.user_id == user_id && s.ended_at.is_none());
        if owned && sessions::end_session(c, session_id, now)? {
            audit::record(
                c,
                ended(user_id, client_id, meta, json!({ "session": session_id })),
                now,
            )?;
            return Ok(true);
        }
        Ok(false)
    })
}

/// Ends every live session of `user_id` but `keep` (the one asking); audited; returns how many.
pub fn end_others(
    conn: &mut DbConnection,
    user_id: &str,
    keep: &str,
    client_id: &str,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<usize> {
    write_transaction(conn, |c| {
        let mut count = 0;
        for other in sessions::active_sessions(c, user_id, now)? {
            if other.id != keep && sessions::end_session(c, &other.id, now)? {
                count += 1;
            }
        }
        if count > 0 {
            let detail = json!({ "others": count, "kept": keep });
            audit::record(c, ended(user_id, client_id, meta, detail), now)?;
        }
        Ok(count)
    })
}

fn ended<'a>(
    user_id: &'a str,
    client_id: &'a str,
    meta: &'a RequestMeta,
    detail: serde_json::Value,
) -> Event<'a> {
    Event {
        kind: audit::SESSION_ENDED,
        success: true,
        user_id: Some(user_id),
        client_id: Some(client_id),
        meta: Some(meta),
        detail: Some(detail),
    }
}
