//! Tokens: the key store (load, generate, rotate, JWKS), JWS signing through josekit, claim types
//! and opaque secrets.
pub mod claims;
pub mod keys;
pub mod secret;

use josekit::jws::JwsHeader;
use serde::Serialize;

pub use claims::{AccessTokenClaims, Actor, Audience, Confirmation};
pub use keys::{Alg, KeySet, KeyStore, NoSigningKey};

/// `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Signs `claims` as a compact JWS with the active key of `alg`: the key's `kid`, and `typ`.
/// Fails with `NoSigningKey` when no key of `alg` signs yet.
pub fn sign<T: Serialize>(
    keys: &KeySet,
    alg: Alg,
    typ: &str,
    claims: &T,
) -> anyhow::Result<String> {
    let key = keys.signer(alg)?;
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(&key.kid);
    let payload = serde_json::to_vec(claims)?;
    Ok(josekit::jws::serialize_compact(
        &payload,
        &header,
        key.signer.as_ref(),
    )?)
}

/// Verifies a compact JWS against the published keys (by `kid`, in the one algorithm that key
/// is for: never `none`, never HMAC); returns header and payload JSON. Signature only: claim
/// checks (`exp`, `iss`, `aud`) are the caller's.
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
        let Some((alg, verifier)) = keys.verifier(kid) else {
            return Ok(None);
        };
        if header.algorithm() != Some(alg.name()) {
            return Err(josekit::JoseError::UnsupportedSignatureAlgorithm(
                anyhow::anyhow!("the key {kid} verifies {alg} only"),
            ));
        }
        Ok(Some(verifier))
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

/// Validates one of our access tokens: a signature by a published key in its algorithm, `typ: at+jwt`,
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
        let keys = keys::ephemeral(&[Alg::RS256], NOW).unwrap();
        let verify = |c: serde_json::Value| {
            let token = sign(&keys, Alg::RS256, ACCESS_TOKEN_TYP, &c).unwrap();
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

    #[test]
    fn each_algorithm_verifies_only_as_itself() {
        let keys = keys::ephemeral(&[Alg::RS256, Alg::ES256, Alg::EdDSA], NOW).unwrap();
        for alg in [Alg::RS256, Alg::ES256, Alg::EdDSA] {
            let token = sign(&keys, alg, ACCESS_TOKEN_TYP, &claims(json!({}))).unwrap();
            let (header, _) = verify_signature(&keys, &token).unwrap();
            assert_eq!(header["alg"], alg.name());
            assert!(verify_access_token(&keys, &token, ISS, |a| a == ISS, NOW).is_ok());
            // The same kid with another alg in the header is refused (no algorithm confusion).
            let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
            let mut h: serde_json::Value = serde_json::from_slice(
                &base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    &parts[0],
                )
                .unwrap(),
            )
            .unwrap();
            h["alg"] = json!(if alg == Alg::RS256 { "ES256" } else { "RS256" });
            parts[0] = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                h.to_string(),
            );
            assert!(verify_signature(&keys, &parts.join(".")).is_err());
        }
        let only_rsa = keys::ephemeral(&[Alg::RS256], NOW).unwrap();
        assert!(sign(&only_rsa, Alg::ES256, "JWT", &json!({}))
            .unwrap_err()
            .downcast_ref::<NoSigningKey>()
            .is_some());
    }
}
