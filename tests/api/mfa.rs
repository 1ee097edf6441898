//! The second factor in sign-ins (issue 14, item 6): the `/login/mfa` step after the password
//! with an authenticator app or a recovery code, replay refused; step-up of a live password
//! session by a `--require-mfa` client and by `acr_values`; `prompt=none` answered with
//! `interaction_required`; a user who must use a second factor and has none sets one up during
//! the sign-in; the account API's `mfa_required` → `/api/auth/login/mfa`; RFC 9470 answers
//! for sensitive operations; the password grant refused for such users; the id_token's
//! `amr`/`acr`. Codes are computed here from the secret, as an authenticator app would.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use totp_rs::{Builder, Secret};

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, TestClient, PASSWORD};
use crate::web::{self, browser, REDIRECT_URI};

crate::both_backends!(
    an_authenticator_app_code_completes_the_sign_in_once,
    require_mfa_clients_and_acr_values_step_up_a_password_session,
    a_user_who_must_use_a_second_factor_sets_one_up_while_signing_in,
    the_account_api_asks_for_the_second_factor_and_recent_sign_ins,
    account_page_actions_need_a_recent_second_factor,
);

const ACR_1FA: &str = "urn:portcullis:loa:1fa";
const ACR_MFA: &str = "urn:portcullis:loa:2fa";

/// The code an authenticator app shows for `secret` (base32) at `now`.
pub fn code_at(secret: &str, now: i64) -> String {
    let secret = Secret::try_from_base32(secret.replace(' ', "")).unwrap();
    let totp = Builder::new().with_secret(secret).build().unwrap();
    totp.generate(now as u64).to_string()
}

/// A token of the account API for a user without a second factor.
async fn account_token(app: &TestApp, email: &str) -> String {
    let body = app.account_login(email, PASSWORD).await;
    body["access_token"].as_str().unwrap().to_string()
}

