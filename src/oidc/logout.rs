//! RP-Initiated Logout 1.0: which client asks, whether the request provably comes from it (an
//! `id_token_hint` we signed), and where the browser may go afterwards (only a
//! `post_logout_redirect_uri` registered for that client).
use serde_json::Value;
use url::Url;

use crate::oauth::Client;
use crate::tokens::{self, KeySet};

/// A logout request's parameters.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogoutParams<'a> {
    pub id_token_hint: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

/// What a valid `id_token_hint` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub sub: String,
    pub sid: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub client: Option<Client>,
    pub hint: Option<Hint>,
    /// A post-logout redirect URI registered for `client`, exactly as sent.
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

impl Target {
    /// Where to send the browser after signing out: the URI with `state` added.
    pub fn redirect(&self) -> Option<String> {
        let mut url = Url::parse(self.post_logout_redirect_uri.as_deref()?).ok()?;
        if let Some(state) = &self.state {
            url.query_pairs_mut().append_pair("state", state);
        }
        Some(url.into())
    }
}

/// Resolves a logout request; the error is a message for the person (no redirect happens).
pub fn resolve(
    keys: &KeySet,
    issuer: &str,
    p: LogoutParams,
    find_client: impl FnOnce(&str) -> anyhow::Result<Option<Client>>,
) -> Result<Target, LogoutError> {
    let (hint, hint_client) = match p.id_token_hint {
        Some(token) => {
            let (hint, aud) = read_hint(keys, issuer, token).ok_or(LogoutError::Invalid(
                "The sign-out request carries an ID token that this server did not issue.",
            ))?;
            (Some(hint), Some(aud))
        }
        None => (None, None),
    };
    let client_id = match (p.client_id, hint_client.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            return Err(LogoutError::Invalid(
                "The sign-out request names one application but carries another's ID token.",
            ))
        }
        (Some(a), _) => Some(a.to_string()),
        (None, b) => b.map(str::to_string),
    };
    let client = match client_id {
        Some(id) => Some(find_client(&id)?.ok_or(LogoutError::Invalid(
            "The application asking to sign you out is unknown.",
        ))?),
        None => None,
    };
    if let Some(uri) = p.post_logout_redirect_uri {
        let client = client.as_ref().ok_or(LogoutError::Invalid(
            "The sign-out request has a post_logout_redirect_uri but does not say which \
             application it is for.",
        ))?;
        if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
            return Err(LogoutError::Invalid(
                "The post_logout_redirect_uri is not registered for this application.",
            ));
        }
    }
    Ok(Target {
        client,
        hint,
        post_logout_redirect_uri: p.post_logout_redirect_uri.map(str::to_string),
        state: p.state.map(str::to_string),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// An ID token we signed for this issuer (expired ones too: the user may have been away);
/// returns its subject, session and client.
pub fn read_hint(keys: &KeySet, issuer: &str, token: &str) -> Option<(Hint, String)> {
    let (header, payload) = tokens::verify_signature(keys, token).ok()?;
    // Access tokens are signed by the same keys; only an ID token is a hint.
    if header.get("typ").and_then(Value::as_str) != Some("JWT") {
        return None;
    }
    if payload.get("iss").and_then(Value::as_str) != Some(issuer) {
        return None;
    }
    let aud = match payload.get("aud")? {
        Value::String(a) => a.clone(),
        Value::Array(v) if v.len() == 1 => v[0].as_str()?.to_string(),
        _ => return None,
    };
    let hint = Hint {
        sub: payload.get("sub")?.as_str()?.to_string(),
        sid: payload
            .get("sid")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    Some((hint, aud))
}
