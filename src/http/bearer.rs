//! RFC 6750 Bearer authentication for our own JSON APIs.
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::error::ApiError;
use crate::state::AppState;
use crate::tokens::{self, AccessTokenClaims};

/// A valid access token of ours, for this server (`aud` = the issuer).
pub struct Bearer(pub AccessTokenClaims);

impl Bearer {
    pub fn require_scope(&self, scope: &'static str) -> Result<(), ApiError> {
        let granted = self.0.scope.as_deref().unwrap_or("");
        if granted.split(' ').any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::bearer(
                Some("insufficient_scope"),
                "the token lacks the required scope",
                Some(scope),
            ))
        }
    }
}

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = Ready<Result<Bearer, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req))
    }
}

fn extract(req: &HttpRequest) -> Result<Bearer, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::bearer(
            None,
            "a Bearer access token is required",
            None,
        ));
    };
    let value = value.to_str().map_err(|_| {
        ApiError::bearer(
            Some("invalid_token"),
            "malformed Authorization header",
            None,
        )
    })?;
    let token = match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => {
            return Err(ApiError::bearer(
                None,
                "a Bearer access token is required",
                None,
            ))
        }
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no application state")))?;
    let issuer = &state.settings.issuer;
    tokens::verify_access_token(
        &state.keys.current(),
        token,
        issuer,
        issuer,
        state.clock.now(),
    )
    .map(Bearer)
    .map_err(|e| ApiError::bearer(Some("invalid_token"), e.0, None))
}
