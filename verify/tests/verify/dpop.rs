//! DPoP (RFC 9449 §7): a token bound to a key (`cnf.jkt`) is taken only as `Authorization:
//! DPoP` with a fresh proof of that key for the request; the answers' `DPoP` challenges.
use portcullis_verify::DpopRequest;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use super::common::*;

const EXTERNAL: &str = "https://api.example.com";
const ALGS: &str = r#"algs="ES256 EdDSA RS256 PS256""#;

/// A client's ES256 DPoP key.
struct DpopKey {
    pair: EcdsaKeyPair,
    jwk: Value,
}

impl DpopKey {
    fn new() -> DpopKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let jwk = json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        });
        DpopKey { pair, jwk }
    }

    fn jkt(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.jwk["x"].as_str().unwrap(),
            self.jwk["y"].as_str().unwrap()
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A proof with these claims; `iat` and a fresh `jti` unless given.
    fn proof(&self, now: i64, claims: Value) -> String {
        let mut all = json!({"iat": now, "jti": format!("jti-{}", rand::random::<u64>())});
        all.as_object_mut()
            .unwrap()
            .extend(claims.as_object().unwrap().clone());
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk});
        let message = format!("{}.{}", b64(&header), b64(&all));
        let sig = self
            .pair
            .sign(&SystemRandom::new(), message.as_bytes())
            .unwrap();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// A proof for `GET <url>` with `token`.
    fn get(&self, now: i64, url: &str, token: &str) -> String {
        self.proof(now, json!({"htm": "GET", "htu": url, "ath": ath(token)}))
    }
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

async fn me(auth: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(&auth.0)
}

fn request(scheme: &str, token: &str, proofs: &[&str]) -> actix_web::test::TestRequest {
    let mut req = test::TestRequest::get()
        .uri("/me?page=2")
        .insert_header((header::AUTHORIZATION, format!("{scheme} {token}")));
    for p in proofs {
        req = req.append_header(("DPoP", *p));
    }
    req
}

/// Asserts a 401 with a `DPoP` challenge carrying `error` and the algorithms.
async fn assert_dpop_refusal(resp: actix_web::dev::ServiceResponse, error: &str) {
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .expect("a challenge")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("DPoP realm="), "{challenge}");
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{challenge}"
    );
    assert!(challenge.contains(ALGS), "{challenge}");
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["error"], error, "{body}");
}

#[actix_web::test]
async fn dpop_bound_token_is_taken_only_with_a_proof_of_its_key() {
    let s = Setup::with_config(Config::default().external_url(format!("{EXTERNAL}/"))).await;
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(s.verifier.clone()))
            .route("/me", web::get().to(me)),
    )
    .await;
    let key = DpopKey::new();
    let token = s.token_with(|c| {
        c.insert("cnf".into(), json!({"jkt": key.jkt()}));
    });
    let url = format!("{EXTERNAL}/me");
    let now = s.clock.now();
    let call = |req: actix_web::test::TestRequest| test::call_service(&app, req.to_request());

    // The bound key, for this request: accepted (the query is not part of htu).
    let proof = key.get(now, &url, &token);
    let resp = call(request("DPoP", &token, &[&proof])).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["sub"], "user-42");
    assert_eq!(body["extra"]["cnf"]["jkt"], key.jkt().as_str());

    // The same proof again: a replay.
    assert_dpop_refusal(
        call(request("DPoP", &token, &[&proof])).await,
        "invalid_dpop_proof",
    )
    .await;

    // As a Bearer token (with or without a proof): invalid_token, with a DPoP challenge.
    let resp = call(request("Bearer", &token, &[&key.get(now, &url, &token)])).await;
    assert_dpop_refusal(resp, "invalid_token").await;
    assert_dpop_refusal(call(request("Bearer", &token, &[])).await, "invalid_token").await;

    // No proof, two proofs, a proof of another key, a proof signed by another key than its jwk.
    let other = DpopKey::new();
    for proofs in [
        vec![],
        vec![key.get(now, &url, &token), key.get(now, &url, &token)],
        vec![other.get(now, &url, &token)],
        vec!["not.a.proof".to_owned()],
    ] {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let resp = call(request("DPoP", &token, &proofs)).await;
        assert_dpop_refusal(resp, "invalid_dpop_proof").await;
    }

    // Wrong htu (another host, another path, the internal URL), htm, ath; stale or future iat.
    for claims in [
        json!({"htm": "GET", "htu": "https://evil.example.com/me", "ath": ath(&token)}),
        json!({"htm": "GET", "htu": format!("{EXTERNAL}/other"), "ath": ath(&token)}),
        json!({"htm": "GET", "htu": "http://localhost:8080/me", "ath": ath(&token)}),
        json!({"htm": "POST", "htu": url, "ath": ath(&token)}),
        json!({"htm": "GET", "htu": url, "ath": ath("another token")}),
        json!({"htm": "GET", "htu": url}),
        json!({"htm": "GET", "htu": url, "ath": ath(&token), "iat": now - 120}),
        json!({"htm": "GET", "htu": url, "ath": ath(&token), "iat": now + 120}),
    ] {
        let resp = call(request("DPoP", &token, &[&key.proof(now, claims.clone())])).await;
        assert_dpop_refusal(resp, "invalid_dpop_proof").await;
    }

    // An unbound token with the DPoP scheme: invalid_token (DPoP challenge); as Bearer: fine.
    let plain = s.token();
    let resp = call(request("DPoP", &plain, &[&key.get(now, &url, &plain)])).await;
    assert_dpop_refusal(resp, "invalid_token").await;
    let resp = call(request("Bearer", &plain, &[])).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[actix_web::test]
