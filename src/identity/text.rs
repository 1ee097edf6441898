//! Which characters text from outside may carry. One rule for every edge (form and query
//! parameters in `oauth::Params`, JSON bodies in `http::json`): no control characters at all —
//! C0 (tab and newline included: no field needs them), DEL and C1 — since PostgreSQL text can't
//! hold NUL and nothing we store or show should carry terminal escapes. Names shown to people
//! (users, API keys, clients) may in addition carry no bidi override or isolate characters,
//! which can make a name read as another one.

/// A character no text field accepts: Unicode category Cc (C0, DEL, C1).
pub fn is_refused_control(c: char) -> bool {
    c.is_control()
}

/// Whether `s` holds a character no text field accepts.
pub fn has_control(s: &str) -> bool {
    s.chars().any(is_refused_control)
}

/// A bidi embedding/override (U+202A–U+202E) or isolate (U+2066–U+2069) character.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks a name shown to people (`what` names the field in the message): 1 to `max`
/// characters once trimmed, no control characters (ESC among them), no bidi controls.
pub fn check_name(what: &str, name: &str, max: usize) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > max {
        return Err(format!("{what} must be 1 to {max} characters"));
    }
    if has_control(name) {
        return Err(format!("{what} must not contain control characters"));
    }
    if name.chars().any(is_bidi_control) {
        return Err(format!(
            "{what} must not contain bidi override or isolate characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_c0_del_and_c1() {
        for c in [
            '\0', '\t', '\n', '\r', '\u{1B}', '\u{7F}', '\u{80}', '\u{9B}', '\u{9F}',
        ] {
            assert!(is_refused_control(c), "{c:?}");
        }
        for c in [' ', 'a', 'é', '\u{A0}', '\u{202E}', '\u{200B}'] {
            assert!(!is_refused_control(c), "{c:?}");
        }
    }

    #[test]
    fn names_refuse_escapes_and_bidi_controls() {
        assert!(check_name("name", " Ada Lovelace ", 100).is_ok());
        assert!(check_name("name", "שלום עולם", 100).is_ok());
        for bad in [
            "",
            "   ",
            "a\u{1B}[31m",
            "evil\u{202E}gpj.exe",
            "x\u{2066}y",
            "a\u{85}b",
        ] {
            assert!(check_name("name", bad, 100).is_err(), "{bad:?}");
        }
        assert!(check_name("name", &"x".repeat(101), 100).is_err());
    }
}
