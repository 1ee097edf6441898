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

/// Validates one of our access tokens: RS256 signature by a published key, `typ: at+jwt`,
/// `iss`, `aud` containing a value `audience` accepts, not expired.
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
