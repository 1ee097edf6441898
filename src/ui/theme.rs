//! A theme directory: `templates/*.html` (minijinja: askama compiles its templates into the
//! binary and cannot load one at run time), `static/*` and `locales/<lang>/main.ftl`, read into
//! memory at once and checked (syntax, variables, a trial render) so that a broken theme stops
//! the start, or is refused on reload, never fails a request.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use minijinja::value::Kwargs;
use minijinja::{AutoEscape, Environment, Value};

use super::assets::{self, Asset};
use crate::i18n::{self, Catalogs, Lang};

/// The layout a theme's page extends when the theme has no `base.html` of its own: the built-in
/// `templates/base.html`, written for minijinja.
const BASE: &str = include_str!("../../templates/theme/base.html");

pub struct Theme {
    dir: PathBuf,
    env: Environment<'static>,
    /// The theme's own templates, by name (`login.html`).
    templates: Vec<String>,
    assets: HashMap<String, Asset>,
    messages: Option<Catalogs>,
}

impl Theme {
    pub fn load(dir: &Path) -> anyhow::Result<Theme> {
        if !dir.is_dir() {
            bail!("ui.theme_dir {}: not a directory", dir.display());
        }
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        let mut templates = Vec::new();
        let mut sources = Vec::new();
        read_templates(&dir.join("templates"), "", &mut sources)?;
        for (name, path, source) in &sources {
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|e| anyhow::anyhow!("{}", super::check::located(path, &e)))?;
            templates.push(name.clone());
        }
        if !templates.iter().any(|t| t == "base.html") {
            env.add_template("base.html", BASE)
                .context("the built-in theme layout")?;
        }
        let theme = Theme {
            dir: dir.to_path_buf(),
            env,
            templates,
            assets: assets::read_dir(&dir.join("static"))?.into_iter().collect(),
            messages: read_locales(&dir.join("locales"))?,
        };
        super::check::templates(&theme, &sources)?;
        Ok(theme)
    }

    pub(super) fn env(&self) -> &Environment<'static> {
        &self.env
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn has_template(&self, name: &str) -> bool {
        self.templates.iter().any(|t| t == name)
    }

    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.get(name)
    }

    pub fn messages(&self) -> Option<&Catalogs> {
        self.messages.as_ref()
    }

    /// Renders the theme's template `name` with a page's data (`page`, serialized) and what every
    /// page gets: `lang`, `product_name`, `secured_by`, `logo` and `t(id, name=value…)`.
    pub fn render(
        &self,
        name: &str,
        page: Value,
        lang: Lang,
        ui: &super::Ui,
    ) -> Result<String, minijinja::Error> {
        let secured_by = match &ui.secured_by {
            Some(line) => Value::from(line.clone()),
            None => Value::from_safe_string(ui.secured_by(lang)),
        };
        let ctx = minijinja::context! {
            lang => lang.code(),
            product_name => ui.product_name(),
            secured_by => secured_by,
            logo => ui.logo(),
            t => Value::from_function(move |id: &str, kwargs: Kwargs| translate(lang, id, kwargs)),
            ..page
        };
        self.env.get_template(name)?.render(ctx)
    }
}

/// `t("id", name=value)`: the message in the page's language, its arguments escaped (messages
/// may hold markup, as in the built-in templates).
fn translate(lang: Lang, id: &str, kwargs: Kwargs) -> Result<Value, minijinja::Error> {
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        let text = match value.as_str() {
            Some(s) => s.to_string(),
            None => value.to_string(),
        };
        args.push((name.to_string(), i18n::escape_html(&text)));
    }
    let args: Vec<(&str, &str)> = args.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    Ok(Value::from_safe_string(i18n::text(lang, id, &args)))
}

/// The `.html` files under `dir`, named by their path below it (`admin/users.html`).
fn read_templates(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(String, PathBuf, String)>,
) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let file = entry.file_name().to_string_lossy().into_owned();
        if !assets::safe_name(&file) {
            continue;
        }
        if path.is_dir() {
            read_templates(&path, &format!("{prefix}{file}/"), out)?;
        } else if file.ends_with(".html") {
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            out.push((format!("{prefix}{file}"), path, source));
        }
    }
    Ok(())
}

