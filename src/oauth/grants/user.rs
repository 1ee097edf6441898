//! Tokens for a signed-in user, shared by the password, refresh, code and device grants.
use super::super::token::{access_token, AccessTokenRequest, Issued, TokenContext};
use super::super::{Client, GrantType, OAuthError};
use super::password::token_event;
use crate::identity::audit;
use crate::identity::sessions::{self, NewRefreshToken};
use crate::identity::users::User;
use crate::identity::RequestMeta;
use crate::oidc::id_token::{self, IdTokenInput};
use crate::store::sessions::SessionRow;
use crate::store::DbConnection;

pub struct UserGrant<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub session_id: &'a str,
    pub auth_time: i64,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    /// The refresh token issued with these tokens; its row id becomes the access token's `jti`.
    pub refresh_token: Option<NewRefreshToken>,
    pub nonce: Option<&'a str>,
    /// How the session's user authenticated (OIDC `amr`): `pwd`, `fed`.
    pub amr: &'a str,
}

pub fn issue(ctx: &TokenContext, g: UserGrant, now: i64) -> Result<Issued, OAuthError> {
    let openid = g.scopes.iter().any(|s| s == "openid");
    let id_token = openid.then(|| {
        id_token::claims(
            IdTokenInput {
                issuer: ctx.issuer,
                client_id: &g.client.id,
                user: g.user,
                auth_time: g.auth_time,
                sid: Some(g.session_id),
                amr: g.amr,
                nonce: g.nonce,
                scopes: &g.scopes,
                ttl: ctx.access_token_ttl_secs,
            },
            now,
        )
    });
    let mut issued = access_token(
        ctx,
        g.client,
        AccessTokenRequest {
            subject: &g.user.id,
            audiences: with_userinfo(ctx.issuer, g.audiences, openid),
            scopes: g.scopes,
            auth_time: Some(g.auth_time),
            roles: Some(vec![g.user.role.clone()]),
            sid: Some(g.session_id.to_string()),
            jti: g.refresh_token.as_ref().map(|r| r.row_id.clone()),
        },
        now,
    )?;
    issued.refresh_token = g.refresh_token.map(|r| r.token);
    issued.id_token = id_token;
    Ok(issued)
}

/// What a browser flow's grant (authorization code, device code) issues for once the user's
/// approval is claimed: the approving browser session, its user, what was granted.
pub struct SessionGrant<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub session: &'a SessionRow,
    pub auth_time: i64,
    /// Space-separated, as stored with the approval.
    pub scope: &'a str,
    pub audiences: Vec<String>,
    /// RFC 8707 resources bound to the grant (from `/authorize`), kept with the refresh-token
    /// family so a refresh can't widen them.
    pub resources: &'a [String],
    pub nonce: Option<&'a str>,
    /// The grant's name in the audit event (`authorization_code`, `device_code`).
    pub grant: &'a str,
    pub meta: &'a RequestMeta,
}

/// Issues a browser flow's tokens in the caller's transaction: a refresh token in a new family
/// of the session when the client may refresh, the `token_issued` audit event, and the access
/// (and, with `openid`, ID) token claims.
pub fn issue_for_session(
    c: &mut DbConnection,
    ctx: &TokenContext,
    g: SessionGrant,
    now: i64,
) -> anyhow::Result<Issued> {
    let scopes: Vec<String> = g
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let refresh = if g.client.allows_grant(GrantType::RefreshToken) {
        // The refresh token belongs to the client it is issued to, which need not be the one
        // the browser session was started for (a second app signed in through the same
        // browser, a device approved from a browser signed in to the portal).
        let mut session = g.session.clone();
        session.client_id = g.client.id.clone();
        Some(sessions::issue_refresh_token(
            c,
            &session,
            g.scope,
            g.resources,
            ctx.sessions,
            now,
        )?)
    } else {
        None
    };
    // Back-channel logout reaches every client that got tokens in the session.
    crate::store::logout_deliveries::record_session_client(c, &g.session.id, &g.client.id, now)?;
    audit::record(
        c,
        token_event(&g.user.id, &g.client.id, g.meta, g.grant, &scopes),
        now,
    )?;
    issue(
        ctx,
        UserGrant {
            client: g.client,
            user: g.user,
            session_id: &g.session.id,
            auth_time: g.auth_time,
            scopes,
            audiences: g.audiences,
            refresh_token: refresh,
            nonce: g.nonce,
            amr: &g.session.amr,
        },
        now,
    )
    .map_err(|e| anyhow::anyhow!("issuing tokens for a {} failed: {e}", g.grant))
}

/// With `openid` granted, the access token must also work at `/userinfo`: when its audiences
/// (an API named by `resource` or the client's `--audience`) don't include this server, the
/// userinfo audience is added beside them, as Auth0 does. Resource servers check that `aud`
/// contains their own identifier, so the extra value doesn't weaken them.
fn with_userinfo(issuer: &str, mut audiences: Vec<String>, openid: bool) -> Vec<String> {
    if openid
        && !audiences
            .iter()
            .any(|a| crate::oidc::userinfo::accepts_audience(issuer, a))
    {
        audiences.push(crate::oidc::userinfo::audience(issuer));
    }
    audiences
}

/// The scopes a user grant may give: requested (absent: all the client's), each allowed for
/// the client (else `invalid_scope`), then narrowed to what the user's role may have.
pub fn scopes(
    requested: Option<&str>,
    client: &Client,
    may_grant: impl Fn(&str) -> bool,
) -> Result<Vec<String>, OAuthError> {
    let mut scopes = super::super::scope::grant(requested, &client.scopes)?;
    scopes.retain(|s| may_grant(s));
    Ok(scopes)
}
