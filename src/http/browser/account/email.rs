//! The email section: change the address (which must then be confirmed), and ask for a new
//! confirmation link.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::view::{render, Flash};
use super::{done, read_post, Post, Posted};
use crate::http::error::PageError;
use crate::identity::email_tokens::LinkError;
use crate::identity::password_change::{self, ChangeError, Env};
use crate::identity::profile::{self, ProfileError};
use crate::identity::verification;
use crate::state::AppState;

/// `POST /account/email` (`email`, and `current_password` when the account has one).
pub async fn change(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let post = match read_post(&req, &state, payload).await? {
        Posted::Ok(post) => post,
        Posted::SignIn(resp) => return Ok(resp),
    };
    let email = post.params.get("email").unwrap_or("").trim().to_string();
    match change_email(&state, &post, &email).await? {
        None => Ok(done("email", "email")),
        Some(message) => {
            // The same answer as registration for an address another account has.
            let status = if message == TAKEN {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            let flash = Flash {
                typed: Some(email),
                ..Flash::error("email", message)
            };
            render(&state, &post.ctx, &post.me, status, flash).await
        }
    }
}

const TAKEN: &str = "An account with this email already exists.";

/// Changes the address; `Some(message)` when refused.
async fn change_email(
    state: &web::Data<AppState>,
    post: &Post,
    email: &str,
) -> Result<Option<String>, PageError> {
    if email.is_empty() {
        return Ok(Some("Enter the new email address.".into()));
    }
    if let Err(why) = crate::identity::users::validate_email(email) {
        return Ok(Some(format!("Check the address: {why}.")));
    }
    let env = Env {
        db: &state.db,
        hasher: &state.hasher,
        settings: &state.settings,
        mailer: &state.mailer,
    };
    let (ctx, me) = (&post.ctx, &post.me);
    let row = match password_change::account_row(&state.db, &me.user.id).await {
        Ok(row) => row,
        Err(e) => return change_error(e),
    };
    let current = post
        .params
        .get("current_password")
        .filter(|p| !p.is_empty());
    if let Err(e) =
        password_change::confirm_current(&env, &row, &me.session, current, &ctx.meta, ctx.now).await
    {
        return change_error(e);
    }
    let issuer = &state.settings.issuer;
    let result = profile::change_email(
        &state.db,
        &state.mailer,
        issuer,
        &me.user.id,
        email,
        &ctx.meta,
        ctx.now,
    )
    .await;
    match result {
        Ok(_) => Ok(None),
        Err(ProfileError::InvalidEmail(why)) => Ok(Some(format!("Check the address: {why}."))),
        Err(ProfileError::EmailTaken) => Ok(Some(TAKEN.into())),
        Err(ProfileError::MailDisabled) => Ok(Some(
            "This server sends no email, so the address can't be changed here. Ask your \
             administrator."
                .into(),
        )),
        Err(ProfileError::InvalidName(why)) => Ok(Some(why)),
        Err(ProfileError::NotFound) => Err(PageError::bad_request("This account is gone.")),
        Err(ProfileError::Internal(e)) => Err(PageError::internal(e)),
    }
}

/// A refused confirmation as the message for the section, or the page error.
pub(super) fn change_error(e: ChangeError) -> Result<Option<String>, PageError> {
    Ok(Some(match e {
        ChangeError::CurrentRequired => "Enter your current password.".into(),
        ChangeError::WrongCurrent => "The current password is incorrect.".into(),
        ChangeError::ReauthRequired => "For your security, sign out and sign in again first \
                                        (your sign-in is more than 10 minutes old)."
            .into(),
        ChangeError::Weak(_) => "Choose a password that meets every rule below.".into(),
        ChangeError::Throttled { retry_after } => {
            let minutes = (retry_after + 59) / 60;
            format!("Too many wrong passwords. Try again in {minutes} minute(s).")
        }
        ChangeError::Busy => return Err(PageError::busy()),
        ChangeError::NotFound => return Err(PageError::bad_request("This account is gone.")),
        ChangeError::Internal(e) => return Err(PageError::internal(e)),
    }))
}

/// `POST /account/email/resend`: a new confirmation link to the account's (unverified)
/// address, within the mail budgets.
pub async fn resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let post = match read_post(&req, &state, payload).await? {
        Posted::Ok(post) => post,
        Posted::SignIn(resp) => return Ok(resp),
    };
    let (ctx, me) = (&post.ctx, &post.me);
    if me.user.email_verified {
        let flash = Flash::error("email", "Your address is already confirmed.");
        return render(&state, ctx, me, StatusCode::BAD_REQUEST, flash).await;
    }
    let (db, mailer, settings) = (&state.db, &state.mailer, &state.settings);
    match verification::resend(db, mailer, settings, &me.user.email, &ctx.meta, ctx.now).await {
        Ok(()) => Ok(done("resent", "email")),
        Err(LinkError::Throttled { retry_after }) => {
            let minutes = (retry_after + 59) / 60;
            let msg = format!("Too many emails were asked for. Try again in {minutes} minute(s).");
            let flash = Flash::error("email", msg);
            render(&state, ctx, me, StatusCode::TOO_MANY_REQUESTS, flash).await
        }
        Err(e) => Err(e.into()),
    }
}
