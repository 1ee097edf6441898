//! `/login/mfa`: the second step of a sign-in (`identity::mfa`). After a first factor (or for a
//! step-up of a live single-factor session) the browser comes here with a challenge handle; it
//! enters a code from its authenticator app or a recovery code, or uses a passkey
//! (`static/passkey.js`), or — when it must and has no second factor — sets up an authenticator
//! app. Then the sign-in finishes like any other (`login::finish_sign_in`).
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::login::finish_sign_in;
use super::{load_pending, read_params, request_query, Ctx, Pending};
use crate::http::error::PageError;
use crate::identity::mfa::challenge::{self, Challenge};
use crate::identity::mfa::{self, Factors};
use crate::identity::second_factor::{self, CodeOutcome};
use crate::identity::totp::TotpError;
use crate::identity::users::User;
use crate::state::AppState;
use crate::store::users as user_store;

/// Where a browser goes to finish the challenge behind `handle`.
pub fn page_path(handle: &str) -> String {
    format!("/login/mfa?challenge={handle}")
}

/// An authenticator app being set up during the sign-in.
#[derive(serde::Serialize)]
pub struct EnrolView {
    /// The otpauth:// URI as a QR code (SVG markup made by the server).
    pub qr_svg: String,
    /// The key in text, grouped for typing.
    pub secret: String,
}

#[derive(Template, serde::Serialize, Default)]
#[template(path = "mfa.html")]
pub struct MfaPage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: super::pages::Tr,
    pub csrf_token: String,
    pub challenge: String,
    pub client_name: Option<String>,
    pub email: String,
    pub error: Option<String>,
    /// Offer the code field (an authenticator app, recovery codes, or the app being set up).
    pub code_form: bool,
    pub totp: bool,
    /// Only recovery codes can be typed.
    pub recovery_only: bool,
    /// Offer "Use a passkey".
    pub passkey: bool,
    pub enrol: Option<EnrolView>,
    /// Why a second factor must be set up.
    pub reason: String,
    pub cancel_href: String,
    /// The account page to go to afterwards (hidden field `next`).
    pub next: Option<String>,
}

super::render::themable!(MfaPage => "mfa.html", t);

/// A challenge with what the page needs to show it.
pub struct Loaded {
    handle: String,
    challenge: Challenge,
    user: User,
    factors: Factors,
    pending: Option<Pending>,
}

impl Loaded {
    /// The authorization request the sign-in is for, if any.
    pub fn pending(&self) -> Option<&Pending> {
        self.pending.as_ref()
    }

    /// The user the challenge is for.
    pub fn user_id(&self) -> &str {
        &self.user.id
    }
}

fn expired() -> PageError {
    PageError::bad_request("This sign-in has expired or was already completed. Sign in again.")
        .with_link("/login", "Sign in")
        .localized("error-bad-request", Some("error-mfa-expired"))
        .localized_link("sign-in")
}

pub async fn load(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    handle: Option<&str>,
) -> Result<Loaded, PageError> {
    let handle = handle.ok_or_else(expired)?.to_string();
    let (browser, now) = (ctx.browser.clone(), ctx.now);
    state
        .db
        .run(move |c| {
            let is_bound = |hash: &str| browser.is_bound(hash);
            let challenge =
                challenge::load(c, &handle, Some(&is_bound), now)?.ok_or_else(expired)?;
            let user = match user_store::find(c, &challenge.user_id)? {
                Some(row) if !row.disabled => User::from(&row),
                _ => return Err(expired()),
            };
            let pending = match &challenge.request_id {
                Some(id) => Some(load_pending(c, id, &browser, now)?),
                None => None,
            };
            let factors = mfa::factors(c, &user.id)?;
            Ok(Loaded {
                handle,
                challenge,
                user,
                factors,
                pending,
            })
        })
        .await
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let mut ctx = Ctx::new(&req, &state)?;
    // Where a sign-in without an authorization request goes afterwards (an account page).
    ctx.next = super::account::next_path(params.get("next"));
    let loaded = load(&state, &ctx, params.get("challenge")).await?;
    ctx.t = ctx.tr_for(loaded.pending.as_ref());
    let page = view(&state, &ctx, &loaded, None).await?;
    Ok(super::render::page(StatusCode::OK, &page))
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let mut ctx = Ctx::new(&req, &state)?;
    // Where a sign-in without an authorization request goes afterwards (an account page).
    ctx.next = super::account::next_path(params.get("next"));
    if !ctx.check_csrf(params.get("csrf_token")) {
        return Err(PageError::csrf());
    }
    let loaded = load(&state, &ctx, params.get("challenge")).await?;
    ctx.t = ctx.tr_for(loaded.pending.as_ref());
    let t = ctx.t;
    let code = params.get("code").unwrap_or("").trim().to_string();
    let refuse = |status: StatusCode, message: &str| {
        let state = state.clone();
        let message = message.to_string();
        let ctx = &ctx;
        let loaded = &loaded;
        async move {
            let page = view(&state, ctx, loaded, Some(message)).await?;
            Ok::<_, PageError>(super::render::page(status, &page))
        }
    };
    if code.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, &t.text("mfa-error-missing", &[])).await;
    }
    match check_code(&state, &ctx, &loaded, &code).await? {
        Checked::Passed => finish(&state, &ctx, loaded, mfa::OTP).await,
        Checked::Wrong => refuse(StatusCode::BAD_REQUEST, &t.text("mfa-error-wrong", &[])).await,
        Checked::Replayed => {
            refuse(StatusCode::BAD_REQUEST, &t.text("mfa-error-replayed", &[])).await
        }
        Checked::Throttled { retry_after } => {
            let minutes = (retry_after + 59) / 60;
            let message = t.text("mfa-error-locked", &[("minutes", &minutes.to_string())]);
            let mut resp = refuse(StatusCode::TOO_MANY_REQUESTS, &message).await?;
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
            Ok(resp)
        }
    }
}

