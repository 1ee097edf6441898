//! Loading: defaults → optional `portcullis.toml` → `PORTCULLIS_*` environment, merged into one
//! tree and deserialized once (so a provider may be given half in the file, half in the
//! environment, or wholly in the environment). Environment values are strings; the target field
//! gives them their type (see `coerce`).
//!
//! An unknown key in the file is an error naming the file and the key. An unknown
//! `PORTCULLIS_*` variable is reported in [`Loaded::unknown_env`]: the CLI warns about it, and
//! `config check` refuses it. Kubernetes service-link variables are ignored.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::Value as Json;

use super::coerce::Coerce;
use super::env::{self, EnvVar};
use super::Settings;

/// Settings with what the environment held besides them.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    /// One message per `PORTCULLIS_*` variable that names no setting (it is ignored).
    pub unknown_env: Vec<String>,
    /// Kubernetes service-link variables (ignored).
    pub service_links: Vec<String>,
}

impl Settings {
    /// Loads defaults, then `file` (if given, it must exist; else `portcullis.toml` when present
    /// in the working directory), then the process environment; validates the result.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Loaded> {
        let (path, required) = match file {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("portcullis.toml"), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let loaded = Self::from_sources(
            text.as_deref().map(|t| (path.as_path(), t)),
            std::env::vars(),
        )?;
        loaded.settings.validate()?;
        Ok(loaded)
    }

    /// Builds settings from a TOML document and `(name, value)` environment pairs (only
    /// `PORTCULLIS_*` names are read). Does not validate.
    pub fn from_sources(
        file: Option<(&Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Loaded> {
        let shape = env::shape();
        let mut table = toml::Table::new();
        // Where each leaf came from, to name the source of a bad value.
        let mut origins: Vec<(String, String)> = Vec::new();
        if let Some((path, text)) = file {
            table = text
                .parse::<toml::Table>()
                .with_context(|| format!("{} is not valid TOML", path.display()))?;
            check_file_keys(&shape, &table, &mut Vec::new())
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            file_origins(&table, "", &path.display().to_string(), &mut origins);
        }
        let mut env: Vec<(String, String)> = env.into_iter().collect();
        env.sort();
        let (mut unknown_env, mut service_links) = (Vec::new(), Vec::new());
        for (name, value) in env {
            match env::classify(&shape, &name, &value) {
                EnvVar::Foreign | EnvVar::Control => {}
                EnvVar::ServiceLink => service_links.push(name),
                EnvVar::Unknown { suggestion } => unknown_env.push(match suggestion {
                    Some(s) => format!("unknown environment variable {name} (did you mean {s}?)"),
                    None => format!("unknown environment variable {name}: no such setting"),
                }),
                EnvVar::Setting(path) => {
                    insert_path(&mut table, &path, toml::Value::String(value))
                        .with_context(|| format!("environment variable {name}"))?;
                    origins.push((path.join("."), name));
                }
            }
        }
        let settings =
            Settings::deserialize(Coerce::root(toml::Value::Table(table))).map_err(|e| {
                let from: Vec<&str> = match &e.at {
                    Some(at) => origins
                        .iter()
                        .filter(|(p, _)| p == at || p.starts_with(&format!("{at}.")))
                        .map(|(_, source)| source.as_str())
                        .collect(),
                    None => Vec::new(),
                };
                if from.is_empty() {
                    anyhow::anyhow!("{e}")
                } else {
                    anyhow::anyhow!("{e} (from {})", from.join(", "))
                }
            })?;
        Ok(Loaded {
            settings,
            unknown_env,
            service_links,
        })
    }
}

/// Refuses a key of the file that names no setting (with the closest one when near).
fn check_file_keys(shape: &Json, table: &toml::Table, at: &mut Vec<String>) -> anyhow::Result<()> {
    let node = at
        .iter()
        .try_fold(shape, |node, key| env::child(node, key))
        .unwrap_or(&Json::Null);
    for (key, value) in table {
        at.push(key.clone());
        match (env::child(node, key), value) {
            (None, _) => {
                let hint = match env::classify(shape, &env::var_name(at), "") {
                    EnvVar::Unknown {
                        suggestion: Some(s),
                    } => format!(" (did you mean {}?)", dotted_of(&s)),
                    _ => String::new(),
                };
                bail!("unknown setting {}{hint}", at.join("."));
            }
            (Some(next), toml::Value::Table(inner)) if next.is_object() => {
                check_file_keys(shape, inner, at)?;
            }
            _ => {}
        }
        at.pop();
    }
    Ok(())
}

/// `PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS` → `tokens.access_token_ttl_secs`.
fn dotted_of(var: &str) -> String {
    var.trim_start_matches("PORTCULLIS_")
        .to_ascii_lowercase()
        .replace("__", ".")
}

fn file_origins(table: &toml::Table, prefix: &str, file: &str, out: &mut Vec<(String, String)>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => file_origins(inner, &path, file, out),
            _ => out.push((path, file.to_string())),
        }
    }
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> anyhow::Result<()> {
    match path {
        [] => bail!("empty setting name"),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => insert_path(t, rest, value),
                _ => bail!("{first} is not a section"),
            }
        }
    }
}

#[cfg(test)]
#[path = "sources_tests.rs"]
mod tests;
