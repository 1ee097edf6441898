//! The password section: change it (current + new), or set a first one for an account made by
//! federated sign-in. The other sessions end (`identity::password_change`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::email::change_error;
use super::view::{render, Flash};
use super::{done, read_post, Posted};
use crate::http::error::PageError;
use crate::identity::password_change::{self, ChangeError, Env, PasswordChange};
use crate::state::AppState;

/// `POST /account/password` (`current_password` when the account has one, `new_password`).
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let post = match read_post(&req, &state, payload).await? {
        Posted::Ok(post) => post,
        Posted::SignIn(resp) => return Ok(resp),
    };
    let (ctx, me) = (&post.ctx, &post.me);
    if let Some(flash) = super::stale_sign_in(&state, me, "password", ctx.now).await? {
        return render(&state, ctx, me, StatusCode::FORBIDDEN, flash).await;
    }
    let change = PasswordChange {
        current: post
            .params
            .get("current_password")
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        new: post.params.get("new_password").unwrap_or("").to_string(),
    };
    let env = Env {
        db: &state.db,
        hasher: &state.hasher,
        settings: &state.settings,
        mailer: &state.mailer,
    };
    match password_change::change_password(env, &me.session, change, &ctx.meta, ctx.now).await {
        Ok(_) => Ok(done("password", "password")),
        Err(e) => {
            let (status, broken) = match &e {
                ChangeError::Weak(broken) => (StatusCode::BAD_REQUEST, broken.clone()),
                ChangeError::WrongCurrent | ChangeError::ReauthRequired => {
                    (StatusCode::FORBIDDEN, Vec::new())
                }
                ChangeError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, Vec::new()),
                _ => (StatusCode::BAD_REQUEST, Vec::new()),
            };
            let Some(message) = change_error(e)? else {
                return Err(PageError::bad_request("The password could not be changed."));
            };
            let flash = Flash {
                broken,
                ..Flash::error("password", message)
            };
            render(&state, ctx, me, status, flash).await
        }
    }
}
