//! GitHub (OAuth 2.0, not OpenID): the code flow with `state` and PKCE through the `oauth2`
//! crate, then `GET /user` (the numeric id is the stable subject) and `GET /user/emails` (the
//! primary address, and whether GitHub verified it).
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;

use super::{FederationError, Provider, Start, UpstreamIdentity};

pub struct Urls<'a> {
    pub token_url: &'a str,
    pub api_url: &'a str,
    pub callback: &'a str,
}

fn bad_config(provider: &Provider, e: impl Into<anyhow::Error>) -> FederationError {
    FederationError::new(provider, "it is misconfigured", e)
}

pub fn authorize_url(
    provider: &Provider,
    authorize_url: &str,
    callback: &str,
    start: Start,
) -> Result<String, FederationError> {
    let client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(AuthUrl::new(authorize_url.to_string()).map_err(|e| bad_config(provider, e))?)
        .set_redirect_uri(
            RedirectUrl::new(callback.to_string()).map_err(|e| bad_config(provider, e))?,
        );
    let Start {
        state,
        pkce_challenge,
        ..
    } = start;
    let challenge: PkceCodeChallenge = pkce_challenge;
    let (url, _) = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(provider.scopes.iter().map(|s| Scope::new(s.clone())))
        .set_pkce_challenge(challenge)
        .url();
    Ok(url.into())
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    login: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

pub async fn finish(
    http: &reqwest::Client,
    provider: &Provider,
    urls: Urls<'_>,
    code: &str,
    verifier: &str,
) -> Result<UpstreamIdentity, FederationError> {
    let client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_client_secret(ClientSecret::new(provider.client_secret.clone()))
        .set_token_uri(
            TokenUrl::new(urls.token_url.to_string()).map_err(|e| bad_config(provider, e))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(urls.callback.to_string()).map_err(|e| bad_config(provider, e))?,
        );
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&|req| super::http::send(http, req))
        .await
        .map_err(|e| FederationError::new(provider, "the code exchange failed", e))?;
    let token = tokens.access_token().secret();
    let user: GithubUser =
        get_json(http, provider, &format!("{}/user", urls.api_url), token).await?;
    let emails: Vec<GithubEmail> = get_json(
        http,
        provider,
        &format!("{}/user/emails", urls.api_url),
        token,
    )
    .await?;
    let primary = emails.into_iter().find(|e| e.primary);
    Ok(UpstreamIdentity {
        provider: provider.name.clone(),
        issuer: urls.api_url.to_string(),
        subject: user.id.to_string(),
        email_verified: primary.as_ref().is_some_and(|e| e.verified),
        email: primary.map(|e| e.email),
        name: user
            .name
            .filter(|n| !n.trim().is_empty())
            .or(Some(user.login)),
    })
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    provider: &Provider,
    url: &str,
    token: &str,
) -> Result<T, FederationError> {
    let resp = http
        .get(url)
        .bearer_auth(token)
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .send()
        .await
        .map_err(|e| FederationError::new(provider, "its API could not be reached", e))?;
    if !resp.status().is_success() {
        let status = resp.status();
        return Err(FederationError::new(
            provider,
            "its API refused the request",
            anyhow::anyhow!("GET {url}: {status}"),
        ));
    }
    let body = super::http::read(resp)
        .await
        .map_err(|e| FederationError::new(provider, "its API answer could not be read", e))?;
    serde_json::from_slice(&body)
        .map_err(|e| FederationError::new(provider, "its API answered unexpectedly", e))
}