async fn dpop_htu_defaults_to_the_requests_scheme_and_host() {
    let s = Setup::new().await;
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(s.verifier.clone()))
            .route("/me", web::get().to(me)),
    )
    .await;
    let key = DpopKey::new();
    let token = s.token_with(|c| {
        c.insert("cnf".into(), json!({"jkt": key.jkt()}));
    });
    let now = s.clock.now();
    let req = |url: &str| {
        request("DPoP", &token, &[&key.get(now, url, &token)])
            .insert_header((header::HOST, "api.internal:8443"))
            .to_request()
    };
    let resp = test::call_service(&app, req("http://api.internal:8443/me")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = test::call_service(&app, req(&format!("{EXTERNAL}/me"))).await;
    assert_dpop_refusal(resp, "invalid_dpop_proof").await;
}

async fn verify_dpop(
    verifier: &Verifier,
    token: &str,
    proof: Option<&str>,
    url: &str,
) -> Result<Claims, VerifyError> {
    let request = DpopRequest {
        proof,
        method: "GET",
        url,
    };
    verifier.verify_dpop(token, &request).await
}

#[actix_web::test]
async fn dpop_without_actix_and_a_full_replay_cache() {
    let s = Setup::with_config(
        Config::default()
            .external_url(EXTERNAL)
            .dpop_replay_cache_size(1),
    )
    .await;
    let v = &s.verifier;
    let url = v.external_url("/me").unwrap();
    assert_eq!(url, "https://api.example.com/me");
    let key = DpopKey::new();
    let token = s.token_with(|c| {
        c.insert("cnf".into(), json!({"jkt": key.jkt()}));
    });
    let now = s.clock.now();
    // `verify` refuses the bound token; `verify_dpop` takes it with a proof.
    assert_eq!(
        v.verify(&token).await.unwrap_err(),
        VerifyError::DpopBoundToken
    );
    let proof = key.get(now, &url, &token);
    let claims = verify_dpop(v, &token, Some(&proof), &url).await.unwrap();
    assert_eq!(claims.dpop_jkt(), Some(key.jkt().as_str()));
    assert!(matches!(
        verify_dpop(v, &token, None, &url).await,
        Err(VerifyError::InvalidDpopProof(_))
    ));
    // The cache holds one unexpired proof: the next is refused (503), not the first forgotten.
    let proof = key.get(now, &url, &token);
    let full = verify_dpop(v, &token, Some(&proof), &url)
        .await
        .unwrap_err();
    assert!(matches!(full, VerifyError::Unavailable(_)), "{full:?}");
    assert_eq!(v.auth_error(&full).status(), 503);
    // Once the first has expired, there is room again.
    s.clock.advance(200);
    let later = s.clock.now();
    let proof = key.get(later, &url, &token);
    let result = verify_dpop(v, &token, Some(&proof), &url).await;
    assert!(result.is_ok(), "{result:?}");
    // An unbound token, or an API key, through verify_dpop.
    let plain = s.token();
    let proof = key.get(later, &url, &plain);
    assert_eq!(
        verify_dpop(v, &plain, Some(&proof), &url)
            .await
            .unwrap_err(),
        VerifyError::NotDpopBound
    );
    assert_eq!(
        verify_dpop(v, "pc_abc_def", Some(&proof), &url)
            .await
            .unwrap_err(),
        VerifyError::NotDpopBound
    );
}

#[actix_web::test]
async fn dpop_settings_are_checked() {
    let issuer = FakeIssuer::start();
    for config in [
        Config::default().external_url("api.example.com"),
        Config::default().external_url("https://api.example.com/?x=1"),
        Config::default().dpop_replay_cache_size(0),
    ] {
        let err = Verifier::from_issuer_with_config(&issuer.url, AUDIENCE, config)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}
