//! The login page. With a pending authorization request it continues that request; without
//! one it signs the browser in and says so. Brute-force rules are those of the users issue.
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::pages::{LoginPage, MessagePage, ProviderButton};
use super::{
    load_pending, read_params, request_query, send_step, signed_in, step_for, Ctx, Pending,
};
use crate::http::error::PageError;
use crate::identity::browser::{self, Authenticated, SignedIn};
use crate::identity::guesses;
use crate::identity::login::{self, Credentials, LoginError};
use crate::identity::mfa::challenge::{self, Holder, NewChallenge};
use crate::identity::mfa::{self, Gate};
use crate::identity::users::User;
use crate::oauth::{authorize, pending};
use crate::state::AppState;
use crate::store::write_transaction;

/// The client sessions started without an authorization request are listed under.
pub const PORTAL_CLIENT_ID: &str = "portcullis";

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let mut ctx = Ctx::new(&req, &state)?;
    ctx.next = super::account::next_path(params.get("next"));
    let request = params.get("request").map(str::to_string);
    let (browser, cookie, now, st) = (
        ctx.browser.clone(),
        ctx.session_cookie.clone(),
        ctx.now,
        state.clone(),
    );
    let (pending, user) = state
        .db
        .run(move |c| {
            let pending = match &request {
                Some(id) => Some(load_pending(c, id, &browser, now)?),
                None => None,
            };
            Ok::<_, PageError>((pending, signed_in(c, &st, cookie.as_deref(), now)?))
        })
        .await?;
    // `reauth=1`: a signed-in user signs in again (an account page's sensitive action needs a
    // recent sign-in); the same user's session is re-authenticated in place.
    let reauth = params.get("reauth") == Some("1");
    let mut resp = match (&pending, user) {
        (None, Some(_)) if ctx.next.is_some() && !reauth => {
            super::see_other(ctx.next.as_deref().unwrap_or("/"))
        }
        (None, Some(user)) if !reauth => signed_in_page(&ctx, &user),
        _ => login_page(&state, &ctx, pending.as_ref(), None, StatusCode::OK, None),
    };
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let mut ctx = Ctx::new(&req, &state)?;
    ctx.next = super::account::next_path(params.get("next"));
    if !ctx.check_csrf(params.get("csrf_token")) {
        return Err(PageError::csrf());
    }
    let pending = load(&state, &ctx, params.get("request")).await?;
    let username = params.get("username").unwrap_or("").trim().to_string();
    let password = params.get("password").unwrap_or("").to_string();
    if username.is_empty() || password.is_empty() {
        let error = &ctx
            .tr_for(pending.as_ref())
            .text("login-error-missing", &[]);
        return Ok(login_page(
            &state,
            &ctx,
            pending.as_ref(),
            Some(&username),
            StatusCode::BAD_REQUEST,
            Some(error),
        ));
    }
    let client_id = pending
        .as_ref()
        .map_or(PORTAL_CLIENT_ID.to_string(), |p| p.client.id.clone());
    let (device, new_device) = ctx.names.device_value(&req).map_err(PageError::internal)?;
    let result = login::password_login(
        &state.db,
        &state.hasher,
        login::LoginRules::of(&state.settings),
        Credentials {
            email: &username,
            password: &password,
        },
        &client_id,
        &ctx.meta,
        Some(&guesses::device_hash(&device)),
        ctx.now,
    )
    .await;
    let user = match result {
        Ok(user) => user,
        Err(LoginError::Failed) => {
            let error = &ctx.tr_for(pending.as_ref()).text("login-error-wrong", &[]);
            return Ok(login_page(
                &state,
                &ctx,
                pending.as_ref(),
                Some(&username),
                StatusCode::BAD_REQUEST,
                Some(error),
            ));
        }
        Err(LoginError::Throttled { retry_after }) => {
            let minutes = (retry_after + 59) / 60;
            let error = ctx
                .tr_for(pending.as_ref())
                .text("login-error-locked", &[("minutes", &minutes.to_string())]);
            let mut resp = login_page(
                &state,
                &ctx,
                pending.as_ref(),
                Some(&username),
                StatusCode::TOO_MANY_REQUESTS,
                Some(&error),
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
            return Ok(resp);
        }
        Err(LoginError::Unverified) => {
            let error = &ctx
                .tr_for(pending.as_ref())
                .text("login-error-unverified", &[]);
            let mut page = login_view(&state, &ctx, pending.as_ref(), Some(&username), Some(error));
            let email: String = url::form_urlencoded::byte_serialize(username.as_bytes()).collect();
            page.resend_href = Some(format!("/email/resend?email={email}"));
            return Ok(super::render::page(StatusCode::FORBIDDEN, &page));
        }
        Err(LoginError::Busy) => return Err(PageError::busy()),
        Err(LoginError::Internal(e)) => return Err(PageError::internal(e)),
    };
    let mut resp = complete_sign_in(&state, &ctx, user, "pwd", pending).await?;
    // This browser now has a guess budget of its own for the account.
    if new_device {
        ctx.names.set_device(&mut resp, device);
    }
    Ok(resp)
}

