//! `[ui]`: what the pages show of the operator: the product name, the "secured by" line, and a
//! theme directory overriding templates, static files and messages (`crate::ui`).
use std::path::PathBuf;

use anyhow::bail;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiSettings {
    /// The wordmark, the suffix of every page's `<title>`, and the name at the top of mails.
    pub product_name: String,
    /// The pages' footer line. Unset: the catalog's `site-secured-by` message, in the page's
    /// language; set: this text in every language; empty: no footer line.
    pub secured_by: Option<String>,
    /// A theme directory (`templates/`, `static/`, `locales/<lang>/main.ftl`), read at start
    /// and on SIGHUP; unset: the built-in look.
    pub theme_dir: Option<PathBuf>,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            product_name: "Portcullis".into(),
            secured_by: None,
            theme_dir: None,
        }
    }
}

/// Longest product name and "secured by" line, in characters.
const MAX_NAME: usize = 60;
const MAX_LINE: usize = 200;

impl UiSettings {
    pub fn validate(&self) -> anyhow::Result<()> {
        let name = self.product_name.trim();
        if name.is_empty() {
            bail!("ui.product_name must not be empty");
        }
        text("ui.product_name", &self.product_name, MAX_NAME)?;
        if let Some(line) = &self.secured_by {
            text("ui.secured_by", line, MAX_LINE)?;
        }
        if let Some(dir) = &self.theme_dir {
            if dir.as_os_str().is_empty() {
                bail!("ui.theme_dir must not be empty (leave it unset for the built-in look)");
            }
        }
        Ok(())
    }
}

fn text(key: &str, value: &str, max: usize) -> anyhow::Result<()> {
    if value.chars().count() > max {
        bail!("{key} is longer than {max} characters");
    }
    if value.chars().any(char::is_control) {
        bail!("{key} must not contain control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_settings_are_validated() {
        assert!(UiSettings::default().validate().is_ok());
        let with = |f: fn(&mut UiSettings)| {
            let mut s = UiSettings::default();
            f(&mut s);
            s.validate().map_err(|e| e.to_string())
        };
        assert_eq!(
            with(|s| s.product_name = "  ".into()),
            Err("ui.product_name must not be empty".into())
        );
        assert_eq!(
            with(|s| s.product_name = "x".repeat(61)),
            Err("ui.product_name is longer than 60 characters".into())
        );
        assert_eq!(
            with(|s| s.secured_by = Some("a\nb".into())),
            Err("ui.secured_by must not contain control characters".into())
        );
        assert!(with(|s| s.secured_by = Some(String::new())).is_ok());
        assert_eq!(
            with(|s| s.theme_dir = Some(PathBuf::new())),
            Err("ui.theme_dir must not be empty (leave it unset for the built-in look)".into())
        );
    }
}
