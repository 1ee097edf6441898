//! ES256 and EdDSA beside RS256: discovery lists exactly the configured algorithms, the JWKS
//! publishes one key of each, and a client registered with `--token-alg` gets access tokens in
//! its algorithm that jsonwebtoken and portcullis-verify accept via the JWKS.
use portcullis::tokens::Alg;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app_with, verify_with_jwks, Backend, TestClient};
use crate::keys::{cli_json, portcullis, token_kid};

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

both_backends!(an_algorithm_outside_keys_algorithms_is_refused_for_a_client);

async fn an_algorithm_outside_keys_algorithms_is_refused_for_a_client(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let err = refused_client(&app, "--id-token-alg", "ES256");
    assert!(err.contains("not in keys.algorithms"), "{err}");
}
