//! Unit tests of `client_keys`: JWKS rules, verification, assertion and request-object claims.
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, ES256, HS256, PS256, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{json, Map, Value};

use super::assertion::{self, Audiences};
use super::verify::{self, Refusal};
use super::*;

fn ec_key(kid: &str) -> Jwk {
    let mut k = Jwk::generate_ec_key(EcCurve::P256).unwrap();
    k.set_key_id(kid);
    k
}

fn rsa_key(kid: &str, bits: u32) -> Jwk {
    let mut k = Jwk::generate_rsa_key(bits).unwrap();
    k.set_key_id(kid);
    k
}

/// The public half, `kid` kept.
fn public(k: &Jwk) -> Jwk {
    let mut p = k.to_public_key().unwrap();
    if let Some(kid) = k.key_id() {
        p.set_key_id(kid);
    }
    p
}

fn public_set(keys: &[&Jwk]) -> JwkSet {
    JwkSet::from_bytes(set_json(keys).as_bytes()).unwrap()
}

fn set_json(keys: &[&Jwk]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| Value::Object(public(k).as_ref().clone()))
        .collect();
    json!({ "keys": keys }).to_string()
}

fn claims(map: Value) -> JwtPayload {
    let Value::Object(map) = map else { panic!() };
    JwtPayload::from_map(map).unwrap()
}

fn without_kid(key: &Jwk) -> Jwk {
    let mut map = key.as_ref().clone();
    map.remove("kid");
    Jwk::from_map(map).unwrap()
}

fn sign_es256(key: &Jwk, kid: Option<&str>, payload: &JwtPayload) -> String {
    let mut h = JwsHeader::new();
    if let Some(kid) = kid {
        h.set_key_id(kid);
    }
    let key = without_kid(key);
    jwt::encode_with_signer(payload, &h, &ES256.signer_from_jwk(&key).unwrap()).unwrap()
}

