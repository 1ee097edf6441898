//! Signature algorithms and public keys, verified with `ring` (constant-time, and ~7× faster
//! than the pure-Rust `rsa` crate for RS256: it already is in the tree through rustls).

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

/// The asymmetric JWS algorithms (RFC 7518) a verifier can allow. There is deliberately no
/// `none` and no HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl Alg {
    /// Exact (case-sensitive) JOSE names.
    pub(crate) fn from_name(name: &str) -> Option<Alg> {
        Some(match name {
            "RS256" => Alg::RS256,
            "RS384" => Alg::RS384,
            "RS512" => Alg::RS512,
            "PS256" => Alg::PS256,
            "PS384" => Alg::PS384,
            "PS512" => Alg::PS512,
            "ES256" => Alg::ES256,
            "ES384" => Alg::ES384,
            "EdDSA" => Alg::EdDSA,
            _ => return None,
        })
    }
}

/// A public key from a JWK.
pub(crate) enum PublicKey {
    /// Big-endian modulus and exponent.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Uncompressed point `04 || x || y`.
    P256(Vec<u8>),
    P384(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl PublicKey {
    /// Can this key verify `alg` at all?
    pub(crate) fn fits(&self, alg: Alg) -> bool {
        matches!(
            (self, alg),
            (
                PublicKey::Rsa { .. },
                Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512
            ) | (PublicKey::P256(_), Alg::ES256)
                | (PublicKey::P384(_), Alg::ES384)
                | (PublicKey::Ed25519(_), Alg::EdDSA)
        )
    }

    /// Verifies a JWS signature (`signature` already base64url-decoded) over `message`
    /// (`header.payload`). RSA moduli must have 2048 to 8192 bits.
    pub(crate) fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        let rsa = |params: &'static signature::RsaParameters, n: &[u8], e: &[u8]| {
            RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok()
        };
        match (self, alg) {
            (PublicKey::Rsa { n, e }, Alg::RS256) => {
                rsa(&signature::RSA_PKCS1_2048_8192_SHA256, n, e)
            }
            (PublicKey::Rsa { n, e }, Alg::RS384) => {
                rsa(&signature::RSA_PKCS1_2048_8192_SHA384, n, e)
            }
            (PublicKey::Rsa { n, e }, Alg::RS512) => {
                rsa(&signature::RSA_PKCS1_2048_8192_SHA512, n, e)
            }
            (PublicKey::Rsa { n, e }, Alg::PS256) => {
                rsa(&signature::RSA_PSS_2048_8192_SHA256, n, e)
            }
            (PublicKey::Rsa { n, e }, Alg::PS384) => {
                rsa(&signature::RSA_PSS_2048_8192_SHA384, n, e)
            }
            (PublicKey::Rsa { n, e }, Alg::PS512) => {
                rsa(&signature::RSA_PSS_2048_8192_SHA512, n, e)
            }
            (PublicKey::P256(point), Alg::ES256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            (PublicKey::P384(point), Alg::ES384) => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            (PublicKey::Ed25519(x), Alg::EdDSA) => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, signature)
                .is_ok(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};

    #[test]
    fn names() {
        assert_eq!(Alg::from_name("RS256"), Some(Alg::RS256));
        assert_eq!(Alg::from_name("EdDSA"), Some(Alg::EdDSA));
        for refused in ["none", "HS256", "rs256", "RSA1_5", ""] {
            assert_eq!(Alg::from_name(refused), None);
        }
    }

    #[test]
    fn ecdsa_and_eddsa() {
        let rng = SystemRandom::new();
        let message = b"header.payload";
        for (ring_alg, alg, p384) in [
            (
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                Alg::ES256,
                false,
            ),
            (
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                Alg::ES384,
                true,
            ),
        ] {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(ring_alg, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(ring_alg, pkcs8.as_ref(), &rng).unwrap();
            let sig = pair.sign(&rng, message).unwrap();
            let point = pair.public_key().as_ref().to_vec();
            let key = if p384 {
                PublicKey::P384(point)
            } else {
                PublicKey::P256(point)
            };
            assert!(key.fits(alg) && !key.fits(Alg::RS256));
            assert!(key.verify(alg, message, sig.as_ref()));
            assert!(!key.verify(alg, b"header.other", sig.as_ref()));
            assert!(!key.verify(Alg::RS256, message, sig.as_ref()));
        }
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let sig = pair.sign(message);
        let key = PublicKey::Ed25519(pair.public_key().as_ref().to_vec());
        assert!(key.verify(Alg::EdDSA, message, sig.as_ref()));
        assert!(!key.verify(Alg::EdDSA, b"x", sig.as_ref()));
    }
}
