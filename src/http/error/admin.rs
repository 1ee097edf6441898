//! The admin API's answers to the operator's use cases' errors (`identity::admin_users`,
//! `oauth::admin_clients`).
use actix_web::http::StatusCode;

use super::ApiError;
use crate::identity::admin_users::AdminError;
use crate::identity::roles_admin::RoleError;
use crate::identity::users::CreateError;
use crate::oauth::admin_clients::SelfDelete;
use crate::oauth::registration::SpecError;

impl ApiError {
    /// 404 `not_found` naming what was not found.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// 400 `invalid_request`: a malformed query, path or body.
    pub fn invalid_request(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// An admin change to a client failed: 422 with every problem of an invalid client, 409
    /// when a client would delete itself, our failure otherwise.
    pub fn client_change(e: anyhow::Error) -> ApiError {
        if e.is::<SelfDelete>() {
            return ApiError::new(StatusCode::CONFLICT, "self_change", e.to_string());
        }
        match e.downcast::<SpecError>() {
            Ok(SpecError(problems)) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_client_metadata",
                problems.join("; "),
            )
            .with_details(serde_json::json!({ "problems": problems })),
            Err(e) => ApiError::internal(e),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NoSuchUser => ApiError::not_found("user"),
            AdminError::NoSuchSession => ApiError::not_found("live session"),
            AdminError::UnknownRole(role) | AdminError::Create(CreateError::UnknownRole(role)) => {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_role",
                    format!("unknown role {role:?}"),
                )
            }
            e @ AdminError::SelfChange(_) => {
                ApiError::new(StatusCode::CONFLICT, "self_change", e.to_string())
            }
            AdminError::Create(e) => e.into(),
            AdminError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<RoleError> for ApiError {
    fn from(e: RoleError) -> Self {
        match e {
            RoleError::NoSuchRole(_) => ApiError::not_found("role"),
            RoleError::Exists(_) => {
                ApiError::new(StatusCode::CONFLICT, "role_exists", e.to_string())
            }
            RoleError::Invalid(problems) => {
                let list: Vec<&str> = problems.split("; ").collect();
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_role",
                    problems.clone(),
                )
                .with_details(serde_json::json!({ "problems": list }))
            }
            RoleError::InUse { users, .. } => {
                ApiError::new(StatusCode::CONFLICT, "role_in_use", e.to_string())
                    .with_details(serde_json::json!({ "users": users }))
            }
            RoleError::DefaultRole(_) => {
                ApiError::new(StatusCode::CONFLICT, "default_role", e.to_string())
            }
            RoleError::SelfLockout(_) => {
                ApiError::new(StatusCode::CONFLICT, "self_change", e.to_string())
            }
            RoleError::Internal(e) => ApiError::internal(e),
        }
    }
}