#[test]
fn a_jwks_by_value_holds_public_asymmetric_keys_only() {
    let ec = ec_key("a");
    assert!(parse_jwks(&set_json(&[&ec])).is_ok());
    let private = json!({ "keys": [Value::Object(ec.as_ref().clone())] }).to_string();
    assert!(parse_jwks(&private).unwrap_err().contains("private"));
    let oct = json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] }).to_string();
    assert!(parse_jwks(&oct).is_err());
    let small = rsa_key("s", 1024);
    assert!(parse_jwks(&set_json(&[&small]))
        .unwrap_err()
        .contains("2048"));
    let many: Vec<Jwk> = (0..11).map(|i| ec_key(&i.to_string())).collect();
    let refs: Vec<&Jwk> = many.iter().collect();
    assert!(parse_jwks(&set_json(&refs))
        .unwrap_err()
        .contains("more than"));
    assert!(parse_jwks("not json").is_err());
    assert!(parse_jwks(r#"{"keys": []}"#).is_err());
}

#[test]
fn a_fetched_jwks_drops_unusable_keys_but_refuses_private_ones() {
    let ec = ec_key("a");
    let mut p384 = Jwk::generate_ec_key(EcCurve::P384).unwrap();
    p384.set_key_id("b");
    let set = parse_fetched_jwks(set_json(&[&ec, &p384]).as_bytes()).unwrap();
    assert_eq!(set.keys().len(), 1);
    let private = json!({ "keys": [Value::Object(ec.as_ref().clone())] }).to_string();
    assert!(parse_fetched_jwks(private.as_bytes()).is_err());
}

#[test]
fn the_spec_needs_keys_for_private_key_jwt_and_refuses_other_methods() {
    let mut problems = Vec::new();
    let spec = ClientSpec {
        auth_method: Some("private_key_jwt".into()),
        ..ClientSpec::default()
    };
    check_spec(&spec, &mut problems);
    assert!(problems[0].contains("--jwks or --jwks-uri"), "{problems:?}");
    for (method, public) in [("client_secret_jwt", false), ("private_key_jwt", true)] {
        let mut problems = Vec::new();
        let spec = ClientSpec {
            auth_method: Some(method.into()),
            public,
            jwks_uri: Some("https://rp.example/jwks".into()),
            ..ClientSpec::default()
        };
        check_spec(&spec, &mut problems);
        assert!(!problems.is_empty(), "{method}");
    }
    let mut problems = Vec::new();
    let spec = ClientSpec {
        auth_method: Some("private_key_jwt".into()),
        jwks: Some(set_json(&[&ec_key("a")])),
        jwks_uri: Some("https://rp.example/jwks".into()),
        ..ClientSpec::default()
    };
    check_spec(&spec, &mut problems);
    assert!(problems[0].contains("not both"), "{problems:?}");
    assert!(check_jwks_uri("http://rp.example/jwks").is_err());
    assert!(check_jwks_uri("http://127.0.0.1:8080/jwks").is_ok());
    assert!(check_jwks_uri("https://rp.example/jwks#x").is_err());
}

#[test]
fn verification_picks_the_key_by_kid_or_by_type() {
    let (a, b) = (ec_key("a"), ec_key("b"));
    let set = public_set(&[&a, &b]);
    let payload = claims(json!({ "sub": "x" }));
    let by_kid = sign_es256(&b, Some("b"), &payload);
    let v = verify::verify(&by_kid, &set, 10_000).unwrap();
    assert_eq!(v.claims["sub"], "x");
    let without_kid = sign_es256(&b, None, &payload);
    assert!(verify::verify(&without_kid, &set, 10_000).is_ok());
    let unknown = sign_es256(&b, Some("zzz"), &payload);
    assert_eq!(
        verify::verify(&unknown, &set, 10_000).unwrap_err(),
        Refusal::UnknownKid
    );
    let stranger = ec_key("a");
    let forged = sign_es256(&stranger, Some("a"), &payload);
    assert!(matches!(
        verify::verify(&forged, &set, 10_000),
        Err(Refusal::Invalid(_))
    ));
    assert!(verify::verify(&by_kid, &set, 10).is_err());
}

#[test]
fn rsa_keys_verify_ps256_and_rs256() {
    let k = without_kid(&rsa_key("r", 2048));
    let set = public_set(&[&k]);
    let payload = claims(json!({ "sub": "x" }));
    for signer in [
        Box::new(PS256.signer_from_jwk(&k).unwrap()) as Box<dyn josekit::jws::JwsSigner>,
        Box::new(RS256.signer_from_jwk(&k).unwrap()),
    ] {
        let token = jwt::encode_with_signer(&payload, &JwsHeader::new(), &*signer).unwrap();
        assert!(verify::verify(&token, &set, 10_000).is_ok());
    }
}

#[test]
fn none_and_hmac_are_refused() {
    let set = public_set(&[&ec_key("a")]);
    let payload = claims(json!({ "sub": "x" }));
    let unsigned = jwt::encode_unsecured(&payload, &JwsHeader::new()).unwrap();
    let err = verify::verify(&unsigned, &set, 10_000).unwrap_err();
    assert!(err.reason().contains("none"), "{err:?}");
    let hs = jwt::encode_with_signer(
        &payload,
        &JwsHeader::new(),
        &HS256
            .signer_from_bytes(b"0123456789abcdef0123456789abcdef")
            .unwrap(),
    )
    .unwrap();
    assert!(verify::verify(&hs, &set, 10_000)
        .unwrap_err()
        .reason()
        .contains("HS256"));
}

fn assertion_claims(extra: Value) -> Map<String, Value> {
    let mut base = json!({
        "iss": "c1", "sub": "c1", "aud": "https://id.example", "exp": 1_100,
        "iat": 1_000, "jti": "j1"
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base.as_object().unwrap().clone()
}

const AUD: Audiences<'static> = Audiences {
    issuer: "https://id.example",
    endpoint: "https://id.example/token",
};

#[test]
fn assertion_claims_follow_rfc_7523() {
    let ok = assertion::check(&assertion_claims(json!({})), "c1", AUD, 1_000).unwrap();
    assert_eq!((ok.jti.as_str(), ok.exp), ("j1", 1_100));
    let endpoint = json!({ "aud": ["https://id.example/token"] });
    assert!(assertion::check(&assertion_claims(endpoint), "c1", AUD, 1_000).is_ok());
    for (extra, why) in [
        (json!({ "aud": "https://other.example" }), "aud"),
        (json!({ "aud": "https://id.example/par" }), "aud"),
        (json!({ "iss": "c2" }), "iss"),
        (json!({ "sub": "c2" }), "sub"),
        (json!({ "exp": null }), "exp"),
        (json!({ "exp": 999 }), "expired"),
        (json!({ "exp": 1_400 }), "ahead"),
        (json!({ "iat": 1_100 }), "iat"),
        (json!({ "nbf": 1_100 }), "nbf"),
        (json!({ "jti": null }), "jti"),
        (json!({ "jti": "" }), "jti"),
    ] {
        let err = assertion::check(&assertion_claims(extra.clone()), "c1", AUD, 1_000).unwrap_err();
        assert!(err.contains(why), "{extra}: {err}");
    }
    assert_ne!(
        assertion::replay_key("a", "bc"),
        assertion::replay_key("ab", "c")
    );
}

fn object(header: Value, claims: Value) -> verify::Verified {
    verify::Verified {
        header: header.as_object().unwrap().clone(),
        claims: claims.as_object().unwrap().clone(),
    }
}

fn request_claims() -> Value {
    json!({
        "iss": "c1", "aud": "https://id.example", "client_id": "c1", "exp": 1_100,
        "response_type": "code", "scope": "openid", "max_age": 60,
        "resource": ["https://a.example", "https://b.example"],
        "claims": { "userinfo": { "email": null } }
    })
}

#[test]
fn a_request_object_yields_its_parameters() {
    let params = request_object::check(
        &object(json!({ "typ": "oauth-authz-req+jwt" }), request_claims()),
        "c1",
        "https://id.example",
        1_000,
    )
    .unwrap();
    assert_eq!(params.get("scope"), Some("openid"));
    assert_eq!(params.get("max_age"), Some("60"));
    assert_eq!(params.get("client_id"), Some("c1"));
    assert_eq!(params.get("iss"), None);
    assert_eq!(params.all("resource").len(), 2);
    assert!(params.get("claims").unwrap().contains("userinfo"));
}

#[test]
fn a_request_object_breaking_a_rule_is_refused() {
    let with = |k: &str, v: Value| {
        let mut c = request_claims();
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v;
        }
        c
    };
    for (header, claims, why) in [
        (json!({ "typ": "dpop+jwt" }), request_claims(), "typ"),
        (json!({}), with("iss", json!("c2")), "iss"),
        (json!({}), with("client_id", json!("c2")), "client_id"),
        (
            json!({}),
            with("aud", json!("https://other.example")),
            "aud",
        ),
        (json!({}), with("exp", Value::Null), "exp"),
        (json!({}), with("exp", json!(900)), "expired"),
        (json!({}), with("nbf", json!(1_200)), "nbf"),
        (json!({}), with("nbf", json!(-3_000)), "nbf"),
        (
            json!({}),
            with("request_uri", json!("urn:x")),
            "request_uri",
        ),
        (json!({}), with("request", json!("a.b.c")), "request"),
        (json!({}), with("scope", json!(["a"])), "scope"),
    ] {
        let err = request_object::check(
            &object(header, claims.clone()),
            "c1",
            "https://id.example",
            1_000,
        )
        .unwrap_err();
        assert!(err.contains(why), "{claims}: {err}");
    }
}
