//! The admin console's roles pages: a role created, edited and deleted through the forms (with
//! the audit actor `admin:<user id>` and the change honoured at once), refusals shown on the
//! form with the fields kept, scope descriptions edited, and the console's rules (confirmation,
//! CSRF, administrators only). Helpers: `admin_console.rs`.
use serde_json::Value;

use crate::admin_console::{
    admin, browser_form, events, notice_after, page, set, signed_in_at, submit,
};
use crate::both_backends;
use crate::helpers::{spawn_app, Backend};
use crate::web::{attr, form_fields, get, post_form, text};

both_backends!(
    roles_are_created_edited_and_deleted_through_the_forms,
    refusals_are_shown_on_the_role_page,
    scope_descriptions_are_edited_on_the_roles_page,
    role_forms_need_confirmation_csrf_and_an_administrator,
);

/// The details of the audit events of `kind` an administrator caused (seeding the roles
/// writes `role_created` and `scope_described` too), newest first.
fn by_admins(app: &crate::helpers::TestApp, kind: &str) -> Vec<Value> {
    events(app, kind)
        .into_iter()
        .map(|(_, _, detail)| detail)
        .filter(|d| d["actor"].as_str().is_some_and(|a| a.starts_with("admin:")))
        .collect()
}

async fn roles_are_created_edited_and_deleted_through_the_forms(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    let actor = format!("admin:{admin_id}");
    let html = page(&app, &b, "/admin/roles").await;
    assert_eq!(
        attr(&html, "#new-role", "href").unwrap(),
        "/admin/roles/new"
    );

    let fields = [
        ("name", Some("librarian")),
        ("permissions", Some("read  chat")),
        ("description", Some("Library staff")),
        ("confirm", Some("yes")),
    ];
    let resp = submit(&app, &b, "/admin/roles/new", "#role-form", &fields).await;
    assert_eq!(notice_after(&app, &b, resp).await, "The role was created.");
    let created = by_admins(&app, "role_created");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["actor"], actor.as_str());
    assert_eq!(created[0]["role"], "librarian");
    assert_eq!(
        created[0]["permissions"],
        serde_json::json!(["read", "chat"])
    );

    let html = page(&app, &b, "/admin/roles/librarian").await;
    assert_eq!(text(&html, "#role-name").unwrap(), "librarian");
    assert_eq!(attr(&html, "#r-permissions", "value").unwrap(), "read chat");
    assert_eq!(
        attr(&html, "#r-description", "value").unwrap(),
        "Library staff"
    );
    assert!(attr(&html, "#r-mfa", "checked").is_none());

    let user = app.create_user("lib@example.com", "librarian").await;
    let pwd = app.password_client();
    let scope = |resp: reqwest::Response| async move {
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        body["scope"].as_str().unwrap().to_string()
    };
    let granted = scope(
        app.password_grant_scoped(&pwd, &user.email, "read write")
            .await,
    )
    .await;
    assert_eq!(granted, "read");

    let fields = [
        ("permissions", Some("read write chat")),
        ("description", Some("")),
        ("confirm", Some("yes")),
    ];
    let resp = submit(&app, &b, "/admin/roles/librarian", "#role-form", &fields).await;
    assert_eq!(notice_after(&app, &b, resp).await, "The role was saved.");
    let html = page(&app, &b, "/admin/roles/librarian").await;
    assert_eq!(
        attr(&html, "#r-permissions", "value").unwrap(),
        "read write chat"
    );
    assert_eq!(attr(&html, "#r-description", "value").unwrap(), "");
    let changed = events(&app, "role_changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].2["actor"], actor.as_str());
    assert_eq!(
        changed[0].2["changed"],
        serde_json::json!(["permissions", "description"])
    );
    // Honoured at once: a fresh token carries the new permission.
    let granted = scope(
        app.password_grant_scoped(&pwd, &user.email, "read write")
            .await,
    )
    .await;
    assert_eq!(granted, "read write");

    let fields = [("name", Some("spare")), ("confirm", Some("yes"))];
    let resp = submit(&app, &b, "/admin/roles/new", "#role-form", &fields).await;
    assert_eq!(notice_after(&app, &b, resp).await, "The role was created.");
    let resp = submit(
        &app,
        &b,
        "/admin/roles/spare",
        "#delete-form",
        &[("confirm", Some("yes"))],
    )
    .await;
    assert_eq!(notice_after(&app, &b, resp).await, "The role was deleted.");
    let (status, _, _) = get(&b, &app.url("/admin/roles/spare")).await;
    assert_eq!(status, 404);
    let deleted = events(&app, "role_deleted");
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].2["role"], "spare");
    assert_eq!(deleted[0].2["actor"], actor.as_str());
}

