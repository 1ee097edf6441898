//! The limits for clients nobody vetted (see the module doc of `oauth::dynamic`): who may
//! register, and what a dynamic client's metadata may hold.
use super::*;

/// Whether a registration may go on to its metadata under `policy`, before anything is read from
/// the database: refused when registration is off, or when an initial access token is required
/// and none came.
pub fn admit(policy: RegistrationPolicy, initial_token: Option<&str>) -> Result<(), DcrError> {
    match policy {
        RegistrationPolicy::Disabled => Err(DcrError::Disabled),
        RegistrationPolicy::InitialAccessToken if initial_token.is_none() => {
            Err(DcrError::MissingToken)
        }
        _ => Ok(()),
    }
}

/// Checks metadata against the limits for dynamic clients, then the CLI's rules; returns the spec
/// to register and what goes beside it.
pub fn check(
    meta: &Metadata,
    rules: &ClientSettings,
    max_ttl_secs: i64,
) -> Result<(ClientSpec, Extras), DcrError> {
    let application_type = match meta.application_type.as_deref() {
        None | Some("web") => ApplicationType::Web,
        Some("native") => ApplicationType::Native,
        Some(other) => {
            return Err(invalid(format!(
                "application_type {other:?} is not supported (web, native)"
            )))
        }
    };
    let auth_method = meta
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic");
    if auth_method == "private_key_jwt" {
        return Err(invalid(
            "token_endpoint_auth_method private_key_jwt is not offered to self-registered \
             clients (jwks / jwks_uri are not taken here); an operator can register such a \
             client (client create --auth-method private_key_jwt)"
                .to_string(),
        ));
    }
    if !matches!(
        auth_method,
        "none" | "client_secret_basic" | "client_secret_post"
    ) {
        return Err(invalid(format!(
            "token_endpoint_auth_method {auth_method:?} is not supported (none, \
             client_secret_basic, client_secret_post)"
        )));
    }
    let public = auth_method == "none";

    let redirect_uris = meta.redirect_uris.clone().unwrap_or_default();
    let post_logout = meta.post_logout_redirect_uris.clone().unwrap_or_default();
    for (field, list) in [
        ("redirect_uris", &redirect_uris),
        ("post_logout_redirect_uris", &post_logout),
    ] {
        if list.len() > MAX_REDIRECT_URIS {
            return Err(DcrError::InvalidRedirectUri(format!(
                "{field} may list at most {MAX_REDIRECT_URIS} URIs"
            )));
        }
    }
    let bad: Vec<String> = redirect_uris
        .iter()
        .chain(&post_logout)
        .filter_map(|uri| check_redirect_uri(uri, application_type).err())
        .collect();
    if !bad.is_empty() {
        return Err(DcrError::InvalidRedirectUri(bad.join("; ")));
    }

    let grants = check_grants(meta, public, rules)?;
    if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(DcrError::InvalidRedirectUri(
            "the authorization_code grant needs at least one redirect URI in redirect_uris".into(),
        ));
    }
    let scopes = check_scopes(meta.scope.as_deref(), rules)?;

    let name = meta.client_name.as_deref().map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Err(invalid(
            "client_name is required: users see it when they are asked to allow access",
        ));
    }
    crate::identity::text::check_name("client_name", name, 200).map_err(invalid)?;

    let uri = |field: &str, value: &Option<String>| -> Result<Option<String>, DcrError> {
        value
            .as_deref()
            .map(|v| check_info_uri(field, v).map(|()| v.to_string()))
            .transpose()
    };
    let extras = Extras {
        application_type,
        token_endpoint_auth_method: auth_method.to_string(),
        logo_uri: uri("logo_uri", &meta.logo_uri)?,
        client_uri: uri("client_uri", &meta.client_uri)?,
        policy_uri: uri("policy_uri", &meta.policy_uri)?,
        tos_uri: uri("tos_uri", &meta.tos_uri)?,
        contacts: check_contacts(meta.contacts.as_deref().unwrap_or_default())?,
    };

    let spec = ClientSpec {
        name: name.to_string(),
        grant_types: grants.iter().map(|g| g.as_str().to_string()).collect(),
        scopes,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        public,
        private_use_redirects: application_type == ApplicationType::Native,
        dynamic: true,
        ..ClientSpec::default()
    };
    // The CLI's rules too (they hold for every client); the checks above make them pass.
    registration::validate(&spec, max_ttl_secs).map_err(|e| invalid(e.0.join("; ")))?;
    Ok((spec, extras))
}

