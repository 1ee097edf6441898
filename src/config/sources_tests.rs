//! Unit tests of `sources`: file, environment and defaults merged, unknown keys named.
use super::*;
use crate::config::LogFormat;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn from_env(pairs: &[(&str, &str)]) -> anyhow::Result<Loaded> {
    Settings::from_sources(None, env(pairs))
}

#[test]
fn defaults_are_valid() {
    let s = from_env(&[]).unwrap().settings;
    assert_eq!(s, Settings::default());
    s.validate().unwrap();
    assert_eq!(s.bind_addr().unwrap().to_string(), "127.0.0.1:8080");
}

#[test]
fn file_then_env_with_sections() {
    let file = "issuer = \"https://id.example.com\"\n[tokens]\naccess_token_ttl_secs = 600\n";
    let loaded = Settings::from_sources(
        Some((Path::new("p.toml"), file)),
        env(&[
            ("PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS", "300"),
            ("PORTCULLIS_DATABASE_URL", "postgres://u:pw@db/x"),
            ("PORTCULLIS_CONFIG", "ignored.toml"),
            ("PORTCULLIS_TEST_POSTGRES_URL", "ignored"),
            ("OTHER", "x"),
        ]),
    )
    .unwrap();
    assert!(loaded.unknown_env.is_empty() && loaded.service_links.is_empty());
    let s = loaded.settings;
    assert_eq!(s.issuer, "https://id.example.com");
    assert_eq!(s.tokens.access_token_ttl_secs, 300);
    assert_eq!(s.bind_addr().unwrap().to_string(), "0.0.0.0:443");
    let shown = s.redacted();
    assert!(!shown.to_string().contains("pw"), "{shown}");
    assert_eq!(shown["bind"], "0.0.0.0:443");
    assert!(shown["workers"].as_u64().unwrap() >= 1);
    assert_eq!(shown["database_pool_size"], 10);
}

#[test]
fn client_registration_from_the_environment() {
    let loaded = from_env(&[
        ("PORTCULLIS_CLIENTS__REGISTRATION", "initial_access_token"),
        ("PORTCULLIS_CLIENTS__REGISTRATION_SCOPES", "openid,email"),
        ("PORTCULLIS_CLIENTS__REGISTRATION_RATE_LIMIT_PER_IP", "3"),
        (
            "PORTCULLIS_CLIENTS__REGISTRATION_CLIENT_CREDENTIALS",
            "true",
        ),
        (
            "PORTCULLIS_CLIENTS__RESOURCES",
            "https://mcp.example.com/mcp,https://api.example.com/",
        ),
    ])
    .unwrap();
    assert!(loaded.unknown_env.is_empty());
    let c = &loaded.settings.clients;
    assert_eq!(
        c.registration,
        crate::config::RegistrationPolicy::InitialAccessToken
    );
    assert_eq!(c.registration_scopes, ["openid", "email"]);
    assert_eq!(c.registration_rate_limit_per_ip, 3);
    assert!(c.registration_client_credentials);
    assert_eq!(
        c.resources,
        ["https://mcp.example.com/mcp", "https://api.example.com/"]
    );
    assert!(loaded.settings.validate().is_ok());
    for bad in ["/mcp", "https://mcp.example.com/#tools"] {
        let settings = from_env(&[("PORTCULLIS_CLIENTS__RESOURCES", bad)])
            .unwrap()
            .settings;
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("clients.resources"), "{err}");
    }
    assert!(from_env(&[("PORTCULLIS_CLIENTS__REGISTRATION", "sometimes")]).is_err());
    assert_eq!(
        c.metadata_documents,
        crate::config::MetadataDocumentPolicy::On
    );
    let docs = from_env(&[
        ("PORTCULLIS_CLIENTS__METADATA_DOCUMENTS", "listed"),
        (
            "PORTCULLIS_CLIENTS__METADATA_DOCUMENT_DOMAINS",
            "tools.example.com,example.org",
        ),
        (
            "PORTCULLIS_CLIENTS__METADATA_DOCUMENT_ALLOW_LOOPBACK",
            "true",
        ),
        (
            "PORTCULLIS_CLIENTS__METADATA_DOCUMENT_CA_FILE",
            "/etc/ca.pem",
        ),
        ("PORTCULLIS_CLIENTS__METADATA_DOCUMENT_TIMEOUT_SECS", "3"),
        ("PORTCULLIS_CLIENTS__METADATA_DOCUMENT_MAX_BYTES", "8192"),
    ])
    .unwrap();
    assert!(docs.unknown_env.is_empty());
    let c = &docs.settings.clients;
    assert_eq!(
        c.metadata_documents,
        crate::config::MetadataDocumentPolicy::Listed
    );
    assert_eq!(
        c.metadata_document_domains,
        ["tools.example.com", "example.org"]
    );
    assert!(c.metadata_document_allow_loopback);
    assert_eq!(
        c.metadata_document_ca_file.as_deref(),
        Some(std::path::Path::new("/etc/ca.pem"))
    );
    assert_eq!(c.metadata_document_timeout_secs, 3);
    assert_eq!(c.metadata_document_max_bytes, 8192);
    assert!(docs.settings.validate().is_ok());
    let unlisted = from_env(&[("PORTCULLIS_CLIENTS__METADATA_DOCUMENTS", "listed")]).unwrap();
    assert!(unlisted
        .settings
        .validate()
        .unwrap_err()
        .to_string()
        .contains("needs clients.metadata_document_domains"));
    let slow = from_env(&[("PORTCULLIS_CLIENTS__METADATA_DOCUMENT_TIMEOUT_SECS", "0")]).unwrap();
    assert!(slow.settings.validate().is_err());
    let bad_scope = from_env(&[("PORTCULLIS_CLIENTS__REGISTRATION_SCOPES", "openid,a\"b")])
        .unwrap()
        .settings;
    assert!(bad_scope.validate().is_err());
    let negative = from_env(&[("PORTCULLIS_CLIENTS__REGISTRATION_RATE_LIMIT_PER_IP", "-1")])
        .unwrap()
        .settings;
    assert!(negative.validate().is_err());
}

