//! The HTTP client for upstream calls, as the `oauth2`/`openidconnect` crates use it: no
//! redirects and timeouts (set on the `reqwest::Client`), and a cap on response size so a
//! hostile or broken provider can't exhaust memory.
use oauth2::{HttpRequest, HttpResponse};

/// Upstream responses larger than this are refused.
pub const MAX_BODY: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamHttpError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("the upstream response exceeds {MAX_BODY} bytes")]
    TooLarge,
    #[error("building the response: {0}")]
    Build(#[from] oauth2::http::Error),
}

/// Sends `request` and reads at most `MAX_BODY` bytes of the answer.
pub async fn send(
    http: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, UpstreamHttpError> {
    let (parts, body) = request.into_parts();
    let resp = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = read(resp).await?;
    let mut out = oauth2::http::Response::builder().status(status);
    if let Some(h) = out.headers_mut() {
        *h = headers;
    }
    Ok(out.body(body)?)
}

/// The body of `resp`, refusing more than `MAX_BODY` bytes.
pub async fn read(mut resp: reqwest::Response) -> Result<Vec<u8>, UpstreamHttpError> {
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(UpstreamHttpError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(UpstreamHttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
