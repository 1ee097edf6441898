//! `/admin/api/roles/{name}` and `/admin/api/scopes`: create, replace, read and delete roles,
//! describe scopes; the refusals (in use, default role, invalid, an administrator locking
//! themselves out), the audit events naming the actor, and a change honoured at once.
use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_api::{assert_error, call, service_token, user_token};
use crate::both_backends;
use crate::helpers::{spawn_app, Backend, TestApp};

both_backends!(
    roles_are_created_replaced_read_and_deleted,
    deleting_refuses_roles_in_use_and_the_default_role,
    an_administrator_cannot_take_the_admin_scope_from_their_own_role,
    scope_descriptions_are_read_and_replaced,
);

/// The scope a fresh password-grant token of `email` is granted when asking for `read write`.
async fn granted(app: &TestApp, email: &str) -> String {
    let client = app.password_client();
    let resp = app
        .password_grant_scoped(&client, email, "read write")
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["scope"].as_str().unwrap().to_string()
}

/// The audit events of `kind`, newest first.
async fn events(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let path = format!("/admin/api/audit?kind={kind}");
    let answer = call(app, Method::GET, Some(token), &path, None).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    answer.1["items"].as_array().unwrap().clone()
}

async fn roles_are_created_replaced_read_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (me, token) = service_token(&app).await;
    let t = Some(token.as_str());
    let actor = format!("client:{me}");

    let created = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/roles/librarian",
        Some(json!({ "permissions": ["read"], "require_mfa": false, "description": "Staff" })),
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    assert_eq!(
        created.1,
        json!({ "name": "librarian", "permissions": ["read"], "require_mfa": false,
            "default": false, "description": "Staff" })
    );
    let read = call(&app, Method::GET, t, "/admin/api/roles/librarian", None).await;
    assert_eq!(read, (200, created.1.clone()));

    let user = app.create_user("lib@example.com", "librarian").await;
    assert_eq!(granted(&app, &user.email).await, "read");

    let replaced = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/roles/librarian",
        Some(json!({ "permissions": ["read", "write"], "require_mfa": false })),
    )
    .await;
    assert_eq!(replaced.0, 200, "{}", replaced.1);
    assert_eq!(replaced.1["permissions"], json!(["read", "write"]));
    assert_eq!(replaced.1["description"], Value::Null);
    // This instance re-read its roles: a fresh token carries the new permission.
    assert_eq!(granted(&app, &user.email).await, "read write");

    let invalid = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/roles/no%20spaces",
        Some(json!({ "permissions": ["read"], "require_mfa": false })),
    )
    .await;
    assert_error(&invalid, 422, "invalid_role");
    assert_eq!(
        invalid.1["details"]["problems"].as_array().unwrap().len(),
        1
    );
    let bad_permission = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/roles/librarian",
        Some(json!({ "permissions": ["read", "read"], "require_mfa": false })),
    )
    .await;
    assert_error(&bad_permission, 422, "invalid_role");
    let control = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/roles/librarian",
        Some(json!({ "permissions": ["read"], "require_mfa": false, "description": "a\u{0}b" })),
    )
    .await;
    assert_error(&control, 400, "invalid_request");
    let unknown_field = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/roles/librarian",
        Some(json!({ "permissions": [], "require_mfa": false, "admin": true })),
    )
    .await;
    assert_error(&unknown_field, 400, "invalid_request");

    let spare = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/roles/spare",
        Some(json!({ "permissions": [], "require_mfa": true })),
    )
    .await;
    assert_eq!(spare.0, 201, "{}", spare.1);
    let deleted = call(&app, Method::DELETE, t, "/admin/api/roles/spare", None).await;
    assert_eq!(deleted, (204, Value::Null));
    let gone = call(&app, Method::GET, t, "/admin/api/roles/spare", None).await;
    assert_error(&gone, 404, "not_found");
    let again = call(&app, Method::DELETE, t, "/admin/api/roles/spare", None).await;
    assert_error(&again, 404, "not_found");

    let made = events(&app, &token, "role_created").await;
    let made: Vec<&Value> = made
        .iter()
        .filter(|e| e["detail"]["actor"] == actor.as_str())
        .collect();
    assert_eq!(made.len(), 2);
    assert_eq!(made[1]["detail"]["role"], "librarian");
    let changed = events(&app, &token, "role_changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["detail"]["actor"], actor.as_str());
    assert_eq!(
        changed[0]["detail"]["changed"],
        json!(["permissions", "description"])
    );
    let removed = events(&app, &token, "role_deleted").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["detail"]["role"], "spare");
    assert_eq!(removed[0]["detail"]["actor"], actor.as_str());
}