/// After a successful first factor on a page (`amr`: its methods, e.g. `pwd`, `fed`, `hwk`):
/// when the user has a second factor, or must set one up (`identity::mfa`), goes to the
/// second-factor page; otherwise signs the browser in (`finish_sign_in`).
pub async fn complete_sign_in(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    user: User,
    amr: &str,
    pending: Option<Pending>,
) -> Result<HttpResponse, PageError> {
    let amr = mfa::first_factor(amr);
    let required = authorize::mfa_required(
        pending.as_ref().map(|p| (&p.request, &p.client)),
        &user.role,
        &state.roles.current(),
    );
    if mfa::is_multi_factor(&amr) {
        return finish_sign_in(state, ctx, user, &amr, pending).await;
    }
    let (user_id, first_amr, binding, now) = (
        user.id.clone(),
        amr.clone(),
        ctx.browser.binding_hash(),
        ctx.now,
    );
    let request_id = pending.as_ref().map(|p| p.id.clone());
    let handle = state
        .db
        .run(move |c| {
            let factors = mfa::factors(c, &user_id)?;
            let enrol = match mfa::gate(&first_amr, &factors, required) {
                Gate::Pass => return Ok::<_, PageError>(None),
                Gate::SecondFactor => false,
                Gate::Enrol => true,
            };
            let handle = challenge::start(
                c,
                NewChallenge {
                    user_id: &user_id,
                    first_amr: &first_amr,
                    request_id: request_id.as_deref(),
                    enrol,
                    holder: Holder::Browser(&binding),
                },
                now,
            )?;
            Ok(Some(handle))
        })
        .await?;
    match handle {
        None => finish_sign_in(state, ctx, user, &amr, pending).await,
        Some(handle) => {
            let mut path = super::mfa::page_path(&handle);
            if let Some(next) = &ctx.next {
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                path.push_str(&format!("&next={next}"));
            }
            let mut resp = super::see_other(&path);
            ctx.browser.set_cookie(&mut resp);
            Ok(resp)
        }
    }
}

