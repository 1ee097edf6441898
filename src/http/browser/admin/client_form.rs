//! The client form of the console: its fields as typed (kept on an error), the presets that
//! fill it, and the `ClientSpec` it describes (the same settings as `portcullis client create`).
use crate::oauth::client::{Client, GrantType};
use crate::oauth::registration::{split_list, ClientSpec};
use crate::oauth::Params;

/// The grants the form offers, each a checkbox `grant_<name>`.
pub const GRANTS: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "device_code",
];

/// The presets: key, label, what it is for.
pub const PRESETS: [(&str, &str, &str); 5] = [
    (
        "web",
        "Web app",
        "A server-side web application: confidential, signs users in with a code.",
    ),
    (
        "spa",
        "Single-page app",
        "A JavaScript app in the browser: public, PKCE, calls from its web origin.",
    ),
    (
        "native",
        "Native app",
        "A desktop or mobile app: public, loopback or private-use scheme redirects.",
    ),
    (
        "service",
        "Service",
        "A machine client: confidential, client credentials, no user.",
    ),
    (
        "mcp",
        "MCP client",
        "A Model Context Protocol client: public, PKCE, offline access.",
    ),
];

/// The form's values as typed.
#[derive(Debug, Clone, Default)]
pub struct ClientForm {
    pub name: String,
    pub public: bool,
    pub grants: Vec<String>,
    pub scopes: String,
    /// One a line.
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub web_origins: String,
    pub audiences: String,
    pub access_token_ttl: String,
    pub skip_consent: bool,
    pub require_mfa: bool,
    pub pkce_optional: bool,
    pub private_use_redirects: bool,
    pub can_introspect: bool,
}

fn lines(items: &[&str]) -> String {
    items.join("\n")
}

impl ClientForm {
    /// The values a preset suggests (`None` for an unknown preset).
    pub fn preset(key: &str) -> Option<ClientForm> {
        let grants = |g: &[&str]| g.iter().map(|s| s.to_string()).collect();
        let base = ClientForm::default();
        Some(match key {
            "web" => ClientForm {
                name: "Web app".into(),
                grants: grants(&["authorization_code", "refresh_token"]),
                scopes: "openid profile email offline_access".into(),
                redirect_uris: lines(&["https://app.example.com/callback"]),
                post_logout_redirect_uris: lines(&["https://app.example.com/"]),
                ..base
            },
            "spa" => ClientForm {
                name: "Single-page app".into(),
                public: true,
                grants: grants(&["authorization_code", "refresh_token"]),
                scopes: "openid profile email".into(),
                redirect_uris: lines(&["https://spa.example.com/callback"]),
                post_logout_redirect_uris: lines(&["https://spa.example.com/"]),
                web_origins: lines(&["https://spa.example.com"]),
                ..base
            },
            "native" => ClientForm {
                name: "Native app".into(),
                public: true,
                grants: grants(&["authorization_code", "refresh_token"]),
                scopes: "openid profile email offline_access".into(),
                redirect_uris: lines(&[
                    "http://127.0.0.1/callback",
                    "com.example.app:/oauth2redirect",
                ]),
                private_use_redirects: true,
                ..base
            },
            "service" => ClientForm {
                name: "Service".into(),
                grants: grants(&["client_credentials"]),
                scopes: "read".into(),
                ..base
            },
            "mcp" => ClientForm {
                name: "MCP client".into(),
                public: true,
                grants: grants(&["authorization_code", "refresh_token"]),
                scopes: "openid offline_access".into(),
                redirect_uris: lines(&["http://127.0.0.1/callback"]),
                ..base
            },
            _ => return None,
        })
    }

    /// The form's fields of a posted form.
    pub fn from_params(p: &Params) -> ClientForm {
        let text = |name: &str| p.get(name).unwrap_or("").trim().to_string();
        let checked = |name: &str| p.get(name) == Some("yes");
        ClientForm {
            name: text("name"),
            public: p.get("kind") == Some("public"),
            grants: GRANTS
                .iter()
                .filter(|g| checked(&format!("grant_{g}")))
                .map(|g| g.to_string())
                .collect(),
            scopes: text("scopes"),
            redirect_uris: text("redirect_uris"),
            post_logout_redirect_uris: text("post_logout_redirect_uris"),
            web_origins: text("web_origins"),
            audiences: text("audiences"),
            access_token_ttl: text("access_token_ttl"),
            skip_consent: checked("skip_consent"),
            require_mfa: checked("require_mfa"),
            pkce_optional: checked("pkce_optional"),
            private_use_redirects: checked("private_use_redirects"),
            can_introspect: checked("can_introspect"),
        }
    }

