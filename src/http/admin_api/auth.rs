//! Who may call `/admin/api/*`: a live Bearer access token for this server (the one liveness
//! rule, `http::bearer`) carrying [`ADMIN_SCOPE`]. A user's token also needs the user, as they
//! are now, to hold an admin role, and a sign-in with a second factor when that role requires
//! one; a client's own token (client_credentials) needs only the scope, which the operator
//! grants by registering the client with it.
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::http::bearer::Bearer;
use crate::http::error::ApiError;
use crate::http::meta::request_meta;
use crate::identity::admin_users::{admin_actor, client_actor, Actor};
use crate::identity::mfa;
use crate::identity::roles::{Roles, ADMIN_SCOPE};
use crate::identity::RequestMeta;
use crate::oauth::liveness::is_user_token;
use crate::state::AppState;

/// An authorized caller of the admin API: the actor name its changes are audited under
/// (`admin:<user id>` or `client:<client id>`) and where the request came from.
#[derive(Debug)]
pub struct AdminCaller {
    pub name: String,
    pub meta: RequestMeta,
    /// The role of the user the token stands for (`None` for a client's own token).
    pub role: Option<String>,
}

impl AdminCaller {
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            name: &self.name,
            meta: Some(&self.meta),
        }
    }
}

fn forbidden(description: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", description)
}

/// The actor a live bearer token with the admin scope stands for, or why it may not act.
pub fn authorize(bearer: &Bearer, roles: &Roles) -> Result<String, ApiError> {
    bearer.require_scope(ADMIN_SCOPE)?;
    if !is_user_token(&bearer.claims) {
        return Ok(client_actor(&bearer.claims.client_id));
    }
    // The liveness rule loaded the user now and refused a disabled or deleted one.
    let user = bearer
        .live
        .user
        .as_ref()
        .ok_or_else(|| forbidden("the token's user is not an administrator"))?;
    if !roles.is_admin(&user.role) {
        return Err(forbidden("the token's user is not an administrator"));
    }
    if roles.requires_mfa(&user.role) {
        let amr = bearer.live.session.as_ref().map(|s| s.amr.as_str());
        if !amr.is_some_and(mfa::is_multi_factor) {
            return Err(forbidden(
                "the administrator's role requires a sign-in with a second factor",
            ));
        }
    }
    Ok(admin_actor(&user.id))
}

impl FromRequest for AdminCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<AdminCaller, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bearer = Bearer::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let bearer = bearer.await?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no application state")))?;
            let name = authorize(&bearer, &state.roles.current())?;
            let role = match is_user_token(&bearer.claims) {
                true => bearer.live.user.as_ref().map(|u| u.role.clone()),
                false => None,
            };
            Ok(AdminCaller {
                name,
                meta: request_meta(&req, state),
                role,
            })
        })
    }
}
