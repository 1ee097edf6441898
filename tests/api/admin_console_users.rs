//! The admin console's users pages (search, create, role, disable, sessions, API keys, delete),
//! the audit log browser and dashboard, and the second-factor rule of `require_admin`, through
//! the pages with a browser (reqwest with its own cookies). Helpers: `admin_console.rs`.
use serde_json::Value;

use crate::admin_console::{admin, browser_form, events, notice_after, page, submit};
use crate::both_backends;
use crate::helpers::{spawn_app, Backend, PASSWORD};
use crate::web::{browser, fill, form_fields, get, location, post_form, text, texts};

both_backends!(
    disabling_a_user_ends_their_sessions_and_is_audited,
    users_are_searched_created_and_managed,
    the_audit_log_is_filtered_and_paginated,
    an_admin_with_a_second_factor_needs_it_in_the_session,
);

async fn disabling_a_user_ends_their_sessions_and_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    let user = app.create_user("ada@example.com", "student").await;
    let pwd = app.password_client();
    let resp = app.password_grant(&pwd, &user.email, PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let path = format!("/admin/users/{}", user.id);
    let html = page(&app, &b, &path).await;
    assert_eq!(texts(&html, ".session-row").len(), 1);
    assert_eq!(text(&html, "#user-status").unwrap(), "active");

    let resp = submit(&app, &b, &path, "#disable-form", &[]).await;
    assert_eq!(resp.status(), 400, "not confirmed");
    let resp = submit(
        &app,
        &b,
        &path,
        "#disable-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The user was disabled and their sessions ended."
    );
    let html = page(&app, &b, &path).await;
    assert_eq!(text(&html, "#user-status").unwrap(), "disabled");
    assert_eq!(text(&html, "#no-sessions").unwrap(), "No live sessions.");
    let resp = app.refresh(&pwd, refresh).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let changed = events(&app, "user_changed");
    assert_eq!(changed[0].0.as_deref(), Some(user.id.as_str()));
    assert_eq!(changed[0].2["actor"], format!("admin:{admin_id}"));
    assert_eq!(changed[0].2["disabled"], true);
    assert_eq!(changed[0].2["sessions_ended"], 1);

    // Enabled again; an administrator can't disable themselves (no form; a post is refused).
    let resp = submit(&app, &b, &path, "#enable-form", &[("confirm", Some("yes"))]).await;
    assert_eq!(notice_after(&app, &b, resp).await, "The user was enabled.");
    let own = page(&app, &b, &format!("/admin/users/{admin_id}")).await;
    assert!(text(&own, "#disable-form").is_none());
    let token = form_fields(&own, "#unlock-form")[0].1.clone();
    let form = [
        ("csrf_token".to_string(), token),
        ("confirm".to_string(), "yes".to_string()),
    ];
    let resp = post_form(
        &b,
        &app.url(&format!("/admin/users/{admin_id}/disable")),
        &form,
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        text(&resp.text().await.unwrap(), "#error-message").unwrap(),
        "You can't disable your own account."
    );
}

