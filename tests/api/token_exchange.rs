//! RFC 8693 token exchange at `/token`: a service trades a user's access token (from the
//! password or the code flow) or ID token for a token to another audience, by delegation
//! (`act` names it) or, with the flag, impersonation; and everything it may not do.
use portcullis::oauth::registration::ClientSpec;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    assert_oauth_error, spawn_app, verify_with_jwks, Backend, TestApp, TestClient,
};
use crate::web::{self, browser};

both_backends!(
    a_service_exchanges_a_users_token_for_another_audience,
    a_code_flow_token_and_its_id_token_can_be_exchanged,
    refusals,
    dead_subject_and_actor_tokens_are_invalid_grant,
    impersonation_only_with_the_flag,
);

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
const ID: &str = "urn:ietf:params:oauth:token-type:id_token";
const ORDERS: &str = "https://orders.example.com";

/// A confidential service that may exchange users' tokens for `audiences`.
fn exchanger(app: &TestApp, audiences: &[&str], tweak: impl FnOnce(&mut ClientSpec)) -> TestClient {
    let mut spec = ClientSpec {
        name: "gateway".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["read chat".into()],
        exchange_audiences: audiences.iter().map(|a| a.to_string()).collect(),
        ..ClientSpec::default()
    };
    tweak(&mut spec);
    app.create_client(spec)
}

/// `POST /token` with the exchange grant, the subject token and `extra`.
async fn exchange(
    app: &TestApp,
    client: &TestClient,
    subject: &str,
    subject_type: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", GRANT),
        ("subject_token", subject),
        ("subject_token_type", subject_type),
    ];
    form.extend_from_slice(extra);
    app.token_basic(client, &form).await
}

/// A 200 exchange answer: its shape, and the body.
async fn exchanged(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["issued_token_type"], ACCESS);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
    body
}

/// The password grant for a student (`read chat save_progress`) at the password client; the
/// token response.
async fn user_tokens(app: &TestApp, email: &str, scope: &str) -> (TestClient, String, Value) {
    let user = app.create_user(email, "student").await;
    let client = app.password_client();
    let resp = app.password_grant_scoped(&client, email, scope).await;
    assert_eq!(resp.status(), 200);
    (client, user.id, resp.json().await.unwrap())
}

fn access_token(body: &Value) -> &str {
    body["access_token"].as_str().unwrap()
}

