//! Error pages in the request's language: an application middleware that shows a generic
//! `PageError` (one with catalog messages, `PageError::localized`) in the language of the
//! request's `ui_locales` query parameter, else its `Accept-Language` (`i18n::negotiate`).
//! `ResponseError` renders without the request, in English; this renders again when the
//! request asks for another language.
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpRequest;

use super::PageError;
use crate::http::browser::pages::Tr;
use crate::i18n::{self, Lang};

pub async fn pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let lang = language(req.request());
    let res = next.call(req).await?;
    if lang == Lang::En {
        return Ok(res.map_into_boxed_body());
    }
    let page = res
        .response()
        .error()
        .and_then(|e| e.as_error::<PageError>())
        .filter(|e| e.is_localized())
        .map(|e| e.render(Tr::new(lang)));
    Ok(match page {
        Some(page) => res.into_response(page),
        None => res.map_into_boxed_body(),
    })
}

/// The language a request asks for by itself (without a pending authorization request).
fn language(req: &HttpRequest) -> Lang {
    let ui_locales = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "ui_locales")
        .map(|(_, value)| value.into_owned())
        .filter(|v| v.len() <= crate::oauth::authorize::MAX_UI_LOCALES);
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    i18n::negotiate(ui_locales.as_deref(), accept)
}
