//! `private_key_jwt` (RFC 7523 §2.2 and §3, OIDC Core §9): the claims of a client assertion,
//! once its signature verified with the client's keys. Plain functions of the claims, the
//! client, this server's names and `now`; the replay check (`jti`) is the caller's, keyed by
//! [`replay_key`] until the assertion expires.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest assertion accepted, in bytes.
pub const MAX_LEN: usize = 16 * 1024;

/// How far ahead `exp` may be: an assertion is short-lived, and its `jti` is remembered until
/// it expires.
pub const MAX_AHEAD_SECS: i64 = 300;

/// Clock skew allowed for `iat` and `nbf`.
pub const SKEW_SECS: i64 = 60;

/// The longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;

/// The names an assertion's `aud` may hold: the issuer identifier (what FAPI 2.0 asks for) or
/// the URL of the endpoint called.
#[derive(Debug, Clone, Copy)]
pub struct Audiences<'a> {
    pub issuer: &'a str,
    pub endpoint: &'a str,
}

/// What the assertion said that the caller still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub jti: String,
    pub exp: i64,
}

/// Whose keys verify the assertion: the body's `client_id` when sent, else its (unverified)
/// `sub`. The claims are checked against that client afterwards ([`check`]).
pub fn named_client(
    claims: Option<&Map<String, Value>>,
    body_client_id: Option<&str>,
) -> Option<String> {
    body_client_id
        .map(str::to_string)
        .or_else(|| claims?.get("sub")?.as_str().map(str::to_string))
}

/// Checks a verified assertion's claims for `client_id`: `iss` = `sub` = the client, `aud`
/// naming this server, `exp` in the future but at most [`MAX_AHEAD_SECS`] away, `iat` and `nbf`
/// not in the future (beyond [`SKEW_SECS`]), a `jti`. The error says what is wrong.
pub fn check(
    claims: &Map<String, Value>,
    client_id: &str,
    aud: Audiences<'_>,
    now: i64,
) -> Result<Accepted, String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) {
        return Err("iss must be the client_id".into());
    }
    if text("sub") != Some(client_id) {
        return Err("sub must be the client_id".into());
    }
    if !audience_names(claims.get("aud"), &[aud.issuer, aud.endpoint]) {
        return Err(format!(
            "aud must name this server: its issuer {} (or the endpoint {})",
            aud.issuer, aud.endpoint
        ));
    }
    let exp = number(claims.get("exp")).ok_or("exp is required (a number)")?;
    if exp <= now {
        return Err("it has expired (exp)".into());
    }
    if exp > now + MAX_AHEAD_SECS {
        return Err(format!(
            "exp is more than {MAX_AHEAD_SECS} s ahead: client assertions must be short-lived"
        ));
    }
    for name in ["iat", "nbf"] {
        match claims.get(name) {
            None => {}
            Some(v) => match number(Some(v)) {
                Some(t) if t <= now + SKEW_SECS => {}
                Some(_) => return Err(format!("{name} is in the future")),
                None => return Err(format!("{name} is not a number")),
            },
        }
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty())
        .ok_or("jti is required (RFC 7523 §3; each assertion is used once)")?;
    if jti.len() > MAX_JTI_LEN {
        return Err(format!("jti is longer than {MAX_JTI_LEN} characters"));
    }
    Ok(Accepted {
        jti: jti.to_string(),
        exp,
    })
}

/// Whether `aud` (a string or an array of strings) holds one of `names`.
pub fn audience_names(aud: Option<&Value>, names: &[&str]) -> bool {
    match aud {
        Some(Value::String(s)) => names.contains(&s.as_str()),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .any(|s| names.contains(&s)),
        _ => false,
    }
}

/// A NumericDate (RFC 7519 §2): seconds, possibly with a fraction.
pub fn number(v: Option<&Value>) -> Option<i64> {
    let v = v?;
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

/// The key an assertion is remembered by: SHA-256 of the client id and the `jti`, base64url (a
/// `jti` is unique per client; hashing bounds the length).
pub fn replay_key(client_id: &str, jti: &str) -> String {
    let mut h = Sha256::new();
    h.update(client_id.as_bytes());
    h.update(b"\n");
    h.update(jti.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}
