//! A resource server built with `portcullis-verify`'s Protected Resource Metadata (RFC 9728), in
//! front of a live Portcullis, found the way an MCP client finds it: call the resource → 401 whose
//! challenge names the metadata → the metadata names the authorization server → its RFC 8414
//! metadata names the token endpoint → a token for the resource (RFC 8707 `resource`) → 200; a
//! 403 `insufficient_scope` names the scope to ask for again.
use std::collections::HashMap;
use std::net::TcpListener;

use actix_web::{web, App, HttpResponse, HttpServer};
use portcullis::oauth::registration::ClientSpec;
use portcullis_verify::{
    AuthError, Authenticated, Config, ProtectedResource, ResourceMetadata, Verifier,
};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, Backend, TestApp, TestClient, PASSWORD};
use crate::web::{authorize_through, browser, param, pkce, REDIRECT_URI};

both_backends!(
    a_client_discovers_the_authorization_server_and_steps_up,
    a_user_token_asked_for_the_resource_is_accepted
);

/// The scope `tools/list` needs, in the first test.
const TOOLS: &str = "mcp:tools";

/// `POST /mcp`: a JSON-RPC `tools/list`, for a token with the scope in the app data.
async fn mcp(
    auth: Authenticated,
    scope: web::Data<&'static str>,
    request: web::Json<Value>,
) -> Result<HttpResponse, AuthError> {
    auth.require_scope(&scope)?;
    assert_eq!(request["method"], "tools/list");
    Ok(HttpResponse::Ok().json(json!({
        "jsonrpc": "2.0",
        "id": request["id"],
        "result": {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]},
        "caller": auth.sub,
    })))
}

/// The resource server: where it listens, and its resource identifier `<base>/mcp`.
struct ResourceServer {
    base: String,
    resource: String,
    handle: actix_web::dev::ServerHandle,
}

impl ResourceServer {
    fn address() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        (listener, base)
    }

    /// Starts it for `issuer`, requiring `scope` at `/mcp`.
    async fn start(
        listener: TcpListener,
        base: String,
        issuer: &str,
        scope: &'static str,
    ) -> ResourceServer {
        let resource = format!("{base}/mcp");
        let config = Config::default().resource_metadata(
            ResourceMetadata::new()
                .scopes_supported([scope])
                .resource_name("Test MCP server"),
        );
        let verifier = Verifier::from_issuer_with_config(issuer, &resource, config)
            .await
            .unwrap();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(verifier.clone()))
                .app_data(web::Data::new(scope))
                .wrap(ProtectedResource::new(&verifier))
                .route("/mcp", web::post().to(mcp))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        ResourceServer {
            base,
            resource,
            handle,
        }
    }

    async fn call(&self, token: Option<&str>) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(&self.resource)
            .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }
}

/// The auth-params of a `Bearer` challenge (quoted values hold no quote or backslash: the
/// verifier never sends them).
fn bearer_params(resp: &reqwest::Response) -> HashMap<String, String> {
    let header = resp
        .headers()
        .get("www-authenticate")
        .expect("a WWW-Authenticate challenge")
        .to_str()
        .unwrap();
    let mut rest = header
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("not a Bearer challenge: {header}"));
    let mut params = HashMap::new();
    while let Some((name, after)) = rest.split_once("=\"") {
        let (value, tail) = after.split_once('"').unwrap();
        params.insert(name.trim().to_string(), value.to_string());
        rest = tail.trim_start_matches([',', ' ']);
    }
    params
}

