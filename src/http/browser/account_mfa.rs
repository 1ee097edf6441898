//! `/account/mfa`: a signed-in user's second factors. The authenticator app (set up: QR code,
//! the key in text, a first code to turn it on; turn off with a current code or the password)
//! and recovery codes (make a new set, shown once). Every form carries the CSRF token; a change
//! answers 303 back to the page (POST-redirect-GET), a refused code re-renders it with the
//! error announced. Setting up an app and making new recovery codes need a recent sign-in
//! (`identity::mfa::check_recent`, as the account API): a stale one re-renders the page with a
//! "Sign in again" link. Without a signed-in browser: 303 to `/login?next=/account/mfa`.
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{read_form, read_params, see_other, signed_in, Ctx};
use crate::http::error::PageError;
use crate::http::second_factor::factors;
use crate::identity::browser::SignedIn;
use crate::identity::mfa;
use crate::identity::second_factor::{self, CodeOutcome, Proof, TurnOff};
use crate::identity::totp::{Enrolment, TotpError};
use crate::oauth::Params;
use crate::state::AppState;
use crate::store::sessions as session_store;

const PAGE: &str = "/account/mfa";

#[derive(Template)]
#[template(path = "account_mfa.html")]
struct MfaPage {
    csrf_token: String,
    email: String,
    totp_enabled: bool,
    /// The app being set up (QR code and key), if any.
    enrolment: Option<Enrolment>,
    recovery_left: i64,
    notice: Option<&'static str>,
    /// Why the last app form (turn on, turn off) was refused.
    error: Option<String>,
    /// The sign-in is too old for the last form (set up, new recovery codes): sign in again.
    reauth: Option<String>,
}

#[derive(Template)]
#[template(path = "account_recovery_codes.html")]
struct CodesPage {
    email: String,
    codes: Vec<String>,
}

/// What `?done=` on the page says (after a change).
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "totp_on" => {
            Some("Your authenticator app is on. You'll be asked for a code when you sign in.")
        }
        "totp_off" => Some("Your authenticator app is off."),
        "codes" => Some("Your new recovery codes are ready. The old ones no longer work."),
        _ => None,
    }
}

/// The signed-in user of this browser, or the answer that sends them to sign in first.
async fn user_or_login(
    state: &web::Data<AppState>,
    ctx: &Ctx,
) -> Result<Result<SignedIn, HttpResponse>, PageError> {
    let (st, cookie, now) = (state.clone(), ctx.session_cookie.clone(), ctx.now);
    let user = state
        .db
        .run(move |c| signed_in(c, &st, cookie.as_deref(), now))
        .await?;
    Ok(user.ok_or_else(|| see_other(&format!("/login?next={PAGE}"))))
}

/// Reads a form post: its parameters, the context and the signed-in user (CSRF checked).
async fn form(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    payload: web::Payload,
) -> Result<Result<(Params, Ctx, SignedIn), HttpResponse>, PageError> {
    let (params, ctx) = read_form(req, state, payload).await?;
    Ok(user_or_login(state, &ctx)
        .await?
        .map(|user| (params, ctx, user)))
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let user = match user_or_login(&state, &ctx).await? {
        Ok(user) => user,
        Err(login) => return Ok(login),
    };
    let done = notice(params.get("done"));
    let mut resp = page(&state, &ctx, &user, done, Answer::Ok).await?;
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

/// How the page answers: plainly, with a refused app form's error, or asking to sign in again.
enum Answer {
    Ok,
    Refused(StatusCode, String),
    Reauthenticate(mfa::Reauthenticate),
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    user: &SignedIn,
    notice: Option<&'static str>,
    answer: Answer,
) -> Result<HttpResponse, PageError> {
    let (status, error, reauth) = match answer {
        Answer::Ok => (StatusCode::OK, None, None),
        Answer::Refused(status, error) => (status, Some(error), None),
        Answer::Reauthenticate(why) => (StatusCode::FORBIDDEN, None, Some(why.explain())),
    };
    let f = factors(state);
    let enrolled = second_factor::status(f, &user.user.id).await?;
    let enrolment = match enrolled.totp {
        true => None,
        false => second_factor::pending_totp(f, &user.user)
            .await
            .map_err(totp_page_error)?,
    };
    Ok(super::pages::render(
        status,
        &MfaPage {
            csrf_token: ctx.browser.csrf_token(),
            email: user.user.email.clone(),
            totp_enabled: enrolled.totp,
            enrolment,
            recovery_left: enrolled.recovery_codes_left,
            notice,
            error,
            reauth,
        },
    ))
}

/// `Some` when this browser's sign-in is too old (or lacks the second factor) for setting up
/// an app or making new recovery codes.
async fn stale(
    state: &AppState,
    user: &SignedIn,
    now: i64,
) -> Result<Option<mfa::Reauthenticate>, PageError> {
    let user_id = user.user.id.clone();
    let enrolled = state
        .db
        .run(move |c| mfa::factors(c, &user_id).map_err(PageError::from))
        .await?;
    Ok(mfa::check_recent(&user.session, &enrolled, now).err())
}

fn totp_page_error(e: TotpError) -> PageError {
    match e {
        TotpError::Internal(e) => PageError::internal(e),
        other => PageError::internal(anyhow::anyhow!("unexpected: {other}")),
    }
}

/// "Set up" (or "Start again"): a new key, shown on the page.
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (_, ctx, user) = match form(&req, &state, payload).await? {
        Ok(form) => form,
        Err(login) => return Ok(login),
    };
    if let Some(why) = stale(&state, &user, ctx.now).await? {
        return page(&state, &ctx, &user, None, Answer::Reauthenticate(why)).await;
    }
    match second_factor::start_totp(factors(&state), &user.user, ctx.now).await {
        // Already on (another tab): the page shows it.
        Ok(_) | Err(TotpError::AlreadyEnabled) => Ok(see_other(&format!("{PAGE}#totp"))),
        Err(e) => Err(totp_page_error(e)),
    }
}

