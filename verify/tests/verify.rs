//! End-to-end tests against a local fake issuer (discovery, JWKS, introspection) on 127.0.0.1:0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis_verify::{
    require_role, AuthError, Authenticated, Claims, Config, Error, TokenKind, Verifier, VerifyError,
};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const AUDIENCE: &str = "https://api.example.com";
const INTROSPECTION_CLIENT: &str = "reports-api";
const INTROSPECTION_SECRET: &str = "s3cret/+=";

// ---------------------------------------------------------------------------------------------
// Keys

struct TestKey {
    kid: String,
    /// PKCS#1 DER of the private key, for `EncodingKey::from_rsa_der`.
    der: Vec<u8>,
    jwk: Value,
    public_pem: String,
}

impl TestKey {
    fn generate() -> TestKey {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
        // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwk = json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e});
        TestKey {
            kid,
            der: key.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            jwk,
            public_pem: key.to_public_key().to_pkcs1_pem(LineEnding::LF).unwrap(),
        }
    }

    fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_rsa_der(&self.der)
    }
}

/// Three RSA-2048 keys, generated once per test run: 0 is published from the start, 1 is used
/// for rotation, 2 is never published.
static KEYS: LazyLock<Vec<TestKey>> =
    LazyLock::new(|| (0..3).map(|_| TestKey::generate()).collect());

// ---------------------------------------------------------------------------------------------
// Fake issuer

#[derive(Default)]
struct IssuerState {
    url: String,
    jwks: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    introspections: AtomicUsize,
    /// Introspection answers by API key; unknown keys are inactive.
    api_keys: Mutex<HashMap<String, Value>>,
    /// When set, discovery announces this issuer instead of the real URL.
    announced_issuer: Mutex<Option<String>>,
}

struct FakeIssuer {
    url: String,
    state: Arc<IssuerState>,
}

impl FakeIssuer {
    fn start() -> FakeIssuer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(IssuerState {
            url: url.clone(),
            ..IssuerState::default()
        });
        state.jwks.lock().unwrap().push(KEYS[0].jwk.clone());
        let data = web::Data::from(state.clone());
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route(
                            "/.well-known/openid-configuration",
                            web::get().to(discovery),
                        )
                        .route(
                            "/redirect/.well-known/openid-configuration",
                            web::get().to(redirect),
                        )
                        .route("/jwks.json", web::get().to(jwks))
                        .route("/introspect", web::post().to(introspect))
                })
                .workers(1)
                .listen(listener)
                .unwrap()
                .run()
                .await
                .unwrap();
            });
        });
        FakeIssuer { url, state }
    }

    fn publish(&self, key: &TestKey) {
        self.state.jwks.lock().unwrap().push(key.jwk.clone());
    }

    fn unpublish(&self, key: &TestKey) {
        self.state
            .jwks
            .lock()
            .unwrap()
            .retain(|k| k["kid"] != key.kid.as_str());
    }

    fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    fn introspections(&self) -> usize {
        self.state.introspections.load(Ordering::SeqCst)
    }

    fn add_api_key(&self, key: &str, answer: Value) {
        self.state
            .api_keys
            .lock()
            .unwrap()
            .insert(key.to_owned(), answer);
    }
}

async fn discovery(state: web::Data<IssuerState>) -> HttpResponse {
    let issuer = state
        .announced_issuer
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| state.url.clone());
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks.json", state.url),
        "introspection_endpoint": format!("{}/introspect", state.url),
        "token_endpoint": format!("{}/token", state.url),
    }))
}

async fn redirect(state: web::Data<IssuerState>) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((
            header::LOCATION,
            format!("{}/.well-known/openid-configuration", state.url),
        ))
        .finish()
}

async fn jwks(state: web::Data<IssuerState>) -> HttpResponse {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys = state.jwks.lock().unwrap().clone();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(json!({ "keys": keys }))
}

async fn introspect(
    req: HttpRequest,
    state: web::Data<IssuerState>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    // RFC 6749 §2.3.1: form-urlencode id and secret, then Basic.
    let expected = format!(
        "Basic {}",
        STANDARD.encode("reports-api:s3cret%2F%2B%3D".as_bytes())
    );
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if !authorized {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    state.introspections.fetch_add(1, Ordering::SeqCst);
    assert_eq!(
        form.get("token_type_hint").map(String::as_str),
        Some("api_key")
    );
    let token = form.get("token").cloned().unwrap_or_default();
    let answer = state
        .api_keys
        .lock()
        .unwrap()
        .get(&token)
        .cloned()
        .unwrap_or_else(|| json!({"active": false}));
    HttpResponse::Ok().json(answer)
}

// ---------------------------------------------------------------------------------------------
// Clock, tokens, verifiers

#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn new() -> TestClock {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        TestClock(Arc::new(AtomicI64::new(i64::try_from(now).unwrap())))
    }

    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

