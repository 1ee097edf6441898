//! What every page handler starts with: the request's context (`Ctx`: cookies, browser
//! binding, language, time) and its parameters, a form post's CSRF token and origin checked.
use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest};

use super::cookies::{Browser, CookieNames};
use super::pages;
use crate::http::error::PageError;
use crate::http::form;
use crate::http::meta::request_meta;
use crate::i18n;
use crate::identity::RequestMeta;
use crate::oauth::pending::Pending;
use crate::oauth::Params;
use crate::state::AppState;

/// What every page handler starts with.
pub struct Ctx {
    pub names: CookieNames,
    pub browser: Browser,
    pub session_cookie: Option<String>,
    pub meta: RequestMeta,
    pub now: i64,
    /// Where to go after signing in (`account::next_path`: only an account page), when the
    /// page was asked with `next`; set by the login page.
    pub next: Option<String>,
    /// The pages' language: `Accept-Language`'s, or the pending request's `ui_locales`
    /// (`tr_for`).
    pub t: pages::Tr,
    /// Whether the request came from one of our own pages (see `same_origin`).
    from_our_pages: bool,
    accept_language: Option<String>,
}

impl Ctx {
    pub fn new(req: &HttpRequest, state: &AppState) -> Result<Ctx, PageError> {
        let names = CookieNames::for_issuer(&state.settings.issuer);
        let accept_language = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Ctx {
            t: pages::Tr::new(i18n::negotiate(None, accept_language.as_deref())),
            accept_language,
            browser: Browser::from_request(req, names, &state.csrf_key)?,
            session_cookie: names.read_session(req),
            names,
            meta: request_meta(req, state),
            now: state.clock.now(),
            next: None,
            from_our_pages: same_origin(req, &state.settings.issuer),
        })
    }

    /// The language of a page for a pending authorization request: its `ui_locales` first.
    pub fn tr_for(&self, pending: Option<&Pending>) -> pages::Tr {
        self.tr_with(pending.and_then(|p| p.request.ui_locales.as_deref()))
    }

    /// The language of a page asked for with these `ui_locales` (first), if any.
    pub fn tr_with(&self, ui_locales: Option<&str>) -> pages::Tr {
        match ui_locales {
            Some(ui_locales) => pages::Tr::new(i18n::negotiate(
                Some(ui_locales),
                self.accept_language.as_deref(),
            )),
            None => self.t,
        }
    }

    /// A form post is ours when it carries this browser's CSRF token and comes from our origin.
    pub fn check_csrf(&self, presented: Option<&str>) -> bool {
        self.from_our_pages && self.browser.check_csrf(presented)
    }
}

/// Whether a request was sent by a page of the issuer's origin: its `Origin` (every current
/// browser sends one on a cross-origin POST, `null` when hidden), else its `Referer`; a request
/// with neither (not a browser's cross-origin form) passes. This stops login CSRF by a page on
/// another port of the same host, which can plant our cookies (cookies ignore ports).
pub fn same_origin(req: &HttpRequest, issuer: &str) -> bool {
    let ours = match url::Url::parse(issuer) {
        Ok(u) => u.origin(),
        Err(_) => return false,
    };
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let from = match (header("origin"), header("referer")) {
        (Some(origin), _) => origin,
        (None, Some(referer)) => referer,
        (None, None) => return true,
    };
    let ok = url::Url::parse(from).is_ok_and(|u| u.origin() == ours);
    if !ok {
        tracing::debug!(from = %from.chars().take(200).collect::<String>(), "form post from another origin");
    }
    ok
}

/// A form post from one of our pages: its parameters and the request's context, its CSRF
/// token checked (a 403 page otherwise).
pub async fn read_form(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<(Params, Ctx), PageError> {
    let params = read_params(req, payload).await?;
    let ctx = Ctx::new(req, state)?;
    if !ctx.check_csrf(params.get("csrf_token")) {
        return Err(PageError::csrf());
    }
    Ok((params, ctx))
}

/// A page's parameters: the query string (GET) or the form body (POST), each at most once.
pub async fn read_params(req: &HttpRequest, payload: web::Payload) -> Result<Params, PageError> {
    read_params_repeating(req, payload, &[]).await
}

/// A page's parameters, those named in `repeatable` possibly more than once.
pub async fn read_params_repeating(
    req: &HttpRequest,
    payload: web::Payload,
    repeatable: &[&str],
) -> Result<Params, PageError> {
    if req.method() == Method::POST {
        Ok(form::read_params(req, payload, repeatable).await?)
    } else {
        Ok(Params::parse_form(
            req.query_string().as_bytes(),
            repeatable,
        )?)
    }
}
