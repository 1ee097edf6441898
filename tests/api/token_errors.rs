//! Every error case of the token endpoint: exact status, `error` code and headers.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use portcullis::oauth::registration::ClientSpec;

use crate::both_backends;
use crate::helpers::{assert_oauth_error, spawn_app, Backend};

both_backends!(
    client_authentication_errors,
    request_errors,
    grant_errors,
    body_errors
);

async fn client_authentication_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.service_client();
    let token = app.url("/token");
    let cc = [("grant_type", "client_credentials")];

    // Unknown client, via Basic: 401 with a Basic challenge.
    let resp = app
        .api
        .post(&token)
        .basic_auth("nobody", Some("x"))
        .form(&cc)
        .send()
        .await
        .unwrap();
    let headers = assert_oauth_error(resp, 401, "invalid_client").await;
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic realm="));

    // Wrong secret via Basic: the same answer.
    let resp = app
        .api
        .post(&token)
        .basic_auth(&client.id, Some("wrong"))
        .form(&cc)
        .send()
        .await
        .unwrap();
    let headers = assert_oauth_error(resp, 401, "invalid_client").await;
    assert!(headers.contains_key("www-authenticate"));

    // Wrong secret in the body: 401 without a challenge.
    let resp = app
        .api
        .post(&token)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    let headers = assert_oauth_error(resp, 401, "invalid_client").await;
    assert!(!headers.contains_key("www-authenticate"));

    // No client authentication at all; a confidential client with only its id.
    let resp = app.api.post(&token).form(&cc).send().await.unwrap();
    assert_oauth_error(resp, 401, "invalid_client").await;
    let resp = app
        .api
        .post(&token)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 401, "invalid_client").await;

    // Malformed Basic credentials.
    let resp = app
        .api
        .post(&token)
        .header("authorization", "Basic !!!not-base64")
        .form(&cc)
        .send()
        .await
        .unwrap();
    let headers = assert_oauth_error(resp, 401, "invalid_client").await;
    assert!(headers.contains_key("www-authenticate"));
    let resp = app
        .api
        .post(&token)
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode("no-colon")),
        )
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 401, "invalid_client").await;

    // Two methods at once.
    let resp = app
        .api
        .post(&token)
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;
}

async fn request_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.service_client();

    // Missing grant_type; an empty one counts as missing.
    let resp = app.token_basic(&client, &[("scope", "read")]).await;
    assert_oauth_error(resp, 400, "invalid_request").await;
    let resp = app.token_basic(&client, &[("grant_type", "")]).await;
    assert_oauth_error(resp, 400, "invalid_request").await;

    // Repeated parameters.
    let resp = app
        .token_basic(
            &client,
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_oauth_error(resp, 400, "invalid_request").await;
    let resp = app
        .token_basic(
            &client,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read"),
                ("scope", "write"),
            ],
        )
        .await;
    assert_oauth_error(resp, 400, "invalid_request").await;

    // GET is not allowed.
    let resp = app.api.get(app.url("/token")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

async fn grant_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.service_client();

    for unknown in [
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        // RFC 8628's grant is known by its URN only.
        "device_code",
        "CLIENT_CREDENTIALS",
    ] {
        let resp = app.token_basic(&client, &[("grant_type", unknown)]).await;
        assert_oauth_error(resp, 400, "unsupported_grant_type").await;
    }

    // A grant the client is not registered for.
    let resp = app
        .token_basic(
            &client,
            &[
                ("grant_type", "password"),
                ("username", "a"),
                ("password", "b"),
            ],
        )
        .await;
    assert_oauth_error(resp, 400, "unauthorized_client").await;
    let password_only = app.create_client(ClientSpec {
        name: "pw".into(),
        grant_types: vec!["password".into()],
        ..ClientSpec::default()
    });
    let resp = app
        .token_basic(&password_only, &[("grant_type", "client_credentials")])
        .await;
    assert_oauth_error(resp, 400, "unauthorized_client").await;
}

async fn body_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.service_client();
    let post = || {
        app.api
            .post(app.url("/token"))
            .basic_auth(&client.id, Some(&client.secret))
    };

    // Wrong content type.
    let resp = post()
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;
    let resp = post()
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;

    // Malformed body: bytes that are not UTF-8 once decoded.
    let resp = post()
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=%FF%FE")
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;
    let resp = post()
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'g', b'=', 0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;

    // Over 16 KiB: with a Content-Length, and streamed without one.
    let big = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(17 * 1024)
    );
    let resp = post()
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;
    let chunks: Vec<Result<String, std::io::Error>> = big
        .as_bytes()
        .chunks(4096)
        .map(|c| Ok(String::from_utf8(c.to_vec()).unwrap()))
        .collect();
    let resp = post()
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_request").await;

    // Just under the limit is fine (and the oversized scope is then simply not allowed).
    let ok = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(15 * 1024)
    );
    let resp = post()
        .header("content-type", "application/x-www-form-urlencoded")
        .body(ok)
        .send()
        .await
        .unwrap();
    assert_oauth_error(resp, 400, "invalid_scope").await;
}
