//! actix-web integration (feature `actix`, on by default): the [`Authenticated`] extractor,
//! `ResponseError` for [`AuthError`], and the [`ProtectedResource`] middleware (RFC 9728).

use std::future::{ready, Future, Ready};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};

use crate::auth::{
    parse_authorization, require_role, require_scope, require_scopes, AuthError, AuthErrorKind,
    Bearer,
};
use crate::claims::Claims;
use crate::dpop::DpopRequest;
use crate::error::VerifyError;
use crate::metadata::ProtectedResourceMetadata;
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

    /// See [`require_scopes`](crate::require_scopes).
    pub fn require_scopes(&self, scopes: &[&str]) -> Result<(), AuthError> {
        require_scopes(&self.0, scopes)
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
            let error = verifier.challenge(AuthError::invalid_request(
                verifier.issuer(),
                "more than one Authorization header",
            ));
            return Box::pin(async { Err(error) });
        }
        let token = match parse_authorization(first.map(HeaderValue::as_bytes)) {
            Bearer::Missing => {
                let error = verifier.challenge(AuthError::missing_token(verifier.issuer()));
                return Box::pin(async { Err(error) });
            }
            Bearer::Malformed => {
                let error = verifier.challenge(AuthError::invalid_request(
                    verifier.issuer(),
                    "malformed Bearer credentials",
                ));
                return Box::pin(async { Err(error) });
            }
            Bearer::Token(token) => token.to_owned(),
            Bearer::Dpop(token) => return dpop(req, verifier, token.to_owned()),
        };
        Box::pin(async move {
            verifier
                .verify(&token)
                .await
                .map(Authenticated)
                .map_err(|e| verifier.auth_error(&e))
        })
    }
}

/// `Authorization: DPoP <token>` (RFC 9449 §7.1): the token with the request's one `DPoP`
/// proof, for this method and URL ([`Verifier::external_url`], else the scheme and host the
/// request names); every refusal challenges with the `DPoP` scheme.
fn dpop(
    req: &HttpRequest,
    verifier: Verifier,
    token: String,
) -> Pin<Box<dyn Future<Output = Result<Authenticated, AuthError>>>> {
    let mut values = req.headers().get_all("dpop");
    let proof = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(value), None) => Some(value.to_str().unwrap_or_default().to_owned()),
        (Some(_), Some(_)) => {
            let refused = VerifyError::InvalidDpopProof("exactly one DPoP header is required");
            let error = verifier.auth_error(&refused).with_dpop_challenge();
            return Box::pin(async { Err(error) });
        }
    };
    let url = verifier.external_url(req.path()).unwrap_or_else(|| {
        let info = req.connection_info();
        format!("{}://{}{}", info.scheme(), info.host(), req.path())
    });
    let method = req.method().as_str().to_owned();
    Box::pin(async move {
        let request = DpopRequest {
            proof: proof.as_deref(),
            method: &method,
            url: &url,
        };
        verifier
            .verify_dpop(&token, &request)
            .await
            .map(Authenticated)
            .map_err(|e| verifier.auth_error(&e).with_dpop_challenge())
    })
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

