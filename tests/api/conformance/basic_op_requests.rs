//! Basic OP plan, second part: the authorization request's optional parameters (display,
//! prompt, max_age, hints, locales, acr_values, unknown ones), POST, request objects, the
//! `claims` parameter, refresh and PKCE.
use super::{assert_callback, basic_op::discovery, Op};
use crate::helpers::{assert_oauth_error, Backend};
use crate::web::{self, param, REDIRECT_URI};

crate::both_backends!(
    oidcc_display_page,
    oidcc_display_popup,
    oidcc_prompt_login,
    oidcc_prompt_none_not_logged_in,
    oidcc_prompt_none_logged_in,
    oidcc_max_age_1,
    oidcc_max_age_10000,
    oidcc_ensure_request_with_unknown_parameter_succeeds,
    oidcc_id_token_hint,
    oidcc_login_hint,
    oidcc_ui_locales,
    oidcc_claims_locales,
    oidcc_ensure_request_with_acr_values_succeeds,
    oidcc_ensure_post_request_succeeds,
    oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported,
    oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported,
    oidcc_claims_essential,
    oidcc_refresh_token,
    oidcc_ensure_request_with_valid_pkce_succeeds,
);

/// OP-display-page / OP-display-popup: accepted, the flow completes.
async fn oidcc_display_page(backend: Backend) {
    display(backend, "page").await
}

async fn oidcc_display_popup(backend: Backend) {
    display(backend, "popup").await
}

async fn display(backend: Backend, value: &str) {
    let op = Op::start(backend).await;
    let (callback, tokens) = op.code_flow(&[("display", Some(value))]).await;
    assert_callback(&op, &callback, "st-123");
    op.id_token(&tokens).await;
}

/// OP-prompt-login: signed in already, `prompt=login` shows the login page again, and the
/// new id_token's `auth_time` is the second sign-in.
async fn oidcc_prompt_login(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, first) = op.code_flow(&[]).await;
    let t1 = op.id_token(&first).await["auth_time"].as_i64().unwrap();
    op.app.clock.advance(5);
    let (verifier, challenge) = web::pkce();
    let request = op.request(&challenge, &[("prompt", Some("login"))]);
    let (status, loc) = op.authorize_once(&request).await;
    assert_eq!(status, 302);
    assert!(loc.unwrap().contains("/login?"), "the login page again");
    let callback = op.authorize(&request).await;
    let id = op.id_token(&op.exchange(&callback, &verifier).await).await;
    assert_eq!(id["auth_time"].as_i64().unwrap(), t1 + 5);
}

/// OP-prompt-none-NotLoggedIn: no session → `login_required` at the redirect URI, with state.
async fn oidcc_prompt_none_not_logged_in(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, challenge) = web::pkce();
    let (status, loc) = op
        .authorize_once(&op.request(&challenge, &[("prompt", Some("none"))]))
        .await;
    assert_eq!(status, 302);
    let loc = loc.unwrap();
    assert!(loc.starts_with(REDIRECT_URI), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&loc, "state").as_deref(), Some("st-123"));
}

/// OP-prompt-none-LoggedIn: signed in (and consented) → a code without any page.
async fn oidcc_prompt_none_logged_in(backend: Backend) {
    let op = Op::start(backend).await;
    op.code_flow(&[]).await;
    let (verifier, challenge) = web::pkce();
    let (status, loc) = op
        .authorize_once(&op.request(&challenge, &[("prompt", Some("none"))]))
        .await;
    assert_eq!(status, 302);
    let callback = loc.unwrap();
    assert_callback(&op, &callback, "st-123");
    let id = op.id_token(&op.exchange(&callback, &verifier).await).await;
    assert_eq!(id["sub"], op.user.id);
}

/// OP-Req-max_age=1: a second request with `max_age=1` after more than a second signs the user
/// in again; `auth_time` is later than the first.
async fn oidcc_max_age_1(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, first) = op.code_flow(&[]).await;
    let t1 = op.id_token(&first).await["auth_time"].as_i64().unwrap();
    op.app.clock.advance(2);
    let (verifier, challenge) = web::pkce();
    let request = op.request(&challenge, &[("max_age", Some("1"))]);
    let (_, loc) = op.authorize_once(&request).await;
    assert!(loc.unwrap().contains("/login?"), "signs in again");
    let callback = op.authorize(&request).await;
    let id = op.id_token(&op.exchange(&callback, &verifier).await).await;
    assert!(id["auth_time"].as_i64().unwrap() > t1, "{id}");
}