/// Sets up an authenticator app through the account API; returns its secret (base32).
pub async fn enrol_totp(app: &TestApp, email: &str) -> String {
    let token = account_token(app, email).await;
    let resp = app
        .api
        .post(app.url("/api/auth/mfa/totp"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    let resp = app
        .api
        .post(app.url("/api/auth/mfa/totp/confirm"))
        .bearer_auth(&token)
        .json(&json!({ "code": code_at(&secret, app.clock_now()) }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    secret
}

/// The id_token's claims (its signature is checked by the other suites).
fn id_claims(tokens: &Value) -> Value {
    let jwt = tokens["id_token"].as_str().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Starts a code request in `browser`; returns where `/authorize` sent it.
async fn start(
    app: &TestApp,
    b: &reqwest::Client,
    client: &TestClient,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut params = TestApp::code_request(client, challenge, "openid email");
    params.extend_from_slice(extra);
    let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    web::location(app, &resp)
}

/// Submits `code` on the second-factor page at `mfa_url`.
pub async fn submit_code(
    app: &TestApp,
    b: &reqwest::Client,
    mfa_url: &str,
    code: &str,
) -> reqwest::Response {
    let (status, _, html) = web::get(b, mfa_url).await;
    assert_eq!(status, 200, "{html}");
    let form = web::fill(web::form_fields(&html, "#mfa-form"), &[("code", code)]);
    web::post_form(b, &app.url("/login/mfa"), &form).await
}

/// From a page of ours after the sign-in to the tokens: consent when asked, then the code.
async fn tokens_from(
    app: &TestApp,
    b: &reqwest::Client,
    client: &TestClient,
    verifier: &str,
    mut next: String,
) -> Value {
    if next.contains("/consent?") {
        let resp = web::decide(app, b, &next, "allow").await;
        assert_eq!(resp.status(), 303);
        next = web::location(app, &resp);
    }
    assert!(next.starts_with(REDIRECT_URI), "{next}");
    let code = web::param(&next, "code").unwrap();
    let resp = web::exchange(app, client, &code, Some(verifier)).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Signs in with the password in a fresh code request; returns where the login form sent
/// the browser.
async fn password_step(
    app: &TestApp,
    b: &reqwest::Client,
    client: &TestClient,
    challenge: &str,
    email: &str,
    extra: &[(&str, &str)],
) -> String {
    let login = start(app, b, client, challenge, extra).await;
    assert!(login.contains("/login?request="), "{login}");
    let resp = web::sign_in(app, b, &login, email, PASSWORD).await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    web::location(app, &resp)
}

async fn an_authenticator_app_code_completes_the_sign_in_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let secret = enrol_totp(&app, &user.email).await;
    let client = app.code_client();

    let b = browser();
    let (verifier, challenge) = web::pkce();
    let mfa_url = password_step(&app, &b, &client, &challenge, &user.email, &[]).await;
    assert!(mfa_url.contains("/login/mfa?challenge="), "{mfa_url}");
    // The page belongs to this browser.
    let (status, _, _) = web::get(&browser(), &mfa_url).await;
    assert_eq!(status, 400);
    // A wrong code, then the code just used to confirm the app (a replay): refused.
    let resp = submit_code(&app, &b, &mfa_url, "000000").await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        web::text(&html, "#mfa-error").as_deref(),
        Some("That code is not right. Try again.")
    );
    let used = code_at(&secret, app.clock_now());
    let resp = submit_code(&app, &b, &mfa_url, &used).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        web::text(&html, "#mfa-error").as_deref(),
        Some("That code was already used. Wait for the next one and enter it.")
    );
    // The next code signs in: amr pwd otp mfa, the multi-factor acr.
    app.clock.advance(30);
    let resp = submit_code(&app, &b, &mfa_url, &code_at(&secret, app.clock_now())).await;
    assert_eq!(resp.status(), 303);
    let next = web::location(&app, &resp);
    let tokens = tokens_from(&app, &b, &client, &verifier, next).await;
    let claims = id_claims(&tokens);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], ACR_MFA);
    // The challenge was finished: its page is gone.
    let (status, _, _) = web::get(&b, &mfa_url).await;
    assert_eq!(status, 400);

    // A recovery code works once.
    let token = {
        let resp = app
            .api
            .post(app.url("/api/auth/login"))
            .json(&json!({ "email": user.email, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
        let body: Value = resp.json().await.unwrap();
        app.clock.advance(30);
        let resp = app
            .api
            .post(app.url("/api/auth/login/mfa"))
            .json(&json!({
                "mfa_token": body["details"]["mfa_token"],
                "code": code_at(&secret, app.clock_now()),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    };
    let resp = app
        .api
        .post(app.url("/api/auth/mfa/recovery-codes"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let recovery = body["recovery_codes"][0].as_str().unwrap().to_string();
    for (attempt, expected) in [(1, 303), (2, 400)] {
        let b = browser();
        let (_, challenge) = web::pkce();
        let mfa_url = password_step(&app, &b, &client, &challenge, &user.email, &[]).await;
        let resp = submit_code(&app, &b, &mfa_url, &recovery).await;
        assert_eq!(resp.status(), expected, "recovery code, attempt {attempt}");
    }
}

async fn require_mfa_clients_and_acr_values_step_up_a_password_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let plain = app.code_client();
    let strict = app.code_client_with(|spec| {
        spec.name = "Payroll".into();
        spec.require_mfa = true;
        spec.skip_consent = true;
    });
    // Three browsers sign in with the password alone, before the user has a second factor.
    let browsers = [browser(), browser(), browser()];
    for b in &browsers {
        let (verifier, challenge) = web::pkce();
        let next = password_step(&app, b, &plain, &challenge, &user.email, &[]).await;
        let claims = id_claims(&tokens_from(&app, b, &plain, &verifier, next).await);
        assert_eq!(claims["amr"], json!(["pwd"]));
        assert_eq!(claims["acr"], ACR_1FA);
    }
    let secret = enrol_totp(&app, &user.email).await;
    app.clock.advance(30);

    // A --require-mfa client: the live password session is stepped up, without the password.
    let b = &browsers[0];
    let (verifier, challenge) = web::pkce();
    let mfa_url = start(&app, b, &strict, &challenge, &[]).await;
    assert!(mfa_url.contains("/login/mfa?challenge="), "{mfa_url}");
    let (_, _, html) = web::get(b, &mfa_url).await;
    assert!(html.contains("Payroll"), "{html}");
    let resp = submit_code(&app, b, &mfa_url, &code_at(&secret, app.clock_now())).await;
    assert_eq!(resp.status(), 303);
    let next = web::location(&app, &resp);
    let claims = id_claims(&tokens_from(&app, b, &strict, &verifier, next).await);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], ACR_MFA);
    assert_eq!(claims["auth_time"], app.clock_now());

    // acr_values asking for the multi-factor level does the same for an ordinary client.
    app.clock.advance(30);
    let b = &browsers[1];
    let (verifier, challenge) = web::pkce();
    let mfa_url = start(&app, b, &plain, &challenge, &[("acr_values", ACR_MFA)]).await;
    assert!(mfa_url.contains("/login/mfa?challenge="), "{mfa_url}");
    let resp = submit_code(&app, b, &mfa_url, &code_at(&secret, app.clock_now())).await;
    assert_eq!(resp.status(), 303);
    let next = web::location(&app, &resp);
    let claims = id_claims(&tokens_from(&app, b, &plain, &verifier, next).await);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], ACR_MFA);

    // prompt=none cannot step up: interaction_required. Without acr_values the password
    // session still signs in to the ordinary client, as single-factor.
    let b = &browsers[2];
    let (verifier, challenge) = web::pkce();
    let back = start(
        &app,
        b,
        &plain,
        &challenge,
        &[("acr_values", ACR_MFA), ("prompt", "none")],
    )
    .await;
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    assert_eq!(
        web::param(&back, "error").as_deref(),
        Some("interaction_required")
    );
    let next = start(&app, b, &plain, &challenge, &[]).await;
    let claims = id_claims(&tokens_from(&app, b, &plain, &verifier, next).await);
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["acr"], ACR_1FA);

    // Discovery lists the levels.
    let meta: Value = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["acr_values_supported"], json!([ACR_1FA, ACR_MFA]));
}

async fn a_user_who_must_use_a_second_factor_sets_one_up_while_signing_in(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let roles = dir.path().join("roles.toml");
    std::fs::write(
        &roles,
        "[roles]\nstudent = [\"read\"]\nguest = [\"read\"]\n[roles.admin]\npermissions = [\"read\", \"manage_users\"]\nrequire_mfa = true\n",
    )
    .unwrap();
    let app = spawn_app_with(backend, |s| s.users.roles_file = Some(roles.clone())).await;
    let admin = app.create_user("root@example.com", "admin").await;
    let client = app.code_client();
    // The password grant cannot carry a second factor: refused for such a user.
    let password_client = app.password_client();
    let resp = app
        .password_grant(&password_client, &admin.email, PASSWORD)
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // The account API says to set one up in a browser.
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": admin.email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "mfa_enrollment_required");

    // In the browser: after the password, the set-up page with a QR code and the key.
    let b = browser();
    let (verifier, challenge) = web::pkce();
    let mfa_url = password_step(&app, &b, &client, &challenge, &admin.email, &[]).await;
    assert!(mfa_url.contains("/login/mfa?challenge="), "{mfa_url}");
    let (status, _, html) = web::get(&b, &mfa_url).await;
    assert_eq!(status, 200);
    assert!(html.contains("<svg"), "{html}");
    let secret = web::text(&html, "#totp-secret").unwrap();
    // Reloading the page shows the same key (the app is not reset under the user).
    let (_, _, again) = web::get(&b, &mfa_url).await;
    assert_eq!(web::text(&again, "#totp-secret").unwrap(), secret);
    let resp = submit_code(&app, &b, &mfa_url, "123456").await;
    assert_eq!(resp.status(), 400);
    let resp = submit_code(&app, &b, &mfa_url, &code_at(&secret, app.clock_now())).await;
    assert_eq!(resp.status(), 303);
    let next = web::location(&app, &resp);
    let claims = id_claims(&tokens_from(&app, &b, &client, &verifier, next).await);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], ACR_MFA);
    // From now on the app is asked for at every sign-in.
    let b = browser();
    let (_, challenge) = web::pkce();
    let next = password_step(&app, &b, &client, &challenge, &admin.email, &[]).await;
    assert!(next.contains("/login/mfa?challenge="), "{next}");
    let (_, _, html) = web::get(&b, &next).await;
    assert!(web::text(&html, "#totp-secret").is_none(), "{html}");
}

