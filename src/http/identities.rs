//! The account API's linked sign-in methods: `GET /api/auth/identities` and
//! `DELETE /api/auth/identities/{id}`. Unlinking is refused when it would leave the account with
//! no way to sign in (no password and no other linked provider).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::account::{account_event, caller};
use super::bearer::Bearer;
use super::error::ApiError;
use super::meta::request_meta;
use crate::identity::audit;
use crate::state::AppState;
use crate::store::federation as store;
use crate::store::{users as user_store, write_transaction};

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

enum Unlinked {
    Done,
    NotFound,
    LastMethod,
}

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
    let outcome = state
        .db
        .run(move |c| {
            write_transaction(c, |c| {
                // Two concurrent unlinks must not both see the other identity left.
                user_store::lock_row(c, &user.id)?;
                let linked = store::user_identities(c, &user.id)?;
                let Some(target) = linked.iter().find(|r| r.id == id) else {
                    return Ok::<_, anyhow::Error>(Unlinked::NotFound);
                };
                let has_password =
                    user_store::find(c, &user.id)?.is_some_and(|u| u.password_hash.is_some());
                if !has_password && linked.len() == 1 {
                    return Ok(Unlinked::LastMethod);
                }
                store::delete_identity(c, &target.id, &user.id)?;
                audit::record(
                    c,
                    account_event(
                        audit::IDENTITY_UNLINKED,
                        &user.id,
                        &meta,
                        json!({ "provider": target.provider }),
                    ),
                    now,
                )?;
                Ok(Unlinked::Done)
            })
        })
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
