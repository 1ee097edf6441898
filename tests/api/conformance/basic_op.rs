//! Basic OP plan, first part: the code flow, the id_token, userinfo, scopes, display, prompt,
//! max_age, code reuse, redirect URI registration and both secret authentications.
use portcullis::config::RegistrationPolicy;
use serde_json::Value;

use super::{assert_callback, Op};
use crate::helpers::{assert_oauth_error, spawn_app_with, Backend};
use crate::web::{self, param, REDIRECT_URI};

crate::both_backends!(
    oidcc_server,
    oidcc_response_type_missing,
    oidcc_id_token_signature,
    oidcc_id_token_unsigned,
    oidcc_userinfo_get,
    oidcc_userinfo_post_header,
    oidcc_userinfo_post_body,
    oidcc_ensure_request_without_nonce_succeeds_for_code_flow,
    oidcc_scope_profile,
    oidcc_scope_email,
    oidcc_scope_address,
    oidcc_scope_phone,
    oidcc_scope_all,
    oidcc_ensure_other_scope_order_succeeds,
    oidcc_codereuse,
    oidcc_codereuse_30seconds,
    oidcc_ensure_registered_redirect_uri,
    oidcc_server_client_secret_post,
);

/// OP-Response-code: code flow, id_token verified (iss, aud, sub, nonce, iat, exp), state
/// returned intact, userinfo's `sub` = the id_token's.
async fn oidcc_server(backend: Backend) {
    let op = Op::start(backend).await;
    let (callback, tokens) = op.code_flow(&[]).await;
    assert_callback(&op, &callback, "st-123");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);
    let id = op.id_token(&tokens).await;
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["sub"], op.user.id);
    assert!(id["exp"].as_i64().unwrap() > id["iat"].as_i64().unwrap());
    assert_eq!(op.userinfo(&tokens).await["sub"], id["sub"]);
}

/// OP-Response-Missing: no `response_type` → an error (redirected: the client and redirect URI
/// are valid), never a code.
async fn oidcc_response_type_missing(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, challenge) = web::pkce();
    let (status, loc) = op
        .authorize_once(&op.request(&challenge, &[("response_type", None)]))
        .await;
    assert_eq!(status, 302);
    let loc = loc.unwrap();
    assert!(loc.starts_with(REDIRECT_URI), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&loc, "state").as_deref(), Some("st-123"));
    assert!(param(&loc, "code").is_none());
}

/// OP-IDToken-Signature, OP-IDToken-kid: the id_token is signed with an algorithm the
/// discovery document lists, by a key of the JWKS named by `kid`.
async fn oidcc_id_token_signature(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op.code_flow(&[]).await;
    let (header, _) = crate::helpers::verify_with_jwks(
        tokens["id_token"].as_str().unwrap(),
        &op.app.jwks().await,
        &op.app.address,
        &op.client.id,
    );
    let kid = header.kid.expect("a kid");
    let jwks = op.app.jwks().await;
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == kid.as_str()));
    let disco = discovery(&op).await;
    let algs = disco["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.iter().any(|a| a == &format!("{:?}", header.alg)));
}

/// OP-IDToken-none: unsigned id_tokens are not offered (so the module is skipped): `none` is
/// never advertised and a client can't register for it (registration open to anyone here).
async fn oidcc_id_token_unsigned(backend: Backend) {
    let op = Op::start(backend).await;
    let disco = discovery(&op).await;
    let open = spawn_app_with(backend, |s| {
        s.clients.registration = RegistrationPolicy::Open;
    })
    .await;
    for field in [
        "id_token_signing_alg_values_supported",
        "userinfo_signing_alg_values_supported",
    ] {
        if let Some(algs) = disco[field].as_array() {
            assert!(!algs.iter().any(|a| a == "none"), "{field}");
        }
    }
    let resp = open
        .api
        .post(open.url("/register"))
        .json(&serde_json::json!({
            "redirect_uris": ["https://rp.example.com/cb"],
            "id_token_signed_response_alg": "none",
        }))
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_client_metadata").await;
}

/// OP-UserInfo-Endpoint: `GET /userinfo` with the token in the header.
async fn oidcc_userinfo_get(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op
        .code_flow(&[("scope", Some("openid profile email"))])
        .await;
    let info = op.userinfo(&tokens).await;
    assert_eq!(info["sub"], op.user.id);
    assert_eq!(info["email"], op.user.email);
}

/// OP-UserInfo-Header: `POST /userinfo` with the token in the header.
async fn oidcc_userinfo_post_header(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op.code_flow(&[]).await;
    let resp = op
        .app
        .api
        .post(op.app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["sub"], op.user.id);
}

