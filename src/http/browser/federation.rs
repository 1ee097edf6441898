//! `/federation/{provider}/start`, `/federation/{provider}/callback` and `/federation/link`:
//! upstream sign-in. The pending downstream request (if any) stays in the database, named by
//! the upstream `state` row, which is bound to this browser and used once. Every failure is an
//! error page with a way back to the login page, never a 5xx and never a redirect elsewhere.
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::login::{complete_sign_in, load};
use super::pages::{LinkPage, ProviderButton};
use super::{read_form, read_params, request_query, see_other, Ctx};
use crate::federation::{self, FederationError, Origin, Provider, Providers, Resolution};
use crate::http::error::PageError;
use crate::identity::login::{self, Credentials, LoginError};
use crate::state::AppState;
use crate::store::federation::{self as store, StateRow};
use crate::telemetry::capped;
use crate::tokens::secret;

/// Upstream sign-ins in flight expire after this long.
const STATE_TTL_SECS: i64 = 600;

/// The providers in force and the one named (a copy: the providers may be swapped meanwhile).
fn provider(state: &AppState, name: &str) -> Result<(Arc<Providers>, Provider), PageError> {
    let providers = state.federation.current();
    let found = providers.get(name).cloned();
    found.map(|p| (providers, p)).ok_or_else(|| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Unknown sign-in method",
            "This way of signing in is not available here.",
        )
        .with_link("/login", "Back to sign in")
    })
}

fn callback_url(state: &AppState, provider: &Provider) -> String {
    format!(
        "{}/federation/{}/callback",
        state.settings.issuer, provider.name
    )
}

/// An upstream failure as a page that leads back to the login page.
fn upstream_page(e: &FederationError, back: &str) -> PageError {
    if let Some(cause) = &e.cause {
        tracing::warn!(error = %capped(format_args!("{cause:#}")), "upstream sign-in failed");
    }
    PageError::new(
        StatusCode::BAD_REQUEST,
        "Sign-in didn't work",
        e.message.clone(),
    )
    .with_link(back, "Back to sign in")
}

pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (providers, provider) = provider(&state, &path)?;
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    // Either a downstream request, or a pending link this sign-in is to confirm.
    let (request_id, link_token_hash) = match params.get("link") {
        Some(token) => {
            let link = find_link(&state, &ctx, token).await?;
            (link.row.request_id, Some(secret::hash_secret(token)))
        }
        None => (
            load(&state, &ctx, params.get("request"))
                .await?
                .map(|p| p.id),
            None,
        ),
    };
    let back = format!("/login{}", request_query(request_id.as_deref()));
    let (start, verifier) = Providers::new_start()?;
    let row = StateRow {
        state_hash: secret::hash_secret(&start.state),
        provider: provider.name.clone(),
        browser_hash: ctx.browser.binding_hash(),
        request_id,
        link_token_hash,
        // Needed in clear at the callback; single-use and gone within minutes.
        pkce_verifier: verifier,
        nonce: start.nonce.clone(),
        created_at: ctx.now,
        expires_at: ctx.now + STATE_TTL_SECS,
        used_at: None,
    };
    let url = providers
        .authorize_url(&provider, &callback_url(&state, &provider), start)
        .await
        .map_err(|e| upstream_page(&e, &back))?;
    let now = ctx.now;
    state
        .db
        .run(move |c| store::insert_state(c, &row, now).map_err(PageError::from))
        .await?;
    let mut resp = see_other(&url);
    *resp.status_mut() = StatusCode::FOUND;
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (providers, provider) = provider(&state, &path)?;
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let stale = || {
        PageError::bad_request(format!(
            "This sign-in with {} has expired, was already used, or was not started in this \
             browser. Please start again.",
            provider.display_name
        ))
        .with_link("/login", "Back to sign in")
    };
    let presented = params.get("state").ok_or_else(stale)?.to_string();
    let now = ctx.now;
    let row = state
        .db
        .run(move |c| {
            store::take_state(c, &secret::hash_secret(&presented), now).map_err(PageError::from)
        })
        .await?
        .filter(|r| r.provider == provider.name && ctx.browser.is_bound(&r.browser_hash))
        .ok_or_else(stale)?;
    let back = format!("/login{}", request_query(row.request_id.as_deref()));
    if let Some(error) = params.get("error") {
        let message = match error {
            "access_denied" => format!("You cancelled the sign-in with {}.", provider.display_name),
            _ => format!(
                "{} could not sign you in. Please try again.",
                provider.display_name
            ),
        };
        return Err(PageError::bad_request(message).with_link(&back, "Back to sign in"));
    }
    let Some(code) = params.get("code") else {
        return Err(PageError::bad_request(format!(
            "{} sent you back without a sign-in code.",
            provider.display_name
        ))
        .with_link(&back, "Back to sign in"));
    };
    let identity = providers
        .finish(
            &provider,
            &callback_url(&state, &provider),
            code,
            &row.pkce_verifier,
            &row.nonce,
        )
        .await
        .map_err(|e| upstream_page(&e, &back))?;
    if let Some(hash) = row.link_token_hash.clone() {
        return confirm_link_by_provider(&state, &ctx, &provider, identity, hash).await;
    }
    let (binding, meta, st) = (ctx.browser.binding_hash(), ctx.meta.clone(), state.clone());
    let (display, request_id) = (provider.display_name.clone(), row.request_id.clone());
    let resolution = state
        .db
        .run(move |c| {
            federation::resolve(
                c,
                &identity,
                &display,
                Origin {
                    browser_hash: &binding,
                    request_id: request_id.as_deref(),
                },
                &st.settings.users.default_role,
                &meta,
                now,
            )
        })
        .await?;
    match resolution {
        Resolution::SignIn(user) => {
            let pending = load(&state, &ctx, row.request_id.as_deref()).await?;
            complete_sign_in(&state, &ctx, user, "fed", pending).await
        }
        Resolution::ConfirmLink { token } => {
            Ok(see_other(&format!("/federation/link?token={token}")))
        }
        Resolution::Refused(message) => {
            Err(PageError::bad_request(message).with_link(&back, "Back to sign in"))
        }
    }
}

/// The pending link is confirmed by signing in with a provider already linked to the account.
async fn confirm_link_by_provider(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    provider: &Provider,
    identity: federation::UpstreamIdentity,
    hash: String,
) -> Result<HttpResponse, PageError> {
    let (binding, meta, now) = (ctx.browser.binding_hash(), ctx.meta.clone(), ctx.now);
    let display = provider.display_name.clone();
    let outcome = state
        .db
        .run(move |c| {
            let Some(link) = federation::pending_link(c, &hash, &binding, now)? else {
                return Ok::<_, PageError>(Err(expired_link()));
            };
            if !federation::is_linked_to(c, &identity, &link.user_id)? {
                return Ok(Err(PageError::bad_request(format!(
                    "That {display} account is not the one linked to {}.",
                    link.email
                ))
                .with_link(
                    format!("/login{}", request_query(link.request_id.as_deref())),
                    "Back to sign in",
                )));
            }
            let Some(done) =
                federation::complete_link(c, &hash, &binding, &link.user_id, &meta, now)?
            else {
                return Ok(Err(expired_link()));
            };
            let user = crate::store::users::find(c, &done.user_id)?
                .filter(|u| !u.disabled)
                .map(|u| crate::identity::users::User::from(&u));
            Ok(Ok((done, user)))
        })
        .await?;
    let (done, user) = outcome?;
    let user = user.ok_or_else(|| PageError::bad_request("This account is disabled."))?;
    let pending = load(state, ctx, done.request_id.as_deref()).await?;
    complete_sign_in(state, ctx, user, "fed", pending).await
}

/// `GET /federation/link?token=…`: ask for the existing account's password.
pub async fn show_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let token = params.get("token").unwrap_or("").to_string();
    let link = find_link(&state, &ctx, &token).await?;
    Ok(link_page(&state, &ctx, &token, &link, StatusCode::OK, None))
}

