//! `/logout` (RP-Initiated Logout 1.0, GET and POST). A request that provably comes from the
//! client (an `id_token_hint` for the signed-in user) signs out at once; any other asks first.
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::pages::{LogoutPage, MessagePage};
use super::{read_params, signed_in, Ctx};
use crate::http::error::PageError;
use crate::identity::browser::{self, SignedIn};
use crate::oauth::{ClientStore, Params};
use crate::oidc::logout::{self, LogoutError, LogoutParams, Target};
use crate::state::AppState;

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let mut ctx = Ctx::new(&req, &state)?;
    // RP-Initiated Logout 1.0 §2: `ui_locales`, carried through the confirmation form.
    let ui_locales = params
        .get("ui_locales")
        .filter(|v| v.len() <= crate::oauth::authorize::MAX_UI_LOCALES)
        .map(str::to_string);
    ctx.t = ctx.tr_with(ui_locales.as_deref());
    // The confirmation form comes back with this browser's CSRF token and `confirm`.
    let confirmation = params.get("confirm").is_some() || params.get("csrf_token").is_some();
    if req.method() == actix_web::http::Method::POST
        && !confirmation
        && ctx.browser.is_new()
        && ctx.session_cookie.is_none()
    {
        // An RP's cross-site POST carries no SameSite=Lax cookies: repeat it as a GET, which
        // does, instead of reporting a sign-out that did not happen.
        return Ok(super::see_other(&format!("/logout?{}", params.to_query())));
    }
    if confirmation && !ctx.check_csrf(params.get("csrf_token")) {
        return Err(PageError::csrf());
    }
    let keys = state.keys.current();
    let (issuer, cookie, now, st) = (
        state.settings.issuer.clone(),
        ctx.session_cookie.clone(),
        ctx.now,
        state.clone(),
    );
    let confirmed = params.get("confirm") == Some("yes");
    let declined = params.get("confirm") == Some("no");
    let meta = ctx.meta.clone();
    let outcome = state
        .db
        .run(move |c| {
            let target = logout::resolve(&keys, &issuer, logout_params(&params), |id| {
                c.find_client(id)
            });
            let target = match target {
                Ok(t) => t,
                Err(LogoutError::Invalid(why)) => return Ok(Err(why)),
                Err(LogoutError::Internal(e)) => return Err(PageError::internal(e)),
            };
            let user = signed_in(c, &st, cookie.as_deref(), now)?;
            let decision = match &user {
                None => Decision::SignedOut,
                Some(_) if declined => Decision::Stay,
                Some(u) if confirmed || provable(&target, u) => {
                    browser::end(c, &u.session, &meta, "logout", now)?;
                    Decision::SignedOut
                }
                Some(_) => Decision::Ask,
            };
            Ok::<_, PageError>(Ok((target, user, decision)))
        })
        .await?;
    let (target, user, decision) = outcome.map_err(PageError::bad_request)?;
    let status = if req.method() == actix_web::http::Method::POST {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    let mut resp = match (decision, user) {
        (Decision::Ask, Some(user)) => ask(&ctx, &target, &user, ui_locales.as_deref()),
        (Decision::Stay, _) => super::render::page(
            StatusCode::OK,
            &MessagePage {
                t: ctx.t,
                title: ctx.t.text("logout-stayed-title", &[]),
                message: ctx.t.text("logout-stayed-message", &[]),
                sign_out_csrf: None,
            },
        ),
        _ => {
            let mut r = match target.redirect() {
                Some(uri) => HttpResponse::build(status)
                    .insert_header((header::LOCATION, uri.as_str()))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish(),
                None => super::render::page(
                    StatusCode::OK,
                    &MessagePage {
                        t: ctx.t,
                        title: ctx.t.text("logout-done-title", &[]),
                        message: ctx.t.text("logout-done-message", &[]),
                        sign_out_csrf: None,
                    },
                ),
            };
            ctx.names.clear_session(&mut r);
            r
        }
    };
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

enum Decision {
    /// Not signed in (any more).
    SignedOut,
    /// Ask the person first.
    Ask,
    /// The person chose to stay signed in.
    Stay,
}

fn logout_params(p: &Params) -> LogoutParams<'_> {
    LogoutParams {
        id_token_hint: p.get("id_token_hint"),
        client_id: p.get("client_id"),
        post_logout_redirect_uri: p.get("post_logout_redirect_uri"),
        state: p.get("state"),
    }
}

/// The request carries an ID token for the signed-in user (and, when it names one, this
/// session): it comes from an application this user signed in to.
fn provable(target: &Target, user: &SignedIn) -> bool {
    target.hint.as_ref().is_some_and(|h| {
        h.sub == user.user.id && h.sid.as_ref().is_none_or(|sid| *sid == user.session.id)
    })
}

fn ask(ctx: &Ctx, target: &Target, user: &SignedIn, ui_locales: Option<&str>) -> HttpResponse {
    let mut hidden = Vec::new();
    if let Some(client) = &target.client {
        hidden.push(("client_id".to_string(), client.id.clone()));
    }
    if let Some(uri) = &target.post_logout_redirect_uri {
        hidden.push(("post_logout_redirect_uri".to_string(), uri.clone()));
    }
    if let Some(state) = &target.state {
        hidden.push(("state".to_string(), state.clone()));
    }
    if let Some(ui_locales) = ui_locales {
        hidden.push(("ui_locales".to_string(), ui_locales.to_string()));
    }
    super::render::page(
        StatusCode::OK,
        &LogoutPage {
            t: ctx.t,
            csrf_token: ctx.browser.csrf_token(),
            user_email: user.user.email.clone(),
            client_name: target.client.as_ref().map(|c| c.name.clone()),
            hidden,
        },
    )
}
