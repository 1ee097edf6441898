//! `DPoP-Nonce` (RFC 9449 §8, §9). With `dpop.require_nonce`, every answer to a request that
//! carries a `DPoP` header — success or error, at `/token` and at the resource endpoints — has
//! the current nonce (`oauth::dpop::nonce`), so a client always holds a fresh one: the
//! `use_dpop_nonce` errors (400 at `/token`, 401 at resources) and the answers that precede a
//! window's turn alike. Off: no header, and proofs' `nonce` claims are ignored.
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::state::AppState;

const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

pub async fn dpop_nonce(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let nonce = match req.app_data::<web::Data<AppState>>() {
        Some(state) if req.headers().contains_key("dpop") => state
            .required_dpop_nonce()
            .map(|key| key.issue(state.clock.now())),
        _ => None,
    };
    let mut res = next.call(req).await?;
    if let Some(value) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
        res.headers_mut().insert(DPOP_NONCE, value);
    }
    Ok(res)
}
