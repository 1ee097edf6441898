//! The one place that maps domain errors to HTTP responses.
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::browser::pages::{self, ErrorPage};
use crate::identity::login::LoginError;
use crate::identity::users::CreateError;
use crate::oauth::{ErrorCode, OAuthError};

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// RFC 6749 §5.2 answers of the token endpoint.
impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::RetryLater {
                throttled: true, ..
            } => StatusCode::TOO_MANY_REQUESTS,
            other => status_for(other.code()),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        match self {
            OAuthError::Protocol {
                code,
                description,
                basic_challenge,
            } => {
                if *basic_challenge {
                    resp.insert_header((
                        header::WWW_AUTHENTICATE,
                        "Basic realm=\"portcullis\", charset=\"UTF-8\"",
                    ));
                }
                resp.json(ErrorBody {
                    error: code.as_str(),
                    error_description: description,
                })
            }
            OAuthError::RetryLater {
                throttled,
                retry_after,
            } => {
                resp.insert_header((header::RETRY_AFTER, retry_after.to_string()));
                resp.json(ErrorBody {
                    error: "temporarily_unavailable",
                    error_description: if *throttled {
                        "too many failed logins from this address; try again later"
                    } else {
                        "the server is busy; try again shortly"
                    },
                })
            }
            OAuthError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                resp.json(ErrorBody {
                    error: "server_error",
                    error_description: "the server could not complete the request",
                })
            }
        }
    }
}

/// 405 with `Allow` and an RFC 6749-shaped body.
pub fn method_not_allowed(allow: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ErrorBody {
            error: "invalid_request",
            error_description: &format!("this endpoint accepts only {allow}"),
        })
}

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

    pub fn internal(cause: anyhow::Error) -> ApiError {
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
            "too many failed logins from this address; try again later",
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
                tracing::error!(error = ?cause, "internal error");
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
            LoginError::Throttled { retry_after } => ApiError::throttled(retry_after),
            LoginError::Busy => ApiError::busy(),
            LoginError::Internal(e) => ApiError::internal(e),
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

/// Errors of the HTML pages: an error page with a status, a title and a message for a person,
/// and optionally a way on. The cause of a 5xx goes to the log only.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub link: Option<(String, String)>,
    cause: Option<Box<anyhow::Error>>,
}

impl PageError {
    pub fn new(status: StatusCode, title: &str, message: impl Into<String>) -> PageError {
        PageError {
            status,
            title: title.to_string(),
            message: message.into(),
            link: None,
            cause: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "This request can't be completed",
            message,
        )
    }

    /// A form without the CSRF token this browser was given.
    pub fn csrf() -> PageError {
        PageError::new(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form was not sent from this site, or it is too old. Go back, reload the page \
             and try again.",
        )
    }

    pub fn with_link(mut self, href: impl Into<String>, label: &str) -> PageError {
        self.link = Some((href.into(), label.to_string()));
        self
    }

    pub fn internal(cause: anyhow::Error) -> PageError {
        PageError {
            cause: Some(Box::new(cause)),
            ..PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not complete the request. Please try again in a moment.",
            )
        }
    }

    pub fn busy() -> PageError {
        PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy",
            "Too many sign-ins are being processed right now. Please try again in a moment.",
        )
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.title)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.cause {
            tracing::error!(error = ?cause, "internal error");
        }
        let mut resp = pages::render(
            self.status,
            &ErrorPage {
                title: self.title.clone(),
                message: self.message.clone(),
                link: self.link.clone(),
            },
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        resp
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        PageError::internal(e)
    }
}

impl From<crate::store::DbError> for PageError {
    fn from(e: crate::store::DbError) -> Self {
        PageError::internal(e.into())
    }
}

impl From<diesel::result::Error> for PageError {
    fn from(e: diesel::result::Error) -> Self {
        PageError::internal(e.into())
    }
}

/// A malformed request to a page (repeated or undecodable parameters, a bad body).
impl From<OAuthError> for PageError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Protocol { description, .. } => PageError::bad_request(description),
            OAuthError::RetryLater { .. } => PageError::busy(),
            OAuthError::Internal(e) => PageError::internal(e),
        }
    }
}

/// Authorization failures that are shown, not redirected (the caller delivers redirects).
impl From<crate::oauth::authorize::AuthorizeError> for PageError {
    fn from(e: crate::oauth::authorize::AuthorizeError) -> Self {
        use crate::oauth::authorize::AuthorizeError;
        match e {
            AuthorizeError::Page(message) => PageError::bad_request(message),
            AuthorizeError::Redirect(reply) => PageError::internal(anyhow::anyhow!(
                "an authorization error meant for the client was not delivered: {:?}",
                reply.params
            )),
            AuthorizeError::Internal(e) => PageError::internal(e),
        }
    }
}