/// Signs the browser in (`amr`: every method the user proved) and continues the pending
/// request (consent or code), or shows that the browser is signed in.
pub async fn finish_sign_in(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    user: User,
    amr: &str,
    pending: Option<Pending>,
) -> Result<HttpResponse, PageError> {
    let amr = amr.to_string();
    let (cookie, meta, now, st) = (
        ctx.session_cookie.clone(),
        ctx.meta.clone(),
        ctx.now,
        state.clone(),
    );
    // The browser binding rotates at sign-in: a value planted before (login CSRF, fixation)
    // never carries into the signed-in browser. The pending request follows the new value.
    let rotated = ctx.browser.rotated().map_err(PageError::internal)?;
    let new_binding = rotated.binding_hash();
    // One transaction: when a double submit loses the race for the pending request, its
    // sign-in is rolled back too (no orphan session, no replaced cookie).
    let (new_cookie, step) = state
        .db
        .run(move |c| {
            write_transaction(c, |c| {
                let previous = signed_in(c, &st, cookie.as_deref(), now)?.map(|s| s.session);
                let client_id = pending
                    .as_ref()
                    .map_or(PORTAL_CLIENT_ID, |p| p.client.id.as_str());
                let (session, new_cookie) = browser::sign_in(
                    c,
                    Authenticated {
                        user: &user,
                        amr: &amr,
                        client_id,
                    },
                    previous.as_ref(),
                    &meta,
                    &st.settings.sessions,
                    now,
                )?;
                let Some(mut pending) = pending else {
                    return Ok::<_, PageError>((new_cookie, None));
                };
                if !pending::authenticated(c, &mut pending, &new_binding, now)? {
                    return Err(super::already_completed());
                }
                let signed = SignedIn { session, user };
                let next = authorize::next_step(
                    c,
                    &pending.request,
                    &pending.client,
                    Some(&signed),
                    &st.roles.current(),
                    now,
                )?;
                Ok((new_cookie, Some(step_for(c, &pending, next, now)?)))
            })
        })
        .await?;
    let mut resp = match step {
        Some(step) => send_step(&step, &state.settings.issuer)?,
        None => super::see_other(ctx.next.as_deref().unwrap_or("/login")),
    };
    let _ = resp.add_cookie(&ctx.names.session_cookie(new_cookie));
    rotated.set_cookie(&mut resp);
    Ok(resp)
}

/// The pending request named by a form, if any.
pub async fn load(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    request: Option<&str>,
) -> Result<Option<Pending>, PageError> {
    let Some(id) = request.map(str::to_string) else {
        return Ok(None);
    };
    let (browser, now) = (ctx.browser.clone(), ctx.now);
    state
        .db
        .run(move |c| load_pending(c, &id, &browser, now).map(Some))
        .await
}

pub fn login_page(
    state: &AppState,
    ctx: &Ctx,
    pending: Option<&Pending>,
    username: Option<&str>,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    super::render::page(status, &login_view(state, ctx, pending, username, error))
}

fn login_view(
    state: &AppState,
    ctx: &Ctx,
    pending: Option<&Pending>,
    username: Option<&str>,
    error: Option<&str>,
) -> LoginPage {
    let request = pending.map(|p| p.id.clone());
    let query = request_query(request.as_deref());
    let username = username
        .map(str::to_string)
        .or_else(|| pending.and_then(|p| p.request.login_hint.clone()))
        .unwrap_or_default();
    LoginPage {
        t: ctx.tr_for(pending),
        csrf_token: ctx.browser.csrf_token(),
        register_href: state
            .settings
            .users
            .registration_enabled
            .then(|| format!("/register{query}")),
        // Only when mail can be sent (a reset link is the only way back in).
        forgot_href: state
            .mailer
            .enabled()
            .then(|| format!("/password/forgot{query}")),
        resend_href: None,
        client_name: pending.map(|p| p.client.name.clone()),
        request,
        next: ctx.next.clone(),
        username,
        error: error.map(str::to_string),
        providers: state
            .federation
            .current()
            .enabled()
            .iter()
            .map(|p| ProviderButton {
                display_name: p.display_name.clone(),
                href: format!("/federation/{}/start{query}", p.name),
            })
            .collect(),
        passkeys: state.passkeys.is_some(),
    }
}

fn signed_in_page(ctx: &Ctx, user: &SignedIn) -> HttpResponse {
    super::render::page(
        StatusCode::OK,
        &MessagePage {
            t: ctx.t,
            title: ctx.t.text("login-signed-in-title", &[]),
            message: ctx
                .t
                .text("login-signed-in-message", &[("email", &user.user.email)]),
            sign_out_csrf: Some(ctx.browser.csrf_token()),
        },
    )
}
