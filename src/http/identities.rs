//! The account API's linked sign-in methods: `GET /api/auth/identities` and
//! `DELETE /api/auth/identities/{id}`. Unlinking is refused when it would leave the account with
//! no way to sign in (no password and no other linked provider).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::account::caller;
use super::bearer::Bearer;
use super::error::ApiError;
use super::meta::request_meta;
use crate::federation::{self, Unlinked};
use crate::state::AppState;
use crate::store::federation as store;

#[utoipa::path(get, operation_id = "list_identities", path = "/api/auth/identities", tag = "account", responses((status = 200, description = "The caller's linked sign-ins", body = Vec<crate::http::account_doc::LinkedIdentity>)))]
pub async fn list(state: web::Data<AppState>, bearer: Bearer) -> Result<HttpResponse, ApiError> {
    let (_, user) = caller(&bearer)?;
    let rows = state
        .db
        .run(move |c| store::user_identities(c, &user.id).map_err(anyhow::Error::from))
        .await?;
    let out: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "provider": r.provider,
                "email": r.email,
                "created_at": r.created_at,
                "last_used_at": r.last_used_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(out))
}

#[utoipa::path(delete, operation_id = "unlink_identity", path = "/api/auth/identities/{id}", tag = "account", params(("id" = String, Path)), responses((status = 204, description = "Unlinked"), (status = 404, description = "No such linked sign-in of the caller", body = crate::http::admin_api::ErrorBody), (status = 409, description = "The last way to sign in", body = crate::http::admin_api::ErrorBody)))]
pub async fn unlink(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (_, user) = caller(&bearer)?;
    let (id, meta, now) = (
        path.into_inner(),
        request_meta(&req, &state),
        state.clock.now(),
    );
    let client = crate::oauth::client::ACCOUNT_CLIENT_ID;
    let outcome = state
        .db
        .run(move |c| federation::unlink(c, &user.id, &id, client, &meta, now))
        .await?;
    match outcome {
        Unlinked::Done => Ok(HttpResponse::NoContent().finish()),
        Unlinked::NotFound => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such linked identity",
        )),
        Unlinked::LastMethod => Err(ApiError::new(
            StatusCode::CONFLICT,
            "last_sign_in_method",
            "this is the account's only way to sign in; set a password or link another \
             provider first",
        )),
    }
}
