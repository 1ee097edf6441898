//! Attacked as an adversary would: concurrent bursts, many addresses, forged proxy headers.
//! Every test is bounded in count and time and talks only to loopback; addresses beyond the
//! peer arrive in `X-Forwarded-For` from the trusted loopback proxy.
use futures_util::future::join_all;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, spawn_sibling, Backend, TestApp, TestClient, PASSWORD};
use crate::web::{fill, form_fields};

crate::both_backends!(
    a_burst_of_guesses_hashes_at_most_the_budget,
    guesses_from_many_addresses_hit_the_account_budget,
    the_owner_signs_in_from_their_usual_browser_during_an_attack,
    the_current_password_oracle_is_throttled_and_audited,
    ipv6_sources_count_per_slash_64,
    forged_forwarded_for_shapes_are_not_believed,
    a_sign_up_flood_leaves_sign_ins_working,
    idle_budgets_are_forgotten,
);

/// Behind a trusted loopback proxy: `X-Forwarded-For` names the client.
async fn behind_proxy(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.trusted_proxies = vec!["127.0.0.1".into()]).await
}

async fn guess(app: &TestApp, client: &TestClient, email: &str, password: &str, from: &str) -> u16 {
    app.api
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .header("x-forwarded-for", from)
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// How many guesses at `user_id` were hashed: each checked guess writes one `login` event.
fn hashed(app: &TestApp, user_id: &str) -> usize {
    let mut conn = app.db.get().unwrap();
    portcullis::store::audit::list(&mut conn, Some(user_id), Some("login"), None, 1000)
        .unwrap()
        .len()
}

async fn a_burst_of_guesses_hashes_at_most_the_budget(backend: Backend) {
    // Two instances on one database, one source: the budget holds across both.
    let a = spawn_app_with(backend, |_| {}).await;
    let b = spawn_sibling(&a).await;
    let client = a.password_client();
    let user = a.create_user("target@example.com", "guest").await;
    let attempts = (0..30).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        let password = if i == 17 { PASSWORD } else { "Wrong-Guess-1" };
        app.password_grant(&client, &user.email, password)
    });
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    let checked = hashed(&a, &user.id);
    let budget = a.settings.lockout.ip_max_failures as usize;
    assert!(checked <= budget, "{checked} guesses hashed: {statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        30 - checked,
        "every unchecked guess is a 429: {statuses:?}"
    );
}

async fn guesses_from_many_addresses_hit_the_account_budget(backend: Backend) {
    let app = behind_proxy(backend).await;
    let client = app.password_client();
    let user = app.create_user("spread@example.com", "guest").await;
    let attempts = (0..30).map(|i| {
        let from = format!("203.0.113.{}", i + 1);
        let (app, client, email) = (&app, &client, user.email.clone());
        async move { guess(app, client, &email, "Wrong-Guess-1", &from).await }
    });
    let statuses = join_all(attempts).await;
    let checked = hashed(&app, &user.id);
    let budget = app.settings.lockout.account_max_failures as usize;
    assert!(checked <= budget, "{checked} hashed: {statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 30 - budget);
}

/// A cookie-keeping browser at address `from`.
fn browser_at(from: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(from).unwrap());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Signs in on the plain login page (a browser not signed in); returns the form post's status.
async fn page_sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    password: &str,
) -> u16 {
    let (_, _, html) = crate::web::get(browser, &app.url("/login")).await;
    let form = fill(
        form_fields(&html, "#login-form"),
        &[("username", email), ("password", password)],
    );
    crate::web::post_form(browser, &app.url("/login"), &form)
        .await
        .status()
        .as_u16()
}

