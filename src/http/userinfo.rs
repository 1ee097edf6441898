//! `GET|POST /userinfo` (OIDC Core §5.3) with a Bearer access token (RFC 6750 answers).
use actix_web::HttpResponse;

use super::bearer::UserinfoBearer;
use super::error::ApiError;
use crate::identity::users::User;
use crate::oidc::userinfo;

pub async fn userinfo(UserinfoBearer(bearer): UserinfoBearer) -> Result<HttpResponse, ApiError> {
    bearer.require_scope("openid")?;
    // The liveness rule loaded the user of every user token; a client's own token has none.
    let Some(row) = &bearer.live.user else {
        return Err(ApiError::bearer(
            Some("invalid_token"),
            "the token does not belong to a user",
            None,
        ));
    };
    let scopes: Vec<&str> = bearer
        .claims
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(userinfo::claims(&User::from(row), &scopes)))
}
