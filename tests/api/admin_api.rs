//! `/admin/api/*`: what an administrator's token (password grant) and a service client's token
//! (client_credentials, registered with `portcullis:admin`) may do, exact answers, the audit
//! events naming the actor, pagination, and every refusal (401 without a live token, 403 without
//! the scope, for a non-administrator, or without the second factor the role requires).
use portcullis::oauth::registration::ClientSpec;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with, verify_with_jwks, Backend, TestApp, PASSWORD};

both_backends!(
    a_service_client_manages_clients,
    an_administrator_manages_users_sessions_and_api_keys,
    refusals_name_the_reason,
    a_role_requiring_mfa_needs_a_second_factor,
    lists_page_and_bad_input_is_400_or_404,
    keys_roles_and_settings_are_readable,
);

const ADMIN: &str = "portcullis:admin";

/// A service client registered with the admin scope, and its token.
pub(crate) async fn service_token(app: &TestApp) -> (String, String) {
    let client = app.create_client(ClientSpec {
        name: "ops-bot".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec![ADMIN.into()],
        ..ClientSpec::default()
    });
    let resp = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    (
        client.id,
        body["access_token"].as_str().unwrap().to_string(),
    )
}

/// A user's token from the password grant through a client that may ask for `scope`.
pub(crate) async fn user_token(app: &TestApp, email: &str, scope: &str) -> String {
    let client = app.create_client(ClientSpec {
        name: "admin app".into(),
        grant_types: vec!["password".into()],
        scopes: vec!["openid".into(), ADMIN.into(), "read".into()],
        ..ClientSpec::default()
    });
    let resp = app
        .token_basic(
            &client,
            &[
                ("grant_type", "password"),
                ("username", email),
                ("password", PASSWORD),
                ("scope", scope),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// Calls the admin API; answers the status and the JSON body (`Null` when empty), checking
/// `Cache-Control: no-store` on every answer.
pub(crate) async fn call(
    app: &TestApp,
    method: Method,
    token: Option<&str>,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.api.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, value)
}

pub(crate) fn assert_error(answer: &(u16, Value), status: u16, error: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], error, "{}", answer.1);
    assert!(answer.1["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

async fn a_service_client_manages_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    let (me, token) = service_token(&app).await;
    let t = Some(token.as_str());

    let created = call(
        &app,
        Method::POST,
        t,
        "/admin/api/clients",
        Some(json!({
            "name": "reports", "grant_types": ["client_credentials"], "scopes": ["read"],
            "audiences": ["https://api.example.com"]
        })),
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let id = created.1["client"]["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = created.1["client_secret"].as_str().unwrap().to_string();
    assert_eq!(created.1["client"]["name"], "reports");
    assert_eq!(created.1["client"]["kind"], "managed");
    assert_eq!(created.1["client"]["scopes"], json!(["read"]));
    assert_eq!(
        created.1["client"]["grant_types"],
        json!(["client_credentials"])
    );

    let one = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/clients/{id}"),
        None,
    )
    .await;
    assert_eq!(one.0, 200);
    assert_eq!(one.1, created.1["client"]);
    assert!(one.1.get("client_secret").is_none() && one.1.get("secret_hash").is_none());

    let listed = call(&app, Method::GET, t, "/admin/api/clients?q=REPO", None).await;
    assert_eq!(listed.0, 200);
    assert_eq!(listed.1["total"], 1);
    assert_eq!(listed.1["limit"], 50);
    assert_eq!(listed.1["offset"], 0);
    assert_eq!(listed.1["items"][0]["client_id"], id.as_str());

    // Replace: the id, creation time and secret stay.
    let replaced = call(
        &app,
        Method::PUT,
        t,
        &format!("/admin/api/clients/{id}"),
        Some(json!({
            "name": "reports v2", "grant_types": ["client_credentials"],
            "scopes": ["read", "write"], "audiences": ["https://api.example.com"]
        })),
    )
    .await;
    assert_eq!(replaced.0, 200, "{}", replaced.1);
    assert_eq!(replaced.1["name"], "reports v2");
    assert_eq!(replaced.1["scopes"], json!(["read", "write"]));
    assert_eq!(replaced.1["created_at"], one.1["created_at"]);
    assert!(replaced.1.get("client_secret").is_none());
    // The kind stays: public ↔ confidential is a new client.
    let kind = call(
        &app,
        Method::PUT,
        t,
        &format!("/admin/api/clients/{id}"),
        Some(
            json!({ "name": "reports v2", "public": true, "grant_types": ["authorization_code"],
            "redirect_uris": ["https://app.example.com/cb"] }),
        ),
    )
    .await;
    assert_error(&kind, 422, "invalid_client_metadata");
    assert!(kind.1["error_description"]
        .as_str()
        .unwrap()
        .contains("public and confidential"));
    let client = crate::helpers::TestClient {
        id: id.clone(),
        secret: secret.clone(),
    };
    let resp = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(resp.status(), 200);

    // Invalid settings: 422 with each problem.
    let invalid = call(
        &app,
        Method::PUT,
        t,
        &format!("/admin/api/clients/{id}"),
        Some(json!({ "name": "x", "grant_types": ["telepathy"] })),
    )
    .await;
    assert_error(&invalid, 422, "invalid_client_metadata");
    assert!(invalid.1["details"]["problems"][0]
        .as_str()
        .unwrap()
        .contains("telepathy"));
    let unknown = call(
        &app,
        Method::PUT,
        t,
        "/admin/api/clients/nope",
        Some(json!({ "name": "x", "grant_types": ["client_credentials"] })),
    )
    .await;
    assert_error(&unknown, 404, "not_found");

    // A new secret, shown once: the old one stops working.
    let rotated = call(
        &app,
        Method::POST,
        t,
        &format!("/admin/api/clients/{id}/secret"),
        None,
    )
    .await;
    assert_eq!(rotated.0, 200);
    assert_eq!(rotated.1["client_id"], id.as_str());
    let new_secret = rotated.1["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    let resp = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(resp.status(), 401);

    // A client may not delete itself; it may delete another.
    let own = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/clients/{me}"),
        None,
    )
    .await;
    assert_error(&own, 409, "self_change");
    assert_eq!(own.1["error_description"], "a client can't delete itself");
    let deleted = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/clients/{id}"),
        None,
    )
    .await;
    assert_eq!(deleted, (204, Value::Null));
    let gone = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/clients/{id}"),
        None,
    )
    .await;
    assert_error(&gone, 404, "not_found");
    let again = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/clients/{id}"),
        None,
    )
    .await;
    assert_error(&again, 404, "not_found");

    // Every change is audited, naming the service client as the actor.
    let audit = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/audit?client={id}&kind=client_changed"),
        None,
    )
    .await;
    assert_eq!(audit.0, 200);
    assert_eq!(audit.1["total"], 3, "{}", audit.1);
    let actor = format!("client:{me}");
    let items = audit.1["items"].as_array().unwrap();
    assert!(items.iter().all(|e| e["detail"]["actor"] == actor.as_str()));
    assert_eq!(items[0]["detail"]["deleted"], true);
    assert_eq!(items[1]["detail"]["secret_rotated"], true);
    assert_eq!(items[2]["detail"]["changed"], json!(["name", "scopes"]));
    let created_events = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/audit?client={id}&kind=client_created"),
        None,
    )
    .await;
    assert_eq!(created_events.1["total"], 1);
    assert_eq!(
        created_events.1["items"][0]["detail"]["actor"],
        actor.as_str()
    );
}