/// What a typed code proved.
enum Checked {
    Passed,
    Wrong,
    Replayed,
    Throttled { retry_after: i64 },
}

/// The second-factor services of this server.
fn services(state: &AppState) -> second_factor::Factors<'_> {
    second_factor::Factors {
        db: &state.db,
        mailer: &state.mailer,
        settings: &state.settings,
        keys: &state.keys,
    }
}

/// Whether the page sets up an app (the user must, and has none yet: another tab may have
/// set one up meanwhile).
fn enrolling(loaded: &Loaded) -> bool {
    loaded.challenge.enrol && !loaded.factors.totp
}

/// Checks a typed code: the first code of the app being set up, or (throttled like
/// passwords) an app or recovery code.
async fn check_code(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    loaded: &Loaded,
    code: &str,
) -> Result<Checked, PageError> {
    let f = services(state);
    if enrolling(loaded) {
        return match second_factor::confirm_totp(f, &loaded.user, code, &ctx.meta, ctx.now).await {
            Ok(()) => Ok(Checked::Passed),
            Err(TotpError::WrongCode) => Ok(Checked::Wrong),
            Err(TotpError::NotStarted | TotpError::AlreadyEnabled | TotpError::NotEnabled) => {
                Err(expired())
            }
            Err(TotpError::Internal(e)) => Err(PageError::internal(e)),
        };
    }
    Ok(
        match second_factor::check_code(f, &loaded.user, code, &ctx.meta, ctx.now).await? {
            CodeOutcome::Accepted { .. } => Checked::Passed,
            CodeOutcome::Wrong => Checked::Wrong,
            CodeOutcome::Replayed => Checked::Replayed,
            CodeOutcome::Throttled { retry_after } => Checked::Throttled { retry_after },
        },
    )
}

/// The second factor passed: finishes the challenge (once) and signs the browser in with
/// both factors' methods.
pub async fn finish(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    loaded: Loaded,
    second: &str,
) -> Result<HttpResponse, PageError> {
    let (handle, now) = (loaded.handle.clone(), ctx.now);
    let claimed = state
        .db
        .run(move |c| challenge::finish(c, &handle, now))
        .await?;
    if !claimed {
        return Err(expired());
    }
    let amr = mfa::with_second(&loaded.challenge.first_amr, second);
    finish_sign_in(state, ctx, loaded.user, &amr, loaded.pending).await
}

pub(super) async fn view(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    loaded: &Loaded,
    error: Option<String>,
) -> Result<MfaPage, PageError> {
    let Loaded {
        handle,
        challenge: _,
        user,
        factors,
        pending,
    } = loaded;
    let enrol = if enrolling(loaded) {
        Some(enrol_view(state, user, ctx.now).await?)
    } else {
        None
    };
    let t = ctx.t;
    let reason = match pending {
        Some(p) if p.client.require_mfa => {
            t.text("mfa-reason-client", &[("client", &p.client.name)])
        }
        Some(p) if p.request.wants_mfa() => {
            t.text("mfa-reason-request", &[("client", &p.client.name)])
        }
        _ => t.text("mfa-reason-account", &[]),
    };
    Ok(MfaPage {
        t,
        csrf_token: ctx.browser.csrf_token(),
        challenge: handle.clone(),
        client_name: pending.as_ref().map(|p| p.client.name.clone()),
        email: user.email.clone(),
        error,
        code_form: enrol.is_some() || factors.totp || factors.recovery_codes > 0,
        totp: factors.totp,
        recovery_only: !factors.totp && enrol.is_none(),
        passkey: factors.passkeys > 0,
        enrol,
        reason,
        next: ctx.next.clone(),
        cancel_href: format!(
            "/login{}",
            request_query(pending.as_ref().map(|p| p.id.as_str()))
        ),
    })
}

/// The app being set up: the one already started (a reload shows the same key), or a new one.
async fn enrol_view(
    state: &web::Data<AppState>,
    user: &User,
    now: i64,
) -> Result<EnrolView, PageError> {
    let f = services(state);
    let enrolment = match second_factor::pending_totp(f, user).await {
        Ok(Some(e)) => e,
        Ok(None) => second_factor::start_totp(f, user, now)
            .await
            .map_err(|e| PageError::internal(e.into()))?,
        Err(e) => return Err(PageError::internal(e.into())),
    };
    Ok(EnrolView {
        qr_svg: enrolment.qr_svg.clone(),
        secret: enrolment.secret_grouped(),
    })
}