async fn the_account_api_asks_for_the_second_factor_and_recent_sign_ins(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let secret = enrol_totp(&app, &user.email).await;
    app.clock.advance(30);
    let mfa_token = api_login(&app, &user.email).await;
    let resp = second(&app, &mfa_token, "000000").await;
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_code");
    let resp = second(&app, "not-a-token", &code_at(&secret, app.clock_now())).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let resp = second(&app, &mfa_token, &code_at(&secret, app.clock_now())).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    // The handle was used.
    app.clock.advance(30);
    let resp = second(&app, &mfa_token, &code_at(&secret, app.clock_now())).await;
    assert_eq!(resp.status(), 400);

    // A recent sign-in with the second factor may change the password; ten minutes later
    // the answer is an RFC 9470 challenge.
    let change = |new: &'static str| {
        let access = access.clone();
        let app = &app;
        async move {
            app.api
                .put(app.url("/api/auth/password"))
                .bearer_auth(access)
                .json(&json!({ "current_password": PASSWORD, "new_password": new }))
                .send()
                .await
                .unwrap()
        }
    };
    let resp = change("Another-Horse-10").await;
    assert_eq!(resp.status(), 204);
    app.clock.advance(601 - 30);
    let resp = change("Third-Horse-11").await;
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("error=\"insufficient_user_authentication\"")
            && challenge.contains("max_age=\"600\"")
            && challenge.contains(&format!("acr_values=\"{ACR_MFA}\"")),
        "{challenge}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_user_authentication");
}

