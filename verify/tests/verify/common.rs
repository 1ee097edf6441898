//! The fake issuer, test keys, clock and token helpers shared by the test modules.
pub(crate) use std::collections::HashMap;
pub(crate) use std::net::TcpListener;
pub(crate) use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
pub(crate) use std::sync::{Arc, LazyLock, Mutex};
pub(crate) use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) use actix_web::http::{header, StatusCode};
pub(crate) use actix_web::{test, web, App, HttpRequest, HttpResponse, HttpServer};
pub(crate) use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
pub(crate) use base64::Engine as _;
pub(crate) use jsonwebtoken::{Algorithm, EncodingKey, Header};
pub(crate) use portcullis_verify::{
    require_role, AuthError, Authenticated, Claims, Config, Error, ProtectedResource,
    ResourceMetadata, TokenKind, Verifier, VerifyError,
};
pub(crate) use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey, LineEnding};
pub(crate) use rsa::traits::PublicKeyParts;
pub(crate) use rsa::RsaPrivateKey;
pub(crate) use serde_json::{json, Value};
pub(crate) use sha2::{Digest, Sha256};

pub(crate) const AUDIENCE: &str = "https://api.example.com";
pub(crate) const INTROSPECTION_CLIENT: &str = "reports-api";
pub(crate) const INTROSPECTION_SECRET: &str = "s3cret/+=";

// ---------------------------------------------------------------------------------------------
// Keys

pub(crate) struct TestKey {
    pub(crate) kid: String,
    /// PKCS#1 DER of the private key, for `EncodingKey::from_rsa_der`.
    pub(crate) der: Vec<u8>,
    pub(crate) jwk: Value,
    pub(crate) public_pem: String,
}

impl TestKey {
    pub(crate) fn generate() -> TestKey {
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

    pub(crate) fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_rsa_der(&self.der)
    }
}

/// Three RSA-2048 keys, generated once per test run: 0 is published from the start, 1 is used
/// for rotation, 2 is never published.
pub(crate) static KEYS: LazyLock<Vec<TestKey>> =
    LazyLock::new(|| (0..3).map(|_| TestKey::generate()).collect());

// ---------------------------------------------------------------------------------------------
// Fake issuer

#[derive(Default)]
pub(crate) struct IssuerState {
    pub(crate) url: String,
    pub(crate) jwks: Mutex<Vec<Value>>,
    pub(crate) jwks_fetches: AtomicUsize,
    pub(crate) introspections: AtomicUsize,
    /// Introspection answers by API key; unknown keys are inactive.
    pub(crate) api_keys: Mutex<HashMap<String, Value>>,
    /// When set, discovery announces this issuer instead of the real URL.
    pub(crate) announced_issuer: Mutex<Option<String>>,
}

pub(crate) struct FakeIssuer {
    pub(crate) url: String,
    pub(crate) state: Arc<IssuerState>,
}

impl FakeIssuer {
    pub(crate) fn start() -> FakeIssuer {
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

    pub(crate) fn publish(&self, key: &TestKey) {
        self.state.jwks.lock().unwrap().push(key.jwk.clone());
    }

    pub(crate) fn unpublish(&self, key: &TestKey) {
        self.state
            .jwks
            .lock()
            .unwrap()
            .retain(|k| k["kid"] != key.kid.as_str());
    }

    pub(crate) fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    pub(crate) fn introspections(&self) -> usize {
        self.state.introspections.load(Ordering::SeqCst)
    }

    pub(crate) fn add_api_key(&self, key: &str, answer: Value) {
        self.state
            .api_keys
            .lock()
            .unwrap()
            .insert(key.to_owned(), answer);
    }
}

pub(crate) async fn discovery(state: web::Data<IssuerState>) -> HttpResponse {
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

pub(crate) async fn redirect(state: web::Data<IssuerState>) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((
            header::LOCATION,
            format!("{}/.well-known/openid-configuration", state.url),
        ))
        .finish()
}

pub(crate) async fn jwks(state: web::Data<IssuerState>) -> HttpResponse {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys = state.jwks.lock().unwrap().clone();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(json!({ "keys": keys }))
}

pub(crate) async fn introspect(
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
pub(crate) struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub(crate) fn new() -> TestClock {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        TestClock(Arc::new(AtomicI64::new(i64::try_from(now).unwrap())))
    }

    pub(crate) fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    pub(crate) fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

pub(crate) struct Setup {
    pub(crate) audience: String,
    pub(crate) issuer: FakeIssuer,
    pub(crate) clock: TestClock,
    pub(crate) verifier: Verifier,
}

impl Setup {
    pub(crate) async fn new() -> Setup {
        Setup::with_config(Config::default()).await
    }

    pub(crate) async fn with_config(config: Config) -> Setup {
        Setup::for_audience(AUDIENCE, config).await
    }

    /// A verifier for `audience`; [`claims`](Setup::claims) are for it too.
    pub(crate) async fn for_audience(audience: &str, config: Config) -> Setup {
        let issuer = FakeIssuer::start();
        let clock = TestClock::new();
        let c = clock.clone();
        let verifier =
            Verifier::from_issuer_with_config(&issuer.url, audience, config.clock(move || c.now()))
                .await
                .unwrap();
        Setup {
            audience: audience.to_owned(),
            issuer,
            clock,
            verifier,
        }
    }

    /// Claims of a user token issued now, valid 15 minutes.
    pub(crate) fn claims(&self) -> Value {
        let now = self.clock.now();
        json!({
            "iss": self.issuer.url, "sub": "user-42", "aud": self.audience, "client_id": "web-app",
            "scope": "openid profile read", "iat": now, "exp": now + 900, "jti": "jti-1",
            "auth_time": now - 5, "roles": ["editor"], "sid": "sid-7", "email": "a@example.com",
        })
    }

    pub(crate) fn token(&self) -> String {
        mint(&KEYS[0], &self.claims())
    }

    pub(crate) fn token_with(
        &self,
        edit: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> String {
        let mut claims = self.claims();
        edit(claims.as_object_mut().unwrap());
        mint(&KEYS[0], &claims)
    }
}

pub(crate) fn at_jwt_header(alg: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(alg);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some(kid.to_owned());
    header
}

pub(crate) fn mint(key: &TestKey, claims: &Value) -> String {
    mint_with(&at_jwt_header(Algorithm::RS256, &key.kid), key, claims)
}

pub(crate) fn mint_with(header: &Header, key: &TestKey, claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, &key.encoding_key()).unwrap()
}

pub(crate) fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string().as_bytes())
}

/// Asserts the rejection and its RFC 6750 answer: 401 `invalid_token` with a challenge that
/// names the realm and carries the error's description.
pub(crate) fn assert_invalid_token(
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