/// OP-UserInfo-Body: the token in a form body (RFC 6750 §2.2) is optional, and the module
/// only warns on an error; Portcullis takes access tokens from the `Authorization` header only
/// (docs/security.md, MCP §3.1), so the answer is a plain RFC 6750 401 with a challenge.
async fn oidcc_userinfo_post_body(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op.code_flow(&[]).await;
    let resp = op
        .app
        .api
        .post(op.app.url("/userinfo"))
        .form(&[("access_token", tokens["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
}

/// OP-nonce-NoReq-code: the code flow needs no nonce; the id_token then has none.
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op.code_flow(&[("nonce", None)]).await;
    let id = op.id_token(&tokens).await;
    assert!(id.get("nonce").is_none(), "{id}");
}

/// OP-scope-profile: `name` (the user has one) and `updated_at` at userinfo.
async fn oidcc_scope_profile(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op.code_flow(&[("scope", Some("openid profile"))]).await;
    let info = op.userinfo(&tokens).await;
    assert_eq!(info["name"], "Test User");
    assert!(info["updated_at"].is_i64());
    assert!(info.get("email").is_none());
}

/// OP-scope-email: `email` and `email_verified`.
async fn oidcc_scope_email(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op.code_flow(&[("scope", Some("openid email"))]).await;
    let info = op.userinfo(&tokens).await;
    assert_eq!(info["email"], op.user.email);
    assert_eq!(info["email_verified"], true);
    assert!(info.get("name").is_none());
}

/// OP-scope-address: accepted; Portcullis keeps no postal address, so no `address` claim.
async fn oidcc_scope_address(backend: Backend) {
    standard_scope_without_claims(backend, "address").await
}

/// OP-scope-phone: accepted; no phone number is kept, so no `phone_number` claim.
async fn oidcc_scope_phone(backend: Backend) {
    standard_scope_without_claims(backend, "phone").await
}

async fn standard_scope_without_claims(backend: Backend, scope: &str) {
    let op = Op::start(backend).await;
    let requested = format!("openid {scope}");
    let (callback, tokens) = op.code_flow(&[("scope", Some(&requested))]).await;
    assert_callback(&op, &callback, "st-123");
    let info = op.userinfo(&tokens).await;
    assert_eq!(info["sub"], op.user.id);
    for claim in ["address", "phone_number", "phone_number_verified"] {
        assert!(info.get(claim).is_none(), "{claim}: {info}");
    }
}

/// OP-scope-All: every standard scope at once.
async fn oidcc_scope_all(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op
        .code_flow(&[("scope", Some("openid profile email address phone"))])
        .await;
    let info = op.userinfo(&tokens).await;
    assert_eq!(info["name"], "Test User");
    assert_eq!(info["email"], op.user.email);
}

/// The same scopes in another order give the same claims.
async fn oidcc_ensure_other_scope_order_succeeds(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, tokens) = op
        .code_flow(&[("scope", Some("email profile openid"))])
        .await;
    let id = op.id_token(&tokens).await;
    assert_eq!(id["sub"], op.user.id);
    let info = op.userinfo(&tokens).await;
    assert_eq!(info["name"], "Test User");
    assert_eq!(info["email"], op.user.email);
}

/// OP-OAuth-2nd: a code works once; the second use is `invalid_grant` and revokes the tokens
/// the first use issued.
async fn oidcc_codereuse(backend: Backend) {
    code_reuse(backend, 0).await
}

/// OP-OAuth-2nd-30s: the same, 30 seconds later (the code itself would still be unexpired).
async fn oidcc_codereuse_30seconds(backend: Backend) {
    code_reuse(backend, 30).await
}

async fn code_reuse(backend: Backend, wait: i64) {
    let op = Op::start(backend).await;
    let (verifier, challenge) = web::pkce();
    let callback = op
        .authorize(&op.request(&challenge, &[("scope", Some("openid offline_access"))]))
        .await;
    let tokens = op.exchange(&callback, &verifier).await;
    op.userinfo(&tokens).await;
    op.app.clock.advance(wait);
    let code = param(&callback, "code").unwrap();
    let again = web::exchange(&op.app, &op.client, &code, Some(&verifier)).await;
    assert_oauth_error(again, 400, "invalid_grant").await;
    let resp = op
        .app
        .api
        .get(op.app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "the first access token is revoked");
    let refreshed = op
        .app
        .refresh(&op.client, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_oauth_error(refreshed, 400, "invalid_grant").await;
}

/// OP-redirect_uri-NotReg: an unregistered redirect URI gets an error page, never a redirect.
async fn oidcc_ensure_registered_redirect_uri(backend: Backend) {
    let op = Op::start(backend).await;
    let (_, challenge) = web::pkce();
    let resp = op
        .browser
        .get(op.app.authorize_url(&[
            ("response_type", "code"),
            ("client_id", &op.client.id),
            ("redirect_uri", "https://attacker.example.com/cb"),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    let html = resp.text().await.unwrap();
    assert!(web::text(&html, "#error-message")
        .unwrap_or_default()
        .contains("not registered"));
}

/// OP-ClientAuth-SecretPost: the code exchanged with `client_secret_post`.
async fn oidcc_server_client_secret_post(backend: Backend) {
    let op = Op::start(backend).await;
    let (verifier, challenge) = web::pkce();
    let callback = op.authorize(&op.request(&challenge, &[])).await;
    let code = param(&callback, "code").unwrap();
    let resp = op
        .app
        .api
        .post(op.app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", &op.client.id),
            ("client_secret", &op.client.secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(op.id_token(&tokens).await["aud"], op.client.id);
    let disco = discovery(&op).await;
    assert!(disco["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "client_secret_post"));
}

pub async fn discovery(op: &Op) -> Value {
    op.app
        .api
        .get(op.app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