struct Setup {
    issuer: FakeIssuer,
    clock: TestClock,
    verifier: Verifier,
}

impl Setup {
    async fn new() -> Setup {
        Setup::with_config(Config::default()).await
    }

    async fn with_config(config: Config) -> Setup {
        let issuer = FakeIssuer::start();
        let clock = TestClock::new();
        let c = clock.clone();
        let verifier =
            Verifier::from_issuer_with_config(&issuer.url, AUDIENCE, config.clock(move || c.now()))
                .await
                .unwrap();
        Setup {
            issuer,
            clock,
            verifier,
        }
    }

    /// Claims of a user token issued now, valid 15 minutes.
    fn claims(&self) -> Value {
        let now = self.clock.now();
        json!({
            "iss": self.issuer.url, "sub": "user-42", "aud": AUDIENCE, "client_id": "web-app",
            "scope": "openid profile read", "iat": now, "exp": now + 900, "jti": "jti-1",
            "auth_time": now - 5, "roles": ["editor"], "sid": "sid-7", "email": "a@example.com",
        })
    }

    fn token(&self) -> String {
        mint(&KEYS[0], &self.claims())
    }

    fn token_with(&self, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut claims = self.claims();
        edit(claims.as_object_mut().unwrap());
        mint(&KEYS[0], &claims)
    }
}

fn at_jwt_header(alg: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(alg);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some(kid.to_owned());
    header
}

fn mint(key: &TestKey, claims: &Value) -> String {
    mint_with(&at_jwt_header(Algorithm::RS256, &key.kid), key, claims)
}

fn mint_with(header: &Header, key: &TestKey, claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, &key.encoding_key()).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string().as_bytes())
}

/// Asserts the rejection and its RFC 6750 answer: 401 `invalid_token` with a challenge that
/// names the realm and carries the error's description.
fn assert_invalid_token(
    setup: &Setup,
    result: Result<Claims, VerifyError>,
    expected: &VerifyError,
) {
    let error = result.expect_err("the token must be rejected");
    assert_eq!(&error, expected);
    let answer = AuthError::from_verify_error(setup.verifier.issuer(), &error);
    assert_eq!(answer.status(), 401);
    assert_eq!(
        answer.www_authenticate().unwrap(),
        format!(
            r#"Bearer realm="{}", error="invalid_token", error_description="{}""#,
            setup.issuer.url,
            expected.description()
        )
    );
    assert_eq!(
        answer.body().unwrap(),
        json!({"error": "invalid_token", "error_description": expected.description()})
    );
}

// ---------------------------------------------------------------------------------------------
// Verifier

#[actix_web::test]
async fn valid_token_is_accepted() {
    let s = Setup::new().await;
    assert_eq!(s.issuer.jwks_fetches(), 1);
    assert_eq!(s.verifier.key_ids(), vec![KEYS[0].kid.clone()]);

    let claims = s.verifier.verify(&s.token()).await.unwrap();
    assert_eq!(claims.iss, s.issuer.url);
    assert_eq!(claims.sub, "user-42");
    assert_eq!(claims.client_id.as_deref(), Some("web-app"));
    assert_eq!(claims.aud, vec![AUDIENCE.to_owned()]);
    assert_eq!(claims.scopes, vec!["openid", "profile", "read"]);
    assert!(claims.has_scope("read") && !claims.has_scope("write"));
    assert!(claims.has_role("editor") && !claims.has_role("admin"));
    assert_eq!(claims.exp, Some(s.clock.now() + 900));
    assert_eq!(claims.iat, Some(s.clock.now()));
    assert_eq!(claims.auth_time, Some(s.clock.now() - 5));
    assert_eq!(claims.jti.as_deref(), Some("jti-1"));
    assert_eq!(claims.sid.as_deref(), Some("sid-7"));
    assert_eq!(claims.kind, TokenKind::AccessToken);
    assert_eq!(claims.extra.get("email"), Some(&json!("a@example.com")));

    // `aud` as an array; a client_credentials token without scope, roles or user claims.
    let token = s.token_with(|c| {
        c.insert("aud".into(), json!(["other", AUDIENCE]));
        c.insert("sub".into(), json!("web-app"));
        for name in ["scope", "roles", "auth_time", "sid", "email"] {
            c.remove(name);
        }
    });
    let claims = s.verifier.verify(&token).await.unwrap();
    assert_eq!(claims.aud, vec!["other".to_owned(), AUDIENCE.to_owned()]);
    assert!(claims.scopes.is_empty() && claims.roles.is_empty());
    assert_eq!(claims.auth_time, None);

    // No further key fetches for known keys.
    assert_eq!(s.issuer.jwks_fetches(), 1);
}

