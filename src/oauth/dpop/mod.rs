//! DPoP proofs (RFC 9449): parsing and verifying the `DPoP` header's JWT, the key's thumbprint
//! (`jkt`, RFC 7638) tokens are bound to, and the access-token hash (`ath`). Plain functions of
//! the proof, what the request was and `now`; the replay cache (`jti`) is the caller's, keyed by
//! [`replay_key`] and kept for [`REPLAY_TTL_SECS`].
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::tokens::keys::{thumbprint, Alg};

pub mod nonce;
pub use nonce::NonceKey;

/// How far a proof's `iat` may be from the server's clock, either way (RFC 9449 §11.1).
pub const IAT_WINDOW_SECS: i64 = 60;

/// How long a seen `jti` is remembered: past this, the proof's `iat` is out of the window anyway.
pub const REPLAY_TTL_SECS: i64 = 2 * IAT_WINDOW_SECS + 5;

/// The proof signing algorithms accepted (asymmetric only), for `dpop_signing_alg_values_supported`.
pub const ALGORITHMS: [&str; 4] = ["ES256", "EdDSA", "RS256", "PS256"];

/// The longest proof accepted: a proof carries one public key, an RSA-4096 one at most.
const MAX_PROOF_LEN: usize = 8 * 1024;

/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// A proof without a nonce this server issued, while nonces are required: `use_dpop_nonce`
/// (RFC 9449 §8, §9). The text says why and is safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UseNonce(pub &'static str);

/// RFC 9449 §8/§9: when nonces are required (`required` is the server's key), the proof's
/// `nonce` must be one this server issued in the current or the previous window. Without the
/// requirement the claim is ignored.
pub fn check_nonce(proof: &Proof, required: Option<&NonceKey>, now: i64) -> Result<(), UseNonce> {
    let Some(key) = required else {
        return Ok(());
    };
    match proof.nonce.as_deref() {
        None => Err(UseNonce(
            "a DPoP nonce is required: sign a new proof with the nonce in the DPoP-Nonce header",
        )),
        Some(n) if !key.accepts(n, now) => Err(UseNonce(
            "the DPoP proof's nonce is invalid or expired: sign a new proof with the nonce in the DPoP-Nonce header",
        )),
        Some(_) => Ok(()),
    }
}

/// A proof that is not valid for this request: `invalid_dpop_proof`. The text says why and is
/// safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidProof(pub String);

fn invalid(why: impl Into<String>) -> InvalidProof {
    InvalidProof(why.into())
}

/// What the proof must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The request's HTTP method.
    pub htm: &'a str,
    /// The URL of the endpoint (query and fragment are ignored).
    pub htu: &'a str,
    /// The access token presented with the proof (resource requests): requires `ath`.
    pub access_token: Option<&'a str>,
    /// Seconds since the epoch.
    pub now: i64,
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// RFC 7638 SHA-256 thumbprint of the proof's key, base64url.
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
    /// The `nonce` claim, if any (checked by [`check_nonce`] when nonces are required).
    pub nonce: Option<String>,
    /// The algorithm that signed it (a client's profile may rule some out: `oauth::profile`).
    pub alg: Alg,
}

impl Proof {
    /// The replay-cache key of this proof.
    pub fn replay_key(&self) -> String {
        replay_key(&self.jkt, &self.jti)
    }
}

