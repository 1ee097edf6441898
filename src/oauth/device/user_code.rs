//! User codes (RFC 8628 §6.1): eight characters a person reads off a screen and types, from
//! RFC 8628's alphabet of 20 consonants (no digits, so no 0/O or 1/I mix-ups; no vowels, so no
//! words), shown as `XXXX-XXXX`. Typed codes are
//! matched case-insensitively, ignoring dashes and spaces. 20⁸ ≈ 2³⁴·⁶ codes: guessing one of
//! the few live ones is what the guess budget of `/device` stops.
use crate::tokens::secret;

/// RFC 8628 §6.1's example alphabet: 20 consonants.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Characters in a code (without the dash).
pub const LENGTH: usize = 8;

/// A new random code, normalised (`BCDFGHJK`); `display` groups it.
pub fn generate() -> anyhow::Result<String> {
    let mut code = String::with_capacity(LENGTH);
    while code.len() < LENGTH {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte)
            .map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
        // 240 = 12 × 20: bytes above it are dropped so every character is equally likely.
        if byte[0] < 240 {
            code.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    Ok(code)
}

/// A normalised code as shown to people: `BCDF-GHJK`.
pub fn display(code: &str) -> String {
    if code.len() == LENGTH && code.is_ascii() {
        format!("{}-{}", &code[..LENGTH / 2], &code[LENGTH / 2..])
    } else {
        code.to_string()
    }
}

/// What a person typed, normalised: upper case, without dashes and white space; `None` when it
/// cannot be a code (wrong length or a character outside the alphabet).
pub fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// The stored form of a normalised code.
pub fn hash(code: &str) -> String {
    secret::hash_secret(&format!("user_code:{code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_characters_of_the_alphabet_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), LENGTH);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
        // No digits and no vowels: no 0/O or 1/I mix-ups, no words.
        assert!(!ALPHABET
            .iter()
            .any(|c| c.is_ascii_digit() || b"AEIOUY".contains(c)));
    }

    #[test]
    fn every_character_of_the_alphabet_turns_up() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.extend(generate().unwrap().bytes());
        }
        assert_eq!(seen.len(), ALPHABET.len());
    }

    #[test]
    fn display_groups_by_four() {
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
        assert_eq!(display("short"), "short");
    }

    #[test]
    fn typed_codes_are_matched_ignoring_case_dashes_and_spaces() {
        for typed in [
            "BCDF-GHJK",
            "bcdf-ghjk",
            " bcdf ghjk ",
            "BcDfGhJk",
            "B-C-D-F-G-H-J-K",
        ] {
            assert_eq!(normalize(typed).as_deref(), Some("BCDFGHJK"), "{typed:?}");
        }
        assert_eq!(hash("BCDFGHJK"), hash(&normalize("bcdf-ghjk").unwrap()));
        assert_ne!(hash("BCDFGHJK"), hash("BCDFGHJM"));
    }

    #[test]
    fn what_cannot_be_a_code_is_refused() {
        for typed in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF-GHJA",
            "BCDF-GHJ0",
            "BCDF_GHJK",
            "ВCDF-GHJK",
        ] {
            assert_eq!(normalize(typed), None, "{typed:?}");
        }
    }
}
