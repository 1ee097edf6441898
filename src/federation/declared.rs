//! An upstream provider declared by `portcullis apply` (`[providers.NAME]`) rather than in
//! `[federation]`: its non-secret parts are in the database (`store::federation_providers`),
//! and each instance reads the client secret from ITS environment variable (`secret_env`) or
//! file (`secret_file`) when it loads the providers.
use serde_json::{json, Value};

use super::{Kind, Provider};
use crate::config::GithubSettings;
use crate::store::federation_providers::ProviderRow;

pub const OIDC: &str = "oidc";
pub const GITHUB: &str = "github";

/// A declared provider, checked (defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Its part of the callback URL (`/federation/NAME/callback`).
    pub name: String,
    /// `oidc` or `github`.
    pub kind: String,
    pub display_name: String,
    /// `oidc`: discovered at `<issuer>/.well-known/openid-configuration`.
    pub issuer: Option<String>,
    /// `github`: GitHub's (or GitHub Enterprise's) endpoints.
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub api_url: Option<String>,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Exactly one of these names where the client secret is.
    pub secret_env: Option<String>,
    pub secret_file: Option<String>,
}

/// A provider name: 1 to 40 of `a-z 0-9 - _`, starting with a letter (it is a URL path
/// segment, like the names under `federation.oidc`).
pub fn check_name(name: &str) -> Result<(), String> {
    let fits = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c);
    let starts = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if !starts || name.len() > 40 || !name.chars().all(fits) {
        return Err(format!(
            "the name {name:?} must be 1 to 40 lowercase letters, digits, '-' or '_', starting \
             with a letter"
        ));
    }
    Ok(())
}

/// An upstream URL: https, or http to this machine only (the client secret crosses it).
fn check_url(key: &str, value: &str) -> Result<(), String> {
    let url = url::Url::parse(value).map_err(|e| format!("{key} {value:?} is not a URL: {e}"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "{key} {value:?} must be https (the client secret and upstream tokens cross it)"
        )),
    }
}

impl Declared {
    /// Checks the provider and fills in the defaults: the display name is the name; the
    /// scopes `openid email profile` (oidc) or `read:user user:email` (github); GitHub's URLs.
    pub fn checked(mut self) -> Result<Declared, String> {
        check_name(&self.name)?;
        if self.display_name.is_empty() {
            self.display_name.clone_from(&self.name);
        }
        if self.display_name.chars().count() > 100 || self.display_name.contains('\n') {
            return Err("display_name: one line of at most 100 characters".into());
        }
        if self.client_id.trim().is_empty() {
            return Err("client_id is missing".into());
        }
        match (&self.secret_env, &self.secret_file) {
            (Some(_), Some(_)) => return Err("give secret_env or secret_file, not both".into()),
            (None, None) => {
                return Err(
                    "give secret_env or secret_file (where this machine's client \
                            secret is)"
                        .into(),
                )
            }
            (Some(v), None) if v.is_empty() || v.contains('=') || v.contains('\0') => {
                return Err(format!("secret_env {v:?} is not a variable name"))
            }
            (None, Some(f)) if f.is_empty() => return Err("secret_file is empty".into()),
            _ => {}
        }
        match self.kind.as_str() {
            OIDC => {
                let Some(issuer) = &self.issuer else {
                    return Err("kind oidc needs an issuer".into());
                };
                check_url("issuer", issuer)?;
                if self.authorize_url.is_some()
                    || self.token_url.is_some()
                    || self.api_url.is_some()
                {
                    return Err(
                        "authorize_url, token_url and api_url are for kind github (oidc \
                                discovers its endpoints from the issuer)"
                            .into(),
                    );
                }
                if self.scopes.is_empty() {
                    self.scopes = vec!["openid".into(), "email".into(), "profile".into()];
                }
            }
            GITHUB => {
                if self.issuer.is_some() {
                    return Err("issuer is for kind oidc".into());
                }
                let gh = GithubSettings::default();
                for (key, slot, default) in [
                    ("authorize_url", &mut self.authorize_url, gh.authorize_url),
                    ("token_url", &mut self.token_url, gh.token_url),
                    ("api_url", &mut self.api_url, gh.api_url),
                ] {
                    let value = slot.get_or_insert(default);
                    check_url(key, value)?;
                }
                if self.scopes.is_empty() {
                    self.scopes = gh.scopes;
                }
            }
            other => return Err(format!("kind {other:?}: give \"oidc\" or \"github\"")),
        }
        Ok(self)
    }