async fn refusals_are_shown_on_the_role_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, _) = admin(&app).await;

    // An invalid name: 400, the fields kept.
    let fields = [
        ("name", Some("no spaces")),
        ("permissions", Some("read")),
        ("require_mfa", Some("yes")),
        ("confirm", Some("yes")),
    ];
    let resp = submit(&app, &b, "/admin/roles/new", "#role-form", &fields).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#role-error").unwrap(),
        "Role name \"no spaces\" must be 1 to 64 letters, digits, '_', '-' or '.'."
    );
    assert_eq!(attr(&html, "#r-name", "value").unwrap(), "no spaces");
    assert_eq!(attr(&html, "#r-permissions", "value").unwrap(), "read");
    assert_eq!(attr(&html, "#r-mfa", "checked").unwrap(), "");
    // A name taken: the new-role form never replaces.
    let fields = [("name", Some("student")), ("confirm", Some("yes"))];
    let resp = submit(&app, &b, "/admin/roles/new", "#role-form", &fields).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#role-error").unwrap(),
        "Role \"student\" already exists."
    );

    // In use, default, and the administrator's own role losing the admin scope.
    app.create_user("s@example.com", "student").await;
    let confirm = [("confirm", Some("yes"))];
    let resp = submit(&app, &b, "/admin/roles/student", "#delete-form", &confirm).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#role-delete-error").unwrap(),
        "Role \"student\" is still the role of 1 user(s): give them another role first."
    );
    let html = page(&app, &b, "/admin/roles/guest").await;
    assert!(text(&html, "#role-default").is_some());
    assert!(text(&html, "#delete-form").is_none());
    let form = set(
        browser_form(&html, "#role-form"),
        &[("confirm", Some("yes"))],
    );
    let resp = post_form(&b, &app.url("/admin/roles/guest/delete"), &form).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#role-delete-error").unwrap(),
        "Role \"guest\" is users.default_role (the role of new users): it can't be deleted."
    );
    let fields = [
        ("permissions", Some("read write")),
        ("confirm", Some("yes")),
    ];
    let resp = submit(&app, &b, "/admin/roles/admin", "#role-form", &fields).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(text(&html, "#role-error")
        .unwrap()
        .contains("without portcullis:admin you would lock yourself out"));
    assert_eq!(
        attr(&html, "#r-permissions", "value").unwrap(),
        "read write"
    );
    assert!(events(&app, "role_changed").is_empty());
    assert!(events(&app, "role_deleted").is_empty());
    // Still an administrator.
    page(&app, &b, "/admin/roles").await;
}

