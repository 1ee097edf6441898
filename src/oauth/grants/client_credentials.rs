//! RFC 6749 §4.4: a confidential client gets a token for itself.
use super::super::token::{access_token, AccessTokenRequest, Issued, TokenContext};
use super::super::{resource, scope, Client, ErrorCode, OAuthError, Params};

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
