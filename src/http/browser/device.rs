//! `/device` (RFC 8628 §3.3): a signed-in user enters (or confirms, from
//! `verification_uri_complete`) the code a device shows, sees the application and what it asks
//! for, and approves or denies (`/device/decide`). Not signed in: the login page first, which
//! comes back here (`next`), through the second-factor step when the user has one. The rules
//! (the guess budget of codes, the second-factor requirement, the decision) are
//! `oauth::device`'s.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::account::require_signed_in;
use super::pages::{self, NoticePage, ScopeView};
use super::{read_form, read_params, see_other, Ctx};
use crate::http::error::PageError;
use crate::identity::browser::SignedIn;
use crate::identity::mfa;
use crate::identity::mfa::challenge::{self, Holder, NewChallenge};
use crate::oauth::device::{self, Decided, Env, Found, Waiting, VERIFICATION_PATH};
use crate::state::AppState;

/// What the approve/deny form shows.
#[derive(serde::Serialize)]
pub struct ConfirmView {
    pub client_name: String,
    /// The client registered itself (RFC 7591): nobody vouches for its name.
    pub self_registered: bool,
    pub user_code: String,
    pub scopes: Vec<ScopeView>,
}

#[derive(Template, serde::Serialize, Default)]
#[template(path = "device.html")]
pub struct DevicePage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: super::pages::Tr,
    pub csrf_token: String,
    pub user_email: String,
    /// The code field's value (from `verification_uri_complete`, or what was typed).
    pub user_code: String,
    pub error: Option<String>,
    /// Set once a code was found: the approve/deny form instead of the code field.
    pub confirm: Option<ConfirmView>,
}

super::render::themable!(DevicePage => "device.html", t);

/// Longest code kept for the field (a code is 9 characters; people add spaces).
const MAX_TYPED: usize = 32;

/// `/device`, with the code when there is one: where the login page comes back to.
fn path_with(code: &str) -> String {
    if code.is_empty() {
        return VERIFICATION_PATH.to_string();
    }
    let code: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
    format!("{VERIFICATION_PATH}?user_code={code}")
}

fn typed(params: &crate::oauth::Params) -> String {
    params
        .get("user_code")
        .unwrap_or("")
        .trim()
        .chars()
        .take(MAX_TYPED)
        .collect()
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let code = typed(&params);
    let me = match require_signed_in(&state, &ctx, &path_with(&code)).await {
        Ok(me) => me,
        Err(to_login) => return Ok(to_login),
    };
    let mut resp = entry_page(&ctx, &me, code, None, StatusCode::OK);
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, ctx) = read_form(&req, &state, payload).await?;
    let code = typed(&params);
    let me = match require_signed_in(&state, &ctx, &path_with(&code)).await {
        Ok(me) => me,
        Err(to_login) => return Ok(to_login),
    };
    let (st, who, ip, now, typed) = (
        state.clone(),
        me.clone(),
        ctx.meta.ip.clone(),
        ctx.now,
        code.clone(),
    );
    let found = state
        .db
        .run(move |c| {
            let env = Env {
                lockout: &st.settings.lockout,
                roles: &st.roles.current(),
            };
            let found =
                device::find(c, &env, &who, &typed, ip.as_deref(), now).map_err(PageError::from)?;
            let described = match &found {
                Found::Request(w) => super::consent::described(c, w.scopes.clone())?,
                _ => Vec::new(),
            };
            Ok::<_, PageError>((found, described))
        })
        .await?;
    let (found, described) = found;
    match found {
        Found::Request(w) if w.needs_second_factor => second_factor(&state, &ctx, &me, &code).await,
        Found::Request(w) => Ok(confirm_page(&ctx, &me, &w, &described)),
        Found::Wrong => Ok(wrong_code(&ctx, &me, code)),
        Found::Throttled { retry_after } => Err(too_many(retry_after)),
    }
}

pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, ctx) = read_form(&req, &state, payload).await?;
    let approve = match params.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return Err(PageError::bad_request("Choose Approve or Deny.")),
    };
    let code = typed(&params);
    let me = match require_signed_in(&state, &ctx, &path_with(&code)).await {
        Ok(me) => me,
        Err(to_login) => return Ok(to_login),
    };
    let (st, who, meta, now, typed) = (
        state.clone(),
        me.clone(),
        ctx.meta.clone(),
        ctx.now,
        code.clone(),
    );
    let decided = state
        .db
        .run(move |c| {
            let env = Env {
                lockout: &st.settings.lockout,
                roles: &st.roles.current(),
            };
            device::decide(c, &env, &who, &typed, approve, &meta, now).map_err(PageError::from)
        })
        .await?;
    let notice = |title: &str, message: String| {
        super::render::page(
            StatusCode::OK,
            &NoticePage {
                t: pages::Tr::english(),
                title: title.to_string(),
                message,
                link: None,
            },
        )
    };
    match decided {
        Decided::Approved { client_name } => Ok(notice(
            "Device connected",
            format!("{client_name} can now use your account. You may return to your device."),
        )),
        Decided::Denied { client_name } => Ok(notice(
            "Access denied",
            format!("{client_name} was not given access. You may return to your device."),
        )),
        Decided::SecondFactor => second_factor(&state, &ctx, &me, &code).await,
        Decided::Wrong => Ok(wrong_code(&ctx, &me, code)),
        Decided::Throttled { retry_after } => Err(too_many(retry_after)),
    }
}

/// Approving for this client needs a second factor the session lacks: the second-factor step
/// (set one up when the user has none), then back here with the code.
async fn second_factor(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    me: &SignedIn,
    code: &str,
) -> Result<HttpResponse, PageError> {
    let (user_id, amr, binding, now) = (
        me.user.id.clone(),
        me.session.amr.clone(),
        ctx.browser.binding_hash(),
        ctx.now,
    );
    let handle = state
        .db
        .run(move |c| {
            let enrol = !mfa::factors(c, &user_id)?.any();
            challenge::start(
                c,
                NewChallenge {
                    user_id: &user_id,
                    first_amr: &amr,
                    request_id: None,
                    enrol,
                    holder: Holder::Browser(&binding),
                },
                now,
            )
            .map_err(PageError::from)
        })
        .await?;
    let next: String = url::form_urlencoded::byte_serialize(path_with(code).as_bytes()).collect();
    let mut resp = see_other(&format!("{}&next={next}", super::mfa::page_path(&handle)));
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

fn too_many(retry_after: i64) -> PageError {
    PageError::too_many(
        "Too many attempts",
        "Too many codes were entered that don't match a device. Wait a while, then enter the \
         code your device shows again.",
        retry_after,
    )
}

fn wrong_code(ctx: &Ctx, me: &SignedIn, code: String) -> HttpResponse {
    let error = ctx.t.text("device-error-code", &[]);
    entry_page(ctx, me, code, Some(&error), StatusCode::BAD_REQUEST)
}

fn entry_page(
    ctx: &Ctx,
    me: &SignedIn,
    user_code: String,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    super::render::page(
        status,
        &DevicePage {
            t: ctx.t,
            csrf_token: ctx.browser.csrf_token(),
            user_email: me.user.email.clone(),
            user_code,
            error: error.map(str::to_string),
            confirm: None,
        },
    )
}

/// `described`: the scopes with their stored descriptions (`consent::described`).
fn confirm_page(
    ctx: &Ctx,
    me: &SignedIn,
    w: &Waiting,
    described: &[(String, super::consent::Described)],
) -> HttpResponse {
    super::render::page(
        StatusCode::OK,
        &DevicePage {
            t: ctx.t,
            csrf_token: ctx.browser.csrf_token(),
            user_email: me.user.email.clone(),
            user_code: w.user_code.clone(),
            error: None,
            confirm: Some(ConfirmView {
                client_name: w.client.name.clone(),
                self_registered: w.client.dynamic,
                user_code: w.user_code.clone(),
                scopes: described
                    .iter()
                    .map(|(s, texts)| super::consent::describe_stored(s, ctx.t, texts))
                    .collect(),
            }),
        },
    )
}
