//! A real MCP client library against Portcullis: the official MCP TypeScript SDK
//! (`@modelcontextprotocol/sdk`, bundled with a small driver in `tests/mcp/`, run with node)
//! calls the example MCP resource server (`verify/examples/mcp_resource.rs`, mounted here),
//! meets its 401, discovers the protected-resource metadata (RFC 9728) and Portcullis's
//! (RFC 8414), registers itself (RFC 7591), authorizes with PKCE and `resource` (RFC 8707) —
//! the user signs in and consents in headless Chromium — and calls the `echo` tool.
//!
//! node is required: without it the test fails (the bundle needs nothing else). Without
//! Chromium it is skipped like the other browser tests, except in CI.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpServer};
use fantoccini::Locator;
use portcullis::config::RegistrationPolicy;
use portcullis_verify::{ProtectedResource, Verifier};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use crate::browser::{self, wait_for, wait_for_url};
use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::web::{param, query};

#[allow(dead_code)] // its `main` runs the example on its own
#[path = "../../verify/examples/mcp_resource.rs"]
mod example;

crate::both_backends!(the_mcp_typescript_sdk_authorizes_and_calls_a_tool);

/// The whole exchange, browser included, ends within this.
const DEADLINE: Duration = Duration::from_secs(90);
const TEXT: &str = "hello from the test";

/// node, from `NODE` or `PATH`; a missing one fails the test (it is needed, not optional).
fn node() -> PathBuf {
    if let Some(path) = std::env::var_os("NODE") {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("node"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "node (20 or later) is needed to run the MCP TypeScript SDK test, and it is not \
                 on PATH (or set NODE=/path/to/node)"
            )
        })
}

fn bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/mcp-client.bundle.mjs")
}

/// The example MCP server for `issuer`, at `<base>/mcp`; the server's handle.
async fn start_mcp_server(
    listener: TcpListener,
    issuer: &str,
    resource: &str,
) -> actix_web::dev::ServerHandle {
    let verifier = Verifier::from_issuer_with_config(issuer, resource, example::config())
        .await
        .unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(verifier.clone()))
            .wrap(ProtectedResource::new(&verifier))
            .configure(example::routes)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    handle
}

/// The driver's JSON lines, each read before the deadline.
struct Events {
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
    deadline: Instant,
}

