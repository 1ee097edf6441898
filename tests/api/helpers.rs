//! Test harness: the real `Application` on a random port with a fresh database (a SQLite file in
//! a temp dir, or a new PostgreSQL database dropped afterwards), a reqwest client with redirects
//! off and a cookie store, and an injected clock.
use std::sync::{Arc, Once};

use diesel::{Connection, PgConnection, RunQueryDsl};
use portcullis::clock::ManualClock;
use portcullis::config::Settings;
use portcullis::oauth::registration::{self, ClientSpec};
use portcullis::startup::Application;
use portcullis::store::Db;
use serde_json::Value;
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body on SQLite and (when `PORTCULLIS_TEST_POSTGRES_URL` is set) on PostgreSQL.
/// In CI a missing PostgreSQL URL is a failure, not a skip.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(portcullis_test_postgres),
                ignore = "PostgreSQL skipped: PORTCULLIS_TEST_POSTGRES_URL was not set at build time"
            )]
            async fn postgres() {
                if $crate::helpers::postgres_admin_url().is_none() {
                    return;
                }
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )* };
}

/// CI must test PostgreSQL: without the URL, its variants would only be reported as ignored.
#[test]
fn ci_runs_postgres() {
    if std::env::var_os("CI").is_some() {
        assert!(
            cfg!(portcullis_test_postgres) && postgres_admin_url().is_some(),
            "CI must set PORTCULLIS_TEST_POSTGRES_URL (at build and run time)"
        );
    }
}

/// The PostgreSQL server tests may create databases on; `None` skips PostgreSQL (but not in CI).
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("PORTCULLIS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set PORTCULLIS_TEST_POSTGRES_URL"
            );
            eprintln!("PostgreSQL skipped: PORTCULLIS_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

/// A database of its own for one test; a PostgreSQL one is dropped on `Drop`.
pub struct TestDb {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: TempDir,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("portcullis.db").display()),
                pg: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let admin = postgres_admin_url().expect("PostgreSQL URL");
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes).unwrap();
                let name = format!("portcullis_test_{}", u64::from_le_bytes(bytes));
                let mut conn = PgConnection::establish(&admin).expect("connect to PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .unwrap();
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&name);
                TestDb {
                    url: url.to_string(),
                    pg: Some((admin, name)),
                    _dir: dir,
                }
            }
        }
    }

    /// The same database, not dropped by this handle.
    pub fn borrowed(other: &TestDb) -> TestDb {
        TestDb {
            url: other.url.clone(),
            pg: None,
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Removes the database while a server may be using it.
    pub fn destroy(&self) {
        match &self.pg {
            Some((admin, name)) => {
                let mut conn = PgConnection::establish(admin).unwrap();
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .unwrap();
            }
            None => {
                let path = self.url.trim_start_matches("sqlite://");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.pg.is_some() {
            self.destroy();
        }
    }
}

pub struct TestApp {
    /// The issuer, which is also the base URL (`http://127.0.0.1:PORT`).
    pub address: String,
    /// The bound port (the issuer may name another host, e.g. an https issuer in front).
    pub port: u16,
    pub api: reqwest::Client,
    pub db: Db,
    /// The server's own pool (its test hooks, e.g. `set_query_only_for_tests`).
    pub app_db: Db,
    pub clock: Arc<ManualClock>,
    pub settings: Settings,
    _keys_dir: TempDir,
    pub test_db: TestDb,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            portcullis::telemetry::init(portcullis::config::LogFormat::Text, "debug");
        }
    });
}

/// The example roles file the tests run with (`users.roles_file`).
pub const EDUCATION_ROLES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/roles-education.toml");

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Spawns the server after letting `tweak` adjust the settings.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let test_db = TestDb::new(backend);
    let keys_dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        issuer: "http://127.0.0.1:0".into(),
        database_url: test_db.url.clone(),
        database_pool_size: Some(4),
        keys_dir: keys_dir.path().join("keys"),
        workers: Some(2),
        ..Settings::default()
    };
    // PostgreSQL needs an explicit key-encryption key; SQLite generates one into keys_dir.
    if backend == Backend::Postgres {
        settings.keys.encryption_key = Some(crate::key_helpers::TEST_KEK.into());
    }
    // The tests' users are admins, instructors, students and guests.
    settings.users.roles_file = Some(EDUCATION_ROLES.into());
    tweak(&mut settings);
    start(settings, test_db, keys_dir).await
}

/// A second instance sharing `other`'s database and keys (what a load balancer spreads over).
pub async fn spawn_sibling(other: &TestApp) -> TestApp {
    spawn_sibling_with(other, |_, _| {}).await
}

/// A sibling whose settings `tweak` adjusts; it gets a keys directory of its own to use.
pub async fn spawn_sibling_with(
    other: &TestApp,
    tweak: impl FnOnce(&mut Settings, &std::path::Path),
) -> TestApp {
    let own_dir = tempfile::tempdir().unwrap();
    let mut settings = other.settings.clone();
    settings.issuer = "http://127.0.0.1:0".into();
    settings.bind = None;
    tweak(&mut settings, own_dir.path());
    let app = Application::build_with_clock(settings.clone(), other.clock.clone())
        .await
        .expect("the sibling builds");
    settings.issuer = app.issuer().to_string();
    let port = app.port();
    let app_db = app.db().clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until_stopped().await;
    });
    TestApp {
        // Its own address (the issuer may be another's, as behind a load balancer).
        address: format!("http://127.0.0.1:{port}"),
        port,
        api: other.api.clone(),
        db: Db::open(&settings.database_url, 2).unwrap(),
        app_db,
        clock: other.clock.clone(),
        settings,
        _keys_dir: own_dir,
        test_db: TestDb::borrowed(&other.test_db),
        server,
    }
}