async fn users_are_searched_created_and_managed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    // Create: a refused address keeps the fields; then a valid one.
    let resp = submit(
        &app,
        &b,
        "/admin/users/new",
        "#user-form",
        &[
            ("email", Some("not-an-address")),
            ("name", Some("Grace")),
            ("role", Some("instructor")),
            ("password", Some(PASSWORD)),
            ("confirm", Some("yes")),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(text(&html, "#user-error").is_some());
    let kept = browser_form(&html, "#user-form");
    assert!(kept.contains(&("name".into(), "Grace".into())));
    assert!(kept.contains(&("role".into(), "instructor".into())));
    let resp = submit(
        &app,
        &b,
        "/admin/users/new",
        "#user-form",
        &[
            ("email", Some("grace@example.com")),
            ("name", Some("Grace")),
            ("role", Some("instructor")),
            ("password", Some(PASSWORD)),
            ("confirm", Some("yes")),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let user_page = location(&app, &resp);
    let path = user_page
        .strip_prefix(&app.address)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(notice_after(&app, &b, resp).await, "The user was created.");
    let created = events(&app, "user_created");
    assert_eq!(created[0].2["actor"], format!("admin:{admin_id}"));
    // The new user signs in with that password.
    let pwd = app.password_client();
    assert_eq!(
        app.password_grant(&pwd, "grace@example.com", PASSWORD)
            .await
            .status(),
        200
    );

    // Search (paginated: 20 a page).
    for i in 0..21 {
        app.create_user(&format!("bulk{i:02}@example.com"), "guest")
            .await;
    }
    let html = page(&app, &b, "/admin/users?q=grace").await;
    assert_eq!(texts(&html, ".user-row th"), ["grace@example.com"]);
    let html = page(&app, &b, "/admin/users?q=bulk").await;
    assert_eq!(
        text(&html, "#user-count").unwrap(),
        "21 users, page 1 of 2."
    );
    assert_eq!(texts(&html, ".user-row").len(), 20);
    let next = crate::web::attr(&html, "#page-next", "href").unwrap();
    assert_eq!(next, "/admin/users?q=bulk&page=2");
    let html = page(&app, &b, &next).await;
    assert_eq!(texts(&html, ".user-row th"), ["bulk20@example.com"]);

    // Role, unlock, sessions, API keys, delete.
    let resp = submit(
        &app,
        &b,
        &path,
        "#role-form",
        &[("role", Some("guest")), ("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(notice_after(&app, &b, resp).await, "The role was changed.");
    let html = page(&app, &b, &path).await;
    assert_eq!(text(&html, "#user-role").unwrap(), "guest");
    let resp = submit(&app, &b, &path, "#unlock-form", &[("confirm", Some("yes"))]).await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The account was unlocked."
    );
    let tokens = app.account_login("grace@example.com", PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    let resp = app
        .api
        .post(app.url("/api/keys"))
        .bearer_auth(access)
        .json(&serde_json::json!({ "name": "bot", "scopes": ["read"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let html = page(&app, &b, &path).await;
    // The password grant's session and the account API's.
    assert_eq!(texts(&html, ".session-row").len(), 2);
    assert_eq!(text(&html, "#factor-totp").unwrap(), "off");
    assert_eq!(texts(&html, ".key-row th"), ["bot"]);
    let resp = submit(
        &app,
        &b,
        &path,
        ".revoke-key-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The API key was revoked."
    );
    let revoked = events(&app, "api_key_revoked");
    assert_eq!(revoked.len(), 1);
    let resp = submit(
        &app,
        &b,
        &path,
        ".end-session-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(notice_after(&app, &b, resp).await, "The session was ended.");
    let ended = events(&app, "session_ended");
    assert_eq!(ended[0].2["actor"], format!("admin:{admin_id}"));

    // Second factors: an authenticator app (with recovery codes), then removed.
    crate::mfa::enrol_totp(&app, "grace@example.com").await;
    let html = page(&app, &b, &path).await;
    assert_eq!(text(&html, "#factor-totp").unwrap(), "on");
    let resp = submit(
        &app,
        &b,
        &path,
        "#remove-factors-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The user's second factors were removed."
    );
    let html = page(&app, &b, &path).await;
    assert_eq!(text(&html, "#factor-totp").unwrap(), "off");
    assert_eq!(text(&html, "#factor-codes").unwrap(), "0");
    assert!(text(&html, "#remove-factors-form").is_none());
    let changed = events(&app, "user_changed");
    assert_eq!(changed[0].2["actor"], format!("admin:{admin_id}"));
    assert_eq!(changed[0].2["second_factors_removed"]["totp"], true);
    assert_eq!(changed[0].2["second_factors_removed"]["passkeys"], 0);

    let resp = submit(
        &app,
        &b,
        &path,
        "#delete-user-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(notice_after(&app, &b, resp).await, "The user was deleted.");
    let (status, _, _) = get(&b, &app.url(&path)).await;
    assert_eq!(status, 404);
}

async fn the_audit_log_is_filtered_and_paginated(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    let user = app.create_user("eve@example.com", "student").await;
    let pwd = app.password_client();
    for _ in 0..3 {
        let resp = app
            .password_grant(&pwd, &user.email, "wrong-Password-1")
            .await;
        assert_eq!(resp.status(), 400);
    }
    let html = page(&app, &b, "/admin").await;
    assert_eq!(text(&html, "#count-users").unwrap(), "2");
    assert!(texts(&html, ".event-failed .event-kind")
        .iter()
        .all(|k| k.starts_with("login")));
    assert_eq!(texts(&html, ".event-failed").len(), 3);
    assert_eq!(texts(&html, "#key-table tbody tr").len(), 1);
    assert_eq!(text(&html, "#key-rotation").unwrap(), "every 90 days");
    let due = time::OffsetDateTime::from_unix_timestamp(app.clock_now() + 90 * 86_400).unwrap();
    assert_eq!(
        text(&html, "#key-next-rotation").unwrap(),
        format!("{} {:02}:{:02} UTC", due.date(), due.hour(), due.minute())
    );

    let html = page(
        &app,
        &b,
        "/admin/audit?kind=login&user=eve%40example.com&outcome=failure",
    )
    .await;
    assert_eq!(text(&html, "#event-count").unwrap(), "3 events.");
    assert!(texts(&html, ".event-user").iter().all(|u| *u == user.id));
    let html = page(
        &app,
        &b,
        &format!("/admin/audit?user={admin_id}&kind=login"),
    )
    .await;
    assert_eq!(text(&html, "#event-count").unwrap(), "1 event.");
    let today = time::OffsetDateTime::from_unix_timestamp(app.clock_now())
        .unwrap()
        .date()
        .to_string();
    let html = page(
        &app,
        &b,
        &format!("/admin/audit?since={today}&until={today}&kind=login"),
    )
    .await;
    assert_eq!(text(&html, "#event-count").unwrap(), "4 events.");
    let html = page(&app, &b, "/admin/audit?since=2001-01-01&until=2001-01-02").await;
    assert_eq!(text(&html, "#event-count").unwrap(), "0 events.");
    let (status, _, html) = get(&b, &app.url("/admin/audit?since=yesterday")).await;
    assert_eq!(status, 400);
    assert_eq!(
        text(&html, "#audit-error").unwrap(),
        "From: give a date as YYYY-MM-DD"
    );
    // 25 a page, newest first.
    let mut conn = app.db.get().unwrap();
    for i in 0..27 {
        let event = portcullis::store::audit::NewAuditEvent {
            at: app.clock_now() + i,
            kind: "test_event".into(),
            outcome: "success".into(),
            user_id: None,
            client_id: Some("c1".into()),
            ip: None,
            user_agent: None,
            detail: Some(format!("{{\"n\":{i}}}")),
        };
        portcullis::store::audit::insert(&mut conn, &event).unwrap();
    }
    drop(conn);
    let html = page(&app, &b, "/admin/audit?kind=test_event&client=c1").await;
    assert_eq!(
        text(&html, "#event-count").unwrap(),
        "27 events, page 1 of 2."
    );
    assert_eq!(texts(&html, ".event-detail").first().unwrap(), "{\"n\":26}");
    let next = crate::web::attr(&html, "#page-next", "href").unwrap();
    assert_eq!(next, "/admin/audit?kind=test_event&client=c1&page=2");
    let html = page(&app, &b, &next).await;
    assert_eq!(texts(&html, ".event-detail"), ["{\"n\":1}", "{\"n\":0}"]);
}

async fn an_admin_with_a_second_factor_needs_it_in_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, _) = admin(&app).await;
    page(&app, &b, "/admin/users").await;
    // The administrator sets up an authenticator app: this password-only session no longer
    // opens the console; a sign-in with the code does.
    let secret = crate::mfa::enrol_totp(&app, "root@example.com").await;
    let (status, _, html) = get(&b, &app.url("/admin/users")).await;
    assert_eq!(status, 403);
    assert_eq!(
        text(&html, "#error-title").unwrap(),
        "A second factor is required"
    );
    assert_eq!(
        crate::web::attr(&html, "main a.button", "href").unwrap(),
        "/login?reauth=1&next=%2Fadmin%2Fusers"
    );
    let b = browser();
    let (_, _, html) = get(&b, &app.url("/login?next=/admin/users")).await;
    let form = fill(
        form_fields(&html, "#login-form"),
        &[("username", "root@example.com"), ("password", PASSWORD)],
    );
    let resp = post_form(&b, &app.url("/login"), &form).await;
    assert_eq!(resp.status(), 303);
    let mfa_page = location(&app, &resp);
    let (_, _, html) = get(&b, &mfa_page).await;
    // The next code (the one of the set-up is spent).
    app.clock.advance(30);
    let form = fill(
        form_fields(&html, "#mfa-form"),
        &[("code", &crate::mfa::code_at(&secret, app.clock_now()))],
    );
    let resp = post_form(&b, &app.url("/login/mfa"), &form).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/admin/users");
    page(&app, &b, "/admin/users").await;
}
