//! The FAPI 2.0 Security Profile per client (`--profile fapi2`, `oauth::profile`): a fapi2
//! client completes PAR → /authorize → /token (DPoP) → /userinfo (DPoP) with `iss` in the
//! response and PS256 tokens; the conformance suite's negative checks that apply fail closed
//! with the exact error; the CLI refuses a public fapi2 client. docs/fapi2.md maps each rule
//! to the test here (and in fapi2_negative.rs) that proves it.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, JwsSigner, ES256, RS256};
use josekit::jwt::JwtPayload;
use portcullis::oauth::admin_clients::{self, Limits};
use portcullis::oauth::registration::ClientSpec;
use portcullis::tokens::Alg;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_app_with, Backend, TestApp, TestClient};
use crate::keys::{cli_json, portcullis};
use crate::web::{self, browser, param, REDIRECT_URI};

crate::both_backends!(
    fapi2_client_completes_par_authorize_token_userinfo_with_dpop,
    fapi2_cli_refuses_a_public_client_and_pins_the_algorithm,
);

/// The server keeps RS256 (its default) and PS256: a fapi2 client must get PS256.
pub(crate) async fn spawn(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.keys.algorithms = vec![Alg::RS256, Alg::PS256]
    })
    .await
}

/// The key every fapi2 test client signs its assertions with (its JWKS is registered by value).
pub(crate) fn client_key() -> &'static crate::client_jwt::Key {
    static KEY: std::sync::OnceLock<crate::client_jwt::Key> = std::sync::OnceLock::new();
    KEY.get_or_init(|| crate::client_jwt::Key::es256("fapi-client-1"))
}

/// A private_key_jwt assertion for `/token` or `/par` (RFC 7523), `aud` the issuer.
pub(crate) fn assertion(app: &TestApp, client: &TestClient) -> String {
    assertion_for(app, client, &app.address)
}

pub(crate) fn assertion_for(app: &TestApp, client: &TestClient, aud: &str) -> String {
    client_key().sign(&json!({
        "iss": client.id,
        "sub": client.id,
        "aud": aud,
        "exp": app.clock_now() + 60,
        "iat": app.clock_now(),
        "jti": crate::client_jwt::jti(),
    }))
}

/// A fapi2 code client made as operators make them (`admin_clients::create`), naming no
/// algorithm, authenticating with private_key_jwt (no secret: `secret` is empty).
pub(crate) fn fapi2_client(app: &TestApp) -> TestClient {
    let spec = ClientSpec {
        auth_method: Some("private_key_jwt".into()),
        jwks: Some(crate::client_jwt::jwks(&[client_key()]).to_string()),
        name: "Bank App".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid profile email offline_access read".into()],
        redirect_uris: vec![REDIRECT_URI.into(), "http://127.0.0.1:9/other".into()],
        profile: Some("fapi2".into()),
        ..ClientSpec::default()
    };
    let mut conn = app.db.get().unwrap();
    let limits = Limits::from_settings(&app.settings);
    let reg = admin_clients::create(&mut conn, &spec, &limits, "test", app.clock_now()).unwrap();
    assert_eq!(reg.client.access_token_alg, Some(Alg::PS256));
    assert!(
        reg.secret.is_none(),
        "a private_key_jwt client has no secret"
    );
    TestClient {
        id: reg.client.id,
        secret: String::new(),
    }
}

/// A DPoP key: ES256 (allowed for fapi2) or RS256 (refused for fapi2).
pub(crate) struct Key {
    alg: &'static str,
    public: Jwk,
    signer: Box<dyn JwsSigner>,
}

impl Key {
    pub(crate) fn es256() -> Key {
        let pair = ES256.generate_key_pair().unwrap();
        let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        Key {
            alg: "ES256",
            public: pair.to_jwk_public_key(),
            signer: Box::new(signer),
        }
    }

    pub(crate) fn rs256() -> Key {
        let pair = RS256.generate_key_pair(2048).unwrap();
        let signer = RS256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        Key {
            alg: "RS256",
            public: pair.to_jwk_public_key(),
            signer: Box::new(signer),
        }
    }

