//! RFC 6750 Bearer authentication for our own endpoints: the token's signature, issuer, audience
//! and expiry, then the one liveness rule (`oauth::liveness`) — so `/userinfo` and the account
//! API refuse exactly the tokens `/introspect` calls inactive.
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::error::ApiError;
use crate::oauth::dpop;
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
) -> Result<(web::Data<AppState>, AccessTokenClaims, Option<dpop::Proof>), ApiError> {
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
    let (dpop_scheme, token) = match value.split_once(' ') {
        Some((scheme, token))
            if (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop"))
                && !token.trim().is_empty() =>
        {
            (scheme.eq_ignore_ascii_case("dpop"), token.trim())
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
    let proof = match (&claims.cnf, dpop_scheme) {
        (None, false) => None,
        (None, true) => return Err(invalid("the token is not DPoP-bound: send it as Bearer")),
        (Some(_), false) => {
            return Err(invalid(
                "the token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof",
            ))
        }
        (Some(cnf), true) => Some(dpop_proof(
            req,
            issuer,
            token,
            &cnf.jkt,
            state.required_dpop_nonce(),
            state.clock.now(),
        )?),
    };
    Ok((state, claims, proof))
}

/// RFC 9449 §7.1: the request's `DPoP` proof, for this method and URL, with the token's `ath`,
/// signed by the key the token is bound to; with `nonce_key` (`dpop.require_nonce`), carrying a
/// nonce this server issued (else 401 `use_dpop_nonce`, §9; the `DPoP-Nonce` header is added by
/// `http::dpop_nonce`). The replay check follows (`live`).
fn dpop_proof(
    req: &HttpRequest,
    issuer: &str,
    token: &str,
    jkt: &str,
    nonce_key: Option<&dpop::NonceKey>,
    now: i64,
) -> Result<dpop::Proof, ApiError> {
    let bad = |why: &str| ApiError::dpop("invalid_dpop_proof", why);
    let mut values = req.headers().get_all("dpop");
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(bad("exactly one DPoP header is required"));
    };
    let value = value
        .to_str()
        .map_err(|_| bad("the DPoP header is not ASCII"))?;
    // The URL as clients see it: the issuer's origin and path prefix, and this request's path.
    let htu = format!("{issuer}{}", req.path());
    let expected = dpop::Expected {
        htm: req.method().as_str(),
        htu: &htu,
        access_token: Some(token),
        now,
    };
    let proof = dpop::verify(value, &expected).map_err(|e| bad(&e.0))?;
    if proof.jkt != jkt {
        return Err(bad(
            "the DPoP proof is not signed by the key the token is bound to",
        ));
    }
    dpop::check_nonce(&proof, nonce_key, now).map_err(|e| ApiError::dpop("use_dpop_nonce", e.0))?;
    Ok(proof)
}

/// The database part: the liveness rule.
async fn live(
    (state, claims, proof): (web::Data<AppState>, AccessTokenClaims, Option<dpop::Proof>),
) -> Result<Bearer, ApiError> {
    let now = state.clock.now();
    let (fresh, live, claims) = state
        .db
        .run(move |c| {
            let fresh = match &proof {
                Some(p) => {
                    crate::store::dpop::remember(c, &p.replay_key(), p.iat + dpop::REPLAY_TTL_SECS)?
                }
                None => true,
            };
            let live = liveness::access_token(c, &claims, now)?;
            Ok::<_, anyhow::Error>((fresh, live, claims))
        })
        .await?;
    if !fresh {
        return Err(ApiError::dpop(
            "invalid_dpop_proof",
            "the DPoP proof was already used",
        ));
    }
    match live {
        Ok(live) => Ok(Bearer { claims, live }),
        Err(dead) => Err(invalid(&dead.to_string())),
    }
}
