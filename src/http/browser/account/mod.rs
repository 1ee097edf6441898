//! `/account`: the signed-in user's own account page, the hub of the account sub-pages
//! (`/account/mfa`, `/account/passkeys`). One GET renders every section (`view`); each section's
//! forms post to a handler module of their own and answer with a redirect back to the page and
//! a notice (POST-redirect-GET), or the page again with the error (4xx). Every form carries the
//! CSRF token; a browser that is not signed in is sent to `/login?next=<path>`.
mod api_keys;
mod email;
mod password;
mod profile;
mod providers;
mod sessions;
mod view;

pub use self::view::when;

use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use super::{read_form, see_other, signed_in, Ctx};
use crate::http::error::PageError;
use crate::identity::browser::SignedIn;
use crate::oauth::Params;
use crate::state::AppState;

/// The account page itself.
pub const PATH: &str = "/account";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(view::show))
        .route("/account/name", web::post().to(profile::submit))
        .route("/account/email", web::post().to(email::change))
        .route("/account/email/resend", web::post().to(email::resend))
        .route("/account/password", web::post().to(password::submit))
        .route("/account/sessions/end", web::post().to(sessions::end_one))
        .route(
            "/account/sessions/end-others",
            web::post().to(sessions::end_others),
        )
        .route(
            "/account/identities/unlink",
            web::post().to(providers::unlink),
        )
        .route("/account/keys", web::post().to(api_keys::create))
        .route("/account/keys/revoke", web::post().to(api_keys::revoke));
}

/// The signed-in user of this browser, or the answer that sends the browser to sign in first
/// and come back to `path` (303 to `/login?next=<path>`). The one rule every account page uses.
pub async fn require_signed_in(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    path: &str,
) -> Result<SignedIn, HttpResponse> {
    let (cookie, now, st) = (ctx.session_cookie.clone(), ctx.now, state.clone());
    let found = state
        .db
        .run(move |c| signed_in(c, &st, cookie.as_deref(), now).map_err(PageError::from))
        .await;
    match found {
        Ok(Some(me)) => Ok(me),
        Ok(None) => {
            let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
            let mut resp = see_other(&format!("/login?next={next}"));
            ctx.browser.set_cookie(&mut resp);
            Err(resp)
        }
        Err(e) => Err(e.error_response()),
    }
}

/// Where to go after signing in, from a `next` parameter: only a local path of the account
/// pages (`/account`, `/account/…`, `/account?…`), the admin console (`/admin`, `/admin/…`)
/// or the device page (`/device?user_code=…`, `oauth::device`); anything else (another site, `//host`,
/// backslashes, dot segments, control characters) is ignored, so `next` is no open redirect.
pub fn next_path(raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    let rest = raw
        .strip_prefix(PATH)
        .or_else(|| raw.strip_prefix(super::admin::PATH))
        .or_else(|| raw.strip_prefix(crate::oauth::device::VERIFICATION_PATH))?;
    let boundary = rest.is_empty() || rest.starts_with('/') || rest.starts_with('?');
    let plain = raw.len() <= 512
        && raw.bytes().all(|b| b.is_ascii_graphic())
        && !raw.contains("//")
        && !raw.contains('\\')
        && !raw.contains("/.")
        && !raw.contains('#');
    (boundary && plain).then(|| raw.to_string())
}

/// A form post to an account page: CSRF-checked (403 page), from a signed-in browser (or the
/// redirect to sign in).
pub(super) struct Post {
    pub params: Params,
    pub ctx: Ctx,
    pub me: SignedIn,
}

pub(super) enum Posted {
    Ok(Box<Post>),
    /// Not signed in: the redirect to the login page.
    SignIn(HttpResponse),
}

pub(super) async fn read_post(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    payload: web::Payload,
) -> Result<Posted, PageError> {
    let (params, ctx) = read_form(req, state, payload).await?;
    Ok(match require_signed_in(state, &ctx, PATH).await {
        Ok(me) => Posted::Ok(Box::new(Post { params, ctx, me })),
        Err(resp) => Posted::SignIn(resp),
    })
}

/// Back to the account page with a notice (`done`, one of `view::NOTICES`), at a section.
pub(super) fn done(notice: &str, section: &str) -> HttpResponse {
    see_other(&format!("{PATH}?done={notice}#{section}"))
}

/// A sensitive action (the password, API keys) needs a recent sign-in, with the second factor
/// when the user has one (`identity::mfa::check_recent`, the account API's rule too). `Some`:
/// the error to show in `section`, with a "Sign in again" link.
pub(super) async fn stale_sign_in(
    state: &web::Data<AppState>,
    me: &SignedIn,
    section: &'static str,
    now: i64,
) -> Result<Option<view::Flash>, PageError> {
    let user_id = me.user.id.clone();
    let factors = state
        .db
        .run(move |c| crate::identity::mfa::factors(c, &user_id).map_err(PageError::from))
        .await?;
    Ok(
        match crate::identity::mfa::check_recent(&me.session, &factors, now) {
            Ok(()) => None,
            Err(reauth) => Some(view::Flash {
                reauth: true,
                ..view::Flash::error(section, reauth.explain())
            }),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::next_path;

    #[test]
    fn next_is_only_a_local_account_or_device_path() {
        for ok in [
            "/account",
            "/account/mfa",
            "/account/passkeys",
            "/account?x=1",
            "/device",
            "/device?user_code=BCDF-GHJK",
            "/admin",
            "/admin/users/abc",
            "/admin/audit?kind=login&page=2",
        ] {
            assert_eq!(next_path(Some(ok)).as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/account",
            "//evil.example/account",
            "/accountant",
            "/devices",
            "/device_authorization",
            "/account//evil.example",
            "/account/../admin",
            "/administrator",
            "/admin/../account",
            "//evil.example/admin",
            "/account\\evil",
            "/account/\u{0}",
            "/account#x",
            "account",
            "/login",
            "",
        ] {
            assert_eq!(next_path(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(next_path(None), None);
    }
}
