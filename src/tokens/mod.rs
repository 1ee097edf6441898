//! Tokens: the key store (load, generate, rotate, JWKS), JWS signing through josekit, claim types
//! and opaque secrets.
pub mod claims;
pub mod keys;
pub mod secret;

use josekit::jws::JwsHeader;
use serde::Serialize;

pub use claims::{AccessTokenClaims, Audience};
pub use keys::{KeySet, KeyStore};

/// `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Signs `claims` as a compact JWS with the active key: `alg: RS256`, the key's `kid`, and `typ`.
pub fn sign<T: Serialize>(keys: &KeySet, typ: &str, claims: &T) -> anyhow::Result<String> {
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(&keys.signing.kid);
    let payload = serde_json::to_vec(claims)?;
    Ok(josekit::jws::serialize_compact(
        &payload,
        &header,
        &keys.signing.signer,
    )?)
}

/// Verifies a compact JWS against the published keys (by `kid`); returns header and payload
/// JSON. Signature only: claim checks (`exp`, `iss`, `aud`) are the caller's.
pub fn verify_signature(
    keys: &KeySet,
    token: &str,
) -> anyhow::Result<(
    serde_json::Map<String, serde_json::Value>,
    serde_json::Value,
)> {
    let (payload, header) = josekit::jws::deserialize_compact_with_selector(token, |header| {
        let kid = header
            .key_id()
            .ok_or_else(|| josekit::JoseError::InvalidJwsFormat(anyhow::anyhow!("no kid")))?;
        if header.algorithm() != Some("RS256") {
            return Err(josekit::JoseError::UnsupportedSignatureAlgorithm(
                anyhow::anyhow!("only RS256 is accepted"),
            ));
        }
        Ok(keys
            .verifier(kid)
            .map(|v| v as &dyn josekit::jws::JwsVerifier))
    })?;
    let header: serde_json::Map<String, serde_json::Value> = header.into();
    Ok((header, serde_json::from_slice(&payload)?))
}

/// Why a presented access token was refused (safe to tell the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidToken(pub &'static str);

/// Clock skew tolerated on `nbf` and `iat` (instances' clocks may differ a little).
pub const CLOCK_LEEWAY_SECS: i64 = 60;

/// `nbf` and `iat` of a token's claims: refused when either is further in the future than
/// `CLOCK_LEEWAY_SECS` (a token not valid yet, or minted with a clock that is wrong or forged),
/// or when present but not a number. The one rule for every place that reads our own access
/// tokens (`verify_access_token`, introspection).
pub fn check_not_before(payload: &serde_json::Value, now: i64) -> Result<(), InvalidToken> {
    for (name, why) in [
        ("nbf", "the token is not valid yet"),
        ("iat", "the token was issued in the future"),
    ] {
        match payload.get(name).map(serde_json::Value::as_i64) {
            None => {}
            Some(None) => return Err(InvalidToken("the token claims are malformed")),
            Some(Some(t)) if t > now.saturating_add(CLOCK_LEEWAY_SECS) => {
                return Err(InvalidToken(why))
            }
            Some(Some(_)) => {}
        }
    }
    Ok(())
}

/// Validates one of our access tokens: RS256 signature by a published key, `typ: at+jwt`,
/// `iss`, `aud` containing a value `audience` accepts, not expired, and neither `nbf` nor `iat`
/// in the future (`check_not_before`).
pub fn verify_access_token(
    keys: &KeySet,
    token: &str,
    issuer: &str,
    audience: impl Fn(&str) -> bool,
    now: i64,
) -> Result<AccessTokenClaims, InvalidToken> {
    let (header, payload) = verify_signature(keys, token)
        .map_err(|_| InvalidToken("the token signature is invalid"))?;
    if header.get("typ").and_then(|t| t.as_str()) != Some(ACCESS_TOKEN_TYP) {
        return Err(InvalidToken("not an access token"));
    }
    check_not_before(&payload, now)?;
    let claims: AccessTokenClaims = serde_json::from_value(payload)
        .map_err(|_| InvalidToken("the token claims are malformed"))?;
    if claims.iss != issuer {
        return Err(InvalidToken("the token is from another issuer"));
    }
    let aud_ok = match &claims.aud {
        Audience::One(a) => audience(a),
        Audience::Many(v) => v.iter().any(|a| audience(a)),
    };
    if !aud_ok {
        return Err(InvalidToken("the token is for another audience"));
    }
    if now >= claims.exp {
        return Err(InvalidToken("the token has expired"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISS: &str = "https://issuer.example";
    const NOW: i64 = 1_000_000;

    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let mut c = json!({
            "iss": ISS, "sub": "u1", "aud": ISS, "client_id": "app",
            "iat": NOW - 10, "exp": NOW + 600, "jti": "j1",
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            c[k] = v.clone();
        }
        c
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_refused_beyond_the_leeway() {
        assert_eq!(check_not_before(&claims(json!({})), NOW), Ok(()));
        let ok_skew = NOW + CLOCK_LEEWAY_SECS;
        assert_eq!(
            check_not_before(&claims(json!({ "nbf": ok_skew, "iat": ok_skew })), NOW),
            Ok(())
        );
        let nbf = check_not_before(&claims(json!({ "nbf": ok_skew + 1 })), NOW);
        assert_eq!(nbf, Err(InvalidToken("the token is not valid yet")));
        let iat = check_not_before(&claims(json!({ "iat": NOW + 3600 })), NOW);
        assert_eq!(iat, Err(InvalidToken("the token was issued in the future")));
        let bad = check_not_before(&claims(json!({ "nbf": "soon" })), NOW);
        assert_eq!(bad, Err(InvalidToken("the token claims are malformed")));
    }

    #[test]
    fn verify_access_token_applies_the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path(), 2048, 900, NOW).unwrap();
        let keys = store.current();
        let verify = |c: serde_json::Value| {
            let token = sign(&keys, ACCESS_TOKEN_TYP, &c).unwrap();
            verify_access_token(&keys, &token, ISS, |a| a == ISS, NOW)
        };
        assert!(verify(claims(json!({}))).is_ok());
        assert!(verify(claims(json!({ "nbf": NOW }))).is_ok());
        assert_eq!(
            verify(claims(json!({ "nbf": NOW + 120 }))).unwrap_err(),
            InvalidToken("the token is not valid yet")
        );
        assert_eq!(
            verify(claims(json!({ "iat": NOW + 120 }))).unwrap_err(),
            InvalidToken("the token was issued in the future")
        );
    }
}
