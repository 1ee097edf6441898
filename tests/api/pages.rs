//! The HTML pages: CSRF, the login page's brute-force answers, registration rule by rule,
//! code replay, RP-initiated logout's confirmation, and the cookies of an https issuer.
use crate::authorize::assert_page_headers;
use crate::helpers::{assert_oauth_error, spawn_app, spawn_app_with, Backend, TestApp};
use crate::web::{self, browser, fill, form_fields, param, POST_LOGOUT_URI};

crate::both_backends!(
    forms_without_this_browsers_csrf_token_are_refused,
    a_replayed_code_is_refused_and_revokes_its_tokens,
    the_login_page_applies_brute_force_rules,
    registration_enforces_the_policy_rule_by_rule_then_continues,
    logout_asks_unless_the_client_proves_itself,
    the_browser_session_has_an_absolute_lifetime_and_authorize_takes_post,
    cookieless_cross_site_posts_are_repeated_as_gets,
    a_double_submitted_login_signs_in_once,
);

/// A pending request's login URL in a fresh browser.
async fn login_url(app: &TestApp, b: &reqwest::Client) -> (String, crate::helpers::TestClient) {
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let resp = b
        .get(app.authorize_url(&TestApp::code_request(&client, &challenge, "openid")))
        .send()
        .await
        .unwrap();
    (web::location(app, &resp), client)
}

async fn assert_csrf_page(resp: reqwest::Response) {
    assert_eq!(resp.status(), 403);
    assert_page_headers(resp.headers());
    let html = resp.text().await.unwrap();
    assert!(
        web::text(&html, "#error-title")
            .unwrap()
            .contains("expired"),
        "{html}"
    );
}

async fn forms_without_this_browsers_csrf_token_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("csrf@example.com", "student").await;
    let b = browser();
    let (login, _) = login_url(&app, &b).await;
    let (_, _, html) = web::get(&b, &login).await;
    let good = fill(
        form_fields(&html, "#login-form"),
        &[("username", &user.email), ("password", &user.password)],
    );
    let missing: Vec<_> = good
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .cloned()
        .collect();
    assert_csrf_page(web::post_form(&b, &app.url("/login"), &missing).await).await;
    let wrong = fill(
        good.clone(),
        &[("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")],
    );
    assert_csrf_page(web::post_form(&b, &app.url("/login"), &wrong).await).await;
    // Another browser's token (and no cookie of ours): refused too.
    assert_csrf_page(web::post_form(&browser(), &app.url("/login"), &good).await).await;
    // Nothing happened: the request is still waiting and the right form works.
    let resp = web::post_form(&b, &app.url("/login"), &good).await;
    assert_eq!(resp.status(), 303);
    let consent = web::location(&app, &resp);
    let (_, _, html) = web::get(&b, &consent).await;
    let form = fill(
        form_fields(&html, "#consent-form"),
        &[("decision", "allow")],
    );
    let no_token: Vec<_> = form
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .cloned()
        .collect();
    assert_csrf_page(web::post_form(&b, &app.url("/consent"), &no_token).await).await;
    // The logout confirmation too.
    let resp = web::post_form(&b, &app.url("/logout"), &[("confirm".into(), "yes".into())]).await;
    assert_csrf_page(resp).await;
    // A pending request is bound to the browser that started it.
    let (_, _, other) = web::get(&browser(), &consent).await;
    assert!(other.contains("another browser"), "{other}");
}

