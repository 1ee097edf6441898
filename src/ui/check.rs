//! A theme's templates checked when loaded: each variable a template names must be one its page
//! gets (a typo would otherwise show nothing), and each page template must render with sample
//! data. Errors name the file and line.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use minijinja::Value;

use super::theme::Theme;
use crate::i18n::Lang;

/// What every theme template gets besides its page's data (and minijinja's own names).
pub const COMMON: &[&str] = &["lang", "product_name", "secured_by", "logo", "t"];
const LANGUAGE: &[&str] = &["loop", "super", "self", "caller", "varargs", "kwargs"];

/// `file:line: error` for a minijinja error in the template at `path`.
pub fn located(path: &Path, e: &minijinja::Error) -> String {
    let line = e.line().unwrap_or(1);
    let detail = e.detail().unwrap_or("");
    format!("{}:{line}: {}: {detail}", path.display(), e.kind())
}

pub fn templates(theme: &Theme, sources: &[(String, PathBuf, String)]) -> anyhow::Result<()> {
    let samples = crate::http::browser::render::samples();
    let every_field: BTreeSet<String> = samples.iter().flat_map(|(_, v)| fields(v)).collect();
    let globals: BTreeSet<String> = theme.env().globals().map(|(n, _)| n.to_string()).collect();
    for (name, path, source) in sources {
        let template = theme
            .env()
            .get_template(name)
            .map_err(|e| anyhow::anyhow!("{}", located(path, &e)))?;
        let page = samples.iter().find(|(n, _)| n == name);
        let own = page.map(|(_, v)| fields(v));
        let allowed = |var: &str| {
            COMMON.contains(&var)
                || LANGUAGE.contains(&var)
                || globals.contains(var)
                || own.as_ref().unwrap_or(&every_field).contains(var)
        };
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !allowed(v))
            .collect();
        unknown.sort();
        if let Some(var) = unknown.first() {
            let offered: Vec<String> = COMMON
                .iter()
                .map(|s| s.to_string())
                .chain(own.unwrap_or_default())
                .collect();
            anyhow::bail!(
                "{}:{}: unknown variable `{var}` (this template gets: {})",
                path.display(),
                line_of(source, var),
                offered.join(", ")
            );
        }
        if let Some((_, sample)) = page {
            for lang in Lang::ALL {
                theme
                    .render(name, sample.clone(), lang, super::builtin())
                    .map_err(|e| anyhow::anyhow!("{}", located(path, &e)))?;
            }
        }
    }
    Ok(())
}

/// The top-level names of a page's data.
fn fields(page: &Value) -> BTreeSet<String> {
    page.try_iter()
        .map(|keys| {
            keys.filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The first line where `word` stands as a whole word in a tag (`{{ … }}` or `{% … %}`).
fn line_of(source: &str, word: &str) -> usize {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut in_tag = false;
    for (i, line) in source.lines().enumerate() {
        let mut rest = line;
        while !rest.is_empty() {
            if !in_tag {
                match rest.find("{{").into_iter().chain(rest.find("{%")).min() {
                    Some(at) => {
                        in_tag = true;
                        rest = &rest[at + 2..];
                    }
                    None => break,
                }
            } else {
                let end = rest.find("}}").into_iter().chain(rest.find("%}")).min();
                let inside = &rest[..end.unwrap_or(rest.len())];
                let found = inside.match_indices(word).any(|(at, _)| {
                    let before = inside[..at].chars().next_back();
                    let after = inside[at + word.len()..].chars().next();
                    !before.is_some_and(|c| is_ident(c) || c == '.') && !after.is_some_and(is_ident)
                });
                if found {
                    return i + 1;
                }
                match end {
                    Some(e) => {
                        in_tag = false;
                        rest = &rest[e + 2..];
                    }
                    None => break,
                }
            }
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_of_a_variable_is_where_a_tag_names_it() {
        let source =
            "<p>usernme</p>\n{{ t(\"x\") }}\n  {% if usernme %}{{ usernme.x }}{% endif %}\n";
        assert_eq!(line_of(source, "usernme"), 3);
        assert_eq!(line_of("{{ a.b }}\n{{ b }}", "b"), 2);
        assert_eq!(line_of("{% if\n  nope %}{% endif %}", "nope"), 2);
    }
}
