//! Reading a protocol request's form body: the right content type, at most 16 KiB, UTF-8,
//! parameters at most once. Failures are `invalid_request`, never actix's own plain-text errors.
use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpRequest};
use futures_util::StreamExt;

use crate::oauth::{OAuthError, Params};

pub const MAX_BODY: usize = 16 * 1024;

/// The body's `client_id`, left in the request's extensions for `http/cors` (which decides the
/// CORS answer of `/token` and `/revoke` by the client the request names).
#[derive(Debug, Clone)]
pub struct BodyClientId(pub String);

pub async fn read_params(
    req: &HttpRequest,
    mut payload: web::Payload,
    repeatable: &[&str],
) -> Result<Params, OAuthError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(256).min(MAX_BODY));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let params = Params::parse_form(&body, repeatable)?;
    if let Some(id) = params.get("client_id") {
        req.extensions_mut().insert(BodyClientId(id.to_string()));
    }
    Ok(params)
}

fn too_large() -> OAuthError {
    OAuthError::invalid_request(format!("the request body exceeds {MAX_BODY} bytes"))
}
