//! Validating an authorization request, in the order RFC 6749 §4.1.2.1 requires: the client and
//! redirect URI first (failures are pages), then everything else (failures are redirects).
use super::{AuthorizeError, Reply, ReplyTo, ResponseMode};
use crate::identity::mfa;
use crate::oauth::{pkce, redirect_uri, resource, scope, Client, ErrorCode, GrantType, Params};
use crate::store::authorize::RequestRow;

/// Parameters that may appear more than once in an authorization request (RFC 8707 §2).
pub const REPEATABLE: &[&str] = &["resource"];

/// A pending request lives this long while the user signs in and consents.
pub const REQUEST_TTL_SECS: i64 = 600;

/// Longest `state`, `nonce` and `login_hint` accepted (they are stored).
const MAX_PARAM_LEN: usize = 1024;

/// OIDC `prompt` values (`select_account` is treated as `login`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    fn parse(raw: &str) -> Result<Prompt, String> {
        let mut p = Prompt::default();
        for value in raw.split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => p.none = true,
                "login" | "select_account" => p.login = true,
                "consent" => p.consent = true,
                _ => {
                    return Err(
                        "prompt may only hold none, login, consent and select_account".into(),
                    )
                }
            }
        }
        if p.none && (p.login || p.consent) {
            return Err("prompt=none cannot be combined with other values".into());
        }
        Ok(p)
    }

    fn to_text(self) -> String {
        let mut v = Vec::new();
        if self.none {
            v.push("none");
        }
        if self.login {
            v.push("login");
        }
        if self.consent {
            v.push("consent");
        }
        v.join(" ")
    }
}

/// A valid authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub client_id: String,
    pub reply: ReplyTo,
    /// `redirect_uri` was in the request, so the token request must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// When the user signed in for this request (after a login page).
    pub authenticated_at: Option<i64>,
    /// The `sub` of a valid `id_token_hint` (set by the caller, which holds the keys); only
    /// consulted before anything is stored.
    pub hint_subject: Option<String>,
    /// The `acr_values` this server knows, in the request's order (OIDC Core §3.1.2.1: the
    /// others are voluntary and ignored).
    pub acr_values: Vec<String>,
    /// RFC 8707 `resource` values, each allowed for the client: bound to the code, and the
    /// tokens are for them (or fewer). Empty when the request named none.
    pub resources: Vec<String>,
    /// OIDC `ui_locales` (space-separated BCP 47 tags, preferred first): the language of the
    /// pages that follow (`i18n::negotiate`), at most [`MAX_UI_LOCALES`] bytes.
    pub ui_locales: Option<String>,
}

/// The longest `ui_locales` kept (longer ones are ignored, as an unknown language would be).
pub const MAX_UI_LOCALES: usize = 256;

impl AuthRequest {
    /// Whether the request asked for a second factor (`acr_values` holds the multi-factor
    /// level).
    pub fn wants_mfa(&self) -> bool {
        self.acr_values.iter().any(|v| v == mfa::ACR_MFA)
    }
}

impl AuthRequest {
    pub fn to_row(&self, id: String, browser_hash: String, now: i64) -> RequestRow {
        RequestRow {
            id,
            browser_hash,
            client_id: self.client_id.clone(),
            redirect_uri: self.reply.redirect_uri.clone(),
            redirect_uri_given: self.redirect_uri_given,
            response_mode: self.reply.mode.as_str().to_string(),
            scope: self.scopes.join(" "),
            state: self.reply.state.clone(),
            nonce: self.nonce.clone(),
            code_challenge: self.code_challenge.clone(),
            prompt: self.prompt.to_text(),
            max_age: self.max_age,
            login_hint: self.login_hint.clone(),
            authenticated_at: self.authenticated_at,
            created_at: now,
            expires_at: now + REQUEST_TTL_SECS,
            acr_values: (!self.acr_values.is_empty()).then(|| self.acr_values.join(" ")),
            resources: resource::to_stored(&self.resources),
            ui_locales: self.ui_locales.clone(),
        }
    }

    /// A stored request (written by `to_row`, so its values are known good).
    pub fn from_row(row: &RequestRow) -> AuthRequest {
        AuthRequest {
            client_id: row.client_id.clone(),
            reply: ReplyTo {
                redirect_uri: row.redirect_uri.clone(),
                mode: ResponseMode::parse(&row.response_mode).unwrap_or(ResponseMode::Query),
                state: row.state.clone(),
            },
            redirect_uri_given: row.redirect_uri_given,
            scopes: scope::parse(&row.scope).unwrap_or_default(),
            nonce: row.nonce.clone(),
            code_challenge: row.code_challenge.clone(),
            prompt: Prompt::parse(&row.prompt).unwrap_or_default(),
            max_age: row.max_age,
            login_hint: row.login_hint.clone(),
            authenticated_at: row.authenticated_at,
            hint_subject: None,
            acr_values: row
                .acr_values
                .as_deref()
                .map(known_acr_values)
                .unwrap_or_default(),
            resources: resource::from_stored(&row.resources),
            ui_locales: row.ui_locales.clone(),
        }
    }
}

