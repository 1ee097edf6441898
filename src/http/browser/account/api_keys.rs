//! The API keys section: create a key (shown once, on the page this POST answers with) and
//! revoke one (`identity::api_keys`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::super::login::PORTAL_CLIENT_ID;
use super::view::{render, Flash};
use super::{done, read_post, Post, Posted};
use crate::http::error::PageError;
use crate::identity::api_keys::{self, Created, KeyError, NewKey};
use crate::state::AppState;
use crate::store::users as user_store;

/// `POST /account/keys` (`name`, optional `expires_in_days`): answers 201 with the page showing
/// the new key once (it is never shown again, so there is no redirect to lose it in).
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let post = match read_post(&req, &state, payload).await? {
        Posted::Ok(post) => post,
        Posted::SignIn(resp) => return Ok(resp),
    };
    let (ctx, me) = (&post.ctx, &post.me);
    let typed = post.params.get("name").unwrap_or("").to_string();
    if let Some(flash) = super::stale_sign_in(&state, me, "keys", ctx.now).await? {
        let flash = Flash {
            typed: Some(typed),
            ..flash
        };
        return render(&state, ctx, me, StatusCode::FORBIDDEN, flash).await;
    }
    match create_key(&state, &post).await? {
        Ok(created) => {
            let flash = Flash {
                notice: Some(format!(
                    "API key “{}” created. Copy it now: it won't be shown again.",
                    created.info.name
                )),
                new_key: Some(created.api_key),
                ..Flash::default()
            };
            render(&state, ctx, me, StatusCode::CREATED, flash).await
        }
        Err(why) => {
            let flash = Flash {
                typed: Some(typed),
                ..Flash::error("keys", format!("Check the key: {why}."))
            };
            render(&state, ctx, me, StatusCode::BAD_REQUEST, flash).await
        }
    }
}

/// Creates the key the form asks for: the one sensitive action of this section.
async fn create_key(
    state: &web::Data<AppState>,
    post: &Post,
) -> Result<Result<Created, String>, PageError> {
    let expires_in_days = match post.params.get("expires_in_days").map(str::trim) {
        None | Some("") => None,
        Some(days) => match days.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => return Ok(Err("the lifetime must be a number of days".into())),
        },
    };
    let new = NewKey {
        name: post.params.get("name").unwrap_or("").to_string(),
        scopes: Vec::new(),
        expires_in_days,
    };
    let (user_id, roles, meta, now) = (
        post.me.user.id.clone(),
        state.roles.current(),
        post.ctx.meta.clone(),
        post.ctx.now,
    );
    let result = state
        .db
        .run(move |c| {
            let Some(owner) = user_store::find(c, &user_id)? else {
                return Ok::<_, PageError>(Err(KeyError::NotFound));
            };
            Ok(api_keys::create(
                c,
                &roles,
                &owner,
                new,
                Some(PORTAL_CLIENT_ID),
                Some(&meta),
                now,
            ))
        })
        .await?;
    match result {
        Ok(created) => Ok(Ok(created)),
        Err(KeyError::Invalid(why)) => Ok(Err(why)),
        Err(KeyError::NotFound) => Err(PageError::bad_request("This account is gone.")),
        Err(KeyError::Internal(e)) => Err(PageError::internal(e)),
    }
}

/// `POST /account/keys/revoke` (`key`: the key's id).
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let post = match read_post(&req, &state, payload).await? {
        Posted::Ok(post) => post,
        Posted::SignIn(resp) => return Ok(resp),
    };
    let (ctx, me) = (&post.ctx, &post.me);
    let id = post.params.get("key").unwrap_or("").to_string();
    let (user_id, meta, now) = (me.user.id.clone(), ctx.meta.clone(), ctx.now);
    let result = state
        .db
        .run(move |c| {
            Ok::<_, PageError>(api_keys::revoke(
                c,
                Some(&user_id),
                &id,
                Some(&meta),
                None,
                now,
            ))
        })
        .await?;
    match result {
        Ok(()) => Ok(done("key_revoked", "keys")),
        Err(KeyError::NotFound) => {
            let flash = Flash::error("keys", "That key does not exist or was already revoked.");
            render(&state, ctx, me, StatusCode::NOT_FOUND, flash).await
        }
        Err(KeyError::Invalid(why)) => Err(PageError::bad_request(why)),
        Err(KeyError::Internal(e)) => Err(PageError::internal(e)),
    }
}
