//! The one place that maps domain errors to HTTP responses: protocol errors (RFC 6749 JSON)
//! here, the JSON APIs' `ApiError` in `api.rs`, the HTML pages' `PageError` in `page.rs`.
//!
//! An internal error whose cause is an unavailable database (`store::is_unavailable`: queue
//! full, no connection in time, connection lost, storage refusing writes) is answered 503 with
//! `Retry-After: 5` in each shape, never 500.
mod admin;
mod api;
pub mod localize;
mod page;
pub mod passkeys;

pub use api::ApiError;
pub use page::PageError;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::oauth::{ErrorCode, OAuthError};
use crate::telemetry::capped;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// Seconds a client is asked to wait while the database is unavailable.
pub(super) const UNAVAILABLE_RETRY_AFTER: i64 = 5;

/// The internal error is an unavailable database: 503, and a warning rather than an error log.
pub(super) fn unavailable(cause: &anyhow::Error) -> bool {
    let unavailable = crate::store::is_unavailable(cause);
    if unavailable {
        tracing::warn!(error = %capped(format_args!("{cause:#}")), "database unavailable");
    }
    unavailable
}

pub(super) fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The `error` code the answer to `e` carries (for metrics): a saturated server or an
/// unavailable database answers `temporarily_unavailable`.
pub fn answered_code(e: &OAuthError) -> ErrorCode {
    match e {
        OAuthError::Internal(cause) if crate::store::is_unavailable(cause) => {
            ErrorCode::TemporarilyUnavailable
        }
        other => other.code(),
    }
}

/// RFC 6749 §5.2 answers of the token endpoint.
impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::RetryLater {
                throttled: true, ..
            } => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::Internal(cause) if crate::store::is_unavailable(cause) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
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
            OAuthError::Internal(cause) if unavailable(cause) => {
                resp.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER.to_string()));
                resp.json(ErrorBody {
                    error: "temporarily_unavailable",
                    error_description: "the service is temporarily unavailable; try again shortly",
                })
            }
            OAuthError::Internal(cause) => {
                tracing::error!(error = %capped(format_args!("{cause:?}")), "internal error");
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