#[test]
fn a_provider_from_the_environment_alone() {
    let loaded = from_env(&[
        ("PORTCULLIS_FEDERATION__OIDC__ACME__CLIENT_ID", "12345"),
        (
            "PORTCULLIS_FEDERATION__OIDC__ACME__ISSUER",
            "https://sso.acme.test",
        ),
        ("PORTCULLIS_FEDERATION__OIDC__ACME__CLIENT_SECRET", "0042"),
        ("PORTCULLIS_FEDERATION__OIDC__ACME__SCOPES", "openid,email"),
        ("PORTCULLIS_FEDERATION__OIDC__ACME__DISPLAY_NAME", "8080"),
    ])
    .unwrap();
    let acme = &loaded.settings.federation.oidc["acme"];
    assert_eq!(acme.issuer, "https://sso.acme.test");
    assert_eq!(acme.client_id.as_deref(), Some("12345"));
    assert_eq!(
        acme.client_secret.as_deref(),
        Some("0042"),
        "digits stay a string"
    );
    assert_eq!(acme.display_name.as_deref(), Some("8080"));
    assert_eq!(acme.scopes, ["openid", "email"]);
    loaded.settings.validate().unwrap();
    // Half in the file, half in the environment.
    let file = "[federation.oidc.acme]\nclient_id = \"abc\"\n";
    let s = Settings::from_sources(
        Some((Path::new("p.toml"), file)),
        env(&[(
            "PORTCULLIS_FEDERATION__OIDC__ACME__ISSUER",
            "https://x.test",
        )]),
    )
    .unwrap()
    .settings;
    assert_eq!(s.federation.oidc["acme"].client_id.as_deref(), Some("abc"));
    assert_eq!(
        s.federation.oidc["acme"].scopes,
        ["openid", "email", "profile"]
    );
    // Without an issuer anywhere: the error names the provider and the variables.
    let err = from_env(&[("PORTCULLIS_FEDERATION__OIDC__ACME__CLIENT_ID", "x")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("federation.oidc.acme")
            && err.contains("issuer")
            && err.contains("PORTCULLIS_FEDERATION__OIDC__ACME__CLIENT_ID"),
        "{err}"
    );
}

#[test]
fn strings_take_the_type_of_their_field() {
    let s = from_env(&[
        ("PORTCULLIS_WORKERS", "4"),
        ("PORTCULLIS_DATABASE_POOL_SIZE", " 7 "),
        ("PORTCULLIS_BIND", "127.0.0.1:0"),
        ("PORTCULLIS_USERS__REGISTRATION_ENABLED", "false"),
        ("PORTCULLIS_PASSWORD__REQUIRE_DIGIT", "0"),
        ("PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS", "600"),
        ("PORTCULLIS_TOKENS__DEFAULT_AUDIENCE", "1234"),
        ("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ("PORTCULLIS_FEDERATION__GITHUB__SCOPES", "[\"read:user\"]"),
        ("PORTCULLIS_LOG_FORMAT", "json"),
        ("PORTCULLIS_USERS__ROLES_FILE", "/etc/roles.toml"),
        ("PORTCULLIS_KEYS_DIR", "/var/keys"),
        ("PORTCULLIS_FEDERATION__GOOGLE__CLIENT_ID", ""),
    ])
    .unwrap()
    .settings;
    assert_eq!(s.workers, Some(4));
    assert_eq!(s.database_pool_size, Some(7));
    assert_eq!(s.bind.as_deref(), Some("127.0.0.1:0"));
    assert!(!s.users.registration_enabled && !s.password.require_digit);
    assert_eq!(s.tokens.access_token_ttl_secs, 600);
    assert_eq!(s.tokens.default_audience.as_deref(), Some("1234"));
    assert_eq!(s.trusted_proxies, ["10.0.0.0/8", "127.0.0.1"]);
    assert_eq!(s.federation.github.scopes, ["read:user"]);
    assert_eq!(s.log_format, LogFormat::Json);
    assert_eq!(s.users.roles_file, Some(PathBuf::from("/etc/roles.toml")));
    assert_eq!(s.keys_dir, PathBuf::from("/var/keys"));
    assert_eq!(s.federation.google.client_id, None);
    s.validate().unwrap();
    // A bad value names its variable.
    for (name, value) in [
        ("PORTCULLIS_WORKERS", "four"),
        ("PORTCULLIS_KEYS__RSA_BITS", "-1"),
        ("PORTCULLIS_USERS__REGISTRATION_ENABLED", "maybe"),
        ("PORTCULLIS_LOG_FORMAT", "xml"),
    ] {
        let err = from_env(&[(name, value)]).unwrap_err().to_string();
        assert!(err.contains(name), "{name}: {err}");
    }
}

#[test]
fn service_links_are_ignored_and_typos_reported() {
    let loaded = from_env(&[
        ("PORTCULLIS_PORT", "tcp://10.96.0.12:8080"),
        ("PORTCULLIS_PORT_8080_TCP", "tcp://10.96.0.12:8080"),
        ("PORTCULLIS_PORT_8080_TCP_ADDR", "10.96.0.12"),
        ("PORTCULLIS_PORT_8080_TCP_PORT", "8080"),
        ("PORTCULLIS_PORT_8080_TCP_PROTO", "tcp"),
        ("PORTCULLIS_SERVICE_HOST", "10.96.0.12"),
        ("PORTCULLIS_SERVICE_PORT", "8080"),
        ("PORTCULLIS_SERVICE_PORT_HTTP", "8080"),
        ("PORTCULLIS_TOKENS__ACCES_TOKEN_TTL_SECS", "5"),
    ])
    .unwrap();
    assert_eq!(loaded.service_links.len(), 8);
    assert_eq!(
        loaded.unknown_env,
        [
            "unknown environment variable PORTCULLIS_TOKENS__ACCES_TOKEN_TTL_SECS \
          (did you mean PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS?)"
        ]
    );
    assert_eq!(
        loaded.settings,
        Settings::default(),
        "the typo changed nothing"
    );
}

#[test]
fn unknown_file_keys_are_errors_naming_file_and_key() {
    let err = Settings::from_sources(Some((Path::new("p.toml"), "isuer = \"x\"")), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("p.toml") && err.contains("isuer") && err.contains("did you mean issuer"),
        "{err}"
    );
    let file = "[federation.oidc.acme]\nissuer = \"https://x\"\nclientid = \"x\"\n";
    let err = Settings::from_sources(Some((Path::new("p.toml"), file)), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("federation.oidc.acme.clientid"), "{err}");
    let err = Settings::from_sources(Some((Path::new("p.toml"), "workers = \"x\"")), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("workers") && err.contains("p.toml"), "{err}");
}

#[test]
fn dpop_require_nonce_from_the_file_or_the_environment() {
    assert!(!Settings::default().dpop.require_nonce);
    let loaded = from_env(&[("PORTCULLIS_DPOP__REQUIRE_NONCE", "true")]).unwrap();
    assert!(loaded.unknown_env.is_empty());
    assert!(loaded.settings.dpop.require_nonce);
    let file = "[dpop]\nrequire_nonce = true\n";
    let loaded = Settings::from_sources(Some((Path::new("p.toml"), file)), env(&[])).unwrap();
    assert!(loaded.settings.dpop.require_nonce);
    let off = Settings::from_sources(
        Some((Path::new("p.toml"), file)),
        env(&[("PORTCULLIS_DPOP__REQUIRE_NONCE", "false")]),
    )
    .unwrap();
    assert!(!off.settings.dpop.require_nonce);
}
