//! Calls to the issuer: no redirects, timeouts, bounded bodies.

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CACHE_CONTROL};
use reqwest::{redirect, Client, RequestBuilder, StatusCode};

use crate::error::Error;

/// Largest discovery document, JWKS or introspection answer read.
const MAX_BODY: usize = 512 * 1024;

pub(crate) fn client(timeout: Duration) -> Result<Client, Error> {
    Client::builder()
        .redirect(redirect::Policy::none())
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("portcullis-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

/// A successful (200) answer.
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) headers: HeaderMap,
}

/// Sends the request; anything but 200 with a body under the limit is an error.
pub(crate) async fn send(url: &str, request: RequestBuilder) -> Result<Fetched, Error> {
    let http = |e: reqwest::Error| Error::Http {
        url: url.to_owned(),
        message: e.without_url().to_string(),
    };
    let mut response = request
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(http)?;
    if response.status() != StatusCode::OK {
        return Err(Error::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        });
    }
    let too_big = || Error::InvalidDocument {
        url: url.to_owned(),
        message: format!("larger than {MAX_BODY} bytes"),
    };
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY as u64)
    {
        return Err(too_big());
    }
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, headers })
}

pub(crate) async fn get(client: &Client, url: &str) -> Result<Fetched, Error> {
    send(url, client.get(url)).await
}

/// `max-age` of a `Cache-Control` header (`no-cache`/`no-store` count as 0).
pub(crate) fn max_age(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(CACHE_CONTROL)?.to_str().ok()?;
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            return Some(0);
        }
        if name.eq_ignore_ascii_case("max-age") {
            max_age = arg.and_then(|a| a.parse().ok());
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CACHE_CONTROL, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn cache_control() {
        assert_eq!(max_age(&headers("public, max-age=300")), Some(300));
        assert_eq!(max_age(&headers("max-age=\"60\"")), Some(60));
        assert_eq!(max_age(&headers("no-store")), Some(0));
        assert_eq!(max_age(&headers("public")), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }
}
