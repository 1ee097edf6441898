//! Passkeys in the browser: the `/account/passkeys` page (list, add, remove); passwordless
//! sign-in from the login page is `passkey_login`, on the same plumbing. A ceremony's first
//! request is JSON (`…/options`: the challenge for `navigator.credentials`);
//! `static/passkey.js` then puts the authenticator's answer in a form and submits it, so the
//! answer arrives as an ordinary page post: a sign-in continues a pending authorization request
//! exactly as the password form does (303 to consent or the client, or the form_post page), and
//! errors are shown on the page.
//!
//! Every post carries this browser's CSRF token (`X-CSRF-Token` header for JSON, `csrf_token`
//! field for forms) and must come from the issuer's origin (`Ctx::check_csrf`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::pages;
use super::{read_form, see_other, signed_in, Ctx};
use crate::http::error::passkeys::{message, status};
use crate::http::error::{ApiError, PageError};
use crate::http::json::Json;
use crate::identity::browser::SignedIn;
use crate::identity::factor_notice::{self, Change};
use crate::identity::passkeys::{self, PasskeyError, PasskeyInfo, RelyingParty};
use crate::state::AppState;

const PAGE: &str = "/account/passkeys";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PAGE)
            .route(web::get().to(show))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/account/passkeys/register/options")
            .app_data(crate::http::account::json_config())
            .route(web::post().to(register_options)),
    )
    .service(web::resource("/account/passkeys/register").route(web::post().to(register)))
    .service(web::resource("/account/passkeys/{id}/remove").route(web::post().to(remove)))
    .configure(super::passkey_login::configure)
    .configure(super::passkey_second_factor::configure);
}

/// A passkey as the page lists it.
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

#[derive(Template)]
#[template(path = "account_passkeys.html")]
pub struct PasskeysPage {
    pub csrf_token: String,
    pub email: String,
    pub passkeys: Vec<PasskeyView>,
    pub notice: Option<String>,
    pub error: Option<String>,
    /// The error asks to sign in again (`/login?reauth=1`).
    pub reauth: bool,
}

/// `2026-12-06 10:58 UTC`.
fn when(t: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_default()
}

pub(super) fn relying_party(state: &AppState) -> Result<std::sync::Arc<RelyingParty>, PageError> {
    state.passkeys.clone().ok_or_else(|| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Not available here",
            message(&PasskeyError::Unavailable),
        )
    })
}

/// The signed-in user of this browser (on a database worker).
async fn current(state: &web::Data<AppState>, ctx: &Ctx) -> Result<Option<SignedIn>, PageError> {
    let (st, cookie, now) = (state.clone(), ctx.session_cookie.clone(), ctx.now);
    state
        .db
        .run(move |c| Ok::<_, PageError>(signed_in(c, &st, cookie.as_deref(), now)?))
        .await
}

fn to_login() -> HttpResponse {
    see_other(&format!("/login?next={PAGE}"))
}

/// The page for `user`, with a notice or an error.
async fn page(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    user: &SignedIn,
    code: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let user_id = user.user.id.clone();
    let list: Vec<PasskeyInfo> = state
        .db
        .run(move |c| passkeys::list(c, &user_id).map_err(page_error))
        .await?;
    let mut resp = pages::render(
        code,
        &PasskeysPage {
            csrf_token: ctx.browser.csrf_token(),
            email: user.user.email.clone(),
            passkeys: list
                .iter()
                .map(|p| PasskeyView {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    created: when(p.created_at),
                    last_used: p.last_used_at.map(when),
                })
                .collect(),
            notice: notice.map(str::to_string),
            reauth: error == Some(message(&PasskeyError::Reauthenticate)),
            error: error.map(str::to_string),
        },
    );
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

fn page_error(e: PasskeyError) -> PageError {
    match e {
        PasskeyError::Internal(cause) => PageError::internal(cause),
        other => PageError::new(status(&other), "Passkeys", message(&other)),
    }
}

/// `GET /account/passkeys`.
pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::new(&req, &state)?;
    relying_party(&state)?;
    let Some(user) = current(&state, &ctx).await? else {
        return Ok(to_login());
    };
    let notice = match req.query_string() {
        "added=1" => Some("Passkey added. You can now sign in with it."),
        "removed=1" => Some("Passkey removed."),
        _ => None,
    };
    page(&state, &ctx, &user, StatusCode::OK, notice, None).await
}

#[derive(Deserialize)]
pub struct RegisterOptions {
    #[serde(default)]
    name: String,
}