async fn an_administrator_manages_users_sessions_and_api_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.create_user("root@example.com", "admin").await;
    let token = user_token(&app, &admin.email, ADMIN).await;
    let t = Some(token.as_str());
    let actor = format!("admin:{}", admin.id);

    let new = json!({
        "email": "ada@example.com", "password": "Analytical-Engine-1843", "name": "Ada",
        "role": "student", "email_verified": true
    });
    let created = call(&app, Method::POST, t, "/admin/api/users", Some(new.clone())).await;
    assert_eq!(created.0, 201, "{}", created.1);
    assert_eq!(created.1["email"], "ada@example.com");
    assert_eq!(created.1["role"], "student");
    assert_eq!(created.1["disabled"], false);
    let id = created.1["id"].as_str().unwrap().to_string();
    let taken = call(&app, Method::POST, t, "/admin/api/users", Some(new)).await;
    assert_error(&taken, 409, "email_taken");
    let weak = call(
        &app,
        Method::POST,
        t,
        "/admin/api/users",
        Some(json!({ "email": "weak@example.com", "password": "short" })),
    )
    .await;
    assert_error(&weak, 422, "weak_password");
    let no_role = call(
        &app,
        Method::POST,
        t,
        "/admin/api/users",
        Some(
            json!({ "email": "r@example.com", "password": "Analytical-Engine-1843",
            "role": "emperor" }),
        ),
    )
    .await;
    assert_error(&no_role, 422, "unknown_role");

    let found = call(&app, Method::GET, t, "/admin/api/users?q=ADA", None).await;
    assert_eq!(found.0, 200);
    assert_eq!(found.1["total"], 1);
    assert_eq!(found.1["items"][0]["id"], id.as_str());

    let patched = call(
        &app,
        Method::PATCH,
        t,
        &format!("/admin/api/users/{id}"),
        Some(json!({ "role": "instructor" })),
    )
    .await;
    assert_eq!(patched.0, 200, "{}", patched.1);
    assert_eq!(patched.1["role"], "instructor");
    // An administrator can't lock themselves out.
    let own = call(
        &app,
        Method::PATCH,
        t,
        &format!("/admin/api/users/{}", admin.id),
        Some(json!({ "disabled": true })),
    )
    .await;
    assert_error(&own, 409, "self_change");
    assert!(own.1["error_description"]
        .as_str()
        .unwrap()
        .contains("disable"));

    // Sessions: Ada signs in twice; one ends, then all.
    let ada_client = app.password_client();
    for _ in 0..3 {
        let resp = app
            .password_grant(&ada_client, "ada@example.com", "Analytical-Engine-1843")
            .await;
        assert_eq!(resp.status(), 200);
    }
    let sessions = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/users/{id}/sessions"),
        None,
    )
    .await;
    assert_eq!(sessions.0, 200);
    assert_eq!(sessions.1["total"], 3);
    let sid = sessions.1["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(sessions.1["items"][0]["amr"], "pwd");
    let ended = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/sessions/{sid}"),
        None,
    )
    .await;
    assert_eq!(ended, (204, Value::Null));
    let again = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/sessions/{sid}"),
        None,
    )
    .await;
    assert_error(&again, 404, "not_found");
    let all = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/users/{id}/sessions"),
        None,
    )
    .await;
    assert_eq!(all, (200, json!({ "ended": 2 })));

    // An API key Ada made herself, revoked by the administrator.
    let login = app
        .account_login("ada@example.com", "Analytical-Engine-1843")
        .await;
    let resp = app
        .api
        .post(app.url("/api/keys"))
        .bearer_auth(login["access_token"].as_str().unwrap())
        .json(&json!({ "name": "laptop" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let keys = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/api-keys?user={id}"),
        None,
    )
    .await;
    assert_eq!(keys.1["total"], 1);
    assert_eq!(keys.1["items"][0]["user_id"], id.as_str());
    assert_eq!(keys.1["items"][0]["name"], "laptop");
    let key_id = keys.1["items"][0]["id"].as_str().unwrap().to_string();
    let revoked = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/api-keys/{key_id}"),
        None,
    )
    .await;
    assert_eq!(revoked, (204, Value::Null));
    let twice = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/api-keys/{key_id}"),
        None,
    )
    .await;
    assert_error(&twice, 404, "not_found");

    let unlocked = call(
        &app,
        Method::POST,
        t,
        &format!("/admin/api/users/{id}/unlock"),
        None,
    )
    .await;
    assert_eq!(unlocked.0, 200);
    assert_eq!(unlocked.1["locked_until"], Value::Null);

    // The audit log names the administrator.
    let audit = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/audit?user={id}&kind=user_changed"),
        None,
    )
    .await;
    assert_eq!(audit.1["total"], 2, "{}", audit.1);
    assert_eq!(
        audit.1["items"][0]["detail"],
        json!({ "unlocked": true, "actor": actor })
    );
    assert_eq!(
        audit.1["items"][1]["detail"],
        json!({ "role": "instructor", "actor": actor })
    );
    let revocations = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/audit?user={id}&kind=api_key_revoked"),
        None,
    )
    .await;
    assert_eq!(revocations.1["items"][0]["detail"]["actor"], actor.as_str());

    // Both changes at once, or neither.
    let both = call(
        &app,
        Method::PATCH,
        t,
        &format!("/admin/api/users/{id}"),
        Some(json!({ "role": "guest", "disabled": true })),
    )
    .await;
    assert_eq!(both.0, 200, "{}", both.1);
    assert_eq!(
        (&both.1["role"], &both.1["disabled"]),
        (&json!("guest"), &json!(true))
    );
    let neither = call(
        &app,
        Method::PATCH,
        t,
        &format!("/admin/api/users/{id}"),
        Some(json!({ "disabled": false, "role": "emperor" })),
    )
    .await;
    assert_error(&neither, 422, "unknown_role");
    let still = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/users/{id}"),
        None,
    )
    .await;
    assert_eq!(still.1["disabled"], true);
    let deleted = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/users/{id}"),
        None,
    )
    .await;
    assert_eq!(deleted, (204, Value::Null));
    let gone = call(
        &app,
        Method::GET,
        t,
        &format!("/admin/api/users/{id}"),
        None,
    )
    .await;
    assert_error(&gone, 404, "not_found");
    let own_delete = call(
        &app,
        Method::DELETE,
        t,
        &format!("/admin/api/users/{}", admin.id),
        None,
    )
    .await;
    assert_error(&own_delete, 409, "self_change");
}