impl Events {
    /// The next event; panics on end of output, an `error` event or the deadline.
    async fn next(&mut self) -> Value {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let line = tokio::time::timeout(left, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the MCP client said nothing more; so far {:?}", self.seen))
            .unwrap()
            .unwrap_or_else(|| panic!("the MCP client ended early; it said {:?}", self.seen));
        let event: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON line from the MCP client ({e}): {line}"));
        assert_ne!(event["event"], "error", "the MCP client failed: {event}");
        self.seen.push(event.clone());
        event
    }

    /// The next event, which must be `name`.
    async fn expect(&mut self, name: &str) -> Value {
        let event = self.next().await;
        assert_eq!(event["event"], name, "{event}");
        event
    }
}

fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The user's part in Chromium: sign in, check the consent page, allow; back at `redirect_uri`.
async fn sign_in_and_allow(
    app: &TestApp,
    browser: &fantoccini::Client,
    url: &str,
    email: &str,
    password: &str,
    resource: &str,
    redirect_uri: &str,
) -> String {
    browser.goto(url).await.unwrap();
    browser::submit_login(browser, email, password).await;
    wait_for(browser, "#consent-form").await;
    let html = browser.source().await.unwrap();
    assert_eq!(
        crate::web::texts(&html, "#consent-resources li"),
        [resource],
        "the consent page names the MCP server"
    );
    assert!(
        crate::web::text(&html, "#unverified-client").is_some(),
        "a dynamic client is shown as unverified"
    );
    browser
        .find(Locator::Css("button[name=decision][value=allow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let back = wait_for_url(browser, redirect_uri).await;
    wait_for(browser, "#done").await;
    assert!(!back.starts_with(&app.address), "{back}");
    back
}

async fn the_mcp_typescript_sdk_authorizes_and_calls_a_tool(backend: Backend) {
    let node = node();
    let Some(session) = browser::start().await else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mcp_url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().unwrap().port()
    );
    let dir = tempfile::tempdir().unwrap();
    let roles = dir.path().join("roles.toml");
    std::fs::write(
        &roles,
        "[roles]\nstudent = [\"read\", \"mcp:tools\"]\nguest = []\n",
    )
    .unwrap();
    let resource = mcp_url.clone();
    let app = spawn_app_with(backend, move |s| {
        s.users.roles_file = Some(roles);
        s.clients.registration = RegistrationPolicy::Open;
        s.clients.registration_scopes = vec!["openid".into(), "mcp:tools".into()];
        s.clients.resources = vec![resource];
    })
    .await;
    let user = app.create_user("ada@example.com", "student").await;
    let mcp = start_mcp_server(listener, &app.address, &mcp_url).await;

    let mut child: Child = Command::new(&node)
        .arg(bundle())
        .arg(&mcp_url)
        .arg(TEXT)
        .env("TIMEOUT_MS", DEADLINE.as_millis().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", node.display()));
    let mut stderr = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut events = Events {
        lines: BufReader::new(child.stdout.take().unwrap()).lines(),
        seen: Vec::new(),
        deadline: Instant::now() + DEADLINE,
    };

    // Discovery and registration happen in the SDK; then it sends the user to /authorize.
    let redirect_uri = events.expect("listening").await["redirect_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let registered = events.expect("registered").await;
    assert_eq!(registered["token_endpoint_auth_method"], "none");
    let client_id = registered["client_id"].as_str().unwrap().to_string();
    let authorize = events.expect("authorize").await;
    let url = authorize["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&app.url("/authorize?")), "{url}");
    let asked: Vec<(String, String)> = query(&url);
    let one = |name: &str| param(&url, name).unwrap_or_else(|| panic!("no {name} in {url}"));
    assert_eq!(
        asked.iter().filter(|(k, _)| k == "resource").count(),
        1,
        "{url}"
    );
    assert_eq!(one("resource"), mcp_url, "RFC 8707 resource at /authorize");
    assert_eq!(one("client_id"), client_id);
    assert_eq!(one("redirect_uri"), redirect_uri);
    assert_eq!(one("response_type"), "code");
    assert_eq!(one("code_challenge_method"), "S256");
    assert_eq!(one("code_challenge").len(), 43);
    assert_eq!(one("scope"), "mcp:tools", "the scope the metadata names");

    let back = sign_in_and_allow(
        &app,
        &session.client,
        &url,
        &user.email,
        &user.password,
        &mcp_url,
        &redirect_uri,
    )
    .await;
    assert!(back.starts_with(&redirect_uri), "{back}");
    let callback = events.expect("callback").await;
    assert_eq!(callback["state_ok"], true);
    assert_eq!(callback["iss"], app.address.as_str());

    // The code exchange (with the verifier and `resource`), then the tool calls.
    let tokens = events.expect("tokens").await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], json!(mcp_url), "{access}");
    assert_eq!(access["client_id"], client_id.as_str());
    assert_eq!(access["sub"], user.id.as_str());
    assert_eq!(access["scope"], "mcp:tools");
    assert_eq!(tokens["has_refresh_token"], true);
    // The refresh-token family is bound to the resource named at /authorize.
    let bound = crate::purge::count(
        &app,
        &format!(
            "refresh_tokens WHERE client_id = '{client_id}' AND resources = '{}'",
            json!([mcp_url])
        ),
    );
    assert_eq!(bound, 1);
    let tools = events.expect("tools").await;
    assert_eq!(tools["tools"], json!(["echo"]));
    let echo = events.expect("echo").await;
    assert_eq!(
        echo["result"],
        json!({
            "content": [{"type": "text", "text": format!("{TEXT} (asked by {})", user.id)}],
            "isError": false,
        })
    );

    let left = events.deadline.saturating_duration_since(Instant::now());
    let status = tokio::time::timeout(left, child.wait())
        .await
        .expect("the MCP client did not exit")
        .unwrap();
    let stderr = stderr.await.unwrap();
    assert!(
        status.success(),
        "the MCP client exited with {status}: {stderr}"
    );

    session.close().await;
    mcp.stop(true).await;
}
