//! The pages' languages: Project Fluent message catalogs (`locales/<lang>/main.ftl`, embedded in
//! the binary), the choice of a language per request (`negotiate`: OIDC `ui_locales`, then
//! `Accept-Language`, else English) and message lookup that never fails: a message missing in a
//! language comes from English, one missing in English is shown as its id (both logged).
//!
//! The catalogs are parsed once, on first use; `startup` calls [`check`] so that a broken
//! catalog stops the server at start rather than showing message ids. They are process-wide
//! (not in `AppState`) because error pages are rendered where no application state is at hand
//! (`actix_web::ResponseError`).
mod negotiate;

use std::sync::OnceLock;

use askama::filters::HtmlSafeOutput;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

pub use negotiate::negotiate;

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    De,
}

impl Lang {
    /// Every supported language, the default first (discovery's `ui_locales_supported`).
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// The BCP 47 tag (`<html lang>`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The supported language a BCP 47 tag asks for, by its primary subtag (`de-AT` → `de`).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }
}

/// The English catalog and the others' sources.
const ENGLISH: &str = include_str!("../../locales/en/main.ftl");
const GERMAN: &str = include_str!("../../locales/de/main.ftl");

type Bundle = FluentBundle<FluentResource>;

/// One parsed catalog per language.
pub struct Catalogs {
    en: Bundle,
    de: Bundle,
}

impl Catalogs {
    /// Parses catalogs from their sources; a syntax error names the language.
    pub fn parse(english: &str, german: &str) -> anyhow::Result<Catalogs> {
        Ok(Catalogs {
            en: bundle(Lang::En, english)?,
            de: bundle(Lang::De, german)?,
        })
    }

    /// Checks one language's catalog (a theme's file), naming the line at fault.
    pub fn parse_one(lang: Lang, source: &str) -> anyhow::Result<()> {
        bundle(lang, source).map(|_| ())
    }

    /// Whether any language has the message `id`.
    pub fn has(&self, id: &str) -> bool {
        self.en.has_message(id) || self.de.has_message(id)
    }

    fn bundle(&self, lang: Lang) -> &Bundle {
        match lang {
            Lang::En => &self.en,
            Lang::De => &self.de,
        }
    }

    /// The message `id` in `lang` with its arguments, as plain text; from English when `lang`
    /// lacks it, else the id itself.
    pub fn text(&self, lang: Lang, id: &str, args: &[(&str, &str)]) -> String {
        self.text_over(None, lang, id, args)
    }

    /// Like [`Catalogs::text`], a theme's catalogs (`overlay`) first in each language: the
    /// theme's in `lang`, ours in `lang`, the theme's in English, ours in English.
    pub fn text_over(
        &self,
        overlay: Option<&Catalogs>,
        lang: Lang,
        id: &str,
        args: &[(&str, &str)],
    ) -> String {
        let find = |l: Lang| {
            overlay
                .and_then(|o| format(o.bundle(l), id, args))
                .or_else(|| format(self.bundle(l), id, args))
        };
        if let Some(text) = find(lang) {
            return text;
        }
        if lang != Lang::En {
            tracing::warn!(lang = lang.code(), id, "message missing: shown in English");
            if let Some(text) = find(Lang::En) {
                return text;
            }
        }
        tracing::error!(id, "message missing in English: shown as its id");
        id.to_string()
    }
}

fn bundle(lang: Lang, source: &str) -> anyhow::Result<Bundle> {
    let resource = FluentResource::try_new(source.to_string()).map_err(|(_, errors)| {
        let line = errors.first().map_or(1, |e| {
            line_of(source, e.slice.as_ref().unwrap_or(&e.pos).start)
        });
        anyhow::anyhow!(
            "the {} catalog does not parse (line {line}): {errors:?}",
            lang.code()
        )
    })?;
    let id: unic_langid::LanguageIdentifier = lang
        .code()
        .parse()
        .map_err(|e| anyhow::anyhow!("language tag {}: {e}", lang.code()))?;
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the pages are HTML in one direction.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .map_err(|errors| anyhow::anyhow!("the {} catalog: {errors:?}", lang.code()))?;
    Ok(bundle)
}

