//! Unit tests of `registration`: the rules a client's settings must meet.
use super::*;

fn spec() -> ClientSpec {
    ClientSpec {
        name: "app".into(),
        ..ClientSpec::default()
    }
}

#[test]
fn lists_split_on_commas_and_spaces() {
    let v = split_list(&["a,b".into(), "c d".into(), "a".into()]);
    assert_eq!(v, ["a", "b", "c", "d"]);
}

#[test]
fn defaults_and_grant_names() {
    let c = validate(&spec(), 3600).unwrap();
    assert_eq!(c.grant_types, [GrantType::ClientCredentials]);
    let err = validate(
        &ClientSpec {
            grant_types: vec!["implicit".into()],
            ..spec()
        },
        3600,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown grant \"implicit\""));
}

#[test]
fn redirect_uri_rules() {
    assert!(check_redirect_uri("https://app.example.com/cb").is_ok());
    assert!(check_redirect_uri("http://127.0.0.1:3000/cb").is_ok());
    assert!(check_redirect_uri("http://localhost/cb").is_ok());
    assert!(check_redirect_uri("http://[::1]/cb").is_ok());
    assert!(check_redirect_uri("http://app.example.com/cb").is_err());
    assert!(check_redirect_uri("https://app.example.com/cb#x").is_err());
    assert!(check_redirect_uri("/cb").is_err());
    assert!(check_redirect_uri("javascript:alert(1)").is_err());
}

#[test]
fn rules_are_reported_together() {
    let err = validate(
        &ClientSpec {
            name: "".into(),
            public: true,
            grant_types: vec!["client_credentials,authorization_code".into()],
            access_token_ttl_secs: Some(0),
            ..ClientSpec::default()
        },
        3600,
    )
    .unwrap_err();
    assert_eq!(err.0.len(), 4, "{err}");
}

#[test]
fn names_refuse_escapes_and_bidi_overrides() {
    for name in ["pay\u{202E}lapyap", "a\u{1B}[31mred", "x\u{2067}y"] {
        let err = validate(
            &ClientSpec {
                name: name.into(),
                grant_types: vec!["client_credentials".into()],
                ..ClientSpec::default()
            },
            3600,
        )
        .unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert!(err.0[0].starts_with("--name"), "{err}");
    }
}

#[test]
fn public_clients_may_not_use_the_password_grant() {
    let public = |grant: &str| ClientSpec {
        public: true,
        grant_types: vec![grant.into()],
        ..spec()
    };
    let err = validate(&public("password,refresh_token"), 3600).unwrap_err();
    assert!(err.to_string().contains("password grant"), "{err}");
    let ok = validate(
        &ClientSpec {
            public: false,
            ..public("password")
        },
        3600,
    );
    assert!(ok.is_ok());
}

#[test]
fn token_exchange_policy() {
    let c = validate(
        &ClientSpec {
            exchange_audiences: vec!["orders, https://api.example/".into()],
            ..spec()
        },
        3600,
    )
    .unwrap();
    assert_eq!(c.exchange_audiences, ["orders", "https://api.example/"]);
    assert!(!c.exchange_impersonation);
    assert!(c.allows_grant(GrantType::TokenExchange));
    assert!(!validate(&spec(), 3600)
        .unwrap()
        .allows_grant(GrantType::TokenExchange));
    let refused = |s: ClientSpec, why: &str| {
        let err = validate(&s, 3600).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    };
    refused(
        ClientSpec {
            exchange_impersonation: true,
            ..spec()
        },
        "needs at least one --exchange-audience",
    );
    refused(
        ClientSpec {
            public: true,
            grant_types: vec!["authorization_code".into()],
            redirect_uris: vec!["https://app.example/cb".into()],
            exchange_audiences: vec!["orders".into()],
            ..spec()
        },
        "public client cannot use token exchange",
    );
    refused(
        ClientSpec {
            grant_types: vec!["urn:ietf:params:oauth:grant-type:token-exchange".into()],
            ..spec()
        },
        "--exchange-audience",
    );
    refused(
        ClientSpec {
            exchange_audiences: vec!["orders\u{1b}[31m".into()],
            ..spec()
        },
        "--exchange-audience must not contain control characters",
    );
}

#[test]
fn web_origins_are_normalised_and_checked() {
    let c = validate(
        &ClientSpec {
            web_origins: vec!["https://A.example.com, http://localhost:5173/".into()],
            ..spec()
        },
        3600,
    )
    .unwrap();
    assert_eq!(
        c.web_origins,
        ["https://a.example.com", "http://localhost:5173"]
    );
    let err = validate(
        &ClientSpec {
            web_origins: vec!["http://a.example.com https://b.example.com/app".into()],
            ..spec()
        },
        3600,
    )
    .unwrap_err();
    assert_eq!(err.0.len(), 2, "{err}");
}

#[test]
fn backchannel_logout_uri_is_https_or_loopback_http_without_fragment() {
    let with = |uri: &str, session: bool| ClientSpec {
        backchannel_logout_uri: Some(uri.into()),
        backchannel_logout_session_required: session,
        ..spec()
    };
    let c = validate(&with("https://rp.example/bc?x=1", true), 3600).unwrap();
    assert_eq!(
        c.backchannel_logout_uri.as_deref(),
        Some("https://rp.example/bc?x=1")
    );
    assert!(c.backchannel_logout_session_required);
    for ok in [
        "http://127.0.0.1:8080/bc",
        "http://localhost/bc",
        "http://[::1]/bc",
    ] {
        assert!(validate(&with(ok, false), 3600).is_ok(), "{ok}");
    }
    for bad in [
        "http://rp.example/bc",
        "https://rp.example/bc#frag",
        "ftp://rp.example/bc",
        "/relative",
        "https://user:pw@rp.example/bc",
    ] {
        let err = validate(&with(bad, false), 3600).unwrap_err().to_string();
        assert!(err.contains("backchannel logout URI"), "{bad}: {err}");
    }
    // A blank one is none.
    assert_eq!(
        validate(&with("  ", false), 3600)
            .unwrap()
            .backchannel_logout_uri,
        None
    );
    let err = validate(
        &ClientSpec {
            backchannel_logout_session_required: true,
            ..spec()
        },
        3600,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--backchannel-logout-uri"), "{err}");
}
