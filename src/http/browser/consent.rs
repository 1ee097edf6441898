//! The consent page: the application's name and each scope it asks for, Allow or Deny. The
//! decision is remembered per user, client and scope set.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::pages::{ConsentPage, DocumentNotice, ScopeView, Tr};
use super::{load_pending, read_form, read_params, send_step, signed_in, step_for, Ctx, Step};
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
        /// Each scope with its stored descriptions by language.
        scopes: Vec<(String, Described)>,
        /// For a client that registered itself: where the answer goes.
        unverified: Option<String>,
        /// The resources the token will be for.
        resources: Vec<String>,
        /// For a client a metadata document defines.
        document: Option<DocumentNotice>,
        /// The request's `ui_locales` (the page's language).
        ui_locales: Option<String>,
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
        .ok_or_else(|| {
            PageError::bad_request("The consent page needs a sign-in request.")
                .localized("error-bad-request", Some("error-consent-needs-request"))
        })?
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
                &st.roles.current(),
                now,
            )?;
            match (next, user) {
                (Next::Consent { scopes }, Some(user)) => Ok::<_, PageError>(Shown::Page {
                    scopes: described(c, scopes)?,
                    document: pending.client.is_metadata_document().then(|| {
                        document_notice(&pending.client.id, &pending.request.reply.redirect_uri)
                    }),
                    unverified: pending
                        .client
                        .dynamic
                        .then(|| redirect_target(&pending.request.reply.redirect_uri)),
                    resources: pending.request.resources,
                    ui_locales: pending.request.ui_locales,
                    request: pending.id,
                    client_name: pending.client.name,
                    user_email: user.user.email,
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
            ui_locales,
        } => {
            let t = ctx.tr_with(ui_locales.as_deref());
            super::render::page(
                StatusCode::OK,
                &ConsentPage {
                    t,
                    csrf_token: ctx.browser.csrf_token(),
                    request,
                    client_name,
                    user_email,
                    scopes: scopes
                        .iter()
                        .map(|(s, texts)| describe_stored(s, t, texts))
                        .collect(),
                    unverified,
                    resources,
                    document,
                },
            )
        }
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
    let (params, ctx) = read_form(&req, &state, payload).await?;
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
                    &st.roles.current(),
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

/// The scopes with a description of their own in the catalogs (`scope-<name>`).
const DESCRIBED: &[&str] = &[
    "openid",
    "profile",
    "email",
    "offline_access",
    "account",
    "api_keys",
    "read",
    "write",
    "delete",
    "manage_users",
    "manage_content",
    "chat",
    "save_progress",
];

/// Stored consent descriptions, by scope and language.
pub(super) type Described = std::collections::BTreeMap<String, String>;

/// `scopes` with their stored descriptions, by language.
pub(super) fn described(
    c: &mut crate::store::DbConnection,
    scopes: Vec<String>,
) -> Result<Vec<(String, Described)>, PageError> {
    let mut stored: std::collections::BTreeMap<String, Described> = Default::default();
    for row in crate::store::roles::scope_texts_for(c, &scopes)? {
        stored
            .entry(row.scope)
            .or_default()
            .insert(row.lang, row.text);
    }
    Ok(scopes
        .into_iter()
        .map(|s| {
            let texts = stored.remove(&s).unwrap_or_default();
            (s, texts)
        })
        .collect())
}

/// A scope as a person reads it, in the page's language: the description stored for it in that
/// language (`portcullis apply`'s `[scopes]`), else the catalogs' (`describe`), else the stored
/// English one, else `describe`'s generic line.
pub(super) fn describe_stored(scope: &str, t: Tr, described: &Described) -> ScopeView {
    let stored = |lang: &str| described.get(lang).cloned();
    let description = stored(t.code()).or_else(|| {
        if in_catalog(scope) {
            None
        } else {
            stored("en")
        }
    });
    match description {
        Some(description) => ScopeView {
            name: scope.to_string(),
            description,
        },
        None => describe(scope, t),
    }
}

/// A scope as a person reads it, in the page's language (also on the device page): its own
/// description (ours, or the theme catalog's `scope-<name>` for the operator's own scopes),
/// `resource:action` as the action on the resource, else a generic line.
fn describe(scope: &str, t: Tr) -> ScopeView {
    let description = if in_catalog(scope) {
        t.text(&format!("scope-{scope}"), &[])
    } else {
        match scope.split_once(':') {
            Some((resource, action)) => t.text(
                "scope-on-resource",
                &[("action", &action_name(action, t)), ("resource", resource)],
            ),
            None => t.text("scope-other", &[("scope", scope)]),
        }
    };
    ScopeView {
        name: scope.to_string(),
        description,
    }
}

/// Whether a catalog describes `scope`: ours, or the theme's (`scope-<name>`).
fn in_catalog(scope: &str) -> bool {
    let id = format!("scope-{scope}");
    DESCRIBED.contains(&scope) || crate::ui::with(|ui| ui.messages().is_some_and(|m| m.has(&id)))
}

/// `read` → "Read", `write` → "Change" (in the page's language), others as written,
/// capitalized.
fn action_name(action: &str, t: Tr) -> String {
    match action {
        "read" | "write" | "delete" | "admin" => t.text(&format!("scope-action-{action}"), &[]),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}