/// `POST /federation/link`: the password confirms the link, then the sign-in continues.
pub async fn submit_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let (params, ctx) = read_form(&req, &state, payload).await?;
    let token = params.get("token").unwrap_or("").to_string();
    let link = find_link(&state, &ctx, &token).await?;
    let result = login::password_login(
        &state.db,
        &state.hasher,
        // The upstream provider vouched for this address: linking verifies it (not required).
        login::LoginRules {
            require_verified_email: false,
            ..login::LoginRules::of(&state.settings)
        },
        Credentials {
            email: &link.row.email,
            password: params.get("password").unwrap_or(""),
        },
        super::login::PORTAL_CLIENT_ID,
        &ctx.meta,
        None,
        ctx.now,
    )
    .await;
    let user = match result {
        Ok(user) if user.id == link.row.user_id => user,
        Ok(_) | Err(LoginError::Failed | LoginError::Unverified) => {
            let error = ctx.t.text("link-error-wrong", &[]);
            return Ok(link_page(
                &state,
                &ctx,
                &token,
                &link,
                StatusCode::BAD_REQUEST,
                Some(&error),
            ));
        }
        Err(LoginError::Throttled { .. }) => {
            let error = ctx.t.text("link-error-throttled", &[]);
            return Ok(link_page(
                &state,
                &ctx,
                &token,
                &link,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&error),
            ));
        }
        Err(LoginError::Busy) => return Err(PageError::busy()),
        Err(LoginError::Internal(e)) => return Err(PageError::internal(e)),
    };
    let (binding, meta, now, user_id) = (
        ctx.browser.binding_hash(),
        ctx.meta.clone(),
        ctx.now,
        user.id.clone(),
    );
    let hash = secret::hash_secret(&token);
    let linked = state
        .db
        .run(move |c| federation::complete_link(c, &hash, &binding, &user_id, &meta, now))
        .await?
        .ok_or_else(expired_link)?;
    let pending = load(&state, &ctx, linked.request_id.as_deref()).await?;
    complete_sign_in(&state, &ctx, user, "fed", pending).await
}

fn expired_link() -> PageError {
    PageError::bad_request(
        "This link request has expired or was already used. Please sign in again.",
    )
    .with_link("/login", "Back to sign in")
}

/// A pending link and the providers already linked to its account.
struct Linking {
    row: crate::store::federation::LinkRow,
    linked: Vec<String>,
}

async fn find_link(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    token: &str,
) -> Result<Linking, PageError> {
    let (hash, binding, now) = (
        secret::hash_secret(token),
        ctx.browser.binding_hash(),
        ctx.now,
    );
    state
        .db
        .run(move |c| {
            let Some(row) = federation::pending_link(c, &hash, &binding, now)? else {
                return Ok(None);
            };
            let linked = federation::linked_providers(c, &row.user_id)?;
            Ok::<_, anyhow::Error>(Some(Linking { row, linked }))
        })
        .await?
        .ok_or_else(expired_link)
}

fn link_page(
    state: &AppState,
    ctx: &Ctx,
    token: &str,
    link: &Linking,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    let (link, linked) = (&link.row, &link.linked);
    let providers = state.federation.current();
    let provider = providers
        .get(&link.provider)
        .map_or(link.provider.clone(), |p| p.display_name.clone());
    super::render::page(
        status,
        &LinkPage {
            t: ctx.t,
            csrf_token: ctx.browser.csrf_token(),
            token: token.to_string(),
            provider,
            email: link.email.clone(),
            error: error.map(str::to_string),
            back_href: format!("/login{}", request_query(link.request_id.as_deref())),
            confirm_with: providers
                .enabled()
                .iter()
                .filter(|p| linked.contains(&p.name))
                .map(|p| ProviderButton {
                    display_name: p.display_name.clone(),
                    href: format!("/federation/{}/start?link={token}", p.name),
                })
                .collect(),
        },
    )
}
