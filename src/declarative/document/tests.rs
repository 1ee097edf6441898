//! Unit tests of the apply document: parsing, lines, and the specs it turns into.
use super::*;

#[test]
fn backchannel_logout_keys_reach_the_spec_and_back() {
    let text = "[[clients]]\nname = \"rp\"\nbackchannel_logout_uri = \"https://rp.example/bc\"\n\
                backchannel_logout_session_required = true\n";
    let parsed = parse("f.toml", text).unwrap().clients;
    let spec = parsed[0].entry.spec();
    assert_eq!(
        spec.backchannel_logout_uri.as_deref(),
        Some("https://rp.example/bc")
    );
    assert!(spec.backchannel_logout_session_required);
    let client = crate::oauth::registration::validate(&spec, 3600).unwrap();
    let entry = ClientEntry::of(&client);
    assert_eq!(entry.backchannel_logout_uri, spec.backchannel_logout_uri);
    assert!(entry.backchannel_logout_session_required);
}

#[test]
fn entries_know_their_line() {
    let text = "# clients\n[[clients]]\nname = \"a\"\n\n[[clients]]\nname = \"b\"\n";
    let parsed = parse("f.toml", text).unwrap().clients;
    let lines: Vec<(usize, &str)> = parsed
        .iter()
        .map(|l| (l.line, l.entry.name.as_str()))
        .collect();
    assert_eq!(lines, [(2, "a"), (5, "b")]);
}

#[test]
fn an_unknown_key_names_its_line_and_client() {
    let text = "[[clients]]\nname = \"a\"\n\n[[clients]]\nname = \"b\"\nscope = [\"x\"]\n";
    let err = parse("f.toml", text).unwrap_err();
    assert!(
        err.starts_with("f.toml:6: client \"b\": unknown field `scope`"),
        "{err}"
    );
}

#[test]
fn roles_and_scopes_know_their_line() {
    let text = "[roles]\nguest = [\"read\"]\n\n[roles.ops]\npermissions = [\"deploy\"]\n\n[scopes.read]\ndescription = \"Read\"\n";
    let parsed = parse("f.toml", text).unwrap();
    let roles: Vec<(usize, String)> = parsed
        .roles
        .unwrap()
        .into_iter()
        .map(|r| (r.line, r.role.name))
        .collect();
    assert_eq!(roles, [(2, "guest".into()), (4, "ops".into())]);
    let scopes = parsed.scopes.unwrap();
    assert_eq!((scopes[0].line, scopes[0].scope.as_str()), (7, "read"));
    // No section: none (apply leaves them alone).
    let parsed = parse("f.toml", "[[clients]]\nname = \"a\"\n").unwrap();
    assert!(parsed.roles.is_none() && parsed.scopes.is_none());
}

#[test]
fn require_par_goes_to_the_spec_and_back() {
    let text = "[[clients]]\nname = \"a\"\nrequire_par = true\n";
    let parsed = parse("f.toml", text).unwrap().clients;
    assert!(parsed[0].entry.spec().require_par);
    let plain = parse("f.toml", "[[clients]]\nname = \"a\"\n")
        .unwrap()
        .clients;
    assert!(!plain[0].entry.spec().require_par);
}

#[test]
fn a_syntax_error_names_its_line() {
    let err = parse("f.toml", "[[clients]]\nname = \"a\"\nscopes = [\n").unwrap_err();
    assert!(err.starts_with("f.toml:3: unclosed array"), "{err}");
}

#[test]
fn secrets_are_refused_in_the_document() {
    let text = "[[clients]]\nname = \"a\"\nclient_secret = \"s3cret\"\n";
    let parsed = parse("f.toml", text).unwrap().clients;
    let err = parsed[0].entry.secret_source().unwrap_err();
    assert!(
        err.starts_with("a secret never goes in the document"),
        "{err}"
    );
    let env = ClientEntry {
        secret_env: Some("X".into()),
        ..ClientEntry::default()
    };
    assert_eq!(env.secret_source(), Ok(Some(SecretSource::Env("X".into()))));
}

#[test]
fn profile_goes_to_the_spec_and_back() {
    let text = "[[clients]]\nname = \"a\"\ngrant_types = [\"authorization_code\"]\n\
                redirect_uris = [\"https://a.example/cb\"]\nprofile = \"fapi2\"\n\
                token_alg = \"PS256\"\nid_token_alg = \"PS256\"\n\
                token_endpoint_auth_method = \"private_key_jwt\"\n\n\
                [[clients.jwks.keys]]\nkty = \"OKP\"\ncrv = \"Ed25519\"\nkid = \"k1\"\n\
                x = \"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"\n";
    let parsed = parse("f.toml", text).unwrap().clients;
    let spec = parsed[0].entry.spec();
    assert_eq!(spec.profile.as_deref(), Some("fapi2"));
    let client = crate::oauth::registration::validate(&spec, 3600).unwrap();
    assert_eq!(client.profile, Some(crate::oauth::profile::Profile::Fapi2));
    assert_eq!(ClientEntry::of(&client).profile.as_deref(), Some("fapi2"));
    let plain = parse("f.toml", "[[clients]]\nname = \"a\"\n")
        .unwrap()
        .clients;
    assert_eq!(plain[0].entry.spec().profile, None);
}

#[test]
fn private_key_jwt_keys_reach_the_spec_and_back_and_refuse_a_secret() {
    let text = "[[clients]]\nname = \"signed\"\ntoken_endpoint_auth_method = \"private_key_jwt\"\n\
                grant_types = [\"client_credentials\"]\n\n\
                [[clients.jwks.keys]]\nkty = \"OKP\"\ncrv = \"Ed25519\"\nkid = \"k1\"\n\
                x = \"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"\n";
    let parsed = parse("f.toml", text).unwrap().clients;
    let spec = parsed[0].entry.spec();
    assert_eq!(spec.auth_method.as_deref(), Some("private_key_jwt"));
    let client = crate::oauth::registration::validate(&spec, 3600).unwrap();
    assert!(client.private_key_jwt);
    let entry = ClientEntry::of(&client);
    assert_eq!(entry.jwks, parsed[0].entry.jwks);
    assert_eq!(
        entry.token_endpoint_auth_method.as_deref(),
        Some("private_key_jwt")
    );
    let mut with_secret = parsed[0].entry.clone();
    with_secret.secret_env = Some("SIGNED_SECRET".into());
    assert!(with_secret
        .secret_source()
        .unwrap_err()
        .contains("private_key_jwt"));
}
