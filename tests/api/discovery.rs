//! Discovery documents and the JWKS.
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app, Backend};

both_backends!(
    discovery_documents,
    jwks_has_public_keys_only,
    listed_auth_methods_are_the_ones_each_endpoint_takes,
);

async fn discovery_documents(backend: Backend) {
    let app = spawn_app(backend).await;
    let oidc = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(oidc.status(), 200);
    assert_eq!(oidc.headers()["content-type"], "application/json");
    let oidc: Value = oidc.json().await.unwrap();
    let rfc8414: Value = app
        .api
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(oidc, rfc8414);

    assert_eq!(oidc["issuer"], app.address.as_str());
    assert_eq!(oidc["token_endpoint"], app.url("/token").as_str());
    assert_eq!(oidc["jwks_uri"], app.url("/jwks.json").as_str());
    assert_eq!(
        oidc["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "client_credentials",
            "password",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(
        oidc["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "none",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        oidc["authorization_endpoint"],
        app.url("/authorize").as_str()
    );
    assert_eq!(oidc["end_session_endpoint"], app.url("/logout").as_str());
    assert_eq!(
        oidc["ui_locales_supported"],
        serde_json::json!(["en", "de"])
    );
    assert_eq!(
        oidc["device_authorization_endpoint"],
        app.url("/device_authorization").as_str()
    );
    assert_eq!(
        oidc["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        oidc["response_modes_supported"],
        serde_json::json!(["query", "form_post"])
    );
    assert_eq!(
        oidc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(oidc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        oidc["prompt_values_supported"],
        serde_json::json!(["none", "login", "consent", "select_account"])
    );
    assert_eq!(
        oidc["introspection_endpoint"],
        app.url("/introspect").as_str()
    );
    assert_eq!(oidc["revocation_endpoint"], app.url("/revoke").as_str());
    assert_eq!(oidc["userinfo_endpoint"], app.url("/userinfo").as_str());
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        oidc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        oidc["scopes_supported"],
        serde_json::json!(["openid", "profile", "email", "offline_access"])
    );
    assert_eq!(
        oidc["introspection_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        oidc["revocation_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "none",
            "private_key_jwt"
        ])
    );
    assert!(
        oidc.get("registration_endpoint").is_none(),
        "registration is off by default"
    );
    assert_eq!(oidc["client_id_metadata_document_supported"], true);
    // RFC 9101 request objects; request_uri only as a pushed request's URN.
    assert_eq!(oidc["request_parameter_supported"], true);
    assert_eq!(oidc["request_uri_parameter_supported"], false);
}

async fn jwks_has_public_keys_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.api.get(app.url("/jwks.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    assert_eq!(resp.headers()["content-type"], "application/jwk-set+json");
    let jwks: Value = resp.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    let mut members: Vec<&str> = key.keys().map(String::as_str).collect();
    members.sort();
    assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    // RSA-2048: a 256-byte modulus, base64url without padding.
    assert_eq!(key["n"].as_str().unwrap().len(), 342);
}

/// Each method discovery lists for an endpoint works there, and the one it leaves out doesn't:
/// a public client (`none`) may revoke (RFC 7009 §2.1), not introspect.
async fn listed_auth_methods_are_the_ones_each_endpoint_takes(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = app.create_client(portcullis::oauth::registration::ClientSpec {
        name: "Public App".into(),
        grant_types: vec!["authorization_code".into()],
        scopes: vec!["openid".into()],
        redirect_uris: vec!["https://app.example/cb".into()],
        public: true,
        ..Default::default()
    });
    let confidential = app.service_client();
    let post = |path: &str, form: Vec<(&str, &str)>, basic: Option<(&str, &str)>| {
        let mut req = app.api.post(app.url(path)).form(&form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        req.send()
    };
    // RFC 7009 §2.2: an unknown token is answered 200 once the client is authenticated.
    let token = ("token", "not-a-token");
    let none = post(
        "/revoke",
        vec![("client_id", public.id.as_str()), token],
        None,
    )
    .await
    .unwrap();
    assert_eq!(none.status(), 200);
    let basic = post(
        "/revoke",
        vec![token],
        Some((&confidential.id, &confidential.secret)),
    )
    .await
    .unwrap();
    assert_eq!(basic.status(), 200);
    let in_body = post(
        "/revoke",
        vec![
            ("client_id", confidential.id.as_str()),
            ("client_secret", confidential.secret.as_str()),
            token,
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(in_body.status(), 200);
    let resp = post(
        "/introspect",
        vec![("client_id", public.id.as_str()), token],
        None,
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}
