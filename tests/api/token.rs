//! client_credentials at `POST /token`: both client-authentication methods, the RFC 9068 token
//! checked with an independent JWT library, scope and resource rules.
use portcullis::oauth::registration::ClientSpec;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{assert_oauth_error, spawn_app, verify_with_jwks, Backend};

both_backends!(
    token_via_basic_and_post,
    token_is_an_rfc9068_jwt_verifiable_against_the_jwks,
    scope_narrowing_and_invalid_scope,
    resource_indicators_choose_the_audience,
    per_client_lifetime,
);

async fn token_via_basic_and_post(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.service_client();

    let resp = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["pragma"], "no-cache");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "read write");
    assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
    assert!(body.get("refresh_token").is_none());

    let resp = app
        .api
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.id.as_str()),
            ("client_secret", client.secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");

    // A secret with reserved characters must survive form-encoding inside Basic (RFC 6749 §2.3.1):
    // reqwest sends it raw, which is what most clients do; the server decodes both forms.
    let resp = app
        .api
        .post(app.url("/token"))
        .header(
            "authorization",
            format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{}:{}", client.id, client.secret)
                )
            ),
        )
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn token_is_an_rfc9068_jwt_verifiable_against_the_jwks(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.service_client();
    let before = app.clock_now();
    let body: Value = app
        .token_basic(
            &client,
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap();
    let jwks = app.jwks().await;
    let (header, claims) = verify_with_jwks(token, &jwks, &app.address, &app.address);

    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid.as_str());

    let keys: Vec<&str> = {
        let mut k: Vec<&str> = claims
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        k.sort();
        k
    };
    assert_eq!(
        keys,
        [
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "scope",
            "sub"
        ]
    );
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["aud"], app.address.as_str());
    assert_eq!(claims["scope"], "read");
    let iat = claims["iat"].as_i64().unwrap();
    assert!(iat >= before && iat <= before + 1);
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 900);
    assert!(claims["jti"].as_str().unwrap().len() >= 22);

    // Every token has its own jti.
    let other: Value = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let (_, other) = verify_with_jwks(
        other["access_token"].as_str().unwrap(),
        &jwks,
        &app.address,
        &app.address,
    );
    assert_ne!(other["jti"], claims["jti"]);

    // A tampered payload does not verify.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let forged = serde_json::json!({"iss": app.address, "sub": "admin", "aud": app.address, "exp": iat + 900, "iat": iat});
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        forged.to_string(),
    );
    let tampered = parts.join(".");
    let n = jwks["keys"][0]["n"].as_str().unwrap();
    let e = jwks["keys"][0]["e"].as_str().unwrap();
    let key = jsonwebtoken::DecodingKey::from_rsa_components(n, e).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[&app.address]);
    assert!(jsonwebtoken::decode::<Value>(&tampered, &key, &validation).is_err());
}

async fn scope_narrowing_and_invalid_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.service_client();

    let body: Value = app
        .token_basic(
            &client,
            &[("grant_type", "client_credentials"), ("scope", "write")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["scope"], "write");

    let resp = app
        .token_basic(
            &client,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read admin"),
            ],
        )
        .await;
    assert_oauth_error(resp, 400, "invalid_scope").await;

    let resp = app
        .token_basic(
            &client,
            &[("grant_type", "client_credentials"), ("scope", "re\\ad")],
        )
        .await;
    assert_oauth_error(resp, 400, "invalid_scope").await;

    // A client with no scopes gets a token without a scope claim.
    let bare = app.create_client(ClientSpec {
        name: "bare".into(),
        ..ClientSpec::default()
    });
    let body: Value = app
        .token_basic(&bare, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    assert!(body.get("scope").is_none(), "{body}");
    let resp = app
        .token_basic(
            &bare,
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await;
    assert_oauth_error(resp, 400, "invalid_scope").await;
}

async fn resource_indicators_choose_the_audience(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.create_client(ClientSpec {
        name: "api caller".into(),
        grant_types: vec!["client_credentials".into()],
        audiences: vec![
            "https://orders.example.com".into(),
            "https://billing.example.com".into(),
        ],
        ..ClientSpec::default()
    });
    let jwks = app.jwks().await;
    let claims = |body: Value, aud: &str| {
        verify_with_jwks(
            body["access_token"].as_str().unwrap(),
            &jwks,
            &app.address,
            aud,
        )
        .1
    };

    // No resource: the client's default (first) audience.
    let body = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims(body, "https://orders.example.com")["aud"],
        "https://orders.example.com"
    );

    let body = app
        .token_basic(
            &client,
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://billing.example.com"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims(body, "https://billing.example.com")["aud"],
        "https://billing.example.com"
    );

    // Several resources: aud is an array (RFC 8707 allows repeating `resource`).
    let body = app
        .token_basic(
            &client,
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://billing.example.com"),
                ("resource", "https://orders.example.com"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims(body, "https://orders.example.com")["aud"],
        serde_json::json!(["https://billing.example.com", "https://orders.example.com"])
    );

    for bad in [
        "https://evil.example.com",
        "not a uri",
        "https://orders.example.com#frag",
    ] {
        let resp = app
            .token_basic(
                &client,
                &[("grant_type", "client_credentials"), ("resource", bad)],
            )
            .await;
        assert_oauth_error(resp, 400, "invalid_target").await;
    }
}

async fn per_client_lifetime(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.create_client(ClientSpec {
        name: "short".into(),
        access_token_ttl_secs: Some(60),
        ..ClientSpec::default()
    });
    let body: Value = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["expires_in"], 60);
    let (_, claims) = verify_with_jwks(
        body["access_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.address,
        &app.address,
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
}
