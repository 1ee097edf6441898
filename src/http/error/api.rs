//! Errors of the JSON APIs (account API, API keys).
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use super::{status_for, unavailable, UNAVAILABLE_RETRY_AFTER};
use crate::identity::email_tokens::LinkError;
use crate::identity::login::LoginError;
use crate::identity::second_factor::CodeOutcome;
use crate::identity::totp::TotpError;
use crate::identity::users::CreateError;
use crate::oauth::dynamic::DcrError;
use crate::oauth::OAuthError;
use crate::telemetry::capped;

/// Errors of the JSON APIs (account API, API keys): a status, a machine-readable `error`, a
/// description, and rarer extras (details such as failed password rules, `Retry-After`, an
/// RFC 6750 challenge, the logged cause) boxed to keep `Result`s small.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Default)]
struct Extra {
    details: Option<serde_json::Value>,
    retry_after: Option<i64>,
    www_authenticate: Option<String>,
    /// Logged, never sent.
    cause: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            description: description.into(),
            extra: None,
        }
    }

    fn extra(mut self, f: impl FnOnce(&mut Extra)) -> ApiError {
        f(self.extra.get_or_insert_with(Box::default));
        self
    }

    pub fn with_details(self, details: serde_json::Value) -> ApiError {
        self.extra(|e| e.details = Some(details))
    }

    pub fn with_retry_after(self, secs: i64) -> ApiError {
        self.extra(|e| e.retry_after = Some(secs))
    }

    /// Our failure (500, cause logged), or 503 with `Retry-After` when the database is unavailable.
    pub fn internal(cause: anyhow::Error) -> ApiError {
        if unavailable(&cause) {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable; try again shortly",
            )
            .with_retry_after(UNAVAILABLE_RETRY_AFTER);
        }
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the server could not complete the request",
        )
        .extra(|e| e.cause = Some(cause))
    }

    fn busy() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the server is busy; try again shortly",
        )
        .with_retry_after(1)
    }

    fn throttled(retry_after: i64) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many attempts; try again later",
        )
        .with_retry_after(retry_after)
    }

    /// RFC 6750 §3: no token → a challenge without an error code; a bad one → 401
    /// `invalid_token`; too little scope → 403 `insufficient_scope`.
    pub fn bearer(error: Option<&'static str>, description: &str, scope: Option<&str>) -> ApiError {
        let mut challenge = String::from("Bearer realm=\"portcullis\"");
        if let Some(e) = error {
            challenge.push_str(&format!(
                ", error=\"{e}\", error_description=\"{description}\""
            ));
        }
        if let Some(s) = scope {
            challenge.push_str(&format!(", scope=\"{s}\""));
        }
        let (status, code) = match error {
            Some("insufficient_scope") => (StatusCode::FORBIDDEN, "insufficient_scope"),
            _ => (StatusCode::UNAUTHORIZED, "invalid_token"),
        };
        ApiError::new(status, code, description).extra(|e| e.www_authenticate = Some(challenge))
    }

    /// RFC 9449 §7.1: a DPoP-bound token with a missing or bad proof → 401 with a `DPoP`
    /// challenge (`invalid_dpop_proof`, or `invalid_token`) naming the accepted algorithms.
    pub fn dpop(error: &'static str, description: &str) -> ApiError {
        let challenge = format!(
            "DPoP algs=\"{}\", error=\"{error}\", error_description=\"{description}\"",
            crate::oauth::dpop::ALGORITHMS.join(" ")
        );
        ApiError::new(StatusCode::UNAUTHORIZED, error, description)
            .extra(|e| e.www_authenticate = Some(challenge))
    }
}

impl ApiError {
    /// RFC 9470 §3: the token's sign-in is too old, or lacks the second factor the operation
    /// needs: 401 `insufficient_user_authentication` with `max_age` (and `acr_values`) in the
    /// challenge, telling the client how to sign in again.
    pub fn step_up(reauth: crate::identity::mfa::Reauthenticate) -> ApiError {
        use crate::identity::mfa;
        let description = if reauth.second_factor {
            "this operation needs a sign-in with your second factor within the last 10 minutes"
        } else {
            "this operation needs a sign-in within the last 10 minutes"
        };
        let mut challenge = format!(
            "Bearer realm=\"portcullis\", error=\"insufficient_user_authentication\", \
             error_description=\"{description}\", max_age=\"{}\"",
            mfa::RECENT_SECS
        );
        if reauth.second_factor {
            challenge.push_str(&format!(", acr_values=\"{}\"", mfa::ACR_MFA));
        }
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "insufficient_user_authentication",
            description,
        )
        .extra(|e| e.www_authenticate = Some(challenge))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status);
        resp.insert_header((header::CACHE_CONTROL, "no-store"));
        let mut body =
            serde_json::json!({ "error": self.code, "error_description": self.description });
        if let Some(extra) = &self.extra {
            if let Some(cause) = &extra.cause {
                tracing::error!(error = %capped(format_args!("{cause:?}")), "internal error");
            }
            if let Some(challenge) = &extra.www_authenticate {
                resp.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
            }
            if let Some(secs) = extra.retry_after {
                resp.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            if let Some(details) = &extra.details {
                body["details"] = details.clone();
            }
        }
        resp.json(body)
    }
}