/// A browser at `from` that keeps only this device cookie from an earlier visit.
fn browser_with_device(app: &TestApp, from: &str, device: &str) -> reqwest::Client {
    let jar = reqwest::cookie::Jar::default();
    jar.add_cookie_str(device, &app.url("/").parse().unwrap());
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(from).unwrap());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(std::sync::Arc::new(jar))
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn the_owner_signs_in_from_their_usual_browser_during_an_attack(backend: Backend) {
    let app = behind_proxy(backend).await;
    let client = app.password_client();
    let owner = app.create_user("owner@example.com", "guest").await;
    // The owner signed in from this browser before: it got a device cookie.
    let first = browser_at("198.51.100.7");
    let (_, _, html) = crate::web::get(&first, &app.url("/login")).await;
    let form = fill(
        form_fields(&html, "#login-form"),
        &[("username", &owner.email), ("password", PASSWORD)],
    );
    let resp = crate::web::post_form(&first, &app.url("/login"), &form).await;
    assert_eq!(resp.status(), 303);
    let device = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("portcullis_device="))
        .expect("a device cookie");
    assert!(
        device.contains("HttpOnly") && device.contains("Max-Age="),
        "{device}"
    );
    let device = device.split(';').next().unwrap().to_string();
    // Signed out since (a new browser session), the same device.
    let usual = browser_with_device(&app, "198.51.100.7", &device);

    // The attack: wrong passwords from 30 addresses, until the account is delayed.
    let attempts = (0..30).map(|i| {
        let from = format!("203.0.113.{}", i + 1);
        let (app, client, email) = (&app, &client, owner.email.clone());
        async move { guess(app, client, &email, "Wrong-Guess-1", &from).await }
    });
    let statuses = join_all(attempts).await;
    assert!(statuses.contains(&429), "{statuses:?}");
    // A new browser elsewhere, even with the right password, waits…
    let stranger = browser_at("192.0.2.9");
    assert_eq!(
        page_sign_in(&app, &stranger, &owner.email, PASSWORD).await,
        429
    );
    // …but the owner's usual browser signs in.
    assert_eq!(
        page_sign_in(&app, &usual, &owner.email, PASSWORD).await,
        303
    );
}

