//! RFC 6750 Bearer authentication for our own endpoints: the token's signature, issuer, audience
//! and expiry, then the one liveness rule (`oauth::liveness`) — so `/userinfo` and the account
//! API refuse exactly the tokens `/introspect` calls inactive.
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::error::ApiError;
use crate::oauth::liveness::{self, Live};
use crate::oidc::userinfo;
use crate::state::AppState;
use crate::tokens::{self, AccessTokenClaims};

/// A live access token for this server (`aud` contains the issuer): the account API.
pub struct Bearer {
    pub claims: AccessTokenClaims,
    pub live: Live,
}

/// A live access token accepted at `/userinfo`: for this server, or carrying the userinfo
/// audience beside an API's (see `oauth::grants::user`).
pub struct UserinfoBearer(pub Bearer);

impl Bearer {
    pub fn require_scope(&self, scope: &'static str) -> Result<(), ApiError> {
        let granted = self.claims.scope.as_deref().unwrap_or("");
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
    type Future = LocalBoxFuture<'static, Result<Bearer, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = check(req, |issuer, aud| aud == issuer);
        Box::pin(async move { live(checked?).await })
    }
}

impl FromRequest for UserinfoBearer {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<UserinfoBearer, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = check(req, userinfo::accepts_audience);
        Box::pin(async move { live(checked?).await.map(UserinfoBearer) })
    }
}

fn invalid(why: &str) -> ApiError {
    ApiError::bearer(Some("invalid_token"), why, None)
}

/// The synchronous part: the header and the token's own claims.
fn check(
    req: &HttpRequest,
    audience: fn(&str, &str) -> bool,
) -> Result<(web::Data<AppState>, AccessTokenClaims), ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::bearer(
            None,
            "a Bearer access token is required",
            None,
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| invalid("malformed Authorization header"))?;
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
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no application state")))?
        .clone();
    let issuer = &state.settings.issuer;
    let claims = tokens::verify_access_token(
        &state.keys.current(),
        token,
        issuer,
        |aud| audience(issuer, aud),
        state.clock.now(),
    )
    .map_err(|e| invalid(e.0))?;
    Ok((state, claims))
}

/// The database part: the liveness rule.
async fn live(
    (state, claims): (web::Data<AppState>, AccessTokenClaims),
) -> Result<Bearer, ApiError> {
    let now = state.clock.now();
    let (live, claims) = state
        .db
        .run(move |c| {
            let live = liveness::access_token(c, &claims, now)?;
            Ok::<_, anyhow::Error>((live, claims))
        })
        .await?;
    match live {
        Ok(live) => Ok(Bearer { claims, live }),
        Err(dead) => Err(invalid(&dead.to_string())),
    }
}
