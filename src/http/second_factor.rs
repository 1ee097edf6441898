//! The account API's second factors (`/api/auth/mfa/*`, Bearer token of the `account` client):
//! status, setting up and removing an authenticator app, new recovery codes, and checking a
//! code (`identity::second_factor`).
use crate::identity::mfa;
use crate::store::sessions as session_store;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::account::{caller, json_config};
use super::bearer::Bearer;
use super::error::ApiError;
use super::json::Json;
use super::meta::request_meta;
use crate::identity::second_factor::{self, CodeOutcome, Factors, Proof, TurnOff};
use crate::state::AppState;

/// Registered before `/api/auth` (a scope answers every path under it).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/auth/mfa")
            .app_data(json_config())
            .route("", web::get().to(status))
            .route("/totp", web::post().to(start))
            .route("/totp", web::delete().to(turn_off))
            .route("/totp/confirm", web::post().to(confirm))
            .route("/recovery-codes", web::post().to(recovery_codes))
            .route("/verify", web::post().to(verify)),
    );
}

/// The second-factor environment of this server.
pub fn factors(state: &AppState) -> Factors<'_> {
    Factors {
        db: &state.db,
        mailer: &state.mailer,
        settings: &state.settings,
        keys: &state.keys,
    }
}

fn no_store(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

#[utoipa::path(get, operation_id = "mfa_status", path = "/api/auth/mfa", tag = "account-mfa", responses((status = 200, description = "The caller's second factors", body = crate::http::account_doc::MfaStatus)))]
pub async fn status(state: web::Data<AppState>, bearer: Bearer) -> Result<HttpResponse, ApiError> {
    let (_, user) = caller(&bearer)?;
    let enrolled = second_factor::status(factors(&state), &user.id).await?;
    Ok(no_store(
        StatusCode::OK,
        json!({ "totp": enrolled.totp, "recovery_codes_left": enrolled.recovery_codes_left }),
    ))
}

/// Starts (or starts again) setting up an app: the secret and its otpauth:// URI.
/// Needs a recent sign-in (RFC 9470 otherwise): a stolen, old token must not bind its
/// holder's app to the account.
#[utoipa::path(post, operation_id = "totp_start", path = "/api/auth/mfa/totp", tag = "account-mfa", responses((status = 200, description = "The secret to enter in the app", body = crate::http::account_doc::TotpEnrolment), (status = 409, description = "An authenticator app is already set up", body = crate::http::admin_api::ErrorBody)))]
pub async fn start(state: web::Data<AppState>, bearer: Bearer) -> Result<HttpResponse, ApiError> {
    let (session, user) = caller(&bearer)?;
    super::step_up::require_recent(&state, &session).await?;
    let enrolment = second_factor::start_totp(factors(&state), &user, state.clock.now()).await?;
    Ok(no_store(
        StatusCode::OK,
        json!({ "secret": enrolment.secret, "otpauth_uri": enrolment.otpauth_uri }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    code: String,
}

#[utoipa::path(post, operation_id = "totp_confirm", path = "/api/auth/mfa/totp/confirm", tag = "account-mfa", request_body = CodeBody, responses((status = 204, description = "Set up"), (status = 409, description = "Not being set up, or already set up", body = crate::http::admin_api::ErrorBody)))]
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    body: Json<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let (session, user) = caller(&bearer)?;
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    second_factor::confirm_totp(factors(&state), &user, &body.code, &meta, now).await?;
    // The right first code is a second factor proven in this token's sign-in.
    let amr = mfa::with_second(&session.amr, mfa::OTP);
    state
        .db
        .run(move |c| session_store::set_amr(c, &session.id, &amr).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnOffBody {
    code: Option<String>,
    password: Option<String>,
}

/// Turns the app off with a current code (app or recovery) or the password.
#[utoipa::path(delete, operation_id = "totp_turn_off", path = "/api/auth/mfa/totp", tag = "account-mfa", request_body = TurnOffBody, responses((status = 204, description = "Turned off"), (status = 404, description = "No authenticator app is set up", body = crate::http::admin_api::ErrorBody), (status = 422, description = "Neither a code nor the password given", body = crate::http::admin_api::ErrorBody)))]
pub async fn turn_off(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    body: Json<TurnOffBody>,
) -> Result<HttpResponse, ApiError> {
    let (session, user) = caller(&bearer)?;
    // Removing a factor: a recent sign-in with the second factor (RFC 9470 otherwise).
    super::step_up::require_recent(&state, &session).await?;
    let body = body.into_inner();
    let proof = match (&body.code, &body.password) {
        (Some(code), None) => Proof::Code(code),
        (None, Some(password)) => Proof::Password(password),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "give either code (from the app, or a recovery code) or password",
            ))
        }
    };
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let f = factors(&state);
    match second_factor::turn_off_totp(f, &state.hasher, &user, proof, &meta, now).await? {
        TurnOff::Done => Ok(HttpResponse::NoContent().finish()),
        TurnOff::NotEnabled => Err(crate::identity::totp::TotpError::NotEnabled.into()),
        TurnOff::Refused(outcome) => Err(ApiError::refused_code(outcome)),
        TurnOff::WrongPassword => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_credentials",
            "the password is wrong",
        )),
        TurnOff::Busy => Err(ApiError::busy_hashing()),
    }
}

/// Ten new recovery codes (the old ones stop working), shown this once. Needs a recent
/// sign-in with the second factor.
#[utoipa::path(post, operation_id = "recovery_codes", path = "/api/auth/mfa/recovery-codes", tag = "account-mfa", responses((status = 200, description = "New recovery codes (shown once); the old ones stop working", body = crate::http::account_doc::RecoveryCodes), (status = 409, description = "No authenticator app is set up", body = crate::http::admin_api::ErrorBody)))]
pub async fn recovery_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
) -> Result<HttpResponse, ApiError> {
    let (session, user) = caller(&bearer)?;
    super::step_up::require_recent(&state, &session).await?;
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let codes = second_factor::new_recovery_codes(factors(&state), &user, &meta, now).await?;
    Ok(no_store(StatusCode::OK, json!({ "recovery_codes": codes })))
}

/// Checks a second-factor code of the caller (`second_factor::check_code`): the same rule,
/// throttle and audit as the sign-in's second step. It proves the factor; it changes no token.
#[utoipa::path(post, operation_id = "mfa_verify", path = "/api/auth/mfa/verify", tag = "account-mfa", request_body = CodeBody, responses((status = 200, description = "The code was right", body = crate::http::account_doc::Verified)))]
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
    body: Json<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let (_, user) = caller(&bearer)?;
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let f = factors(&state);
    match second_factor::check_code(f, &user, &body.code, &meta, now).await? {
        CodeOutcome::Accepted { method } => Ok(no_store(
            StatusCode::OK,
            json!({ "method": method.as_str() }),
        )),
        refused => Err(ApiError::refused_code(refused)),
    }
}
