//! `GET /metrics`: the application's metrics in Prometheus text format (`crate::metrics`), on the
//! main listener or, with `metrics.bind`, only on a small server of its own; behind
//! `Authorization: Bearer <metrics.bearer_token>` when that is set. And the request metrics the
//! access-log middleware records.
use std::net::TcpListener;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::{web, App, Error, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::state::AppState;

/// Registers `/metrics` when this listener serves it (`serve_here`).
pub fn configure(cfg: &mut web::ServiceConfig, serve_here: bool) {
    if serve_here {
        cfg.service(
            web::resource("/metrics")
                .route(web::get().to(scrape))
                .default_service(web::to(|| async {
                    super::error::method_not_allowed("GET")
                })),
        );
    }
}

/// Whether the main listener serves `/metrics`: enabled and no `metrics.bind`.
pub fn on_main_listener(settings: &Settings) -> bool {
    settings.metrics.enabled && settings.metrics.bind.is_none()
}

/// The listener of the separate metrics server, bound now (port 0 picks a free port).
pub fn bind(settings: &Settings) -> anyhow::Result<Option<TcpListener>> {
    if !settings.metrics.enabled {
        return Ok(None);
    }
    let Some(addr) = settings.metrics_bind_addr()? else {
        return Ok(None);
    };
    let listener =
        TcpListener::bind(addr).with_context(|| format!("binding metrics.bind {addr}"))?;
    Ok(Some(listener))
}

/// The separate metrics server (`/metrics` and 404 for anything else, one worker) and its port.
pub fn server(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<(Server, u16)> {
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(|cfg| configure(cfg, true))
            .default_service(web::to(super::not_found))
    })
    .workers(1)
    // Stopped by `run_beside` once the main server has drained, so it answers while it drains.
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok((server, port))
}

/// Runs the main server and, when there is one, the metrics server beside it; the metrics
/// server stops when the main one has (after its drain).
pub async fn run_beside(main: Server, metrics: Option<Server>) -> std::io::Result<()> {
    let Some(metrics) = metrics else {
        return main.await;
    };
    let handle = metrics.handle();
    let (result, _) = tokio::join!(
        async {
            let result = main.await;
            handle.stop(true).await;
            result
        },
        metrics
    );
    result
}

async fn scrape(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(expected) = &state.settings.metrics.bearer_token {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !bearer_matches(presented, expected) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
        }
    }
    match state.metrics.render(&state) {
        Some(body) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        None => super::not_found().await,
    }
}

/// `Authorization: Bearer <expected>`, compared in constant time (as SHA-256 digests, so the
/// length doesn't show either).
fn bearer_matches(authorization: Option<&str>, expected: &str) -> bool {
    let Some((scheme, token)) = authorization.and_then(|a| a.split_once(' ')) else {
        return false;
    };
    let presented = Sha256::digest(token.trim().as_bytes());
    let wanted = Sha256::digest(expected.as_bytes());
    scheme.eq_ignore_ascii_case("bearer") && bool::from(presented.ct_eq(&wanted))
}

/// Records one request (called by the access-log middleware): its route pattern, never the
/// raw path, so the label values stay few.
pub fn observe<B: MessageBody>(
    metrics: &Metrics,
    method: &Method,
    outcome: &Result<ServiceResponse<B>, Error>,
    start: Instant,
) {
    if !metrics.is_enabled() {
        return;
    }
    let seconds = start.elapsed().as_secs_f64();
    let (route, status) = match outcome {
        Ok(res) => (res.request().match_pattern(), res.status()),
        Err(e) => (None, e.as_response_error().status_code()),
    };
    let route = route.as_deref().unwrap_or("unmatched");
    metrics.observe_request(method_label(method), route, status.as_str(), seconds);
}

/// The standard methods by name; anything else is `other` (a client can send any token).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_match_exactly() {
        assert!(bearer_matches(Some("Bearer s3cret"), "s3cret"));
        assert!(bearer_matches(Some("bearer s3cret"), "s3cret"));
        assert!(!bearer_matches(Some("Bearer s3cre"), "s3cret"));
        assert!(!bearer_matches(Some("Bearer s3cret2"), "s3cret"));
        assert!(!bearer_matches(Some("Basic s3cret"), "s3cret"));
        assert!(!bearer_matches(Some("s3cret"), "s3cret"));
        assert!(!bearer_matches(None, "s3cret"));
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
