//! RFC 7662 token introspection and RFC 7009 revocation: our access tokens, refresh tokens and
//! API keys. The `token_type_hint` decides which kind is tried first, never which is believed.
//! A client learns about a token only if it was issued to it or it may introspect (a resource
//! server); everything else is exactly `{"active": false}`.
use serde_json::{json, Value};

use super::client_auth::{self, VerifiedAssertion};
use super::liveness;
use super::{Client, ErrorCode, OAuthError, Params};
use crate::identity::api_keys;
use crate::identity::audit::{self, Event};
use crate::identity::roles::Roles;
use crate::identity::RequestMeta;
use crate::store::liveness::TokenRows;
use crate::store::{api_keys as key_store, sessions, write_transaction, DbConnection};
use crate::tokens::{self, secret, AccessTokenClaims, KeySet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Access,
    Refresh,
    ApiKey,
}

/// The kinds to try, hinted one first; without a usable hint, by the token's shape.
fn order(token: &str, hint: Option<&str>) -> [Kind; 3] {
    let first = match hint {
        Some("access_token") => Kind::Access,
        Some("refresh_token") => Kind::Refresh,
        Some("api_key") => Kind::ApiKey,
        _ if token.starts_with("pc_") => Kind::ApiKey,
        _ if token.matches('.').count() == 2 => Kind::Access,
        _ => Kind::Refresh,
    };
    let mut all = vec![first];
    all.extend(
        [Kind::Access, Kind::Refresh, Kind::ApiKey]
            .into_iter()
            .filter(|k| *k != first),
    );
    [all[0], all[1], all[2]]
}

fn inactive() -> Value {
    json!({ "active": false })
}

/// A token we recognise: the answer if it is live, and the client it was issued to.
struct Found {
    active: Option<Value>,
    issued_to: Option<String>,
    revoke: Revocable,
}

enum Revocable {
    Family(String),
    Jti { jti: String, exp: i64 },
    ApiKey(String),
}

/// What recognising our tokens needs: the published keys, the roles (API-key scopes) and the
/// issuer.
pub struct Recognise<'a> {
    pub keys: &'a KeySet,
    pub roles: &'a Roles,
    pub issuer: &'a str,
    /// Clients held in memory (the caller's authentication reads through it).
    pub clients: &'a super::client_cache::ClientCache,
}

/// Finds and authenticates the calling client (through the client cache).
fn authenticate(
    conn: &mut DbConnection,
    r: &Recognise,
    creds: &client_auth::Credentials,
) -> Result<Client, OAuthError> {
    super::client_cache::authenticate(conn, r.clients, creds)
}

/// One of our access tokens, by its signature, `typ` and issuer: its claims, and whether it is
/// current (neither `nbf` nor `iat` in the future; recognised but never active otherwise).
fn parse_access(r: &Recognise, token: &str, now: i64) -> Option<(AccessTokenClaims, bool)> {
    let (header, payload) = tokens::verify_signature(r.keys, token).ok()?;
    if header.get("typ").and_then(Value::as_str) != Some(tokens::ACCESS_TOKEN_TYP) {
        return None;
    }
    let current = tokens::check_not_before(&payload, now).is_ok();
    let claims = serde_json::from_value::<AccessTokenClaims>(payload).ok()?;
    (claims.iss == r.issuer).then_some((claims, current))
}

/// RFC 7662 §2.2: the answer for a live access token.
fn access_answer(r: &Recognise, claims: &AccessTokenClaims, live: liveness::Live) -> Value {
    let mut answer = json!({
        "active": true,
        "token_type": if claims.cnf.is_some() { "DPoP" } else { "Bearer" },
        "scope": claims.scope,
        "client_id": claims.client_id,
        "sub": claims.sub,
        "exp": claims.exp,
        "iat": claims.iat,
        "aud": claims.aud,
        "iss": r.issuer,
        "jti": claims.jti,
    });
    if let Some(u) = live.user {
        answer["username"] = json!(u.email);
    }
    // RFC 9449 §6.2: the key a DPoP-bound token is bound to.
    if let Some(cnf) = &claims.cnf {
        answer["cnf"] = json!(cnf);
    }
    answer
}

