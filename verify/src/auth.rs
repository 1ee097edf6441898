//! RFC 6750 answers ([`AuthError`]) and the [`require_scope`]/[`require_scopes`]/[`require_role`]
//! helpers.
//!
//! These do not depend on actix-web: any framework can turn an [`AuthError`] into a response with
//! [`status`](AuthError::status), [`www_authenticate`](AuthError::www_authenticate) and
//! [`body`](AuthError::body). With the `actix` feature, `AuthError` is an
//! `actix_web::ResponseError` too.

use std::fmt;

use serde_json::{json, Value};

use crate::claims::Claims;
use crate::error::VerifyError;

/// What kind of failure an [`AuthError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No bearer token in the request: 401, challenge without an error code (RFC 6750 §3.1).
    MissingToken,
    /// The `Authorization` header is malformed (e.g. `Bearer` without a token, or repeated): 400
    /// `invalid_request`.
    InvalidRequest,
    /// The token is expired, revoked, malformed or otherwise invalid: 401 `invalid_token`.
    InvalidToken,
    /// The token lacks the scope (or the user the role) the request needs: 403
    /// `insufficient_scope`.
    InsufficientScope,
    /// The issuer could not be asked (JWKS or introspection): 503.
    Unavailable,
    /// The server has no [`Verifier`](crate::Verifier) to check tokens with: 500.
    NotConfigured,
    /// The DPoP proof is missing, invalid, replayed or of another key: 401
    /// `invalid_dpop_proof` (RFC 9449 §7.1).
    InvalidDpopProof,
}

/// A refused request, ready to become an RFC 6750 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    kind: AuthErrorKind,
    realm: String,
    description: String,
    scope: Option<String>,
    resource_metadata: Option<String>,
    /// Challenge with the `DPoP` scheme (RFC 9449 §7.1) rather than `Bearer`.
    dpop: bool,
}

impl AuthError {
    fn new(kind: AuthErrorKind, realm: &str, description: impl Into<String>) -> AuthError {
        AuthError {
            kind,
            realm: realm.to_owned(),
            description: description.into(),
            scope: None,
            resource_metadata: None,
            dpop: false,
        }
    }

    /// No token was sent (or another authentication scheme was used).
    pub fn missing_token(realm: &str) -> AuthError {
        AuthError::new(
            AuthErrorKind::MissingToken,
            realm,
            "a Bearer access token is required",
        )
    }

    /// The `Authorization` header is malformed.
    pub fn invalid_request(realm: &str, description: &str) -> AuthError {
        AuthError::new(AuthErrorKind::InvalidRequest, realm, description)
    }

    /// The token was rejected. [`VerifyError::Unavailable`] becomes a 503,
    /// [`VerifyError::InvalidDpopProof`] a 401 `invalid_dpop_proof`, everything else a 401
    /// `invalid_token`, with the error's client-safe [`description`](VerifyError::description).
    /// A bad proof and a DPoP-bound token sent as Bearer get a `DPoP` challenge (RFC 9449 §7.1).
    pub fn from_verify_error(realm: &str, error: &VerifyError) -> AuthError {
        let kind = if error.is_temporary() {
            AuthErrorKind::Unavailable
        } else if matches!(error, VerifyError::InvalidDpopProof(_)) {
            AuthErrorKind::InvalidDpopProof
        } else {
            AuthErrorKind::InvalidToken
        };
        let dpop = matches!(
            error,
            VerifyError::InvalidDpopProof(_) | VerifyError::DpopBoundToken
        );
        AuthError {
            dpop,
            ..AuthError::new(kind, realm, error.description())
        }
    }

    /// Challenges with the `DPoP` scheme (RFC 9449 §7.1): `DPoP realm="…", error="…",
    /// error_description="…", algs="ES256 EdDSA RS256 PS256"`. The `Authenticated` extractor does this
    /// for every refusal of a request that used `Authorization: DPoP`.
    pub fn with_dpop_challenge(mut self) -> AuthError {
        self.dpop = true;
        self
    }

    /// `true` when the challenge uses the `DPoP` scheme.
    pub fn is_dpop_challenge(&self) -> bool {
        self.dpop
    }