async fn get_json(url: &str) -> Value {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

/// A client_credentials token from `token_endpoint`, with these extra parameters.
async fn client_token(token_endpoint: &str, client: &TestClient, form: &[(&str, &str)]) -> Value {
    let mut body = vec![("grant_type", "client_credentials")];
    body.extend_from_slice(form);
    reqwest::Client::new()
        .post(token_endpoint)
        .basic_auth(&client.id, Some(&client.secret))
        .form(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// What the client has before it starts: the resource's URL, and credentials at some issuer
/// it will learn from the resource (here registered beforehand, `--audience <resource>`).
async fn a_client_discovers_the_authorization_server_and_steps_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let (listener, base) = ResourceServer::address();
    let resource_url = format!("{base}/mcp");
    let agent = app.create_client(ClientSpec {
        name: "mcp agent".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["mcp:read".into(), TOOLS.into()],
        audiences: vec![resource_url.clone()],
        ..ClientSpec::default()
    });
    let rs = ResourceServer::start(listener, base, &app.address, TOOLS).await;

    // 1. Without a token: 401, the challenge names the metadata (RFC 9728 §5.1).
    let resp = rs.call(None).await;
    assert_eq!(resp.status(), 401);
    let challenge = bearer_params(&resp);
    assert_eq!(challenge.get("error"), None);
    let metadata_url = &challenge["resource_metadata"];
    assert_eq!(
        metadata_url,
        &format!("{}/.well-known/oauth-protected-resource/mcp", rs.base)
    );

    // 2. The metadata: its resource is what the client called (RFC 9728 §3.3), it names
    //    Portcullis. The root form answers the same (MCP clients' fallback).
    let metadata = get_json(metadata_url).await;
    assert_eq!(
        metadata,
        json!({
            "resource": rs.resource,
            "authorization_servers": [app.address],
            "scopes_supported": [TOOLS],
            "bearer_methods_supported": ["header"],
            "resource_name": "Test MCP server",
        })
    );
    assert_eq!(metadata["resource"], resource_url);
    assert_eq!(
        get_json(&format!("{}/.well-known/oauth-protected-resource", rs.base)).await,
        metadata
    );

    // 3. The authorization server's own metadata (RFC 8414), at the issuer named there.
    let issuer = metadata["authorization_servers"][0].as_str().unwrap();
    let server = get_json(&format!("{issuer}/.well-known/oauth-authorization-server")).await;
    assert_eq!(server["issuer"], issuer);
    assert!(server["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("client_credentials")));
    let token_endpoint = server["token_endpoint"].as_str().unwrap();

    // 4. A token for the resource (RFC 8707) but with too little scope: 403 names the scope
    //    needed and the metadata again.
    let resource = metadata["resource"].as_str().unwrap();
    let weak = client_token(
        token_endpoint,
        &agent,
        &[("scope", "mcp:read"), ("resource", resource)],
    )
    .await;
    let weak = weak["access_token"].as_str().unwrap();
    assert_eq!(payload(weak)["aud"], resource);
    let resp = rs.call(Some(weak)).await;
    assert_eq!(resp.status(), 403);
    let challenge = bearer_params(&resp);
    assert_eq!(challenge["error"], "insufficient_scope");
    assert_eq!(challenge["scope"], TOOLS);
    assert_eq!(&challenge["resource_metadata"], metadata_url);

    // 5. Step up: ask for the scope the challenge names → 200.
    let strong = client_token(
        token_endpoint,
        &agent,
        &[("scope", &challenge["scope"]), ("resource", resource)],
    )
    .await;
    assert_eq!(strong["scope"], TOOLS);
    let strong = strong["access_token"].as_str().unwrap();
    let resp = rs.call(Some(strong)).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], 7);
    assert_eq!(body["result"]["tools"][0]["name"], "echo");
    assert_eq!(body["caller"], agent.id);

    // 6. A token of this server for another audience is refused: 401 invalid_token, and the
    //    challenge still says where to look.
    let other = app.create_client(ClientSpec {
        name: "other api".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec![TOOLS.into()],
        audiences: vec!["https://api.example.com".into()],
        ..ClientSpec::default()
    });
    let elsewhere = client_token(token_endpoint, &other, &[]).await;
    let elsewhere = elsewhere["access_token"].as_str().unwrap();
    assert_eq!(payload(elsewhere)["aud"], "https://api.example.com");
    let resp = rs.call(Some(elsewhere)).await;
    assert_eq!(resp.status(), 401);
    let challenge = bearer_params(&resp);
    assert_eq!(challenge["error"], "invalid_token");
    assert_eq!(
        challenge["error_description"],
        "the token is not meant for this resource server"
    );
    assert_eq!(&challenge["resource_metadata"], metadata_url);
    // …and that client cannot get a token for this resource (`invalid_target`).
    let refused = client_token(token_endpoint, &other, &[("resource", resource)]).await;
    assert_eq!(refused["error"], "invalid_target");

    rs.handle.stop(true).await;
}

/// The code flow with `resource` at `/authorize` and `/token`, as MCP clients send it: the
/// user's access token carries the resource in `aud` (beside the userinfo audience `openid`
/// adds) and the resource server accepts it.
async fn a_user_token_asked_for_the_resource_is_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (listener, base) = ResourceServer::address();
    let resource = format!("{base}/mcp");
    let user = app.create_user("ada@example.com", "student").await;
    let client = app.code_client_with(|spec| spec.audiences = vec![resource.clone()]);
    // The built-in `student` role grants `read`.
    let rs = ResourceServer::start(listener, base, &app.address, "read").await;
    let metadata = get_json(&bearer_params(&rs.call(None).await)["resource_metadata"]).await;
    assert_eq!(metadata["scopes_supported"], json!(["read"]));

    let (verifier, challenge) = pkce();
    let mut params = TestApp::code_request(&client, &challenge, "openid read");
    params.push(("resource", &resource));
    let landed = authorize_through(&app, &browser(), &params, &user.email, PASSWORD).await;
    let code = param(&landed, "code").unwrap();
    let tokens: Value = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
            ("resource", resource.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let aud = payload(access)["aud"].clone();
    assert!(
        aud.as_array().is_some_and(|a| a.contains(&json!(resource))),
        "{aud}"
    );
    let resp = rs.call(Some(access)).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["caller"], user.id);

    rs.handle.stop(true).await;
}