    pub(crate) fn jkt(&self) -> String {
        portcullis::tokens::keys::thumbprint(&self.public).unwrap()
    }

    pub(crate) fn proof(
        &self,
        app: &TestApp,
        htm: &str,
        path: &str,
        token: Option<&str>,
    ) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_jwk(self.public.clone());
        let mut claims = json!({
            "htm": htm,
            "htu": app.url(path),
            "iat": app.clock_now(),
            "jti": portcullis::tokens::secret::random_token(12).unwrap(),
        });
        if let Some(t) = token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())));
        }
        let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
        let jwt = josekit::jwt::encode_with_signer(&payload, &header, &*self.signer).unwrap();
        assert_eq!(header_of(&jwt)["alg"], self.alg);
        jwt
    }
}

pub(crate) fn part(jwt: &str, i: usize) -> Value {
    let b64 = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(b64).unwrap()).unwrap()
}

pub(crate) fn header_of(jwt: &str) -> Value {
    part(jwt, 0)
}

/// `form` with the client's private_key_jwt assertion added.
fn authenticated<'a>(form: &[(&'a str, &'a str)], assertion: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = form.to_vec();
    form.push(("client_assertion_type", crate::client_jwt::ASSERTION_TYPE));
    form.push(("client_assertion", assertion));
    form
}

/// `POST /par`, the client authenticated with private_key_jwt.
pub(crate) async fn push(
    app: &TestApp,
    client: &TestClient,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let assertion = assertion(app, client);
    app.api
        .post(app.url("/par"))
        .form(&authenticated(form, &assertion))
        .send()
        .await
        .unwrap()
}

/// Pushes the usual code request, runs the browser part; the redirect back (with the code).
pub(crate) async fn authorized(app: &TestApp, client: &TestClient, challenge: &str) -> String {
    let user = app.create_user("ada@example.com", "student").await;
    let form = TestApp::code_request(client, challenge, "openid offline_access read");
    let resp = push(app, client, &form).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let uri = body["request_uri"].as_str().unwrap();
    let params = [("client_id", client.id.as_str()), ("request_uri", uri)];
    web::authorize_through(app, &browser(), &params, &user.email, &user.password).await
}

