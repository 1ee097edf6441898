//! What the pages show of the operator (`[ui]`): the product name, the "secured by" line, and a
//! theme directory whose templates, static files and messages override the built-in ones per
//! file (`theme`). docs/THEMES.md is the operator's side of it.
//!
//! A server holds its look in a [`UiHandle`] (read at start, again on SIGHUP); the [`middleware`]
//! makes the one in force the request's (a task-local), so that everything rendering a page,
//! error pages included (`actix_web::ResponseError` renders without the application state),
//! and every message lookup (`i18n::text`) sees it without it being passed down. Outside a
//! request the built-in look applies.
mod assets;
mod check;
mod theme;

use std::sync::{Arc, OnceLock, RwLock};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use askama::filters::HtmlSafeOutput;

pub use assets::{builtin_asset, Asset};
pub use theme::Theme;

use crate::config::UiSettings;
use crate::i18n::{self, Catalogs, Lang};

/// The look in force: settings and theme.
pub struct Ui {
    product_name: String,
    secured_by: Option<String>,
    theme: Option<Theme>,
}

impl Ui {
    /// Reads the theme directory, if any: an error names the file (and line) at fault.
    pub fn load(settings: &UiSettings) -> anyhow::Result<Ui> {
        let theme = settings.theme_dir.as_deref().map(Theme::load).transpose()?;
        Ok(Ui {
            product_name: settings.product_name.trim().to_string(),
            secured_by: settings.secured_by.clone(),
            theme,
        })
    }

    pub fn product_name(&self) -> &str {
        &self.product_name
    }

    pub fn theme(&self) -> Option<&Theme> {
        self.theme.as_ref()
    }

    /// The theme's message catalogs, consulted before ours.
    pub fn messages(&self) -> Option<&Catalogs> {
        self.theme.as_ref().and_then(Theme::messages)
    }

    /// The footer line in `lang` (plain text; empty: no footer).
    pub fn secured_by(&self, lang: Lang) -> String {
        match &self.secured_by {
            Some(line) => line.clone(),
            None => i18n::text(lang, "site-secured-by", &[]),
        }
    }

    /// The theme's logo (`/static/logo.svg` or `/static/logo.png`), if it has one.
    pub fn logo(&self) -> Option<&'static str> {
        let theme = self.theme.as_ref()?;
        ["logo.svg", "logo.png"]
            .into_iter()
            .find(|name| theme.asset(name).is_some())
            .map(|name| match name {
                "logo.svg" => "/static/logo.svg",
                _ => "/static/logo.png",
            })
    }
}

/// A server's look, replaced as a whole on reload.
pub struct UiHandle {
    settings: UiSettings,
    current: RwLock<Arc<Ui>>,
}

impl UiHandle {
    pub fn load(settings: &UiSettings) -> anyhow::Result<UiHandle> {
        Ok(UiHandle {
            settings: settings.clone(),
            current: RwLock::new(Arc::new(Ui::load(settings)?)),
        })
    }

    pub fn current(&self) -> Arc<Ui> {
        match self.current.read() {
            Ok(ui) => ui.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the theme again (blocking file I/O); a broken one is an error and the look in
    /// force stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let ui = Arc::new(Ui::load(&self.settings)?);
        match self.current.write() {
            Ok(mut current) => *current = ui,
            Err(poisoned) => *poisoned.into_inner() = ui,
        }
        Ok(())
    }
}

tokio::task_local! {
    static CURRENT: Arc<Ui>;
}

/// The built-in look (no theme, default settings), for work outside a request.
pub(crate) fn builtin() -> &'static Ui {
    static BUILTIN: OnceLock<Ui> = OnceLock::new();
    BUILTIN.get_or_init(|| Ui {
        product_name: UiSettings::default().product_name,
        secured_by: None,
        theme: None,
    })
}

/// Calls `f` with the request's look (the built-in one outside a request).
pub fn with<R>(f: impl FnOnce(&Ui) -> R) -> R {
    match CURRENT.try_with(Arc::clone) {
        Ok(ui) => f(&ui),
        Err(_) => f(builtin()),
    }
}

/// Makes the server's look the request's (see the module's documentation).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let ui = req
        .app_data::<web::Data<crate::state::AppState>>()
        .map(|s| s.ui.current());
    match ui {
        Some(ui) => CURRENT.scope(ui, next.call(req)).await,
        None => next.call(req).await,
    }
}

/// For the askama layout (`templates/base.html`): the product name.
pub fn product_name() -> String {
    with(|ui| ui.product_name.clone())
}

/// For the askama layout: the theme's logo, if any.
pub fn logo() -> Option<&'static str> {
    with(Ui::logo)
}

/// For the askama layout: the footer element in `lang`, or nothing when the line is empty. A
/// catalog's line may hold markup (the catalogs are trusted, as everywhere); the setting's is
/// text.
pub fn footer(lang: impl std::borrow::Borrow<Lang>) -> HtmlSafeOutput<String> {
    let lang = *lang.borrow();
    let (line, from_setting) = with(|ui| (ui.secured_by(lang), ui.secured_by.is_some()));
    if line.trim().is_empty() {
        return HtmlSafeOutput(String::new());
    }
    let line = if from_setting {
        i18n::escape_html(&line)
    } else {
        line
    };
    HtmlSafeOutput(format!(r#"<footer class="site-footer">{line}</footer>"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_reads_the_theme_again_and_keeps_the_old_one_when_broken() {
        let dir = tempfile::tempdir().unwrap();
        let css = dir.path().join("static/portcullis.css");
        std::fs::create_dir_all(css.parent().unwrap()).unwrap();
        std::fs::write(&css, "a {}").unwrap();
        let settings = UiSettings {
            theme_dir: Some(dir.path().to_path_buf()),
            ..UiSettings::default()
        };
        let handle = UiHandle::load(&settings).unwrap();
        let body = |h: &UiHandle| {
            let ui = h.current();
            let asset = ui.theme().and_then(|t| t.asset("portcullis.css")).cloned();
            asset.map(|a| a.body)
        };
        assert_eq!(body(&handle).as_deref(), Some(&b"a {}"[..]));
        std::fs::write(&css, "b {}").unwrap();
        std::fs::write(dir.path().join("static/logo.png"), [0x89, b'P']).unwrap();
        handle.reload().unwrap();
        assert_eq!(body(&handle).as_deref(), Some(&b"b {}"[..]));
        assert_eq!(handle.current().logo(), Some("/static/logo.png"));

        let broken = dir.path().join("templates/login.html");
        std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
        std::fs::write(&broken, "{% if %}").unwrap();
        assert!(handle.reload().is_err());
        assert_eq!(body(&handle).as_deref(), Some(&b"b {}"[..]));
    }

    #[test]
    fn the_footer_is_the_catalogs_line_the_settings_text_or_nothing() {
        let ui = |secured_by: Option<&str>| Ui {
            product_name: "Acme".into(),
            secured_by: secured_by.map(str::to_string),
            theme: None,
        };
        assert_eq!(ui(None).secured_by(Lang::De), "Geschützt durch Portcullis");
        assert_eq!(ui(Some("By Acme")).secured_by(Lang::De), "By Acme");
        // Outside a request: the built-in look.
        assert_eq!(
            footer(Lang::En).0,
            "<footer class=\"site-footer\">Secured by Portcullis</footer>"
        );
        assert_eq!(product_name(), "Portcullis");
        assert_eq!(logo(), None);
    }
}