#[actix_web::test]
async fn expired_and_not_yet_valid_tokens_are_rejected() {
    let s = Setup::new().await;
    let now = s.clock.now();
    let expired = s.token_with(|c| {
        c.insert("iat".into(), json!(now - 1000));
        c.insert("exp".into(), json!(now - 31));
    });
    assert_invalid_token(&s, s.verifier.verify(&expired).await, &VerifyError::Expired);

    // Within the 30 s leeway: still accepted.
    let just_expired = s.token_with(|c| {
        c.insert("exp".into(), json!(now - 20));
    });
    s.verifier.verify(&just_expired).await.unwrap();

    // A valid token expires when the clock moves on.
    let token = s.token();
    s.verifier.verify(&token).await.unwrap();
    s.clock.advance(900 + 30);
    assert_invalid_token(&s, s.verifier.verify(&token).await, &VerifyError::Expired);

    let now = s.clock.now();
    let early = s.token_with(|c| {
        c.insert("nbf".into(), json!(now + 120));
        c.insert("exp".into(), json!(now + 900));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&early).await,
        &VerifyError::NotYetValid,
    );
    s.clock.advance(100); // nbf is now 20 s ahead: inside the leeway
    s.verifier.verify(&early).await.unwrap();
}

#[actix_web::test]
async fn wrong_issuer_and_audience_are_rejected() {
    let s = Setup::new().await;
    let wrong_iss = s.token_with(|c| {
        c.insert("iss".into(), json!("https://evil.example.com"));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&wrong_iss).await,
        &VerifyError::WrongIssuer,
    );
    // A trailing slash is another issuer.
    let slash = format!("{}/", s.issuer.url);
    let slashed = s.token_with(|c| {
        c.insert("iss".into(), json!(slash));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&slashed).await,
        &VerifyError::WrongIssuer,
    );

    let wrong_aud = s.token_with(|c| {
        c.insert("aud".into(), json!(["https://other-api.example.com"]));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&wrong_aud).await,
        &VerifyError::WrongAudience,
    );
}

#[actix_web::test]
async fn missing_claims_are_rejected() {
    let s = Setup::new().await;
    for name in ["exp", "iss", "aud", "sub"] {
        let token = s.token_with(|c| {
            c.remove(name);
        });
        assert_invalid_token(
            &s,
            s.verifier.verify(&token).await,
            &VerifyError::MissingClaim(name),
        );
    }
    let bad_exp = s.token_with(|c| {
        c.insert("exp".into(), json!("tomorrow"));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&bad_exp).await,
        &VerifyError::InvalidClaim("exp"),
    );
    let bad_roles = s.token_with(|c| {
        c.insert("roles".into(), json!("admin"));
    });
    assert_invalid_token(
        &s,
        s.verifier.verify(&bad_roles).await,
        &VerifyError::InvalidClaim("roles"),
    );
}

#[actix_web::test]
async fn alg_none_is_rejected_before_any_key_lookup() {
    let s = Setup::new().await;
    // A refetch would be allowed now; the `none` token must not cause one.
    s.clock.advance(60);
    for kid in [KEYS[0].kid.as_str(), "never-seen"] {
        let header = json!({"alg": "none", "typ": "at+jwt", "kid": kid});
        let token = format!("{}.{}.", b64(&header), b64(&s.claims()));
        assert_invalid_token(
            &s,
            s.verifier.verify(&token).await,
            &VerifyError::AlgorithmNotAllowed("none".into()),
        );
        // With a bogus signature part too.
        let token = format!("{}.{}.AAAA", b64(&header), b64(&s.claims()));
        assert_invalid_token(
            &s,
            s.verifier.verify(&token).await,
            &VerifyError::AlgorithmNotAllowed("none".into()),
        );
    }
    assert_eq!(s.issuer.jwks_fetches(), 1);
}

