//! Parsing a JWKS into verification keys.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::alg::{Alg, PublicKey};

/// Smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

pub(crate) struct KeyEntry {
    key: PublicKey,
    /// The JWK's own `alg`, when it names one.
    alg: Option<Alg>,
}

impl KeyEntry {
    /// May this key verify a signature made with `alg`?
    pub(crate) fn fits(&self, alg: Alg) -> bool {
        self.alg.is_none_or(|a| a == alg) && self.key.fits(alg)
    }

    /// Verifies `signature` (decoded) over `message` with `alg`.
    pub(crate) fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        self.fits(alg) && self.key.verify(alg, message, signature)
    }
}

/// The keys of one JWKS, by `kid`.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: HashMap<String, Arc<KeyEntry>>,
}

impl KeySet {
    pub(crate) fn get(&self, kid: &str) -> Option<Arc<KeyEntry>> {
        self.keys.get(kid).cloned()
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.keys.keys().cloned().collect();
        kids.sort();
        kids
    }
}

/// Parses a JWKS document. Keys that cannot serve (no `kid`, `use` other than `sig`, unknown
/// type, an `alg` not allowed, RSA under 2048 bits, malformed) are skipped; a document that is
/// not a JWKS at all is an error.
pub(crate) fn parse_jwks(body: &[u8], allowed: &[Alg]) -> Result<KeySet, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Some(keys) = doc.get("keys").and_then(Value::as_array) else {
        return Err("no \"keys\" array".to_owned());
    };
    let mut set = KeySet::default();
    for jwk in keys {
        let Some((kid, entry)) = parse_jwk(jwk, allowed) else {
            continue;
        };
        set.keys.entry(kid).or_insert_with(|| Arc::new(entry));
    }
    Ok(set)
}

fn parse_jwk(jwk: &Value, allowed: &[Alg]) -> Option<(String, KeyEntry)> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kid = field("kid").filter(|k| !k.is_empty())?.to_owned();
    if let Some(usage) = jwk.get("use") {
        if usage.as_str() != Some("sig") {
            return None;
        }
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array()?;
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    let alg = match jwk.get("alg") {
        None => None,
        Some(v) => {
            let alg = Alg::from_name(v.as_str()?)?;
            if !allowed.contains(&alg) {
                return None;
            }
            Some(alg)
        }
    };
    let key = public_key(jwk)?;
    let entry = KeyEntry { key, alg };
    // A key none of the allowed algorithms can use is dead weight.
    if !allowed.iter().any(|a| entry.fits(*a)) {
        return None;
    }
    Some((kid, entry))
}

/// The public key of a JWK (`kty` RSA of at least 2048 bits, EC P-256/P-384, OKP Ed25519);
/// `None` for anything else or anything malformed. Members other than the key's own are not
/// looked at.
pub(crate) fn public_key(jwk: &Value) -> Option<PublicKey> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    let b64 = |name: &str| URL_SAFE_NO_PAD.decode(field(name)?).ok();
    let key = match field("kty")? {
        "RSA" => {
            let n = b64("n")?;
            let e = b64("e")?;
            if bit_length(&n) < MIN_RSA_BITS || e.is_empty() {
                return None;
            }
            PublicKey::Rsa { n, e }
        }
        "EC" => {
            let (x, y) = (b64("x")?, b64("y")?);
            let size = match field("crv")? {
                "P-256" => 32,
                "P-384" => 48,
                _ => return None,
            };
            if x.len() != size || y.len() != size {
                return None;
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            if size == 32 {
                PublicKey::P256(point)
            } else {
                PublicKey::P384(point)
            }
        }
        "OKP" => {
            let x = b64("x")?;
            if field("crv")? != "Ed25519" || x.len() != 32 {
                return None;
            }
            PublicKey::Ed25519(x)
        }
        _ => return None,
    };
    Some(key)
}

/// Bit length of a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    let Some(pos) = bytes.iter().position(|b| *b != 0) else {
        return 0;
    };
    let rest = bytes.len() - pos - 1;
    rest * 8 + (8 - bytes[pos].leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        let mut n = vec![0u8; 257];
        n[1] = 0xc1;
        assert_eq!(bit_length(&n), 2048);
    }

    #[test]
    fn skips_unusable_keys() {
        let small_n = URL_SAFE_NO_PAD.encode([0xffu8; 128]);
        let big_n = URL_SAFE_NO_PAD.encode([0xffu8; 256]);
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "small", "n": small_n, "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": big_n, "e": "AQAB"},
            {"kty": "RSA", "kid": "hs", "alg": "HS256", "n": big_n, "e": "AQAB"},
            {"kty": "oct", "kid": "oct", "k": "c2VjcmV0"},
            {"kty": "RSA", "n": big_n, "e": "AQAB"},
            {"kty": "RSA", "kid": "good", "use": "sig", "alg": "RS256", "n": big_n, "e": "AQAB"},
        ]});
        let set = parse_jwks(doc.to_string().as_bytes(), &[Alg::RS256]).unwrap();
        assert_eq!(set.kids(), vec!["good".to_owned()]);
        let good = set.get("good").unwrap();
        assert!(good.fits(Alg::RS256));
        assert!(!good.fits(Alg::PS256));
        assert!(!good.fits(Alg::ES256));
        assert!(parse_jwks(b"{}", &[Alg::RS256]).is_err());
        assert!(parse_jwks(b"nope", &[Alg::RS256]).is_err());
    }
}
