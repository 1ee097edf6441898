//! Unit tests of the FAPI 2.0 profile rules: a client without a profile is never affected.
use super::*;
use crate::oauth::client::account_client;

fn fapi2() -> Client {
    Client {
        public: false,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        profile: Some(Profile::Fapi2),
        private_key_jwt: true,
        jwks: Some(r#"{"keys":[]}"#.into()),
        ..account_client()
    }
}

fn plain() -> Client {
    Client {
        public: false,
        pkce_required: false,
        ..account_client()
    }
}

#[test]
fn profile_names_parse_and_print() {
    assert_eq!(Profile::parse("fapi2"), Ok(Some(Profile::Fapi2)));
    assert_eq!(Profile::parse("none"), Ok(None));
    assert_eq!(Profile::parse(""), Ok(None));
    assert!(Profile::parse("FAPI2")
        .unwrap_err()
        .contains("fapi2 or none"));
    assert!(Profile::parse("fapi1").is_err());
    assert_eq!(Profile::Fapi2.as_str(), "fapi2");
}

#[test]
fn a_fapi2_client_must_be_confidential_with_pkce_no_password_and_no_rs256() {
    assert!(registration_problems(&fapi2()).is_empty());
    let public = Client {
        public: true,
        ..fapi2()
    };
    let problems = registration_problems(&public);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("must be confidential"), "{problems:?}");

    let rs = Client {
        access_token_alg: Some(Alg::RS256),
        id_token_alg: Some(Alg::RS256),
        ..fapi2()
    };
    let problems = registration_problems(&rs);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("--token-alg") && problems[1].starts_with("--id-token-alg"));

    let lax = Client {
        pkce_required: false,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::Password],
        ..fapi2()
    };
    assert_eq!(registration_problems(&lax).len(), 2);

    // Without the profile, none of it applies.
    let other = Client {
        public: true,
        access_token_alg: Some(Alg::RS256),
        ..plain()
    };
    assert!(registration_problems(&other).is_empty());
}

#[test]
fn fapi2_algorithms_are_pinned_to_the_first_allowed_key() {
    let mut c = fapi2();
    pin_signing_algs(&mut c, &[Alg::RS256, Alg::ES256, Alg::PS256]).unwrap();
    assert_eq!(
        (c.access_token_alg, c.id_token_alg),
        (Some(Alg::ES256), Some(Alg::ES256))
    );

    // A named algorithm stays; only the missing one is pinned.
    let mut c = Client {
        id_token_alg: Some(Alg::EdDSA),
        ..fapi2()
    };
    pin_signing_algs(&mut c, &[Alg::PS256, Alg::EdDSA]).unwrap();
    assert_eq!(
        (c.access_token_alg, c.id_token_alg),
        (Some(Alg::PS256), Some(Alg::EdDSA))
    );

    let mut c = fapi2();
    let err = pin_signing_algs(&mut c, &[Alg::RS256]).unwrap_err();
    assert!(err.contains("keys.algorithms"), "{err}");

    let mut p = plain();
    pin_signing_algs(&mut p, &[Alg::RS256]).unwrap();
    assert_eq!(p.access_token_alg, None);
}

#[test]
fn fapi2_requests_need_par_pkce_redirect_uri_and_dpop() {
    let c = fapi2();
    assert!(requires_par(&c) && requires_pkce(&c) && requires_redirect_uri(&c));
    assert!(requires_dpop(&c));
    let p = plain();
    assert!(!requires_par(&p) && !requires_pkce(&p) && !requires_redirect_uri(&p));
    assert!(!requires_dpop(&p));
    // The client's own settings still count without the profile.
    let own = Client {
        dpop_bound_access_tokens: true,
        pkce_required: true,
        ..plain()
    };
    assert!(requires_dpop(&own) && requires_pkce(&own));
}

#[test]
fn fapi2_dpop_proofs_are_not_rs256() {
    let c = fapi2();
    for alg in FAPI2_ALGS {
        assert!(check_dpop_alg(&c, alg).is_ok());
    }
    let err = check_dpop_alg(&c, Alg::RS256).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidDpopProof);
    assert!(check_dpop_alg(&plain(), Alg::RS256).is_ok());
}

#[test]
fn fapi2_refreshes_get_a_retry_window() {
    let strict = SessionSettings::default();
    assert_eq!(strict.refresh_reuse_grace_secs, 0);
    let raised = refresh_policy(&fapi2(), &strict);
    assert_eq!(raised.refresh_reuse_grace_secs, FAPI2_REFRESH_RETRY_SECS);
    assert_eq!(raised.max_per_user, strict.max_per_user);
    assert_eq!(
        refresh_policy(&plain(), &strict).refresh_reuse_grace_secs,
        0
    );
    let generous = SessionSettings {
        refresh_reuse_grace_secs: 600,
        ..SessionSettings::default()
    };
    assert_eq!(
        refresh_policy(&fapi2(), &generous).refresh_reuse_grace_secs,
        600
    );
}

#[test]
fn a_fapi2_client_authenticates_with_private_key_jwt_only() {
    for method in AuthMethod::ALL {
        let answer = check_client_authentication(&fapi2(), method);
        assert_eq!(
            answer.is_ok(),
            method == AuthMethod::PrivateKeyJwt,
            "{method:?}"
        );
    }
    for method in AuthMethod::ALL {
        assert!(check_client_authentication(&plain(), method).is_ok());
    }
    let with_secret = Client {
        private_key_jwt: false,
        jwks: None,
        ..fapi2()
    };
    assert!(registration_problems(&with_secret)
        .iter()
        .any(|p| p.contains("private_key_jwt")));
}
