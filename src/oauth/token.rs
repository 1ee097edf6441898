//! The token endpoint's protocol: parameter checks, client authentication, grant dispatch, and
//! issuing access tokens.
use serde::Serialize;

use super::client_auth;
use super::grants;
use super::{Client, ClientStore, ErrorCode, GrantType, OAuthError, Params};
use crate::tokens::{self, secret, AccessTokenClaims, Audience, KeySet};

/// Parameters that may appear more than once in a token request.
pub const REPEATABLE: &[&str] = &["resource"];

/// What issuing tokens needs from the server's configuration.
pub struct TokenContext<'a> {
    pub issuer: &'a str,
    pub default_audience: &'a str,
    pub access_token_ttl_secs: i64,
    pub max_access_token_ttl_secs: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The outcome of a grant: everything decided and stored, nothing signed yet. Signing is pure
/// CPU work, so the caller can do it outside the database task.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access: AccessTokenClaims,
    pub expires_in: i64,
    pub scopes: Vec<String>,
}

impl Issued {
    /// Signs the tokens with the active key and builds the RFC 6749 §5.1 response.
    pub fn sign(self, keys: &KeySet) -> anyhow::Result<TokenResponse> {
        Ok(TokenResponse {
            access_token: tokens::sign(keys, tokens::ACCESS_TOKEN_TYP, &self.access)?,
            token_type: "Bearer",
            expires_in: self.expires_in,
            scope: join_scopes(&self.scopes),
        })
    }
}

pub struct AccessTokenRequest<'a> {
    pub subject: &'a str,
    pub audiences: Vec<String>,
    pub scopes: Vec<String>,
    pub auth_time: Option<i64>,
    pub roles: Option<Vec<String>>,
}

fn join_scopes(scopes: &[String]) -> Option<String> {
    (!scopes.is_empty()).then(|| scopes.join(" "))
}

/// Decides the claims of an RFC 9068 access token for `client`.
pub fn access_token(
    ctx: &TokenContext,
    client: &Client,
    req: AccessTokenRequest,
    now: i64,
) -> Result<Issued, OAuthError> {
    let ttl = client
        .access_token_ttl_secs
        .unwrap_or(ctx.access_token_ttl_secs)
        .min(ctx.max_access_token_ttl_secs);
    let access = AccessTokenClaims {
        iss: ctx.issuer.to_string(),
        sub: req.subject.to_string(),
        aud: Audience::from_vec(req.audiences),
        client_id: client.id.clone(),
        scope: join_scopes(&req.scopes),
        iat: now,
        exp: now + ttl,
        jti: secret::random_token(16)?,
        auth_time: req.auth_time,
        roles: req.roles,
    };
    Ok(Issued {
        access,
        expires_in: ttl,
        scopes: req.scopes,
    })
}

/// Handles a token request: `params` is the parsed body, `authorization` the raw header.
pub fn exchange(
    store: &mut impl ClientStore,
    ctx: &TokenContext,
    params: &Params,
    authorization: Option<&str>,
    now: i64,
) -> Result<Issued, OAuthError> {
    let grant_type = params.require("grant_type")?;
    let grant: GrantType = grant_type.parse().map_err(|_| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {grant_type:?} is not supported"),
        )
    })?;
    let creds = client_auth::extract(authorization, params)?;
    let client = client_auth::authenticate(store, &creds)?;
    if !client.allows_grant(grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("the client is not allowed the {grant} grant"),
        ));
    }
    match grant {
        GrantType::ClientCredentials => {
            grants::client_credentials::grant(ctx, &client, params, now)
        }
        GrantType::AuthorizationCode | GrantType::Password | GrantType::RefreshToken => {
            Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type {grant} is not supported by this server yet"),
            ))
        }
    }
}
