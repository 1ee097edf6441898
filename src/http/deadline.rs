//! A bound on the time to receive a request's body (`http.body_timeout_secs`). actix-web's
//! `client_request_timeout` covers only the headers, so a body sent at 1 byte/s would hold a
//! worker for as long as the sender likes. This middleware wraps every request's payload in a
//! stream that fails once the bound has passed since the headers arrived; whichever extractor
//! was reading (forms in `http/form.rs`, JSON in `http/json.rs`) then fails, and the answer is
//! replaced here by 408 Request Timeout with `Connection: close` — an HTML error page on the
//! browser pages, `{"error": "invalid_request", …}` JSON everywhere else.
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use futures_util::Stream;
use tokio::time::Sleep;

use super::error::PageError;
use crate::state::AppState;

/// Used when the settings are not in the app data (they always are in the server).
const DEFAULT_SECS: u64 = 10;

/// Paths answered with HTML pages (see `browser::configure`).
const PAGE_PREFIXES: &[&str] = &[
    "/authorize",
    "/login",
    "/register",
    "/consent",
    "/logout",
    "/federation/",
];

pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let secs = req
        .app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_SECS, |s| s.settings.http.body_timeout_secs);
    let expired = Rc::new(Cell::new(false));
    let payload = DeadlinePayload {
        inner: req.take_payload(),
        sleep: Box::pin(tokio::time::sleep(Duration::from_secs(secs))),
        expired: expired.clone(),
    };
    let boxed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(payload);
    req.set_payload(Payload::from(boxed));
    let page = PAGE_PREFIXES.iter().any(|p| req.path().starts_with(p));
    let res = next.call(req).await?;
    if !expired.get() {
        return Ok(res.map_into_left_body());
    }
    tracing::info!(secs, "request body not received in time");
    let mut timeout = if page {
        PageError::new(
            StatusCode::REQUEST_TIMEOUT,
            "The request took too long",
            "The form was not received in time. Check your connection and try again.",
        )
        .error_response()
    } else {
        HttpResponse::RequestTimeout()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "error": "invalid_request",
                "error_description": format!("the request body was not received within {secs} s"),
            }))
    };
    timeout
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    Ok(res.into_response(timeout).map_into_right_body())
}

/// The request's payload, failing with a timeout once `sleep` has fired.
struct DeadlinePayload {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    expired: Rc<Cell<bool>>,
}

impl Stream for DeadlinePayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired.get() {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired.set(true);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body was not received in time",
            )))));
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}
