//! The account JSON API (`/api/auth/*`): register, login, refresh, logout, me, password,
//! sessions; the mail flows are in `email_links`. Tokens come from the built-in first-party client `account`.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::bearer::Bearer;
use super::error::ApiError;
use super::json::Json;
use super::meta::request_meta;
use super::sessions;
use super::token::token_response;
use crate::identity::audit::{self, Event};
use crate::identity::users::{self, NewUser, User};
use crate::identity::verification;
use crate::identity::{login, RequestMeta};
use crate::oauth::client::account_client;
use crate::oauth::token::TokenContext;
use crate::oauth::Params;
use crate::state::AppState;
use crate::store::sessions::{self as session_store, SessionRow};
use crate::store::write_transaction;

/// The scope every account-API token carries and every protected route requires.
const ACCOUNT_SCOPE: &str = "account";

/// JSON bodies of the JSON APIs: at most 16 KiB; malformed → 400 `invalid_request` JSON.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(16 * 1024)
        .error_handler(|err, _| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("invalid JSON body: {err}"),
            )
            .into()
        })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/auth")
            .app_data(json_config())
            .route("/register", web::post().to(register))
            .route("/login", web::post().to(login))
            .route("/login/mfa", web::post().to(super::step_up::login_mfa))
            .route("/refresh", web::post().to(refresh))
            .route("/logout", web::post().to(logout))
            .route("/me", web::get().to(me))
            .route("/me", web::patch().to(super::me::update))
            .route("/password", web::put().to(sessions::change_password))
            .route(
                "/password/forgot",
                web::post().to(super::email_links::forgot),
            )
            .route("/password/reset", web::post().to(super::email_links::reset))
            .route("/email/verify", web::post().to(super::email_links::verify))
            .route("/email/resend", web::post().to(super::email_links::resend))
            .route("/sessions", web::get().to(sessions::list_sessions))
            .route("/sessions/{id}", web::delete().to(sessions::end_session))
            .route("/identities", web::get().to(super::identities::list))
            .route(
                "/identities/{id}",
                web::delete().to(super::identities::unlink),
            ),
    );
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    email: String,
    password: String,
    name: Option<String>,
}

#[utoipa::path(post, operation_id = "register", path = "/api/auth/register", tag = "account", request_body = RegisterBody, security(()), responses((status = 201, description = "The new account", body = crate::http::account_doc::AccountUser), (status = 409, description = "The email is taken", body = crate::http::admin_api::ErrorBody), (status = 422, description = "Invalid email or name, or a weak password", body = crate::http::admin_api::ErrorBody)))]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.users.registration_enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "registration_disabled",
            "registration is switched off",
        ));
    }
    let body = body.into_inner();
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let user = users::register(
        &state.db,
        &state.hasher,
        &state.roles.current(),
        &state.settings,
        NewUser {
            email: body.email,
            name: body.name,
            password: body.password,
            role: None,
            email_verified: false,
        },
        meta.clone(),
        now,
    )
    .await?;
    let (db, mailer, issuer) = (&state.db, &state.mailer, &state.settings.issuer);
    verification::send_after_sign_up(db, mailer, issuer, &user, &meta, now).await;
    Ok(HttpResponse::Created().json(user_json(&user, &state)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
}

#[utoipa::path(post, operation_id = "login", path = "/api/auth/login", tag = "account", request_body = LoginBody, security(()), responses((status = 200, description = "The tokens (account client)", body = crate::http::account_doc::Tokens)))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let meta = request_meta(&req, &state);
    let now = state.clock.now();
    let client = account_client();
    let user = login::password_login(
        &state.db,
        &state.hasher,
        login::LoginRules::of(&state.settings),
        login::Credentials {
            email: &body.email,
            password: &body.password,
        },
        &client.id,
        &meta,
        None,
        now,
    )
    .await?;
    super::step_up::after_password(&state, user, &meta, now).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

#[utoipa::path(post, operation_id = "refresh", path = "/api/auth/refresh", tag = "account", request_body = RefreshBody, security(()), responses((status = 200, description = "New tokens; the refresh token rotates", body = crate::http::account_doc::Tokens)))]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let meta = request_meta(&req, &state);
    let (now, settings, roles, keys) = (
        state.clock.now(),
        state.settings.clone(),
        state.roles.current(),
        state.keys.current(),
    );
    let token = body.into_inner().refresh_token;
    let response = state
        .db
        .run(move |c| {
            let params = Params::from_pairs([("refresh_token", token.as_str())], &[])?;
            let issued = crate::oauth::grants::refresh_token::grant(
                c,
                &TokenContext::from_settings(&settings),
                &roles,
                &account_client(),
                &params,
                None,
                &meta,
                now,
            )?;
            Ok::<_, crate::oauth::OAuthError>(issued.sign(&keys)?)
        })
        .await?;
    crate::metrics::token_issued("refresh_token", response.access_alg.name());
    Ok(token_response(&response))
}

/// The caller's live session and account, or 401: account-API tokens always belong to a
/// session, and the Bearer extractor has already applied the liveness rule to it.
pub fn caller(bearer: &Bearer) -> Result<(SessionRow, User), ApiError> {
    bearer.require_scope(ACCOUNT_SCOPE)?;
    match (&bearer.live.session, &bearer.live.user) {
        (Some(s), Some(u)) => Ok((s.clone(), User::from(u))),
        _ => Err(ApiError::bearer(
            Some("invalid_token"),
            "the token has no session",
            None,
        )),
    }
}

#[utoipa::path(post, operation_id = "logout", path = "/api/auth/logout", tag = "account", responses((status = 204, description = "The session ended")))]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    bearer: Bearer,
) -> Result<HttpResponse, ApiError> {
    let (session, user) = caller(&bearer)?;
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    state
        .db
        .run(move |c| {
            write_transaction(c, |c| {
                session_store::end_session(c, &session.id, now)?;
                audit::record(
                    c,
                    account_event(
                        audit::LOGOUT,
                        &user.id,
                        &meta,
                        json!({ "session": session.id }),
                    ),
                    now,
                )
            })
            .map_err(anyhow::Error::from)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, operation_id = "me", path = "/api/auth/me", tag = "account", responses((status = 200, description = "The caller's account", body = crate::http::account_doc::AccountUser)))]
pub async fn me(state: web::Data<AppState>, bearer: Bearer) -> Result<HttpResponse, ApiError> {
    let (_, user) = caller(&bearer)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(user_json(&user, &state)))
}

pub(super) fn account_event<'a>(
    kind: &'a str,
    user_id: &'a str,
    meta: &'a RequestMeta,
    detail: serde_json::Value,
) -> Event<'a> {
    Event {
        kind,
        success: true,
        user_id: Some(user_id),
        client_id: Some(crate::oauth::client::ACCOUNT_CLIENT_ID),
        meta: Some(meta),
        detail: Some(detail),
    }
}

pub(super) fn user_json(user: &User, state: &AppState) -> serde_json::Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "permissions": state.roles.current().permissions(&user.role),
        "email_verified": user.email_verified,
        "created_at": user.created_at,
    })
}
