//! RFC 6749 §5.2 errors. `http/error.rs` turns them into responses; nothing here knows HTTP.
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 8707 §2: a `resource` the client may not have.
    InvalidTarget,
    TemporarilyUnavailable,
    ServerError,
    /// Authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
    UnsupportedResponseType,
    AccessDenied,
    LoginRequired,
    ConsentRequired,
    /// OIDC Core §3.1.2.6: `prompt=none`, but the sign-in must be stepped up.
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    /// RFC 9101 §6.2: the request object (`request`) is invalid.
    InvalidRequestObject,
    /// Device authorization grant (RFC 8628 §3.5): the user has not decided yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: polling faster than the interval; the interval grows by 5 s.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 9449 §5: the DPoP proof is missing, invalid or replayed.
    InvalidDpopProof,
    /// RFC 9449 §8: nonces are required and the proof has none this server issued (the answer
    /// carries a fresh one in `DPoP-Nonce`).
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// A protocol error the client caused; the description is safe to show it.
    #[error("{code}: {description}")]
    Protocol {
        code: ErrorCode,
        description: String,
        /// The client authenticated with HTTP Basic: answer with a `WWW-Authenticate` challenge.
        basic_challenge: bool,
    },
    /// Not now: too many failed logins from this client (429) or the server is saturated
    /// (503); `temporarily_unavailable` with `Retry-After`.
    #[error("retry in {retry_after} s")]
    RetryLater { throttled: bool, retry_after: i64 },
    /// Our failure; the cause goes to the log, never to the client.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> OAuthError {
        OAuthError::Protocol {
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }

    /// Marks an `invalid_client` answer as a reply to HTTP Basic credentials.
    pub fn with_basic_challenge(self, basic: bool) -> OAuthError {
        match self {
            OAuthError::Protocol {
                code, description, ..
            } => OAuthError::Protocol {
                code,
                description,
                basic_challenge: basic,
            },
            other => other,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            OAuthError::Protocol { code, .. } => *code,
            OAuthError::RetryLater { .. } => ErrorCode::TemporarilyUnavailable,
            OAuthError::Internal(_) => ErrorCode::ServerError,
        }
    }
}

impl From<anyhow::Error> for OAuthError {
    fn from(e: anyhow::Error) -> Self {
        OAuthError::Internal(e)
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(e: diesel::result::Error) -> Self {
        OAuthError::Internal(e.into())
    }
}

impl From<crate::store::DbError> for OAuthError {
    fn from(e: crate::store::DbError) -> Self {
        OAuthError::Internal(e.into())
    }
}
