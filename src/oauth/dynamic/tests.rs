//! Unit tests of the dynamic-registration rules.
use super::*;

fn rules() -> ClientSettings {
    ClientSettings {
        registration: RegistrationPolicy::Open,
        ..ClientSettings::default()
    }
}

fn web(uris: &[&str]) -> Metadata {
    Metadata {
        client_name: Some("App".into()),
        redirect_uris: Some(uris.iter().map(|s| s.to_string()).collect()),
        ..Metadata::default()
    }
}

fn code(result: Result<(ClientSpec, Extras), DcrError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(DcrError::InvalidRedirectUri(_)) => "invalid_redirect_uri",
        Err(DcrError::InvalidMetadata(_)) => "invalid_client_metadata",
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[test]
fn defaults_follow_rfc_7591() {
    let (spec, extras) = check(&web(&["https://app.example.com/cb"]), &rules(), 3600).unwrap();
    assert!(!spec.public, "client_secret_basic is the default");
    assert_eq!(extras.token_endpoint_auth_method, "client_secret_basic");
    assert_eq!(extras.application_type, ApplicationType::Web);
    assert_eq!(spec.grant_types, ["authorization_code"]);
    assert_eq!(spec.scopes, rules().registration_scopes);
    assert!(spec.dynamic && !spec.skip_consent && !spec.pkce_optional);
}

#[test]
fn redirect_uris_by_application_type() {
    let r = rules();
    for (uri, native, want) in [
        ("https://app.example.com/cb", false, "ok"),
        ("http://127.0.0.1:8000/cb", false, "ok"),
        ("http://localhost/cb", false, "ok"),
        ("http://app.example.com/cb", false, "invalid_redirect_uri"),
        ("https://*.example.com/cb", false, "invalid_redirect_uri"),
        ("https://app.example.com/*", false, "invalid_redirect_uri"),
        (
            "https://app.example.com/cb#x",
            false,
            "invalid_redirect_uri",
        ),
        (
            "https://u:p@app.example.com/cb",
            false,
            "invalid_redirect_uri",
        ),
        ("/cb", false, "invalid_redirect_uri"),
        ("com.example.app:/cb", false, "invalid_redirect_uri"),
        ("com.example.app:/cb", true, "ok"),
        ("http://[::1]/cb", true, "ok"),
        ("https://app.example.com/cb", true, "invalid_redirect_uri"),
        ("myapp:/cb", true, "invalid_redirect_uri"),
        ("javascript:alert(1)", true, "invalid_redirect_uri"),
        ("com.example.app:/cb#f", true, "invalid_redirect_uri"),
    ] {
        let mut m = web(&[uri]);
        if native {
            m.application_type = Some("native".into());
        }
        assert_eq!(code(check(&m, &r, 3600)), want, "{uri} native={native}");
    }
}

#[test]
fn grants_scopes_and_methods() {
    let r = rules();
    let with = |f: &dyn Fn(&mut Metadata)| {
        let mut m = web(&["https://app.example.com/cb"]);
        f(&mut m);
        code(check(&m, &r, 3600))
    };
    assert_eq!(
        with(&|m| m.grant_types = Some(vec!["implicit".into()])),
        "invalid_client_metadata"
    );
    assert_eq!(
        with(&|m| m.grant_types = Some(vec!["password".into()])),
        "invalid_client_metadata"
    );
    assert_eq!(
        with(&|m| m.grant_types = Some(vec!["refresh_token".into()])),
        "invalid_client_metadata"
    );
    assert_eq!(
        with(&|m| m.grant_types = Some(vec!["client_credentials".into()])),
        "invalid_client_metadata",
        "not configured"
    );
    assert_eq!(
        with(&|m| m.response_types = Some(vec!["token".into()])),
        "invalid_client_metadata"
    );
    assert_eq!(
        with(&|m| m.scope = Some("openid admin".into())),
        "invalid_client_metadata"
    );
    assert_eq!(with(&|m| m.scope = Some("openid email".into())), "ok");
    assert_eq!(
        with(&|m| m.token_endpoint_auth_method = Some("private_key_jwt".into())),
        "invalid_client_metadata"
    );
    assert_eq!(with(&|m| m.client_name = None), "invalid_client_metadata");
    assert_eq!(
        with(&|m| m.logo_uri = Some("javascript:x".into())),
        "invalid_client_metadata"
    );
    assert_eq!(
        with(&|m| m.application_type = Some("tv".into())),
        "invalid_client_metadata"
    );

    let cc = ClientSettings {
        registration_client_credentials: true,
        ..rules()
    };
    let m = Metadata {
        client_name: Some("svc".into()),
        grant_types: Some(vec!["client_credentials".into()]),
        ..Metadata::default()
    };
    let (spec, _) = check(&m, &cc, 3600).unwrap();
    assert_eq!(spec.grant_types, ["client_credentials"]);
    let public = Metadata {
        token_endpoint_auth_method: Some("none".into()),
        ..m
    };
    assert_eq!(code(check(&public, &cc, 3600)), "invalid_client_metadata");
}