/// Claims without checking anything (to compare with the subject token).
fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn a_service_exchanges_a_users_token_for_another_audience(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, user_id, tokens) = user_tokens(&app, "ada@example.com", "openid read chat").await;
    let subject = access_token(&tokens);
    let service = exchanger(&app, &[ORDERS, "billing"], |_| {});

    // Narrowed to `read`, for the orders API.
    let body = exchanged(
        exchange(
            &app,
            &service,
            subject,
            ACCESS,
            &[("audience", ORDERS), ("scope", "read")],
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "read");
    let jwks = app.jwks().await;
    let (header, at) = verify_with_jwks(access_token(&body), &jwks, &app.address, ORDERS);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(at["aud"], ORDERS, "exactly the target: {at}");
    assert_eq!(at["sub"], user_id.as_str());
    assert_eq!(at["client_id"], service.id.as_str());
    assert_eq!(at["scope"], "read");
    assert_eq!(
        at["act"],
        json!({ "sub": service.id, "client_id": service.id })
    );
    let original = claims(subject);
    assert_eq!(at["sid"], original["sid"]);
    assert_eq!(at["auth_time"], original["auth_time"]);
    assert_eq!(at["roles"], json!(["student"]));
    assert_ne!(at["jti"], original["jti"]);
    assert!(at["exp"].as_i64() <= original["exp"].as_i64());

    // Without `scope`: the subject's ∩ the client's (`openid` is not the service's).
    let body =
        exchanged(exchange(&app, &service, subject, ACCESS, &[("audience", "billing")]).await)
            .await;
    assert_eq!(body["scope"], "read chat");
    // Both an audience name and a resource: both in `aud`, in the order asked.
    let both = exchanged(
        exchange(
            &app,
            &service,
            subject,
            ACCESS,
            &[("resource", ORDERS), ("audience", "billing")],
        )
        .await,
    )
    .await;
    let (_, at) = verify_with_jwks(access_token(&both), &jwks, &app.address, "billing");
    assert_eq!(at["aud"], json!(["billing", ORDERS]));

    // The exchanged token is live by the same rule: introspection says so, and ending the
    // user's session (its `sid`) ends it too.
    let introspect = |token: String| {
        let app = &app;
        let service = &service;
        async move {
            let resp = app
                .api
                .post(app.url("/introspect"))
                .basic_auth(&service.id, Some(&service.secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap();
            resp.json::<Value>().await.unwrap()
        }
    };
    let info = introspect(access_token(&body).to_string()).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["sub"], user_id.as_str());
    assert_eq!(info["aud"], "billing");

    // A second hop: the orders API's own service exchanges the exchanged token; the chain
    // nests (RFC 8693 §4.1).
    let orders_svc = exchanger(&app, &["https://stock.example.com"], |s| {
        s.name = "orders".into();
    });
    let hop = exchanged(
        exchange(
            &app,
            &orders_svc,
            access_token(&body),
            ACCESS,
            &[("audience", "https://stock.example.com")],
        )
        .await,
    )
    .await;
    let (_, at) = verify_with_jwks(
        access_token(&hop),
        &jwks,
        &app.address,
        "https://stock.example.com",
    );
    assert_eq!(at["sub"], user_id.as_str());
    assert_eq!(
        at["act"],
        json!({ "sub": orders_svc.id, "client_id": orders_svc.id,
                "act": { "sub": service.id, "client_id": service.id } })
    );

    // Audited: subject, actor, client, audience.
    let mut conn = app.db.get().unwrap();
    let events = portcullis::store::audit::list(
        &mut conn,
        Some(&user_id),
        Some("token_exchanged"),
        None,
        10,
    )
    .unwrap();
    assert_eq!(events.len(), 4);
    let first = events.last().unwrap();
    assert_eq!(first.outcome, "success");
    assert_eq!(first.client_id.as_deref(), Some(service.id.as_str()));
    let detail: Value = serde_json::from_str(first.detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["actor"], service.id.as_str());
    assert_eq!(detail["audience"], json!([ORDERS]));
    assert_eq!(detail["subject_token_type"], ACCESS);
    assert_eq!(detail["scope"], "read");

    // Logging out everywhere (the account API's session end) kills the exchanged tokens.
    portcullis::store::sessions::end_session(
        &mut conn,
        original["sid"].as_str().unwrap(),
        app.clock_now(),
    )
    .unwrap();
    let info = introspect(access_token(&body).to_string()).await;
    assert_eq!(info, json!({ "active": false }));
}

/// The user signed in through the browser at a code-flow app that is also allowed to exchange:
/// its access token and its ID token both exchange for the API; another client cannot use the
/// ID token (it was issued to the app).
async fn a_code_flow_token_and_its_id_token_can_be_exchanged(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("grace@example.com", "student").await;
    let client = app.code_client_with(|s| {
        s.exchange_audiences = vec![ORDERS.into()];
        s.access_token_ttl_secs = Some(3600);
    });
    let (verifier, challenge) = web::pkce();
    let b = browser();
    let redirect = web::authorize_through(
        &app,
        &b,
        &TestApp::code_request(&client, &challenge, "openid email read"),
        &user.email,
        &user.password,
    )
    .await;
    let code = web::param(&redirect, "code").unwrap();
    let resp = web::exchange(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let jwks = app.jwks().await;

    let body = exchanged(
        exchange(
            &app,
            &client,
            access_token(&tokens),
            ACCESS,
            &[("resource", ORDERS)],
        )
        .await,
    )
    .await;
    // The subject's scopes ∩ the app's: all of them, as nothing narrows.
    assert_eq!(body["scope"], "openid email read");
    let (_, at) = verify_with_jwks(access_token(&body), &jwks, &app.address, ORDERS);
    assert_eq!(at["sub"], user.id.as_str());
    assert_eq!(at["act"]["sub"], client.id.as_str());

    // The ID token: who the user is, for the API; it carries no scope, so neither does this.
    let body =
        exchanged(exchange(&app, &client, id_token, ID, &[("audience", ORDERS)]).await).await;
    assert!(body.get("scope").is_none(), "{body}");
    let (_, at) = verify_with_jwks(access_token(&body), &jwks, &app.address, ORDERS);
    assert_eq!(at["sub"], user.id.as_str());
    assert_eq!(at["aud"], ORDERS);
    assert_eq!(
        at["act"],
        json!({ "sub": client.id, "client_id": client.id })
    );
    assert_eq!(at["sid"], claims(id_token)["sid"]);
    assert!(at.get("scope").is_none());
    // Never beyond the ID token's own expiry (the client's tokens live longer).
    assert!(at["exp"].as_i64() <= claims(id_token)["exp"].as_i64());
    assert_oauth_error(
        exchange(
            &app,
            &client,
            id_token,
            ID,
            &[("audience", ORDERS), ("scope", "read")],
        )
        .await,
        400,
        "invalid_scope",
    )
    .await;
    // Another client with the same policy may not use the app's ID token.
    let other = exchanger(&app, &[ORDERS], |_| {});
    assert_oauth_error(
        exchange(&app, &other, id_token, ID, &[("audience", ORDERS)]).await,
        400,
        "invalid_grant",
    )
    .await;
    // An access token is not an ID token, nor the other way round.
    assert_oauth_error(
        exchange(
            &app,
            &client,
            access_token(&tokens),
            ID,
            &[("audience", ORDERS)],
        )
        .await,
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        exchange(&app, &client, id_token, ACCESS, &[("audience", ORDERS)]).await,
        400,
        "invalid_grant",
    )
    .await;
}

async fn refusals(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, tokens) = user_tokens(&app, "ada@example.com", "read chat").await;
    let subject = access_token(&tokens);
    let service = exchanger(&app, &[ORDERS], |_| {});

    // An audience or a resource outside the policy.
    for extra in [
        [("audience", "https://admin.example.com")],
        [("resource", "https://admin.example.com")],
    ] {
        assert_oauth_error(
            exchange(&app, &service, subject, ACCESS, &extra).await,
            400,
            "invalid_target",
        )
        .await;
    }
    assert_oauth_error(
        exchange(
            &app,
            &service,
            subject,
            ACCESS,
            &[("audience", ORDERS), ("audience", "billing")],
        )
        .await,
        400,
        "invalid_target",
    )
    .await;
    // A scope wider than the subject token's (`write`), or than the service's (`save_progress`
    // is neither).
    for scope in ["read write", "save_progress"] {
        assert_oauth_error(
            exchange(
                &app,
                &service,
                subject,
                ACCESS,
                &[("audience", ORDERS), ("scope", scope)],
            )
            .await,
            400,
            "invalid_scope",
        )
        .await;
    }
    // A client without the policy may not use the grant at all.
    let plain = app.service_client();
    assert_oauth_error(
        exchange(&app, &plain, subject, ACCESS, &[("audience", ORDERS)]).await,
        400,
        "unauthorized_client",
    )
    .await;
    // Only access tokens are issued.
    for wanted in [
        "urn:ietf:params:oauth:token-type:refresh_token",
        ID,
        "urn:ietf:params:oauth:token-type:jwt",
    ] {
        assert_oauth_error(
            exchange(
                &app,
                &service,
                subject,
                ACCESS,
                &[("audience", ORDERS), ("requested_token_type", wanted)],
            )
            .await,
            400,
            "invalid_request",
        )
        .await;
    }
    // An explicit access_token is fine.
    exchanged(
        exchange(
            &app,
            &service,
            subject,
            ACCESS,
            &[("audience", ORDERS), ("requested_token_type", ACCESS)],
        )
        .await,
    )
    .await;
    // Unknown subject token types, a missing audience, an actor token without its type.
    for (subject_type, extra) in [
        (
            "urn:ietf:params:oauth:token-type:saml2",
            vec![("audience", ORDERS)],
        ),
        (ACCESS, vec![]),
        (ACCESS, vec![("audience", ORDERS), ("actor_token", subject)]),
    ] {
        assert_oauth_error(
            exchange(&app, &service, subject, subject_type, &extra).await,
            400,
            "invalid_request",
        )
        .await;
    }
    // A wrong client secret is still invalid_client (401), before anything else.
    let wrong = TestClient {
        id: service.id.clone(),
        secret: "nope".into(),
    };
    assert_oauth_error(
        exchange(&app, &wrong, subject, ACCESS, &[("audience", ORDERS)]).await,
        401,
        "invalid_client",
    )
    .await;
}

async fn dead_subject_and_actor_tokens_are_invalid_grant(backend: Backend) {
    let app = spawn_app(backend).await;
    let (app_client, _, tokens) = user_tokens(&app, "ada@example.com", "read").await;
    let subject = access_token(&tokens).to_string();
    let service = exchanger(&app, &[ORDERS], |s| s.access_token_ttl_secs = Some(3600));
    let aud = [("audience", ORDERS)];

    // Not a token of ours at all, or a client's own token (no user).
    assert_oauth_error(
        exchange(&app, &service, "a.b.c", ACCESS, &aud).await,
        400,
        "invalid_grant",
    )
    .await;
    let own = app
        .token_basic(&service, &[("grant_type", "client_credentials")])
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_oauth_error(
        exchange(&app, &service, access_token(&own), ACCESS, &aud).await,
        400,
        "invalid_grant",
    )
    .await;

    // The exchanged token never outlives the subject (the service's tokens live an hour).
    app.clock.advance(600);
    let body = exchanged(exchange(&app, &service, &subject, ACCESS, &aud).await).await;
    assert!(body["expires_in"].as_i64().unwrap() <= 300, "{body}");
    assert_eq!(claims(access_token(&body))["exp"], claims(&subject)["exp"]);

    // Expired.
    app.clock.advance(301);
    assert_oauth_error(
        exchange(&app, &service, &subject, ACCESS, &aud).await,
        400,
        "invalid_grant",
    )
    .await;

    // Revoked (by the app it was issued to).
    let resp = app
        .password_grant_scoped(&app_client, "ada@example.com", "read")
        .await;
    let fresh: Value = resp.json().await.unwrap();
    exchanged(exchange(&app, &service, access_token(&fresh), ACCESS, &aud).await).await;
    let resp = app
        .api
        .post(app.url("/revoke"))
        .basic_auth(&app_client.id, Some(&app_client.secret))
        .form(&[("token", access_token(&fresh))])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_oauth_error(
        exchange(&app, &service, access_token(&fresh), ACCESS, &aud).await,
        400,
        "invalid_grant",
    )
    .await;

    // Actor tokens: live, and issued to the client that presents them.
    let resp = app
        .password_grant_scoped(&app_client, "ada@example.com", "read")
        .await;
    let live: Value = resp.json().await.unwrap();
    let with_actor = |actor: String| {
        let (app, service, live) = (&app, &service, &live);
        async move {
            exchange(
                app,
                service,
                access_token(live),
                ACCESS,
                &[
                    ("audience", ORDERS),
                    ("actor_token", actor.as_str()),
                    ("actor_token_type", ACCESS),
                ],
            )
            .await
        }
    };
    // The app's token is not the service's to present as its actor.
    assert_oauth_error(
        with_actor(access_token(&live).to_string()).await,
        400,
        "invalid_grant",
    )
    .await;
    let own = app
        .token_basic(&service, &[("grant_type", "client_credentials")])
        .await
        .json::<Value>()
        .await
        .unwrap();
    let body = exchanged(with_actor(access_token(&own).to_string()).await).await;
    assert_eq!(
        claims(access_token(&body))["act"],
        json!({ "sub": service.id, "client_id": service.id })
    );
    let resp = app
        .api
        .post(app.url("/revoke"))
        .basic_auth(&service.id, Some(&service.secret))
        .form(&[("token", access_token(&own))])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_oauth_error(
        with_actor(access_token(&own).to_string()).await,
        400,
        "invalid_grant",
    )
    .await;

    // A disabled user's token is dead too.
    let mut conn = app.db.get().unwrap();
    let user = portcullis::store::users::find_by_email(&mut conn, "ada@example.com")
        .unwrap()
        .unwrap();
    portcullis::store::users::set_disabled(&mut conn, &user.id, true, app.clock_now()).unwrap();
    assert_oauth_error(
        exchange(&app, &service, access_token(&live), ACCESS, &aud).await,
        400,
        "invalid_grant",
    )
    .await;
}

async fn impersonation_only_with_the_flag(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, user_id, tokens) = user_tokens(&app, "ada@example.com", "read").await;
    let subject = access_token(&tokens);
    let aud = [("audience", ORDERS)];

    // Without the flag, no actor token still means delegation: `act` names the client.
    let delegating = exchanger(&app, &[ORDERS], |_| {});
    let body = exchanged(exchange(&app, &delegating, subject, ACCESS, &aud).await).await;
    assert_eq!(
        claims(access_token(&body))["act"]["sub"],
        delegating.id.as_str()
    );

    // With it, the client acts as the user: no `act` at all.
    let impersonating = exchanger(&app, &[ORDERS], |s| s.exchange_impersonation = true);
    let body = exchanged(exchange(&app, &impersonating, subject, ACCESS, &aud).await).await;
    let jwks = app.jwks().await;
    let (_, at) = verify_with_jwks(access_token(&body), &jwks, &app.address, ORDERS);
    assert_eq!(at["sub"], user_id.as_str());
    assert!(at.get("act").is_none(), "{at}");
    // ... and an actor token makes it delegation again.
    let own: Value = app
        .token_basic(&impersonating, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let body = exchanged(
        exchange(
            &app,
            &impersonating,
            subject,
            ACCESS,
            &[
                ("audience", ORDERS),
                ("actor_token", access_token(&own)),
                ("actor_token_type", ACCESS),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        claims(access_token(&body))["act"],
        json!({ "sub": impersonating.id, "client_id": impersonating.id })
    );
    // Impersonating a delegated token keeps its chain: the delegation is not erased.
    let delegated = exchanged(exchange(&app, &delegating, subject, ACCESS, &aud).await).await;
    let body =
        exchanged(exchange(&app, &impersonating, access_token(&delegated), ACCESS, &aud).await)
            .await;
    assert_eq!(
        claims(access_token(&body))["act"],
        json!({ "sub": delegating.id, "client_id": delegating.id })
    );

    // The audit tells impersonation apart (no actor).
    let mut conn = app.db.get().unwrap();
    let events = portcullis::store::audit::list(
        &mut conn,
        Some(&user_id),
        Some("token_exchanged"),
        None,
        10,
    )
    .unwrap();
    let actors: Vec<Value> = events
        .iter()
        .rev()
        .map(|e| {
            serde_json::from_str::<Value>(e.detail.as_deref().unwrap()).unwrap()["actor"].clone()
        })
        .collect();
    assert_eq!(
        actors,
        [
            json!(delegating.id),
            Value::Null,
            json!(impersonating.id),
            json!(delegating.id),
            Value::Null,
        ]
    );

    // The CLI: the flag needs an audience, and a public client cannot have the policy.
    let cli = |args: &[&str]| {
        let mut c = crate::keys::portcullis();
        c.args(args)
            .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
            .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir);
        c
    };
    let err = crate::cli::run_err(&mut cli(&[
        "client",
        "create",
        "--name",
        "x",
        "--exchange-impersonation",
    ]));
    assert!(err.contains("--exchange-audience"), "{err}");
    let err = crate::cli::run_err(&mut cli(&[
        "client",
        "create",
        "--name",
        "spa",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--exchange-audience",
        ORDERS,
    ]));
    assert!(
        err.contains("public client cannot use token exchange"),
        "{err}"
    );
    let created = crate::cli::run_ok(&mut cli(&[
        "client",
        "create",
        "--name",
        "svc",
        "--exchange-audience",
        ORDERS,
        "--exchange-audience",
        "billing",
        "--exchange-impersonation",
    ]));
    assert_eq!(created["exchange_audiences"], json!([ORDERS, "billing"]));
    assert_eq!(created["exchange_impersonation"], true);
    assert_eq!(created["grant_types"], json!(["client_credentials"]));
}
