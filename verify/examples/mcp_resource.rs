//! An MCP-style resource server protected by Portcullis access tokens, discoverable by OAuth
//! clients through Protected Resource Metadata (RFC 9728).
//!
//! ```text
//! # Portcullis on :8080, and a client allowed this resource and scope:
//! portcullis client create --name mcp-agent --scope mcp:tools \
//!     --audience http://127.0.0.1:3001/mcp > agent.json
//! PORTCULLIS_ISSUER=http://127.0.0.1:8080 RESOURCE=http://127.0.0.1:3001/mcp \
//!     cargo run -p portcullis-verify --example mcp_resource
//!
//! curl -i -X POST http://127.0.0.1:3001/mcp                  # 401, WWW-Authenticate: Bearer …, resource_metadata="…"
//! curl http://127.0.0.1:3001/.well-known/oauth-protected-resource/mcp
//! ID=$(python3 -c 'import json;print(json.load(open("agent.json"))["client_id"])')
//! SECRET=$(python3 -c 'import json;print(json.load(open("agent.json"))["client_secret"])')
//! TOKEN=$(curl -s -u "$ID:$SECRET" -d grant_type=client_credentials \
//!     -d resource=http://127.0.0.1:3001/mcp http://127.0.0.1:8080/token \
//!     | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
//! curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!     -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' http://127.0.0.1:3001/mcp
//! ```
//!
//! Environment: `PORTCULLIS_ISSUER` (default `http://127.0.0.1:8080`), `RESOURCE` (the resource
//! identifier, which tokens must carry in `aud`; default `http://127.0.0.1:3001/mcp`), `PORT`
//! (default 3001).
//!
//! `POST /mcp` takes JSON-RPC 2.0 requests: `initialize`, `ping`, `tools/list` and `tools/call`
//! (one tool, `echo`); every request needs a token of scope `mcp:tools` (a token without it
//! gets 403 `insufficient_scope`, `scope="mcp:tools"`). Notifications are accepted with 202.
//! Other methods on `/mcp` (the Streamable HTTP transport's `GET` for a server-sent stream)
//! answer 405, which MCP clients take as "no stream".
//!
//! The Portcullis test suite mounts [`routes`] the same way (`tests/api/mcp_sdk.rs`) and drives
//! the official MCP TypeScript SDK against it.

use std::env;
use std::io;

use actix_web::{web, App, HttpResponse, HttpServer};
use portcullis_verify::{
    AuthError, Authenticated, Config, ProtectedResource, ResourceMetadata, Verifier,
};
use serde_json::{json, Value};

/// The scope every MCP request needs.
pub const SCOPE: &str = "mcp:tools";
const PROTOCOL_VERSION: &str = "2025-06-18";

/// The verifier's configuration: the resource identifier is the audience, so the metadata
/// publishes it as `resource`, clients ask for tokens with `resource=<it>` (RFC 8707), and
/// tokens without it in `aud` are refused.
pub fn config() -> Config {
    Config::default().resource_metadata(
        ResourceMetadata::new()
            .scopes_supported([SCOPE])
            .resource_name("portcullis-verify MCP example"),
    )
}

/// The MCP endpoint, `POST /mcp`. The app must hold the `Verifier` as data and be wrapped in
/// `ProtectedResource` (see `main`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/mcp", web::post().to(mcp));
}

/// A JSON-RPC answer to `request`, or 202 for a notification (no `id`).
async fn mcp(auth: Authenticated, request: web::Json<Value>) -> Result<HttpResponse, AuthError> {
    auth.require_scope(SCOPE)?;
    let Some(id) = request.get("id").cloned() else {
        return Ok(HttpResponse::Accepted().finish());
    };
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let outcome = match method {
        "initialize" => Ok(json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": { "tools": {} },
            "serverInfo": { "name": "portcullis-verify example", "version": "0.1.0" },
        })),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({
            "tools": [{
                "name": "echo",
                "description": "Echoes its text back, with who asked",
                "inputSchema": {
                    "type": "object",
                    "properties": { "text": { "type": "string" } },
                    "required": ["text"],
                },
            }],
        })),
        "tools/call" => {
            let params = request.get("params");
            let name = params.and_then(|p| p.get("name")).and_then(Value::as_str);
            let text = params
                .and_then(|p| p.get("arguments"))
                .and_then(|a| a.get("text"))
                .and_then(Value::as_str);
            match (name, text) {
                (Some("echo"), Some(text)) => Ok(json!({
                    "content": [{ "type": "text", "text": format!("{text} (asked by {})", auth.sub) }],
                    "isError": false,
                })),
                (Some("echo"), None) => Err((-32602, "echo needs a text argument")),
                _ => Err((-32602, "unknown tool")),
            }
        }
        _ => Err((-32601, "method not found")),
    };
    let answer = match outcome {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err((code, message)) => {
            json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
        }
    };
    Ok(HttpResponse::Ok().json(answer))
}

#[actix_web::main]
async fn main() -> io::Result<()> {
    let issuer = env::var("PORTCULLIS_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let resource = env::var("RESOURCE").unwrap_or_else(|_| "http://127.0.0.1:3001/mcp".into());
    let port: u16 = match env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| io::Error::other(format!("PORT must be a port number, not {p:?}")))?,
        Err(_) => 3001,
    };

    let verifier = Verifier::from_issuer_with_config(&issuer, &resource, config())
        .await
        .map_err(|e| io::Error::other(format!("cannot load the issuer {issuer}: {e}")))?;
    if let Some(metadata) = verifier.resource_metadata() {
        println!(
            "MCP resource {resource} on 127.0.0.1:{port}, issuer {issuer}, metadata at {}",
            metadata.url()
        );
    }

    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(verifier.clone()))
            // Serves the metadata and names it in every 401/403 challenge.
            .wrap(ProtectedResource::new(&verifier))
            .configure(routes)
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