#[actix_web::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    let s = Setup::new().await;
    s.clock.advance(60);
    // The classic key-confusion attack: HMAC keyed with the issuer's public key.
    let secret = EncodingKey::from_secret(KEYS[0].public_pem.as_bytes());
    for kid in [KEYS[0].kid.as_str(), "never-seen"] {
        let header = at_jwt_header(Algorithm::HS256, kid);
        let token = jsonwebtoken::encode(&header, &s.claims(), &secret).unwrap();
        assert_invalid_token(
            &s,
            s.verifier.verify(&token).await,
            &VerifyError::AlgorithmNotAllowed("HS256".into()),
        );
    }
    // A JWK-shaped secret too.
    let secret = EncodingKey::from_secret(KEYS[0].jwk.to_string().as_bytes());
    let token = jsonwebtoken::encode(
        &at_jwt_header(Algorithm::HS512, &KEYS[0].kid),
        &s.claims(),
        &secret,
    )
    .unwrap();
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::AlgorithmNotAllowed("HS512".into()),
    );
    assert_eq!(s.issuer.jwks_fetches(), 1);
}

#[actix_web::test]
async fn algorithms_not_in_the_allow_list_are_rejected() {
    let s = Setup::new().await;
    // PS256 with a published RSA key: a fine algorithm, but not allowed by default.
    let token = mint_with(
        &at_jwt_header(Algorithm::PS256, &KEYS[0].kid),
        &KEYS[0],
        &s.claims(),
    );
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::AlgorithmNotAllowed("PS256".into()),
    );
}

#[actix_web::test]
async fn forbidden_algorithms_cannot_be_configured() {
    for alg in ["none", "HS256", "HS384", "HS512"] {
        let config = Config::default().allowed_algorithms(["RS256", alg]);
        // Refused before any network access: nothing listens on port 9.
        let error = Verifier::from_issuer_with_config("http://127.0.0.1:9", AUDIENCE, config)
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::ForbiddenAlgorithm(ref a) if a == alg),
            "{error}"
        );
    }
}

#[actix_web::test]
async fn tampered_tokens_are_rejected() {
    let s = Setup::new().await;
    let token = s.token();
    let parts: Vec<&str> = token.split('.').collect();

    // Payload swapped for another user's, signature kept.
    let mut claims = s.claims();
    claims["sub"] = json!("admin");
    claims["roles"] = json!(["admin"]);
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    assert_invalid_token(
        &s,
        s.verifier.verify(&tampered).await,
        &VerifyError::InvalidSignature,
    );

    // One signature character flipped.
    let mut signature = parts[2].to_owned();
    let last = if signature.ends_with('A') { "B" } else { "A" };
    signature.replace_range(10..11, last);
    let flipped = format!("{}.{}.{}", parts[0], parts[1], signature);
    assert_invalid_token(
        &s,
        s.verifier.verify(&flipped).await,
        &VerifyError::InvalidSignature,
    );

    // Signed by an unpublished key under a published kid.
    let forged = mint_with(
        &at_jwt_header(Algorithm::RS256, &KEYS[0].kid),
        &KEYS[2],
        &s.claims(),
    );
    assert_invalid_token(
        &s,
        s.verifier.verify(&forged).await,
        &VerifyError::InvalidSignature,
    );

    // Not a JWT at all.
    for garbage in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.sig"] {
        assert_invalid_token(
            &s,
            s.verifier.verify(garbage).await,
            &VerifyError::Malformed,
        );
    }
}

#[actix_web::test]
async fn typ_must_be_at_jwt() {
    let s = Setup::new().await;
    for typ in [Some("JWT"), Some("jwt"), Some("id_token+jwt"), None] {
        let mut header = at_jwt_header(Algorithm::RS256, &KEYS[0].kid);
        header.typ = typ.map(str::to_owned);
        let token = mint_with(&header, &KEYS[0], &s.claims());
        assert_invalid_token(&s, s.verifier.verify(&token).await, &VerifyError::WrongType);
    }
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let mut header = at_jwt_header(Algorithm::RS256, &KEYS[0].kid);
        header.typ = Some(typ.to_owned());
        let token = mint_with(&header, &KEYS[0], &s.claims());
        s.verifier.verify(&token).await.unwrap();
    }
}

#[actix_web::test]
async fn unknown_kid_is_rejected_after_one_refetch() {
    let s = Setup::new().await;
    s.clock.advance(30);
    let token = mint(&KEYS[2], &s.claims());
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::UnknownKey(KEYS[2].kid.clone()),
    );
    assert_eq!(s.issuer.jwks_fetches(), 2);
    // Again right away: no fetch.
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::UnknownKey(KEYS[2].kid.clone()),
    );
    assert_eq!(s.issuer.jwks_fetches(), 2);

    // A token without kid.
    let mut header = at_jwt_header(Algorithm::RS256, "");
    header.kid = None;
    let token = mint_with(&header, &KEYS[0], &s.claims());
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::UnknownKey(String::new()),
    );
}

