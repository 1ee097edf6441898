//! CORS for browser apps on other origins, as per-resource middleware (`from_fn`):
//!
//! - discovery and `/jwks.json` ([`public`]): public data, `Access-Control-Allow-Origin: *`;
//! - `/token` and `/revoke` ([`client_endpoint`]): the origin must be allowed for the client the
//!   request names (HTTP Basic user, else the body's `client_id`); a request that names none is
//!   answered for any origin some client allows, like a preflight, so the app can read its error;
//! - `/userinfo` ([`userinfo`]) and every preflight of the last two: any origin some client
//!   allows (a preflight carries no body and no credentials).
//!
//! Which origins a client allows is decided by `oauth::origins` alone. An allowed origin is
//! echoed (never `*` with a client's data) with `Vary: Origin`; a refused one gets no
//! `Access-Control-*` header, and its preflight a 403. No `Access-Control-Allow-Credentials`:
//! these endpoints take bearer tokens and form bodies, not cookies. The headers are added to
//! error answers too, so the app can read `invalid_grant` or a 401's `WWW-Authenticate`.
//!
//! Not actix-cors: its origin check is a synchronous predicate, while ours needs a database
//! lookup of the client named in the body (which the handler parses) after the handler ran.
mod known;

pub use known::{KnownOrigins, TTL_SECS};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse};

use super::form::BodyClientId;
use crate::oauth::{client_auth, origins};
use crate::state::AppState;

const ALLOW_HEADERS: &str = "Authorization, Content-Type, DPoP";
const EXPOSE_HEADERS: &str = "WWW-Authenticate, DPoP-Nonce";
const MAX_AGE_SECS: &str = "600";

/// Who may read an endpoint's answers from another origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Anyone: public, non-credentialed data.
    Public,
    /// The origins of the client the request names.
    NamedClient,
    /// The origins of any client.
    AnyClient,
}

#[derive(Debug, Clone, Copy)]
struct Policy {
    rule: Rule,
    methods: &'static str,
}

/// Discovery documents and the JWKS.
pub async fn public(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let policy = Policy {
        rule: Rule::Public,
        methods: "GET",
    };
    handle(policy, req, next).await
}

/// `/token` and `/revoke`.
pub async fn client_endpoint(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let policy = Policy {
        rule: Rule::NamedClient,
        methods: "POST",
    };
    handle(policy, req, next).await
}

/// `/userinfo`.
pub async fn userinfo(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let policy = Policy {
        rule: Rule::AnyClient,
        methods: "GET, POST",
    };
    handle(policy, req, next).await
}

async fn handle(
    policy: Policy,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(origin) = origin else {
        // Not a cross-origin browser request. Public data says `*` to every cache anyway.
        let mut res = next.call(req).await?.map_into_boxed_body();
        if policy.rule == Rule::Public {
            allow_any(res.headers_mut());
        }
        return Ok(res);
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        return Ok(answer_preflight(policy, &req, &origin).await);
    }
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut res = next.call(req).await?.map_into_boxed_body();
    let allowed = match (policy.rule, state) {
        (Rule::Public, _) => {
            allow_any(res.headers_mut());
            return Ok(res);
        }
        (_, None) => None,
        (Rule::AnyClient, Some(state)) => allowed_for_any(&state, &origin).await,
        (Rule::NamedClient, Some(state)) => {
            let body_id = res
                .request()
                .extensions()
                .get::<BodyClientId>()
                .map(|b| b.0.clone());
            match client_auth::named_client_id(authorization.as_deref(), body_id.as_deref()) {
                Some(id) => allowed_for_client(&state, id, &origin).await,
                None => allowed_for_any(&state, &origin).await,
            }
        }
    };
    let headers = res.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(value) = allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    Ok(res)
}

/// 204 with the `Access-Control-Allow-*` headers for an allowed origin, else 403 without them.
async fn answer_preflight(
    policy: Policy,
    req: &ServiceRequest,
    origin: &str,
) -> ServiceResponse<BoxBody> {
    let allowed = match policy.rule {
        Rule::Public => Some(HeaderValue::from_static("*")),
        Rule::NamedClient | Rule::AnyClient => match req.app_data::<web::Data<AppState>>() {
            Some(state) => allowed_for_any(state, origin).await,
            None => None,
        },
    };
    let mut resp = match allowed {
        Some(value) => {
            let mut ok = HttpResponse::NoContent();
            ok.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, value))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, policy.methods))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS));
            ok
        }
        None => HttpResponse::Forbidden(),
    };
    if policy.rule != Rule::Public {
        resp.insert_header((header::VARY, "Origin"));
    }
    ServiceResponse::new(req.request().clone(), resp.finish())
}

fn allow_any(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// The header value echoing `origin` when some client allows it.
async fn allowed_for_any(state: &AppState, origin: &str) -> Option<HeaderValue> {
    let origin = origins::request_origin(origin)?;
    if !state.known_origins.contains(state, &origin).await {
        return None;
    }
    HeaderValue::from_str(&origin).ok()
}

/// The header value echoing `origin` when the client `client_id` allows it.
async fn allowed_for_client(
    state: &AppState,
    client_id: String,
    origin: &str,
) -> Option<HeaderValue> {
    let origin = origins::request_origin(origin)?;
    let checked = origin.clone();
    let allowed = state
        .db
        .run::<_, anyhow::Error, _>(move |c| origins::client_allows(c, &client_id, &checked))
        .await;
    match allowed {
        Ok(true) => HeaderValue::from_str(&origin).ok(),
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "CORS: checking the client's origins failed");
            None
        }
    }
}
