//! RFC 6749 §4.4: a confidential client gets a token for itself.
use super::super::client_cache::ClientCache;
use super::super::token::{access_token, AccessTokenRequest, Issued, TokenContext};
use super::super::{client_auth, profile, resource, scope};
use super::super::{Client, ErrorCode, GrantType, OAuthError, Params};

pub fn grant(
    ctx: &TokenContext,
    client: &Client,
    params: &Params,
    now: i64,
) -> Result<Issued, OAuthError> {
    if client.public {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "a public client cannot use client_credentials",
        ));
    }
    let scopes = scope::grant(params.get("scope"), &client.scopes)?;
    let audiences = resource::audiences(
        params.all("resource"),
        &[],
        client,
        ctx.shared_resources,
        ctx.default_audience,
    )?;
    access_token(
        ctx,
        client,
        AccessTokenRequest {
            subject: &client.id,
            audiences,
            scopes,
            auth_time: None,
            roles: None,
            sid: None,
            jti: None,
        },
        now,
    )
}

/// The grant decided from the client cache alone, with no database work: `None` unless it
/// succeeds that way, and the caller then takes the database path, which reads the client and
/// answers every error as usual (so a stale copy can only ever be as good as the client was a
/// moment ago, never produce an error of its own). Only requests authenticated with the
/// client's secret (HTTP Basic or the body), without a DPoP proof, qualify.
pub fn from_cache(
    ctx: &TokenContext,
    cache: &ClientCache,
    params: &Params,
    authorization: Option<&str>,
    now: i64,
) -> Option<Issued> {
    if params.get("grant_type") != Some("client_credentials") || client_auth::has_assertion(params)
    {
        return None;
    }
    let creds = client_auth::extract(authorization, None, params).ok()?;
    let client = super::super::client_cache::authenticate_held(cache, &creds)?;
    if profile::requires_dpop(&client) || !client.allows_grant(GrantType::ClientCredentials) {
        return None;
    }
    grant(ctx, &client, params, now).ok()
}
