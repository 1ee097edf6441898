//! RFC 6749 §6: refreshing. The token rotates; a reused one revokes its family.
use super::super::token::{Issued, TokenContext};
use super::super::{resource, scope, Client, ErrorCode, OAuthError, Params};
use super::password::token_event;
use super::user::{self, UserGrant};
use crate::identity::roles::Roles;
use crate::identity::sessions::{self, Presented, RefreshError, Rotated};
use crate::identity::users::User;
use crate::identity::{audit, RequestMeta};
use crate::store::{is_contention, write_transaction, DbConnection};

/// Rolls the transaction back (the presented token stays valid) and answers with the error.
struct Rollback(OAuthError);

impl From<diesel::result::Error> for Rollback {
    fn from(e: diesel::result::Error) -> Self {
        Rollback(database_error(e))
    }
}

fn invalid(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// A transaction PostgreSQL aborted for a concurrent one (which redeemed the token) lost the
/// race: `invalid_grant`, like every other loser, never a 500.
fn database_error(e: diesel::result::Error) -> OAuthError {
    if is_contention(&e) {
        tracing::info!("a concurrent refresh of the same token won");
        return invalid("the refresh token was redeemed by a concurrent request");
    }
    e.into()
}

fn internal(e: anyhow::Error) -> OAuthError {
    match e.downcast::<diesel::result::Error>() {
        Ok(db) => database_error(db),
        Err(other) => OAuthError::Internal(other),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn grant(
    conn: &mut DbConnection,
    ctx: &TokenContext,
    roles: &Roles,
    client: &Client,
    params: &Params,
    dpop_jkt: Option<&str>,
    meta: &RequestMeta,
    now: i64,
) -> Result<Issued, OAuthError> {
    let presented = params.require("refresh_token")?;
    // An empty `scope` counts as none (RFC 6749 §3.3 defines no empty scope; `scope::grant`
    // reads it the same way): the family's scopes, not a token with none.
    let requested = match params.get("scope").map(scope::parse).transpose()? {
        Some(parsed) if parsed.is_empty() => None,
        requested => requested,
    };
    // Syntax and the client's allowance first; against the family's resources below.
    resource::requested(params.all("resource"), client, ctx.shared_resources)?;
    // Read before the transaction: on SQLite it takes the write lock, behind which a concurrent
    // duplicate would only ever see the token already rotated.
    let presented = Presented::read(conn, presented).map_err(database_error)?;
    // RFC 9449 §5: a family bound to a DPoP key is refreshed only with a proof of that key.
    if let Some(bound) = presented.dpop_jkt() {
        if dpop_jkt != Some(bound) {
            return Err(invalid(
                "the refresh token is bound to a DPoP key: a proof of that key is required",
            ));
        }
    }
    // FAPI 2.0 §5.3.2.1: a fapi2 client's retry after a lost answer must succeed.
    let policy = super::super::profile::refresh_policy(client, ctx.sessions);
    // The common case on PostgreSQL, in one statement (`sessions::rotate_at_once`). What the
    // grant decides from the family (scopes, resources, user: a rotation changes none of them)
    // is decided first, from the token as read; a refusal then writes nothing, as the rollback
    // below leaves nothing. A token not live when read goes the transaction's way, where reuse
    // is told from a retry before anything else.
    if matches!(conn, DbConnection::Postgres(_)) {
        if let Some(seen) = presented.live_for(&client.id, now) {
            let family = Family {
                user_id: &seen.user_id,
                scope: &seen.scope,
                resources: &resource::from_stored(&seen.resources),
            };
            let decided = decide(
                ctx,
                roles,
                client,
                params,
                &presented,
                family,
                requested.clone(),
            )?;
            let event = token_event(
                &decided.user.id,
                &client.id,
                meta,
                "refresh_token",
                &decided.scopes,
            );
            let rotated =
                sessions::rotate_at_once(conn, &presented, &client.id, &policy, event, now)
                    .map_err(internal)?;
            if let Some(rotated) = rotated {
                return issue(ctx, client, decided, rotated, now);
            }
        }
    }
    let result = write_transaction(conn, |c| {
        let rotated = match sessions::rotate(c, &presented, &client.id, &policy, meta, now) {
            Ok(r) => r,
            // Reuse already revoked the family: that must be committed, so not a rollback.
            Err(RefreshError::Reused) => {
                return Ok(Err(invalid("the refresh token was already used")))
            }
            Err(RefreshError::Invalid(why)) => return Ok(Err(invalid(why))),
            Err(RefreshError::Internal(e)) => return Err(Rollback(internal(e))),
        };
        let family = Family {
            user_id: &rotated.session.user_id,
            scope: &rotated.scope,
            resources: &rotated.resources,
        };
        let decided =
            decide(ctx, roles, client, params, &presented, family, requested).map_err(Rollback)?;
        audit::record(
            c,
            token_event(
                &decided.user.id,
                &client.id,
                meta,
                "refresh_token",
                &decided.scopes,
            ),
            now,
        )?;
        issue(ctx, client, decided, rotated, now)
            .map(Ok)
            .map_err(Rollback)
    });
    match result {
        Ok(outcome) => outcome,
        Err(Rollback(e)) => Err(e),
    }
}

/// What a family holds that the grant decides by.
struct Family<'a> {
    user_id: &'a str,
    scope: &'a str,
    resources: &'a [String],
}

/// What a refresh issues: for whom, which scopes, which audiences.
struct Decided {
    user: User,
    scopes: Vec<String>,
    audiences: Vec<String>,
}

/// Decides the refresh's user, scopes and audiences from its family and the request.
fn decide(
    ctx: &TokenContext,
    roles: &Roles,
    client: &Client,
    params: &Params,
    presented: &Presented,
    family: Family<'_>,
    requested: Option<Vec<String>>,
) -> Result<Decided, OAuthError> {
    // Read with the token, before the transaction: a disable that committed before the
    // session's lock was taken ended the session, which the rotation then refused.
    let user = match presented.user() {
        Some(row) if !row.disabled && row.id == family.user_id => User::from(row),
        _ => return Err(invalid("the account is disabled")),
    };
    let original: Vec<String> = family
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let mut scopes = match requested {
        Some(req) => {
            if let Some(extra) = req.iter().find(|s| !original.contains(s)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("scope {extra} was not granted originally"),
                ));
            }
            req
        }
        None => original,
    };
    // RFC 8707: narrower than the family's resources, never wider.
    let audiences = resource::audiences(
        params.all("resource"),
        family.resources,
        client,
        ctx.shared_resources,
        ctx.default_audience,
    )?;
    // Permissions are re-read: a role change takes effect at the next refresh.
    scopes.retain(|s| roles.may_grant(&user.role, s));
    Ok(Decided {
        user,
        scopes,
        audiences,
    })
}

fn issue(
    ctx: &TokenContext,
    client: &Client,
    decided: Decided,
    rotated: Rotated,
    now: i64,
) -> Result<Issued, OAuthError> {
    user::issue(
        ctx,
        UserGrant {
            client,
            user: &decided.user,
            session_id: &rotated.session.id,
            auth_time: rotated.session.auth_time,
            scopes: decided.scopes,
            audiences: decided.audiences,
            refresh_token: Some(rotated.token),
            nonce: None,
            amr: &rotated.session.amr,
        },
        now,
    )
}
