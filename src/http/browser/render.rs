//! How a page that a theme may override is rendered: [`page`] renders the theme's template of
//! that name (minijinja) when the request's theme has one, else the built-in askama template
//! (`pages::render`). A page opts in by implementing [`Themable`] (serde's `Serialize` is the
//! data the theme's template gets; `Default` is the sample the theme is checked against at
//! load); pages that do not go through `pages::render` unchanged.
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

use super::pages;
use crate::i18n::Lang;

pub trait Themable: askama::Template + Serialize + Default {
    /// The template's name, in `templates/` and in a theme's `templates/`.
    const TEMPLATE: &'static str;

    /// The page's language (`<html lang>` and `t(…)` in a theme's template).
    fn lang(&self) -> Lang;
}

/// Sends `page` with `status`: the theme's template when it has one, else the built-in one. A
/// theme template that fails at run time (it was checked at load) falls back to the built-in
/// page, logged.
pub fn page<P: Themable>(status: StatusCode, page: &P) -> HttpResponse {
    let themed = crate::ui::with(|ui| {
        let theme = ui.theme().filter(|t| t.has_template(P::TEMPLATE))?;
        let data = minijinja::Value::from_serialize(page);
        match theme.render(P::TEMPLATE, data, page.lang(), ui) {
            Ok(html) => Some(html),
            Err(e) => {
                tracing::error!(template = P::TEMPLATE, error = %format!("{e:#}"), "theme template failed: the built-in page is shown");
                None
            }
        }
    });
    match themed {
        Some(html) => pages::send(status, html),
        None => pages::render(status, page),
    }
}

/// Each themable page's template name with sample data (its `Default`), for the theme check.
pub fn samples() -> Vec<(&'static str, minijinja::Value)> {
    fn sample<P: Themable>() -> (&'static str, minijinja::Value) {
        (P::TEMPLATE, minijinja::Value::from_serialize(P::default()))
    }
    use super::device::DevicePage;
    use super::mfa::MfaPage;
    use pages::*;
    vec![
        sample::<LoginPage>(),
        sample::<RegisterPage>(),
        sample::<LinkPage>(),
        sample::<EmailRequestPage>(),
        sample::<ResetPage>(),
        sample::<NoticePage>(),
        sample::<ConsentPage>(),
        sample::<ErrorPage>(),
        sample::<LogoutPage>(),
        sample::<MessagePage>(),
        sample::<MfaPage>(),
        sample::<DevicePage>(),
    ]
}

/// `impl Themable` for page structs: `themable!(LoginPage => "login.html", t)` for a page with
/// a `t: Tr` field, `themable!(LinkPage => "link.html")` for an English one.
macro_rules! themable {
    ($page:ty => $template:literal, t) => {
        impl $crate::http::browser::render::Themable for $page {
            const TEMPLATE: &'static str = $template;
            fn lang(&self) -> $crate::i18n::Lang {
                self.t.lang
            }
        }
    };
    ($page:ty => $template:literal) => {
        impl $crate::http::browser::render::Themable for $page {
            const TEMPLATE: &'static str = $template;
            fn lang(&self) -> $crate::i18n::Lang {
                $crate::i18n::Lang::En
            }
        }
    };
}
pub(crate) use themable;

#[cfg(test)]
mod tests {
    use askama::Template;

    use super::pages::LoginPage;
    use crate::i18n::{Lang, Tr};

    /// The page around `<main>`, whitespace collapsed.
    fn frame(html: &str) -> (String, String) {
        let collapse = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let head = html.split("<main").next().unwrap_or("");
        let tail = html.rsplit("</main>").next().unwrap_or("");
        (collapse(head), collapse(tail))
    }

    #[test]
    fn the_theme_layout_matches_the_built_in_one() {
        let page = LoginPage {
            t: Tr::new(Lang::De),
            ..LoginPage::default()
        };
        let builtin = page.render().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("templates/login.html");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            "{% extends \"base.html\" %}{% block title %}{{ t(\"login-title\") }}{% endblock %}",
        )
        .unwrap();
        let theme = crate::ui::Theme::load(dir.path()).unwrap();
        let themed = theme
            .render(
                "login.html",
                minijinja::Value::from_serialize(&page),
                Lang::De,
                crate::ui::builtin(),
            )
            .unwrap();
        assert_eq!(frame(&themed), frame(&builtin));
    }
}
