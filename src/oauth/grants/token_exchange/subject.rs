//! The tokens an exchange starts from: the subject token (one of our access tokens, a user's,
//! or an ID token we signed for this client) and the actor token, each checked live.
use super::invalid_grant;
use crate::oauth::{liveness, Client, OAuthError};
use crate::store::users::UserRow;
use crate::store::DbConnection;
use crate::tokens::{self, AccessTokenClaims, Actor, KeySet};

/// Who the token is for, as the subject token says.
#[derive(Debug, Clone)]
pub struct Subject {
    pub sub: String,
    pub scopes: Vec<String>,
    pub exp: i64,
    pub auth_time: Option<i64>,
    pub sid: Option<String>,
    pub act: Option<Actor>,
}

fn split_scope(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// One of our access tokens, whatever its audience, live by the one rule.
fn live_access_token(
    conn: &mut DbConnection,
    keys: &KeySet,
    issuer: &str,
    token: &str,
    what: &str,
    now: i64,
) -> Result<(AccessTokenClaims, liveness::Live), OAuthError> {
    let claims = tokens::verify_access_token(keys, token, issuer, |_| true, now)
        .map_err(|e| invalid_grant(format!("the {what} is invalid: {e}")))?;
    match liveness::access_token(conn, &claims, now)? {
        Ok(live) => Ok((claims, live)),
        Err(dead) => Err(invalid_grant(format!("the {what} is not live: {dead}"))),
    }
}

pub(super) fn subject_access_token(
    conn: &mut DbConnection,
    keys: &KeySet,
    issuer: &str,
    token: &str,
    now: i64,
) -> Result<(Subject, UserRow), OAuthError> {
    let (claims, live) = live_access_token(conn, keys, issuer, token, "subject_token", now)?;
    let Some(user) = live.user else {
        return Err(invalid_grant(
            "the subject_token is a client's own token; only a user's token can be exchanged",
        ));
    };
    let subject = Subject {
        scopes: split_scope(claims.scope.as_deref()),
        sub: claims.sub,
        exp: claims.exp,
        auth_time: claims.auth_time,
        sid: claims.sid,
        act: claims.act,
    };
    Ok((subject, user))
}

/// An ID token we signed (`typ: JWT`, our issuer) for `client_id`, live by the ID-token rule.
pub(super) fn subject_id_token(
    conn: &mut DbConnection,
    keys: &KeySet,
    issuer: &str,
    client_id: &str,
    token: &str,
    now: i64,
) -> Result<(Subject, UserRow), OAuthError> {
    let invalid = |why: &str| invalid_grant(format!("the subject_token is invalid: {why}"));
    let (header, payload) =
        tokens::verify_signature(keys, token).map_err(|_| invalid("its signature is invalid"))?;
    // Access tokens are signed by the same keys, as `at+jwt`; an ID token is `JWT`.
    if header.get("typ").and_then(|t| t.as_str()) != Some("JWT") {
        return Err(invalid("it is not an ID token"));
    }
    tokens::check_not_before(&payload, now).map_err(|e| invalid(e.0))?;
    let claims: crate::oidc::id_token::IdTokenClaims =
        serde_json::from_value(payload).map_err(|_| invalid("its claims are malformed"))?;
    if claims.iss != issuer {
        return Err(invalid("it is from another issuer"));
    }
    // An ID token is an assertion for its audience only (OIDC Core §3.1.3.7): a client
    // exchanges the ones it received itself, never one another client showed it.
    if claims.aud != client_id {
        return Err(invalid("it was issued to another client"));
    }
    let user = match liveness::id_token(conn, &claims.sub, claims.sid.as_deref(), claims.exp, now)?
    {
        Ok(live) => live.user,
        Err(dead) => {
            return Err(invalid_grant(format!(
                "the subject_token is not live: {dead}"
            )))
        }
    };
    let user = user.ok_or_else(|| invalid("it names no user"))?;
    let subject = Subject {
        sub: claims.sub,
        scopes: Vec::new(),
        exp: claims.exp,
        auth_time: Some(claims.auth_time),
        sid: claims.sid,
        act: None,
    };
    Ok((subject, user))
}

/// The actor token: a live access token issued to this client; the actor is its subject.
pub(super) fn actor_token(
    conn: &mut DbConnection,
    keys: &KeySet,
    issuer: &str,
    client: &Client,
    token: &str,
    now: i64,
) -> Result<(Actor, i64), OAuthError> {
    let (claims, _) = live_access_token(conn, keys, issuer, token, "actor_token", now)?;
    if claims.client_id != client.id {
        return Err(invalid_grant(
            "the actor_token was issued to another client",
        ));
    }
    let actor = Actor {
        sub: claims.sub,
        client_id: client.id.clone(),
        act: None,
    };
    Ok((actor, claims.exp))
}
