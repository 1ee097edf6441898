//! The admin console in headless Chromium: an administrator signs in (in the second test with
//! an admin role that requires a second factor, set up on the way with an authenticator app),
//! creates a single-page-app client from its preset in the console, and that client then
//! completes a sign-in (code flow with PKCE, in the browser; the code exchanged here), its
//! tokens checked. A non-administrator gets 403 pages. Skipped without a browser, except in CI.
use std::time::Instant;

use fantoccini::Client;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::browser::{self, wait_for, wait_for_url};
use crate::helpers::{spawn_app_with, verify_with_jwks, Backend, TestApp, PASSWORD};
use crate::mfa::code_at;

/// Answers every request with a small page: where the client's redirect URI points.
async fn serve_callback() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "<!doctype html><title>App</title><main><h1 id=\"app\">Back at the app</h1></main>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    origin
}

/// Replaces the text of the form field `selector`.
async fn type_into(browser: &Client, selector: &str, value: &str) {
    let field = wait_for(browser, selector).await;
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn click(browser: &Client, selector: &str) {
    wait_for(browser, selector).await.click().await.unwrap();
}

/// An administrator's sign-in at `/admin` (through `/login?next=/admin`), with the second factor
/// set up on the way when the role requires one.
async fn sign_in_to_console(browser: &Client, app: &TestApp, email: &str, mfa: bool) {
    browser.goto(&app.url("/admin")).await.unwrap();
    wait_for_url(browser, &app.url("/login?next=%2Fadmin")).await;
    browser::submit_login(browser, email, PASSWORD).await;
    if mfa {
        let secret = wait_for(browser, "#totp-secret")
            .await
            .text()
            .await
            .unwrap();
        type_into(browser, "#code", &code_at(&secret, app.clock_now())).await;
        click(browser, "#mfa-form button[type=submit]").await;
    }
    wait_for_url(browser, &app.url("/admin")).await;
    wait_for(browser, "#count-users").await;
}

/// In the console: Clients → New client → the single-page-app preset, pointed at `origin`;
/// returns the new client's id.
async fn create_spa_client(browser: &Client, origin: &str) -> String {
    click(browser, "#nav-clients").await;
    click(browser, "#new-client-link").await;
    click(browser, "#preset-spa").await;
    wait_for(browser, "#preset-spa[aria-current=true]").await;
    type_into(browser, "#c-name", "Console SPA").await;
    type_into(browser, "#c-redirects", &format!("{origin}/callback")).await;
    type_into(browser, "#c-origins", origin).await;
    type_into(browser, "#c-logout", &format!("{origin}/")).await;
    click(browser, "#client-form input[name=confirm]").await;
    click(browser, "#client-form button[type=submit]").await;
    assert_eq!(
        wait_for(browser, "#secret-title")
            .await
            .text()
            .await
            .unwrap(),
        "Client created"
    );
    wait_for(browser, "#result-public").await;
    wait_for(browser, "#result-client-id")
        .await
        .text()
        .await
        .unwrap()
}

async fn console_client_signs_in(mfa: bool) {
    let Some(session) = browser::start().await else {
        return;
    };
    let started = Instant::now();
    let roles_dir = tempfile::tempdir().unwrap();
    let roles_file = roles_dir.path().join("roles.toml");
    std::fs::write(
        &roles_file,
        "[roles]\nstudent = [\"read\"]\nguest = [\"read\"]\n\
         [roles.admin]\npermissions = [\"read\", \"portcullis:admin\"]\nrequire_mfa = true\n",
    )
    .unwrap();
    let app = spawn_app_with(Backend::Sqlite, |s| {
        if mfa {
            s.users.roles_file = Some(roles_file.clone());
        }
    })
    .await;
    let admin = app.create_user("root@example.com", "admin").await;
    let student = app.create_user("student@example.com", "student").await;
    let origin = serve_callback().await;
    let browser = &session.client;

    sign_in_to_console(browser, &app, &admin.email, mfa).await;
    let client_id = create_spa_client(browser, &origin).await;

    // The client's sign-in, in the same browser (already signed in): consent, then the code.
    let (verifier, challenge) = crate::web::pkce();
    let redirect_uri = format!("{origin}/callback");
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", "openid profile email"),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    browser.goto(url.as_str()).await.unwrap();
    click(browser, "button[name=decision][value=allow]").await;
    let back = wait_for_url(browser, &redirect_uri).await;
    wait_for(browser, "#app").await;
    let back = url::Url::parse(&back).unwrap();
    let param = |name: &str| {
        back.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
    };
    assert_eq!(param("state").as_deref(), Some("st4te"));
    let code = param("code").expect("a code");
    let resp = reqwest::Client::new()
        .post(app.url("/token"))
        .header("origin", &origin)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", client_id.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        origin.as_str()
    );
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile email");
    let jwks = app.jwks().await;
    let (_, id) = verify_with_jwks(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        &app.address,
        &client_id,
    );
    assert_eq!(id["sub"], admin.id.as_str());
    assert_eq!(id["email"], "root@example.com");
    assert_eq!(id["nonce"], "n0nce");
    let amr = if mfa {
        serde_json::json!(["pwd", "otp", "mfa"])
    } else {
        serde_json::json!(["pwd"])
    };
    assert_eq!(id["amr"], amr);
    let (_, access) = verify_with_jwks(
        tokens["access_token"].as_str().unwrap(),
        &jwks,
        &app.address,
        &app.address,
    );
    assert_eq!(access["sub"], admin.id.as_str());
    assert_eq!(access["client_id"], client_id.as_str());
    assert_eq!(access["roles"], serde_json::json!(["admin"]));

    // Someone who is no administrator: 403 pages.
    browser.delete_all_cookies().await.unwrap();
    browser.goto(&app.url("/login?next=/admin")).await.unwrap();
    browser::submit_login(browser, &student.email, PASSWORD).await;
    assert_eq!(
        wait_for(browser, "#error-title")
            .await
            .text()
            .await
            .unwrap(),
        "Administrators only"
    );
    for path in ["/admin/clients", "/admin/users"] {
        browser.goto(&app.url(path)).await.unwrap();
        assert_eq!(
            wait_for(browser, "#error-title")
                .await
                .text()
                .await
                .unwrap(),
            "Administrators only"
        );
    }
    session.close().await;
    eprintln!("admin console browser test took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_spa_client_in_the_console_and_it_signs_in() {
    console_client_signs_in(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_whose_role_requires_mfa_sets_it_up_and_uses_the_console() {
    console_client_signs_in(true).await;
}