/// "Turn on" with the first code from the app.
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, ctx, user) = match form(&req, &state, payload).await? {
        Ok(form) => form,
        Err(login) => return Ok(login),
    };
    let code = params.get("code").unwrap_or("");
    match enable_totp(&state, &ctx, &user, code).await {
        Ok(()) => Ok(see_other(&format!("{PAGE}?done=totp_on"))),
        Err(TotpError::WrongCode) => {
            let error = "That code is not right. Enter the 6-digit code your app shows now \
                         (check that the time on your phone is right).";
            page(
                &state,
                &ctx,
                &user,
                None,
                Answer::Refused(StatusCode::BAD_REQUEST, error.into()),
            )
            .await
        }
        Err(TotpError::AlreadyEnabled) => Ok(see_other(&format!("{PAGE}?done=totp_on"))),
        Err(TotpError::NotStarted) => Ok(see_other(PAGE)),
        Err(e) => Err(totp_page_error(e)),
    }
}

/// Turns the app being set up on with its first code. The right code is a second factor
/// proven in this browser's sign-in: its session's methods gain `otp` (and `mfa`), so
/// operations that need a recent second factor don't send the user to sign in again.
pub async fn enable_totp(
    state: &AppState,
    ctx: &Ctx,
    user: &SignedIn,
    code: &str,
) -> Result<(), TotpError> {
    second_factor::confirm_totp(factors(state), &user.user, code, &ctx.meta, ctx.now).await?;
    let (id, amr) = (
        user.session.id.clone(),
        mfa::with_second(&user.session.amr, mfa::OTP),
    );
    state
        .db
        .run(move |c| session_store::set_amr(c, &id, &amr).map_err(TotpError::from))
        .await
}

/// "Turn off", with a current code (or a recovery code) or the password.
pub async fn disable(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, ctx, user) = match form(&req, &state, payload).await? {
        Ok(form) => form,
        Err(login) => return Ok(login),
    };
    let code = params.get("code").map(str::trim).unwrap_or("");
    let password = params.get("password").unwrap_or("");
    let proof = match (code.is_empty(), password.is_empty()) {
        (false, _) => Proof::Code(code),
        (true, false) => Proof::Password(password),
        (true, true) => {
            let error = "Enter a code from your app, or your password.";
            return page(
                &state,
                &ctx,
                &user,
                None,
                Answer::Refused(StatusCode::BAD_REQUEST, error.into()),
            )
            .await;
        }
    };
    let f = factors(&state);
    let turned =
        second_factor::turn_off_totp(f, &state.hasher, &user.user, proof, &ctx.meta, ctx.now)
            .await?;
    let (status, error) = match turned {
        TurnOff::Done => return Ok(see_other(&format!("{PAGE}?done=totp_off"))),
        TurnOff::NotEnabled => return Ok(see_other(PAGE)),
        TurnOff::Busy => return Err(PageError::busy()),
        TurnOff::Refused(CodeOutcome::Replayed) => (
            StatusCode::BAD_REQUEST,
            "That code was already used. Wait for your app to show the next one.".to_string(),
        ),
        TurnOff::Refused(CodeOutcome::Throttled { retry_after }) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many wrong attempts. Try again in {} minutes.",
                (retry_after + 59) / 60
            ),
        ),
        TurnOff::Refused(_) | TurnOff::WrongPassword => (
            StatusCode::BAD_REQUEST,
            "That code or password is not right.".to_string(),
        ),
    };
    let mut resp = page(&state, &ctx, &user, None, Answer::Refused(status, error)).await?;
    if let TurnOff::Refused(CodeOutcome::Throttled { retry_after }) = turned {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
    }
    Ok(resp)
}

/// "Make new recovery codes": the new set, shown on this answer only.
pub async fn new_recovery_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (_, ctx, user) = match form(&req, &state, payload).await? {
        Ok(form) => form,
        Err(login) => return Ok(login),
    };
    if let Some(why) = stale(&state, &user, ctx.now).await? {
        return page(&state, &ctx, &user, None, Answer::Reauthenticate(why)).await;
    }
    let f = factors(&state);
    let codes = second_factor::new_recovery_codes(f, &user.user, &ctx.meta, ctx.now).await?;
    Ok(super::pages::render(
        StatusCode::OK,
        &CodesPage {
            email: user.user.email.clone(),
            codes,
        },
    ))
}
