//! OAuth 2.0 Protected Resource Metadata (RFC 9728): [`ResourceMetadata`] is what you configure,
//! [`ProtectedResourceMetadata`] the document a [`Verifier`](crate::Verifier) publishes for its
//! audience.
//!
//! The resource identifier is the verifier's audience, so the `resource` clients are told to ask
//! tokens for (RFC 8707 `resource=`) and the `aud` every token is checked against are one value.

use std::time::Duration;

use serde::Serialize;

use crate::error::Error;
use crate::setup::is_http_url;

/// The well-known URI suffix of RFC 9728 §3.
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The only bearer method the extractor reads (RFC 6750 §2.1); no form body, no query.
const BEARER_METHODS: [&str; 1] = ["header"];

/// What a resource server publishes about itself at
/// `/.well-known/oauth-protected-resource` (RFC 9728). Give it to
/// [`Config::resource_metadata`](crate::Config::resource_metadata):
///
/// ```
/// use portcullis_verify::{Config, ResourceMetadata};
///
/// let config = Config::default().resource_metadata(
///     ResourceMetadata::new()
///         .scopes_supported(["mcp:tools"])
///         .resource_name("Example tools")
///         .resource_documentation("https://docs.example.com/tools"),
/// );
/// # drop(config);
/// ```
///
/// The document's `resource` is the verifier's audience, which must then be an `https` (or
/// `http`, for local use) URL without query, fragment or user info; `authorization_servers` is
/// the verifier's issuer; `bearer_methods_supported` is `["header"]`. The values are checked
/// when the verifier is built ([`Error::Config`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceMetadata {
    authorization_servers: Option<Vec<String>>,
    scopes_supported: Vec<String>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    max_age: Duration,
    serve_at_root: bool,
}

impl Default for ResourceMetadata {
    fn default() -> Self {
        ResourceMetadata {
            authorization_servers: None,
            scopes_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            max_age: Duration::from_secs(3600),
            serve_at_root: true,
        }
    }
}

impl ResourceMetadata {
    /// The same as `ResourceMetadata::default()`.
    pub fn new() -> ResourceMetadata {
        ResourceMetadata::default()
    }

    /// `authorization_servers`: issuer identifiers of the authorization servers whose tokens
    /// this resource accepts. Default: the verifier's issuer alone. The list must contain it
    /// (this verifier refuses every other issuer's tokens, so naming only others would send
    /// clients somewhere useless).
    pub fn authorization_servers<I, S>(mut self, issuers: I) -> ResourceMetadata
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorization_servers = Some(issuers.into_iter().map(Into::into).collect());
        self
    }

    /// `scopes_supported`: the scopes this resource checks (RFC 6749 scope tokens). Omitted from
    /// the document when empty (the default).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> ResourceMetadata
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// `resource_name`: a human-readable name for the resource.
    pub fn resource_name(mut self, name: impl Into<String>) -> ResourceMetadata {
        self.resource_name = Some(name.into());
        self
    }

    /// `resource_documentation`: an http(s) URL of documentation for developers.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> ResourceMetadata {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The `Cache-Control: public, max-age=…` of the document (default one hour).
    pub fn max_age(mut self, max_age: Duration) -> ResourceMetadata {
        self.max_age = max_age;
        self
    }

    /// For a resource with a path (`https://api.example.com/mcp`), also serve the document at
    /// the host's root `/.well-known/oauth-protected-resource`, besides its own
    /// `/.well-known/oauth-protected-resource/mcp` (default `true`). MCP clients that got no
    /// `resource_metadata` in a challenge try the root after the path-suffixed URL. Turn it off
    /// when several resources share a host (the first one would answer for the root).
    pub fn serve_at_root(mut self, serve: bool) -> ResourceMetadata {
        self.serve_at_root = serve;
        self
    }

    /// Checks the values against the verifier's issuer and audience and builds the document.
    pub(crate) fn resolve(
        &self,
        issuer: &str,
        audience: &str,
    ) -> Result<ProtectedResourceMetadata, Error> {
        let config = |message: String| Error::Config(message);
        let (origin, path) = split_resource(audience).map_err(|why| {
            config(format!(
                "with resource metadata, the audience is the resource identifier and {why}: {audience:?}"
            ))
        })?;
        let suffix = if path == "/" { "" } else { path };
        let canonical = format!("{WELL_KNOWN}{suffix}");
        let mut well_known_paths = vec![canonical.clone()];
        if !suffix.is_empty() && self.serve_at_root {
            well_known_paths.push(WELL_KNOWN.to_owned());
        }

        let mut authorization_servers = Vec::new();
        for server in self
            .authorization_servers
            .clone()
            .unwrap_or_else(|| vec![issuer.to_owned()])
        {
            if !is_http_url(&server) || server.contains(['?', '#']) {
                return Err(config(format!(
                    "an authorization server must be an http(s) URL without query or fragment, not {server:?}"
                )));
            }
            if !authorization_servers.contains(&server) {
                authorization_servers.push(server);
            }
        }
        if !authorization_servers.iter().any(|s| s == issuer) {
            return Err(config(format!(
                "the authorization servers must include the verifier's issuer {issuer:?}"
            )));
        }

        let mut scopes_supported: Vec<String> = Vec::new();
        for scope in &self.scopes_supported {
            if !is_scope_token(scope) {
                return Err(config(format!("{scope:?} is not a valid scope")));
            }
            if !scopes_supported.contains(scope) {
                scopes_supported.push(scope.clone());
            }
        }
        if let Some(name) = &self.resource_name {
            if name.trim().is_empty() {
                return Err(config("the resource name must not be empty".to_owned()));
            }
        }
        if let Some(url) = &self.resource_documentation {
            if !is_http_url(url) {
                return Err(config(format!(
                    "the resource documentation must be an http(s) URL, not {url:?}"
                )));
            }
        }

        let document = Document {
            resource: audience,
            authorization_servers: &authorization_servers,
            scopes_supported: &scopes_supported,
            bearer_methods_supported: &BEARER_METHODS,
            resource_name: self.resource_name.as_deref(),
            resource_documentation: self.resource_documentation.as_deref(),
        };
        let json = serde_json::to_string(&document)
            .map_err(|e| config(format!("cannot serialize the resource metadata: {e}")))?;
        Ok(ProtectedResourceMetadata {
            resource: audience.to_owned(),
            authorization_servers,
            scopes_supported,
            resource_name: self.resource_name.clone(),
            resource_documentation: self.resource_documentation.clone(),
            url: format!("{origin}{canonical}"),
            well_known_paths,
            max_age: self.max_age.as_secs(),
            json,
        })
    }
}