/// The grants a dynamic client may have (`authorization_code` when it names none).
fn check_grants(
    meta: &Metadata,
    public: bool,
    rules: &ClientSettings,
) -> Result<Vec<GrantType>, DcrError> {
    let names = meta
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if names.is_empty() {
        return Err(invalid("grant_types must name at least one grant"));
    }
    let mut grants = Vec::new();
    for name in &names {
        let grant = match name.as_str() {
            "authorization_code" => GrantType::AuthorizationCode,
            "refresh_token" => GrantType::RefreshToken,
            // RFC 8628: CLIs and devices without a browser of their own register too.
            crate::oauth::client::DEVICE_CODE_URN => GrantType::DeviceCode,
            "client_credentials" if public => {
                return Err(invalid(
                    "a public client (token_endpoint_auth_method none) cannot use the \
                     client_credentials grant",
                ))
            }
            "client_credentials" if !rules.registration_client_credentials => {
                return Err(invalid(
                    "this server does not let dynamic clients register the client_credentials \
                     grant",
                ))
            }
            "client_credentials" => GrantType::ClientCredentials,
            other => {
                return Err(invalid(format!(
                    "grant type {other:?} is not available to dynamic clients \
                     (authorization_code, refresh_token, {})",
                    crate::oauth::client::DEVICE_CODE_URN
                )))
            }
        };
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    let code = grants.contains(&GrantType::AuthorizationCode);
    if grants.contains(&GrantType::RefreshToken)
        && !code
        && !grants.contains(&GrantType::DeviceCode)
    {
        return Err(invalid(
            "the refresh_token grant needs the authorization_code or the device_code grant",
        ));
    }
    match meta.response_types.as_deref() {
        None => {}
        Some(types) => {
            if let Some(other) = types.iter().find(|t| *t != "code") {
                return Err(invalid(format!(
                    "response type {other:?} is not supported (code)"
                )));
            }
            let has_code = types.iter().any(|t| t == "code");
            if has_code && !code {
                return Err(invalid(
                    "response type code needs the authorization_code grant",
                ));
            }
            if code && !has_code {
                return Err(invalid(
                    "the authorization_code grant needs response type code",
                ));
            }
        }
    }
    Ok(grants)
}

/// The scopes asked for, each among `registration_scopes`; all of those when none are named.
fn check_scopes(scope: Option<&str>, rules: &ClientSettings) -> Result<Vec<String>, DcrError> {
    let Some(scope) = scope else {
        return Ok(rules.registration_scopes.clone());
    };
    let mut scopes: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !rules.registration_scopes.iter().any(|allowed| allowed == s) {
            return Err(invalid(format!(
                "scope {s:?} is not available to dynamic clients (allowed: {})",
                rules.registration_scopes.join(" ")
            )));
        }
        if !scopes.iter().any(|have| have == s) {
            scopes.push(s.to_string());
        }
    }
    Ok(scopes)
}

/// A dynamic client's redirect URI: registered exactly, so no wildcard, fragment, user
/// information, space or comma; for a web app https (http on a loopback host), for a native
/// app http on a loopback host or a private-use scheme.
pub fn check_redirect_uri(uri: &str, app: ApplicationType) -> Result<(), String> {
    if uri.len() > MAX_URI_LEN {
        return Err(format!(
            "a redirect URI is longer than {MAX_URI_LEN} characters"
        ));
    }
    if uri.contains('*') {
        return Err(format!(
            "redirect URI {uri} has a wildcard: register every redirect URI exactly"
        ));
    }
    if uri.contains('#') {
        return Err(format!("redirect URI {uri} must not have a fragment"));
    }
    if uri.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(format!(
            "redirect URI {uri:?} must not contain spaces or commas"
        ));
    }
    let url = Url::parse(uri).map_err(|e| format!("redirect URI {uri:?} is not absolute: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "redirect URI {uri} must not carry user information"
        ));
    }
    let loopback_http = url.scheme() == "http" && is_loopback_host(url.host());
    match app {
        ApplicationType::Web if loopback_http => Ok(()),
        ApplicationType::Web if url.scheme() == "https" && url.host().is_some() => Ok(()),
        ApplicationType::Web => Err(format!(
            "redirect URI {uri} must use https (http only on a loopback host: 127.0.0.1, [::1], \
             localhost); native apps register with application_type native"
        )),
        ApplicationType::Native if loopback_http || is_private_use(uri) => Ok(()),
        ApplicationType::Native => Err(format!(
            "a native app's redirect URI {uri} must be http on a loopback host \
             (http://127.0.0.1/callback; any port matches) or use a private-use scheme \
             (com.example.app:/callback, RFC 8252)"
        )),
    }
}

/// `logo_uri`, `client_uri`, `policy_uri`, `tos_uri`: https (or http on a loopback host).
fn check_info_uri(field: &str, value: &str) -> Result<(), DcrError> {
    let bad = || invalid(format!("{field} must be an https URL"));
    if value.len() > MAX_URI_LEN {
        return Err(invalid(format!(
            "{field} is longer than {MAX_URI_LEN} characters"
        )));
    }
    let url = Url::parse(value).map_err(|_| bad())?;
    let ok = url.username().is_empty()
        && url.password().is_none()
        && match url.scheme() {
            "https" => url.host().is_some(),
            "http" => is_loopback_host(url.host()),
            _ => false,
        };
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

fn check_contacts(contacts: &[String]) -> Result<Vec<String>, DcrError> {
    if contacts.len() > MAX_CONTACTS {
        return Err(invalid(format!(
            "contacts may list at most {MAX_CONTACTS} addresses"
        )));
    }
    contacts
        .iter()
        .map(|c| {
            let c = c.trim();
            if c.is_empty() || c.chars().count() > MAX_CONTACT_LEN {
                Err(invalid(format!(
                    "each of contacts must be 1 to {MAX_CONTACT_LEN} characters"
                )))
            } else {
                Ok(c.to_string())
            }
        })
        .collect()
}
