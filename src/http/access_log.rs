//! One access-log line per request (target `portcullis::access`, INFO, message `request`): method,
//! redacted path, status, latency, client IP (trusted proxies honoured) and the client the request
//! names where a handler noted it. Handlers run inside a `request` span carrying the method and
//! the redacted path, so their own log lines say which request they belong to. The request's
//! metrics are recorded here too (`http::metrics::observe`), and it runs under its
//! application's metrics scope (`crate::metrics::scope`).
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpRequest};
use tracing::Instrument;

use super::form::BodyClientId;
use crate::oauth::client_auth;
use crate::state::AppState;
use crate::telemetry::{cap, redact_target};

/// The client a request names (HTTP Basic user name or the body's `client_id`; authenticated or
/// not — the status says), for the access log.
#[derive(Debug, Clone)]
struct LoggedClientId(String);

/// Called by the client-authenticated endpoints (`/token`, `/introspect`, `/revoke`) once the
/// body is read: the access log then names the client.
pub fn note_client(req: &HttpRequest) {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let body_id = req.extensions().get::<BodyClientId>().map(|b| b.0.clone());
    if let Some(id) = client_auth::named_client_id(authorization, body_id.as_deref()) {
        req.extensions_mut().insert(LoggedClientId(id));
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = redact_target(req.path(), req.uri().query());
    let state = req.app_data::<web::Data<AppState>>();
    let client_ip = state.and_then(|state| super::meta::request_meta(req.request(), state).ip);
    let metrics = state.map(|s| s.metrics.clone()).unwrap_or_default();
    let span = tracing::info_span!("request", method = %method, path = %path);
    let outcome = crate::metrics::scope(metrics.clone(), next.call(req).instrument(span)).await;
    super::metrics::observe(&metrics, &method, &outcome, start);
    // The request must not be cloned before routing (actix needs it unshared), so the client id
    // is read from the response's request.
    let (status, client_id) = match &outcome {
        Ok(res) => (
            res.status(),
            res.request()
                .extensions()
                .get::<LoggedClientId>()
                .map(|c| cap(&c.0).into_owned()),
        ),
        Err(e) => (e.as_response_error().status_code(), None),
    };
    let latency = start.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "portcullis::access",
        method = %method,
        path = %path,
        status = status.as_u16(),
        latency_ms = %format_args!("{latency:.1}"),
        client_ip = %client_ip.as_deref().unwrap_or("-"),
        client_id = %client_id.as_deref().unwrap_or("-"),
        "request"
    );
    outcome
}
