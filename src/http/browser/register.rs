//! The registration page: the password policy shown up front and enforced rule by rule; a new
//! account gets a verification link by mail (when mail is on) and is signed in, and the pending
//! request continues as after a login — unless `users.require_verified_email` makes the sign-in
//! wait for the address.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::login::{complete_sign_in, load};
use super::pages::{self, NoticePage, RegisterPage};
use super::{read_form, read_params, request_query, Ctx, Pending};
use crate::http::error::PageError;
use crate::identity::password::Violation;
use crate::identity::users::{self, CreateError, NewUser};
use crate::identity::verification;
use crate::state::AppState;

fn enabled(state: &AppState) -> Result<(), PageError> {
    if state.settings.users.registration_enabled {
        Ok(())
    } else {
        Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Registration is closed",
            "New accounts can't be created here. Ask your administrator for an account.",
        )
        .with_link("/login", "Sign in"))
    }
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    enabled(&state)?;
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let pending = load(&state, &ctx, params.get("request")).await?;
    let hint = pending
        .as_ref()
        .and_then(|p| p.request.login_hint.clone())
        .unwrap_or_default();
    let form = Form {
        email: &hint,
        name: "",
    };
    let mut resp = page(
        &state,
        &ctx,
        pending.as_ref(),
        form,
        StatusCode::OK,
        None,
        &[],
    );
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    enabled(&state)?;
    let (params, ctx) = read_form(&req, &state, payload).await?;
    let pending = load(&state, &ctx, params.get("request")).await?;
    let email = params.get("email").unwrap_or("").trim().to_string();
    let name = params.get("name").unwrap_or("").trim().to_string();
    let form = Form {
        email: &email,
        name: &name,
    };
    let new = NewUser {
        email: email.clone(),
        name: (!name.is_empty()).then(|| name.clone()),
        password: params.get("password").unwrap_or("").to_string(),
        role: None,
        email_verified: false,
    };
    let result = users::register(
        &state.db,
        &state.hasher,
        &state.roles.current(),
        &state.settings,
        new,
        ctx.meta.clone(),
        ctx.now,
    )
    .await;
    let bad = StatusCode::BAD_REQUEST;
    let user = match result {
        Ok(user) => user,
        Err(CreateError::InvalidEmail(why) | CreateError::InvalidName(why)) => {
            let msg = ctx
                .tr_for(pending.as_ref())
                .text("register-error-details", &[("why", why.as_str())]);
            return Ok(page(
                &state,
                &ctx,
                pending.as_ref(),
                form,
                bad,
                Some(&msg),
                &[],
            ));
        }
        Err(CreateError::WeakPassword(broken)) => {
            let msg = &ctx
                .tr_for(pending.as_ref())
                .text("register-error-weak", &[]);
            return Ok(page(
                &state,
                &ctx,
                pending.as_ref(),
                form,
                bad,
                Some(msg),
                &broken,
            ));
        }
        Err(CreateError::EmailTaken) => {
            let msg = &ctx
                .tr_for(pending.as_ref())
                .text("register-error-taken", &[]);
            return Ok(page(
                &state,
                &ctx,
                pending.as_ref(),
                form,
                StatusCode::CONFLICT,
                Some(msg),
                &[],
            ));
        }
        Err(CreateError::Busy) => return Err(PageError::busy()),
        Err(CreateError::Throttled { retry_after }) => {
            let minutes = (retry_after + 59) / 60;
            let msg = ctx.tr_for(pending.as_ref()).text(
                "register-error-throttled",
                &[("minutes", &minutes.to_string())],
            );
            let mut resp = page(
                &state,
                &ctx,
                pending.as_ref(),
                form,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&msg),
                &[],
            );
            resp.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after),
            );
            return Ok(resp);
        }
        Err(CreateError::UnknownRole(r)) => {
            return Err(PageError::internal(anyhow::anyhow!(
                "users.default_role {r:?} is not a role"
            )))
        }
        Err(CreateError::Internal(e)) => return Err(PageError::internal(e)),
    };
    let (db, mailer, issuer) = (&state.db, &state.mailer, &state.settings.issuer);
    verification::send_after_sign_up(db, mailer, issuer, &user, &ctx.meta, ctx.now).await;
    if state.settings.users.require_verified_email && !user.email_verified {
        // Signing in waits for the address (`users.require_verified_email`).
        let request = pending.as_ref().map(|p| p.id.as_str());
        let t = ctx.tr_for(pending.as_ref());
        return Ok(super::render::page(
            StatusCode::OK,
            &NoticePage {
                t,
                title: t.text("register-confirm-title", &[]),
                message: t.text("register-confirm-message", &[("email", &user.email)]),
                link: Some((
                    format!("/login{}", request_query(request)),
                    t.text("sign-in", &[]),
                )),
            },
        ));
    }
    complete_sign_in(&state, &ctx, user, "pwd", pending).await
}

/// What was typed, shown again (never the password).
#[derive(Clone, Copy)]
struct Form<'a> {
    email: &'a str,
    name: &'a str,
}

fn page(
    state: &AppState,
    ctx: &Ctx,
    pending: Option<&Pending>,
    form: Form,
    status: StatusCode,
    error: Option<&str>,
    broken: &[Violation],
) -> HttpResponse {
    let rules = pages::rule_views(&state.settings.password, broken, ctx.tr_for(pending));
    let request = pending.map(|p| p.id.clone());
    super::render::page(
        status,
        &RegisterPage {
            t: ctx.tr_for(pending),
            csrf_token: ctx.browser.csrf_token(),
            login_href: format!("/login{}", request_query(request.as_deref())),
            client_name: pending.map(|p| p.client.name.clone()),
            request,
            email: form.email.to_string(),
            name: form.name.to_string(),
            rules,
            error: error.map(str::to_string),
        },
    )
}
