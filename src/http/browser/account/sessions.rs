//! The sessions section: end one of your sessions, or every one but this.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::super::login::PORTAL_CLIENT_ID;
use super::view::{render, Flash};
use super::{done, read_post, Posted};
use crate::http::error::PageError;
use crate::identity::sessions;
use crate::state::AppState;

/// `POST /account/sessions/end` (`session`: the id of another session of this user).
pub async fn end_one(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let post = match read_post(&req, &state, payload).await? {
        Posted::Ok(post) => post,
        Posted::SignIn(resp) => return Ok(resp),
    };
    let (ctx, me) = (&post.ctx, &post.me);
    let target = post.params.get("session").unwrap_or("").to_string();
    if target == me.session.id {
        let flash = Flash::error("sessions", "To end this session, sign out.");
        return render(&state, ctx, me, StatusCode::BAD_REQUEST, flash).await;
    }
    let (user_id, meta, now) = (me.user.id.clone(), ctx.meta.clone(), ctx.now);
    let ended = state
        .db
        .run(move |c| sessions::end_own(c, &user_id, &target, PORTAL_CLIENT_ID, &meta, now))
        .await?;
    if ended {
        Ok(done("session", "sessions"))
    } else {
        let flash = Flash::error("sessions", "That session has already ended.");
        render(&state, ctx, me, StatusCode::NOT_FOUND, flash).await
    }
}

/// `POST /account/sessions/end-others`.
pub async fn end_others(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let post = match read_post(&req, &state, payload).await? {
        Posted::Ok(post) => post,
        Posted::SignIn(resp) => return Ok(resp),
    };
    let (ctx, me) = (&post.ctx, &post.me);
    let (user_id, keep, meta, now) = (
        me.user.id.clone(),
        me.session.id.clone(),
        ctx.meta.clone(),
        ctx.now,
    );
    state
        .db
        .run(move |c| sessions::end_others(c, &user_id, &keep, PORTAL_CLIENT_ID, &meta, now))
        .await?;
    Ok(done("others", "sessions"))
}
