//! The consent page: the application's name and each scope it asks for, Allow or Deny. The
//! decision is remembered per user, client and scope set.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::pages::{self, ConsentPage, DocumentNotice, ScopeView};
use super::{load_pending, read_params, send_step, signed_in, step_for, Ctx, Step};
use crate::http::error::PageError;
use crate::identity::audit::{self, Event};
use crate::oauth::authorize::{self, Next, Reply};
use crate::oauth::{pending, ErrorCode};
use crate::state::AppState;
use crate::store::write_transaction;

/// What the consent page (GET) leads to.
enum Shown {
    Page {
        request: String,
        client_name: String,
        user_email: String,
        scopes: Vec<String>,
        /// For a client that registered itself: where the answer goes.
        unverified: Option<String>,
        /// The resources the token will be for.
        resources: Vec<String>,
        /// For a client a metadata document defines.
        document: Option<DocumentNotice>,
    },
    Step(Step),
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    let id = params
        .get("request")
        .ok_or_else(|| PageError::bad_request("The consent page needs a sign-in request."))?
        .to_string();
    let (browser, cookie, now, st) = (
        ctx.browser.clone(),
        ctx.session_cookie.clone(),
        ctx.now,
        state.clone(),
    );
    let shown = state
        .db
        .run(move |c| {
            let pending = load_pending(c, &id, &browser, now)?;
            let user = signed_in(c, &st, cookie.as_deref(), now)?;
            let next = authorize::next_step(
                c,
                &pending.request,
                &pending.client,
                user.as_ref(),
                &st.roles,
                now,
            )?;
            match (next, user) {
                (Next::Consent { scopes }, Some(user)) => Ok::<_, PageError>(Shown::Page {
                    document: pending.client.is_metadata_document().then(|| {
                        document_notice(&pending.client.id, &pending.request.reply.redirect_uri)
                    }),
                    unverified: pending
                        .client
                        .dynamic
                        .then(|| redirect_target(&pending.request.reply.redirect_uri)),
                    resources: pending.request.resources,
                    request: pending.id,
                    client_name: pending.client.name,
                    user_email: user.user.email,
                    scopes,
                }),
                (next, _) => Ok(Shown::Step(step_for(c, &pending, next, now)?)),
            }
        })
        .await?;
    let mut resp = match shown {
        Shown::Page {
            request,
            client_name,
            user_email,
            scopes,
            unverified,
            resources,
            document,
        } => pages::render(
            StatusCode::OK,
            &ConsentPage {
                csrf_token: ctx.browser.csrf_token(),
                request,
                client_name,
                user_email,
                scopes: scopes.iter().map(|s| describe(s)).collect(),
                unverified,
                resources,
                document,
            },
        ),
        Shown::Step(step) => send_step(&step, &state.settings.issuer)?,
    };
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = read_params(&req, payload).await?;
    let ctx = Ctx::new(&req, &state)?;
    if !ctx.check_csrf(params.get("csrf_token")) {
        return Err(PageError::csrf());
    }
    let allow = match params.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return Err(PageError::bad_request("Choose Allow or Deny.")),
    };
    let id = params
        .get("request")
        .ok_or_else(|| PageError::bad_request("The consent form needs a sign-in request."))?
        .to_string();
    let (browser, cookie, now, meta, st) = (
        ctx.browser.clone(),
        ctx.session_cookie.clone(),
        ctx.now,
        ctx.meta.clone(),
        state.clone(),
    );
    // One transaction: the request is finished, consent remembered and the code issued
    // together, or not at all (an error leaves the request answerable).
    let step = state
        .db
        .run(move |c| {
            write_transaction(c, |c| {
                let pending = load_pending(c, &id, &browser, now)?;
                let Some(user) = signed_in(c, &st, cookie.as_deref(), now)? else {
                    return Ok::<_, PageError>(Step::Page(format!("/login?request={id}")));
                };
                // The sign-in must still satisfy the request (prompt=login, max_age).
                let next = authorize::next_step(
                    c,
                    &pending.request,
                    &pending.client,
                    Some(&user),
                    &st.roles,
                    now,
                )?;
                let scopes = match next {
                    Next::Consent { scopes } => scopes,
                    other => return step_for(c, &pending, other, now),
                };
                if !pending::finish(c, &pending.id)? {
                    return Err(super::already_completed());
                }
                let reply = if allow {
                    authorize::consent_granted(c, &pending.request, &user, &scopes, &meta, now)?
                } else {
                    audit::record(
                        c,
                        Event {
                            kind: audit::CONSENT_DENIED,
                            success: false,
                            user_id: Some(&user.user.id),
                            client_id: Some(&pending.client.id),
                            meta: Some(&meta),
                            detail: Some(json!({ "scope": scopes.join(" ") })),
                        },
                        now,
                    )?;
                    Reply::error(
                        pending.request.reply.clone(),
                        ErrorCode::AccessDenied,
                        "the user denied the request",
                    )
                };
                Ok(Step::Reply(Box::new(reply)))
            })
        })
        .await?;
    send_step(&step, &state.settings.issuer)
}

/// Where a redirect URI sends the user, as a person reads it: the host (and a port other than
/// the scheme's), or a native app's private-use scheme.
fn redirect_target(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => format!("the app {}", url.scheme()),
        },
        Err(_) => uri.to_string(),
    }
}

/// What the consent page says about a client whose id is its metadata document's URL.
fn document_notice(client_id: &str, redirect_uri: &str) -> DocumentNotice {
    let parsed = url::Url::parse(redirect_uri).ok();
    DocumentNotice {
        document_host: url::Url::parse(client_id)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| client_id.to_string()),
        redirect: redirect_target(redirect_uri),
        loopback: parsed.is_some_and(|u| crate::oauth::registration::is_loopback_host(u.host())),
    }
}

/// A scope as a person reads it (also on the device page).
pub(super) fn describe(scope: &str) -> ScopeView {
    let description = match scope {
        "openid" => "Sign you in and know who you are".to_string(),
        "profile" => "See your name".to_string(),
        "email" => "See your email address and whether it is verified".to_string(),
        "offline_access" => "Stay connected to your account while you are away".to_string(),
        "account" => "Manage your account: sessions, password and API keys".to_string(),
        "api_keys" => "Create API keys that act for you".to_string(),
        "read" => "Read data on your behalf".to_string(),
        "write" => "Create and change data on your behalf".to_string(),
        "delete" => "Delete data on your behalf".to_string(),
        "manage_users" => "Manage users".to_string(),
        "manage_content" => "Manage content".to_string(),
        "chat" => "Chat on your behalf".to_string(),
        "save_progress" => "Save your progress".to_string(),
        other => match other.split_once(':') {
            Some((resource, action)) => format!("{} {}", capitalize_action(action), resource),
            None => format!("Use the “{other}” permission"),
        },
    };
    ScopeView {
        name: scope.to_string(),
        description,
    }
}

/// `read` → "Read", `write` → "Change", others as written.
fn capitalize_action(action: &str) -> String {
    match action {
        "read" => "Read".into(),
        "write" => "Change".into(),
        "delete" => "Delete".into(),
        "admin" => "Administer".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}
