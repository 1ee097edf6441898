//! `GET|POST /userinfo` (OIDC Core §5.3) with a Bearer access token (RFC 6750 answers).
use actix_web::{web, HttpResponse};

use super::bearer::Bearer;
use super::error::ApiError;
use crate::identity::users::User;
use crate::oidc::userinfo;
use crate::state::AppState;
use crate::store::{api_keys as key_store, sessions as session_store, users as user_store};

pub async fn userinfo(
    state: web::Data<AppState>,
    bearer: Bearer,
) -> Result<HttpResponse, ApiError> {
    bearer.require_scope("openid")?;
    let (sub, jti, sid) = (
        bearer.0.sub.clone(),
        bearer.0.jti.clone(),
        bearer.0.sid.clone(),
    );
    let user = state
        .db
        .run(move |c| {
            if key_store::is_jti_revoked(c, &jti)? {
                return Ok::<_, anyhow::Error>(None);
            }
            // A token from a session that has ended (logout) no longer answers here.
            if let Some(sid) = &sid {
                let live =
                    session_store::find_session(c, sid)?.is_some_and(|s| s.ended_at.is_none());
                if !live {
                    return Ok(None);
                }
            }
            Ok(user_store::find(c, &sub)?.filter(|u| !u.disabled))
        })
        .await?;
    let Some(row) = user else {
        return Err(ApiError::bearer(
            Some("invalid_token"),
            "the token was revoked, its session ended, or its user is gone",
            None,
        ));
    };
    let scopes: Vec<&str> = bearer.0.scope.as_deref().unwrap_or("").split(' ').collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(userinfo::claims(&User::from(&row), &scopes)))
}
