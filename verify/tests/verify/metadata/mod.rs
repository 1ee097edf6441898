//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document and where it is served; the
//! challenges and the audience check are in `challenges`.
use portcullis_verify::{require_scope, require_scopes};

use super::common::*;

/// An MCP-style resource with a path.
const MCP: &str = "https://mcp.example.com/mcp";
const MCP_METADATA: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

fn mcp_metadata() -> ResourceMetadata {
    ResourceMetadata::new()
        .scopes_supported(["mcp:tools", "mcp:admin"])
        .resource_name("Example MCP server")
}

async fn mcp(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    auth.require_scope("mcp:tools")?;
    Ok(HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": []}})))
}

async fn mcp_admin(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    auth.require_scopes(&["mcp:tools", "mcp:admin"])?;
    Ok(HttpResponse::Ok().finish())
}

async fn admin(auth: Authenticated) -> Result<HttpResponse, AuthError> {
    require_role(&auth, "admin")?;
    Ok(HttpResponse::Ok().finish())
}

/// The resource server: wrapped in `ProtectedResource` or not.
macro_rules! app {
    ($verifier:expr, wrapped) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new($verifier.clone()))
                .wrap(ProtectedResource::new(&$verifier))
                .route("/mcp", web::post().to(mcp))
                .route("/mcp/admin", web::post().to(mcp_admin))
                .route("/admin", web::post().to(admin)),
        )
        .await
    };
    ($verifier:expr, bare) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new($verifier.clone()))
                .route("/mcp", web::post().to(mcp))
                .route("/mcp/admin", web::post().to(mcp_admin))
                .route("/admin", web::post().to(admin)),
        )
        .await
    };
}

fn post(path: &str, token: Option<&str>) -> actix_web::test::TestRequest {
    let req = test::TestRequest::post().uri(path);
    match token {
        Some(t) => req.insert_header((header::AUTHORIZATION, format!("Bearer {t}"))),
        None => req,
    }
}

fn header_of<B>(
    resp: &actix_web::dev::ServiceResponse<B>,
    name: header::HeaderName,
) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn challenge<B>(resp: &actix_web::dev::ServiceResponse<B>) -> String {
    header_of(resp, header::WWW_AUTHENTICATE).expect("a WWW-Authenticate challenge")
}

async fn mcp_setup() -> Setup {
    Setup::for_audience(MCP, Config::default().resource_metadata(mcp_metadata())).await
}

fn token_with_scope(s: &Setup, scope: &str) -> String {
    s.token_with(|c| {
        c.insert("scope".into(), json!(scope));
    })
}

#[actix_web::test]
async fn the_document_is_served_at_the_path_suffixed_and_the_root_url() {
    let s = mcp_setup().await;
    let metadata = s.verifier.resource_metadata().expect("metadata configured");
    assert_eq!(metadata.resource(), s.verifier.audience());
    assert_eq!(metadata.url(), MCP_METADATA);
    let app = app!(s.verifier, wrapped);

    let expected = format!(
        r#"{{"resource":"https://mcp.example.com/mcp","authorization_servers":["{}"],"scopes_supported":["mcp:tools","mcp:admin"],"bearer_methods_supported":["header"],"resource_name":"Example MCP server"}}"#,
        s.issuer.url
    );
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header_of(&resp, header::CONTENT_TYPE).as_deref(),
            Some("application/json")
        );
        assert_eq!(
            header_of(&resp, header::CACHE_CONTROL).as_deref(),
            Some("public, max-age=3600")
        );
        assert_eq!(
            header_of(&resp, header::ACCESS_CONTROL_ALLOW_ORIGIN).as_deref(),
            Some("*")
        );
        let body = test::read_body(resp).await;
        assert_eq!(std::str::from_utf8(&body).unwrap(), expected, "{path}");
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            parsed,
            json!({
                "resource": MCP,
                "authorization_servers": [s.issuer.url],
                "scopes_supported": ["mcp:tools", "mcp:admin"],
                "bearer_methods_supported": ["header"],
                "resource_name": "Example MCP server",
            })
        );
    }

    // HEAD like GET; a CORS preflight is answered; other methods are not allowed.
    let resp = test::call_service(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/.well-known/oauth-protected-resource/mcp")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = test::call_service(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/.well-known/oauth-protected-resource/mcp")
            .insert_header((header::ORIGIN, "https://inspector.example.com"))
            .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "GET"))
            .insert_header((
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "mcp-protocol-version",
            ))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header_of(&resp, header::ACCESS_CONTROL_ALLOW_ORIGIN).as_deref(),
        Some("*")
    );
    assert_eq!(
        header_of(&resp, header::ACCESS_CONTROL_ALLOW_HEADERS).as_deref(),
        Some("mcp-protocol-version")
    );
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/.well-known/oauth-protected-resource/mcp")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        header_of(&resp, header::ALLOW).as_deref(),
        Some("GET, HEAD, OPTIONS")
    );

    // Other well-known paths are the app's business (here: not found).
    for path in [
        "/.well-known/oauth-protected-resource/other",
        "/.well-known/oauth-protected-resource/mcp/",
    ] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

/// An offline verifier (issuer `https://id.example.com`) for `audience`.
fn offline(audience: &str, config: Config) -> Result<Verifier, Error> {
    Verifier::from_jwks(
        "https://id.example.com",
        audience,
        &json!({"keys": [KEYS[0].jwk]}).to_string(),
        config,
    )
}

#[actix_web::test]
async fn a_resource_without_a_path_is_served_at_the_root_only() {
    let verifier = offline(
        AUDIENCE,
        Config::default().resource_metadata(
            ResourceMetadata::new()
                .authorization_servers(["https://id.example.com", "https://id-eu.example.com"])
                .scopes_supported(["read"])
                .resource_name("Reports API")
                .resource_documentation("https://docs.example.com/reports")
                .max_age(std::time::Duration::from_secs(60)),
        ),
    )
    .unwrap();
    let metadata = verifier.resource_metadata().unwrap();
    assert_eq!(
        metadata.url(),
        "https://api.example.com/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        metadata.well_known_paths(),
        ["/.well-known/oauth-protected-resource"]
    );
    let app = app!(verifier, wrapped);
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header_of(&resp, header::CACHE_CONTROL).as_deref(),
        Some("public, max-age=60")
    );
    let body = test::read_body(resp).await;
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        r#"{"resource":"https://api.example.com","authorization_servers":["https://id.example.com","https://id-eu.example.com"],"scopes_supported":["read"],"bearer_methods_supported":["header"],"resource_name":"Reports API","resource_documentation":"https://docs.example.com/reports"}"#
    );

    // A resource with a path can keep the root free for another.
    let verifier = offline(
        MCP,
        Config::default().resource_metadata(mcp_metadata().serve_at_root(false)),
    )
    .unwrap();
    let app = app!(verifier, wrapped);
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/oauth-protected-resource/mcp")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

mod challenges;
