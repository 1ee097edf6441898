//! Errors of the HTML pages, rendered as the error page.
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::http::browser::pages::{ErrorPage, Tr};
use crate::identity::email_tokens::LinkError;
use crate::oauth::OAuthError;
use crate::telemetry::capped;

/// Errors of the HTML pages: an error page with a status, a title and a message for a person,
/// and optionally a way on. The cause of a 5xx goes to the log only.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub link: Option<(String, String)>,
    cause: Option<Box<anyhow::Error>>,
    /// `Retry-After` of a 503 or 429 (seconds).
    retry_after: u32,
    /// The catalog messages of a generic page (`localized`): shown in the request's language.
    ids: Option<Box<MessageIds>>,
}

/// The catalog messages (`locales/`) of an error page's title, message and link label; those
/// not given stay as written.
#[derive(Debug, Clone, Copy)]
struct MessageIds {
    title: &'static str,
    message: Option<&'static str>,
    link: Option<&'static str>,
}

impl PageError {
    pub fn new(status: StatusCode, title: &str, message: impl Into<String>) -> PageError {
        PageError {
            status,
            title: title.to_string(),
            message: message.into(),
            link: None,
            cause: None,
            retry_after: 1,
            ids: None,
        }
    }

    /// Names the catalog messages the page's title (and message) are in English, so that the
    /// page is shown in the request's language (`localize::pages`).
    pub fn localized(mut self, title: &'static str, message: Option<&'static str>) -> PageError {
        let link = self.ids.as_ref().and_then(|i| i.link);
        self.ids = Some(Box::new(MessageIds {
            title,
            message,
            link,
        }));
        self
    }

    /// Names the catalog message of the link's label (after `localized`).
    pub fn localized_link(mut self, label: &'static str) -> PageError {
        if let Some(ids) = &mut self.ids {
            ids.link = Some(label);
        }
        self
    }

    /// A request that can't go on: the title is generic (translated), the message is the
    /// caller's (`localized` names its catalog message, when it has one).
    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "This request can't be completed",
            message,
        )
        .localized("error-bad-request", None)
    }

    /// A form without the CSRF token this browser was given.
    pub fn csrf() -> PageError {
        PageError::new(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form was not sent from this site, or it is too old. Go back, reload the page \
             and try again.",
        )
        .localized("error-csrf-title", Some("error-csrf-message"))
    }

    pub fn with_link(mut self, href: impl Into<String>, label: &str) -> PageError {
        self.link = Some((href.into(), label.to_string()));
        self
    }

    /// Our failure (500, cause logged), or a 503 page with `Retry-After` when the database is
    /// unavailable.
    pub fn internal(cause: anyhow::Error) -> PageError {
        if super::unavailable(&cause) {
            return PageError {
                retry_after: seconds(super::UNAVAILABLE_RETRY_AFTER),
                ..PageError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The service can't complete this right now. Please try again in a few \
                     seconds.",
                )
                .localized("error-unavailable-title", Some("error-unavailable-message"))
            };
        }
        PageError {
            cause: Some(Box::new(cause)),
            ..PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not complete the request. Please try again in a moment.",
            )
            .localized("error-internal-title", Some("error-internal-message"))
        }
    }

    /// Too many attempts (429 with `Retry-After`).
    pub fn too_many(title: &str, message: impl Into<String>, retry_after: i64) -> PageError {
        PageError {
            retry_after: seconds(retry_after),
            ..PageError::new(StatusCode::TOO_MANY_REQUESTS, title, message)
        }
    }

    pub fn busy() -> PageError {
        PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy",
            "Too many sign-ins are being processed right now. Please try again in a moment.",
        )
        .localized("error-busy-title", Some("error-busy-message"))
    }
}

/// The mail flows' failures as pages, where the page itself does not handle them.
impl From<LinkError> for PageError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Disabled => PageError::new(
                StatusCode::NOT_FOUND,
                "Not available here",
                "This server doesn't send email, so password reset and email confirmation \
                 aren't available. Ask your administrator for help.",
            )
            .with_link("/login", "Back to sign in"),
            LinkError::Throttled { retry_after } => PageError {
                retry_after: seconds(retry_after),
                ..PageError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    "Too many emails were asked for from your network. Please try again later.",
                )
            },
            LinkError::InvalidToken => PageError::new(
                StatusCode::BAD_REQUEST,
                "This link can't be used",
                "The link is not valid: it was already used, it has expired, or it was copied \
                 incompletely.",
            )
            .with_link("/login", "Back to sign in"),
            LinkError::WeakPassword(_) => {
                PageError::bad_request("The new password does not meet the password policy.")
            }
            LinkError::Busy => PageError::busy(),
            LinkError::Internal(e) => PageError::internal(e),
        }
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
            tracing::error!(error = %capped(format_args!("{cause:?}")), "internal error");
        }
        self.render(Tr::english())
    }
}

impl PageError {
    /// Whether the page can be shown in another language than English.
    pub fn is_localized(&self) -> bool {
        self.ids.is_some()
    }

    /// The error page in `t`'s language: its catalog messages there, the rest as written.
    pub fn render(&self, t: Tr) -> HttpResponse {
        let ids = self.ids.as_deref().filter(|_| t != Tr::english());
        let text = |id: Option<&'static str>, written: &str| match id {
            Some(id) => t.text(id, &[]),
            None => written.to_string(),
        };
        let mut resp = crate::http::browser::render::page(
            self.status,
            &ErrorPage {
                t,
                title: text(ids.map(|i| i.title), &self.title),
                message: text(ids.and_then(|i| i.message), &self.message),
                link: self
                    .link
                    .as_ref()
                    .map(|(href, label)| (href.clone(), text(ids.and_then(|i| i.link), label))),
            },
        );
        if matches!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        ) {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(self.retry_after),
            );
        }
        resp
    }
}

/// A `Retry-After` in whole seconds, at least 1 (a `u32` keeps `PageError` small).
fn seconds(secs: i64) -> u32 {
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
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
            // Logged by the error and parameter names only: `state` is the client's secret.
            AuthorizeError::Redirect(reply) => PageError::internal(anyhow::anyhow!(
                "an authorization error meant for the client was not delivered: {:?} ({:?})",
                reply
                    .params
                    .iter()
                    .find(|(name, _)| *name == "error")
                    .map(|(_, v)| v.as_str()),
                reply.params.iter().map(|(n, _)| *n).collect::<Vec<_>>()
            )),
            AuthorizeError::Internal(e) => PageError::internal(e),
        }
    }
}

/// A client metadata document that can't be used: a page naming the document and why (the
/// redirect URI is not trusted yet, so never a redirect).
impl From<crate::oauth::metadata_document::DocumentError> for PageError {
    fn from(e: crate::oauth::metadata_document::DocumentError) -> Self {
        use crate::oauth::metadata_document::DocumentError;
        match e {
            refused @ DocumentError::Refused { .. } => PageError::new(
                StatusCode::BAD_REQUEST,
                "This application can't be used",
                refused.to_string(),
            ),
            DocumentError::Throttled { retry_after } => PageError {
                retry_after: seconds(retry_after),
                ..PageError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    "Too many applications identified by a URL were asked for from your \
                     network. Please try again in a minute.",
                )
            },
            DocumentError::Internal(e) => PageError::internal(e),
        }
    }
}