fn find(
    conn: &mut DbConnection,
    r: &Recognise,
    token: &str,
    kind: Kind,
    now: i64,
) -> anyhow::Result<Option<Found>> {
    match kind {
        Kind::Access => {
            let Some((claims, current)) = parse_access(r, token, now) else {
                return Ok(None);
            };
            let live = if current {
                liveness::access_token(conn, &claims, now)?
            } else {
                Err(liveness::Dead::NotYetValid)
            };
            Ok(Some(Found {
                active: live.ok().map(|live| access_answer(r, &claims, live)),
                issued_to: Some(claims.client_id.clone()),
                revoke: Revocable::Jti {
                    jti: claims.jti,
                    exp: claims.exp,
                },
            }))
        }
        Kind::Refresh => {
            let Some(row) = sessions::find_refresh_token(conn, &secret::hash_secret(token))? else {
                return Ok(None);
            };
            let active = match liveness::refresh_token(conn, &row, now)? {
                Some(u) => Some(json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "scope": row.scope,
                    "client_id": row.client_id,
                    "sub": row.user_id,
                    "username": u.email,
                    "exp": row.idle_expires_at.min(row.expires_at),
                    "iat": row.created_at,
                    "iss": r.issuer,
                })),
                _ => None,
            };
            Ok(Some(Found {
                active,
                issued_to: Some(row.client_id),
                revoke: Revocable::Family(row.family_id),
            }))
        }
        Kind::ApiKey => {
            let Some((prefix, secret_part)) = api_keys::parse(token) else {
                return Ok(None);
            };
            let Some(key) = key_store::find_by_prefix(conn, prefix)? else {
                return Ok(None);
            };
            if !secret::verify_secret(secret_part, &key.secret_hash) {
                return Ok(None);
            }
            let active = api_keys::check(conn, r.roles, token, now)?.map(|(key, owner, scopes)| {
                json!({
                    "active": true,
                    "token_type": "api_key",
                    "scope": scopes.join(" "),
                    "sub": owner.id,
                    "username": owner.email,
                    "exp": key.expires_at.into_iter().chain(key.retire_at).min(),
                    "iat": key.created_at,
                    "iss": r.issuer,
                })
            });
            Ok(Some(Found {
                active,
                issued_to: key.created_by_client,
                revoke: Revocable::ApiKey(key.id),
            }))
        }
    }
}

fn find_any(
    conn: &mut DbConnection,
    r: &Recognise,
    params: &Params,
    now: i64,
) -> Result<Option<Found>, OAuthError> {
    let token = params.require("token")?;
    for kind in order(token, params.get("token_type_hint")) {
        if let Some(found) = find(conn, r, token, kind, now)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn confidential(
    conn: &mut DbConnection,
    r: &Recognise,
    params: &Params,
    authorization: Option<&str>,
    assertion: Option<&VerifiedAssertion>,
) -> Result<Client, OAuthError> {
    let creds = client_auth::extract(authorization, assertion, params)?;
    let client = authenticate(conn, r, &creds)?;
    if client.public {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "introspection needs a confidential client",
        ));
    }
    Ok(client)
}

/// `POST /introspect`.
pub fn introspect(
    conn: &mut DbConnection,
    r: &Recognise,
    params: &Params,
    authorization: Option<&str>,
    assertion: Option<&VerifiedAssertion>,
    now: i64,
) -> Result<Value, OAuthError> {
    let client = confidential(conn, r, params, authorization, assertion)?;
    let Some(found) = find_any(conn, r, params, now)? else {
        return Ok(inactive());
    };
    let allowed = client.can_introspect || found.issued_to.as_deref() == Some(client.id.as_str());
    Ok(match (allowed, found.active) {
        (true, Some(answer)) => answer,
        _ => inactive(),
    })
}

