//! `[federation]`: upstream identity providers. A provider without both a client id and a
//! client secret is off (and has no button on the login page).
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FederationSettings {
    pub google: GoogleSettings,
    pub github: GithubSettings,
    /// Any OpenID provider, by name (`federation.oidc.<name>`); the name is in its callback URL.
    pub oidc: BTreeMap<String, OidcProviderSettings>,
    /// Connect and whole-request timeout for calls to upstream providers.
    pub timeout_secs: u64,
}

impl Default for FederationSettings {
    fn default() -> Self {
        FederationSettings {
            google: GoogleSettings::default(),
            github: GithubSettings::default(),
            oidc: BTreeMap::new(),
            timeout_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GoogleSettings {
    #[serde(deserialize_with = "opt_string")]
    pub client_id: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub client_secret: Option<String>,
    /// Discovered at `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub scopes: Vec<String>,
    pub display_name: String,
}

impl Default for GoogleSettings {
    fn default() -> Self {
        GoogleSettings {
            client_id: None,
            client_secret: None,
            issuer: "https://accounts.google.com".into(),
            scopes: default_oidc_scopes(),
            display_name: "Google".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GithubSettings {
    #[serde(deserialize_with = "opt_string")]
    pub client_id: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub client_secret: Option<String>,
    pub authorize_url: String,
    pub token_url: String,
    /// The REST API (`/user`, `/user/emails`); GitHub Enterprise: `https://HOST/api/v3`.
    pub api_url: String,
    pub scopes: Vec<String>,
    pub display_name: String,
}

impl Default for GithubSettings {
    fn default() -> Self {
        GithubSettings {
            client_id: None,
            client_secret: None,
            authorize_url: "https://github.com/login/oauth/authorize".into(),
            token_url: "https://github.com/login/oauth/access_token".into(),
            api_url: "https://api.github.com".into(),
            scopes: vec!["read:user".into(), "user:email".into()],
            display_name: "GitHub".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OidcProviderSettings {
    pub issuer: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub client_secret: Option<String>,
    /// The button label ("Continue with …"); defaults to the provider's name.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default = "default_oidc_scopes")]
    pub scopes: Vec<String>,
}

impl FederationSettings {
    /// The providers this configuration names, as (name, setting): Google and GitHub when a
    /// client id or secret is set, and every `federation.oidc.<name>`. `portcullis apply`
    /// declares no provider of these names.
    pub fn configured_names(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, id, secret) in [
            ("google", &self.google.client_id, &self.google.client_secret),
            ("github", &self.github.client_id, &self.github.client_secret),
        ] {
            if id.is_some() || secret.is_some() {
                out.push((name.to_string(), format!("federation.{name}")));
            }
        }
        for name in self.oidc.keys() {
            out.push((name.clone(), format!("federation.oidc.{name}")));
        }
        out
    }

    /// Every upstream URL of an enabled provider, with the setting that names it.
    pub fn upstream_urls(&self) -> Vec<(String, String)> {
        let on = |id: &Option<String>, secret: &Option<String>| id.is_some() && secret.is_some();
        let mut out = Vec::new();
        if on(&self.google.client_id, &self.google.client_secret) {
            out.push((
                "federation.google.issuer".into(),
                self.google.issuer.clone(),
            ));
        }
        let gh = &self.github;
        if on(&gh.client_id, &gh.client_secret) {
            for (key, url) in [
                ("authorize_url", &gh.authorize_url),
                ("token_url", &gh.token_url),
                ("api_url", &gh.api_url),
            ] {
                out.push((format!("federation.github.{key}"), url.clone()));
            }
        }
        for (name, p) in &self.oidc {
            if on(&p.client_id, &p.client_secret) {
                out.push((format!("federation.oidc.{name}.issuer"), p.issuer.clone()));
            }
        }
        out
    }
}

fn default_oidc_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}

/// Client ids and secrets are strings even when they look like numbers (an environment
/// variable `…__CLIENT_ID=12345` reads as an integer).
fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        I(i64),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::S(s)) if !s.is_empty() => Some(s),
        Some(Raw::I(i)) => Some(i.to_string()),
        _ => None,
    })
}
