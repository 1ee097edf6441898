//! The one rule for "is this token still live?" (DESIGN §9). Every place that accepts one of our
//! access tokens — the Bearer extractor behind `/userinfo` and the account API, `/introspect`,
//! `/revoke`, the subject and actor tokens of token exchange — asks `access_token`; refresh tokens and API keys have their own functions here, so
//! a resource server that relies on introspection sees exactly what `/userinfo` sees.
//!
//! An access token that passed its signature, `iss`, `aud` and `exp` checks is dead when:
//! - its `jti` was revoked (`/revoke`, a replayed authorization code);
//! - its client was deleted (the built-in `account` client is never stored, so never deleted);
//! - it belongs to a session (`sid`) that ended (logout, password change, eviction, operator) or
//!   expired, or that belongs to another user;
//! - its user is gone or disabled (a user token is one with a `sid`, or whose `sub` is not its
//!   client: client_credentials tokens have `sub` = `client_id` and no user);
//! - it was issued with a refresh token whose family was revoked (reuse detection, `/revoke` of
//!   the refresh token, a replayed code): such tokens carry the refresh row's id as their `jti`,
//!   see `sessions::issue_refresh_token`.
//!
//! An ID token presented to token exchange (`id_token`) follows the session and user parts of
//! the same rule.
//!
//! API keys follow `identity::api_keys::check`: live while not revoked, retired or expired and
//! their owner is enabled, with scopes narrowed to what the owner's role allows at the time of use.
use super::client::ACCOUNT_CLIENT_ID;
use crate::store::liveness as store_liveness;
use crate::store::sessions::{RefreshTokenRow, SessionRow};
use crate::store::users::UserRow;
use crate::store::{clients, sessions, users, DbConnection};
use crate::tokens::AccessTokenClaims;

/// Why a token that verifies is no longer accepted (safe to tell its holder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Dead {
    #[error("the token has expired")]
    Expired,
    #[error("the token was revoked")]
    Revoked,
    #[error("the token's client no longer exists")]
    ClientGone,
    #[error("the token's session has ended")]
    SessionEnded,
    #[error("the token's user is disabled or gone")]
    UserGone,
    #[error("the refresh token the token came with was revoked")]
    FamilyRevoked,
    /// `nbf` or `iat` in the future (see `tokens::check_not_before`).
    #[error("the token is not valid yet")]
    NotYetValid,
}

/// A live access token, with what the checks loaded (so callers need no second query).
#[derive(Debug, Clone)]
pub struct Live {
    pub session: Option<SessionRow>,
    pub user: Option<UserRow>,
}

/// Whether a token with these claims is a user's token (rather than a client's own).
pub fn is_user_token(claims: &AccessTokenClaims) -> bool {
    claims.sid.is_some() || claims.sub != claims.client_id
}

fn client_exists(conn: &mut DbConnection, client_id: &str) -> diesel::QueryResult<bool> {
    Ok(client_id == ACCOUNT_CLIENT_ID || clients::exists(conn, client_id)?)
}

/// The rule for access tokens. `claims` must already have passed signature and issuer checks.
pub fn access_token(
    conn: &mut DbConnection,
    claims: &AccessTokenClaims,
    now: i64,
) -> diesel::QueryResult<Result<Live, Dead>> {
    if now >= claims.exp {
        return Ok(Err(Dead::Expired));
    }
    // The revocation list, the client and the refresh token issued with it: one statement. The
    // reasons are still decided in the rule's order.
    let rows = store_liveness::token_rows(conn, &claims.jti, &claims.client_id)?;
    if !is_user_token(claims) {
        return Ok(client_token(claims, &rows, now));
    }
    if rows.jti_revoked {
        return Ok(Err(Dead::Revoked));
    }
    if !(claims.client_id == ACCOUNT_CLIENT_ID || rows.client_exists) {
        return Ok(Err(Dead::ClientGone));
    }
    let live = match session_and_user(
        conn,
        &claims.sub,
        claims.sid.as_deref(),
        is_user_token(claims),
        now,
    )? {
        Ok(live) => live,
        Err(dead) => return Ok(Err(dead)),
    };
    if rows.family_revoked {
        return Ok(Err(Dead::FamilyRevoked));
    }
    Ok(Ok(live))
}