/// OP-Req-max_age=10000: no new sign-in; `auth_time` is the first one.
async fn oidcc_max_age_10000(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, first) = op.code_flow(&[]).await;
    let t1 = op.id_token(&first).await["auth_time"].as_i64().unwrap();
    op.app.clock.advance(2);
    let (verifier, challenge) = web::pkce();
    let (_, loc) = op
        .authorize_once(&op.request(&challenge, &[("max_age", Some("10000"))]))
        .await;
    let callback = loc.unwrap();
    assert!(callback.starts_with(REDIRECT_URI), "no page: {callback}");
    let id = op.id_token(&op.exchange(&callback, &verifier).await).await;
    assert_eq!(id["auth_time"].as_i64().unwrap(), t1);
}

/// OP-Req-NotUnderstood: an unknown parameter is ignored.
async fn oidcc_ensure_request_with_unknown_parameter_succeeds(backend: Backend) {
    let op = Op::start(backend).await;
    let (callback, _) = op.code_flow(&[("extra_parameter", Some("foobar"))]).await;
    assert_callback(&op, &callback, "st-123");
}

/// OP-Req-id_token_hint: a second request with the first id_token as hint and `prompt=none`
/// succeeds for the same user.
async fn oidcc_id_token_hint(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, first) = op.code_flow(&[]).await;
    let hint = first["id_token"].as_str().unwrap().to_string();
    let (verifier, challenge) = web::pkce();
    let (_, loc) = op
        .authorize_once(&op.request(
            &challenge,
            &[("prompt", Some("none")), ("id_token_hint", Some(&hint))],
        ))
        .await;
    let callback = loc.unwrap();
    assert_callback(&op, &callback, "st-123");
    let id = op.id_token(&op.exchange(&callback, &verifier).await).await;
    assert_eq!(id["sub"], op.user.id);
}

/// OP-Req-login_hint: the login page is prefilled with the hint.
async fn oidcc_login_hint(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, challenge) = web::pkce();
    let request = op.request(&challenge, &[("login_hint", Some(&op.user.email))]);
    let (_, loc) = op.authorize_once(&request).await;
    let (status, _, html) = web::get(&op.browser, &loc.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        web::attr(&html, "#login-form input[name=username]", "value").as_deref(),
        Some(op.user.email.as_str())
    );
    assert_callback(&op, &op.authorize(&request).await, "st-123");
}

/// OP-Req-ui_locales: accepted; the pages speak the first language Portcullis has (`de`).
async fn oidcc_ui_locales(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, challenge) = web::pkce();
    let request = op.request(&challenge, &[("ui_locales", Some("fr-CA de en"))]);
    let (_, loc) = op.authorize_once(&request).await;
    let (status, _, html) = web::get(&op.browser, &loc.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(web::attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_callback(&op, &op.authorize(&request).await, "st-123");
}

/// OP-Req-claims_locales: accepted (claims have no localized variants here).
async fn oidcc_claims_locales(backend: Backend) {
    let op = Op::start(backend).await;
    let (callback, tokens) = op
        .code_flow(&[
            ("claims_locales", Some("se")),
            ("scope", Some("openid profile")),
        ])
        .await;
    assert_callback(&op, &callback, "st-123");
    assert_eq!(op.userinfo(&tokens).await["name"], "Test User");
}

/// OP-Req-acr_values: unknown values are voluntary and ignored.
async fn oidcc_ensure_request_with_acr_values_succeeds(backend: Backend) {
    let op = Op::start(backend).await;
    let (callback, tokens) = op.code_flow(&[("acr_values", Some("1 2"))]).await;
    assert_callback(&op, &callback, "st-123");
    op.id_token(&tokens).await;
}

/// The authorization request sent as a form POST.
async fn oidcc_ensure_post_request_succeeds(backend: Backend) {
    let op = Op::start(backend).await;
    op.code_flow(&[]).await; // signed in and consented
    let (verifier, challenge) = web::pkce();
    let request = op.request(&challenge, &[]);
    let resp = op
        .browser
        .post(op.app.url("/authorize"))
        .form(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let callback = web::location(&op.app, &resp);
    assert_callback(&op, &callback, "st-123");
    op.exchange(&callback, &verifier).await;
}

/// OP-request_uri-Unsigned: a `request_uri` that is not one of this server's pushed requests
/// is refused with `request_uri_not_supported` (discovery says so).
async fn oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
    backend: Backend,
) {
    let op = Op::start(backend).await;
    let disco = discovery(&op).await;
    assert_eq!(disco["request_uri_parameter_supported"], false);
    let (_, challenge) = web::pkce();
    let (status, loc) = op
        .authorize_once(&op.request(
            &challenge,
            &[("request_uri", Some("https://rp.example.com/request.jwt"))],
        ))
        .await;
    assert_eq!(status, 302);
    let loc = loc.unwrap();
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("request_uri_not_supported")
    );
    assert!(param(&loc, "code").is_none());
}