    /// The token lacks `scope` (a scope, or several separated by spaces: the challenge's
    /// `scope` names what the request needs, RFC 6750 §3).
    pub fn insufficient_scope(realm: &str, scope: &str) -> AuthError {
        let description = if scope.contains(' ') {
            format!("the token lacks one of the scopes {scope}")
        } else {
            format!("the token lacks the scope {scope}")
        };
        AuthError {
            scope: Some(scope.to_owned()),
            ..AuthError::new(AuthErrorKind::InsufficientScope, realm, description)
        }
    }

    /// The user lacks `role`.
    pub fn missing_role(realm: &str, role: &str) -> AuthError {
        AuthError::new(
            AuthErrorKind::InsufficientScope,
            realm,
            format!("the role {role} is required"),
        )
    }

    /// There is no verifier to check the token with (a server bug, not the client's).
    pub fn not_configured() -> AuthError {
        AuthError::new(
            AuthErrorKind::NotConfigured,
            "",
            "token verification is not configured",
        )
    }

    /// Names the protected resource metadata URL (RFC 9728 §5.1) in the challenge:
    /// `resource_metadata="<url>"`, so a client can discover the authorization server (on a
    /// 401) or which scopes to ask for again (on a 403).
    /// [`Verifier::challenge`](crate::Verifier::challenge) adds the verifier's.
    pub fn with_resource_metadata(mut self, url: impl Into<String>) -> AuthError {
        self.resource_metadata = Some(url.into());
        self
    }

    /// The `resource_metadata` URL of the challenge, if any.
    pub fn resource_metadata(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }

    /// The kind of failure.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self.kind {
            AuthErrorKind::MissingToken
            | AuthErrorKind::InvalidToken
            | AuthErrorKind::InvalidDpopProof => 401,
            AuthErrorKind::InvalidRequest => 400,
            AuthErrorKind::InsufficientScope => 403,
            AuthErrorKind::Unavailable => 503,
            AuthErrorKind::NotConfigured => 500,
        }
    }

    /// The RFC 6750 / RFC 6749 error code, if any (`None` for a missing token).
    pub fn error_code(&self) -> Option<&'static str> {
        match self.kind {
            AuthErrorKind::MissingToken => None,
            AuthErrorKind::InvalidRequest => Some("invalid_request"),
            AuthErrorKind::InvalidToken => Some("invalid_token"),
            AuthErrorKind::InsufficientScope => Some("insufficient_scope"),
            AuthErrorKind::Unavailable => Some("temporarily_unavailable"),
            AuthErrorKind::NotConfigured => Some("server_error"),
            AuthErrorKind::InvalidDpopProof => Some("invalid_dpop_proof"),
        }
    }

    /// A description safe to show to the client.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The scope that was missing, for `insufficient_scope` answers about a scope.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The `WWW-Authenticate` header value for 400/401/403 answers, e.g.
    /// `Bearer realm="https://id.example.com", error="invalid_token", error_description="the access token has expired"`,
    /// ending with `, resource_metadata="…"` when [set](AuthError::with_resource_metadata).
    /// With a [DPoP challenge](AuthError::with_dpop_challenge) the scheme is `DPoP` and
    /// `algs="ES256 EdDSA RS256 PS256"` follows the error.
    pub fn www_authenticate(&self) -> Option<String> {
        let code = match self.kind {
            AuthErrorKind::MissingToken => None,
            AuthErrorKind::InvalidRequest
            | AuthErrorKind::InvalidToken
            | AuthErrorKind::InsufficientScope
            | AuthErrorKind::InvalidDpopProof => self.error_code(),
            AuthErrorKind::Unavailable | AuthErrorKind::NotConfigured => return None,
        };
        let scheme = if self.dpop { "DPoP" } else { "Bearer" };
        let mut value = format!("{scheme} realm=\"{}\"", header_safe(&self.realm));
        if let Some(code) = code {
            value.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                header_safe(&self.description)
            ));
        }
        if self.dpop {
            value.push_str(&format!(", algs=\"{}\"", crate::dpop::ALGORITHMS.join(" ")));
        }
        if let Some(scope) = &self.scope {
            value.push_str(&format!(", scope=\"{}\"", header_safe(scope)));
        }
        if let Some(url) = &self.resource_metadata {
            value.push_str(&format!(", resource_metadata=\"{}\"", header_safe(url)));
        }
        Some(value)
    }

    /// The JSON body (`{"error": …, "error_description": …}`), or `None` for a missing token,
    /// which gets an empty body.
    pub fn body(&self) -> Option<Value> {
        let code = self.error_code()?;
        let mut body = json!({ "error": code, "error_description": self.description });
        if let (Some(scope), Value::Object(map)) = (&self.scope, &mut body) {
            map.insert("scope".to_owned(), Value::String(scope.clone()));
        }
        Some(body)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error_code() {
            Some(code) => write!(f, "{code}: {}", self.description),
            None => f.write_str(&self.description),
        }
    }
}

