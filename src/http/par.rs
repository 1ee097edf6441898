//! `POST /par` (RFC 9126): a client pushes an authorization request, authenticated as at
//! `/token`; the answer is 201 with the `request_uri` (`oauth::par`).
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{access_log, form};
use crate::oauth::{authorize, par, OAuthError};
use crate::state::AppState;

pub async fn push(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = form::read_params(&req, payload, authorize::REPEATABLE).await?;
    access_log::note_client(&req);
    let authorization = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| OAuthError::invalid_request("the Authorization header is not ASCII"))?
                .to_string(),
        ),
    };
    let (settings, now) = (state.settings.clone(), state.clock.now());
    let pushed = state
        .db
        .run(move |c| {
            par::push(
                c,
                authorization.as_deref(),
                &params,
                &settings.clients.resources,
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(pushed))
}
