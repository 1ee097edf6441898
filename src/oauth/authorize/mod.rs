//! The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2), free of HTTP: validating a
//! request, deciding what the user must do next (sign in, consent), issuing codes, and the
//! answers that go back to the client.
//!
//! Until the client and its redirect URI are known to be good, failures are shown to the user
//! and never redirected; after that, every failure goes back to the client with `state` and
//! `iss` (RFC 9207).
mod flow;
mod request;

pub use flow::{consent_granted, mfa_required, next_step, Next, SignedIn, CODE_TTL_SECS};
pub use request::{validate, AuthRequest, Prompt, MAX_UI_LOCALES, REPEATABLE, REQUEST_TTL_SECS};

use url::Url;

use super::ErrorCode;

/// How the answer travels to the client (OAuth 2.0 Multiple Response Types, Form Post).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    FormPost,
}

impl ResponseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::FormPost => "form_post",
        }
    }

    pub fn parse(s: &str) -> Option<ResponseMode> {
        match s {
            "query" => Some(ResponseMode::Query),
            "form_post" => Some(ResponseMode::FormPost),
            _ => None,
        }
    }
}

/// Where answers go: a redirect URI registered for the client, checked before anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
}

/// An answer for the client: a code, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub to: ReplyTo,
    /// `code`, or `error` and `error_description`; `state` and `iss` are added on delivery.
    pub params: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn code(to: ReplyTo, code: String) -> Reply {
        Reply {
            to,
            params: vec![("code", code)],
        }
    }

    pub fn error(to: ReplyTo, code: ErrorCode, description: impl Into<String>) -> Reply {
        Reply {
            to,
            params: vec![
                ("error", code.as_str().to_string()),
                ("error_description", description.into()),
            ],
        }
    }

    /// Every parameter delivered, in order: the answer, then `state` (when sent) and `iss`.
    pub fn delivered(&self, issuer: &str) -> Vec<(&'static str, String)> {
        let mut out = self.params.clone();
        if let Some(state) = &self.to.state {
            out.push(("state", state.clone()));
        }
        out.push(("iss", issuer.to_string()));
        out
    }

    /// The redirect URI with the answer added to its query (response_mode=query).
    pub fn location(&self, issuer: &str) -> anyhow::Result<String> {
        let mut url = Url::parse(&self.to.redirect_uri)?;
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in self.delivered(issuer) {
                query.append_pair(name, &value);
            }
        }
        Ok(url.into())
    }
}

/// Why an authorization request went no further.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The client or redirect URI can't be trusted: tell the user, never redirect.
    #[error("{0}")]
    Page(String),
    /// Sent back to the client's (validated) redirect URI.
    #[error("{:?}", .0.params)]
    Redirect(Box<Reply>),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AuthorizeError {
    fn from(e: diesel::result::Error) -> Self {
        AuthorizeError::Internal(e.into())
    }
}

impl From<crate::store::DbError> for AuthorizeError {
    fn from(e: crate::store::DbError) -> Self {
        AuthorizeError::Internal(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_keeps_the_registered_query_and_adds_state_and_iss() {
        let reply = Reply::error(
            ReplyTo {
                redirect_uri: "https://app.example/cb?tenant=a".into(),
                mode: ResponseMode::Query,
                state: Some("s 1&x".into()),
            },
            ErrorCode::AccessDenied,
            "the user denied",
        );
        assert_eq!(
            reply.location("https://id.example").unwrap(),
            "https://app.example/cb?tenant=a&error=access_denied&error_description=the+user+denied\
             &state=s+1%26x&iss=https%3A%2F%2Fid.example"
        );
    }
}
