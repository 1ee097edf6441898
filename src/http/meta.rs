//! Request metadata for throttling and the audit log: client IP (trusted proxies honoured) and
//! user agent.
use actix_web::http::header;
use actix_web::HttpRequest;

use crate::identity::RequestMeta;
use crate::state::AppState;

pub fn request_meta(req: &HttpRequest, state: &AppState) -> RequestMeta {
    let forwarded: Vec<&str> = req
        .headers()
        .get_all(state.proxies.header())
        .filter_map(|v| v.to_str().ok())
        .collect();
    let peer = req.peer_addr().map(|a| a.ip());
    RequestMeta {
        ip: state
            .proxies
            .client_ip(peer, &forwarded)
            .map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
    }
}
