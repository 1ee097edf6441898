//! actix-web integration (feature `actix`, on by default): the [`Authenticated`] extractor and
//! `ResponseError` for [`AuthError`].

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};

use crate::auth::{
    parse_authorization, require_role, require_scope, AuthError, AuthErrorKind, Bearer,
};
use crate::claims::Claims;
use crate::verifier::Verifier;

/// The claims of the request's valid bearer token.
///
/// Put the [`Verifier`] in the app data (`App::new().app_data(web::Data::new(verifier))`; a plain
/// `.app_data(verifier)` works too) and take `Authenticated` as a handler argument. Requests
/// without a valid token never reach the handler: they get the RFC 6750 answer (see
/// [`AuthError`]).
///
/// ```no_run
/// use actix_web::{web, HttpResponse};
/// use portcullis_verify::{Authenticated, AuthError};
///
/// async fn reports(auth: Authenticated) -> Result<HttpResponse, AuthError> {
///     auth.require_scope("read")?;
///     Ok(HttpResponse::Ok().json(serde_json::json!({ "for": auth.sub })))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

impl Authenticated {
    /// The claims.
    pub fn into_inner(self) -> Claims {
        self.0
    }

    /// See [`require_scope`](crate::require_scope).
    pub fn require_scope(&self, scope: &str) -> Result<(), AuthError> {
        require_scope(&self.0, scope)
    }

    /// See [`require_role`](crate::require_role).
    pub fn require_role(&self, role: &str) -> Result<(), AuthError> {
        require_role(&self.0, role)
    }
}

impl Deref for Authenticated {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl FromRequest for Authenticated {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Authenticated, AuthError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = req
            .app_data::<web::Data<Verifier>>()
            .map(|data| data.get_ref().clone())
            .or_else(|| req.app_data::<Verifier>().cloned());
        let Some(verifier) = verifier else {
            return Box::pin(async { Err(AuthError::not_configured()) });
        };
        let mut values = req.headers().get_all(header::AUTHORIZATION);
        let first = values.next();
        if values.next().is_some() {
            let error =
                AuthError::invalid_request(verifier.issuer(), "more than one Authorization header");
            return Box::pin(async { Err(error) });
        }
        let token = match parse_authorization(first.map(HeaderValue::as_bytes)) {
            Bearer::Missing => {
                let error = AuthError::missing_token(verifier.issuer());
                return Box::pin(async { Err(error) });
            }
            Bearer::Malformed => {
                let error =
                    AuthError::invalid_request(verifier.issuer(), "malformed Bearer credentials");
                return Box::pin(async { Err(error) });
            }
            Bearer::Token(token) => token.to_owned(),
        };
        Box::pin(async move {
            verifier
                .verify(&token)
                .await
                .map(Authenticated)
                .map_err(|e| AuthError::from_verify_error(verifier.issuer(), &e))
        })
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(challenge) = self.www_authenticate() {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if self.kind() == AuthErrorKind::Unavailable {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self.body() {
            Some(body) => response.json(body),
            None => response.finish(),
        }
    }
}