async fn a_replayed_code_is_refused_and_revokes_its_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("replay@example.com", "student").await;
    let client = app.code_client();
    let (verifier, challenge) = web::pkce();
    let b = browser();
    let params = TestApp::code_request(&client, &challenge, "openid offline_access");
    let back = web::authorize_through(&app, &b, &params, &user.email, &user.password).await;
    let code = param(&back, "code").unwrap();
    let first: serde_json::Value = web::exchange(&app, &client, &code, Some(&verifier))
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    let userinfo = |token: String| {
        let app = &app;
        async move {
            app.api
                .get(app.url("/userinfo"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(userinfo(access.to_string()).await, 200);

    let resp = web::exchange(&app, &client, &code, Some(&verifier)).await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
    // What the code issued is revoked: the refresh token and the access token.
    assert_oauth_error(app.refresh(&client, refresh).await, 400, "invalid_grant").await;
    assert_eq!(userinfo(access.to_string()).await, 401);
    let introspected: serde_json::Value = app
        .api
        .post(app.url("/introspect"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected, serde_json::json!({ "active": false }));

    // An expired code (60 s) is refused without revoking anything.
    let back = web::authorize_through(&app, &b, &params, &user.email, &user.password).await;
    app.clock.advance(61);
    let resp = web::exchange(
        &app,
        &client,
        &param(&back, "code").unwrap(),
        Some(&verifier),
    )
    .await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
}

async fn the_login_page_applies_brute_force_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("bf@example.com", "student").await;
    let b = browser();
    let (login, _) = login_url(&app, &b).await;
    for _ in 0..5 {
        let resp = web::sign_in(&app, &b, &login, &user.email, "Wrong-password-1").await;
        assert_eq!(resp.status(), 400);
        assert_page_headers(resp.headers());
        let html = resp.text().await.unwrap();
        let error = web::text(&html, "#login-error").unwrap();
        assert_eq!(error, "The email or password is incorrect.");
        // The form comes back with the email filled in, never the password.
        let fields = form_fields(&html, "#login-form");
        assert!(fields.contains(&("username".into(), user.email.clone())));
        assert!(fields.contains(&("password".into(), String::new())));
    }
    let resp = web::sign_in(&app, &b, &login, &user.email, "Wrong-password-1").await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let html = resp.text().await.unwrap();
    assert!(web::text(&html, "#login-error")
        .unwrap()
        .contains("Too many failed sign-ins"));
    // Even the right password waits out the window.
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 429);
    app.clock.advance(61);
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
}

async fn registration_enforces_the_policy_rule_by_rule_then_continues(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = browser();
    let (login, _) = login_url(&app, &b).await;
    let (_, _, html) = web::get(&b, &login).await;
    let href = web::attr(&html, "a[href^='/register']", "href").expect("a registration link");
    let (status, _, html) = web::get(&b, &app.url(&href)).await;
    assert_eq!(status, 200);
    let rules = web::texts(&html, "#password-rules li");
    assert_eq!(rules.len(), 5, "{rules:?}");
    let form = form_fields(&html, "#register-form");
    let attempt = fill(
        form.clone(),
        &[
            ("email", "new@example.com"),
            ("name", "New Person"),
            ("password", "lowercase"),
        ],
    );
    let resp = web::post_form(&b, &app.url("/register"), &attempt).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    let broken = web::texts(&html, "#password-rules li.broken");
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(
        broken.iter().any(|r| r.contains("upper-case"))
            && broken.iter().any(|r| r.contains("digit")),
        "{broken:?}"
    );
    assert!(form_fields(&html, "#register-form").contains(&("name".into(), "New Person".into())));
    let attempt = fill(
        form.clone(),
        &[("email", "not-an-email"), ("password", "Good-pass-1")],
    );
    assert_eq!(
        web::post_form(&b, &app.url("/register"), &attempt)
            .await
            .status(),
        400
    );

    let attempt = fill(
        form,
        &[
            ("email", "new@example.com"),
            ("name", "New Person"),
            ("password", "Good-pass-1"),
        ],
    );
    let resp = web::post_form(&b, &app.url("/register"), &attempt).await;
    assert_eq!(resp.status(), 303);
    let consent = web::location(&app, &resp);
    assert!(consent.contains("/consent?request="), "{consent}");
    let resp = web::decide(&app, &b, &consent, "allow").await;
    assert!(param(&web::location(&app, &resp), "code").is_some());
    // The email is now taken.
    let b2 = browser();
    let (_, _, html2) = web::get(&b2, &app.url("/register")).await;
    let again = fill(
        form_fields(&html2, "#register-form"),
        &[("email", "NEW@example.com"), ("password", "Good-pass-1")],
    );
    assert_eq!(
        web::post_form(&b2, &app.url("/register"), &again)
            .await
            .status(),
        409
    );

    // Registration can be switched off.
    let closed = spawn_app_with(backend, |s| s.users.registration_enabled = false).await;
    let (status, _, html) = web::get(&browser(), &closed.url("/register")).await;
    assert_eq!(status, 404);
    assert!(!html.contains("register-form"));
    let (_, _, login) = web::get(&browser(), &closed.url("/login")).await;
    assert!(web::attr(&login, "a[href^='/register']", "href").is_none());
}

async fn logout_asks_unless_the_client_proves_itself(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("lo@example.com", "student").await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    let b = browser();
    web::authorize_through(
        &app,
        &b,
        &TestApp::code_request(&client, &challenge, "openid"),
        &user.email,
        &user.password,
    )
    .await;

    // Not registered for the client: an error page, no redirect.
    let url = reqwest::Url::parse_with_params(
        &app.url("/logout"),
        &[
            ("client_id", client.id.as_str()),
            ("post_logout_redirect_uri", "http://evil.example/"),
        ],
    )
    .unwrap();
    let resp = b.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    // A redirect URI without a client: refused as well.
    let url = reqwest::Url::parse_with_params(
        &app.url("/logout"),
        &[("post_logout_redirect_uri", POST_LOGOUT_URI)],
    )
    .unwrap();
    assert_eq!(b.get(url).send().await.unwrap().status(), 400);
    // A forged id_token_hint.
    let url = reqwest::Url::parse_with_params(
        &app.url("/logout"),
        &[("id_token_hint", "eyJhbGciOiJub25lIn0.e30.")],
    )
    .unwrap();
    assert_eq!(b.get(url).send().await.unwrap().status(), 400);

    // No hint: a confirmation page that carries the request on.
    let url = reqwest::Url::parse_with_params(
        &app.url("/logout"),
        &[
            ("client_id", client.id.as_str()),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "s1"),
        ],
    )
    .unwrap();
    let resp = b.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_page_headers(resp.headers());
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("lo@example.com") && html.contains("Example App"),
        "{html}"
    );
    let form = form_fields(&html, "#logout-form");
    // "Stay signed in" changes nothing.
    let stay = fill(form.clone(), &[("confirm", "no")]);
    let resp = web::post_form(&b, &app.url("/logout"), &stay).await;
    assert_eq!(resp.status(), 200);
    let (_, _, still) = web::get(&b, &app.url("/login")).await;
    assert!(still.contains("signed in as lo@example.com"), "{still}");
    // "Sign out": the session ends and the browser goes back to the client with its state.
    let yes = fill(form, &[("confirm", "yes")]);
    let resp = web::post_form(&b, &app.url("/logout"), &yes).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        web::location(&app, &resp),
        format!("{POST_LOGOUT_URI}?state=s1")
    );
    let (_, _, after) = web::get(&b, &app.url("/login")).await;
    assert!(after.contains("login-form"), "signed out: {after}");
    // Logging out when already signed out just says so.
    let (status, _, html) = web::get(&b, &app.url("/logout")).await;
    assert_eq!(status, 200);
    assert!(html.contains("signed out"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_issuer_gets_host_prefixed_secure_cookies() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.issuer = "https://login.example.com".into();
        s.bind = Some("127.0.0.1:0".into());
    })
    .await;
    let user = app.create_user("tls@example.com", "student").await;
    let b = browser();
    let base = format!("http://127.0.0.1:{}", app.port);
    let resp = b.get(format!("{base}/login")).send().await.unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-portcullis_browser="), "{cookie}");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let html = resp.text().await.unwrap();
    let mut form = fill(
        form_fields(&html, "#login-form"),
        &[("username", &user.email), ("password", &user.password)],
    );
    // reqwest won't send a Secure cookie over http: send it by hand.
    let value = cookie.split(';').next().unwrap().to_string();
    form.retain(|(k, _)| k != "request");
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}/login"))
        .header("cookie", value)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let session = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("__Host-portcullis_session="))
        .expect("a __Host- session cookie");
    assert!(
        session.contains("Secure") && session.contains("HttpOnly"),
        "{session}"
    );
}

