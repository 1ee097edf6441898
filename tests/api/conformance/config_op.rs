//! Config OP plan: `oidcc-discovery-endpoint-verification`, against a production-like https
//! issuer (behind a TLS-terminating proxy; the test talks to the bound port).
use serde_json::Value;

use crate::helpers::{spawn_app_with, Backend};

crate::both_backends!(oidcc_discovery_endpoint_verification);

const ISSUER: &str = "https://login.example.com";

async fn oidcc_discovery_endpoint_verification(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.issuer = ISSUER.into();
        s.bind = Some("127.0.0.1:0".into());
    })
    .await;
    let base = format!("http://127.0.0.1:{}", app.port);
    let resp = app
        .api
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let d: Value = resp.json().await.unwrap();

    // CheckDiscEndpointIssuer: the issuer is the one configured, exactly.
    assert_eq!(d["issuer"], ISSUER);
    // CheckDiscEndpoint{Authorization,Token,Userinfo}Endpoint, CheckJwksUri,
    // CheckDiscEndpointAllEndpointsAreHttps: every endpoint is an https URL of the issuer.
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ] {
        let url = d[field].as_str().unwrap_or_else(|| panic!("{field}"));
        assert!(url.starts_with(&format!("{ISSUER}/")), "{field}: {url}");
    }
    for (field, value) in d.as_object().unwrap() {
        if field.ends_with("_endpoint") || field.ends_with("_uri") {
            let url = value.as_str().unwrap_or_default();
            assert!(url.starts_with("https://"), "{field}: {url}");
        }
    }
    // CheckDiscEndpointScopesSupportedContainsOpenId.
    assert!(has(&d, "scopes_supported", "openid"));
    // OIDCCCheckDiscEndpointResponseTypesSupported: `code` (the Basic profile's).
    assert!(has(&d, "response_types_supported", "code"));
    // OIDCCCheckDiscEndpointSubjectTypesSupported: public or pairwise.
    let subjects = d["subject_types_supported"].as_array().unwrap();
    assert!(!subjects.is_empty());
    assert!(subjects.iter().all(|s| s == "public" || s == "pairwise"));
    // OIDCCCheckDiscEndpointIdTokenSigningAlgValuesSupported: RS256 present, `none` absent.
    assert!(has(&d, "id_token_signing_alg_values_supported", "RS256"));
    assert!(!has(&d, "id_token_signing_alg_values_supported", "none"));
    // OP-Discovery-claims_supported: listed, with `sub`; the claims parameter, when said
    // to be supported, is a boolean.
    assert!(has(&d, "claims_supported", "sub"));
    if let Some(v) = d.get("claims_parameter_supported") {
        assert!(v.is_boolean());
    }
    for field in [
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
    ] {
        assert!(d[field].is_array(), "{field}");
    }

    // OP-Discovery-JWKs (ValidateServerJWKs): public keys only, each with kid, kty, use/alg.
    let jwks: Value = app
        .api
        .get(format!("{base}/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "private member {private}: {k}");
        }
        assert!(k["kid"].is_string() && k["kty"].is_string(), "{k}");
        assert_eq!(k["use"], "sig", "{k}");
    }
}

fn has(d: &Value, field: &str, value: &str) -> bool {
    d[field]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == value))
}