/// The 1-based line of a byte offset.
fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Formats a message of a bundle, `None` when the bundle has no such message (or no value).
fn format(bundle: &Bundle, id: &str, args: &[(&str, &str)]) -> Option<String> {
    let pattern = bundle.get_message(id)?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        // Whole numbers as numbers, so that plural variants (`[one]`) select on them.
        match value.parse::<i64>() {
            Ok(n) => fluent_args.set(*name, n),
            Err(_) => fluent_args.set(*name, *value),
        }
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(id, ?errors, "message formatted with errors");
    }
    Some(text.into_owned())
}

static CATALOGS: OnceLock<Option<Catalogs>> = OnceLock::new();

/// The built-in catalogs (`None` if they did not parse: every message is then its id).
fn catalogs() -> Option<&'static Catalogs> {
    CATALOGS
        .get_or_init(|| match Catalogs::parse(ENGLISH, GERMAN) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, "the message catalogs do not parse");
                None
            }
        })
        .as_ref()
}

/// Parses the built-in catalogs now (at start): an error when they are broken.
pub fn check() -> anyhow::Result<()> {
    Catalogs::parse(ENGLISH, GERMAN)?;
    catalogs();
    Ok(())
}

/// The message `id` in `lang`, as plain text (escape it where it goes into HTML); the request's
/// theme's catalogs first (`crate::ui`).
pub fn text(lang: Lang, id: &str, args: &[(&str, &str)]) -> String {
    match catalogs() {
        Some(c) => crate::ui::with(|ui| c.text_over(ui.messages(), lang, id, args)),
        None => id.to_string(),
    }
}

/// What a page's template translates with: `{{ t.get("id") }}` (the catalogs are ours and may
/// hold markup: not escaped), `{{ t.with("id", "name", value) }}` (the argument is escaped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// For the pages not translated yet (account pages, the device page): English.
    pub fn english() -> Tr {
        Tr { lang: Lang::En }
    }

    /// `<html lang>`.
    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn get(&self, id: &str) -> HtmlSafeOutput<String> {
        HtmlSafeOutput(text(self.lang, id, &[]))
    }

    pub fn with(&self, id: &str, name: &str, value: &str) -> HtmlSafeOutput<String> {
        HtmlSafeOutput(text(self.lang, id, &[(name, &escape_html(value))]))
    }

    /// Like [`Tr::with`], with two arguments.
    pub fn with2(
        &self,
        id: &str,
        name: &str,
        value: &str,
        name2: &str,
        value2: &str,
    ) -> HtmlSafeOutput<String> {
        let (value, value2) = (escape_html(value), escape_html(value2));
        HtmlSafeOutput(text(self.lang, id, &[(name, &value), (name2, &value2)]))
    }

    /// Plain text (for values a template escapes itself).
    pub fn text(&self, id: &str, args: &[(&str, &str)]) -> String {
        text(self.lang, id, args)
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&#38;"),
            '<' => out.push_str("&#60;"),
            '>' => out.push_str("&#62;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_missing_in_german_comes_from_english_then_as_its_id() {
        let catalogs = Catalogs::parse(
            "greeting = Hello, { $name }\nonly-english = Only in English\n",
            "greeting = Hallo, { $name }\n",
        )
        .unwrap();
        assert_eq!(
            catalogs.text(Lang::De, "greeting", &[("name", "Ada")]),
            "Hallo, Ada"
        );
        assert_eq!(
            catalogs.text(Lang::De, "only-english", &[]),
            "Only in English"
        );
        assert_eq!(catalogs.text(Lang::De, "nowhere", &[]), "nowhere");
        assert_eq!(catalogs.text(Lang::En, "nowhere", &[]), "nowhere");
    }

    #[test]
    fn a_broken_catalog_is_an_error() {
        assert!(Catalogs::parse("ok = fine\n", "broken = { \n").is_err());
    }

    #[test]
    fn the_shipped_german_catalog_has_every_english_message() {
        let en = FluentResource::try_new(ENGLISH.to_string()).unwrap();
        let catalogs = Catalogs::parse(ENGLISH, GERMAN).unwrap();
        for entry in en.entries() {
            if let fluent_syntax::ast::Entry::Message(m) = entry {
                assert!(
                    catalogs.de.has_message(m.id.name),
                    "German lacks {}",
                    m.id.name
                );
            }
        }
    }

    #[test]
    fn arguments_in_templates_are_escaped() {
        let t = Tr::new(Lang::En);
        assert_eq!(
            t.with("login-continue-with", "provider", "<b>'x'</b>").0,
            "Continue with &#60;b&#62;&#39;x&#39;&#60;/b&#62;"
        );
    }
}