async fn the_browser_session_has_an_absolute_lifetime_and_authorize_takes_post(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.sessions.browser_idle_secs = 3600;
        s.sessions.browser_lifetime_secs = 7200;
    })
    .await;
    let user = app.create_user("abs@example.com", "student").await;
    let client = app.code_client_with(|s| s.skip_consent = true);
    let (_, challenge) = web::pkce();
    let b = browser();
    let mut params = TestApp::code_request(&client, &challenge, "openid");
    web::authorize_through(&app, &b, &params, &user.email, &user.password).await;
    params.push(("prompt", "none"));
    // POST /authorize (a form) works like GET.
    let form: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let silent = || async {
        let resp = web::post_form(&b, &app.url("/authorize"), &form).await;
        assert_eq!(resp.status(), 302);
        web::location(&app, &resp)
    };
    // Active every 50 minutes: the idle timeout never strikes…
    for _ in 0..2 {
        app.clock.advance(3000);
        assert!(param(&silent().await, "code").is_some());
    }
    // …but two hours after signing in, the sign-in is over.
    app.clock.advance(1300);
    assert_eq!(
        param(&silent().await, "error").as_deref(),
        Some("login_required")
    );
}

async fn cookieless_cross_site_posts_are_repeated_as_gets(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let (_, challenge) = web::pkce();
    // A form on the client's site posts here; SameSite=Lax keeps our cookies out of it, so
    // the browser is sent to repeat it as a GET (which carries them).
    let params = TestApp::code_request(&client, &challenge, "openid");
    let resp = browser()
        .post(app.url("/authorize"))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(resp.headers().get("set-cookie").is_none());
    let again = web::location(&app, &resp);
    assert!(again.starts_with(&app.url("/authorize?")), "{again}");
    let mut sent: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut got = web::query(&again);
    sent.sort();
    got.sort();
    assert_eq!(sent, got);
    let logout = [
        ("client_id", client.id.as_str()),
        ("post_logout_redirect_uri", POST_LOGOUT_URI),
    ];
    let resp = browser()
        .post(app.url("/logout"))
        .form(&logout)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert!(web::location(&app, &resp).starts_with(&app.url("/logout?")));
}

async fn a_double_submitted_login_signs_in_once(backend: Backend) {
    use diesel::prelude::*;
    use portcullis::store::schema::sessions;

    let app = spawn_app(backend).await;
    let user = app.create_user("twice@example.com", "student").await;
    let b = browser();
    let client = app.code_client_with(|s| s.skip_consent = true);
    let (_, challenge) = web::pkce();
    let resp = b
        .get(app.authorize_url(&TestApp::code_request(&client, &challenge, "openid")))
        .send()
        .await
        .unwrap();
    let login = web::location(&app, &resp);
    let (_, _, html) = web::get(&b, &login).await;
    let form = fill(
        form_fields(&html, "#login-form"),
        &[("username", &user.email), ("password", &user.password)],
    );
    let url = app.url("/login");
    let submits = (0..3).map(|_| web::post_form(&b, &url, &form));
    let mut statuses: Vec<u16> = futures_util::future::join_all(submits)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [303, 400, 400]);
    // The losers' sign-ins were rolled back: one session, one code.
    let mut conn = app.db.get().unwrap();
    let live: i64 = sessions::table
        .filter(sessions::user_id.eq(&user.id))
        .filter(sessions::ended_at.is_null())
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(live, 1);
}
