//! `POST /device_authorization` (RFC 8628 §3.1): a device's request for a device code and a
//! user code. Clients authenticate as at `/token` (confidential: a secret; public: `client_id`).
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{access_log, client_assertion, form};
use crate::oauth::device::{self, DeviceConfig};
use crate::oauth::{client_auth, OAuthError};
use crate::state::AppState;

pub async fn device_authorization(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = form::read_params(&req, payload, &[]).await?;
    access_log::note_client(&req);
    let authorization = client_assertion::authorization(&req)?;
    let assertion = client_assertion::verify(
        &state,
        &params,
        authorization.as_deref(),
        "/device_authorization",
    )
    .await?;
    let (settings, now) = (state.settings.clone(), state.clock.now());
    let started = state
        .db
        .run(move |c| {
            let creds =
                client_auth::extract(authorization.as_deref(), assertion.as_ref(), &params)?;
            let client = client_auth::authenticate(c, &creds)?;
            device::start(
                c,
                DeviceConfig::from_settings(&settings),
                &client,
                params.get("scope"),
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(started))
}
