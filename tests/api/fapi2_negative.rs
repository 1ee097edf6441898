//! FAPI 2.0 per client, the negative side: the conformance suite's checks that apply to a
//! fapi2 client fail closed with the exact error (no PAR, no or plain PKCE, no redirect_uri,
//! another response_type, no DPoP, an RS256 proof, a redirect_uri mismatch, a reused or late
//! code), and a refresh retried after a lost answer succeeds (FAPI 2.0 §5.3.2.1 clause 10).
use serde_json::Value;

use crate::fapi2::{authorized, code_form, fapi2_client, push, spawn, token, userinfo, Key};
use crate::helpers::{assert_oauth_error, Backend, TestApp};
use crate::web::{self, browser, param, REDIRECT_URI};

crate::both_backends!(
    fapi2_authorization_requests_fail_closed,
    fapi2_token_requests_fail_closed,
    fapi2_refresh_retry_after_a_lost_answer_succeeds,
);

/// A request to push, the error it gets and a phrase of its description.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

async fn fapi2_authorization_requests_fail_closed(backend: Backend) {
    let app = spawn(backend).await;
    let client = fapi2_client(&app);
    let (_, challenge) = web::pkce();
    let usual = TestApp::code_request(&client, &challenge, "openid read");
    let without = |names: &[&str]| -> Vec<(&str, &str)> {
        usual
            .iter()
            .copied()
            .filter(|(n, _)| !names.contains(n))
            .collect()
    };
    let with = |name: &'static str, value: &'static str| -> Vec<(&str, &str)> {
        let mut form = without(&[name]);
        form.push((name, value));
        form
    };

    // A front-channel /authorize without a pushed request: a page, never a redirect.
    let resp = browser()
        .get(app.authorize_url(&usual))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    let html = resp.text().await.unwrap();
    let message = web::text(&html, "#error-message").unwrap_or_default();
    assert!(
        message.contains("must push its authorization requests"),
        "{message}"
    );

    // No PKCE, plain PKCE, no redirect_uri, another response_type: refused at /par.
    let cases: [Case; 5] = [
        (
            without(&["code_challenge", "code_challenge_method"]),
            "invalid_request",
            "PKCE is required",
        ),
        (
            with("code_challenge_method", "plain"),
            "invalid_request",
            "plain is not allowed",
        ),
        (
            without(&["code_challenge_method"]),
            "invalid_request",
            "plain is not allowed",
        ),
        (
            without(&["redirect_uri"]),
            "invalid_request",
            "must name their redirect_uri",
        ),
        (
            with("response_type", "code id_token"),
            "unsupported_response_type",
            "response_type=code",
        ),
    ];
    for (form, error, needle) in cases {
        let resp = push(&app, &client, &form).await;
        assert_eq!(resp.status(), 400, "{form:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], error, "{body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(needle), "{description}");
    }
    // The usual request is accepted.
    assert_eq!(push(&app, &client, &usual).await.status(), 201);
}

async fn fapi2_token_requests_fail_closed(backend: Backend) {
    let app = spawn(backend).await;
    let client = fapi2_client(&app);
    let key = Key::es256();
    let (verifier, challenge) = web::pkce();
    let back = authorized(&app, &client, &challenge).await;
    let code = param(&back, "code").unwrap();
    let form = code_form(&code, &verifier, REDIRECT_URI);

    // Client authentication (FAPI 2.0 §5.3.2.1, private_key_jwt only): an assertion for another
    // audience, a reused one, and a secret. None uses the code up.
    let proof = || Some(key.proof(&app, "POST", "/token", None));
    for aud in ["https://other.example.com", &app.url("/par")] {
        let wrong = crate::fapi2::assertion_for(&app, &client, aud);
        let resp = token_with(&app, &with_assertion(&form, &wrong), proof()).await;
        assert_oauth_error(resp, 401, "invalid_client").await;
    }
    let once = crate::fapi2::assertion(&app, &client);
    let resp = token_with(&app, &with_assertion(&other_grant(), &once), None).await;
    assert_eq!(
        resp.status(),
        400,
        "authenticated, then refused for the grant"
    );
    let resp = token_with(&app, &with_assertion(&form, &once), proof()).await;
    assert_oauth_error(resp, 401, "invalid_client").await;
    let resp = app
        .api
        .post(app.url("/token"))
        .basic_auth(&client.id, Some("a guessed secret"))
        .form(&form)
        .header("DPoP", proof().unwrap())
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 401, "invalid_client").await;

    // No DPoP proof; an RS256 proof; the other registered redirect_uri. None uses the code up.
    let resp = token(&app, &client, &form, None).await;
    assert_oauth_error(resp, 400, "invalid_dpop_proof").await;
    let rs = Key::rs256().proof(&app, "POST", "/token", None);
    let resp = token(&app, &client, &form, Some(rs)).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not RS256"),
        "{body}"
    );
    let other = code_form(&code, &verifier, "http://127.0.0.1:9/other");
    let resp = token(
        &app,
        &client,
        &other,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_oauth_error(resp, 400, "invalid_grant").await;

    let resp = token(
        &app,
        &client,
        &form,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let first: Value = resp.json().await.unwrap();
    let access = first["access_token"].as_str().unwrap().to_string();
    let refresh = first["refresh_token"].as_str().unwrap().to_string();

    // The code again: invalid_grant, and what it issued is revoked.
    let resp = token(
        &app,
        &client,
        &form,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
    let proof = key.proof(&app, "GET", "/userinfo", Some(&access));
    assert_eq!(
        userinfo(&app, format!("DPoP {access}"), Some(proof))
            .await
            .status(),
        401
    );
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let resp = token(
        &app,
        &client,
        &refresh_form,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_oauth_error(resp, 400, "invalid_grant").await;

    // A code used after its 60 s: invalid_grant.
    let (verifier, challenge) = web::pkce();
    let user = app.create_user("bo@example.com", "student").await;
    let form = TestApp::code_request(&client, &challenge, "openid read");
    let body: Value = push(&app, &client, &form).await.json().await.unwrap();
    let uri = body["request_uri"].as_str().unwrap();
    let params = [("client_id", client.id.as_str()), ("request_uri", uri)];
    let back = web::authorize_through(&app, &browser(), &params, &user.email, &user.password).await;
    let code = param(&back, "code").unwrap();
    app.clock.advance(61);
    let form = code_form(&code, &verifier, REDIRECT_URI);
    let resp = token(
        &app,
        &client,
        &form,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
}

/// FAPI 2.0 §5.3.2.1 clause 10: refresh tokens rotate, but a retry with the previous one (the
/// answer was lost) succeeds, also with the server's strict default grace of 0.
async fn fapi2_refresh_retry_after_a_lost_answer_succeeds(backend: Backend) {
    let app = spawn(backend).await;
    assert_eq!(app.settings.sessions.refresh_reuse_grace_secs, 0);
    let client = fapi2_client(&app);
    let key = Key::es256();
    let (verifier, challenge) = web::pkce();
    let code = param(&authorized(&app, &client, &challenge).await, "code").unwrap();
    let form = code_form(&code, &verifier, REDIRECT_URI);
    let resp = token(
        &app,
        &client,
        &form,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];

    // Without DPoP a refresh is refused too.
    let resp = token(&app, &client, &refresh_form, None).await;
    assert_oauth_error(resp, 400, "invalid_dpop_proof").await;
    let resp = token(
        &app,
        &client,
        &refresh_form,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let lost: Value = resp.json().await.unwrap();
    assert_ne!(lost["refresh_token"], refresh.as_str(), "it rotates");
    assert_eq!(lost["token_type"], "DPoP");
    app.clock.advance(5);
    let resp = token(
        &app,
        &client,
        &refresh_form,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_eq!(resp.status(), 200, "the retry succeeds");
    let retried: Value = resp.json().await.unwrap();
    // The undelivered successor was replaced; the new one works.
    let next = retried["refresh_token"].as_str().unwrap();
    let stale = [
        ("grant_type", "refresh_token"),
        ("refresh_token", lost["refresh_token"].as_str().unwrap()),
    ];
    let resp = token(
        &app,
        &client,
        &stale,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_oauth_error(resp, 400, "invalid_grant").await;
    let fresh = [("grant_type", "refresh_token"), ("refresh_token", next)];
    let resp = token(
        &app,
        &client,
        &fresh,
        Some(key.proof(&app, "POST", "/token", None)),
    )
    .await;
    assert_eq!(resp.status(), 200);
}

fn with_assertion<'a>(form: &[(&'a str, &'a str)], assertion: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = form.to_vec();
    form.push(("client_assertion_type", crate::client_jwt::ASSERTION_TYPE));
    form.push(("client_assertion", assertion));
    form
}

/// A grant the client is not registered for: the request authenticates, then fails.
fn other_grant() -> [(&'static str, &'static str); 1] {
    [("grant_type", "client_credentials")]
}

/// `POST /token` with this form as it is (its own client authentication), and a DPoP proof.
async fn token_with(
    app: &crate::helpers::TestApp,
    form: &[(&str, &str)],
    proof: Option<String>,
) -> reqwest::Response {
    let mut req = app.api.post(app.url("/token")).form(form);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}
