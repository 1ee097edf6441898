//! Request objects (RFC 9101, JAR): an authorization request as a JWT the client signed with
//! one of its keys. Once the signature verified, [`check`] applies the rules and returns the
//! request's parameters: per RFC 9101 §6.3 only those inside are used (the outer request's
//! other than `client_id` are ignored).
use serde_json::{Map, Value};

use super::assertion::{audience_names, number, SKEW_SECS};
use super::verify::Verified;
use crate::oauth::{authorize, Params};

/// The longest request object accepted, in bytes.
pub const MAX_LEN: usize = 64 * 1024;

/// How old `nbf` may be: a request object is made for one request.
pub const MAX_NBF_AGE_SECS: i64 = 3600;

/// JWT claims that are not authorization request parameters.
const JWT_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

/// Checks a verified request object of `client_id` (the outer `client_id`) for this `issuer`:
/// `typ`, when present, `oauth-authz-req+jwt` or `JWT`; `iss` and `client_id` the client; `aud`
/// the issuer; `exp` in the future; `nbf`, when present, not in the future (beyond
/// [`SKEW_SECS`]) nor older than [`MAX_NBF_AGE_SECS`]; no `request` or `request_uri` inside.
/// Returns its parameters; the error says what is wrong.
pub fn check(object: &Verified, client_id: &str, issuer: &str, now: i64) -> Result<Params, String> {
    if let Some(typ) = object.header.get("typ") {
        let typ = typ.as_str().unwrap_or("").to_ascii_lowercase();
        let typ = typ.strip_prefix("application/").unwrap_or(&typ);
        if typ != "oauth-authz-req+jwt" && typ != "jwt" {
            return Err("its typ must be oauth-authz-req+jwt (or JWT)".into());
        }
    }
    let claims = &object.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) {
        return Err("its iss must be the client_id".into());
    }
    if text("client_id") != Some(client_id) {
        return Err("its client_id must be the request's client_id".into());
    }
    if !audience_names(claims.get("aud"), &[issuer]) {
        return Err(format!("its aud must be this server's issuer, {issuer}"));
    }
    let exp = number(claims.get("exp")).ok_or("it has no exp")?;
    if exp <= now {
        return Err("it has expired (exp)".into());
    }
    if let Some(v) = claims.get("nbf") {
        let nbf = number(Some(v)).ok_or("its nbf is not a number")?;
        if nbf > now + SKEW_SECS {
            return Err("its nbf is in the future".into());
        }
        if nbf < now - MAX_NBF_AGE_SECS {
            return Err(format!(
                "its nbf is more than {} minutes old",
                MAX_NBF_AGE_SECS / 60
            ));
        }
    }
    for nested in ["request", "request_uri"] {
        if claims.contains_key(nested) {
            return Err(format!("it may not hold {nested}"));
        }
    }
    parameters(claims)
}

/// The authorization request parameters among the claims: strings as they are, numbers and
/// booleans as text, arrays of strings repeated (for the parameters that repeat, `resource`),
/// objects (`claims`) as JSON text.
fn parameters(claims: &Map<String, Value>) -> Result<Params, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in claims {
        if JWT_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        match value {
            Value::String(s) => pairs.push((name.clone(), s.clone())),
            Value::Number(n) => pairs.push((name.clone(), n.to_string())),
            Value::Bool(b) => pairs.push((name.clone(), b.to_string())),
            Value::Object(_) => pairs.push((name.clone(), value.to_string())),
            Value::Array(items) if authorize::REPEATABLE.contains(&name.as_str()) => {
                for item in items {
                    let s = item
                        .as_str()
                        .ok_or_else(|| format!("its {name} must be strings"))?;
                    pairs.push((name.clone(), s.to_string()));
                }
            }
            Value::Array(_) => return Err(format!("its {name} may not be an array")),
            Value::Null => {}
        }
    }
    Params::from_pairs(
        pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        authorize::REPEATABLE,
    )
    .map_err(|e| format!("its parameters are not acceptable: {}", describe(&e)))
}

fn describe(e: &crate::oauth::OAuthError) -> String {
    match e {
        crate::oauth::OAuthError::Protocol { description, .. } => description.clone(),
        other => other.to_string(),
    }
}