/// The document's members, in the order of RFC 9728 §2.
#[derive(Serialize)]
struct Document<'a> {
    resource: &'a str,
    authorization_servers: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    scopes_supported: &'a [String],
    bearer_methods_supported: &'a [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<&'a str>,
}

/// The protected resource metadata of a [`Verifier`](crate::Verifier)
/// ([`Verifier::resource_metadata`](crate::Verifier::resource_metadata)): the RFC 9728 document
/// and where it is served.
///
/// With actix-web, the `ProtectedResource` middleware (feature `actix`) serves it; with another
/// framework, answer `GET` on each of [`well_known_paths`](Self::well_known_paths) with
/// [`json`](Self::json), `Content-Type: application/json` and
/// [`cache_control`](Self::cache_control).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResourceMetadata {
    resource: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    url: String,
    well_known_paths: Vec<String>,
    max_age: u64,
    json: String,
}

impl ProtectedResourceMetadata {
    /// `resource`: the resource identifier, which is the verifier's audience.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// `authorization_servers`.
    pub fn authorization_servers(&self) -> &[String] {
        &self.authorization_servers
    }

    /// `scopes_supported` (empty: not in the document).
    pub fn scopes_supported(&self) -> &[String] {
        &self.scopes_supported
    }

    /// `bearer_methods_supported`: always `["header"]`.
    pub fn bearer_methods_supported(&self) -> &'static [&'static str] {
        &BEARER_METHODS
    }

    /// `resource_name`.
    pub fn resource_name(&self) -> Option<&str> {
        self.resource_name.as_deref()
    }

    /// `resource_documentation`.
    pub fn resource_documentation(&self) -> Option<&str> {
        self.resource_documentation.as_deref()
    }

    /// The document's URL (RFC 9728 §3.1): the well-known suffix inserted between the host and
    /// the path of the resource identifier, e.g.
    /// `https://api.example.com/.well-known/oauth-protected-resource/mcp` for
    /// `https://api.example.com/mcp`. Challenges name it in `resource_metadata`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The request paths that answer with the document: the path of [`url`](Self::url), then
    /// `/.well-known/oauth-protected-resource` for a resource with a path unless
    /// [`ResourceMetadata::serve_at_root`] turned it off.
    pub fn well_known_paths(&self) -> &[String] {
        &self.well_known_paths
    }

    /// The document, serialized once: `resource`, `authorization_servers`, `scopes_supported`
    /// (when any), `bearer_methods_supported`, `resource_name` and `resource_documentation`
    /// (when set), in that order.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The `Cache-Control` value of the document, e.g. `public, max-age=3600`.
    pub fn cache_control(&self) -> String {
        format!("public, max-age={}", self.max_age)
    }
}

/// Splits a resource identifier into its origin (`scheme://authority`) and path (`""` or
/// starting with `/`), or says why it can't be one.
fn split_resource(url: &str) -> Result<(&str, &str), &'static str> {
    let scheme_len = if url.starts_with("https://") {
        "https://".len()
    } else if url.starts_with("http://") {
        "http://".len()
    } else {
        return Err("must be an http(s) URL");
    };
    if url.contains('#') {
        return Err("must not have a fragment");
    }
    if url.contains('?') {
        return Err("must not have a query");
    }
    let authority_len = url[scheme_len..]
        .find('/')
        .unwrap_or(url.len() - scheme_len);
    let (origin, path) = url.split_at(scheme_len + authority_len);
    let authority = &origin[scheme_len..];
    if authority.is_empty() {
        return Err("must name a host");
    }
    if authority.contains('@') {
        return Err("must not carry user info");
    }
    if !authority
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return Err("must have a plain host[:port]");
    }
    if !is_path(path) {
        return Err("must have a path of URL characters only");
    }
    Ok((origin, path))
}

/// RFC 3986 path characters (unreserved, sub-delims, `:`, `@`, `/`, and `%XX` escapes).
fn is_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
                continue;
            }
            b if b.is_ascii_alphanumeric() => {}
            b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+'
            | b',' | b';' | b'=' | b':' | b'@' | b'/' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// RFC 6749 §3.3 `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