impl std::error::Error for AuthError {}

/// Keeps the characters RFC 6750 allows in quoted challenge values (%x20-21 / %x23-5B /
/// %x5D-7E), replacing the rest with `?`.
fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '?',
        })
        .collect()
}

/// `Ok(())` if the token grants `scope`, else a 403 `insufficient_scope` naming it.
///
/// ```
/// use portcullis_verify::{require_scope, Claims};
///
/// let claims = Claims { scopes: vec!["read".into()], ..Claims::default() };
/// assert!(require_scope(&claims, "read").is_ok());
/// let refused = require_scope(&claims, "write").unwrap_err();
/// assert_eq!(refused.status(), 403);
/// assert!(refused.www_authenticate().unwrap().contains(r#"scope="write""#));
/// ```
pub fn require_scope(claims: &Claims, scope: &str) -> Result<(), AuthError> {
    if claims.has_scope(scope) {
        Ok(())
    } else {
        Err(AuthError::insufficient_scope(&claims.iss, scope))
    }
}

/// `Ok(())` if the token grants every scope of `scopes`, else a 403 `insufficient_scope` whose
/// `scope` lists them all (what the request needs, so the client can ask for exactly that).
///
/// ```
/// use portcullis_verify::{require_scopes, Claims};
///
/// let claims = Claims { scopes: vec!["mcp:read".into()], ..Claims::default() };
/// assert!(require_scopes(&claims, &["mcp:read"]).is_ok());
/// let refused = require_scopes(&claims, &["mcp:read", "mcp:write"]).unwrap_err();
/// assert_eq!(refused.scope(), Some("mcp:read mcp:write"));
/// ```
pub fn require_scopes(claims: &Claims, scopes: &[&str]) -> Result<(), AuthError> {
    if scopes.iter().all(|s| claims.has_scope(s)) {
        Ok(())
    } else {
        Err(AuthError::insufficient_scope(
            &claims.iss,
            &scopes.join(" "),
        ))
    }
}

/// `Ok(())` if the user has `role`, else a 403 `insufficient_scope` whose description names the
/// role.
pub fn require_role(claims: &Claims, role: &str) -> Result<(), AuthError> {
    if claims.has_role(role) {
        Ok(())
    } else {
        Err(AuthError::missing_role(&claims.iss, role))
    }
}

/// Where the bearer token stands in an `Authorization` header.
#[cfg_attr(not(feature = "actix"), allow(dead_code))]
pub(crate) enum Bearer<'a> {
    /// No header, or another scheme.
    Missing,
    /// `Bearer` or `DPoP` with nothing usable after it.
    Malformed,
    Token(&'a str),
    /// `DPoP <token>` (RFC 9449 §7.1).
    Dpop(&'a str),
}

/// Reads an `Authorization` header value (RFC 6750 §2.1: scheme case-insensitive).
#[cfg_attr(not(feature = "actix"), allow(dead_code))]
pub(crate) fn parse_authorization(value: Option<&[u8]>) -> Bearer<'_> {
    let Some(value) = value else {
        return Bearer::Missing;
    };
    let Ok(value) = std::str::from_utf8(value) else {
        return Bearer::Malformed;
    };
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    if !dpop && !scheme.eq_ignore_ascii_case("bearer") {
        return Bearer::Missing;
    }
    let token = rest.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Bearer::Malformed;
    }
    if dpop {
        Bearer::Dpop(token)
    } else {
        Bearer::Token(token)
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
