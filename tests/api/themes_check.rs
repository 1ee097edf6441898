//! A broken theme is refused, naming the file and line, by `portcullis config check` and at
//! start; `[ui]` is in `config show` and comes from the environment too.
use std::path::Path;

use portcullis::config::Settings;

use crate::keys::portcullis;
use crate::themes::{theme_with, write_theme};

fn config_check(theme: &Path) -> (Option<i32>, String) {
    let out = portcullis()
        .args(["config", "check"])
        .env("PORTCULLIS_UI__THEME_DIR", theme)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_refuses_a_broken_theme_naming_the_file_and_line() {
    let good = tempfile::tempdir().unwrap();
    write_theme(good.path());
    let (code, err) = config_check(good.path());
    assert_eq!(code, Some(0), "{err}");

    let syntax = theme_with(
        "templates/login.html",
        "{% extends \"base.html\" %}\n{% block content %}\n{% if %}\n{% endblock %}\n",
    );
    let (code, err) = config_check(syntax.path());
    assert_eq!(code, Some(1));
    let file = syntax.path().join("templates/login.html");
    assert!(
        err.contains(&format!("error: {}:3: syntax error", file.display())),
        "{err}"
    );

    let unknown = theme_with(
        "templates/consent.html",
        "{% extends \"base.html\" %}\n{% block content %}<h1>{{ client_nme }}</h1>{% endblock %}\n",
    );
    let (code, err) = config_check(unknown.path());
    assert_eq!(code, Some(1));
    let file = unknown.path().join("templates/consent.html");
    assert!(
        err.contains(&format!(
            "error: {}:2: unknown variable `client_nme`",
            file.display()
        )),
        "{err}"
    );

    let catalog = theme_with("locales/de/main.ftl", "ok = gut\nbroken = {\n");
    let (code, err) = config_check(catalog.path());
    assert_eq!(code, Some(1));
    assert!(
        err.contains(
            &catalog
                .path()
                .join("locales/de/main.ftl")
                .display()
                .to_string()
        ) && err.contains("line 2"),
        "{err}"
    );

    let language = theme_with("locales/fr/main.ftl", "hello = Bonjour\n");
    let (code, err) = config_check(language.path());
    assert_eq!(code, Some(1));
    assert!(err.contains("no such language"), "{err}");

    let (code, err) = config_check(&good.path().join("absent"));
    assert_eq!(code, Some(1));
    assert!(err.contains("not a directory"), "{err}");
}

#[test]
fn config_show_has_the_ui_section_from_the_environment() {
    let out = portcullis()
        .args(["config", "show"])
        .env("PORTCULLIS_UI__PRODUCT_NAME", "Acme ID")
        // Empty means unset in the environment (as for every setting); blank hides the line.
        .env("PORTCULLIS_UI__SECURED_BY", " ")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        shown["ui"],
        serde_json::json!({ "product_name": "Acme ID", "secured_by": " ", "theme_dir": null })
    );
    let settings = Settings::default();
    assert_eq!(settings.ui.product_name, "Portcullis");
}

#[tokio::test]
async fn the_server_refuses_to_start_with_a_broken_theme() {
    let theme = theme_with(
        "templates/base.html",
        "<html>\n<title>{{ product_name }</title>\n",
    );
    let data = tempfile::tempdir().unwrap();
    let settings = Settings {
        issuer: "http://127.0.0.1:0".into(),
        database_url: format!("sqlite://{}", data.path().join("p.db").display()),
        keys_dir: data.path().join("keys"),
        workers: Some(1),
        ui: portcullis::config::UiSettings {
            theme_dir: Some(theme.path().to_path_buf()),
            ..Default::default()
        },
        ..Settings::default()
    };
    let err = match portcullis::startup::Application::build(settings).await {
        Ok(_) => panic!("a broken theme must stop the start"),
        Err(e) => format!("{e:#}"),
    };
    let file = theme.path().join("templates/base.html");
    assert!(
        err.starts_with(&format!("{}:2: syntax error", file.display())),
        "{err}"
    );
}
