//! Rules of the OAuth Security BCP (RFC 9700): loopback redirect URIs on any port (RFC 8252
//! §7.3), no password grant for public clients, API keys only from allowed clients.
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::web::{self, browser, param, REDIRECT_URI};

crate::both_backends!(loopback_redirect_uris_match_on_any_port);

/// The registered `REDIRECT_URI` is `http://127.0.0.1:9/callback`.
async fn loopback_redirect_uris_match_on_any_port(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.code_client();
    let user = app.create_user("native@example.com", "guest").await;
    let (verifier, challenge) = web::pkce();
    let used = "http://127.0.0.1:51234/callback";

    // Another path or host: the error page, never a redirect.
    for bad in [
        "http://127.0.0.1:51234/other",
        "http://localhost:9/callback",
        "http://[::1]:9/callback",
    ] {
        let mut p = TestApp::code_request(&client, &challenge, "openid");
        p[2].1 = bad;
        let resp = browser().get(app.authorize_url(&p)).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        assert!(resp.headers().get("location").is_none());
        let html = resp.text().await.unwrap();
        let message = web::text(&html, "#error-message").unwrap_or_default();
        assert!(message.contains("not registered"), "{message}");
    }

    // Another port: the flow runs and comes back to the port the app asked for.
    let mut p = TestApp::code_request(&client, &challenge, "openid");
    p[2].1 = used;
    let b = browser();
    let resp = b.get(app.authorize_url(&p)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let login = web::location(&app, &resp);
    let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
    assert_eq!(resp.status(), 303);
    let consent = web::location(&app, &resp);
    let resp = web::decide(&app, &b, &consent, "allow").await;
    assert_eq!(resp.status(), 303);
    let back = web::location(&app, &resp);
    assert!(back.starts_with(&format!("{used}?")), "{back}");
    let code = param(&back, "code").unwrap();

    // The code is bound to the exact URI used: the registered one is refused.
    let form = |uri: &'static str| {
        [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", uri),
            ("code_verifier", verifier.as_str()),
        ]
    };
    let resp = app.token_basic(&client, &form(REDIRECT_URI)).await;
    crate::helpers::assert_oauth_error(resp, 400, "invalid_grant").await;
    let resp = app.token_basic(&client, &form(used)).await;
    assert_eq!(resp.status(), 200);
}