/// Validates an authorization request. `shared_resources`: the resources any client may target
/// (`clients.resources`); `find_client` looks a client up by id.
pub fn validate(
    params: &Params,
    shared_resources: &[String],
    find_client: impl FnOnce(&str) -> anyhow::Result<Option<Client>>,
) -> Result<(Client, AuthRequest), AuthorizeError> {
    let page = |m: &str| AuthorizeError::Page(m.to_string());
    let client_id = params
        .get("client_id")
        .ok_or_else(|| page("The request has no client_id."))?;
    let client = find_client(client_id)?.ok_or_else(|| {
        page("The application that sent you here is not registered with this server.")
    })?;
    let (redirect_uri, redirect_uri_given) =
        match params.get("redirect_uri") {
            Some(uri) if redirect_uri::is_registered(&client, uri) => (uri.to_string(), true),
            Some(_) => {
                return Err(page(
                    "The redirect_uri is not registered for this application.",
                ))
            }
            None if crate::oauth::profile::requires_redirect_uri(&client) => {
                return Err(page(crate::oauth::profile::REDIRECT_URI_REQUIRED))
            }
            None => match client.redirect_uris.as_slice() {
                [only] => (only.clone(), false),
                [] => return Err(page(
                    "This application has no redirect URI registered, so it cannot sign users in.",
                )),
                _ => {
                    return Err(page(
                        "The request has no redirect_uri, and this application has several.",
                    ))
                }
            },
        };
    let state = params.get("state").map(str::to_string);
    // The mode is needed to deliver errors; a bad one is reported by query.
    let mode_param = params.get("response_mode");
    let mode = mode_param
        .and_then(ResponseMode::parse)
        .unwrap_or(ResponseMode::Query);
    let reply = ReplyTo {
        redirect_uri,
        mode,
        state,
    };
    let fail = |code: ErrorCode, description: &str| {
        AuthorizeError::Redirect(Box::new(Reply::error(reply.clone(), code, description)))
    };
    if reply
        .state
        .as_ref()
        .is_some_and(|s| s.len() > MAX_PARAM_LEN)
    {
        return Err(fail(ErrorCode::InvalidRequest, "state is too long"));
    }
    if mode_param.is_some_and(|m| ResponseMode::parse(m).is_none()) {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "response_mode must be query or form_post",
        ));
    }
    if params.get("request").is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code flow",
        ));
    }
    let scopes = scope::grant_oidc(params.get("scope"), &client.scopes).map_err(|e| match e {
        crate::oauth::OAuthError::Protocol {
            code, description, ..
        } => fail(code, &description),
        other => AuthorizeError::Internal(other.into()),
    })?;
    let resources = resource::requested(params.all("resource"), &client, shared_resources)
        .map_err(|e| match e {
            crate::oauth::OAuthError::Protocol {
                code, description, ..
            } => fail(code, &description),
            other => AuthorizeError::Internal(other.into()),
        })?;
    let code_challenge =
        pkce_challenge(params, &client).map_err(|m| fail(ErrorCode::InvalidRequest, m))?;
    let prompt = params
        .get("prompt")
        .map(Prompt::parse)
        .transpose()
        .map_err(|m| fail(ErrorCode::InvalidRequest, &m))?
        .unwrap_or_default();
    let max_age = match params.get("max_age") {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            fail(
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            )
        })?),
    };
    let nonce = params.get("nonce").map(str::to_string);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM_LEN) {
        return Err(fail(ErrorCode::InvalidRequest, "nonce is too long"));
    }
    let login_hint = params
        .get("login_hint")
        .filter(|h| h.len() <= 254)
        .map(str::to_string);
    let request = AuthRequest {
        client_id: client.id.clone(),
        reply,
        redirect_uri_given,
        scopes,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
        authenticated_at: None,
        hint_subject: None,
        acr_values: params
            .get("acr_values")
            .map(known_acr_values)
            .unwrap_or_default(),
        resources,
        ui_locales: params
            .get("ui_locales")
            .filter(|v| v.len() <= MAX_UI_LOCALES)
            .map(str::to_string),
    };
    Ok((client, request))
}

/// The values of an `acr_values` parameter this server offers (discovery's
/// `acr_values_supported`), each once.
fn known_acr_values(raw: &str) -> Vec<String> {
    let mut known: Vec<String> = Vec::new();
    for value in raw.split(' ').filter(|v| mfa::ACR_VALUES.contains(v)) {
        if !known.iter().any(|k| k == value) {
            known.push(value.to_string());
        }
    }
    known
}

/// The S256 challenge, or why the request's PKCE parameters are refused.
fn pkce_challenge(params: &Params, client: &Client) -> Result<Option<String>, &'static str> {
    let method = params.get("code_challenge_method");
    match params.get("code_challenge") {
        None if method.is_some() => Err("code_challenge_method was sent without code_challenge"),
        None if crate::oauth::profile::requires_pkce(client) => {
            Err("PKCE is required: send code_challenge with code_challenge_method=S256")
        }
        None => Ok(None),
        // RFC 7636 §4.3: an absent method means plain.
        Some(_) if method.is_none() || method == Some("plain") => {
            Err("code_challenge_method plain is not allowed; use S256")
        }
        Some(_) if method != Some("S256") => Err("code_challenge_method must be S256"),
        Some(c) if !pkce::is_valid_s256_challenge(c) => {
            Err("code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
        }
        Some(c) => Ok(Some(c.to_string())),
    }
}
