//! Fake upstream providers for the federation tests: GitHub (authorize, token, /user,
//! /user/emails) and a minimal OpenID provider that can sign its ID tokens badly. Small
//! actix-web servers on random loopback ports.
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

/// How the fake GitHub behaves.
#[derive(Clone)]
pub struct GithubBehaviour {
    pub email: String,
    pub verified: bool,
    /// Delay before the token endpoint answers.
    pub token_delay: Duration,
    /// `/user` answers with megabytes of JSON.
    pub huge_user: bool,
}

#[derive(Default)]
struct Seen {
    challenge: Option<String>,
    nonce: Option<String>,
}

fn query(req: &HttpRequest) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

/// Back to the caller's redirect URI with `code` and the `state` it sent.
fn back_with_code(q: &std::collections::HashMap<String, String>, code: &str) -> HttpResponse {
    let mut url = url::Url::parse(&q["redirect_uri"]).unwrap();
    url.query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", &q["state"]);
    HttpResponse::Found()
        .insert_header(("location", url.to_string()))
        .finish()
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fake GitHub; returns its base URL (authorize and token URLs and the API live under it).
pub fn github(behaviour: GithubBehaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = HttpServer::new(move || {
        let (b, seen) = (behaviour.clone(), seen.clone());
        let (s1, s2) = (seen.clone(), seen);
        let (b1, b2, b3) = (b.clone(), b.clone(), b);
        App::new()
            .route(
                "/login/oauth/authorize",
                web::get().to(move |req: HttpRequest| {
                    let q = query(&req);
                    s1.lock().unwrap().challenge = q.get("code_challenge").cloned();
                    assert_eq!(q["code_challenge_method"], "S256");
                    assert_eq!(q["scope"], "read:user user:email");
                    async move { back_with_code(&q, "gh-code") }
                }),
            )
            .route(
                "/login/oauth/access_token",
                web::post().to(
                    move |form: web::Form<std::collections::HashMap<String, String>>| {
                        let challenge = s2.lock().unwrap().challenge.clone();
                        let delay = b1.token_delay;
                        async move {
                            tokio::time::sleep(delay).await;
                            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                            if form.get("code").map(String::as_str) != Some("gh-code")
                                || challenge != Some(s256(&verifier))
                            {
                                // GitHub answers errors with 200 and an error body.
                                return HttpResponse::Ok()
                                    .json(json!({ "error": "bad_verification_code" }));
                            }
                            HttpResponse::Ok().json(json!({
                                "access_token": "gho-token", "token_type": "bearer",
                                "scope": "read:user,user:email"
                            }))
                        }
                    },
                ),
            )
            .route(
                "/user",
                web::get().to(move |req: HttpRequest| {
                    let ok = bearer_ok(&req);
                    let huge = b2.huge_user;
                    async move {
                        if !ok {
                            return HttpResponse::Unauthorized().finish();
                        }
                        if huge {
                            let padding = "x".repeat(1_200_000);
                            return HttpResponse::Ok()
                                .json(json!({ "id": 1, "login": "big", "bio": padding }));
                        }
                        HttpResponse::Ok()
                            .json(json!({ "id": 4242, "login": "octocat", "name": "Mona Octocat" }))
                    }
                }),
            )
            .route(
                "/user/emails",
                web::get().to(move |req: HttpRequest| {
                    let ok = bearer_ok(&req);
                    let (email, verified) = (b3.email.clone(), b3.verified);
                    async move {
                        if !ok {
                            return HttpResponse::Unauthorized().finish();
                        }
                        HttpResponse::Ok().json(json!([
                            { "email": "old@example.com", "primary": false, "verified": true },
                            { "email": email, "primary": true, "verified": verified }
                        ]))
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    base
}

fn bearer_ok(req: &HttpRequest) -> bool {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some("Bearer gho-token")
}

/// How the fake OpenID provider signs and what it claims.
#[derive(Clone)]
pub struct OidcBehaviour {
    /// Break the ID token's signature.
    pub tamper: bool,
    pub name: String,
}

/// A minimal OpenID provider (discovery, JWKS, authorize, token).
pub fn oidc(keys: Arc<portcullis::tokens::KeySet>, behaviour: OidcBehaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let issuer = base.clone();
    let server = HttpServer::new(move || {
        let (keys, seen, issuer) = (keys.clone(), seen.clone(), issuer.clone());
        let b = behaviour.clone();
        let (s1, s2, k1, k2, i1, i2) = (
            seen.clone(),
            seen,
            keys.clone(),
            keys,
            issuer.clone(),
            issuer,
        );
        App::new()
            .route(
                "/.well-known/openid-configuration",
                web::get().to(move || {
                    let i = i1.clone();
                    async move {
                        HttpResponse::Ok().json(json!({
                            "issuer": i,
                            "authorization_endpoint": format!("{i}/authorize"),
                            "token_endpoint": format!("{i}/token"),
                            "jwks_uri": format!("{i}/jwks"),
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"]
                        }))
                    }
                }),
            )
            .route(
                "/jwks",
                web::get().to(move || {
                    let body = k1.jwks_json().to_string();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
            .route(
                "/authorize",
                web::get().to(move |req: HttpRequest| {
                    let q = query(&req);
                    s1.lock().unwrap().nonce = q.get("nonce").cloned();
                    async move { back_with_code(&q, "oidc-code") }
                }),
            )
            .route(
                "/token",
                web::post().to(move |req: HttpRequest| {
                    let nonce = s2.lock().unwrap().nonce.clone();
                    let (keys, issuer, b) = (k2.clone(), i2.clone(), b.clone());
                    let client_id = basic_user(&req);
                    async move {
                        let now = time_now();
                        let claims = json!({
                            "iss": issuer, "sub": "evil-1", "aud": client_id,
                            "iat": now, "exp": now + 300, "nonce": nonce,
                            "email": "victim@example.com", "email_verified": true,
                            "name": b.name
                        });
                        let token = portcullis::tokens::sign(
                            &keys,
                            portcullis::tokens::Alg::RS256,
                            "JWT",
                            &claims,
                        )
                        .unwrap();
                        let mut bytes = token.into_bytes();
                        if b.tamper {
                            // Flip one character of the signature.
                            let i = bytes.len() - 5;
                            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                        }
                        let tampered = String::from_utf8(bytes).unwrap();
                        HttpResponse::Ok().json(json!({
                            "access_token": "at", "token_type": "Bearer",
                            "expires_in": 300, "id_token": tampered
                        }))
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    base
}

fn basic_user(req: &HttpRequest) -> String {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(header.trim_start_matches("Basic "))
        .unwrap_or_default();
    let text = String::from_utf8(decoded).unwrap_or_default();
    let user = text.split(':').next().unwrap_or("");
    url::form_urlencoded::parse(user.as_bytes())
        .map(|(k, _)| k.into_owned())
        .next()
        .unwrap_or_default()
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