async fn deleting_refuses_roles_in_use_and_the_default_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = service_token(&app).await;
    let t = Some(token.as_str());
    app.create_user("a@example.com", "student").await;
    app.create_user("b@example.com", "student").await;

    let in_use = call(&app, Method::DELETE, t, "/admin/api/roles/student", None).await;
    assert_error(&in_use, 409, "role_in_use");
    assert_eq!(in_use.1["details"]["users"], 2);
    assert!(in_use.1["error_description"]
        .as_str()
        .unwrap()
        .contains("2 user(s)"));
    let default = call(&app, Method::DELETE, t, "/admin/api/roles/guest", None).await;
    assert_error(&default, 409, "default_role");
    let unknown = call(&app, Method::GET, t, "/admin/api/roles/nobody", None).await;
    assert_error(&unknown, 404, "not_found");

    let list = call(&app, Method::GET, t, "/admin/api/roles", None).await;
    let names: Vec<&str> = list.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "guest", "instructor", "student"]);
    assert!(events(&app, &token, "role_deleted").await.is_empty());
}

async fn an_administrator_cannot_take_the_admin_scope_from_their_own_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.create_user("root@example.com", "admin").await;
    let token = user_token(&app, &admin.email, "portcullis:admin").await;
    let t = Some(token.as_str());

    let lockout = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/roles/admin",
        Some(json!({ "permissions": ["read"], "require_mfa": false })),
    )
    .await;
    assert_error(&lockout, 409, "self_change");
    let kept = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/roles/admin",
        Some(json!({ "permissions": ["read", "portcullis:admin"], "require_mfa": false })),
    )
    .await;
    assert_eq!(kept.0, 200, "{}", kept.1);
    assert_eq!(kept.1["permissions"], json!(["read", "portcullis:admin"]));
    // Still an administrator.
    let list = call(&app, Method::GET, t, "/admin/api/roles", None).await;
    assert_eq!(list.0, 200);
    let changed = events(&app, &token, "role_changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["detail"]["actor"], format!("admin:{}", admin.id));

    // Another role may lose the scope; a service client may change the admin role.
    let (_, service) = service_token(&app).await;
    let by_client = call(
        &app,
        Method::PUT,
        Some(service.as_str()),
        "/admin/api/roles/admin",
        Some(json!({ "permissions": ["read"], "require_mfa": false })),
    )
    .await;
    assert_eq!(by_client.0, 200, "{}", by_client.1);
    let refused = call(&app, Method::GET, t, "/admin/api/roles", None).await;
    assert_error(&refused, 403, "forbidden");
}

async fn scope_descriptions_are_read_and_replaced(backend: Backend) {
    let app = spawn_app(backend).await;
    let (me, token) = service_token(&app).await;
    let t = Some(token.as_str());

    let stored = call(&app, Method::GET, t, "/admin/api/scopes", None).await;
    assert_eq!(stored.0, 200);
    assert_eq!(
        stored.1["chat"],
        json!({ "de": "In Ihrem Namen chatten", "en": "Chat on your behalf" })
    );
    assert_eq!(stored.1["library:loans"], Value::Null);

    let texts = json!({ "descriptions": { "en": "See your loans", "de": "Ihre Ausleihen sehen" } });
    let put = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/scopes/library:loans",
        Some(texts.clone()),
    )
    .await;
    assert_eq!(put, (200, texts));
    let stored = call(&app, Method::GET, t, "/admin/api/scopes", None).await;
    assert_eq!(
        stored.1["library:loans"],
        json!({ "en": "See your loans", "de": "Ihre Ausleihen sehen" })
    );

    let french = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/scopes/read",
        Some(json!({ "descriptions": { "en": "Read", "fr": "Lire" } })),
    )
    .await;
    assert_error(&french, 422, "invalid_scope_description");
    assert_eq!(
        french.1["details"]["problems"],
        json!(["descriptions: unknown language \"fr\" (known: en, de)"])
    );
    let empty = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/scopes/read",
        Some(json!({ "descriptions": { "en": " " } })),
    )
    .await;
    assert_error(&empty, 422, "invalid_scope_description");
    let control = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/scopes/read",
        Some(json!({ "descriptions": { "de": "a\u{0}b" } })),
    )
    .await;
    assert_error(&control, 400, "invalid_request");
    let bad_scope = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/scopes/a%22b",
        Some(json!({ "descriptions": {} })),
    )
    .await;
    assert_error(&bad_scope, 422, "invalid_scope_description");

    let cleared = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/scopes/chat",
        Some(json!({ "descriptions": {} })),
    )
    .await;
    assert_eq!(cleared.0, 200);
    let stored = call(&app, Method::GET, t, "/admin/api/scopes", None).await;
    assert_eq!(stored.1["chat"], Value::Null);

    let described = events(&app, &token, "scope_described").await;
    let mine: Vec<&Value> = described
        .iter()
        .filter(|e| e["detail"]["actor"] == format!("client:{me}").as_str())
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0]["detail"]["scope"], "chat");
    assert_eq!(mine[1]["detail"]["scope"], "library:loans");
    assert_eq!(mine[1]["detail"]["languages"], json!(["de", "en"]));
}
