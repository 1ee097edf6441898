//! Browser sign-in (SSO): a session row of `sessions` with an opaque cookie, stored as its
//! SHA-256. It ends after `sessions.browser_idle_secs` without use, `browser_lifetime_secs`
//! after it started, at logout, or like any session (password change, eviction).
use serde_json::json;

use super::audit::{self, Event};
use super::users::User;
use super::{sessions, RequestMeta};
use crate::config::SessionSettings;
use crate::store::sessions::{self as store, SessionRow};
use crate::store::{users, write_transaction, DbConnection};
use crate::tokens::secret;

/// Browser activity is written at most this often (it only moves the idle deadline).
const TOUCH_EVERY_SECS: i64 = 60;

/// A signed-in browser: its session and user.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    pub session: SessionRow,
    pub user: User,
}

/// The browser's live sign-in for `cookie`, if any; records the activity.
pub fn current(
    conn: &mut DbConnection,
    cookie: &str,
    policy: &SessionSettings,
    now: i64,
) -> anyhow::Result<Option<SignedIn>> {
    let Some(session) = store::find_by_cookie(conn, &secret::hash_secret(cookie))? else {
        return Ok(None);
    };
    let seen = session.cookie_seen_at.unwrap_or(session.created_at);
    let live = session.ended_at.is_none()
        && now < session.expires_at
        && now < session.created_at + policy.browser_lifetime_secs
        && now < seen + policy.browser_idle_secs;
    if !live {
        return Ok(None);
    }
    let user = match users::find(conn, &session.user_id)? {
        Some(row) if !row.disabled => User::from(&row),
        _ => return Ok(None),
    };
    if now - seen >= TOUCH_EVERY_SECS {
        store::touch_cookie(conn, &session.id, now)?;
    }
    Ok(Some(SignedIn { session, user }))
}

/// Who just authenticated, how, and for which client.
pub struct Authenticated<'a> {
    pub user: &'a User,
    /// OIDC `amr` value: `pwd`, or a federation method.
    pub amr: &'a str,
    /// The client the sign-in was for (the session is listed under it).
    pub client_id: &'a str,
}

/// Signs `user` in on this browser after a successful authentication (`amr`: how). The same
/// user's live session is re-authenticated in place (its apps keep their tokens); anyone
/// else's is ended. Either way the cookie is new (no session fixation). Returns the session
/// and the cookie value to set.
pub fn sign_in(
    conn: &mut DbConnection,
    auth: Authenticated,
    previous: Option<&SessionRow>,
    meta: &RequestMeta,
    policy: &SessionSettings,
    now: i64,
) -> anyhow::Result<(SessionRow, String)> {
    let Authenticated {
        user,
        amr,
        client_id,
    } = auth;
    let cookie = secret::new_secret()?;
    let hash = secret::hash_secret(&cookie);
    write_transaction(conn, |c| {
        let mut session = match previous {
            Some(prev) if prev.user_id == user.id && prev.ended_at.is_none() => {
                store::set_auth_time(c, &prev.id, now)?;
                SessionRow {
                    auth_time: now,
                    ..prev.clone()
                }
            }
            other => {
                if let Some(prev) = other {
                    end(c, prev, meta, "signed_in_as_another_user", now)?;
                }
                sessions::start(c, &user.id, client_id, amr, meta, policy, now)?
            }
        };
        store::attach_cookie(c, &session.id, &hash, amr, now)?;
        session.cookie_hash = Some(hash.clone());
        session.cookie_seen_at = Some(now);
        session.amr = amr.to_string();
        Ok::<_, anyhow::Error>((session, cookie))
    })
}

/// Ends a browser sign-in (and, like any session end, the refresh tokens issued in it).
pub fn end(
    conn: &mut DbConnection,
    session: &SessionRow,
    meta: &RequestMeta,
    reason: &str,
    now: i64,
) -> anyhow::Result<()> {
    if store::end_session(conn, &session.id, now)? {
        audit::record(
            conn,
            Event {
                kind: audit::LOGOUT,
                success: true,
                user_id: Some(&session.user_id),
                client_id: Some(&session.client_id),
                meta: Some(meta),
                detail: Some(json!({ "session": session.id, "reason": reason })),
            },
            now,
        )?;
    }
    Ok(())
}
