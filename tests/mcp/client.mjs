// The MCP client of tests/api/mcp_sdk.rs: the official MCP TypeScript SDK, as an MCP host
// would use it, against a resource server protected by Portcullis.
//
//   node tests/mcp/mcp-client.bundle.mjs <MCP URL> <text to echo>
//
// It connects to the MCP URL; the SDK meets the 401, discovers the protected-resource metadata
// (RFC 9728) and the authorization server's (RFC 8414), registers a public client dynamically
// (RFC 7591) with a loopback redirect URI this script listens on, and asks for authorization
// with PKCE and `resource` (RFC 8707). The browser part is the caller's: the authorization URL
// is printed, and the code comes back to the loopback listener. Then the SDK exchanges the code,
// reconnects, lists the tools and calls `echo`.
//
// Output: one JSON object per line on stdout, each with an `event`:
//   {"event":"listening","redirect_uri":…}
//   {"event":"registered","client_id":…,"token_endpoint_auth_method":…}
//   {"event":"authorize","url":…}            the caller opens this in a browser
//   {"event":"callback","state_ok":true}     the code came back to the redirect URI
//   {"event":"tokens","access_token":…,"scope":…,"has_refresh_token":…}
//   {"event":"tools","tools":[…]}
//   {"event":"echo","result":{…}}
//   {"event":"error","message":…}            then exit status 1
// Exit status 0 once the tool was called. It gives up after TIMEOUT_MS (env, default 60000).
//
// Bundled with esbuild into mcp-client.bundle.mjs by update.sh; edit this file, then run it.
import http from "node:http";
import { randomBytes } from "node:crypto";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const emit = (event, fields = {}) =>
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");

const fail = (message) => {
  emit("error", { message });
  process.exit(1);
};

const [mcpUrl, text] = process.argv.slice(2);
if (!mcpUrl || text === undefined) {
  fail("usage: mcp-client.bundle.mjs <MCP URL> <text to echo>");
}
const timeoutMs = Number(process.env.TIMEOUT_MS || 60000);
setTimeout(() => fail(`gave up after ${timeoutMs} ms`), timeoutMs).unref();

/** The loopback redirect URI (RFC 8252 §7.3): resolves with the authorization response. */
function listenForCallback() {
  let deliver;
  const answer = new Promise((resolve) => (deliver = resolve));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (url.pathname !== "/callback") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>Done</title><p id=done>You can close this window.</p>");
    deliver(url.searchParams);
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ server, answer, redirectUri: `http://127.0.0.1:${port}/callback` });
    });
  });
}

/** What the SDK asks of an MCP host: where things are kept (here, in memory) and how the
 *  user is sent to the authorization server (here, printed for the caller's browser). */
class Provider {
  constructor(redirectUri) {
    this.redirectUri = redirectUri;
    this.expectedState = randomBytes(16).toString("base64url");
    this.saved = {};
  }
  get redirectUrl() {
    return this.redirectUri;
  }
  get clientMetadata() {
    return {
      client_name: "MCP SDK test client",
      redirect_uris: [this.redirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    return this.expectedState;
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(info) {
    this.saved.client = info;
    emit("registered", {
      client_id: info.client_id,
      token_endpoint_auth_method: info.token_endpoint_auth_method ?? null,
    });
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens) {
    this.saved.tokens = tokens;
    emit("tokens", {
      access_token: tokens.access_token,
      scope: tokens.scope ?? null,
      has_refresh_token: Boolean(tokens.refresh_token),
    });
  }
  redirectToAuthorization(url) {
    emit("authorize", { url: url.toString() });
  }
  saveCodeVerifier(verifier) {
    this.saved.verifier = verifier;
  }
  codeVerifier() {
    if (!this.saved.verifier) throw new Error("no PKCE verifier saved");
    return this.saved.verifier;
  }
}

async function main() {
  const { server, answer, redirectUri } = await listenForCallback();
  emit("listening", { redirect_uri: redirectUri });
  const provider = new Provider(redirectUri);
  const info = { name: "portcullis-mcp-sdk-test", version: "1.0.0" };

  // 1. Unauthorized: the SDK discovers, registers and sends the user to authorize.
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  try {
    await new Client(info).connect(first);
    fail("the MCP server answered without a token");
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }

  // 2. The browser comes back with the authorization response.
  const params = await answer;
  if (params.get("error")) {
    fail(`authorization failed: ${params.get("error")}: ${params.get("error_description")}`);
  }
  const stateOk = params.get("state") === provider.expectedState;
  emit("callback", { state_ok: stateOk, iss: params.get("iss") });
  if (!stateOk) fail("the state came back changed");
  await first.finishAuth(params.get("code"));
  server.close();

  // 3. Authorized: connect again and use the tools.
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const client = new Client(info);
  await client.connect(transport);
  const { tools } = await client.listTools();
  emit("tools", { tools: tools.map((t) => t.name) });
  const result = await client.callTool({ name: "echo", arguments: { text } });
  emit("echo", { result });
  await client.close();
}

main().then(
  () => process.exit(0),
  (e) => fail(String(e?.stack || e)),
);