#[actix_web::test]
async fn a_rotated_key_verifies_after_exactly_one_refetch() {
    let s = Setup::new().await;
    assert_eq!(s.issuer.jwks_fetches(), 1);
    s.issuer.publish(&KEYS[1]);
    s.clock.advance(45);

    let new_token = mint(&KEYS[1], &s.claims());
    // Concurrent callers share the one fetch.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let verifier = s.verifier.clone();
        let token = new_token.clone();
        tasks.spawn(async move { verifier.verify(&token).await });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap().unwrap().sub, "user-42");
    }
    assert_eq!(s.issuer.jwks_fetches(), 2);
    assert_eq!(s.verifier.key_ids(), {
        let mut kids = vec![KEYS[0].kid.clone(), KEYS[1].kid.clone()];
        kids.sort();
        kids
    });

    // Old and new keys both verify without more fetches.
    s.verifier.verify(&s.token()).await.unwrap();
    s.verifier.verify(&new_token).await.unwrap();
    assert_eq!(s.issuer.jwks_fetches(), 2);
}

#[actix_web::test]
async fn a_burst_of_unknown_kids_causes_at_most_one_fetch_per_interval() {
    let s = Setup::new().await;
    s.clock.advance(30); // the start-up fetch is 30 s old: one refetch is allowed
    let claims = s.claims();
    let tokens: Vec<String> = (0..50)
        .map(|i| {
            mint_with(
                &at_jwt_header(Algorithm::RS256, &format!("unknown-{i}")),
                &KEYS[0],
                &claims,
            )
        })
        .collect();

    // 25 at once; 20 s later 25 more: all within 30 s of the one refetch the first wave caused.
    for (wave, half) in tokens.chunks(25).enumerate() {
        if wave > 0 {
            s.clock.advance(20);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for token in half {
            let verifier = s.verifier.clone();
            let token = token.clone();
            tasks.spawn(async move { verifier.verify(&token).await });
        }
        while let Some(result) = tasks.join_next().await {
            assert!(matches!(result.unwrap(), Err(VerifyError::UnknownKey(_))));
        }
        assert_eq!(s.issuer.jwks_fetches(), 2);
    }

    // A key published meanwhile: 29 s after the refetch it is still unknown ...
    s.issuer.publish(&KEYS[1]);
    let rotated = mint(&KEYS[1], &claims);
    s.clock.advance(9);
    assert!(matches!(
        s.verifier.verify(&rotated).await,
        Err(VerifyError::UnknownKey(_))
    ));
    assert_eq!(s.issuer.jwks_fetches(), 2);
    // ... and 30 s after it another fetch is allowed, which finds the key.
    s.clock.advance(1);
    s.verifier.verify(&rotated).await.unwrap();
    assert_eq!(s.issuer.jwks_fetches(), 3);
}

#[actix_web::test]
async fn a_stale_jwks_is_refreshed_and_dropped_keys_stop_verifying() {
    let s = Setup::new().await;
    let token = s.token();
    s.verifier.verify(&token).await.unwrap();
    // Within max-age (300 s): no fetch.
    s.clock.advance(299);
    s.verifier.verify(&token).await.unwrap();
    assert_eq!(s.issuer.jwks_fetches(), 1);
    // Past max-age: one refresh, the key is still there.
    s.clock.advance(1);
    s.verifier.verify(&token).await.unwrap();
    assert_eq!(s.issuer.jwks_fetches(), 2);
    // The issuer drops the key (e.g. after a compromise): after the next refresh it is unknown.
    s.issuer.publish(&KEYS[1]);
    s.issuer.unpublish(&KEYS[0]);
    s.clock.advance(300);
    let token = s.token_with(|_| {});
    assert_invalid_token(
        &s,
        s.verifier.verify(&token).await,
        &VerifyError::UnknownKey(KEYS[0].kid.clone()),
    );
    assert_eq!(s.issuer.jwks_fetches(), 3);
}

#[actix_web::test]
async fn discovery_must_name_the_configured_issuer() {
    let issuer = FakeIssuer::start();
    *issuer.state.announced_issuer.lock().unwrap() = Some("https://evil.example.com".into());
    let error = Verifier::from_issuer(&issuer.url, AUDIENCE)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::IssuerMismatch { found, .. } if found == "https://evil.example.com"),
        "{error}"
    );
    // A trailing slash is not the same issuer either.
    *issuer.state.announced_issuer.lock().unwrap() = None;
    let error = Verifier::from_issuer(&format!("{}/", issuer.url), AUDIENCE)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::IssuerMismatch { .. }), "{error}");
    assert_eq!(issuer.jwks_fetches(), 0);
}

