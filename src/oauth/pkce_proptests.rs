//! Property tests of PKCE (RFC 7636, S256 only).
use proptest::prelude::*;

use super::*;

/// `code_verifier = 43*128unreserved` (RFC 7636 §4.1).
fn verifier() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{43,128}"
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every valid verifier is accepted and answers its own S256 challenge, which is 43
    /// base64url characters (a SHA-256 digest, unpadded) and passes the challenge check.
    #[test]
    fn a_verifier_answers_its_own_challenge(v in verifier()) {
        prop_assert!(is_valid_verifier(&v));
        let challenge = s256_challenge(&v);
        prop_assert_eq!(challenge.len(), 43);
        prop_assert!(challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert!(is_valid_s256_challenge(&challenge));
        prop_assert!(verify(&v, &challenge));
    }

    /// Any other verifier, valid or not, fails the challenge.
    #[test]
    fn another_verifier_fails(v in verifier(), w in prop_oneof![verifier(), "\\PC{0,140}"]) {
        prop_assume!(v != w);
        prop_assert!(!verify(&w, &s256_challenge(&v)));
    }

    /// A challenge changed in one character no longer matches.
    #[test]
    fn a_changed_challenge_fails(v in verifier(), at in 0usize..43, c in "[A-Za-z0-9_-]") {
        let challenge = s256_challenge(&v);
        let mut changed = challenge.clone();
        changed.replace_range(at..at + 1, &c);
        prop_assume!(changed != challenge);
        prop_assert!(!verify(&v, &changed));
    }

    /// `is_valid_verifier` is exactly RFC 7636's grammar on any string, and `verify` refuses
    /// an invalid verifier even with the challenge computed from it. Neither panics.
    #[test]
    fn invalid_verifiers_are_refused(
        s in prop_oneof![
            "[A-Za-z0-9._~-]{0,42}",
            "[A-Za-z0-9._~-]{129,200}",
            "[A-Za-z0-9._~-]{20,60}[^A-Za-z0-9._~-][A-Za-z0-9._~-]{20,60}",
            "\\PC{0,140}",
        ]
    ) {
        let valid = (43..=128).contains(&s.len()) && s.bytes().all(is_unreserved);
        prop_assert_eq!(is_valid_verifier(&s), valid);
        if !valid {
            prop_assert!(!verify(&s, &s256_challenge(&s)));
        }
        let _ = is_valid_s256_challenge(&s);
    }
}