/// The CSRF token of a JSON request (`X-CSRF-Token`), checked like a form's.
pub(super) fn check_json_csrf(req: &HttpRequest, ctx: &Ctx) -> Result<(), ApiError> {
    let token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    if ctx.check_csrf(token) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_csrf_token",
            "the request did not come from this site's pages, or the page is too old: reload it",
        ))
    }
}

pub(super) fn api_ctx(req: &HttpRequest, state: &AppState) -> Result<Ctx, ApiError> {
    Ctx::new(req, state).map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))
}

pub(super) fn api_relying_party(
    state: &AppState,
) -> Result<std::sync::Arc<RelyingParty>, ApiError> {
    state
        .passkeys
        .clone()
        .ok_or_else(|| PasskeyError::Unavailable.into())
}

/// `POST /account/passkeys/register/options` (JSON `{name}`) → `{ceremony, options}`.
pub async fn register_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RegisterOptions>,
) -> Result<HttpResponse, ApiError> {
    let ctx = api_ctx(&req, &state)?;
    check_json_csrf(&req, &ctx)?;
    let rp = api_relying_party(&state)?;
    let (st, cookie, now) = (state.clone(), ctx.session_cookie.clone(), ctx.now);
    let browser_hash = ctx.browser.binding_hash();
    let name = body.into_inner().name;
    let started = state
        .db
        .run(move |c| {
            let Some(user) = signed_in(c, &st, cookie.as_deref(), now)? else {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "login_required",
                    "sign in first",
                ));
            };
            Ok(passkeys::start_registration(
                c,
                &rp,
                &user.user,
                &name,
                &browser_hash,
                now,
            )?)
        })
        .await?;
    Ok(no_store_json(json!(started)))
}

pub(super) fn no_store_json(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// The authenticator's answer in a form's `credential` field (JSON), if it reads.
pub(super) fn credential<T: serde::de::DeserializeOwned>(
    params: &crate::oauth::Params,
) -> Option<T> {
    serde_json::from_str(params.get("credential")?).ok()
}

/// `POST /account/passkeys/register` (form: `csrf_token`, `ceremony`, `credential`).
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, ctx) = read_form(&req, &state, payload).await?;
    let rp = relying_party(&state)?;
    let Some(user) = current(&state, &ctx).await? else {
        return Ok(to_login());
    };
    let Some(answer) = credential::<RegisterPublicKeyCredential>(&params) else {
        let error = "Your browser did not create a passkey. Try again.";
        return page(
            &state,
            &ctx,
            &user,
            StatusCode::BAD_REQUEST,
            None,
            Some(error),
        )
        .await;
    };
    let handle = params.get("ceremony").unwrap_or("").to_string();
    let (session, browser_hash, meta, now) = (
        user.session.clone(),
        ctx.browser.binding_hash(),
        ctx.meta.clone(),
        ctx.now,
    );
    let result = state
        .db
        .run(move |c| {
            passkeys::finish_registration(
                c,
                &rp,
                &session,
                &handle,
                &browser_hash,
                &answer,
                &meta,
                now,
            )
        })
        .await;
    match result {
        Ok(added) => {
            let change = Change::PasskeyAdded(&added.name);
            factor_notice::send(
                &state.mailer,
                &state.settings.issuer,
                &user.user.email,
                change,
                now,
            );
            Ok(see_other(&format!("{PAGE}?added=1")))
        }
        Err(PasskeyError::Internal(cause)) => Err(PageError::internal(cause)),
        Err(e) => page(&state, &ctx, &user, status(&e), None, Some(message(&e))).await,
    }
}

/// `POST /account/passkeys/{id}/remove` (form: `csrf_token`).
pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (_, ctx) = read_form(&req, &state, payload).await?;
    relying_party(&state)?;
    let Some(user) = current(&state, &ctx).await? else {
        return Ok(to_login());
    };
    let (session, id, meta, now) = (
        user.session.clone(),
        path.into_inner(),
        ctx.meta.clone(),
        ctx.now,
    );
    let result = state
        .db
        .run(move |c| passkeys::remove(c, &session, &id, &meta, now))
        .await;
    match result {
        Ok(removed) => {
            let change = Change::PasskeyRemoved(&removed.name);
            factor_notice::send(
                &state.mailer,
                &state.settings.issuer,
                &user.user.email,
                change,
                now,
            );
            Ok(see_other(&format!("{PAGE}?removed=1")))
        }
        Err(PasskeyError::Internal(cause)) => Err(PageError::internal(cause)),
        Err(e) => page(&state, &ctx, &user, status(&e), None, Some(message(&e))).await,
    }
}
