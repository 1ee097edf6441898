//! The HTML pages (askama templates in `templates/`) and how they are sent: every page is
//! `no-store` (they carry CSRF tokens and personal data); the security headers common to all
//! responses are set in `startup.rs`.
use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use askama::Template;
use serde::Serialize;

use super::render::themable;

pub use crate::i18n::Tr;

/// A button for an upstream identity provider on the login page.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderButton {
    pub display_name: String,
    pub href: String,
}

#[derive(Template, Serialize, Default)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub csrf_token: String,
    /// The pending authorization request (hidden field `request`), if any.
    pub request: Option<String>,
    /// Where to go after signing in (hidden field `next`: an account page), if any.
    pub next: Option<String>,
    /// The application the user is signing in to, if any.
    pub client_name: Option<String>,
    /// Prefilled email (`login_hint`, or what was typed).
    pub username: String,
    /// Shown next to the form.
    pub error: Option<String>,
    /// Link to the registration page, when registration is enabled.
    pub register_href: Option<String>,
    /// "Forgot password?", when mail can be sent.
    pub forgot_href: Option<String>,
    /// "Send a new link", after a sign-in refused for an unverified address.
    pub resend_href: Option<String>,
    pub providers: Vec<ProviderButton>,
    /// "Sign in with a passkey" (when the issuer can be a WebAuthn relying party).
    pub passkeys: bool,
}

/// Confirming an existing account's password to link an upstream identity to it.
#[derive(Template, Serialize, Default)]
#[template(path = "link.html")]
pub struct LinkPage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub csrf_token: String,
    pub token: String,
    pub provider: String,
    pub email: String,
    pub error: Option<String>,
    pub back_href: String,
    /// Providers already linked to the account, which can confirm instead of the password.
    pub confirm_with: Vec<ProviderButton>,
}

/// One rule of the password policy, and how the last attempt fared against it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub text: String,
    pub broken: bool,
    /// The last attempted password was checked and met this rule.
    pub met: bool,
}

#[derive(Template, Serialize, Default)]
#[template(path = "register.html")]
pub struct RegisterPage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub csrf_token: String,
    pub request: Option<String>,
    pub client_name: Option<String>,
    pub email: String,
    pub name: String,
    pub rules: Vec<RuleView>,
    pub error: Option<String>,
    pub login_href: String,
}

/// The policy's rules as shown under a new-password field, in `t`'s language, marking those
/// `broken` (and, when some are, the others as met).
pub fn rule_views(
    policy: &crate::config::PasswordSettings,
    broken: &[crate::identity::password::Violation],
    t: Tr,
) -> Vec<RuleView> {
    let text = |v: &crate::identity::password::Violation| rule_text(policy, v, t);
    let mut rules: Vec<RuleView> = crate::identity::password::policy_rules(policy)
        .into_iter()
        .map(|r| {
            let is_broken = broken.iter().any(|b| b.rule == r.rule);
            RuleView {
                broken: is_broken,
                // Rules are only known to be met when the password was checked and failed others.
                met: !is_broken && !broken.is_empty(),
                text: text(&r),
            }
        })
        .collect();
    for b in broken {
        if !rules.iter().any(|r| r.text == text(b)) {
            rules.push(RuleView {
                text: text(b),
                broken: true,
                met: false,
            });
        }
    }
    rules
}

/// The rules the catalogs describe (`password-rule-<rule>`).
const RULES: &[&str] = &[
    "min_length",
    "max_length",
    "uppercase",
    "lowercase",
    "digit",
    "not_email",
    "no_control_characters",
];

/// A rule as a person reads it: from the catalogs, else the policy's own words.
fn rule_text(
    policy: &crate::config::PasswordSettings,
    rule: &crate::identity::password::Violation,
    t: Tr,
) -> String {
    if !RULES.contains(&rule.rule) {
        return capitalized(&rule.message);
    }
    let (min, max) = (policy.min_length.to_string(), policy.max_length.to_string());
    t.text(
        &format!("password-rule-{}", rule.rule),
        &[("min", &min), ("max", &max)],
    )
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Asking for a link by address: "forgot password", "send a new verification link".
#[derive(Template, Serialize, Default)]
#[template(path = "email_request.html")]
pub struct EmailRequestPage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub title: String,
    pub intro: String,
    /// Where the form posts, its id and its button.
    pub action: &'static str,
    pub form_id: &'static str,
    pub button: String,
    pub csrf_token: String,
    pub request: Option<String>,
    pub email: String,
    pub error: Option<String>,
    pub login_href: String,
}

