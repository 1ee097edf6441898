//! `/admin/api/scopes`: the consent descriptions stored for scopes (what the consent page says
//! a scope lets an application do), by scope then language; `PUT` replaces one scope's,
//! through `identity::roles_admin` with the caller as actor.
use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::doc::ErrorBody;
use super::ok;
use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::identity::roles_admin::{self, RoleError};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/scopes", web::get().to(list))
        .route("/scopes/{scope}", web::put().to(put));
}

/// One scope's descriptions, replacing what it had (none: the built-in texts describe it).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "descriptions": { "en": "Read your loans", "de": "Ihre Ausleihen lesen" } }))]
pub struct ScopeBody {
    /// Language code (`en`, `de`) → one line of 1 to 500 characters.
    pub descriptions: BTreeMap<String, String>,
}

#[utoipa::path(get, operation_id = "scopes_list", path = "/admin/api/scopes", tag = "roles",
    responses((status = 200, description = "The stored consent descriptions, by scope then language",
        body = BTreeMap<String, BTreeMap<String, String>>)))]
pub async fn list(_: AdminCaller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let texts = state
        .db
        .run(|c| Ok::<_, ApiError>(roles_admin::scope_texts(c)?))
        .await?;
    Ok(ok(&texts))
}

#[utoipa::path(put, operation_id = "scopes_put", path = "/admin/api/scopes/{scope}", tag = "roles",
    request_body = ScopeBody,
    params(("scope" = String, Path, description = "The scope")),
    responses((status = 200, description = "The scope's descriptions as stored", body = ScopeBody),
        (status = 422, description = "`invalid_scope_description`: not a scope name, an \
            unknown language or a text that is empty, too long or not one line \
            (`details.problems`)", body = ErrorBody)))]
pub async fn put(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<ScopeBody>,
) -> Result<HttpResponse, ApiError> {
    let scope = path.into_inner();
    let body = body.into_inner();
    let now = state.clock.now();
    let texts = body.descriptions.clone();
    let book = state.roles.clone();
    state
        .db
        .run(move |c| {
            roles_admin::describe_scope(c, &scope, &texts, caller.actor(), now).map_err(invalid)?;
            book.reload(c).map_err(ApiError::internal)?;
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(ok(&body))
}

fn invalid(e: RoleError) -> ApiError {
    match e {
        RoleError::Invalid(problems) => {
            let list: Vec<&str> = problems.split("; ").collect();
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_scope_description",
                problems.clone(),
            )
            .with_details(serde_json::json!({ "problems": list }))
        }
        e => e.into(),
    }
}
