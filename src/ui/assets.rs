//! Static files: the built-in ones (embedded) and a theme's `static/` (read into memory when the
//! theme is loaded). Only plain names are served: no directories, no dotfiles, no `..`.
use std::path::Path;

use actix_web::web::Bytes;
use anyhow::{bail, Context};

/// A file under `/static/`.
#[derive(Debug, Clone)]
pub struct Asset {
    pub content_type: &'static str,
    pub body: Bytes,
}

const CSS: &str = include_str!("../../static/portcullis.css");
const FORM_POST_JS: &str = include_str!("../../static/form_post.js");
const PASSKEY_JS: &str = include_str!("../../static/passkey.js");

/// A built-in file by name. The stylesheet is also `portcullis-base.css`, so that a theme's
/// `portcullis.css` can import it and change only what differs.
pub fn builtin_asset(name: &str) -> Option<Asset> {
    let body = match name {
        "portcullis.css" | "portcullis-base.css" => CSS,
        "form_post.js" => FORM_POST_JS,
        "passkey.js" => PASSKEY_JS,
        _ => return None,
    };
    Some(Asset {
        content_type: content_type(name)?,
        body: Bytes::from_static(body.as_bytes()),
    })
}

/// Largest file a theme may serve.
const MAX_FILE: u64 = 2 * 1024 * 1024;

/// Whether `name` may be served: letters, digits, `.`, `-`, `_`, not starting with a dot.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The `Content-Type` of a file we serve, by its extension (`None`: not served).
pub fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// The files of a theme's `static/` directory that can be served (others are skipped with a
/// warning: a dotfile, a directory, an unknown type); a file too large is an error.
pub fn read_dir(dir: &Path) -> anyhow::Result<Vec<(String, Asset)>> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(files);
    }
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = (safe_name(&name), content_type(&name), path.is_file());
        let (true, Some(content_type), true) = kind else {
            tracing::warn!(file = %path.display(), "theme file not served (only plain files of known types with plain names are)");
            continue;
        };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if size > MAX_FILE {
            bail!("{}: larger than {MAX_FILE} bytes", path.display());
        }
        let body = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        files.push((
            name,
            Asset {
                content_type,
                body: Bytes::from(body),
            },
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_theme_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/theme");
        let theme = crate::ui::Theme::load(&dir).unwrap();
        assert!(theme.has_template("login.html"));
        assert!(!theme.has_template("consent.html"));
        assert_eq!(
            theme.asset("logo.svg").map(|a| a.content_type),
            Some("image/svg+xml")
        );
        let messages = theme.messages().unwrap();
        assert!(messages.has("scope-reports") && messages.has("acme-help"));
    }

    #[test]
    fn only_plain_names_of_known_types_are_served() {
        assert!(safe_name("logo.svg"));
        assert!(safe_name("brand-2_x.woff2"));
        for bad in [
            "", ".env", "..", "../x.css", "a/b.css", "a\\b.css", "x%2e.css", "é.css",
        ] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        assert_eq!(content_type("logo.SVG"), Some("image/svg+xml"));
        assert_eq!(content_type("theme.css"), Some("text/css; charset=utf-8"));
        assert_eq!(content_type("notes.md"), None);
        assert_eq!(content_type("Makefile"), None);
    }
}
