//! PKCE (RFC 7636) with `S256` only: `plain` would hand the verifier to whoever sees the
//! authorization request, so it is refused.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `code_verifier = 43*128unreserved` (RFC 7636 §4.1).
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge is the unpadded base64url of a SHA-256 digest: exactly 43 characters.
pub fn is_valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|bytes| bytes.len() == 32)
}

pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` answers `challenge` (compared in constant time).
pub fn verify(verifier: &str, challenge: &str) -> bool {
    is_valid_verifier(verifier)
        && bool::from(
            s256_challenge(verifier)
                .as_bytes()
                .ct_eq(challenge.as_bytes()),
        )
}

#[cfg(test)]
#[path = "pkce_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(s256_challenge(verifier), challenge);
        assert!(is_valid_s256_challenge(challenge));
        assert!(verify(verifier, challenge));
    }

    #[test]
    fn refuses_wrong_or_malformed_verifiers() {
        let challenge = s256_challenge(&"a".repeat(43));
        assert!(!verify(&"b".repeat(43), &challenge));
        assert!(!verify(&"a".repeat(42), &s256_challenge(&"a".repeat(42))));
        assert!(!verify(&format!("{}!", "a".repeat(43)), &challenge));
        assert!(!is_valid_s256_challenge("short"));
        assert!(!is_valid_s256_challenge(&"+".repeat(43)));
    }
}