/// `/api/auth/login` for a user with an authenticator app: 403 `mfa_required`; its token.
async fn api_login(app: &TestApp, email: &str) -> String {
    let resp = app
        .api
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "mfa_required");
    assert_eq!(body["details"]["methods"], json!(["totp"]));
    body["details"]["mfa_token"].as_str().unwrap().to_string()
}

/// `/api/auth/login/mfa`.
async fn second(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.api
        .post(app.url("/api/auth/login/mfa"))
        .json(&json!({ "mfa_token": token, "code": code }))
        .send()
        .await
        .unwrap()
}

/// Creates an API key on `/account` (the form's answer).
async fn create_key(app: &TestApp, b: &reqwest::Client, name: &str) -> (u16, String) {
    let (status, _, html) = web::get(b, &app.url("/account")).await;
    assert_eq!(status, 200, "{html}");
    let form = web::fill(web::form_fields(&html, "#key-form"), &[("name", name)]);
    let resp = web::post_form(b, &app.url("/account/keys"), &form).await;
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Signs in on `login_url` with the password and then the app's current code; returns where
/// the sign-in went.
async fn sign_in_with_code(
    app: &TestApp,
    b: &reqwest::Client,
    login_url: &str,
    email: &str,
    secret: &str,
) -> String {
    let resp = web::sign_in(app, b, login_url, email, PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let mfa_url = web::location(app, &resp);
    assert!(
        mfa_url.contains("/login/mfa?challenge=") && mfa_url.contains("next=%2Faccount"),
        "{mfa_url}"
    );
    app.clock.advance(30);
    let resp = submit_code(app, b, &mfa_url, &code_at(secret, app.clock_now())).await;
    assert_eq!(resp.status(), 303);
    web::location(app, &resp)
}

async fn account_page_actions_need_a_recent_second_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("ada@example.com", "student").await;
    let secret = enrol_totp(&app, &user.email).await;
    let b = browser();
    let at = sign_in_with_code(
        &app,
        &b,
        &app.url("/login?next=/account"),
        &user.email,
        &secret,
    )
    .await;
    assert_eq!(at, app.url("/account"));
    assert_eq!(create_key(&app, &b, "fresh").await.0, 201);
    // Ten minutes later the browser is still signed in, but creating a key asks to sign in
    // again, with the second factor.
    app.clock.advance(601);
    let (status, html) = create_key(&app, &b, "stale").await;
    assert_eq!(status, 403);
    assert_eq!(
        web::text(&html, "#keys-error").as_deref(),
        Some("For your security, this needs a sign-in with your second factor in the last 10 minutes. Sign in again")
    );
    let again = web::attr(&html, "#keys-reauth", "href").unwrap();
    assert_eq!(again, "/login?next=%2Faccount&reauth=1");
    // The login page shows its form to the signed-in user; password and code lead back.
    let at = sign_in_with_code(&app, &b, &app.url(&again), &user.email, &secret).await;
    assert_eq!(at, app.url("/account"));
    assert_eq!(create_key(&app, &b, "stale").await.0, 201);
}
