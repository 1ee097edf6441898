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