/// An introspection that needs no database job: a client's own access token (no session, no
/// user: `client_credentials`) asked about by a client authenticated from the cache with its
/// secret. All it still needs is the token's liveness rows, which the caller reads in a batch
/// with other requests' (`liveness_batch`) and hands to [`Quick::answer`]. `None` when the
/// request does not qualify: [`introspect`] decides it, with everything it checks.
pub struct Quick {
    client: Client,
    claims: AccessTokenClaims,
}

impl Quick {
    pub fn new(
        r: &Recognise,
        params: &Params,
        authorization: Option<&str>,
        now: i64,
    ) -> Option<Quick> {
        if client_auth::has_assertion(params) {
            return None;
        }
        let creds = client_auth::extract(authorization, None, params).ok()?;
        let client = super::client_cache::authenticate_held(r.clients, &creds)?;
        let token = params.get("token")?;
        if client.public || order(token, params.get("token_type_hint"))[0] != Kind::Access {
            return None;
        }
        let (claims, current) = parse_access(r, token, now)?;
        (current && !liveness::is_user_token(&claims)).then_some(Quick { client, claims })
    }

    /// The token's `jti` and client: what to look up.
    pub fn key(&self) -> (String, String) {
        (self.claims.jti.clone(), self.claims.client_id.clone())
    }

    /// The answer, given the token's rows (read after the request arrived, like
    /// [`introspect`]'s).
    pub fn answer(&self, r: &Recognise, rows: &TokenRows, now: i64) -> Value {
        let allowed = self.client.can_introspect || self.claims.client_id == self.client.id;
        match liveness::client_token(&self.claims, rows, now) {
            Ok(live) if allowed => access_answer(r, &self.claims, live),
            _ => inactive(),
        }
    }
}

/// `POST /revoke`: unknown or already revoked tokens are fine (200); another client's token is
/// refused.
pub fn revoke(
    conn: &mut DbConnection,
    r: &Recognise,
    params: &Params,
    authorization: Option<&str>,
    assertion: Option<&VerifiedAssertion>,
    meta: &RequestMeta,
    now: i64,
) -> Result<(), OAuthError> {
    let creds = client_auth::extract(authorization, assertion, params)?;
    let client = authenticate(conn, r, &creds)?;
    let Some(found) = find_any(conn, r, params, now)? else {
        return Ok(());
    };
    if found.issued_to.as_deref() != Some(client.id.as_str()) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        ));
    }
    write_transaction(conn, |c| {
        let what = match &found.revoke {
            Revocable::Family(family) => {
                sessions::revoke_family(c, family, now)?;
                "refresh_token"
            }
            Revocable::Jti { jti, exp } => {
                if *exp > now {
                    key_store::revoke_jti(c, jti, *exp, now)?;
                }
                "access_token"
            }
            Revocable::ApiKey(id) => {
                key_store::revoke(c, id, now)?;
                "api_key"
            }
        };
        audit::record(
            c,
            Event {
                kind: audit::TOKEN_REVOKED,
                success: true,
                client_id: Some(&client.id),
                meta: Some(meta),
                detail: Some(json!({ "token_type": what })),
                ..Event::default()
            },
            now,
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_first_then_the_rest() {
        assert_eq!(
            order("a.b.c", None),
            [Kind::Access, Kind::Refresh, Kind::ApiKey]
        );
        assert_eq!(
            order("a.b.c", Some("refresh_token")),
            [Kind::Refresh, Kind::Access, Kind::ApiKey]
        );
        assert_eq!(order("pc_abcdefgh_x", None)[0], Kind::ApiKey);
        assert_eq!(order("opaque", Some("bogus"))[0], Kind::Refresh);
    }
}
