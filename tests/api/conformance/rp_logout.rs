//! RP-Initiated Logout plan: after a sign-in, the browser goes to the end-session endpoint with
//! each module's parameters; then `prompt=none` must answer `login_required` (signed out) —
//! except where the request is refused, which changes nothing.
use super::{basic_op::discovery, Op};
use crate::helpers::Backend;
use crate::web::{self, param, POST_LOGOUT_URI};

crate::both_backends!(
    oidcc_rp_initiated_logout_discovery_endpoint_verification,
    oidcc_rp_initiated_logout,
    oidcc_rp_initiated_logout_bad_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_modified_id_token_hint,
    oidcc_rp_initiated_logout_no_id_token_hint,
    oidcc_rp_initiated_logout_no_params,
    oidcc_rp_initiated_logout_no_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_no_state,
    oidcc_rp_initiated_logout_only_state,
);

/// The suite's logout state is 128 characters, to catch an OP that truncates it.
fn long_state() -> String {
    "abcdefghijklmnopqrstuvwxyz0123456789-_".repeat(4)[..128].to_string()
}

/// Signs in; returns the id_token.
async fn signed_in(op: &Op) -> String {
    let (_, tokens) = op.code_flow(&[]).await;
    tokens["id_token"].as_str().unwrap().to_string()
}

/// How the end-session endpoint answered, once the user confirmed where it asked.
enum Ended {
    /// Sent back to this URL.
    Redirect(String),
    /// A page with this status and text.
    Page(u16, String),
}

async fn end_session(op: &Op, params: &[(&str, &str)]) -> Ended {
    let url = reqwest::Url::parse_with_params(&op.app.url("/logout"), params).unwrap();
    let mut resp = op.browser.get(url).send().await.unwrap();
    let mut redirect_status = 302;
    if resp.status() == 200 {
        let html = resp.text().await.unwrap();
        if web::form_fields_opt(&html, "#logout-form").is_none() {
            return Ended::Page(200, html);
        }
        let form = web::fill(
            web::form_fields(&html, "#logout-form"),
            &[("confirm", "yes")],
        );
        resp = web::post_form(&op.browser, &op.app.url("/logout"), &form).await;
        redirect_status = 303;
    }
    let status = resp.status().as_u16();
    if resp.headers().get("location").is_some() {
        assert_eq!(status, redirect_status);
        Ended::Redirect(web::location(&op.app, &resp))
    } else {
        Ended::Page(status, resp.text().await.unwrap())
    }
}

/// Whether the browser still has a session: `prompt=none` gives a code, or `login_required`.
async fn still_signed_in(op: &Op) -> bool {
    let (_, challenge) = web::pkce();
    let (_, loc) = op
        .authorize_once(&op.request(&challenge, &[("prompt", Some("none"))]))
        .await;
    let loc = loc.expect("prompt=none redirects");
    match param(&loc, "error") {
        None => param(&loc, "code").is_some(),
        Some(e) => {
            assert_eq!(e, "login_required", "{loc}");
            false
        }
    }
}

fn signed_out_page(ended: Ended) {
    match ended {
        Ended::Page(status, html) => {
            assert_eq!(status, 200);
            assert!(html.contains("signed out"), "{html}");
        }
        Ended::Redirect(to) => panic!("no redirect was asked for, yet: {to}"),
    }
}

fn error_page(ended: Ended) {
    match ended {
        Ended::Page(status, _) => assert_eq!(status, 400),
        Ended::Redirect(to) => panic!("refused requests never redirect: {to}"),
    }
}

async fn oidcc_rp_initiated_logout_discovery_endpoint_verification(backend: Backend) {
    let op = Op::start(backend).await;
    let disco = discovery(&op).await;
    assert_eq!(disco["end_session_endpoint"], op.app.url("/logout"));
}

/// Hint, registered post-logout URI and a 128-character state: back to the RP with the state
/// intact, signed out.
async fn oidcc_rp_initiated_logout(backend: Backend) {
    let op = Op::start(backend).await;
    let hint = signed_in(&op).await;
    let state = long_state();
    let ended = end_session(
        &op,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", &state),
        ],
    )
    .await;
    let Ended::Redirect(to) = ended else {
        panic!("expected a redirect")
    };
    assert!(to.starts_with(POST_LOGOUT_URI), "{to}");
    assert_eq!(param(&to, "state"), Some(state));
    assert!(!still_signed_in(&op).await);
}

/// An unregistered post-logout URI: an error page, no redirect, still signed in.
async fn oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(backend: Backend) {
    let op = Op::start(backend).await;
    let hint = signed_in(&op).await;
    let ended = end_session(
        &op,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", "https://attacker.example.com/"),
            ("state", "s"),
        ],
    )
    .await;
    error_page(ended);
    assert!(still_signed_in(&op).await);
}

/// A hint whose signature was tampered with: an error page, no redirect, still signed in.
async fn oidcc_rp_initiated_logout_modified_id_token_hint(backend: Backend) {
    let op = Op::start(backend).await;
    let hint = signed_in(&op).await;
    let (rest, sig) = hint.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let modified = format!("{rest}.{flipped}{}", &sig[1..]);
    let ended = end_session(
        &op,
        &[
            ("id_token_hint", &modified),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "s"),
        ],
    )
    .await;
    error_page(ended);
    assert!(still_signed_in(&op).await);
}

/// No hint (the client named by `client_id`): the user confirms, then goes back with state.
async fn oidcc_rp_initiated_logout_no_id_token_hint(backend: Backend) {
    let op = Op::start(backend).await;
    signed_in(&op).await;
    let ended = end_session(
        &op,
        &[
            ("client_id", &op.client.id),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "s2"),
        ],
    )
    .await;
    let Ended::Redirect(to) = ended else {
        panic!("expected a redirect")
    };
    assert_eq!(to, format!("{POST_LOGOUT_URI}?state=s2"));
    assert!(!still_signed_in(&op).await);
}

/// No parameters: signed out, a "signed out" page, never the registered post-logout URI.
async fn oidcc_rp_initiated_logout_no_params(backend: Backend) {
    let op = Op::start(backend).await;
    signed_in(&op).await;
    signed_out_page(end_session(&op, &[]).await);
    assert!(!still_signed_in(&op).await);
}

/// A hint but no post-logout URI: signed out, a page, no redirect.
async fn oidcc_rp_initiated_logout_no_post_logout_redirect_uri(backend: Backend) {
    let op = Op::start(backend).await;
    let hint = signed_in(&op).await;
    signed_out_page(end_session(&op, &[("id_token_hint", &hint)]).await);
    assert!(!still_signed_in(&op).await);
}

/// No state: back to the post-logout URI exactly as registered, no `state` added.
async fn oidcc_rp_initiated_logout_no_state(backend: Backend) {
    let op = Op::start(backend).await;
    let hint = signed_in(&op).await;
    let ended = end_session(
        &op,
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ],
    )
    .await;
    let Ended::Redirect(to) = ended else {
        panic!("expected a redirect")
    };
    assert_eq!(to, POST_LOGOUT_URI);
    assert!(!still_signed_in(&op).await);
}

/// Only `state`: signed out, a page, no redirect.
async fn oidcc_rp_initiated_logout_only_state(backend: Backend) {
    let op = Op::start(backend).await;
    signed_in(&op).await;
    signed_out_page(end_session(&op, &[("state", "only")]).await);
    assert!(!still_signed_in(&op).await);
}