    /// The form of a stored client.
    pub fn of(c: &Client) -> ClientForm {
        ClientForm {
            name: c.name.clone(),
            public: c.public,
            grants: c
                .grant_types
                .iter()
                .map(|g| g.label().to_string())
                .collect(),
            scopes: c.scopes.join(" "),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            web_origins: c.web_origins.join("\n"),
            audiences: c.audiences.join(" "),
            access_token_ttl: c
                .access_token_ttl_secs
                .map(|t| t.to_string())
                .unwrap_or_default(),
            skip_consent: c.skip_consent,
            require_mfa: c.require_mfa,
            pkce_optional: !c.public && !c.pkce_required,
            private_use_redirects: c.redirect_uris.iter().any(|u| !u.starts_with("http")),
            can_introspect: c.can_introspect,
        }
    }

    pub fn has_grant(&self, grant: &str) -> bool {
        self.grants.iter().any(|g| g == grant)
    }

    /// The spec the form describes, over `base` (a stored client's other settings, such as
    /// token exchange, which the form does not show), or the problems with its values.
    pub fn spec(&self, base: Option<&Client>) -> Result<ClientSpec, Vec<String>> {
        let list = |text: &str| split_list(&[text.to_string()]);
        let ttl = match self.access_token_ttl.as_str() {
            "" => None,
            t => match t.parse::<i64>() {
                Ok(secs) => Some(secs),
                Err(_) => {
                    return Err(vec![
                        "Access token lifetime: a number of seconds, or empty for the default"
                            .into(),
                    ])
                }
            },
        };
        let alg = |a: Option<crate::tokens::Alg>| a.map(|a| a.name().to_string());
        Ok(ClientSpec {
            name: self.name.clone(),
            grant_types: self.grants.clone(),
            scopes: list(&self.scopes),
            redirect_uris: list(&self.redirect_uris),
            post_logout_redirect_uris: list(&self.post_logout_redirect_uris),
            audiences: list(&self.audiences),
            public: self.public,
            skip_consent: self.skip_consent,
            access_token_ttl_secs: ttl,
            can_introspect: self.can_introspect,
            pkce_optional: self.pkce_optional,
            web_origins: list(&self.web_origins),
            token_alg: base.and_then(|c| alg(c.access_token_alg)),
            id_token_alg: base.and_then(|c| alg(c.id_token_alg)),
            require_mfa: self.require_mfa,
            // Not on the form: an edit keeps it.
            dpop_bound_access_tokens: base.is_some_and(|c| c.dpop_bound_access_tokens),
            exchange_audiences: base
                .map(|c| c.exchange_audiences.clone())
                .unwrap_or_default(),
            exchange_impersonation: base.is_some_and(|c| c.exchange_impersonation),
            private_use_redirects: self.private_use_redirects,
            dynamic: false,
            // Not on the form: kept as it was.
            require_par: base.is_some_and(|c| c.require_par),
            // Not on the form: an edit keeps what the client has.
            backchannel_logout_uri: base.and_then(|c| c.backchannel_logout_uri.clone()),
            backchannel_logout_session_required: base
                .is_some_and(|c| c.backchannel_logout_session_required),
            // Not on the form: an edit keeps the client's profile.
            profile: base.and_then(|c| c.profile.map(|p| p.as_str().to_string())),
            // Not on the form: an edit keeps how it authenticates and its keys.
            auth_method: base
                .filter(|c| c.private_key_jwt)
                .map(|_| crate::oauth::client::PRIVATE_KEY_JWT.to_string()),
            jwks: base.and_then(|c| c.jwks.clone()),
            jwks_uri: base.and_then(|c| c.jwks_uri.clone()),
        })
    }
}

/// A grant as the pages name it.
pub fn grant_labels(c: &Client) -> String {
    let names: Vec<&str> = c.grant_types.iter().map(|g| GrantType::label(*g)).collect();
    names.join(", ")
}
