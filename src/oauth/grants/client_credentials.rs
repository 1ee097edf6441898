//! RFC 6749 §4.4: a confidential client gets a token for itself.
use super::super::token::{issue_access_token, AccessTokenRequest, TokenContext, TokenResponse};
use super::super::{resource, scope, Client, ErrorCode, OAuthError, Params};

pub fn grant(
    ctx: &TokenContext,
    client: &Client,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    if client.public {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "a public client cannot use client_credentials",
        ));
    }
    let scopes = scope::grant(params.get("scope"), &client.scopes)?;
    let audiences = resource::audiences(params.all("resource"), client, ctx.default_audience)?;
    let access = issue_access_token(
        ctx,
        client,
        AccessTokenRequest {
            subject: &client.id,
            audiences,
            scopes: &scopes,
            auth_time: None,
            roles: None,
        },
        now,
    )?;
    Ok(TokenResponse::bearer(access, scopes))
}