/// `POST /token` (private_key_jwt) with an optional DPoP proof.
pub(crate) async fn token(
    app: &TestApp,
    client: &TestClient,
    form: &[(&str, &str)],
    proof: Option<String>,
) -> reqwest::Response {
    let assertion = assertion(app, client);
    let mut req = app
        .api
        .post(app.url("/token"))
        .form(&authenticated(form, &assertion));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

pub(crate) fn code_form<'a>(
    code: &'a str,
    verifier: &'a str,
    redirect_uri: &'a str,
) -> [(&'a str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ]
}

pub(crate) async fn userinfo(
    app: &TestApp,
    authorization: String,
    proof: Option<String>,
) -> reqwest::Response {
    let mut req = app
        .api
        .get(app.url("/userinfo"))
        .header("Authorization", authorization);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

async fn fapi2_client_completes_par_authorize_token_userinfo_with_dpop(backend: Backend) {
    let app = spawn(backend).await;
    let client = fapi2_client(&app);
    let key = Key::es256();
    let (verifier, challenge) = web::pkce();
    let back = authorized(&app, &client, &challenge).await;
    // RFC 9207 / FAPI 2.0 §5.3.2.2: the response names the issuer.
    assert_eq!(param(&back, "iss").as_deref(), Some(app.address.as_str()));
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    let code = param(&back, "code").unwrap();

    let proof = key.proof(&app, "POST", "/token", None);
    let resp = token(
        &app,
        &client,
        &code_form(&code, &verifier, REDIRECT_URI),
        Some(proof),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let access = body["access_token"].as_str().unwrap().to_string();
    let id_token = body["id_token"].as_str().unwrap();
    for jwt in [access.as_str(), id_token] {
        let alg = header_of(jwt)["alg"].as_str().unwrap().to_string();
        assert!(["PS256", "ES256", "EdDSA"].contains(&alg.as_str()), "{alg}");
        assert_eq!(
            alg, "PS256",
            "pinned: the first FAPI algorithm of keys.algorithms"
        );
    }
    assert_eq!(part(&access, 1)["cnf"], json!({ "jkt": key.jkt() }));
    // The id_token verifies against the JWKS with an independent library.
    let jwks = app.jwks().await;
    let (_, claims) = crate::helpers::verify_with_jwks(id_token, &jwks, &app.address, &client.id);
    assert_eq!(claims["nonce"], "n-456");

    let proof = key.proof(&app, "GET", "/userinfo", Some(&access));
    let resp = userinfo(&app, format!("DPoP {access}"), Some(proof)).await;
    assert_eq!(resp.status(), 200);
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["sub"], part(&access, 1)["sub"]);
    // The sender-constrained token is no bearer token.
    let resp = userinfo(&app, format!("Bearer {access}"), None).await;
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
}

/// `client create --profile fapi2` without `--public`: the CLI pins PS256 and shows the profile;
/// a public fapi2 client and an RS256 one are refused with a clear message.
async fn fapi2_cli_refuses_a_public_client_and_pins_the_algorithm(backend: Backend) {
    let app = spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(
        &jwks_file,
        crate::client_jwt::jwks(&[client_key()]).to_string(),
    )
    .unwrap();
    let jwks_path = jwks_file.to_str().unwrap();
    let without_keys = [
        "client",
        "create",
        "--name",
        "bank",
        "--grant",
        "authorization_code",
        "--scope",
        "openid",
        "--redirect-uri",
        REDIRECT_URI,
        "--profile",
        "fapi2",
    ];
    let mut base = without_keys.to_vec();
    base.extend(["--auth-method", "private_key_jwt", "--jwks", jwks_path]);
    let refused = |extra: &[&str]| {
        let mut cmd = portcullis();
        cmd.args(&base).args(extra);
        app.cli_env(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{extra:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let mut cmd = portcullis();
    cmd.args(without_keys);
    app.cli_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "a fapi2 client with a secret");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("authenticates with private_key_jwt"), "{err}");
    let err = refused(&["--public"]);
    assert!(err.contains("a fapi2 client must be confidential"), "{err}");
    let err = refused(&["--token-alg", "RS256"]);
    assert!(err.contains("PS256, ES256 or EdDSA"), "{err}");

    let created = cli_json(&app, &base);
    assert_eq!(created["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(created["profile"], "fapi2");
    assert_eq!(created["token_alg"], "PS256");
    assert_eq!(created["id_token_signed_response_alg"], "PS256");
    let id = created["client_id"].as_str().unwrap();
    assert_eq!(cli_json(&app, &["client", "show", id])["profile"], "fapi2");
    let updated = cli_json(&app, &["client", "update", id, "--profile", "none"]);
    assert_eq!(updated["profile"], Value::Null);
    let updated = cli_json(&app, &["client", "update", id, "--profile", "fapi2"]);
    assert_eq!(updated["profile"], "fapi2");
    // Nor can a fapi2 client go back to a secret.
    let mut cmd = portcullis();
    cmd.args([
        "client",
        "update",
        id,
        "--auth-method",
        "client_secret_basic",
    ]);
    app.cli_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("authenticates with private_key_jwt"), "{err}");
    assert_eq!(
        cli_json(&app, &["client", "show", id])["token_endpoint_auth_method"],
        "private_key_jwt"
    );

    // A public client cannot be switched to fapi2 either.
    let public = cli_json(
        &app,
        &[
            "client",
            "create",
            "--name",
            "spa",
            "--public",
            "--redirect-uri",
            REDIRECT_URI,
        ],
    );
    let mut cmd = portcullis();
    cmd.args([
        "client",
        "update",
        public["client_id"].as_str().unwrap(),
        "--profile",
        "fapi2",
    ]);
    app.cli_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be confidential"));
}