/// The rule for a client's own token (not [`is_user_token`]: no `sid`, no user) once its rows
/// are read: there is no session or user to look up. `access_token` answers such tokens with it,
/// and so does `/introspect` when it read the rows in a batch (`liveness_batch`).
pub fn client_token(
    claims: &AccessTokenClaims,
    rows: &store_liveness::TokenRows,
    now: i64,
) -> Result<Live, Dead> {
    if now >= claims.exp {
        return Err(Dead::Expired);
    }
    if rows.jti_revoked {
        return Err(Dead::Revoked);
    }
    if !(claims.client_id == ACCOUNT_CLIENT_ID || rows.client_exists) {
        return Err(Dead::ClientGone);
    }
    if rows.family_revoked {
        return Err(Dead::FamilyRevoked);
    }
    Ok(Live {
        session: None,
        user: None,
    })
}

/// The part of the rule about the session (`sid`) and the user (`sub`, for a user token).
fn session_and_user(
    conn: &mut DbConnection,
    sub: &str,
    sid: Option<&str>,
    user_token: bool,
    now: i64,
) -> diesel::QueryResult<Result<Live, Dead>> {
    let session = match sid {
        None => None,
        Some(sid) => match sessions::find_session(conn, sid)? {
            Some(s) if s.ended_at.is_none() && s.expires_at > now && s.user_id == sub => Some(s),
            _ => return Ok(Err(Dead::SessionEnded)),
        },
    };
    let user = if user_token {
        match users::find(conn, sub)? {
            Some(u) if !u.disabled => Some(u),
            _ => return Ok(Err(Dead::UserGone)),
        }
    } else {
        None
    };
    Ok(Ok(Live { session, user }))
}

/// The rule for one of our ID tokens presented as a grant (RFC 8693 token exchange), once its
/// signature, `iss` and `aud` were checked: not expired, its session (`sid`, when it has one)
/// live and the user's, and its user enabled. ID tokens carry no `jti` we revoke, and their
/// client is the one presenting them, so those parts of the access-token rule don't apply.
pub fn id_token(
    conn: &mut DbConnection,
    sub: &str,
    sid: Option<&str>,
    exp: i64,
    now: i64,
) -> diesel::QueryResult<Result<Live, Dead>> {
    if now >= exp {
        return Ok(Err(Dead::Expired));
    }
    session_and_user(conn, sub, sid, true, now)
}

/// The rule for refresh tokens: not rotated, revoked or expired, its session live, its user
/// enabled and its client still there. Returns the user when live.
pub fn refresh_token(
    conn: &mut DbConnection,
    row: &RefreshTokenRow,
    now: i64,
) -> diesel::QueryResult<Option<UserRow>> {
    if row.rotated_at.is_some()
        || row.revoked_at.is_some()
        || now >= row.expires_at
        || now >= row.idle_expires_at
    {
        return Ok(None);
    }
    let session_live = sessions::find_session(conn, &row.session_id)?
        .is_some_and(|s| s.ended_at.is_none() && s.expires_at > now);
    if !session_live || !client_exists(conn, &row.client_id)? {
        return Ok(None);
    }
    Ok(users::find(conn, &row.user_id)?.filter(|u| !u.disabled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::Audience;

    fn claims(sub: &str, client: &str, sid: Option<&str>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://issuer".into(),
            sub: sub.into(),
            aud: Audience::One("https://issuer".into()),
            client_id: client.into(),
            scope: None,
            iat: 0,
            exp: 10,
            jti: "j".into(),
            auth_time: None,
            roles: None,
            sid: sid.map(String::from),
            act: None,
            cnf: None,
        }
    }

    #[test]
    fn user_tokens_are_those_with_a_session_or_another_subject() {
        assert!(!is_user_token(&claims("svc", "svc", None)));
        assert!(is_user_token(&claims("u1", "app", None)));
        assert!(is_user_token(&claims("u1", "app", Some("s1"))));
    }
}