/// The key a proof is remembered by: SHA-256 of the key thumbprint and the `jti`, base64url (a
/// `jti` is only unique per key; hashing bounds the length whatever the client sent).
pub fn replay_key(jkt: &str, jti: &str) -> String {
    let mut h = Sha256::new();
    h.update(jkt.as_bytes());
    h.update(b" ");
    h.update(jti.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// `ath`: base64url(SHA-256(access token)) (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// The URL as RFC 9449 §4.3 compares it: parsed (scheme and host lowercased, default port
/// dropped, dot segments resolved), without query and fragment. `None` if it is not an http(s) URL.
pub fn normalize_htu(u: &str) -> Option<String> {
    let mut url = url::Url::parse(u).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// Parses and verifies a DPoP proof for a request: `typ: dpop+jwt`, an accepted asymmetric `alg`,
/// a public `jwk` that signed it, `htm`, `htu`, `iat` within [`IAT_WINDOW_SECS`], a `jti`, and
/// `ath` when an access token comes with it. The replay check is the caller's.
pub fn verify(proof: &str, expected: &Expected<'_>) -> Result<Proof, InvalidProof> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(invalid("the DPoP proof is too long"));
    }
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("the DPoP proof is not a signed JWT"));
    };
    let header: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid("the DPoP proof's header is not a JSON object"))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(invalid("the DPoP proof's typ must be dpop+jwt"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .filter(|a| ALGORITHMS.contains(a))
        .and_then(|a| a.parse::<Alg>().ok())
        .ok_or_else(|| invalid("the DPoP proof's alg must be one of ES256, EdDSA, RS256, PS256"))?;
    let jwk = public_jwk(&header, alg)?;
    let verifier = alg
        .verifier_from_jwk(&jwk)
        .map_err(|_| invalid("the DPoP proof's jwk is not a key for its alg"))?;
    let (payload, _) = josekit::jwt::decode_with_verifier(proof, &*verifier)
        .map_err(|_| invalid("the DPoP proof's signature does not verify with its jwk"))?;
    let claim_str = |name: &str| payload.claim(name).and_then(Value::as_str);

    if claim_str("htm") != Some(expected.htm) {
        return Err(invalid(
            "the DPoP proof's htm does not match the request method",
        ));
    }
    let htu_matches = match (
        claim_str("htu").and_then(normalize_htu),
        normalize_htu(expected.htu),
    ) {
        (Some(got), Some(want)) => got == want,
        _ => false,
    };
    if !htu_matches {
        return Err(invalid(
            "the DPoP proof's htu does not match the request URL",
        ));
    }
    let iat = payload
        .claim("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("the DPoP proof has no iat"))?;
    if (iat - expected.now).abs() > IAT_WINDOW_SECS {
        return Err(invalid(
            "the DPoP proof's iat is too far from the current time",
        ));
    }
    let jti = claim_str("jti")
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid("the DPoP proof has no jti"))?;
    if let Some(token) = expected.access_token {
        if claim_str("ath") != Some(ath(token).as_str()) {
            return Err(invalid(
                "the DPoP proof's ath does not match the access token",
            ));
        }
    }
    let jkt = thumbprint(&jwk).map_err(|_| invalid("the DPoP proof's jwk has no thumbprint"))?;
    // Not a string: no nonce (ignored unless nonces are required).
    let nonce = claim_str("nonce").map(str::to_string);
    Ok(Proof {
        jkt,
        jti: jti.to_string(),
        iat,
        nonce,
        alg,
    })
}

/// The header's `jwk`: a public key of the algorithm's type, with no private members.
fn public_jwk(header: &Map<String, Value>, alg: Alg) -> Result<Jwk, InvalidProof> {
    let map = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("the DPoP proof has no jwk header"))?;
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    if PRIVATE.iter().any(|m| map.contains_key(*m)) {
        return Err(invalid("the DPoP proof's jwk must be a public key"));
    }
    let member = |name: &str| map.get(name).and_then(Value::as_str);
    let fits = match alg {
        Alg::ES256 => member("kty") == Some("EC") && member("crv") == Some("P-256"),
        Alg::EdDSA => member("kty") == Some("OKP") && member("crv") == Some("Ed25519"),
        Alg::RS256 | Alg::PS256 => {
            member("kty") == Some("RSA")
                && member("n")
                    .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
                    .is_some_and(|n| n.len() >= MIN_RSA_MODULUS_BYTES)
        }
    };
    if !fits {
        return Err(invalid("the DPoP proof's jwk is not a key for its alg"));
    }
    Jwk::from_map(map.clone()).map_err(|_| invalid("the DPoP proof's jwk is not a valid JWK"))
}

#[cfg(test)]
mod tests;
