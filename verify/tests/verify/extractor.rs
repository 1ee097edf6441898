//! The actix-web extractor and its RFC 6750 answers.
use super::api_keys::api_key_config;
use super::common::*;

// ---------------------------------------------------------------------------------------------
// actix-web extractor

async fn me(auth: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(&auth.0)
}

async fn reports(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    auth.require_scope("read")?;
    Ok(HttpResponse::Ok().json(json!({"reports": []})))
}

async fn export(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    auth.require_scope("reports:export")?;
    Ok(HttpResponse::Ok().finish())
}

async fn admin(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    require_role(&auth, "admin")?;
    Ok(HttpResponse::Ok().finish())
}

macro_rules! app {
    ($verifier:expr) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new($verifier.clone()))
                .route("/me", web::get().to(me))
                .route("/reports", web::get().to(reports))
                .route("/export", web::get().to(export))
                .route("/admin", web::get().to(admin)),
        )
        .await
    };
}

fn get(path: &str, token: Option<&str>) -> actix_web::test::TestRequest {
    let req = test::TestRequest::get().uri(path);
    match token {
        Some(t) => req.insert_header((header::AUTHORIZATION, format!("Bearer {t}"))),
        None => req,
    }
}

fn challenge(resp: &actix_web::dev::ServiceResponse) -> String {
    resp.headers()
        .get(header::WWW_AUTHENTICATE)
        .expect("a WWW-Authenticate challenge")
        .to_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn extractor_accepts_a_valid_token() {
    let s = Setup::new().await;
    let app = app!(s.verifier);
    let resp = test::call_service(&app, get("/me", Some(&s.token())).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["sub"], "user-42");
    assert_eq!(body["client_id"], "web-app");
    assert_eq!(body["scopes"], json!(["openid", "profile", "read"]));
    assert_eq!(body["roles"], json!(["editor"]));

    let resp = test::call_service(&app, get("/reports", Some(&s.token())).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[actix_web::test]
async fn extractor_answers_401_without_error_code_when_no_token_is_sent() {
    let s = Setup::new().await;
    let app = app!(s.verifier);
    let resp = test::call_service(&app, get("/me", None).to_request()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&resp),
        format!(r#"Bearer realm="{}""#, s.issuer.url)
    );
    assert!(test::read_body(resp).await.is_empty());

    // Another scheme counts as no token.
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, "Basic dXNlcjpwYXNz"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&resp),
        format!(r#"Bearer realm="{}""#, s.issuer.url)
    );

    // "Bearer" with nothing after it is a malformed request.
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, "Bearer "))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(challenge(&resp).contains(r#"error="invalid_request""#));
}

#[actix_web::test]
async fn extractor_answers_401_invalid_token_for_bad_tokens() {
    let s = Setup::new().await;
    let app = app!(s.verifier);
    let now = s.clock.now();
    let expired = s.token_with(|c| {
        c.insert("exp".into(), json!(now - 3600));
    });
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "at+jwt", "kid": KEYS[0].kid})),
        b64(&s.claims())
    );
    let wrong_aud = s.token_with(|c| {
        c.insert("aud".into(), json!("https://other.example.com"));
    });
    let cases = [
        (expired, VerifyError::Expired),
        (none, VerifyError::AlgorithmNotAllowed("none".into())),
        (wrong_aud, VerifyError::WrongAudience),
        ("pc_nope_nope".to_owned(), VerifyError::ApiKeysNotAccepted),
    ];
    for (token, error) in cases {
        let resp = test::call_service(&app, get("/me", Some(&token)).to_request()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{error:?}");
        assert_eq!(
            challenge(&resp),
            format!(
                r#"Bearer realm="{}", error="invalid_token", error_description="{}""#,
                s.issuer.url,
                error.description()
            )
        );
        assert_eq!(
            resp.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let body: Value = test::read_body_json(resp).await;
        assert_eq!(
            body,
            json!({"error": "invalid_token", "error_description": error.description()})
        );
    }
}

#[actix_web::test]
async fn extractor_answers_403_insufficient_scope() {
    let s = Setup::new().await;
    let app = app!(s.verifier);
    let resp = test::call_service(&app, get("/export", Some(&s.token())).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let challenge = challenge(&resp);
    assert_eq!(
        challenge,
        format!(
            r#"Bearer realm="{}", error="insufficient_scope", error_description="the token lacks the scope reports:export", scope="reports:export""#,
            s.issuer.url
        )
    );
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(body["scope"], "reports:export");

    // Without the read scope, /reports is refused too.
    let token = s.token_with(|c| {
        c.insert("scope".into(), json!("openid"));
    });
    let resp = test::call_service(&app, get("/reports", Some(&token)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // Roles: same 403, the description names the role.
    let resp = test::call_service(&app, get("/admin", Some(&s.token())).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let challenge_value = resp
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge_value.contains(r#"error="insufficient_scope""#));
    assert!(challenge_value.contains("the role admin is required"));
    let admin_token = s.token_with(|c| {
        c.insert("roles".into(), json!(["admin"]));
    });
    let resp = test::call_service(&app, get("/admin", Some(&admin_token)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[actix_web::test]
async fn extractor_handles_api_keys() {
    let s = Setup::with_config(api_key_config()).await;
    let app = app!(s.verifier);
    let key = "pc_AbCd1234_valid";
    s.issuer.add_api_key(
        key,
        json!({"active": true, "token_type": "api_key", "sub": "user-9", "scope": "read"}),
    );
    let resp = test::call_service(&app, get("/reports", Some(key)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = test::call_service(&app, get("/me", Some(key)).to_request()).await;
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["sub"], "user-9");
    assert_eq!(body["kind"], "api_key");
    assert_eq!(s.issuer.introspections(), 1);

    let resp = test::call_service(&app, get("/me", Some("pc_AbCd1234_revoked")).to_request()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&resp).contains(r#"error="invalid_token""#));
}

#[actix_web::test]
async fn extractor_without_a_verifier_is_a_server_error() {
    let app = test::init_service(App::new().route("/me", web::get().to(me))).await;
    let resp = test::call_service(&app, get("/me", Some("x.y.z")).to_request()).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[actix_web::test]
async fn verify_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let verifier = Verifier::from_jwks(
        "https://id.example.com",
        AUDIENCE,
        &json!({"keys": [KEYS[0].jwk]}).to_string(),
        Config::default(),
    )
    .unwrap();
    assert_send(&verifier.verify("x"));
    let request = portcullis_verify::DpopRequest {
        proof: None,
        method: "GET",
        url: "https://api.example.com/",
    };
    assert_send(&verifier.verify_dpop("x", &request));
    fn assert_sync<T: Send + Sync + Clone>() {}
    assert_sync::<Verifier>();
    assert_sync::<Claims>();
}
