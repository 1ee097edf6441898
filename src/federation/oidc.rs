//! Upstream OpenID providers (Google, and `federation.oidc.<name>`): discovery, the code flow
//! with PKCE S256, state and nonce, ID token validation (signature by the upstream JWKS, `iss`,
//! `aud`, `exp`, `nonce`), and `email`/`email_verified` from the ID token or userinfo.
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyAdditionalClaims, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};

use super::{FederationError, Provider, Start, UpstreamIdentity};

pub async fn discover(
    http: &reqwest::Client,
    provider: &Provider,
    issuer: &str,
) -> Result<CoreProviderMetadata, FederationError> {
    let issuer = IssuerUrl::new(issuer.to_string())
        .map_err(|e| FederationError::new(provider, "its issuer URL is invalid", e))?;
    let client = |req| super::http::send(http, req);
    CoreProviderMetadata::discover_async(issuer, &client)
        .await
        .map_err(|e| FederationError::new(provider, "it could not be reached", e))
}

fn client(
    provider: &Provider,
    meta: &CoreProviderMetadata,
    callback: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    FederationError,
> {
    let redirect = RedirectUrl::new(callback.to_string())
        .map_err(|e| FederationError::new(provider, "a bad callback URL", e))?;
    Ok(CoreClient::from_provider_metadata(
        meta.clone(),
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

pub fn authorize_url(
    provider: &Provider,
    meta: &CoreProviderMetadata,
    callback: &str,
    start: Start,
) -> Result<String, FederationError> {
    let client = client(provider, meta, callback)?;
    let Start {
        state,
        nonce,
        pkce_challenge,
    } = start;
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        .set_pkce_challenge(pkce_challenge);
    // `openid` is added by the crate.
    for scope in provider.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, _, _) = request.url();
    Ok(url.into())
}

/// The token response of an upstream OIDC code exchange.
pub type Tokens = openidconnect::core::CoreTokenResponse;

pub async fn exchange(
    http: &reqwest::Client,
    provider: &Provider,
    meta: &CoreProviderMetadata,
    callback: &str,
    code: &str,
    verifier: &str,
) -> Result<Tokens, FederationError> {
    client(provider, meta, callback)?
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| FederationError::new(provider, "it has no token endpoint", e))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&|req| super::http::send(http, req))
        .await
        .map_err(|e| FederationError::new(provider, "the code exchange failed", e))
}

/// Validates the ID token (against `meta`'s JWKS) and reads who signed in.
pub async fn identity(
    http: &reqwest::Client,
    provider: &Provider,
    meta: &CoreProviderMetadata,
    callback: &str,
    tokens: &Tokens,
    nonce: &str,
) -> Result<UpstreamIdentity, FederationError> {
    let client = client(provider, meta, callback)?;
    let id_token = tokens.id_token().ok_or_else(|| {
        FederationError::new(
            provider,
            "it sent no ID token",
            anyhow::anyhow!("no id_token in the token response"),
        )
    })?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_string()))
        .map_err(|e| FederationError {
            bad_id_token: true,
            ..FederationError::new(provider, "its ID token is not valid", e)
        })?;
    let mut email = claims.email().map(|e| e.to_string());
    let mut email_verified = claims.email_verified().unwrap_or(false);
    let mut name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string());
    if email.is_none() {
        // Some providers put the email only in userinfo.
        let request = client.user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        );
        if let Ok(request) = request {
            let info: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = request
                .request_async(&|req| super::http::send(http, req))
                .await
                .map_err(|e| FederationError::new(provider, "its userinfo failed", e))?;
            email = info.email().map(|e| e.to_string());
            email_verified = info.email_verified().unwrap_or(false);
            name = name.or_else(|| info.name().and_then(|n| n.get(None)).map(|n| n.to_string()));
        }
    }
    Ok(UpstreamIdentity {
        provider: provider.name.clone(),
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email,
        email_verified,
        name,
    })
}