async fn the_current_password_oracle_is_throttled_and_audited(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let user = app.create_user("victim@example.com", "guest").await;
    let token = app.account_login(&user.email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let resp = app
            .api
            .put(app.url("/api/auth/password"))
            .bearer_auth(&token)
            .json(
                &json!({ "current_password": "Wrong-Guess-1", "new_password": "New-Password-99" }),
            )
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    let budget = app.settings.lockout.ip_max_failures as usize;
    let mut expected = vec![403; budget];
    expected.resize(8, 429);
    assert_eq!(statuses, expected);
    let mut conn = app.db.get().unwrap();
    let events = portcullis::store::audit::list(
        &mut conn,
        Some(&user.id),
        Some("password_check"),
        None,
        100,
    )
    .unwrap();
    assert_eq!(events.len(), budget);
}

async fn ipv6_sources_count_per_slash_64(backend: Backend) {
    let app = behind_proxy(backend).await;
    let client = app.password_client();
    let budget = app.settings.lockout.ip_max_failures;
    for i in 1..=budget {
        let from = format!("2001:db8:1:2::{i:x}");
        let email = format!("nobody{i}@example.com");
        assert_eq!(guess(&app, &client, &email, "x", &from).await, 400);
    }
    // Another host of the same /64 is the same source…
    let status = guess(
        &app,
        &client,
        "other@example.com",
        "x",
        "2001:db8:1:2:ffff::1",
    )
    .await;
    assert_eq!(status, 429);
    // …another /64 is not.
    let status = guess(&app, &client, "other@example.com", "x", "2001:db8:1:3::1").await;
    assert_eq!(status, 400);
}

async fn forged_forwarded_for_shapes_are_not_believed(backend: Backend) {
    let app = behind_proxy(backend).await;
    let client = app.password_client();
    let budget = app.settings.lockout.ip_max_failures;
    // Ports and brackets are parsed: one address, whatever the port.
    for i in 0..budget {
        let from = format!("192.0.2.10:{}", 1000 + i);
        let email = format!("port{i}@example.com");
        assert_eq!(guess(&app, &client, &email, "x", &from).await, 400);
    }
    assert_eq!(
        guess(&app, &client, "p@example.com", "x", "192.0.2.10").await,
        429
    );
    assert_eq!(
        guess(&app, &client, "p@example.com", "x", "[2001:db8::5]:443").await,
        400
    );
    // A client-supplied address left of garbage is never believed: all of these are the peer.
    for (i, garbage) in ["unknown", "_hidden", "1.2.3.4:port", "[2001:db8::5"]
        .iter()
        .cycle()
        .take(budget as usize)
        .enumerate()
    {
        let from = format!("198.51.100.{}, {garbage}", i + 1);
        let email = format!("forged{i}@example.com");
        assert_eq!(guess(&app, &client, &email, "x", &from).await, 400);
    }
    let status = guess(
        &app,
        &client,
        "f@example.com",
        "x",
        "198.51.100.200, unknown",
    )
    .await;
    assert_eq!(
        status, 429,
        "the forged entries all counted against the peer"
    );
}

async fn a_sign_up_flood_leaves_sign_ins_working(backend: Backend) {
    let app = behind_proxy(backend).await;
    let user = app.create_user("regular@example.com", "guest").await;
    let flood = (0..60).map(|i| {
        let api = app.api.clone();
        let url = app.url("/api/auth/register");
        async move {
            api.post(url)
                .header("x-forwarded-for", "203.0.113.66")
                .json(&json!({ "email": format!("bot{i}@example.com"), "password": "Bot-Password-1" }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let sign_ins = async {
        let mut ok = 0;
        for _ in 0..20 {
            let resp = app
                .api
                .post(app.url("/api/auth/login"))
                .header("x-forwarded-for", "198.51.100.20")
                .json(&json!({ "email": user.email, "password": PASSWORD }))
                .send()
                .await
                .unwrap();
            if resp.status() == 200 {
                ok += 1;
            }
        }
        ok
    };
    let (flooded, ok) = tokio::join!(join_all(flood), sign_ins);
    assert!(ok >= 19, "only {ok} of 20 sign-ins succeeded");
    let created = flooded.iter().filter(|s| **s == 201).count();
    assert!(
        created <= app.settings.users.registration_ip_limit as usize,
        "{created} accounts from one address: {flooded:?}"
    );
    assert!(
        flooded.iter().all(|s| [201, 429, 503].contains(s)),
        "{flooded:?}"
    );
    let body: Value = app
        .api
        .post(app.url("/api/auth/register"))
        .header("x-forwarded-for", "203.0.113.66")
        .json(&json!({ "email": "late@example.com", "password": "Bot-Password-1" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "too_many_requests", "{body}");
}

fn budget_rows(app: &TestApp) -> Vec<String> {
    use diesel::prelude::*;
    use portcullis::store::schema::guess_budgets;
    let mut conn = app.db.get().unwrap();
    guess_budgets::table
        .select(guess_budgets::key)
        .load(&mut *conn)
        .unwrap()
}

async fn idle_budgets_are_forgotten(backend: Backend) {
    let app = behind_proxy(backend).await;
    let client = app.password_client();
    for i in 1..=3 {
        let from = format!("192.0.2.{i}");
        let email = format!("idle{i}@example.com");
        assert_eq!(guess(&app, &client, &email, "x", &from).await, 400);
    }
    assert_eq!(
        budget_rows(&app).len(),
        6,
        "a source and an account budget each"
    );
    // A day later, a guess from a new address clears the idle budgets it finds.
    app.clock.advance(86_400 + 1);
    assert_eq!(
        guess(&app, &client, "new@example.com", "x", "198.51.100.1").await,
        400
    );
    let left = budget_rows(&app);
    assert!(
        left.iter().all(|k| !k.contains("192.0.2.")),
        "idle source budgets remain: {left:?}"
    );
}
