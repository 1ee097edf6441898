//! RS256 signing with OpenSSL signing contexts made once and reused.
//!
//! josekit's RS256 signer builds a fresh `EVP_DigestSignInit` context for every signature. On
//! OpenSSL 3.0 that looks the algorithms up by name in the provider store (under its global
//! locks) and creates a provider context each time: work `openssl speed` never does, since it
//! signs in a loop on one context made at the start. This signer does the same: the SHA-256
//! digest is taken here (the `sha2` crate), and the PKCS#1 v1.5 signature over it is made by
//! `EVP_PKEY_sign` on a context initialised once (padding and digest set) and kept in a small
//! pool, one per thread signing at the same moment. The signature is byte for byte the one
//! josekit makes (PKCS#1 v1.5 is deterministic; a test compares them).
use std::fmt;
use std::sync::Mutex;

use josekit::jws::{JwsAlgorithm, JwsSigner, RS256};
use josekit::JoseError;
use openssl::md::Md;
use openssl::pkey::{Id, PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use sha2::{Digest, Sha256};

/// Contexts kept for reuse at most: more than the threads that sign (the signing and database
/// workers); a burst beyond it makes and drops contexts, which is only slower.
const MAX_IDLE: usize = 32;

pub struct Rs256Signer {
    key: PKey<Private>,
    len: usize,
    idle: Mutex<Vec<PkeyCtx<Private>>>,
}

impl Rs256Signer {
    /// A signer of a PKCS#8 or PKCS#1 PEM RSA private key of at least 2048 bits (josekit's rule).
    pub fn from_pem(pem: &[u8]) -> anyhow::Result<Rs256Signer> {
        let key = PKey::private_key_from_pem(pem)?;
        if key.id() != Id::RSA {
            anyhow::bail!("not an RSA private key");
        }
        if key.bits() < 2048 {
            anyhow::bail!("an RS256 key must be at least 2048 bits long");
        }
        let len = key.size();
        let signer = Rs256Signer {
            key,
            len,
            idle: Mutex::new(Vec::new()),
        };
        // Fail at load, not at the first signature, on a key OpenSSL cannot sign with.
        let ctx = signer.context()?;
        signer.put_back(ctx);
        Ok(signer)
    }

    fn context(&self) -> Result<PkeyCtx<Private>, openssl::error::ErrorStack> {
        let mut ctx = PkeyCtx::new(&self.key)?;
        ctx.sign_init()?;
        ctx.set_rsa_padding(Padding::PKCS1)?;
        ctx.set_signature_md(Md::sha256())?;
        Ok(ctx)
    }

    fn take(&self) -> Result<PkeyCtx<Private>, openssl::error::ErrorStack> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(ctx) => Ok(ctx),
            None => self.context(),
        }
    }

    fn put_back(&self, ctx: PkeyCtx<Private>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(ctx);
        }
    }
}

impl fmt::Debug for Rs256Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rs256Signer")
            .field("bits", &self.key.bits())
            .finish_non_exhaustive()
    }
}

impl JwsSigner for Rs256Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &RS256
    }

    fn key_id(&self) -> Option<&str> {
        None
    }

    fn signature_len(&self) -> usize {
        self.len
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let digest = Sha256::digest(message);
        let mut ctx = self
            .take()
            .map_err(|e| JoseError::InvalidSignature(e.into()))?;
        let mut signature = Vec::with_capacity(self.len);
        // A context whose signing failed is dropped, never reused.
        ctx.sign_to_vec(&digest, &mut signature)
            .map_err(|e| JoseError::InvalidSignature(e.into()))?;
        self.put_back(ctx);
        Ok(signature)
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(Rs256Signer {
            key: self.key.clone(),
            len: self.len,
            idle: Mutex::new(Vec::new()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jws::JwsHeader;

    fn pem() -> Vec<u8> {
        RS256.generate_key_pair(2048).unwrap().to_pem_private_key()
    }

    #[test]
    fn signatures_are_josekits_byte_for_byte_and_verify() {
        let pem = pem();
        let ours = Rs256Signer::from_pem(&pem).unwrap();
        let theirs = RS256.signer_from_pem(&pem).unwrap();
        let verifier = RS256
            .verifier_from_jwk(&RS256.key_pair_from_pem(&pem).unwrap().to_jwk_public_key())
            .unwrap();
        for message in [&b""[..], b"a", &[7u8; 5000][..]] {
            let a = ours.sign(message).unwrap();
            assert_eq!(a, theirs.sign(message).unwrap());
            assert_eq!(a.len(), ours.signature_len());
            verifier.verify(message, &a).unwrap();
        }
        // Through josekit's compact serialisation, as `tokens::sign` uses it.
        let mut header = JwsHeader::new();
        header.set_key_id("k");
        let jws = josekit::jws::serialize_compact(b"{\"x\":1}", &header, &ours).unwrap();
        let (payload, _) = josekit::jws::deserialize_compact(&jws, &verifier).unwrap();
        assert_eq!(payload, b"{\"x\":1}");
    }

    #[test]
    fn contexts_are_reused_across_threads_and_bounded() {
        let ours = std::sync::Arc::new(Rs256Signer::from_pem(&pem()).unwrap());
        let expected = ours.sign(b"same").unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                let ours = ours.clone();
                let expected = &expected;
                s.spawn(move || {
                    for _ in 0..5 {
                        assert_eq!(&ours.sign(b"same").unwrap(), expected);
                    }
                });
            }
        });
        let idle = ours.idle.lock().unwrap().len();
        assert!((1..=4).contains(&idle), "{idle} idle contexts");
    }

    #[test]
    fn refuses_what_is_not_an_rsa_key_of_2048_bits() {
        let ec = josekit::jws::ES256
            .generate_key_pair()
            .unwrap()
            .to_pem_private_key();
        assert!(Rs256Signer::from_pem(&ec).is_err());
        let small = openssl::rsa::Rsa::generate(1024).unwrap();
        let small = PKey::from_rsa(small)
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        assert!(Rs256Signer::from_pem(&small).is_err());
        assert!(Rs256Signer::from_pem(b"not a key").is_err());
    }
}
