//! Tokens for a signed-in user, shared by the password, refresh and (later) code grants.
use super::super::token::{access_token, AccessTokenRequest, Issued, TokenContext};
use super::super::{Client, OAuthError};
use crate::identity::sessions::NewRefreshToken;
use crate::identity::users::User;
use crate::oidc::id_token::{self, IdTokenInput};

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
