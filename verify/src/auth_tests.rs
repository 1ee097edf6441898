//! Unit tests of `auth`: challenges (Bearer and DPoP), descriptions, the Authorization header.
use super::*;

#[test]
fn challenges() {
    let realm = "https://id.example.com";
    let missing = AuthError::missing_token(realm);
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.www_authenticate().unwrap(),
        r#"Bearer realm="https://id.example.com""#
    );
    assert!(missing.body().is_none());

    let expired = AuthError::from_verify_error(realm, &VerifyError::Expired);
    assert_eq!(expired.status(), 401);
    assert_eq!(
        expired.www_authenticate().unwrap(),
        r#"Bearer realm="https://id.example.com", error="invalid_token", error_description="the access token has expired""#
    );
    assert_eq!(expired.body().unwrap()["error"], "invalid_token");

    let down = AuthError::from_verify_error(realm, &VerifyError::Unavailable("x".into()));
    assert_eq!(down.status(), 503);
    assert!(down.www_authenticate().is_none());

    let role = AuthError::missing_role(realm, "ad\"min");
    assert_eq!(role.status(), 403);
    assert!(role.www_authenticate().unwrap().contains(
        r#"error="insufficient_scope", error_description="the role ad?min is required""#
    ));
}

#[test]
fn descriptions_fit_in_a_challenge() {
    let all = [
        VerifyError::Malformed,
        VerifyError::AlgorithmNotAllowed("none".into()),
        VerifyError::WrongType,
        VerifyError::UnsupportedCritical,
        VerifyError::UnknownKey("k".into()),
        VerifyError::KeyMismatch,
        VerifyError::InvalidSignature,
        VerifyError::Expired,
        VerifyError::NotYetValid,
        VerifyError::WrongIssuer,
        VerifyError::WrongAudience,
        VerifyError::MissingClaim("exp"),
        VerifyError::InvalidClaim("exp"),
        VerifyError::InactiveApiKey,
        VerifyError::ApiKeysNotAccepted,
        VerifyError::Unavailable("x".into()),
        VerifyError::DpopBoundToken,
        VerifyError::NotDpopBound,
        VerifyError::InvalidDpopProof("the DPoP proof's htu does not match the request URL"),
    ];
    for e in all {
        assert_eq!(header_safe(e.description()), e.description());
    }
}

#[test]
fn authorization_header() {
    assert!(matches!(parse_authorization(None), Bearer::Missing));
    assert!(matches!(
        parse_authorization(Some(b"Basic abc")),
        Bearer::Missing
    ));
    assert!(matches!(
        parse_authorization(Some(b"Bearer")),
        Bearer::Malformed
    ));
    assert!(matches!(
        parse_authorization(Some(b"Bearer   ")),
        Bearer::Malformed
    ));
    assert!(matches!(
        parse_authorization(Some(b"Bearer a b")),
        Bearer::Malformed
    ));
    assert!(matches!(
        parse_authorization(Some(b"bearer abc")),
        Bearer::Token("abc")
    ));
    assert!(matches!(
        parse_authorization(Some(b"BEARER  abc ")),
        Bearer::Token("abc")
    ));
    assert!(matches!(
        parse_authorization(Some(b"DPoP abc")),
        Bearer::Dpop("abc")
    ));
    assert!(matches!(
        parse_authorization(Some(b"dpop")),
        Bearer::Malformed
    ));
}

#[test]
fn dpop_challenges() {
    let realm = "https://id.example.com";
    let proof = AuthError::from_verify_error(
        realm,
        &VerifyError::InvalidDpopProof("the DPoP proof was already used"),
    );
    assert_eq!(proof.status(), 401);
    assert_eq!(proof.kind(), AuthErrorKind::InvalidDpopProof);
    assert_eq!(
        proof.www_authenticate().unwrap(),
        r#"DPoP realm="https://id.example.com", error="invalid_dpop_proof", error_description="the DPoP proof was already used", algs="ES256 EdDSA RS256 PS256""#
    );
    assert_eq!(proof.body().unwrap()["error"], "invalid_dpop_proof");

    let bound = AuthError::from_verify_error(realm, &VerifyError::DpopBoundToken);
    assert_eq!(bound.status(), 401);
    assert!(bound.is_dpop_challenge());
    assert!(bound
        .www_authenticate()
        .unwrap()
        .starts_with(r#"DPoP realm="https://id.example.com", error="invalid_token""#));

    // A plain token's refusal keeps the Bearer challenge, unless the request used DPoP.
    let expired = AuthError::from_verify_error(realm, &VerifyError::Expired);
    assert!(expired.www_authenticate().unwrap().starts_with("Bearer "));
    let expired = expired.with_dpop_challenge();
    let challenge = expired.www_authenticate().unwrap();
    assert!(
        challenge.starts_with(r#"DPoP realm="https://id.example.com", error="invalid_token""#)
            && challenge.ends_with(r#"algs="ES256 EdDSA RS256 PS256""#),
        "{challenge}"
    );
}
