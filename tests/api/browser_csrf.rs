//! Login CSRF by cookie tossing, in headless Chromium: a page on another port of the same host
//! (cookies ignore ports) plants the attacker's own browser cookie, with a CSRF token the server
//! issued for it, and auto-posts our login form with the attacker's credentials. The victim's
//! browser must not end up signed in as the attacker.
use std::time::Duration;

use diesel::prelude::*;
use fantoccini::Locator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::browser::{self, wait_for};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::web::{self, form_fields};

/// The attacker's site: sets `cookie` for the host and auto-submits `fields` to `action`.
fn serve_attack(
    listener: TcpListener,
    cookie: String,
    action: String,
    fields: Vec<(String, String)>,
) {
    let inputs: String = fields
        .iter()
        .map(|(n, v)| format!(r#"<input type="hidden" name="{n}" value="{v}">"#))
        .collect();
    let html = format!(
        r#"<!doctype html><html><body><form id="f" method="post" action="{action}">{inputs}</form>
<script>document.getElementById("f").submit();</script></body></html>"#
    );
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (cookie, html) = (cookie.clone(), html.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = stream.read(&mut buf).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: {cookie}; Path=/\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
}

fn sessions_of(app: &TestApp, user_id: &str) -> i64 {
    use portcullis::store::schema::sessions;
    let mut conn = app.db.get().unwrap();
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .count()
        .get_result(&mut *conn)
        .unwrap()
}

crate::both_backends!(cookie_tossing_login_csrf_fails);

async fn cookie_tossing_login_csrf_fails(backend: Backend) {
    let Some(session) = browser::start().await else {
        return;
    };
    let app = spawn_app(backend).await;
    let attacker = app.create_user("attacker@example.com", "guest").await;

    // The attacker fetches our login page for a browser cookie and its CSRF token.
    let own = web::browser();
    let resp = own.get(app.url("/login")).send().await.unwrap();
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("portcullis_browser="))
        .expect("a browser cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = resp.text().await.unwrap();
    let mut fields = form_fields(&html, "#login-form");
    for (name, value) in fields.iter_mut() {
        match name.as_str() {
            "username" => *value = attacker.email.clone(),
            "password" => *value = attacker.password.clone(),
            _ => {}
        }
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let attack_url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    serve_attack(listener, cookie, app.url("/login"), fields);

    // The victim's browser visits the attacker's page; the form posts itself to us.
    let client = &session.client;
    client.goto(&attack_url).await.unwrap();
    let title = wait_for(client, "#error-title").await.text().await.unwrap();
    assert_eq!(title, "This form has expired");
    assert_eq!(sessions_of(&app, &attacker.id), 0, "no sign-in happened");

    // Our login page in that browser: not signed in as anyone.
    client.goto(&app.url("/login")).await.unwrap();
    wait_for(client, "#login-form").await;
    assert!(client
        .find(Locator::Css("input[name=username]"))
        .await
        .is_ok());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sessions_of(&app, &attacker.id), 0);
    session.close().await;
}
