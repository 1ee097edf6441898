//! Verifying a JWT a client signed with one of its keys: the `alg` must be one of
//! [`ALGORITHMS`] (mapped to a josekit verifier here, apart from the server's own signing
//! algorithms), the key is the one the `kid` names, else every key of the algorithm's type.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{EdDSA, JwsVerifier, ES256, PS256, RS256};
use serde_json::{Map, Value};

use super::ALGORITHMS;

/// Why a JWT was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The `kid` names no key of the client (its keys may have changed: fetch them again).
    UnknownKid,
    /// Anything else; the text completes "the JWT …" and is safe to show the client.
    Invalid(String),
}

impl Refusal {
    pub fn reason(&self) -> String {
        match self {
            Refusal::UnknownKid => {
                "is signed with a key (kid) the client has not registered".into()
            }
            Refusal::Invalid(why) => why.clone(),
        }
    }
}

fn invalid(why: impl Into<String>) -> Refusal {
    Refusal::Invalid(why.into())
}

/// A verified JWT: its header and its claims.
#[derive(Debug, Clone)]
pub struct Verified {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

/// The JWS header of a compact JWT, unverified.
pub fn header_of(jwt: &str) -> Result<Map<String, Value>, Refusal> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("is not a signed JWT (three base64url parts)"));
    };
    decode_part(header).ok_or_else(|| invalid("has a header that is not a JSON object"))
}

/// The claims of a compact JWT, unverified: only to find whose keys to verify it with.
pub fn unverified_claims(jwt: &str) -> Option<Map<String, Value>> {
    decode_part(jwt.split('.').nth(1)?)
}

fn decode_part(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The verifier of one of [`ALGORITHMS`] for `jwk`; `None` for any other name. The key's
/// `kid` is left out: it was matched already, and josekit would otherwise demand it in the
/// header.
fn verifier(alg: &str, jwk: &Jwk) -> Option<Box<dyn JwsVerifier>> {
    let mut map = jwk.as_ref().clone();
    map.remove("kid");
    let jwk = &Jwk::from_map(map).ok()?;
    let boxed: Box<dyn JwsVerifier> = match alg {
        "PS256" => Box::new(PS256.verifier_from_jwk(jwk).ok()?),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).ok()?),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(jwk).ok()?),
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).ok()?),
        _ => return None,
    };
    Some(boxed)
}

/// Whether `jwk` is of the type `alg` signs with (and, when it names an `alg`, that one).
fn fits(alg: &str, jwk: &Jwk) -> bool {
    let kind = match alg {
        "PS256" | "RS256" => jwk.key_type() == "RSA",
        "ES256" => jwk.key_type() == "EC" && jwk.curve() == Some("P-256"),
        "EdDSA" => jwk.key_type() == "OKP" && jwk.curve() == Some("Ed25519"),
        _ => false,
    };
    kind && jwk.algorithm().is_none_or(|a| a == alg)
}

/// Verifies `jwt` (at most `max_len` bytes) with one of `keys`.
pub fn verify(jwt: &str, keys: &JwkSet, max_len: usize) -> Result<Verified, Refusal> {
    if jwt.len() > max_len {
        return Err(invalid(format!("is longer than {max_len} bytes")));
    }
    let header = header_of(jwt)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if !ALGORITHMS.contains(&alg) {
        return Err(invalid(format!(
            "is signed with alg {:?}; accepted: {}",
            alg.chars().take(20).collect::<String>(),
            ALGORITHMS.join(", ")
        )));
    }
    let candidates: Vec<&Jwk> = match header.get("kid") {
        Some(Value::String(kid)) => {
            let named = keys.get(kid);
            if named.is_empty() {
                return Err(Refusal::UnknownKid);
            }
            named
        }
        Some(_) => return Err(invalid("has a kid that is not a string")),
        None => keys.keys(),
    };
    let candidates: Vec<&Jwk> = candidates.into_iter().filter(|k| fits(alg, k)).collect();
    if candidates.is_empty() {
        return Err(invalid(format!(
            "is signed with {alg}, but the client has no key of that type"
        )));
    }
    for key in candidates {
        let Some(v) = verifier(alg, key) else {
            continue;
        };
        if let Ok((payload, _)) = josekit::jwt::decode_with_verifier(jwt, &*v) {
            return Ok(Verified {
                header,
                claims: payload.claims_set().clone(),
            });
        }
    }
    Err(invalid(
        "has a signature that does not verify with the client's keys",
    ))
}
