//! `/authorize` (GET and POST): validate, then sign-in page, consent page, or straight back to
//! the client when the browser is signed in and consent is on record.
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::{deliver, read_params_repeating, see_other, signed_in, Ctx};
use crate::http::error::PageError;
use crate::http::request_object;
use crate::identity::mfa::challenge::{self, Holder, NewChallenge};
use crate::oauth::authorize::{self, AuthorizeError, Next, Reply};
use crate::oauth::{par, pending, ClientStore, ErrorCode, Params};
use crate::oidc::logout;
use crate::state::AppState;
use crate::store::DbConnection;

enum Outcome {
    /// The request waits (stored) for the login or consent page at this path.
    Page(String),
    Reply(Box<Reply>),
}

pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    // Until the client and redirect URI are validated, nothing may redirect.
    let params = read_params_repeating(&req, payload, authorize::REPEATABLE).await?;
    let ctx = Ctx::new(&req, &state)?;
    if req.method() == Method::POST && ctx.browser.is_new() && ctx.session_cookie.is_none() {
        // A cross-site form POST carries no SameSite=Lax cookies: ask the browser to repeat
        // it as a top-level GET, which does, rather than treat it as signed out.
        return Ok(see_other(&format!("/authorize?{}", params.to_query())));
    }
    if let Some(client_id) = params.get("client_id") {
        // A URL client_id: its document, fetched now unless a fresh copy is stored.
        state
            .metadata_documents
            .ensure(
                &state.db,
                &state.settings,
                client_id,
                ctx.meta.ip.as_deref(),
                ctx.now,
            )
            .await?;
    }
    // RFC 9101 §6.3: a signed request object is the request (outer parameters but client_id
    // ignored); one that can't be used is a page, as its redirect URI can't be trusted.
    let client_id = params.get("client_id").map(str::to_string);
    let params = match request_object::resolve(&state, &params, client_id.as_deref()).await {
        Ok(Some(inner)) => inner,
        Ok(None) => params,
        Err(refused) => return Err(refused.page()),
    };
    let keys = state.keys.current();
    let (now, binding, cookie) = (
        ctx.now,
        ctx.browser.binding_hash(),
        ctx.session_cookie.clone(),
    );
    let st = state.clone();
    let outcome = state
        .db
        .run(move |c| {
            // RFC 9126 §4: with a request_uri, the pushed parameters are the request; the
            // others (but client_id, which must match) are ignored.
            let pushed = params.get("request_uri").is_some();
            let params = pushed_or(c, params, now)?;
            let (client, mut request) =
                authorize::validate(&params, &st.settings.clients.resources, |id| {
                    c.find_client(id)
                })?;
            if !pushed
                && par::required(
                    st.settings.clients.require_pushed_authorization_requests,
                    &client,
                )
            {
                return Err(par::not_pushed());
            }
            if let Some(hint) = params.get("id_token_hint") {
                let Some((hint, _)) = logout::read_hint(&keys, &st.settings.issuer, hint) else {
                    return Err(AuthorizeError::Redirect(Box::new(Reply::error(
                        request.reply.clone(),
                        ErrorCode::InvalidRequest,
                        "id_token_hint is not an ID token issued by this server",
                    ))));
                };
                request.hint_subject = Some(hint.sub);
            }
            let user = signed_in(c, &st, cookie.as_deref(), now)?;
            let next = authorize::next_step(
                c,
                &request,
                &client,
                user.as_ref(),
                &st.roles.current(),
                now,
            )?;
            if let Next::Reply(reply) = next {
                return Ok(Outcome::Reply(reply));
            }
            let id = pending::create(c, &request, &binding, now)?;
            let page = match next {
                Next::SecondFactor {
                    user_id,
                    amr,
                    enrol,
                } => {
                    let handle = challenge::start(
                        c,
                        NewChallenge {
                            user_id: &user_id,
                            first_amr: &amr,
                            request_id: Some(&id),
                            enrol,
                            holder: Holder::Browser(&binding),
                        },
                        now,
                    )?;
                    super::mfa::page_path(&handle)
                }
                Next::Consent { .. } => format!("/consent?request={id}"),
                Next::Login | Next::Reply(_) => format!("/login?request={id}"),
            };
            Ok::<_, AuthorizeError>(Outcome::Page(page))
        })
        .await;
    let mut resp = match outcome {
        Ok(Outcome::Page(path)) => {
            let mut r = see_other(&path);
            *r.status_mut() = StatusCode::FOUND;
            r
        }
        Ok(Outcome::Reply(reply)) => deliver(&reply, &state.settings.issuer, StatusCode::FOUND)?,
        Err(AuthorizeError::Redirect(reply)) => {
            deliver(&reply, &state.settings.issuer, StatusCode::FOUND)?
        }
        Err(other) => return Err(other.into()),
    };
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

/// The request's parameters: those pushed when it names one of our `request_uri`s (consumed
/// now), else its own (another `request_uri` is then `request_uri_not_supported`, redirected
/// once the client and redirect URI check out: OIDC Core §6.2, RFC 9126 §4).
fn pushed_or(c: &mut DbConnection, params: Params, now: i64) -> Result<Params, AuthorizeError> {
    let Some(uri) = params
        .get("request_uri")
        .filter(|u| u.starts_with(par::URN_PREFIX))
    else {
        return Ok(params);
    };
    let client_id = params
        .get("client_id")
        .ok_or_else(|| AuthorizeError::Page("The request has no client_id.".to_string()))?;
    par::take(c, client_id, uri, now)
}