async fn start(mut settings: Settings, test_db: TestDb, keys_dir: TempDir) -> TestApp {
    let clock = Arc::new(ManualClock::starting_now());
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("the application builds");
    settings.issuer = app.issuer().to_string();
    let port = app.port();
    let app_db = app.db().clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until_stopped().await;
    });
    let db = Db::open(&settings.database_url, 2).unwrap();
    TestApp {
        address: settings.issuer.clone(),
        port,
        api: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap(),
        db,
        app_db,
        clock,
        settings,
        _keys_dir: keys_dir,
        test_db,
        server,
    }
}

/// A registered client and its secret in clear.
pub struct TestClient {
    pub id: String,
    pub secret: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn create_client(&self, spec: ClientSpec) -> TestClient {
        let mut conn = self.db.get().unwrap();
        let reg = registration::register(&mut conn, &spec, 86_400, self.clock_now()).unwrap();
        TestClient {
            id: reg.client.id,
            secret: reg.secret.unwrap_or_default(),
        }
    }

    /// A confidential client_credentials client with scopes `read write`.
    pub fn service_client(&self) -> TestClient {
        self.create_client(ClientSpec {
            name: "service".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["read".into(), "write".into()],
            ..ClientSpec::default()
        })
    }

    pub fn clock_now(&self) -> i64 {
        use portcullis::clock::Clock;
        self.clock.now()
    }

    /// `POST /token` with HTTP Basic client authentication.
    /// The text of `GET /metrics`.
    pub async fn metrics_text(&self) -> String {
        self.api
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn token_basic(
        &self,
        client: &TestClient,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.api
            .post(self.url("/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn jwks(&self) -> Value {
        self.api
            .get(self.url("/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Asserts an RFC 6749 §5.2 error answer: status, `error`, JSON, `no-store`.
pub async fn assert_oauth_error(
    resp: reqwest::Response,
    status: u16,
    error: &str,
) -> reqwest::header::HeaderMap {
    let headers = resp.headers().clone();
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    headers
}

/// Verifies an access token with an independent library (jsonwebtoken) against the JWKS key
/// named by its `kid`; returns the header and claims.
pub fn verify_with_jwks(
    token: &str,
    jwks: &Value,
    issuer: &str,
    audience: &str,
) -> (jsonwebtoken::Header, Value) {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.clone().expect("kid");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} not in the JWKS"));
    // Any of our algorithms (RS256, PS256, ES256, EdDSA): the key from its JWK, the algorithm the
    // JWK names, which must be the header's.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let alg = match jwk.common.key_algorithm.expect("alg in the JWK") {
        jsonwebtoken::jwk::KeyAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        jsonwebtoken::jwk::KeyAlgorithm::PS256 => jsonwebtoken::Algorithm::PS256,
        jsonwebtoken::jwk::KeyAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        jsonwebtoken::jwk::KeyAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        other => panic!("unexpected JWK alg {other:?}"),
    };
    assert_eq!(header.alg, alg);
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap();
    (data.header, data.claims)
}

/// A user created through the domain code, with their password.
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
}

pub const PASSWORD: &str = "Correct-Horse-9";

impl TestApp {
    pub async fn create_user(&self, email: &str, role: &str) -> TestUser {
        let state_settings = self.settings.clone();
        let hasher = portcullis::identity::password::Hasher::new(&state_settings.password).unwrap();
        let roles = portcullis::identity::roles::Roles::read(&mut self.db.get().unwrap()).unwrap();
        let user = portcullis::identity::users::register(
            &self.db,
            &hasher,
            &roles,
            &state_settings,
            portcullis::identity::users::NewUser {
                email: email.into(),
                name: Some("Test User".into()),
                password: PASSWORD.into(),
                role: Some(role.into()),
                email_verified: true,
            },
            portcullis::identity::RequestMeta::default(),
            self.clock_now(),
        )
        .await
        .unwrap();
        TestUser {
            id: user.id,
            email: user.email,
            password: PASSWORD.into(),
        }
    }

    /// A confidential client with the password and refresh grants and scopes
    /// `openid profile email read write chat`.
    pub fn password_client(&self) -> TestClient {
        self.create_client(ClientSpec {
            name: "first-party app".into(),
            grant_types: vec!["password".into(), "refresh_token".into()],
            scopes: vec!["openid profile email read write chat".into()],
            ..ClientSpec::default()
        })
    }

    pub async fn password_grant(
        &self,
        client: &TestClient,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.token_basic(
            client,
            &[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ],
        )
        .await
    }

    /// The password grant with the user's password and an explicit `scope`.
    pub async fn password_grant_scoped(
        &self,
        client: &TestClient,
        email: &str,
        scope: &str,
    ) -> reqwest::Response {
        self.token_basic(
            client,
            &[
                ("grant_type", "password"),
                ("username", email),
                ("password", PASSWORD),
                ("scope", scope),
            ],
        )
        .await
    }

    pub async fn refresh(&self, client: &TestClient, refresh_token: &str) -> reqwest::Response {
        self.token_basic(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// `POST /api/auth/login` → the JSON body (asserting 200).
    pub async fn account_login(&self, email: &str, password: &str) -> Value {
        let resp = self
            .api
            .post(self.url("/api/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
}
