//! `/authorize`: the order of checks (pages before redirects), every redirected error with
//! `state` and `iss`, PKCE, prompt and max_age, remembered consent, and the security headers
//! of the pages.
use crate::helpers::{spawn_app, Backend, TestApp, TestClient};
use crate::web::{self, browser, param, REDIRECT_URI};

crate::both_backends!(
    untrusted_client_or_redirect_uri_gets_a_page_never_a_redirect,
    every_redirected_error_carries_state_and_iss,
    pkce_is_required_and_only_s256,
    prompt_none_answers_without_a_page,
    max_age_and_prompt_login_force_a_fresh_login,
    consent_is_remembered_per_scope_set_and_deny_is_access_denied,
);

/// Asserts an HTML error page: status, no redirect, the headers every page carries.
async fn assert_error_page(resp: reqwest::Response, status: u16, needle: &str) {
    assert_eq!(resp.status().as_u16(), status);
    assert!(
        resp.headers().get("location").is_none(),
        "a page, not a redirect"
    );
    assert_page_headers(resp.headers());
    let html = resp.text().await.unwrap();
    let message = web::text(&html, "#error-message").unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

pub fn assert_page_headers(h: &reqwest::header::HeaderMap) {
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

async fn untrusted_client_or_redirect_uri_gets_a_page_never_a_redirect(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let two = app.code_client_with(|s| {
        s.redirect_uris = vec![REDIRECT_URI.into(), "http://127.0.0.1:9/other".into()]
    });
    let b = browser();
    let (_, challenge) = web::pkce();
    let get = |params: Vec<(&str, &str)>| b.get(app.authorize_url(&params)).send();

    let mut p = TestApp::code_request(&client, &challenge, "openid");
    p.retain(|(k, _)| *k != "client_id");
    assert_error_page(get(p).await.unwrap(), 400, "no client_id").await;

    let mut p = TestApp::code_request(&client, &challenge, "openid");
    p[1].1 = "no-such-client";
    assert_error_page(
        get(p).await.unwrap(),
        400,
        "not registered with this server",
    )
    .await;

    for bad in [
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/callback?x=1",
        "http://evil.example/callback",
        "HTTP://127.0.0.1:9/callback",
    ] {
        let mut p = TestApp::code_request(&client, &challenge, "openid");
        p[2].1 = bad;
        assert_error_page(get(p).await.unwrap(), 400, "not registered").await;
    }
    // Bad redirect URI *and* a bad response_type: the page wins, nothing is redirected.
    let mut p = TestApp::code_request(&client, &challenge, "openid");
    p[2].1 = "http://evil.example/callback";
    p[0].1 = "token";
    assert_error_page(get(p).await.unwrap(), 400, "not registered").await;

    // Omitted: fine with one registered URI, a page with two.
    let mut p = TestApp::code_request(&two, &challenge, "openid");
    p.retain(|(k, _)| *k != "redirect_uri");
    assert_error_page(get(p).await.unwrap(), 400, "has several").await;
    let mut p = TestApp::code_request(&client, &challenge, "openid");
    p.retain(|(k, _)| *k != "redirect_uri");
    let resp = get(p).await.unwrap();
    assert_eq!(resp.status(), 302);
    assert!(web::location(&app, &resp).contains("/login?request="));

    // Control characters (PostgreSQL text can't even hold NUL): a page, never a 5xx.
    let url = format!(
        "{}?client_id=a%00b&response_type=code",
        app.url("/authorize")
    );
    assert_error_page(b.get(url).send().await.unwrap(), 400, "control characters").await;
    let url = format!(
        "{}&state=x%00",
        app.authorize_url(&TestApp::code_request(&client, &challenge, "openid"))
    );
    assert_error_page(b.get(url).send().await.unwrap(), 400, "control characters").await;
    let resp = app
        .api
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code&client_id=x%00")
        .send()
        .await
        .unwrap();
    crate::helpers::assert_oauth_error(resp, 400, "invalid_request").await;

    // A repeated parameter can't be trusted either.
    let url = format!(
        "{}&client_id={}",
        app.authorize_url(&TestApp::code_request(&client, &challenge, "openid")),
        client.id
    );
    assert_error_page(b.get(url).send().await.unwrap(), 400, "is repeated").await;
}

/// Requests `params` and returns the redirect's query after checking `state` and `iss`.
async fn redirected_error(app: &TestApp, params: &[(&str, &str)], error: &str) -> String {
    let resp = browser()
        .get(app.authorize_url(params))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302, "{params:?}");
    let loc = web::location(app, &resp);
    assert!(loc.starts_with(REDIRECT_URI), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some(error), "{loc}");
    assert!(param(&loc, "error_description").is_some_and(|d| !d.is_empty()));
    assert_eq!(param(&loc, "state").as_deref(), Some("st-123"), "{loc}");
    assert_eq!(
        param(&loc, "iss").as_deref(),
        Some(app.address.as_str()),
        "{loc}"
    );
    loc
}

fn with(
    mut p: Vec<(&'static str, String)>,
    k: &'static str,
    v: Option<&str>,
) -> Vec<(&'static str, String)> {
    p.retain(|(name, _)| *name != k);
    if let Some(v) = v {
        p.push((k, v.to_string()));
    }
    p
}

fn owned(client: &TestClient, challenge: &str, scope: &str) -> Vec<(&'static str, String)> {
    TestApp::code_request(client, challenge, scope)
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
}

fn borrowed<'a>(p: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    p.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn every_redirected_error_carries_state_and_iss(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let cc_only = app.code_client_with(|s| s.grant_types = vec!["refresh_token".into()]);
    let (_, challenge) = web::pkce();
    let base = owned(&client, &challenge, "openid read");
    let cases: Vec<(Vec<(&'static str, String)>, &str)> = vec![
        (with(base.clone(), "response_type", None), "invalid_request"),
        (
            with(base.clone(), "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            with(base.clone(), "response_type", Some("code id_token")),
            "unsupported_response_type",
        ),
        (
            with(base.clone(), "scope", Some("openid admin")),
            "invalid_scope",
        ),
        (
            with(base.clone(), "response_mode", Some("fragment")),
            "invalid_request",
        ),
        (
            with(base.clone(), "prompt", Some("none login")),
            "invalid_request",
        ),
        (
            with(base.clone(), "prompt", Some("bogus")),
            "invalid_request",
        ),
        (with(base.clone(), "max_age", Some("-1")), "invalid_request"),
        (with(base.clone(), "prompt", Some("none")), "login_required"),
        (owned(&cc_only, &challenge, "openid"), "unauthorized_client"),
    ];
    for (params, error) in cases {
        redirected_error(&app, &borrowed(&params), error).await;
    }
    // A request_uri that is not a pushed request's (RFC 9126) is not fetched:
    // request_uri_not_supported, like the other errors (OIDC Core §6.2); an unknown pushed one
    // is a page (par::request_uri_belongs_to_its_client).
    let params = with(base.clone(), "request_uri", Some("https://x/r"));
    redirected_error(&app, &borrowed(&params), "request_uri_not_supported").await;
    // A request object (RFC 9101) from a client without keys: a page too (the redirect URI
    // inside an object can't be trusted).
    let params = with(base.clone(), "request", Some("eyJ.x.y"));
    let resp = browser()
        .get(app.authorize_url(&borrowed(&params)))
        .send()
        .await
        .unwrap();
    assert_error_page(resp, 400, "this client has no keys").await;

    // response_mode=form_post: the same answer as a self-submitting form, no inline script.
    let params = with(
        with(base.clone(), "response_mode", Some("form_post")),
        "response_type",
        Some("token"),
    );
    let resp = browser()
        .get(app.authorize_url(&borrowed(&params)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_page_headers(resp.headers());
    let html = resp.text().await.unwrap();
    let fields = web::form_fields(&html, "#form-post");
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("error"), Some("unsupported_response_type"));
    assert_eq!(get("state"), Some("st-123"));
    assert_eq!(get("iss"), Some(app.address.as_str()));
    assert!(
        html.contains(&format!("action=\"{REDIRECT_URI}\"")),
        "{html}"
    );
    assert!(
        html.contains("<script src=\"/static/form_post.js\""),
        "{html}"
    );
    let js = app
        .api
        .get(app.url("/static/form_post.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
}

async fn pkce_is_required_and_only_s256(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("pk@example.com", "student").await;
    let client = app.code_client();
    let (verifier, challenge) = web::pkce();
    let base = owned(&client, &challenge, "openid");
    redirected_error(
        &app,
        &borrowed(&with(base.clone(), "code_challenge", None)),
        "invalid_request",
    )
    .await;
    redirected_error(
        &app,
        &borrowed(&with(base.clone(), "code_challenge_method", None)),
        "invalid_request",
    )
    .await;
    redirected_error(
        &app,
        &borrowed(&with(base.clone(), "code_challenge_method", Some("plain"))),
        "invalid_request",
    )
    .await;
    redirected_error(
        &app,
        &borrowed(&with(base.clone(), "code_challenge", Some("short"))),
        "invalid_request",
    )
    .await;

    // The verifier at the token endpoint: missing or wrong → invalid_grant (the code survives).
    let b = browser();
    let back =
        web::authorize_through(&app, &b, &borrowed(&base), &user.email, &user.password).await;
    let code = param(&back, "code").unwrap();
    let resp = web::exchange(&app, &client, &code, None).await;
    crate::helpers::assert_oauth_error(resp, 400, "invalid_grant").await;
    let (other, _) = web::pkce();
    let resp = web::exchange(&app, &client, &code, Some(&other)).await;
    crate::helpers::assert_oauth_error(resp, 400, "invalid_grant").await;
    // Other bindings: the redirect URI and the client.
    let resp = app
        .token_basic(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    crate::helpers::assert_oauth_error(resp, 400, "invalid_grant").await;
    let stranger = app.code_client();
    let resp = web::exchange(&app, &stranger, &code, Some(&verifier)).await;
    crate::helpers::assert_oauth_error(resp, 400, "invalid_grant").await;
    let resp = web::exchange(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");

    // A confidential client may be allowed to skip PKCE; a verifier then is refused.
    let relaxed = app.code_client_with(|s| s.pkce_optional = true);
    let mut p = owned(&relaxed, &challenge, "openid");
    p.retain(|(k, _)| !k.starts_with("code_challenge"));
    let back = web::authorize_through(&app, &b, &borrowed(&p), &user.email, &user.password).await;
    let code = param(&back, "code").unwrap();
    let resp = web::exchange(&app, &relaxed, &code, Some(&verifier)).await;
    crate::helpers::assert_oauth_error(resp, 400, "invalid_grant").await;
    let resp = web::exchange(&app, &relaxed, &code, None).await;
    assert_eq!(resp.status(), 200);
    // A public client never may.
    let public = app.code_client_with(|s| s.public = true);
    let mut p = owned(&public, &challenge, "openid");
    p.retain(|(k, _)| !k.starts_with("code_challenge"));
    redirected_error(&app, &borrowed(&p), "invalid_request").await;
}

async fn prompt_none_answers_without_a_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("pn@example.com", "student").await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let base = owned(&client, &challenge, "openid email");
    let none = with(base.clone(), "prompt", Some("none"));
    // No session: login_required.
    redirected_error(&app, &borrowed(&none), "login_required").await;
    // A session but no consent on record: consent_required.
    let b = browser();
    let resp = b.get(app.url("/login")).send().await.unwrap();
    let html = resp.text().await.unwrap();
    let form = web::fill(
        web::form_fields(&html, "#login-form"),
        &[("username", &user.email), ("password", &user.password)],
    );
    let resp = web::post_form(&b, &app.url("/login"), &form).await;
    assert_eq!(resp.status(), 303);
    let resp = b
        .get(app.authorize_url(&borrowed(&none)))
        .send()
        .await
        .unwrap();
    let loc = web::location(&app, &resp);
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("consent_required"),
        "{loc}"
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(app.address.as_str()));
    // After consent once, prompt=none returns a code straight away.
    web::authorize_through(&app, &b, &borrowed(&base), &user.email, &user.password).await;
    let resp = b
        .get(app.authorize_url(&borrowed(&none)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let loc = web::location(&app, &resp);
    assert!(param(&loc, "code").is_some(), "{loc}");
    assert_eq!(param(&loc, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(app.address.as_str()));
    // id_token_hint: prompt=none answers only for the hinted user.
    let mine = id_token(&app, &b, &client, &user.email).await;
    let other = app.create_user("pn2@example.com", "student").await;
    let theirs = id_token(&app, &browser(), &client, &other.email).await;
    let resp = b
        .get(app.authorize_url(&borrowed(&with(none.clone(), "id_token_hint", Some(&mine)))))
        .send()
        .await
        .unwrap();
    assert!(param(&web::location(&app, &resp), "code").is_some());
    let hinted = with(none.clone(), "id_token_hint", Some(&theirs));
    redirected_error_with(&app, &b, &hinted, "login_required").await;
    let forged = with(none.clone(), "id_token_hint", Some("not.a.token"));
    redirected_error_with(&app, &b, &forged, "invalid_request").await;

    // The browser sign-in times out when idle (60 min by default).
    app.clock.advance(3601);
    redirected_error_with(&app, &b, &none, "login_required").await;
}

async fn redirected_error_with(
    app: &TestApp,
    b: &reqwest::Client,
    p: &[(&'static str, String)],
    error: &str,
) {
    let resp = b.get(app.authorize_url(&borrowed(p))).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let loc = web::location(app, &resp);
    assert_eq!(param(&loc, "error").as_deref(), Some(error), "{loc}");
}

async fn max_age_and_prompt_login_force_a_fresh_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ma@example.com", "student").await;
    let client = app.code_client_with(|s| s.skip_consent = true);
    let (verifier, challenge) = web::pkce();
    let base = owned(&client, &challenge, "openid");
    let b = browser();
    let first =
        web::authorize_through(&app, &b, &borrowed(&base), &user.email, &user.password).await;
    let t0 = app.clock_now();
    assert!(param(&first, "code").is_some());

    app.clock.advance(120);
    // Signed in 120 s ago: max_age=300 is satisfied, max_age=60 is not.
    let resp = b
        .get(app.authorize_url(&borrowed(&with(base.clone(), "max_age", Some("300")))))
        .send()
        .await
        .unwrap();
    assert!(param(&web::location(&app, &resp), "code").is_some());
    redirected_error_with(
        &app,
        &b,
        &with(
            with(base.clone(), "max_age", Some("60")),
            "prompt",
            Some("none"),
        ),
        "login_required",
    )
    .await;
    let resp = b
        .get(app.authorize_url(&borrowed(&with(base.clone(), "max_age", Some("60")))))
        .send()
        .await
        .unwrap();
    let login = web::location(&app, &resp);
    assert!(login.contains("/login?request="), "{login}");
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let back = web::location(&app, &resp);
    let code = param(&back, "code").expect("a code after the fresh login");
    let tokens: serde_json::Value = web::exchange(&app, &client, &code, Some(&verifier))
        .await
        .json()
        .await
        .unwrap();
    let (_, claims) = crate::helpers::verify_with_jwks(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.address,
        &client.id,
    );
    assert_eq!(
        claims["auth_time"],
        t0 + 120,
        "auth_time is the fresh login"
    );
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));

    // max_age=0 with a consent page in between: the fresh login counts for this request (no
    // loop back to the login page).
    let asks = app.code_client();
    app.clock.advance(1);
    let p = with(owned(&asks, &challenge, "openid"), "max_age", Some("0"));
    let resp = b
        .get(app.authorize_url(&borrowed(&p)))
        .send()
        .await
        .unwrap();
    let login = web::location(&app, &resp);
    assert!(login.contains("/login?request="), "{login}");
    app.clock.advance(5);
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    let consent = web::location(&app, &resp);
    assert!(consent.contains("/consent?request="), "{consent}");
    app.clock.advance(5);
    let resp = web::decide(&app, &b, &consent, "allow").await;
    assert!(param(&web::location(&app, &resp), "code").is_some());

    // prompt=login: the login page even with a live session.
    let resp = b
        .get(app.authorize_url(&borrowed(&with(base.clone(), "prompt", Some("login")))))
        .send()
        .await
        .unwrap();
    assert!(web::location(&app, &resp).contains("/login?request="));
}

async fn consent_is_remembered_per_scope_set_and_deny_is_access_denied(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("cs@example.com", "student").await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let b = browser();
    let narrow = owned(&client, &challenge, "openid email");
    web::authorize_through(&app, &b, &borrowed(&narrow), &user.email, &user.password).await;
    // Same scopes again: straight to the client.
    let resp = b
        .get(app.authorize_url(&borrowed(&narrow)))
        .send()
        .await
        .unwrap();
    assert!(param(&web::location(&app, &resp), "code").is_some());
    // A subset too.
    let subset = owned(&client, &challenge, "openid");
    let resp = b
        .get(app.authorize_url(&borrowed(&subset)))
        .send()
        .await
        .unwrap();
    assert!(param(&web::location(&app, &resp), "code").is_some());
    // prompt=consent forces the page.
    let resp = b
        .get(app.authorize_url(&borrowed(&with(narrow.clone(), "prompt", Some("consent")))))
        .send()
        .await
        .unwrap();
    assert!(web::location(&app, &resp).contains("/consent?request="));
    // A new scope asks again; Deny → access_denied with state and iss.
    let wider = owned(&client, &challenge, "openid email read");
    let resp = b
        .get(app.authorize_url(&borrowed(&wider)))
        .send()
        .await
        .unwrap();
    let consent = web::location(&app, &resp);
    assert!(consent.contains("/consent?request="), "{consent}");
    let resp = web::decide(&app, &b, &consent, "deny").await;
    assert_eq!(resp.status(), 303);
    let loc = web::location(&app, &resp);
    assert!(loc.starts_with(REDIRECT_URI));
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&loc, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(app.address.as_str()));
    // The request is finished: its consent page can't be answered again.
    let (status, _, _) = web::get(&b, &consent).await;
    assert_eq!(status, 400);
    // A skip-consent client doesn't ask, unless the request says prompt=consent.
    let trusted = app.code_client_with(|s| s.skip_consent = true);
    let forced = with(
        owned(&trusted, &challenge, "openid read"),
        "prompt",
        Some("consent"),
    );
    let resp = b
        .get(app.authorize_url(&borrowed(&forced)))
        .send()
        .await
        .unwrap();
    assert!(web::location(&app, &resp).contains("/consent?request="));
    let resp = b
        .get(app.authorize_url(&borrowed(&owned(&trusted, &challenge, "openid read"))))
        .send()
        .await
        .unwrap();
    assert!(param(&web::location(&app, &resp), "code").is_some());
}

/// An ID token for `email` (signing in on `b` if needed, consenting if asked).
async fn id_token(app: &TestApp, b: &reqwest::Client, client: &TestClient, email: &str) -> String {
    let (verifier, challenge) = web::pkce();
    let p = owned(client, &challenge, "openid email");
    let back = web::authorize_through(app, b, &borrowed(&p), email, crate::helpers::PASSWORD).await;
    let code = param(&back, "code").unwrap();
    let tokens: serde_json::Value = web::exchange(app, client, &code, Some(&verifier))
        .await
        .json()
        .await
        .unwrap();
    tokens["id_token"].as_str().unwrap().to_string()
}