    /// The settings `apply` compares and prints, under the document's names.
    pub fn fields(&self) -> [(&'static str, Value); 10] {
        [
            ("kind", json!(self.kind)),
            ("display_name", json!(self.display_name)),
            ("issuer", json!(self.issuer)),
            ("authorize_url", json!(self.authorize_url)),
            ("token_url", json!(self.token_url)),
            ("api_url", json!(self.api_url)),
            ("client_id", json!(self.client_id)),
            ("scopes", json!(self.scopes)),
            ("secret_env", json!(self.secret_env)),
            ("secret_file", json!(self.secret_file)),
        ]
    }

    /// Where the secret is, for messages (`environment variable X`, `file /p`).
    pub fn secret_place(&self) -> String {
        match (&self.secret_env, &self.secret_file) {
            (Some(v), _) => format!("secret_env {v}"),
            (None, Some(f)) => format!("secret_file {f}"),
            (None, None) => "no secret_env or secret_file".into(),
        }
    }

    /// Reads the client secret on this machine; the error names the variable or file (never
    /// a secret).
    pub fn read_secret(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        let secret = match (&self.secret_env, &self.secret_file) {
            (Some(v), _) => env(v).ok_or_else(|| format!("secret_env: {v} is not set"))?,
            (None, Some(f)) => std::fs::read_to_string(f)
                .map_err(|e| format!("secret_file: reading {f}: {e}"))?
                .trim()
                .to_string(),
            (None, None) => return Err("no secret_env or secret_file".into()),
        };
        if secret.trim().is_empty() {
            return Err(format!("{}: the secret is empty", self.secret_place()));
        }
        Ok(secret)
    }

    /// The provider to offer, with the secret read on this machine.
    pub fn provider(&self, client_secret: String) -> Provider {
        let kind = match &self.issuer {
            Some(issuer) => Kind::Oidc {
                issuer: issuer.clone(),
            },
            None => Kind::Github {
                authorize_url: self.authorize_url.clone().unwrap_or_default(),
                token_url: self.token_url.clone().unwrap_or_default(),
                api_url: self
                    .api_url
                    .clone()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_string(),
            },
        };
        Provider {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            client_id: self.client_id.clone(),
            client_secret,
            scopes: self.scopes.clone(),
            kind,
        }
    }

    pub fn to_row(&self, created_at: i64, updated_at: i64) -> ProviderRow {
        ProviderRow {
            name: self.name.clone(),
            kind: self.kind.clone(),
            display_name: self.display_name.clone(),
            issuer: self.issuer.clone(),
            authorize_url: self.authorize_url.clone(),
            token_url: self.token_url.clone(),
            api_url: self.api_url.clone(),
            client_id: self.client_id.clone(),
            scopes: json!(self.scopes).to_string(),
            secret_env: self.secret_env.clone(),
            secret_file: self.secret_file.clone(),
            created_at,
            updated_at,
        }
    }

    pub fn from_row(row: ProviderRow) -> anyhow::Result<Declared> {
        let scopes = serde_json::from_str(&row.scopes)
            .map_err(|e| anyhow::anyhow!("provider {}: stored scopes: {e}", row.name))?;
        Ok(Declared {
            name: row.name,
            kind: row.kind,
            display_name: row.display_name,
            issuer: row.issuer,
            authorize_url: row.authorize_url,
            token_url: row.token_url,
            api_url: row.api_url,
            client_id: row.client_id,
            scopes,
            secret_env: row.secret_env,
            secret_file: row.secret_file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc(name: &str, issuer: &str) -> Declared {
        Declared {
            name: name.into(),
            kind: OIDC.into(),
            display_name: String::new(),
            issuer: Some(issuer.into()),
            authorize_url: None,
            token_url: None,
            api_url: None,
            client_id: "id".into(),
            scopes: Vec::new(),
            secret_env: Some("CORP_SECRET".into()),
            secret_file: None,
        }
    }

    #[test]
    fn checking_fills_defaults_and_names_the_problem() {
        let d = oidc("corp", "https://sso.example.com").checked().unwrap();
        assert_eq!(d.display_name, "corp");
        assert_eq!(d.scopes, ["openid", "email", "profile"]);
        let mut gh = oidc("gh", "https://x");
        gh.kind = GITHUB.into();
        gh.issuer = None;
        let gh = gh.checked().unwrap();
        assert_eq!(
            gh.authorize_url.as_deref(),
            Some("https://github.com/login/oauth/authorize")
        );
        assert_eq!(gh.scopes, ["read:user", "user:email"]);
        assert_eq!(
            oidc("corp", "http://sso.example.com")
                .checked()
                .unwrap_err(),
            "issuer \"http://sso.example.com\" must be https (the client secret and upstream \
             tokens cross it)"
        );
        assert!(oidc("Corp", "https://x").checked().is_err());
        assert!(oidc("corp/x", "https://x").checked().is_err());
        let mut both = oidc("corp", "https://x");
        both.secret_file = Some("/s".into());
        assert_eq!(
            both.checked().unwrap_err(),
            "give secret_env or secret_file, not both"
        );
    }

    #[test]
    fn the_secret_is_read_here_and_never_shown() {
        let d = oidc("corp", "https://x").checked().unwrap();
        let env = |n: &str| (n == "CORP_SECRET").then(|| "s3cret".to_string());
        assert_eq!(d.read_secret(&env), Ok("s3cret".into()));
        assert_eq!(
            d.read_secret(&|_| None),
            Err("secret_env: CORP_SECRET is not set".into())
        );
        assert_eq!(
            d.read_secret(&|_| Some(" ".into())),
            Err("secret_env CORP_SECRET: the secret is empty".into())
        );
        let row = d.to_row(1, 2);
        assert_eq!(row.scopes, r#"["openid","email","profile"]"#);
        assert_eq!(Declared::from_row(row).unwrap(), d);
    }
}
