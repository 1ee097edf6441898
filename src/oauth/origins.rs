//! Which web origins may call a client's endpoints from a browser (CORS): the one rule, used by
//! `http/cors.rs` for `/token`, `/revoke` and `/userinfo`, and by the CLI to show a client.
//!
//! A client's allowed origins are the origins (RFC 6454 serialization, `scheme://host[:port]`)
//! of its registered redirect URIs, plus the origins an operator added (`--web-origin`).
use std::collections::BTreeSet;

use url::Url;

use super::client::Client;
use super::registration::is_loopback_host;
use crate::store::{clients, DbConnection};

/// The serialized origin of an http(s) URL; `None` for other schemes (opaque origins).
fn origin_of(url: &Url) -> Option<String> {
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Some(url.origin().ascii_serialization()),
        _ => None,
    }
}

/// Validates and normalises an origin an operator gives (`--web-origin`): scheme, host and an
/// optional port, nothing else; https unless the host is loopback. A trailing `/` is tolerated.
/// Returns the RFC 6454 serialization (lower-case host, default port dropped).
pub fn parse_origin(input: &str) -> Result<String, String> {
    let problem = |why: &str| format!("web origin {input:?} {why}");
    let url = Url::parse(input).map_err(|e| problem(&format!("is not an origin: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(problem("must not carry user information"));
    }
    if url.path() != "/" && url.path() != "" {
        return Err(problem("must not have a path (only scheme://host[:port])"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(problem("must not have a query or fragment"));
    }
    // `Url` adds the `/` of an empty path; anything after the authority besides it is a path.
    let after_scheme = input.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.trim_end_matches('/').contains('/') {
        return Err(problem("must not have a path (only scheme://host[:port])"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(url.host()) => {}
        "http" => {
            return Err(problem(
                "must use https (http is allowed only for 127.0.0.1, [::1] and localhost)",
            ))
        }
        other => return Err(problem(&format!("has scheme {other}; use https"))),
    }
    origin_of(&url).ok_or_else(|| problem("has no host"))
}

/// Normalises the `Origin` header of a request; `None` for `null`, opaque or malformed origins
/// (which nothing allows).
pub fn request_origin(header: &str) -> Option<String> {
    let url = Url::parse(header).ok()?;
    let serialized = origin_of(&url)?;
    // A real Origin header is exactly the serialization: no path, query or user info.
    (serialized.eq_ignore_ascii_case(header.trim_end_matches('/'))).then_some(serialized)
}

/// The origins a browser app may call this client's endpoints from.
pub fn allowed_origins(client: &Client) -> BTreeSet<String> {
    client
        .redirect_uris
        .iter()
        .filter_map(|uri| Url::parse(uri).ok())
        .filter_map(|url| origin_of(&url))
        .chain(client.web_origins.iter().cloned())
        .collect()
}

/// Whether `origin` (as `request_origin` returned it) may call this client's endpoints.
pub fn allows(client: &Client, origin: &str) -> bool {
    allowed_origins(client).contains(origin)
}

/// Whether the client `client_id` exists and allows `origin`.
pub fn client_allows(
    conn: &mut DbConnection,
    client_id: &str,
    origin: &str,
) -> anyhow::Result<bool> {
    use super::ClientStore;
    Ok(conn
        .find_client(client_id)?
        .is_some_and(|c| allows(&c, origin)))
}

/// Every origin some client allows: what a preflight (which names no client) and `/userinfo`
/// are answered for. A client row that does not parse is logged and skipped.
pub fn all_allowed(conn: &mut DbConnection) -> anyhow::Result<BTreeSet<String>> {
    let mut all = BTreeSet::new();
    for row in clients::list(conn)? {
        match Client::try_from(row) {
            Ok(client) => all.extend(allowed_origins(&client)),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "skipping a client for CORS"),
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::account_client;

    #[test]
    fn operator_origins_are_validated_and_normalised() {
        assert_eq!(
            parse_origin("https://App.Example.com").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            parse_origin("https://app.example.com:443/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:5173").unwrap(),
            "http://127.0.0.1:5173"
        );
        assert_eq!(
            parse_origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            parse_origin("http://[::1]:8080").unwrap(),
            "http://[::1]:8080"
        );
        for bad in [
            "http://app.example.com",
            "https://app.example.com/app",
            "https://app.example.com/?x=1",
            "https://app.example.com#top",
            "https://user@app.example.com",
            "ftp://app.example.com",
            "app.example.com",
            "null",
            "",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn request_origins_must_be_serialized_origins() {
        assert_eq!(
            request_origin("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(request_origin("null"), None);
        assert_eq!(request_origin("http://127.0.0.1:3000/path"), None);
        assert_eq!(request_origin("file:///etc/passwd"), None);
    }

    #[test]
    fn redirect_uri_origins_and_web_origins_are_allowed() {
        let mut client = account_client();
        client.redirect_uris = vec![
            "https://app.example.com/cb".into(),
            "https://app.example.com:8443/other".into(),
            "http://127.0.0.1:3000/cb?x=1".into(),
        ];
        client.web_origins = vec!["https://spa.example.org".into()];
        let allowed: Vec<String> = allowed_origins(&client).into_iter().collect();
        assert_eq!(
            allowed,
            [
                "http://127.0.0.1:3000",
                "https://app.example.com",
                "https://app.example.com:8443",
                "https://spa.example.org",
            ]
        );
        assert!(allows(&client, "https://spa.example.org"));
        assert!(!allows(&client, "https://evil.example.com"));
        assert!(!allows(&client, "http://app.example.com"));
    }
}