/// A new password, from a reset link.
#[derive(Template, Serialize, Default)]
#[template(path = "reset.html")]
pub struct ResetPage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub csrf_token: String,
    pub token: String,
    pub email: String,
    pub rules: Vec<RuleView>,
    pub error: Option<String>,
}

/// What happened, and a way on ("check your email", "password changed", "email confirmed").
#[derive(Template, Serialize, Default)]
#[template(path = "notice.html")]
pub struct NoticePage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub title: String,
    pub message: String,
    pub link: Option<(String, String)>,
}

/// A scope on the consent page.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
}

#[derive(Template, Serialize, Default)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub csrf_token: String,
    pub request: String,
    pub client_name: String,
    pub user_email: String,
    pub scopes: Vec<ScopeView>,
    /// The client registered itself (RFC 7591): where the answer goes (its redirect host).
    pub unverified: Option<String>,
    /// RFC 8707: the resources the access token will be for (empty: none named).
    pub resources: Vec<String>,
    /// The client is a metadata document's (its id is a URL): what the user must see.
    pub document: Option<DocumentNotice>,
}

/// The consent page's notice for a client a metadata document defines.
#[derive(Serialize)]
pub struct DocumentNotice {
    /// The host the document came from (the client's only identity).
    pub document_host: String,
    /// Where the answer goes, as a person reads it.
    pub redirect: String,
    /// The answer goes to this computer (a loopback redirect): any program on it may take it.
    pub loopback: bool,
}

#[derive(Template, Serialize, Default)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub title: String,
    pub message: String,
    /// Where the user can go from here (href, label).
    pub link: Option<(String, String)>,
}

/// "Sign out?" — an RP-initiated logout that is not provably from the client.
#[derive(Template, Serialize, Default)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub csrf_token: String,
    pub user_email: String,
    pub client_name: Option<String>,
    /// The logout request's parameters, carried through the confirmation form.
    pub hidden: Vec<(String, String)>,
}

/// A short message: signed out, signed in, and the like.
#[derive(Template, Serialize, Default)]
#[template(path = "message.html")]
pub struct MessagePage {
    /// The page's language (`templates/translated.html`).
    #[serde(skip)]
    pub t: Tr,
    pub title: String,
    pub message: String,
    /// A sign-out button (with this CSRF token) for a signed-in user.
    pub sign_out_csrf: Option<String>,
}

/// response_mode=form_post: a form that `static/form_post.js` submits on load (no inline
/// script), with a button for browsers without JavaScript.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

themable!(LoginPage => "login.html", t);
themable!(LinkPage => "link.html", t);
themable!(RegisterPage => "register.html", t);
themable!(EmailRequestPage => "email_request.html", t);
themable!(ResetPage => "reset.html", t);
themable!(NoticePage => "notice.html", t);
themable!(ConsentPage => "consent.html", t);
themable!(ErrorPage => "error.html", t);
themable!(LogoutPage => "logout.html", t);
themable!(MessagePage => "message.html", t);

/// The pages need nothing but their own stylesheet and the form_post script: no inline script
/// or style, no framing, no referrer leaks. (Only pages carry these; JSON answers need none.)
/// `connect-src 'self'`: `static/passkey.js` fetches a passkey challenge from our own origin.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

/// Sends a page with `status`, uncacheable, with the pages' security headers.
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => send(status, html),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            HttpResponse::InternalServerError()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body("internal error")
        }
    }
}

/// Sends a rendered page with `status`, uncacheable, with the pages' security headers.
pub fn send(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // `same-origin`, not `no-referrer`: no Referer leaves for other sites either way, but under
        // `no-referrer` browsers send `Origin: null` on our own form posts, and the CSRF check
        // (`http::browser::same_origin`) needs the real one.
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(html)
}
