//! Email addresses as account names: syntax, and the rules against lookalikes.
//!
//! - The domain is IDNA-processed (UTS 46, `idna::domain_to_ascii_strict`: mapping, NFC,
//!   lowercase, the IDNA validity rules); an internationalised domain is stored in its **ASCII
//!   form** (`xn--…`), so `bücher.example`, `BÜCHER.example` and `xn--bcher-kva.example` are one
//!   account (lookups ignore ASCII case), and a lookalike Unicode domain is plain to see in
//!   lists and logs. An ASCII domain is stored as typed. An invalid IDN is refused.
//! - The local part is kept as typed (it is the mailbox owner's to interpret), but every
//!   non-ASCII character in it must be one UTS 39 allows in identifiers (no invisible, format,
//!   joiner, deprecated or obsolete characters), and the local part must be single-script
//!   (`раураl` — Cyrillic letters among Latin ones — is refused).
//!
//! `normalise` is the one rule: registration (API, page, `user create`), upstream sign-in and
//! every lookup by email go through it.
use unicode_security::{GeneralSecurityProfile, MixedScript};

/// The stored form of `raw` (trimmed, domain in ASCII), or why it is not acceptable.
pub fn normalise(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    let invalid = || format!("{email:?} is not a valid email address");
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    if local.is_empty() || domain.is_empty() {
        return Err(invalid());
    }
    let ascii = idna::domain_to_ascii_strict(domain)
        .map_err(|_| format!("{email:?} has an invalid domain name"))?;
    // An ASCII domain keeps its spelling (plain addresses are stored as typed; lookups ignore
    // case); an internationalised one is stored as its A-label form.
    let domain = if domain.is_ascii() { domain } else { &ascii };
    check_local_part(local).map_err(|why| format!("{email:?}: {why}"))?;
    let normalised = format!("{local}@{domain}");
    if normalised.len() > 254 || !email_address::EmailAddress::is_valid(&normalised) {
        return Err(invalid());
    }
    Ok(normalised)
}

fn check_local_part(local: &str) -> Result<(), &'static str> {
    if local.is_ascii() {
        return Ok(());
    }
    let refused = |c: char| {
        !c.is_ascii() && (!c.identifier_allowed() || matches!(c, '\u{200c}' | '\u{200d}'))
    };
    if local.chars().any(refused) {
        return Err("the part before @ contains invisible or unusual characters");
    }
    if !local.is_single_script() {
        return Err("the part before @ mixes scripts (e.g. Latin with Cyrillic)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn plain_ascii_is_unchanged() {
        assert_eq!(
            normalise(" Ada.L+x@Example.com ").unwrap(),
            "Ada.L+x@Example.com"
        );
        assert_eq!(normalise("ada@example.com").unwrap(), "ada@example.com");
        assert!(normalise("not-an-email").is_err());
        assert!(normalise("@example.com").is_err());
        assert!(normalise("a@").is_err());
    }

    #[test]
    fn idn_domains_are_stored_in_ascii() {
        let want = "user@xn--bcher-kva.example";
        assert_eq!(normalise("user@bücher.example").unwrap(), want);
        assert_eq!(normalise("user@BÜCHER.example").unwrap(), want);
        assert_eq!(normalise("user@xn--bcher-kva.example").unwrap(), want);
        assert!(normalise("user@xn--a.example").is_err(), "invalid punycode");
        assert!(normalise("user@exa_mple.com").is_err());
    }

    #[test]
    fn mixed_script_or_invisible_local_parts_are_refused() {
        // Cyrillic р, а, у among Latin l.
        let err = normalise("раураl@example.com").unwrap_err();
        assert!(err.contains("mixes scripts"), "{err}");
        for invisible in [
            "pay\u{200b}pal",
            "pay\u{200d}pal",
            "pay\u{ad}pal",
            "pa\u{202e}yl",
        ] {
            let err = normalise(&format!("{invisible}@example.com")).unwrap_err();
            assert!(err.contains("invisible"), "{invisible:?}: {err}");
        }
        // One script, non-ASCII: fine.
        assert_eq!(normalise("józef@example.com").unwrap(), "józef@example.com");
        assert_eq!(normalise("иван@example.com").unwrap(), "иван@example.com");
    }
}
