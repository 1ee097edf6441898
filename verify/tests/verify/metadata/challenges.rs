//! The `resource_metadata` challenges (RFC 6750 §3, RFC 9728 §5.1), the audience check against
//! the resource (RFC 8707), and the same answers from other frameworks.
use super::*;

#[actix_web::test]
async fn answers_401_with_the_resource_metadata_when_no_token_or_a_bad_one_is_sent() {
    let s = mcp_setup().await;
    let realm = &s.issuer.url;
    // The extractor names the metadata by itself; the middleware does not add it twice.
    for wrapped in [true, false] {
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(s.verifier.clone()))
                .wrap(actix_web::middleware::Condition::new(
                    wrapped,
                    ProtectedResource::new(&s.verifier),
                ))
                .route("/mcp", web::post().to(mcp)),
        )
        .await;

        let resp = test::call_service(&app, post("/mcp", None).to_request()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge(&resp),
            format!(r#"Bearer realm="{realm}", resource_metadata="{MCP_METADATA}""#)
        );
        assert!(test::read_body(resp).await.is_empty());

        let now = s.clock.now();
        let expired = s.token_with(|c| {
            c.insert("exp".into(), json!(now - 3600));
        });
        let cases = [
            (expired, VerifyError::Expired),
            ("not-a-jwt".to_owned(), VerifyError::Malformed),
            (
                mint(&KEYS[2], &s.claims()),
                VerifyError::UnknownKey(KEYS[2].kid.clone()),
            ),
        ];
        for (token, error) in cases {
            let resp = test::call_service(&app, post("/mcp", Some(&token)).to_request()).await;
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{error:?}");
            assert_eq!(
                challenge(&resp),
                format!(
                    r#"Bearer realm="{realm}", error="invalid_token", error_description="{}", resource_metadata="{MCP_METADATA}""#,
                    error.description()
                )
            );
            let body: Value = test::read_body_json(resp).await;
            assert_eq!(body["error"], "invalid_token");
        }

        // A malformed header: 400 invalid_request, with the metadata too.
        let req = test::TestRequest::post()
            .uri("/mcp")
            .insert_header((header::AUTHORIZATION, "Bearer "))
            .to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(challenge(&resp).ends_with(&format!(r#", resource_metadata="{MCP_METADATA}""#)));
    }
}

#[actix_web::test]
async fn answers_403_insufficient_scope_with_the_scope_and_the_resource_metadata() {
    let s = mcp_setup().await;
    let realm = &s.issuer.url;
    let app = app!(s.verifier, wrapped);

    let weak = token_with_scope(&s, "openid");
    let resp = test::call_service(&app, post("/mcp", Some(&weak)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&resp),
        format!(
            r#"Bearer realm="{realm}", error="insufficient_scope", error_description="the token lacks the scope mcp:tools", scope="mcp:tools", resource_metadata="{MCP_METADATA}""#
        )
    );
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(
        body,
        json!({"error": "insufficient_scope",
               "error_description": "the token lacks the scope mcp:tools", "scope": "mcp:tools"})
    );

    // Several scopes needed: the challenge names all of them (the client asks for exactly that).
    let tools = token_with_scope(&s, "mcp:tools");
    let resp = test::call_service(&app, post("/mcp/admin", Some(&tools)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&resp),
        format!(
            r#"Bearer realm="{realm}", error="insufficient_scope", error_description="the token lacks one of the scopes mcp:tools mcp:admin", scope="mcp:tools mcp:admin", resource_metadata="{MCP_METADATA}""#
        )
    );

    // A role refusal carries the metadata too.
    let resp = test::call_service(&app, post("/admin", Some(&tools)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&resp).ends_with(&format!(r#", resource_metadata="{MCP_METADATA}""#)));

    // Stepped up: the same resource answers.
    let resp = test::call_service(&app, post("/mcp", Some(&tools)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let both = token_with_scope(&s, "mcp:tools mcp:admin");
    let resp = test::call_service(&app, post("/mcp/admin", Some(&both)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Without the middleware a handler's 403 cannot know the metadata (the extractor's 401s do).
    let app = app!(s.verifier, bare);
    let resp = test::call_service(&app, post("/mcp", Some(&weak)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(!challenge(&resp).contains("resource_metadata"));
}

#[actix_web::test]
async fn tokens_for_another_resource_are_refused() {
    let s = mcp_setup().await;
    let app = app!(s.verifier, wrapped);
    // RFC 8707: `aud` must contain the resource identifier exactly, the value the metadata
    // publishes as `resource`.
    for aud in [
        json!("https://mcp.example.com"),
        json!("https://mcp.example.com/mcp/"),
        json!("https://mcp.example.com/mcp/tools"),
        json!(["https://api.example.com", s.issuer.url]),
    ] {
        let token = s.token_with(|c| {
            c.insert("aud".into(), aud.clone());
            c.insert("scope".into(), json!("mcp:tools"));
        });
        assert_eq!(
            s.verifier.verify(&token).await.unwrap_err(),
            VerifyError::WrongAudience,
            "{aud}"
        );
        let resp = test::call_service(&app, post("/mcp", Some(&token)).to_request()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{aud}");
        assert_eq!(
            challenge(&resp),
            format!(
                r#"Bearer realm="{}", error="invalid_token", error_description="the token is not meant for this resource server", resource_metadata="{MCP_METADATA}""#,
                s.issuer.url
            )
        );
    }
    // One audience among several is enough.
    let token = s.token_with(|c| {
        c.insert("aud".into(), json!(["https://api.example.com", MCP]));
        c.insert("scope".into(), json!("mcp:tools"));
    });
    let resp = test::call_service(&app, post("/mcp", Some(&token)).to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[actix_web::test]
async fn without_metadata_nothing_changes() {
    let s = Setup::new().await;
    assert!(s.verifier.resource_metadata().is_none());
    let app = app!(s.verifier, wrapped);
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = test::call_service(&app, post("/mcp", None).to_request()).await;
    assert_eq!(
        challenge(&resp),
        format!(r#"Bearer realm="{}""#, s.issuer.url)
    );
    let resp = test::call_service(&app, post("/mcp", Some(&s.token())).to_request()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(!challenge(&resp).contains("resource_metadata"));
    assert_eq!(
        s.verifier.auth_error(&VerifyError::Expired),
        AuthError::from_verify_error(&s.issuer.url, &VerifyError::Expired)
    );
}

#[actix_web::test]
async fn metadata_needs_a_resource_url_and_the_issuer() {
    for audience in ["api", "urn:example:api", "https://api.example.com/mcp?x=1"] {
        let err = offline(
            audience,
            Config::default().resource_metadata(mcp_metadata()),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{audience}: {err}");
        // Without metadata, any audience is fine as before.
        offline(audience, Config::default()).unwrap();
    }
    let err = offline(
        MCP,
        Config::default().resource_metadata(
            ResourceMetadata::new().authorization_servers(["https://other.example.com"]),
        ),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("must include the verifier's issuer"),
        "{err}"
    );
}

#[actix_web::test]
async fn answers_for_other_frameworks() {
    let verifier = offline(MCP, Config::default().resource_metadata(mcp_metadata())).unwrap();
    let answer = verifier.auth_error(&VerifyError::WrongAudience);
    assert_eq!(answer.status(), 401);
    assert_eq!(answer.resource_metadata(), Some(MCP_METADATA));
    assert_eq!(
        answer.www_authenticate().unwrap(),
        format!(
            r#"Bearer realm="https://id.example.com", error="invalid_token", error_description="the token is not meant for this resource server", resource_metadata="{MCP_METADATA}""#
        )
    );
    let claims = Claims {
        iss: "https://id.example.com".into(),
        scopes: vec!["mcp:tools".into()],
        ..Claims::default()
    };
    assert!(require_scope(&claims, "mcp:tools").is_ok());
    let refused =
        verifier.challenge(require_scopes(&claims, &["mcp:tools", "mcp:admin"]).unwrap_err());
    assert_eq!(refused.status(), 403);
    assert!(refused.www_authenticate().unwrap().ends_with(&format!(
        r#"scope="mcp:tools mcp:admin", resource_metadata="{MCP_METADATA}""#
    )));
    let metadata = verifier.resource_metadata().unwrap();
    assert_eq!(metadata.bearer_methods_supported(), ["header"]);
    assert_eq!(metadata.scopes_supported(), ["mcp:tools", "mcp:admin"]);
    assert_eq!(metadata.authorization_servers(), ["https://id.example.com"]);
    assert_eq!(metadata.resource_name(), Some("Example MCP server"));
    assert_eq!(metadata.resource_documentation(), None);
}
