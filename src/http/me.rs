//! `PATCH /api/auth/me`: the caller changes their name and/or email address. A new address is
//! unverified until the link mailed to it is followed (`identity::profile::change_email`); it
//! needs the current password (or, for an account without one, a recent sign-in). Everything
//! is checked before anything is written.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::account::{caller, user_json};
use super::bearer::Bearer;
use super::error::ApiError;
use super::json::Json;
use super::meta::request_meta;
use crate::identity::email_tokens::LinkError;
use crate::identity::password_change::{self, Env};
use crate::identity::profile::{self, ProfileError};
use crate::identity::users::{self, CreateError};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeBody {
    /// The display name; blank clears it.
    name: Option<String>,
    email: Option<String>,
    /// Required with `email` when the account has a password.
    current_password: Option<String>,
}

#[utoipa::path(patch, operation_id = "update_me", path = "/api/auth/me", tag = "account", request_body = MeBody, responses((status = 200, description = "The account as stored", body = crate::http::account_doc::AccountUser), (status = 409, description = "The email is taken", body = crate::http::admin_api::ErrorBody), (status = 422, description = "Invalid email or name", body = crate::http::admin_api::ErrorBody)))]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    body: Json<MeBody>,
) -> Result<HttpResponse, ApiError> {
    let (session, user) = caller(&bearer)?;
    let body = body.into_inner();
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    if let Some(name) = &body.name {
        profile::clean_name(name)?;
    }
    let new_email = match &body.email {
        Some(raw) => {
            let email = users::validate_email(raw)?;
            (email != user.email).then_some(email)
        }
        None => None,
    };
    if new_email.is_some() {
        if !state.mailer.enabled() {
            return Err(ProfileError::MailDisabled.into());
        }
        let env = Env {
            db: &state.db,
            hasher: &state.hasher,
            settings: &state.settings,
            mailer: &state.mailer,
        };
        let row = password_change::account_row(&state.db, &user.id).await?;
        let current = body.current_password.as_deref();
        password_change::confirm_current(&env, &row, &session, current, &meta, now).await?;
    }
    let mut updated = user;
    if let Some(name) = body.name {
        let (id, meta) = (updated.id.clone(), meta.clone());
        updated = state
            .db
            .run(move |c| profile::set_name(c, &id, &name, &meta, now))
            .await?;
    }
    if let Some(email) = new_email {
        let issuer = &state.settings.issuer;
        let (db, mailer) = (&state.db, &state.mailer);
        updated = profile::change_email(db, mailer, issuer, &updated.id, &email, &meta, now)
            .await?
            .user;
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(user_json(&updated, &state)))
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::InvalidName(why) => CreateError::InvalidName(why).into(),
            ProfileError::InvalidEmail(why) => CreateError::InvalidEmail(why).into(),
            ProfileError::EmailTaken => CreateError::EmailTaken.into(),
            ProfileError::MailDisabled => LinkError::Disabled.into(),
            ProfileError::NotFound => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the token's account is gone",
            ),
            ProfileError::Internal(e) => ApiError::internal(e),
        }
    }
}