/// `locales/<lang>/main.ftl` for the languages we ship (another language is an error: the pages
/// cannot be shown in it).
fn read_locales(dir: &Path) -> anyhow::Result<Option<Catalogs>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut sources: HashMap<Lang, String> = HashMap::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        let Some(lang) = Lang::ALL.into_iter().find(|l| l.code() == name) else {
            let known: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
            bail!(
                "{}: no such language (the pages are written in {})",
                entry.path().display(),
                known.join(", ")
            );
        };
        let file = entry.path().join("main.ftl");
        if file.is_file() {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            Catalogs::parse_one(lang, &text).with_context(|| file.display().to_string())?;
            sources.insert(lang, text);
        }
    }
    if sources.is_empty() {
        return Ok(None);
    }
    let source = |l: Lang| sources.get(&l).map_or("", String::as_str);
    Ok(Some(Catalogs::parse(source(Lang::En), source(Lang::De))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(files: &[(&str, &str)]) -> (tempfile::TempDir, anyhow::Result<Theme>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let theme = Theme::load(dir.path());
        (dir, theme)
    }

    fn login(theme: &Theme, lang: Lang) -> String {
        let page = Value::from_serialize(crate::http::browser::pages::LoginPage {
            client_name: Some("<App>".into()),
            ..Default::default()
        });
        theme
            .render("login.html", page, lang, crate::ui::builtin())
            .unwrap()
    }

    #[test]
    fn a_theme_page_extends_the_themes_base_or_the_built_in_one() {
        let page =
            "{% extends \"base.html\" %}{% block content %}<p>{{ client_name }}</p>{% endblock %}";
        let (_dir, own) = theme(&[
            ("templates/login.html", page),
            (
                "templates/base.html",
                "<html lang=\"{{ lang }}\"><b>{{ product_name }}</b>{% block content %}{% endblock %}</html>",
            ),
        ]);
        assert_eq!(
            login(&own.unwrap(), Lang::De),
            "<html lang=\"de\"><b>Portcullis</b><p>&lt;App&gt;</p></html>"
        );
        let (_dir, builtin) = theme(&[("templates/login.html", page)]);
        let html = login(&builtin.unwrap(), Lang::De);
        assert!(
            html.starts_with("<!doctype html>\n<html lang=\"de\">"),
            "{html}"
        );
        assert!(
            html.contains("<title>Portcullis · Portcullis</title>"),
            "{html}"
        );
        assert!(html.contains("<p>&lt;App&gt;</p>"), "{html}");
        assert!(
            html.contains("<footer class=\"site-footer\">Geschützt durch Portcullis</footer>"),
            "{html}"
        );
    }

    #[test]
    fn messages_escape_their_arguments() {
        let (_dir, t) = theme(&[(
            "templates/login.html",
            "{{ t(\"login-continue-with\", provider=client_name) }}",
        )]);
        assert_eq!(login(&t.unwrap(), Lang::En), "Continue with &#60;App&#62;");
    }

    #[test]
    fn a_broken_theme_names_the_file_and_line() {
        let (dir, t) = theme(&[("templates/error.html", "ok\n{{ title }\n")]);
        let err = format!("{:#}", t.err().unwrap());
        let file = dir.path().join("templates/error.html");
        assert!(
            err.starts_with(&format!("{}:2: syntax error", file.display())),
            "{err}"
        );
        let (dir, t) = theme(&[("templates/partials/head.html", "{{ nonsense }}")]);
        let err = format!("{:#}", t.err().unwrap());
        let file = dir.path().join("templates/partials/head.html");
        assert!(
            err.starts_with(&format!(
                "{}:1: unknown variable `nonsense`",
                file.display()
            )),
            "{err}"
        );
        // A page's own fields are known to its template only.
        let (_dir, t) = theme(&[("templates/error.html", "{{ csrf_token }}")]);
        assert!(format!("{:#}", t.err().unwrap()).contains("unknown variable `csrf_token`"));
        let (_dir, t) = theme(&[("templates/login.html", "{{ csrf_token }}{{ lang }}")]);
        assert!(t.is_ok());
    }
}
