//! The linked-providers section: unlink an upstream identity, unless it is the account's last
//! way to sign in.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::super::login::PORTAL_CLIENT_ID;
use super::view::{render, Flash};
use super::{done, read_post, Posted};
use crate::federation::{self, Unlinked};
use crate::http::error::PageError;
use crate::state::AppState;

/// `POST /account/identities/unlink` (`identity`: the linked identity's id).
pub async fn unlink(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let post = match read_post(&req, &state, payload).await? {
        Posted::Ok(post) => post,
        Posted::SignIn(resp) => return Ok(resp),
    };
    let (ctx, me) = (&post.ctx, &post.me);
    let id = post.params.get("identity").unwrap_or("").to_string();
    let (user_id, meta, now) = (me.user.id.clone(), ctx.meta.clone(), ctx.now);
    let outcome = state
        .db
        .run(move |c| federation::unlink(c, &user_id, &id, PORTAL_CLIENT_ID, &meta, now))
        .await?;
    let (status, message) = match outcome {
        Unlinked::Done => return Ok(done("unlinked", "providers")),
        Unlinked::NotFound => (StatusCode::NOT_FOUND, "That provider is not linked."),
        Unlinked::LastMethod => (
            StatusCode::CONFLICT,
            "This is your only way to sign in. Set a password or link another provider first.",
        ),
    };
    render(&state, ctx, me, status, Flash::error("providers", message)).await
}
