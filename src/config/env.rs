//! `PORTCULLIS_*` environment variables: which are settings, which steer the CLI or the tests,
//! which are Kubernetes service links (ignored), and which are typos (warned about, with the
//! closest real name). Pure functions over `(name, value)` pairs: nothing here reads the process
//! environment.
use serde_json::Value as Json;

use super::{OidcProviderSettings, Settings};

const PREFIX: &str = "PORTCULLIS_";
/// `PORTCULLIS_*` variables that are not settings (they steer the CLI or the test harness).
const CONTROL: &[&str] = &["CONFIG", "PASSWORD"];
const CONTROL_PREFIXES: &[&str] = &["TEST_"];
/// Stands for any provider name in the shape of `federation.oidc`.
const ANY_NAME: &str = "*";

/// What one environment variable is to the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvVar {
    /// Not `PORTCULLIS_*`.
    Foreign,
    /// Steers the CLI or the tests (`PORTCULLIS_CONFIG`, `PORTCULLIS_PASSWORD`, …).
    Control,
    /// Set by Kubernetes for a Service named `portcullis` (`PORTCULLIS_SERVICE_HOST`, …).
    ServiceLink,
    /// A setting, by its path (`["tokens", "access_token_ttl_secs"]`).
    Setting(Vec<String>),
    /// Names no setting; the closest real variable when one is near.
    Unknown { suggestion: Option<String> },
}

/// Every key of the settings with a sample value (`null` for optional ones); the providers of
/// `federation.oidc` under [`ANY_NAME`].
pub fn shape() -> Json {
    let mut shape = serde_json::to_value(Settings::default()).unwrap_or(Json::Null);
    let provider = serde_json::to_value(OidcProviderSettings {
        issuer: String::new(),
        client_id: None,
        client_secret: None,
        display_name: None,
        scopes: Vec::new(),
    })
    .unwrap_or(Json::Null);
    if let Some(oidc) = shape.pointer_mut("/federation/oidc") {
        *oidc = serde_json::json!({ ANY_NAME: provider });
    }
    shape
}

/// The shape below `node` for `key` (any key where the shape has [`ANY_NAME`]).
pub fn child<'a>(node: &'a Json, key: &str) -> Option<&'a Json> {
    let map = node.as_object()?;
    map.get(key).or_else(|| map.get(ANY_NAME))
}

/// Whether `path` names a setting (a leaf of the shape, not a section).
pub fn is_setting(shape: &Json, path: &[String]) -> bool {
    let mut node = shape;
    for part in path {
        match child(node, part) {
            Some(next) if !part.is_empty() => node = next,
            _ => return false,
        }
    }
    !path.is_empty() && !node.is_object()
}

/// Classifies one variable.
pub fn classify(shape: &Json, name: &str, value: &str) -> EnvVar {
    let Some(key) = name.strip_prefix(PREFIX) else {
        return EnvVar::Foreign;
    };
    if CONTROL.contains(&key) || CONTROL_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return EnvVar::Control;
    }
    if is_service_link(key, value) {
        return EnvVar::ServiceLink;
    }
    let path: Vec<String> = key.split("__").map(str::to_ascii_lowercase).collect();
    if is_setting(shape, &path) {
        EnvVar::Setting(path)
    } else {
        EnvVar::Unknown {
            suggestion: suggest(shape, &path),
        }
    }
}

/// Kubernetes' service links for a Service named `portcullis`: `PORTCULLIS_SERVICE_HOST`,
/// `PORTCULLIS_SERVICE_PORT[_NAME]`, `PORTCULLIS_PORT=tcp://…` and
/// `PORTCULLIS_PORT_8080_TCP[_ADDR|_PORT|_PROTO]`. No setting has these names.
fn is_service_link(key: &str, value: &str) -> bool {
    if key == "SERVICE_HOST" || key == "SERVICE_PORT" || key.starts_with("SERVICE_PORT_") {
        return true;
    }
    if key == "PORT" {
        return ["tcp://", "udp://", "sctp://"]
            .iter()
            .any(|scheme| value.starts_with(scheme));
    }
    let Some(rest) = key.strip_prefix("PORT_") else {
        return false;
    };
    let mut parts = rest.splitn(3, '_');
    let port_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let proto_ok = parts
        .next()
        .is_some_and(|p| matches!(p, "TCP" | "UDP" | "SCTP"));
    let suffix_ok = parts
        .next()
        .is_none_or(|s| matches!(s, "ADDR" | "PORT" | "PROTO"));
    port_ok && proto_ok && suffix_ok
}

/// The variable name of a setting path.
pub fn var_name(path: &[String]) -> String {
    format!("{PREFIX}{}", path.join("__").to_ascii_uppercase())
}