#[actix_web::test]
async fn redirects_are_not_followed() {
    let issuer = FakeIssuer::start();
    let error = Verifier::from_issuer(&format!("{}/redirect", issuer.url), AUDIENCE)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Status { status: 302, .. }),
        "{error}"
    );
}

#[actix_web::test]
async fn offline_verifier_from_a_jwks() {
    let clock = TestClock::new();
    let c = clock.clone();
    let jwks = json!({"keys": [KEYS[0].jwk]}).to_string();
    let issuer = "https://id.example.com";
    let verifier = Verifier::from_jwks(
        issuer,
        AUDIENCE,
        &jwks,
        Config::default().clock(move || c.now()),
    )
    .unwrap();
    let now = clock.now();
    let claims = json!({"iss": issuer, "sub": "u", "aud": AUDIENCE, "exp": now + 60, "iat": now});
    assert_eq!(
        verifier.verify(&mint(&KEYS[0], &claims)).await.unwrap().sub,
        "u"
    );
    assert!(matches!(
        verifier.verify(&mint(&KEYS[1], &claims)).await,
        Err(VerifyError::UnknownKey(_))
    ));
    assert!(matches!(
        Verifier::from_jwks(issuer, AUDIENCE, r#"{"keys":[]}"#, Config::default()),
        Err(Error::NoUsableKeys)
    ));
}

#[actix_web::test]
async fn other_rsa_algorithms_when_allowed_and_the_key_permits() {
    let issuer = "https://id.example.com";
    let now = TestClock::new().now();
    let claims = json!({"iss": issuer, "sub": "u", "aud": AUDIENCE, "exp": now + 60});
    let config = Config::default().allowed_algorithms(["RS256", "PS256", "RS512"]);
    // The JWK without "alg": any allowed RSA algorithm.
    let mut jwk = KEYS[0].jwk.clone();
    jwk.as_object_mut().unwrap().remove("alg");
    let any = json!({"keys": [jwk]}).to_string();
    let verifier = Verifier::from_jwks(issuer, AUDIENCE, &any, config.clone()).unwrap();
    for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::RS512] {
        let token = mint_with(&at_jwt_header(alg, &KEYS[0].kid), &KEYS[0], &claims);
        verifier.verify(&token).await.unwrap();
    }
    // The JWK says RS256: a PS256 signature by the same key does not count.
    let pinned = json!({"keys": [KEYS[0].jwk]}).to_string();
    let verifier = Verifier::from_jwks(issuer, AUDIENCE, &pinned, config).unwrap();
    let token = mint_with(
        &at_jwt_header(Algorithm::PS256, &KEYS[0].kid),
        &KEYS[0],
        &claims,
    );
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        VerifyError::KeyMismatch
    );
}

// ---------------------------------------------------------------------------------------------
// API keys

fn api_key_config() -> Config {
    Config::default().api_keys(INTROSPECTION_CLIENT, INTROSPECTION_SECRET)
}

#[actix_web::test]
async fn api_keys_are_introspected_and_cached() {
    let s = Setup::with_config(api_key_config()).await;
    assert!(s.verifier.accepts_api_keys());
    let key = "pc_AbCd1234_s3cr3t-s3cr3t_s3cr3t";
    s.issuer.add_api_key(
        key,
        json!({"active": true, "token_type": "api_key", "sub": "user-42",
               "scope": "read reports:export", "exp": s.clock.now() + 3600,
               "iss": s.issuer.url, "key_id": "AbCd1234"}),
    );

    let claims = s.verifier.verify(key).await.unwrap();
    assert_eq!(claims.kind, TokenKind::ApiKey);
    assert_eq!(claims.sub, "user-42");
    assert_eq!(claims.client_id, None);
    assert_eq!(claims.scopes, vec!["read", "reports:export"]);
    assert!(claims.roles.is_empty());
    assert_eq!(claims.extra.get("key_id"), Some(&json!("AbCd1234")));
    assert_eq!(s.issuer.introspections(), 1);

    // Cached: no second introspection within the TTL.
    assert_eq!(s.verifier.verify(key).await.unwrap(), claims);
    s.clock.advance(29);
    s.verifier.verify(key).await.unwrap();
    assert_eq!(s.issuer.introspections(), 1);
    // After the TTL, asked again.
    s.clock.advance(1);
    s.verifier.verify(key).await.unwrap();
    assert_eq!(s.issuer.introspections(), 2);
    // JWTs never go to introspection.
    s.verifier.verify(&s.token()).await.unwrap();
    assert_eq!(s.issuer.introspections(), 2);
}