async fn refusals_name_the_reason(backend: Backend) {
    let app = spawn_app(backend).await;

    // No token: 401 with a bare challenge; a bad one: invalid_token.
    let resp = app
        .api
        .get(app.url("/admin/api/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\""
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let resp = app
        .api
        .get(app.url("/admin/api/users"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");

    // A service client without the admin scope.
    let plain = app.service_client();
    let resp = app
        .token_basic(&plain, &[("grant_type", "client_credentials")])
        .await;
    let plain_token: Value = resp.json().await.unwrap();
    let answer = call(
        &app,
        Method::GET,
        plain_token["access_token"].as_str(),
        "/admin/api/clients",
        None,
    )
    .await;
    assert_error(&answer, 403, "insufficient_scope");

    // A user's token without the scope (the account API's).
    let student = app.create_user("student@example.com", "student").await;
    let login = app.account_login(&student.email, PASSWORD).await;
    let answer = call(
        &app,
        Method::GET,
        login["access_token"].as_str(),
        "/admin/api/users",
        None,
    )
    .await;
    assert_error(&answer, 403, "insufficient_scope");

    // An administrator's token, while they are one.
    let admin = app.create_user("root@example.com", "admin").await;
    let token = user_token(&app, &admin.email, ADMIN).await;
    let ok = call(&app, Method::GET, Some(&token), "/admin/api/users", None).await;
    assert_eq!(ok.0, 200);
    // Demoted since: the role is looked up now.
    let mut conn = app.db.get().unwrap();
    portcullis::store::users::set_role(&mut conn, &admin.id, "student", app.clock_now()).unwrap();
    let answer = call(&app, Method::GET, Some(&token), "/admin/api/users", None).await;
    assert_error(&answer, 403, "forbidden");
    portcullis::store::users::set_role(&mut conn, &admin.id, "admin", app.clock_now()).unwrap();
    drop(conn);

    // Disabled by another administrator (a service client): the token dies with the account.
    let (_, service) = service_token(&app).await;
    let disabled = call(
        &app,
        Method::PATCH,
        Some(&service),
        &format!("/admin/api/users/{}", admin.id),
        Some(json!({ "disabled": true })),
    )
    .await;
    assert_eq!(disabled.0, 200);
    assert_eq!(disabled.1["disabled"], true);
    let resp = app
        .api
        .get(app.url("/admin/api/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
}

async fn a_role_requiring_mfa_needs_a_second_factor(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let roles = dir.path().join("roles.toml");
    std::fs::write(
        &roles,
        "[roles]\nadmin = [\"read\", \"portcullis:admin\"]\nguest = [\"read\"]\n\
         [roles.secadmin]\npermissions = [\"portcullis:admin\"]\nrequire_mfa = true\n",
    )
    .unwrap();
    let app = spawn_app_with(backend, |s| s.users.roles_file = Some(roles.clone())).await;
    let admin = app.create_user("sec@example.com", "admin").await;
    let token = user_token(&app, &admin.email, ADMIN).await;
    assert_eq!(
        call(&app, Method::GET, Some(&token), "/admin/api/roles", None)
            .await
            .0,
        200
    );

    // Now in a role that requires a second factor; the session proved only a password.
    let mut conn = app.db.get().unwrap();
    portcullis::store::users::set_role(&mut conn, &admin.id, "secadmin", app.clock_now()).unwrap();
    let answer = call(&app, Method::GET, Some(&token), "/admin/api/roles", None).await;
    assert_error(&answer, 403, "forbidden");
    assert!(answer.1["error_description"]
        .as_str()
        .unwrap()
        .contains("second factor"));

    // The same session after a second factor.
    let (_, claims) = verify_with_jwks(&token, &app.jwks().await, &app.address, &app.address);
    let sid = claims["sid"].as_str().unwrap();
    portcullis::store::sessions::set_amr(&mut conn, sid, "pwd otp mfa").unwrap();
    drop(conn);
    let roles = call(&app, Method::GET, Some(&token), "/admin/api/roles", None).await;
    assert_eq!(roles.0, 200);
    let sec = roles.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "secadmin")
        .unwrap()
        .clone();
    assert_eq!(
        sec,
        json!({ "name": "secadmin", "permissions": [ADMIN], "require_mfa": true,
            "default": false, "description": null })
    );
}

async fn lists_page_and_bad_input_is_400_or_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = service_token(&app).await;
    let t = Some(token.as_str());
    for n in 0..5 {
        app.create_user(&format!("u{n}@example.com"), "guest").await;
    }
    let page = call(
        &app,
        Method::GET,
        t,
        "/admin/api/users?limit=2&offset=3",
        None,
    )
    .await;
    assert_eq!(page.0, 200);
    assert_eq!(page.1["total"], 5);
    assert_eq!(page.1["limit"], 2);
    assert_eq!(page.1["offset"], 3);
    let emails: Vec<&str> = page.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["u3@example.com", "u4@example.com"]);
    let past = call(&app, Method::GET, t, "/admin/api/users?offset=10", None).await;
    assert_eq!(
        past.1,
        json!({ "items": [], "total": 5, "limit": 50, "offset": 10 })
    );

    for bad in [
        "/admin/api/users?limit=0",
        "/admin/api/users?limit=201",
        "/admin/api/users?offset=-1",
        "/admin/api/users?limit=many",
        "/admin/api/audit?since=yesterday",
        "/admin/api/users?q=%00",
    ] {
        let answer = call(&app, Method::GET, t, bad, None).await;
        assert_error(&answer, 400, "invalid_request");
    }
    let answer = call(&app, Method::GET, t, "/admin/api/users/%00", None).await;
    assert_error(&answer, 404, "not_found");
    let answer = call(&app, Method::GET, t, "/admin/api/users/nobody", None).await;
    assert_error(&answer, 404, "not_found");
    let answer = call(&app, Method::GET, t, "/admin/api/nothing-here", None).await;
    assert_error(&answer, 404, "not_found");
    let answer = call(
        &app,
        Method::POST,
        t,
        "/admin/api/users",
        Some(json!({ "email": "x@example.com", "password": "Analytical-Engine-1843", "admin": true })),
    )
    .await;
    assert_error(&answer, 400, "invalid_request");
    let answer = call(
        &app,
        Method::PATCH,
        t,
        "/admin/api/users/nobody",
        Some(json!({ "disabled": true })),
    )
    .await;
    assert_error(&answer, 404, "not_found");
}

async fn keys_roles_and_settings_are_readable(backend: Backend) {
    let app = spawn_app(backend).await;
    let (me, token) = service_token(&app).await;
    let t = Some(token.as_str());

    let keys = call(&app, Method::GET, t, "/admin/api/keys", None).await;
    assert_eq!(keys.0, 200);
    let key = &keys.1["items"][0];
    assert_eq!(key["state"], "active");
    assert_eq!(key["alg"], "RS256");
    let mut fields: Vec<&str> = key
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "alg",
            "created_at",
            "generation",
            "kid",
            "published_at",
            "removed_at",
            "retires_at",
            "signs_from",
            "state"
        ]
    );

    let rotated = call(
        &app,
        Method::POST,
        t,
        "/admin/api/keys/rotation",
        Some(json!({})),
    )
    .await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    assert_eq!(rotated.1["rotations"][0]["outcome"], "scheduled");
    assert_eq!(rotated.1["rotations"][0]["key"]["state"], "pending");
    let kid = rotated.1["rotations"][0]["key"]["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let again = call(
        &app,
        Method::POST,
        t,
        "/admin/api/keys/rotation",
        Some(json!({})),
    )
    .await;
    assert_eq!(again.1["rotations"][0]["outcome"], "already_pending");
    assert_eq!(again.1["rotations"][0]["key"]["kid"], kid.as_str());
    let bad = call(
        &app,
        Method::POST,
        t,
        "/admin/api/keys/rotation",
        Some(json!({ "alg": "HS256" })),
    )
    .await;
    assert_error(&bad, 422, "unknown_alg");
    let audit = call(
        &app,
        Method::GET,
        t,
        "/admin/api/audit?kind=key_rotated",
        None,
    )
    .await;
    assert_eq!(audit.1["total"], 1);
    assert_eq!(audit.1["items"][0]["detail"]["kid"], kid.as_str());
    assert_eq!(
        audit.1["items"][0]["detail"]["actor"],
        format!("client:{me}")
    );
    let now = app.clock_now();
    let window = call(
        &app,
        Method::GET,
        t,
        &format!(
            "/admin/api/audit?kind=key_rotated&since={}&until={}",
            now + 1,
            now + 100
        ),
        None,
    )
    .await;
    assert_eq!(window.1["total"], 0);

    let roles = call(&app, Method::GET, t, "/admin/api/roles", None).await;
    assert_eq!(roles.1["total"], 4);
    assert_eq!(
        roles.1["items"][1],
        json!({ "name": "guest", "permissions": ["read"], "require_mfa": false, "default": true,
            "description": "Reads only" })
    );

    let settings = call(&app, Method::GET, t, "/admin/api/settings", None).await;
    assert_eq!(settings.0, 200);
    assert_eq!(settings.1["issuer"], app.address.as_str());
    assert_eq!(settings.1, app.settings.redacted());

    // The document is public.
    let resp = app
        .api
        .get(app.url("/admin/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["paths"]["/admin/api/users/{id}"]["patch"]["responses"]["409"].is_object());
    assert!(doc["paths"]["/admin/api/clients"]["get"]["responses"]["401"].is_object());
    // The account API too, its public operations without the bearer requirement.
    assert_eq!(
        doc["paths"]["/api/auth/login"]["post"]["security"],
        json!([{}])
    );
    assert!(doc["paths"]["/api/auth/me"]["get"]["security"].is_null());
    assert_eq!(doc["security"], json!([{ "bearer": [] }]));
    assert!(doc["paths"]["/api/keys/{id}/rotate"]["post"]["responses"]["201"].is_object());
}