/// OP-request-Unsigned: an unsigned (`alg: none`) request object is never processed: `none`
/// is not advertised, and the request fails without a code.
async fn oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    backend: Backend,
) {
    let op = Op::start(backend).await;
    let disco = discovery(&op).await;
    if let Some(algs) = disco["request_object_signing_alg_values_supported"].as_array() {
        assert!(!algs.iter().any(|a| a == "none"), "{algs:?}");
    }
    let (_, challenge) = web::pkce();
    let claims = serde_json::json!({
        "iss": op.client.id, "aud": op.app.address, "client_id": op.client.id,
        "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid",
        "state": "st-123", "code_challenge": challenge, "code_challenge_method": "S256",
        "exp": op.app.clock_now() + 60,
    });
    let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&claims.to_string()));
    let resp = op
        .browser
        .get(op.app.authorize_url(&[
            ("client_id", &op.client.id),
            ("response_type", "code"),
            ("scope", "openid"),
            ("request", &unsigned),
        ]))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    match resp
        .headers()
        .get("location")
        .map(|_| web::location(&op.app, &resp))
    {
        Some(loc) => {
            assert_eq!(status, 302);
            let error = param(&loc, "error").unwrap_or_default();
            assert!(
                ["request_not_supported", "invalid_request_object"].contains(&error.as_str()),
                "{loc}"
            );
            assert!(param(&loc, "code").is_none());
        }
        None => assert_eq!(status, 400, "an error page"),
    }
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// OP-claims-essential: a `claims` request asking for `name` as essential in userinfo gets a
/// successful answer (the claims parameter is optional, OIDC Core §5.5; Portcullis answers by
/// the scopes and says `claims_parameter_supported: false`).
async fn oidcc_claims_essential(backend: Backend) {
    let op = Op::start(backend).await;
    let claims = r#"{"userinfo":{"name":{"essential":true}}}"#;
    let (callback, tokens) = op
        .code_flow(&[("claims", Some(claims)), ("scope", Some("openid profile"))])
        .await;
    assert_callback(&op, &callback, "st-123");
    assert_eq!(op.userinfo(&tokens).await["name"], "Test User");
    let disco = discovery(&op).await;
    assert_ne!(disco["claims_parameter_supported"], true);
}

/// The refresh token works for its client, returns a new id_token for the same user, and is
/// refused to another client.
async fn oidcc_refresh_token(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op
        .code_flow(&[("scope", Some("openid offline_access"))])
        .await;
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
    let other = op.app.code_client();
    let stolen = op.app.refresh(&other, refresh).await;
    assert_oauth_error(stolen, 400, "invalid_grant").await;
    let resp = op.app.refresh(&op.client, refresh).await;
    assert_eq!(resp.status(), 200);
    let renewed: serde_json::Value = resp.json().await.unwrap();
    let id = op.id_token(&renewed).await;
    assert_eq!(id["sub"], op.user.id);
    assert_ne!(renewed["refresh_token"], tokens["refresh_token"]);
}

/// PKCE S256 with the right verifier succeeds (and the wrong one does not).
async fn oidcc_ensure_request_with_valid_pkce_succeeds(backend: Backend) {
    let op = Op::start(backend).await;
    let (verifier, challenge) = web::pkce();
    let callback = op.authorize(&op.request(&challenge, &[])).await;
    let code = param(&callback, "code").unwrap();
    let (wrong, _) = web::pkce();
    let resp = web::exchange(&op.app, &op.client, &code, Some(&wrong)).await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
    // The failed attempt spent the code (single use); a fresh one with the right verifier.
    let callback = op.authorize(&op.request(&challenge, &[])).await;
    op.exchange(&callback, &verifier).await;
}