#[actix_web::test]
async fn inactive_api_keys_are_rejected_and_never_cached() {
    let s = Setup::with_config(api_key_config()).await;
    let key = "pc_revoked1_xxxxxxxxxxxxxxxx";
    for round in 1..=2 {
        assert_invalid_token(
            &s,
            s.verifier.verify(key).await,
            &VerifyError::InactiveApiKey,
        );
        assert_eq!(s.issuer.introspections(), round);
    }
    // Becomes active (e.g. the previous answer was a race): seen at once.
    s.issuer
        .add_api_key(key, json!({"active": true, "sub": "user-1"}));
    assert_eq!(s.verifier.verify(key).await.unwrap().sub, "user-1");
    // An answer for an expired key is inactive whatever it says.
    let expired = "pc_expired1_xxxxxxxxxxxxxxxx";
    s.issuer.add_api_key(
        expired,
        json!({"active": true, "sub": "user-1", "exp": s.clock.now() - 1}),
    );
    assert_invalid_token(
        &s,
        s.verifier.verify(expired).await,
        &VerifyError::InactiveApiKey,
    );
}

#[actix_web::test]
async fn api_keys_without_credentials_are_invalid_tokens() {
    let s = Setup::new().await;
    assert!(!s.verifier.accepts_api_keys());
    s.issuer
        .add_api_key("pc_AbCd1234_x", json!({"active": true, "sub": "u"}));
    assert_invalid_token(
        &s,
        s.verifier.verify("pc_AbCd1234_x").await,
        &VerifyError::ApiKeysNotAccepted,
    );
    assert_eq!(s.issuer.introspections(), 0);
}

#[actix_web::test]
async fn introspection_with_bad_credentials_is_unavailable_not_invalid() {
    let config = Config::default().api_keys(INTROSPECTION_CLIENT, "wrong");
    let s = Setup::with_config(config).await;
    let error = s.verifier.verify("pc_AbCd1234_x").await.unwrap_err();
    assert!(matches!(error, VerifyError::Unavailable(_)), "{error}");
    let answer = AuthError::from_verify_error(s.verifier.issuer(), &error);
    assert_eq!(answer.status(), 503);
}

// ---------------------------------------------------------------------------------------------
// actix-web extractor

async fn me(auth: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(&auth.0)
}

async fn reports(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    auth.require_scope("read")?;
    Ok(HttpResponse::Ok().json(json!({"reports": []})))
}

async fn export(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    auth.require_scope("reports:export")?;
    Ok(HttpResponse::Ok().finish())
}

async fn admin(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    require_role(&auth, "admin")?;
    Ok(HttpResponse::Ok().finish())
}

macro_rules! app {
    ($verifier:expr) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new($verifier.clone()))
                .route("/me", web::get().to(me))
                .route("/reports", web::get().to(reports))
                .route("/export", web::get().to(export))
                .route("/admin", web::get().to(admin)),
        )
        .await
    };
}

fn get(path: &str, token: Option<&str>) -> actix_web::test::TestRequest {
    let req = test::TestRequest::get().uri(path);
    match token {
        Some(t) => req.insert_header((header::AUTHORIZATION, format!("Bearer {t}"))),
        None => req,
    }
}

