//! Choosing a page's language: the first supported tag of OIDC `ui_locales` (space-separated,
//! in preference order), else the supported tag of `Accept-Language` with the highest q-value
//! (RFC 9110 §12.5.4; ties keep the header's order), else English.
use super::Lang;

pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(lang) = ui_locales
        .into_iter()
        .flat_map(|v| v.split_whitespace())
        .find_map(Lang::from_tag)
    {
        return lang;
    }
    accept_language.and_then(best_accepted).unwrap_or(Lang::En)
}

/// The supported language an `Accept-Language` header prefers most, if any (`q=0`: not
/// acceptable; `*`: no particular language).
fn best_accepted(header: &str) -> Option<Lang> {
    let mut best: Option<(Lang, u16)> = None;
    for item in header.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .map_or(Some(1000), quality);
        let (Some(lang), Some(q)) = (Lang::from_tag(tag), q) else {
            continue;
        };
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((lang, q));
        }
    }
    best.map(|(lang, _)| lang)
}

/// A q-value in thousandths (`0.5` → 500), `None` when malformed.
fn quality(raw: &str) -> Option<u16> {
    let value: f32 = raw.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_come_first_in_their_order() {
        assert_eq!(negotiate(Some("de"), Some("en")), Lang::De);
        assert_eq!(negotiate(Some("fr de"), None), Lang::De);
        assert_eq!(negotiate(Some("fr-CA  de-AT en"), None), Lang::De);
        assert_eq!(negotiate(Some("en de"), Some("de")), Lang::En);
        assert_eq!(negotiate(Some("fr"), Some("de")), Lang::De);
        assert_eq!(negotiate(Some(""), None), Lang::En);
    }

    #[test]
    fn accept_language_honours_q_values() {
        assert_eq!(negotiate(None, Some("de-DE,de;q=0.9,en;q=0.5")), Lang::De);
        assert_eq!(negotiate(None, Some("en;q=0.4, de;q=0.8")), Lang::De);
        assert_eq!(negotiate(None, Some("de;q=0.4, en;q=0.8")), Lang::En);
        assert_eq!(negotiate(None, Some("fr, de;q=0.1")), Lang::De);
        assert_eq!(negotiate(None, Some("de;q=0, fr")), Lang::En);
        assert_eq!(negotiate(None, Some("en-US")), Lang::En);
        assert_eq!(negotiate(None, Some("DE-at")), Lang::De);
    }

    #[test]
    fn otherwise_english() {
        assert_eq!(negotiate(None, None), Lang::En);
        assert_eq!(negotiate(None, Some("fr")), Lang::En);
        assert_eq!(negotiate(None, Some("*")), Lang::En);
        assert_eq!(negotiate(None, Some("de;q=2")), Lang::En);
        assert_eq!(negotiate(None, Some(";;,,")), Lang::En);
    }
}
