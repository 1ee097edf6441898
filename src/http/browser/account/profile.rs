//! The profile section: the display name.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::view::{render, Flash};
use super::{done, read_post, Posted};
use crate::http::error::PageError;
use crate::identity::profile::{self, ProfileError};
use crate::state::AppState;

/// `POST /account/name` (`name`; blank clears it).
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let post = match read_post(&req, &state, payload).await? {
        Posted::Ok(post) => post,
        Posted::SignIn(resp) => return Ok(resp),
    };
    let name = post.params.get("name").unwrap_or("").to_string();
    let (user_id, meta, now) = (post.me.user.id.clone(), post.ctx.meta.clone(), post.ctx.now);
    let typed = name.clone();
    let result = state
        .db
        .run(move |c| Ok::<_, PageError>(profile::set_name(c, &user_id, &name, &meta, now)))
        .await?;
    match result {
        Ok(_) => Ok(done("name", "profile")),
        Err(ProfileError::InvalidName(why)) => {
            let flash = Flash {
                typed: Some(typed),
                ..Flash::error("profile", format!("Check your name: {why}."))
            };
            render(&state, &post.ctx, &post.me, StatusCode::BAD_REQUEST, flash).await
        }
        Err(e) => Err(PageError::internal(e.into())),
    }
}