impl From<crate::store::DbError> for ApiError {
    fn from(e: crate::store::DbError) -> Self {
        ApiError::internal(e.into())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::internal(e.into())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::InvalidEmail(why) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_email", why)
            }
            CreateError::InvalidName(why) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name", why)
            }
            CreateError::WeakPassword(rules) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "weak_password",
                "the password does not meet the policy",
            )
            .with_details(serde_json::json!({ "failed_rules": rules })),
            CreateError::EmailTaken => ApiError::new(
                StatusCode::CONFLICT,
                "email_taken",
                "an account with this email already exists",
            ),
            CreateError::UnknownRole(r) => {
                ApiError::internal(anyhow::anyhow!("default role {r:?} is not a role"))
            }
            CreateError::Busy => ApiError::busy(),
            CreateError::Throttled { retry_after } => ApiError::throttled(retry_after),
            CreateError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Failed => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "invalid email or password",
            ),
            LoginError::Unverified => ApiError::new(
                StatusCode::FORBIDDEN,
                "email_not_verified",
                "confirm your email address first: follow the link sent to it, or ask for a new \
                 one at POST /api/auth/email/resend",
            ),
            LoginError::Throttled { retry_after } => ApiError::throttled(retry_after),
            LoginError::Busy => ApiError::busy(),
            LoginError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Disabled => ApiError::new(
                StatusCode::FORBIDDEN,
                "email_disabled",
                "this server sends no email: password reset and email verification are off",
            ),
            LinkError::Throttled { retry_after } => ApiError::throttled(retry_after),
            LinkError::InvalidToken => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_link",
                "the link is invalid, was already used, or has expired",
            ),
            LinkError::WeakPassword(rules) => CreateError::WeakPassword(rules).into(),
            LinkError::Busy => ApiError::busy(),
            LinkError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Protocol {
                code, description, ..
            } => ApiError::new(status_for(code), code.as_str(), description),
            OAuthError::RetryLater {
                throttled: true,
                retry_after,
            } => ApiError::throttled(retry_after),
            OAuthError::RetryLater { .. } => ApiError::busy(),
            OAuthError::Internal(e) => ApiError::internal(e),
        }
    }
}

/// Dynamic client registration and management (RFC 7591 §3.2.2, RFC 7592 §2).
impl From<DcrError> for ApiError {
    fn from(e: DcrError) -> Self {
        match e {
            // RFC 7591 has no code for a server that takes no registrations: RFC 6749's
            // `access_denied` ("the authorization server denied the request"), 403.
            DcrError::Disabled => ApiError::new(
                StatusCode::FORBIDDEN,
                "access_denied",
                "dynamic client registration is disabled on this server",
            ),
            DcrError::MissingToken => ApiError::bearer(
                None,
                "a Bearer token is required: an initial access token to register, the \
                 registration access token to manage a registration",
                None,
            ),
            DcrError::InvalidToken(why) => ApiError::bearer(Some("invalid_token"), why, None),
            DcrError::InvalidRedirectUri(why) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_redirect_uri", why)
            }
            DcrError::InvalidMetadata(why) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_client_metadata", why)
            }
            DcrError::Throttled { retry_after } => ApiError::throttled(retry_after),
            DcrError::Internal(e) => ApiError::internal(e),
        }
    }
}

/// Setting up or removing an authenticator app.
impl From<TotpError> for ApiError {
    fn from(e: TotpError) -> Self {
        match e {
            TotpError::AlreadyEnabled => ApiError::new(
                StatusCode::CONFLICT,
                "totp_already_enabled",
                "an authenticator app is already set up; turn it off first",
            ),
            TotpError::NotStarted => ApiError::new(
                StatusCode::CONFLICT,
                "totp_not_started",
                "no authenticator app is being set up: start with POST /api/auth/mfa/totp",
            ),
            TotpError::NotEnabled => ApiError::new(
                StatusCode::NOT_FOUND,
                "totp_not_enabled",
                "no authenticator app is set up",
            ),
            TotpError::WrongCode => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_code",
                "the code is not right: check the time on the device",
            ),
            TotpError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl ApiError {
    /// A second-factor code that proves nothing: 403 `invalid_code` or `code_replayed`, 429
    /// when throttled. (An accepted code is no error: a 500, should it ever get here.)
    pub fn refused_code(outcome: CodeOutcome) -> ApiError {
        match outcome {
            CodeOutcome::Wrong => ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_code",
                "the code is not right",
            ),
            CodeOutcome::Replayed => ApiError::new(
                StatusCode::FORBIDDEN,
                "code_replayed",
                "this code was already used; wait for the next one",
            ),
            CodeOutcome::Throttled { retry_after } => ApiError::throttled(retry_after),
            CodeOutcome::Accepted { .. } => {
                ApiError::internal(anyhow::anyhow!("an accepted code was answered as refused"))
            }
        }
    }

    /// Password hashing is saturated.
    pub fn busy_hashing() -> ApiError {
        ApiError::busy()
    }
}