/// actix-web middleware for OAuth 2.0 Protected Resource Metadata (RFC 9728). Wrap the app in
/// it, with a verifier built with
/// [`Config::resource_metadata`](crate::Config::resource_metadata):
///
/// * `GET` (and `HEAD`) on each of the metadata's
///   [`well_known_paths`](ProtectedResourceMetadata::well_known_paths) answers the document,
///   `application/json`, `Cache-Control: public, max-age=…` and `Access-Control-Allow-Origin: *`
///   (it is public, and browser-based clients read it); a CORS preflight gets a 204, other
///   methods a 405;
/// * every answer made from an [`AuthError`] — the extractor's 401s and 400s, and the 403s of
///   [`Authenticated::require_scope`], [`require_scope`](crate::require_scope),
///   [`require_role`](crate::require_role) and your own — gets `resource_metadata="<url>"` in
///   its `WWW-Authenticate` challenge (RFC 9728 §5.1), so a client can discover the
///   authorization server, or ask again for the `scope` a 403 names.
///
/// Everything else passes through untouched. A verifier without resource metadata makes it do
/// nothing.
///
/// ```no_run
/// use actix_web::{web, App, HttpResponse, HttpServer};
/// use portcullis_verify::{AuthError, Authenticated, Config, ProtectedResource, ResourceMetadata, Verifier};
///
/// async fn mcp(auth: Authenticated) -> Result<HttpResponse, AuthError> {
///     auth.require_scope("mcp:tools")?; // 403, scope="mcp:tools", resource_metadata="…"
///     Ok(HttpResponse::Ok().json(serde_json::json!({ "jsonrpc": "2.0", "id": 1, "result": {} })))
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Config::default()
///     .resource_metadata(ResourceMetadata::new().scopes_supported(["mcp:tools"]));
/// // The audience is the resource identifier: tokens must carry it in `aud`.
/// let verifier =
///     Verifier::from_issuer_with_config("https://id.example.com", "https://mcp.example.com/mcp", config)
///         .await?;
/// HttpServer::new(move || {
///     App::new()
///         .app_data(web::Data::new(verifier.clone()))
///         // Serves /.well-known/oauth-protected-resource/mcp (and the root form).
///         .wrap(ProtectedResource::new(&verifier))
///         .route("/mcp", web::post().to(mcp))
/// })
/// .bind(("127.0.0.1", 3000))?
/// .run()
/// .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ProtectedResource {
    metadata: Option<Arc<ProtectedResourceMetadata>>,
}

impl ProtectedResource {
    /// The middleware for `verifier`'s metadata (none: a pass-through).
    pub fn new(verifier: &Verifier) -> ProtectedResource {
        ProtectedResource {
            metadata: verifier.resource_metadata().cloned().map(Arc::new),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for ProtectedResource
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = ProtectedResourceMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ProtectedResourceMiddleware {
            service,
            metadata: self.metadata.clone(),
        }))
    }
}

/// The service [`ProtectedResource`] wraps around the app's.
pub struct ProtectedResourceMiddleware<S> {
    service: S,
    metadata: Option<Arc<ProtectedResourceMetadata>>,
}

impl<S, B> Service<ServiceRequest> for ProtectedResourceMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let Some(metadata) = self.metadata.clone() else {
            let fut = self.service.call(req);
            return Box::pin(async move { Ok(fut.await?.map_into_left_body()) });
        };
        if metadata
            .well_known_paths()
            .iter()
            .any(|p| p.as_str() == req.path())
        {
            let response = metadata_response(&req, &metadata);
            return Box::pin(async move { Ok(req.into_response(response).map_into_right_body()) });
        }
        let fut = self.service.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            let challenge = res
                .response()
                .error()
                .and_then(|e| e.as_error::<AuthError>())
                .filter(|e| e.resource_metadata().is_none())
                .and_then(|e| {
                    e.clone()
                        .with_resource_metadata(metadata.url())
                        .www_authenticate()
                })
                .and_then(|c| HeaderValue::from_str(&c).ok());
            if let Some(challenge) = challenge {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            Ok(res.map_into_left_body())
        })
    }
}

/// The answer at a well-known path.
fn metadata_response(req: &ServiceRequest, metadata: &ProtectedResourceMetadata) -> HttpResponse {
    let method = req.method();
    if method == Method::GET || method == Method::HEAD {
        return HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, metadata.cache_control()))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .content_type("application/json")
            .body(metadata.json().to_owned());
    }
    if method == Method::OPTIONS {
        // A CORS preflight (clients may send headers of their own, e.g. MCP-Protocol-Version):
        // the document is public and read without credentials, so any header may come.
        let mut preflight = HttpResponse::NoContent();
        preflight
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD"))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
            .insert_header((header::ALLOW, "GET, HEAD, OPTIONS"));
        if let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            preflight.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone()));
        }
        return preflight.finish();
    }
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET, HEAD, OPTIONS"))
        .finish()
}
