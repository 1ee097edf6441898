//! [`Claims`]: what a verified token says.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::VerifyError;

/// Where the claims came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A signed RFC 9068 access token (JWT).
    #[default]
    AccessToken,
    /// A `pc_…` API key, vouched for by the issuer's introspection endpoint.
    ApiKey,
}

/// The claims of a verified token.
///
/// For an access token these are its JWT claims; for an API key, the issuer's introspection
/// answer. Everything this struct does not name is kept in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Claims {
    /// Issuer (`iss`); always the configured issuer.
    pub iss: String,
    /// Subject (`sub`): the user id, or the client id for `client_credentials` tokens.
    pub sub: String,
    /// The OAuth client the token was issued to (`client_id`).
    pub client_id: Option<String>,
    /// Audiences (`aud`, a string or an array in the token).
    pub aud: Vec<String>,
    /// Granted scopes (`scope`, split on spaces; empty when absent).
    pub scopes: Vec<String>,
    /// The user's roles (`roles`; empty when absent).
    pub roles: Vec<String>,
    /// Expiry (`exp`, unix seconds). Always present for access tokens.
    pub exp: Option<i64>,
    /// Issued at (`iat`, unix seconds).
    pub iat: Option<i64>,
    /// Token id (`jti`).
    pub jti: Option<String>,
    /// When the user authenticated (`auth_time`, unix seconds); user tokens only.
    pub auth_time: Option<i64>,
    /// The user's session id (`sid`); user tokens only.
    pub sid: Option<String>,
    /// Access token or API key.
    pub kind: TokenKind,
    /// Every other claim, as sent.
    pub extra: Map<String, Value>,
}

impl Claims {
    /// `true` if `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// `true` if the user has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6), if any.
    /// [`Verifier::verify`](crate::Verifier::verify) refuses such tokens;
    /// [`Verifier::verify_dpop`](crate::Verifier::verify_dpop) takes them with a proof of that key.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.extra.get("cnf")?.get("jkt")?.as_str()
    }

    /// `true` for claims that came from an API key.
    pub fn is_api_key(&self) -> bool {
        self.kind == TokenKind::ApiKey
    }

    /// Builds claims from a JSON object (JWT payload or introspection answer), taking the named
    /// claims out and leaving the rest in `extra`. Presence rules are the caller's business.
    pub(crate) fn from_object(
        mut map: Map<String, Value>,
        kind: TokenKind,
    ) -> Result<Claims, VerifyError> {
        let iss = opt_string(map.remove("iss"), "iss")?.unwrap_or_default();
        let sub = opt_string(map.remove("sub"), "sub")?.unwrap_or_default();
        let client_id = opt_string(map.remove("client_id"), "client_id")?;
        let aud = match map.remove("aud") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(items)) => string_array(items, "aud")?,
            Some(_) => return Err(VerifyError::InvalidClaim("aud")),
        };
        let scopes = match opt_string(map.remove("scope"), "scope")? {
            Some(s) => s
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => Vec::new(),
        };
        let roles = match map.remove("roles") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => string_array(items, "roles")?,
            Some(_) => return Err(VerifyError::InvalidClaim("roles")),
        };
        let exp = numeric_date(map.remove("exp"), "exp")?;
        let iat = numeric_date(map.remove("iat"), "iat")?;
        let auth_time = numeric_date(map.remove("auth_time"), "auth_time")?;
        let jti = opt_string(map.remove("jti"), "jti")?;
        let sid = opt_string(map.remove("sid"), "sid")?;
        Ok(Claims {
            iss,
            sub,
            client_id,
            aud,
            scopes,
            roles,
            exp,
            iat,
            jti,
            auth_time,
            sid,
            kind,
            extra: map,
        })
    }
}

fn opt_string(value: Option<Value>, name: &'static str) -> Result<Option<String>, VerifyError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(VerifyError::InvalidClaim(name)),
    }
}

fn string_array(items: Vec<Value>, name: &'static str) -> Result<Vec<String>, VerifyError> {
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            _ => Err(VerifyError::InvalidClaim(name)),
        })
        .collect()
}

/// A NumericDate (RFC 7519 §2): integer or fractional seconds; fractions are truncated.
pub(crate) fn numeric_date(
    value: Option<Value>,
    name: &'static str,
) -> Result<Option<i64>, VerifyError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15) {
                // Bounded above, so the cast cannot saturate surprisingly.
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(f.floor() as i64))
            } else {
                Err(VerifyError::InvalidClaim(name))
            }
        }
        Some(_) => Err(VerifyError::InvalidClaim(name)),
    }
}
