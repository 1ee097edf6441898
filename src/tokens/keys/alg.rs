//! The signing algorithms the server can hold keys for: RS256 (the default), PS256 (RSASSA-PSS
//! with SHA-256, RFC 7518 §3.5; what FAPI 2.0 asks for beside ES256 and EdDSA), ES256 (P-256) and
//! EdDSA (Ed25519). Key generation, signers and verifiers all come from josekit (OpenSSL);
//! `none` and HMAC are not algorithms here at all.
use std::fmt;
use std::str::FromStr;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{EdDSA, JwsSigner, JwsVerifier, ES256, PS256, RS256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    ES256,
    EdDSA,
    PS256,
}

pub const ALL: [Alg; 4] = [Alg::RS256, Alg::ES256, Alg::EdDSA, Alg::PS256];

impl Alg {
    /// The JOSE name (RFC 7518 / RFC 8037), exact case.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
            Alg::PS256 => "PS256",
        }
    }

    /// A new key pair: its kid (RFC 7638 thumbprint), public JWK (with `kid`, `use`, `alg`) and
    /// private key as PKCS#8 PEM. `rsa_bits` applies to RS256 and PS256 only (a PS256 key is an
    /// RSA-PSS key, PKCS#8 with the RSASSA-PSS OID, so it is never used for PKCS#1 v1.5).
    pub fn generate(self, rsa_bits: usize) -> anyhow::Result<NewKey> {
        let pair: Box<dyn KeyPair> = match self {
            Alg::RS256 => Box::new(RS256.generate_key_pair(rsa_bits as u32)?),
            Alg::ES256 => Box::new(ES256.generate_key_pair()?),
            Alg::EdDSA => Box::new(EdDSA.generate_key_pair(EdCurve::Ed25519)?),
            Alg::PS256 => Box::new(PS256.generate_key_pair(rsa_bits as u32)?),
        };
        let jwk = self.public_jwk(pair.to_jwk_public_key())?;
        Ok(NewKey {
            kid: jwk.key_id().unwrap_or_default().to_string(),
            public_jwk: jwk.to_string(),
            private_pem: pair.to_pem_private_key(),
        })
    }

    /// The public JWK of a PKCS#8 (or, for RSA, PKCS#1) PEM private key, checked to be a key of
    /// this algorithm.
    pub fn public_jwk_of_pem(self, pem: &[u8]) -> anyhow::Result<Jwk> {
        let jwk = match self {
            Alg::RS256 => josekit::jwk::alg::rsa::RsaKeyPair::from_pem(pem)
                .context("not an RSA private key")?
                .to_jwk_public_key(),
            Alg::ES256 => josekit::jwk::alg::ec::EcKeyPair::from_pem(
                pem,
                Some(josekit::jwk::alg::ec::EcCurve::P256),
            )
            .context("not a P-256 private key")?
            .to_jwk_public_key(),
            Alg::EdDSA => josekit::jwk::alg::ed::EdKeyPair::from_pem(pem)
                .context("not an Ed25519 private key")?
                .to_jwk_public_key(),
            Alg::PS256 => PS256
                .key_pair_from_pem(pem)
                .context("not an RSA-PSS (SHA-256) private key")?
                .to_jwk_public_key(),
        };
        self.public_jwk(jwk)
    }

    /// Adds `kid`, `use: sig` and `alg` to a bare public JWK.
    fn public_jwk(self, mut jwk: Jwk) -> anyhow::Result<Jwk> {
        if self == Alg::EdDSA && jwk.curve() != Some("Ed25519") {
            anyhow::bail!("not an Ed25519 key");
        }
        let kid = thumbprint(&jwk)?;
        jwk.set_key_id(&kid);
        jwk.set_key_use("sig");
        jwk.set_algorithm(self.name());
        Ok(jwk)
    }

    pub fn signer_from_pem(self, pem: &[u8]) -> anyhow::Result<Box<dyn JwsSigner>> {
        Ok(match self {
            Alg::RS256 => Box::new(RS256.signer_from_pem(pem)?),
            Alg::ES256 => Box::new(ES256.signer_from_pem(pem)?),
            Alg::EdDSA => Box::new(EdDSA.signer_from_pem(pem)?),
            Alg::PS256 => Box::new(PS256.signer_from_pem(pem)?),
        })
    }

    pub fn verifier_from_jwk(self, jwk: &Jwk) -> anyhow::Result<Box<dyn JwsVerifier>> {
        Ok(match self {
            Alg::RS256 => Box::new(RS256.verifier_from_jwk(jwk)?),
            Alg::ES256 => Box::new(ES256.verifier_from_jwk(jwk)?),
            Alg::EdDSA => Box::new(EdDSA.verifier_from_jwk(jwk)?),
            Alg::PS256 => Box::new(PS256.verifier_from_jwk(jwk)?),
        })
    }

    /// OIDC `at_hash`/`c_hash`: the left half of the hash that goes with the algorithm, base64url
    /// (OIDC Core §3.1.3.6). Ed25519 signs with SHA-512, so its half is SHA-512's (as the
    /// `openidconnect` crate and node-oidc-provider compute it).
    pub fn half_hash(self, value: &str) -> String {
        let digest: Vec<u8> = match self {
            Alg::RS256 | Alg::ES256 | Alg::PS256 => Sha256::digest(value.as_bytes()).to_vec(),
            Alg::EdDSA => Sha512::digest(value.as_bytes()).to_vec(),
        };
        URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Alg {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Alg> {
        ALL.into_iter().find(|a| a.name() == s).with_context(|| {
            format!("unsupported signing algorithm {s:?} (RS256, PS256, ES256 or EdDSA)")
        })
    }
}

/// A freshly generated key pair.
pub struct NewKey {
    pub kid: String,
    pub public_jwk: String,
    pub private_pem: Vec<u8>,
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA, EC or OKP public key.
pub fn thumbprint(jwk: &Jwk) -> anyhow::Result<String> {
    let member = |name: &str| -> anyhow::Result<String> {
        jwk.parameter(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .with_context(|| format!("JWK has no {name}"))
    };
    // The required members in lexicographic order, no whitespace (RFC 7638 §3.2).
    let canonical = match jwk.key_type() {
        "RSA" => serde_json::json!({ "e": member("e")?, "kty": "RSA", "n": member("n")? }),
        "EC" => serde_json::json!({
            "crv": member("crv")?, "kty": "EC", "x": member("x")?, "y": member("y")?,
        }),
        "OKP" => serde_json::json!({ "crv": member("crv")?, "kty": "OKP", "x": member("x")? }),
        other => anyhow::bail!("unsupported key type {other:?}"),
    };
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.to_string().as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 §3.1 example key.
        let jwk = Jwk::from_bytes(br#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // RFC 8037 Appendix A.3: the Ed25519 example key's thumbprint.
        let okp = Jwk::from_bytes(
            br#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .unwrap();
        assert_eq!(
            thumbprint(&okp).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn every_algorithm_generates_signs_and_verifies() {
        for alg in ALL {
            let key = alg.generate(2048).unwrap();
            let jwk = Jwk::from_bytes(key.public_jwk.as_bytes()).unwrap();
            assert_eq!(jwk.algorithm(), Some(alg.name()));
            assert_eq!(jwk.key_id(), Some(key.kid.as_str()));
            assert!(
                jwk.parameter("d").is_none(),
                "private part in the public JWK"
            );
            assert_eq!(
                alg.public_jwk_of_pem(&key.private_pem).unwrap().key_id(),
                Some(key.kid.as_str())
            );
            let signer = alg.signer_from_pem(&key.private_pem).unwrap();
            let sig = signer.sign(b"message").unwrap();
            let verifier = alg.verifier_from_jwk(&jwk).unwrap();
            verifier.verify(b"message", &sig).unwrap();
            assert!(verifier.verify(b"massage", &sig).is_err());
        }
        assert!(Alg::RS256
            .public_jwk_of_pem(&Alg::ES256.generate(0).unwrap().private_pem)
            .is_err());
        assert!(Alg::PS256
            .public_jwk_of_pem(&Alg::ES256.generate(0).unwrap().private_pem)
            .is_err());
        assert!("HS256".parse::<Alg>().is_err() && "none".parse::<Alg>().is_err());
    }

    #[test]
    fn ps256_is_an_rsa_key_signing_with_pss() {
        assert_eq!("PS256".parse::<Alg>().unwrap(), Alg::PS256);
        let key = Alg::PS256.generate(2048).unwrap();
        let jwk = Jwk::from_bytes(key.public_jwk.as_bytes()).unwrap();
        assert_eq!((jwk.key_type(), jwk.algorithm()), ("RSA", Some("PS256")));
        let signer = Alg::PS256.signer_from_pem(&key.private_pem).unwrap();
        let sig = signer.sign(b"message").unwrap();
        // PSS is randomized: two signatures of one message differ, and both verify.
        assert_ne!(sig, signer.sign(b"message").unwrap());
        Alg::PS256
            .verifier_from_jwk(&jwk)
            .unwrap()
            .verify(b"message", &sig)
            .unwrap();
        // The same RSA public key under RS256 (PKCS#1 v1.5) does not accept a PSS signature.
        let mut as_rs = jwk.clone();
        as_rs.set_algorithm("RS256");
        assert!(RS256
            .verifier_from_jwk(&as_rs)
            .unwrap()
            .verify(b"message", &sig)
            .is_err());
        assert_eq!(
            Alg::PS256.half_hash("x"),
            Alg::RS256.half_hash("x"),
            "SHA-256"
        );
    }
}