/// The closest real variable to `path` (a provider name in it is kept as given), if close.
fn suggest(shape: &Json, path: &[String]) -> Option<String> {
    let wanted = path.join("__");
    let mut leaves = Vec::new();
    collect_leaves(shape, path, &mut Vec::new(), &mut leaves);
    leaves
        .into_iter()
        .map(|leaf| (edit_distance(&wanted, &leaf.join("__")), leaf))
        .filter(|(d, _)| *d <= 3.max(wanted.len() / 8))
        .min_by_key(|(d, _)| *d)
        .map(|(_, leaf)| var_name(&leaf))
}

fn collect_leaves(node: &Json, input: &[String], at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Some(map) = node.as_object() else {
        out.push(at.clone());
        return;
    };
    for (key, next) in map {
        let key = if key == ANY_NAME {
            match input.get(at.len()) {
                Some(given) => given.clone(),
                None => continue,
            }
        } else {
            key.clone()
        };
        at.push(key);
        collect_leaves(next, input, at, out);
        at.pop();
    }
}

/// Levenshtein distance (small strings only).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str, value: &str) -> EnvVar {
        classify(&shape(), name, value)
    }

    fn path(p: &[&str]) -> EnvVar {
        EnvVar::Setting(p.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn settings_control_and_foreign_variables() {
        assert_eq!(kind("PORTCULLIS_ISSUER", "x"), path(&["issuer"]));
        assert_eq!(
            kind("PORTCULLIS_WORKERS", "4"),
            path(&["workers"]),
            "an Option"
        );
        assert_eq!(
            kind("PORTCULLIS_APPLY_ON_START", "/etc/portcullis/clients.toml"),
            path(&["apply_on_start"])
        );
        assert_eq!(
            kind("PORTCULLIS_FEDERATION__OIDC__ACME__SCOPES", "openid"),
            path(&["federation", "oidc", "acme", "scopes"])
        );
        assert_eq!(kind("PORTCULLIS_CONFIG", "x"), EnvVar::Control);
        assert_eq!(kind("PORTCULLIS_TEST_POSTGRES_URL", "x"), EnvVar::Control);
        assert_eq!(kind("HOME", "/root"), EnvVar::Foreign);
    }

    #[test]
    fn kubernetes_service_links_are_recognised() {
        for (name, value) in [
            ("PORTCULLIS_PORT", "tcp://10.96.0.12:8080"),
            ("PORTCULLIS_PORT_8080_TCP", "tcp://10.96.0.12:8080"),
            ("PORTCULLIS_PORT_8080_TCP_ADDR", "10.96.0.12"),
            ("PORTCULLIS_PORT_8080_TCP_PORT", "8080"),
            ("PORTCULLIS_PORT_8080_TCP_PROTO", "tcp"),
            ("PORTCULLIS_PORT_53_UDP_PORT", "53"),
            ("PORTCULLIS_SERVICE_HOST", "10.96.0.12"),
            ("PORTCULLIS_SERVICE_PORT", "8080"),
            ("PORTCULLIS_SERVICE_PORT_HTTP", "8080"),
        ] {
            assert_eq!(kind(name, value), EnvVar::ServiceLink, "{name}");
        }
        // Near misses are not service links: they are unknown settings.
        for (name, value) in [
            ("PORTCULLIS_PORT", "8080"),
            ("PORTCULLIS_PORT_8080_HTTP", "x"),
            ("PORTCULLIS_PORT_X_TCP", "x"),
            ("PORTCULLIS_PORT_8080_TCP_HOST", "x"),
        ] {
            assert!(
                matches!(kind(name, value), EnvVar::Unknown { .. }),
                "{name}"
            );
        }
    }

    #[test]
    fn unknown_variables_get_the_closest_real_name() {
        assert_eq!(
            kind("PORTCULLIS_TOKENS__ACCES_TOKEN_TTL_SECS", "5"),
            EnvVar::Unknown {
                suggestion: Some("PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS".into())
            }
        );
        assert_eq!(
            kind("PORTCULLIS_ISUER", "x"),
            EnvVar::Unknown {
                suggestion: Some("PORTCULLIS_ISSUER".into())
            }
        );
        assert_eq!(
            kind("PORTCULLIS_FEDERATION__OIDC__ACME__CLIENTID", "x"),
            EnvVar::Unknown {
                suggestion: Some("PORTCULLIS_FEDERATION__OIDC__ACME__CLIENT_ID".into())
            }
        );
        assert_eq!(
            kind("PORTCULLIS_NOTHING_LIKE_ANY_SETTING_AT_ALL", "x"),
            EnvVar::Unknown { suggestion: None }
        );
        // A section, or a path below a leaf, is not a setting.
        assert!(matches!(
            kind("PORTCULLIS_TOKENS", "5"),
            EnvVar::Unknown { .. }
        ));
        assert!(matches!(
            kind("PORTCULLIS_ISSUER__X", "5"),
            EnvVar::Unknown { .. }
        ));
        assert!(matches!(
            kind("PORTCULLIS_TOKENS____ACCESS_TOKEN_TTL_SECS", "5"),
            EnvVar::Unknown { .. }
        ));
    }
}