fn challenge(resp: &actix_web::dev::ServiceResponse) -> String {
    resp.headers()
        .get(header::WWW_AUTHENTICATE)
        .expect("a WWW-Authenticate challenge")
        .to_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn extractor_accepts_a_valid_token() {
    let s = Setup::new().await;
    let app = app!(s.verifier);
    let resp = test::call_service(&app, get("/me", Some(&s.token())).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["sub"], "user-42");
    assert_eq!(body["client_id"], "web-app");
    assert_eq!(body["scopes"], json!(["openid", "profile", "read"]));
    assert_eq!(body["roles"], json!(["editor"]));

    let resp = test::call_service(&app, get("/reports", Some(&s.token())).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[actix_web::test]
async fn extractor_answers_401_without_error_code_when_no_token_is_sent() {
    let s = Setup::new().await;
    let app = app!(s.verifier);
    let resp = test::call_service(&app, get("/me", None).to_request()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&resp),
        format!(r#"Bearer realm="{}""#, s.issuer.url)
    );
    assert!(test::read_body(resp).await.is_empty());

    // Another scheme counts as no token.
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, "Basic dXNlcjpwYXNz"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&resp),
        format!(r#"Bearer realm="{}""#, s.issuer.url)
    );

    // "Bearer" with nothing after it is a malformed request.
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, "Bearer "))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(challenge(&resp).contains(r#"error="invalid_request""#));
}

#[actix_web::test]
async fn extractor_answers_401_invalid_token_for_bad_tokens() {
    let s = Setup::new().await;
    let app = app!(s.verifier);
    let now = s.clock.now();
    let expired = s.token_with(|c| {
        c.insert("exp".into(), json!(now - 3600));
    });
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "at+jwt", "kid": KEYS[0].kid})),
        b64(&s.claims())
    );
    let wrong_aud = s.token_with(|c| {
        c.insert("aud".into(), json!("https://other.example.com"));
    });
    let cases = [
        (expired, VerifyError::Expired),
        (none, VerifyError::AlgorithmNotAllowed("none".into())),
        (wrong_aud, VerifyError::WrongAudience),
        ("pc_nope_nope".to_owned(), VerifyError::ApiKeysNotAccepted),
    ];
    for (token, error) in cases {
        let resp = test::call_service(&app, get("/me", Some(&token)).to_request()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{error:?}");
        assert_eq!(
            challenge(&resp),
            format!(
                r#"Bearer realm="{}", error="invalid_token", error_description="{}""#,
                s.issuer.url,
                error.description()
            )
        );
        assert_eq!(
            resp.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let body: Value = test::read_body_json(resp).await;
        assert_eq!(
            body,
            json!({"error": "invalid_token", "error_description": error.description()})
        );
    }
}

#[actix_web::test]
async fn extractor_answers_403_insufficient_scope() {
    let s = Setup::new().await;
    let app = app!(s.verifier);
    let resp = test::call_service(&app, get("/export", Some(&s.token())).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let challenge = challenge(&resp);
    assert_eq!(
        challenge,
        format!(
            r#"Bearer realm="{}", error="insufficient_scope", error_description="the token lacks the scope reports:export", scope="reports:export""#,
            s.issuer.url
        )
    );
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(body["scope"], "reports:export");

    // Without the read scope, /reports is refused too.
    let token = s.token_with(|c| {
        c.insert("scope".into(), json!("openid"));
    });
    let resp = test::call_service(&app, get("/reports", Some(&token)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // Roles: same 403, the description names the role.
    let resp = test::call_service(&app, get("/admin", Some(&s.token())).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let challenge_value = resp
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge_value.contains(r#"error="insufficient_scope""#));
    assert!(challenge_value.contains("the role admin is required"));
    let admin_token = s.token_with(|c| {
        c.insert("roles".into(), json!(["admin"]));
    });
    let resp = test::call_service(&app, get("/admin", Some(&admin_token)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[actix_web::test]
async fn extractor_handles_api_keys() {
    let s = Setup::with_config(api_key_config()).await;
    let app = app!(s.verifier);
    let key = "pc_AbCd1234_valid";
    s.issuer.add_api_key(
        key,
        json!({"active": true, "token_type": "api_key", "sub": "user-9", "scope": "read"}),
    );
    let resp = test::call_service(&app, get("/reports", Some(key)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = test::call_service(&app, get("/me", Some(key)).to_request()).await;
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["sub"], "user-9");
    assert_eq!(body["kind"], "api_key");
    assert_eq!(s.issuer.introspections(), 1);

    let resp = test::call_service(&app, get("/me", Some("pc_AbCd1234_revoked")).to_request()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&resp).contains(r#"error="invalid_token""#));
}

#[actix_web::test]
async fn extractor_without_a_verifier_is_a_server_error() {
    let app = test::init_service(App::new().route("/me", web::get().to(me))).await;
    let resp = test::call_service(&app, get("/me", Some("x.y.z")).to_request()).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[actix_web::test]
async fn verify_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let verifier = Verifier::from_jwks(
        "https://id.example.com",
        AUDIENCE,
        &json!({"keys": [KEYS[0].jwk]}).to_string(),
        Config::default(),
    )
    .unwrap();
    assert_send(&verifier.verify("x"));
    fn assert_sync<T: Send + Sync + Clone>() {}
    assert_sync::<Verifier>();
    assert_sync::<Claims>();
}
