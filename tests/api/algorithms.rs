//! ES256 and EdDSA beside RS256: discovery lists exactly the configured algorithms, the JWKS
//! publishes one key of each, and a client registered with `--token-alg` gets access tokens in
//! its algorithm that jsonwebtoken and portcullis-verify accept via the JWKS.
use portcullis::tokens::Alg;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app_with, verify_with_jwks, Backend, TestClient};
use crate::keys::{cli_json, portcullis, token_kid};
use crate::web::{self, browser, param};

both_backends!(clients_choose_es256_or_eddsa_access_tokens);

async fn clients_choose_es256_or_eddsa_access_tokens(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.keys.algorithms = vec![Alg::RS256, Alg::ES256, Alg::EdDSA];
    })
    .await;
    let discovery: Value = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "EdDSA"])
    );
    let jwks = app.jwks().await;
    let published: Vec<(&str, &str)> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["alg"].as_str().unwrap(), k["kty"].as_str().unwrap()))
        .collect();
    for expected in [("RS256", "RSA"), ("ES256", "EC"), ("EdDSA", "OKP")] {
        assert!(published.contains(&expected), "{jwks}");
    }

    for alg in ["ES256", "EdDSA"] {
        let created = cli_json(
            &app,
            &[
                "client",
                "create",
                "--name",
                alg,
                "--grant",
                "client_credentials",
                "--scope",
                "read",
                "--token-alg",
                alg,
            ],
        );
        assert_eq!(created["token_alg"], alg);
        let client = TestClient {
            id: created["client_id"].as_str().unwrap().into(),
            secret: created["client_secret"].as_str().unwrap().into(),
        };
        let (token, _) = token_kid(&app, &client).await;
        let (header, claims) = verify_with_jwks(&token, &jwks, &app.address, &app.address);
        assert_eq!(format!("{:?}", header.alg), alg);
        assert_eq!(claims["client_id"], client.id.as_str());
        let verifier = portcullis_verify::Verifier::from_issuer_with_config(
            &app.address,
            &app.address,
            portcullis_verify::Config::new().allowed_algorithms([alg]),
        )
        .await
        .unwrap();
        assert_eq!(verifier.verify(&token).await.unwrap().sub, client.id);
        // Pinned to RS256, the verifier refuses it: the allow-list holds.
        let rs_only = portcullis_verify::Verifier::from_issuer(&app.address, &app.address)
            .await
            .unwrap();
        assert!(rs_only.verify(&token).await.is_err());
    }

    // An algorithm the server does not keep keys for is refused at registration.
    let err = refused_client(&app, "--token-alg", "HS256");
    assert!(err.contains("HS256"), "{err}");
}

/// `client create` with `flag alg`, which must fail: its stderr.
fn refused_client(app: &crate::helpers::TestApp, flag: &str, alg: &str) -> String {
    let mut cmd = portcullis();
    cmd.args([
        "client",
        "create",
        "--name",
        "x",
        "--grant",
        "client_credentials",
    ])
    .args([flag, alg]);
    app.cli_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).to_string()
}

both_backends!(
    an_algorithm_outside_keys_algorithms_is_refused_for_a_client,
    ps256_access_and_id_tokens_verify_against_the_jwks,
);

async fn an_algorithm_outside_keys_algorithms_is_refused_for_a_client(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let err = refused_client(&app, "--id-token-alg", "ES256");
    assert!(err.contains("not in keys.algorithms"), "{err}");
}

/// PS256 (RSASSA-PSS): published as an RSA key with `alg: PS256`, listed in discovery, and a
/// client on it gets an access token and an id_token that jsonwebtoken, josekit and
/// portcullis-verify accept through `/jwks.json`.
async fn ps256_access_and_id_tokens_verify_against_the_jwks(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.keys.algorithms = vec![Alg::RS256, Alg::PS256];
    })
    .await;
    let discovery: Value = app
        .api
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "PS256"])
    );
    assert!(discovery["dpop_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&"PS256".into()));
    let jwks = app.jwks().await;
    let ps = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "PS256")
        .unwrap_or_else(|| panic!("no PS256 key in {jwks}"));
    assert_eq!(
        (ps["kty"].as_str(), ps["use"].as_str()),
        (Some("RSA"), Some("sig"))
    );

    let client = app.code_client_with(|s| {
        s.token_alg = Some("PS256".into());
        s.id_token_alg = Some("PS256".into());
    });
    let user = app.create_user("ada@example.com", "student").await;
    let (verifier, challenge) = web::pkce();
    let params = crate::helpers::TestApp::code_request(&client, &challenge, "openid read");
    let back = web::authorize_through(&app, &browser(), &params, &user.email, &user.password).await;
    let code = param(&back, "code").expect("a code");
    let resp = web::exchange(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();

    let (header, claims) = verify_with_jwks(access, &jwks, &app.address, &app.address);
    assert_eq!(header.alg, jsonwebtoken::Algorithm::PS256);
    assert_eq!(header.kid.as_deref(), ps["kid"].as_str());
    assert_eq!(claims["sub"], user.id.as_str());
    let (header, claims) = verify_with_jwks(id_token, &jwks, &app.address, &client.id);
    assert_eq!(header.alg, jsonwebtoken::Algorithm::PS256);
    assert_eq!(claims["nonce"], "n-456");

    // josekit, from the published JWK: a PSS verifier accepts, a PKCS#1 v1.5 one does not.
    let jwk = josekit::jwk::Jwk::from_bytes(ps.to_string().as_bytes()).unwrap();
    let pss = josekit::jws::PS256.verifier_from_jwk(&jwk).unwrap();
    assert!(josekit::jwt::decode_with_verifier(id_token, &pss).is_ok());
    let mut as_rs = jwk.clone();
    as_rs.set_algorithm("RS256");
    let pkcs1 = josekit::jws::RS256.verifier_from_jwk(&as_rs).unwrap();
    assert!(josekit::jwt::decode_with_verifier(access, &pkcs1).is_err());

    let verifier = portcullis_verify::Verifier::from_issuer_with_config(
        &app.address,
        &app.address,
        portcullis_verify::Config::new().allowed_algorithms(["PS256"]),
    )
    .await
    .unwrap();
    assert_eq!(verifier.verify(access).await.unwrap().sub, user.id);
    let rs_only = portcullis_verify::Verifier::from_issuer(&app.address, &app.address)
        .await
        .unwrap();
    assert!(rs_only.verify(access).await.is_err());
}
