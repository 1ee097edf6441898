//! `POST /par` (RFC 9126): a client pushes an authorization request, authenticated as at
//! `/token`; the answer is 201 with the `request_uri` (`oauth::par`). A signed request object
//! (`request`, RFC 9101) is verified here and becomes the pushed request.
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{access_log, client_assertion, form, request_object};
use crate::oauth::{authorize, client_auth, par, OAuthError};
use crate::state::AppState;

pub async fn push(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = form::read_params(&req, payload, authorize::REPEATABLE).await?;
    access_log::note_client(&req);
    let authorization = client_assertion::authorization(&req)?;
    let assertion =
        client_assertion::verify(&state, &params, authorization.as_deref(), "/par").await?;
    // A request object is verified as the request of the client that authenticates.
    let client_id = match &assertion {
        Some(a) => Some(a.client_id.clone()),
        None => client_auth::named_client_id(authorization.as_deref(), params.get("client_id")),
    };
    let object = request_object::resolve(&state, &params, client_id.as_deref())
        .await
        .map_err(request_object::Refused::error)?;
    let (settings, now) = (state.settings.clone(), state.clock.now());
    let pushed = state
        .db
        .run(move |c| {
            par::push(
                c,
                par::Presented {
                    authorization: authorization.as_deref(),
                    assertion: assertion.as_ref(),
                },
                &params,
                object.as_ref(),
                &settings.clients.resources,
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(pushed))
}