async fn scope_descriptions_are_edited_on_the_roles_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, admin_id) = admin(&app).await;
    let html = page(&app, &b, "/admin/roles").await;
    assert_eq!(
        attr(&html, "#scope-chat input[name=en]", "value").unwrap(),
        "Chat on your behalf"
    );
    assert_eq!(
        attr(&html, "#scope-chat input[name=de]", "value").unwrap(),
        "In Ihrem Namen chatten"
    );

    let fields = [
        ("en", Some("Chat for you")),
        ("de", Some("")),
        ("confirm", Some("yes")),
    ];
    let resp = submit(&app, &b, "/admin/roles", "#scope-chat", &fields).await;
    assert_eq!(
        notice_after(&app, &b, resp).await,
        "The scope's descriptions were saved."
    );
    let html = page(&app, &b, "/admin/roles").await;
    assert_eq!(
        attr(&html, "#scope-chat input[name=en]", "value").unwrap(),
        "Chat for you"
    );
    assert_eq!(
        attr(&html, "#scope-chat input[name=de]", "value").unwrap(),
        ""
    );
    let described = by_admins(&app, "scope_described");
    assert_eq!(described.len(), 1);
    assert_eq!(described[0]["actor"], format!("admin:{admin_id}"));
    assert_eq!(described[0]["scope"], "chat");
    assert_eq!(described[0]["languages"], serde_json::json!(["en"]));

    let long = "x".repeat(501);
    let fields = [("en", Some(long.as_str())), ("confirm", Some("yes"))];
    let resp = submit(&app, &b, "/admin/roles", "#scope-chat", &fields).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#scope-chat .alert-error").unwrap(),
        "descriptions.en: one line of 1 to 500 characters"
    );
    assert_eq!(
        attr(&html, "#scope-chat input[name=en]", "value").unwrap(),
        long
    );
    let resp = submit(&app, &b, "/admin/roles", "#scope-chat", &[]).await;
    assert_eq!(resp.status(), 400, "not confirmed");
    assert_eq!(by_admins(&app, "scope_described").len(), 1);
}

async fn role_forms_need_confirmation_csrf_and_an_administrator(backend: Backend) {
    let app = spawn_app(backend).await;
    let (b, _) = admin(&app).await;
    let fields = [("name", Some("librarian")), ("permissions", Some("read"))];
    let resp = submit(&app, &b, "/admin/roles/new", "#role-form", &fields).await;
    assert_eq!(resp.status(), 400, "not confirmed");
    let html = resp.text().await.unwrap();
    assert_eq!(text(&html, "#error-title").unwrap(), "Please confirm");
    let resp = submit(&app, &b, "/admin/roles/student", "#delete-form", &[]).await;
    assert_eq!(resp.status(), 400, "not confirmed");
    let fields = [
        ("name", Some("librarian")),
        ("csrf_token", None),
        ("confirm", Some("yes")),
    ];
    let resp = submit(&app, &b, "/admin/roles/new", "#role-form", &fields).await;
    assert_eq!(resp.status(), 403);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text(&html, "#error-title").unwrap(),
        "This form has expired"
    );
    assert!(by_admins(&app, "role_created").is_empty());
    assert_eq!(
        text(&page(&app, &b, "/admin/roles/student").await, "#role-name").unwrap(),
        "student"
    );

    // Signed in but no administrator: 403 on the pages and on every form.
    let student = app.create_user("student@example.com", "student").await;
    let s = signed_in_at(&app, &student.email, "/account").await;
    for path in ["/admin/roles/new", "/admin/roles/student"] {
        let (status, _, html) = get(&s, &app.url(path)).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(text(&html, "#error-title").unwrap(), "Administrators only");
    }
    let (_, _, account) = get(&s, &app.url("/account")).await;
    let token = form_fields(&account, "#sign-out-form")
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1;
    for action in [
        "/admin/roles/new",
        "/admin/roles/student",
        "/admin/roles/student/delete",
        "/admin/scopes/chat",
    ] {
        let form = vec![
            ("csrf_token".to_string(), token.clone()),
            ("confirm".to_string(), "yes".to_string()),
            ("name".to_string(), "sneaky".to_string()),
            ("permissions".to_string(), "portcullis:admin".to_string()),
        ];
        let resp = post_form(&s, &app.url(action), &form).await;
        assert_eq!(resp.status(), 403, "{action}");
    }
    assert!(by_admins(&app, "role_created").is_empty());
    assert!(by_admins(&app, "role_changed").is_empty());
    assert!(by_admins(&app, "scope_described").is_empty());
}
