//! Liveness and readiness.
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "reason": "shutting down" }));
    }
    if let Err(reason) = state.db.ping(Duration::from_secs(2)).await {
        tracing::warn!(%reason, "not ready");
        return HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "reason": reason }));
    }
    let keys = state.keys.current();
    let default = keys.signer(keys.default_alg()).ok().map(|k| k.kid.clone());
    HttpResponse::Ok().json(json!({
        "status": "ready",
        "signing_kid": default,
        "signing_kids": keys.signing_kids(),
    }))
}
