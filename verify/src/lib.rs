//! `portcullis-verify`: validate Portcullis access tokens in Rust resource servers.
//!
//! Portcullis issues RFC 9068 access tokens: RS256 JWTs with `typ: at+jwt` and a `kid` naming a
//! key of the issuer's JWKS. A [`Verifier`] loads the issuer's discovery document and JWKS once,
//! caches the keys, and checks each token locally — no call to the issuer per request:
//!
//! * the token is a compact JWS whose `alg` is in the allow-list (`RS256` by default; `none` and
//!   `HS*` can never be allowed), checked before any key lookup;
//! * `typ` is `at+jwt` (or `application/at+jwt`), so ID tokens are not accepted as access tokens;
//! * the key is found by `kid`; an unknown `kid` (key rotation) makes the verifier refetch the
//!   JWKS, at most once per 30 s and once for all concurrent requests;
//! * the signature (verified with `ring`), `iss` (exactly the issuer), `aud` (contains your
//!   audience), `sub`, `exp` and `nbf` (30 s leeway) are checked.
//!
//! A token bound to a key (`cnf.jkt`, RFC 9449 DPoP) is only accepted as `Authorization: DPoP`
//! with a `DPoP` proof of that key for the request ([`Verifier::verify_dpop`], [`DpopRequest`];
//! `htu` from [`Config::external_url`]): `typ: dpop+jwt`, ES256/EdDSA/RS256 with the public
//! `jwk` of its header, `htm`, `htu`, `iat` within 60 s, a `jti` not seen before (an in-memory
//! replay cache, bounded by [`Config::dpop_replay_cache_size`]: full, new proofs get 503),
//! `ath`, and the key's thumbprint. Refusals get `DPoP` challenges (`invalid_dpop_proof`,
//! `invalid_token`, `algs="ES256 EdDSA RS256 PS256"`); [`Verifier::verify`] refuses bound tokens.
//!
//! Optionally, API keys (`pc_…`) are accepted by asking the issuer's introspection endpoint
//! (RFC 7662) with the resource server's client credentials; positive answers are cached for
//! 30 s, keyed by the key's SHA-256.
//!
//! With the `actix` feature (on by default) the [`Authenticated`] extractor gives handlers the
//! [`Claims`] and answers refused requests per RFC 6750: 401 with `WWW-Authenticate: Bearer
//! realm="…"` when no token is sent, 401 `invalid_token` when it is bad, 403
//! `insufficient_scope` from [`require_scope`], [`require_scopes`] and [`require_role`].
//!
//! Optionally, the resource server publishes OAuth 2.0 Protected Resource Metadata (RFC 9728),
//! as MCP servers must: with [`Config::resource_metadata`] the audience becomes the resource
//! identifier (an http(s) URL), the `ProtectedResource` middleware serves the document at
//! `/.well-known/oauth-protected-resource[/<path>]`, and every challenge names it
//! (`resource_metadata="…"`), so a client that only knows the resource's URL finds the issuer,
//! the scopes, and asks for a token with `resource=<audience>` (RFC 8707).
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(feature = "actix")] mod example {
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use portcullis_verify::{require_scope, AuthError, Authenticated, Verifier};
//!
//! async fn me(auth: Authenticated) -> HttpResponse {
//!     HttpResponse::Ok().json(&auth.0)
//! }
//!
//! async fn reports(auth: Authenticated) -> Result<HttpResponse, AuthError> {
//!     require_scope(&auth, "read")?;
//!     Ok(HttpResponse::Ok().json(serde_json::json!({ "reports": [], "for": auth.sub })))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The audience is the value your resource server is registered under at the issuer.
//! let verifier = Verifier::from_issuer("https://id.example.com", "https://api.example.com").await?;
//!
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(web::Data::new(verifier.clone()))
//!         .route("/me", web::get().to(me))
//!         .route("/reports", web::get().to(reports))
//! })
//! .bind(("127.0.0.1", 3000))?
//! .run()
//! .await?;
//! # Ok(())
//! # }
//! # }
//! ```
//!
//! Without actix-web, call [`Verifier::verify`] yourself and turn failures into responses with
//! [`Verifier::auth_error`] (which is [`AuthError::from_verify_error`] plus the
//! `resource_metadata` when configured):
//!
//! ```no_run
//! # async fn run(verifier: portcullis_verify::Verifier, token: &str) {
//! match verifier.verify(token).await {
//!     Ok(claims) => println!("{} via {:?} with {:?}", claims.sub, claims.client_id, claims.scopes),
//!     Err(e) => {
//!         let answer = verifier.auth_error(&e);
//!         println!("{} {:?}", answer.status(), answer.www_authenticate());
//!     }
//! }
//! # }
//! ```
//!
//! # Protected resource metadata (RFC 9728)
//!
//! ```no_run
//! # #[cfg(feature = "actix")] mod example {
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use portcullis_verify::{
//!     AuthError, Authenticated, Config, ProtectedResource, ResourceMetadata, Verifier,
//! };
//!
//! async fn mcp(auth: Authenticated) -> Result<HttpResponse, AuthError> {
//!     auth.require_scope("mcp:tools")?;
//!     Ok(HttpResponse::Ok().json(serde_json::json!({ "jsonrpc": "2.0", "id": 1, "result": {} })))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::default().resource_metadata(
//!     ResourceMetadata::new()
//!         .scopes_supported(["mcp:tools"])
//!         .resource_name("Example tools"),
//! );
//! // The audience is the resource identifier: the metadata's `resource`, and what `aud` must hold.
//! let verifier = Verifier::from_issuer_with_config(
//!     "https://id.example.com",
//!     "https://tools.example.com/mcp",
//!     config,
//! )
//! .await?;
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(web::Data::new(verifier.clone()))
//!         // GET /.well-known/oauth-protected-resource/mcp (and the root form) answers
//!         // {"resource":"https://tools.example.com/mcp","authorization_servers":["https://id.example.com"],
//!         //  "scopes_supported":["mcp:tools"],"bearer_methods_supported":["header"],"resource_name":"Example tools"};
//!         // 401s carry WWW-Authenticate: Bearer realm="…", resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource/mcp";
//!         // 403s also error="insufficient_scope", scope="mcp:tools".
//!         .wrap(ProtectedResource::new(&verifier))
//!         .route("/mcp", web::post().to(mcp))
//! })
//! .bind(("127.0.0.1", 3000))?
//! .run()
//! .await?;
//! # Ok(())
//! # }
//! # }
//! ```
//!
//! Without actix-web, serve [`ProtectedResourceMetadata::json`] at each of its
//! [`well_known_paths`](ProtectedResourceMetadata::well_known_paths) and pass 403s through
//! [`Verifier::challenge`].
//!
//! # Configuration
//!
//! [`Verifier::from_issuer_with_config`] takes a [`Config`]: allowed algorithms, leeway, refetch
//! interval, HTTP timeout, API-key credentials and cache TTL, resource metadata, and the
//! [`Clock`] (so tests can move time). [`Verifier::from_jwks`] builds an offline verifier from a JWKS document.
//!
//! The HTTP client never follows redirects and times out after 5 s by default; the discovery
//! document must name exactly the configured issuer.
#![warn(missing_docs)]

mod alg;
mod api_key;
mod auth;
mod claims;
mod config;
mod dpop;
mod error;
mod http;
mod jwks;
mod metadata;
mod replay;
mod setup;
mod verifier;

#[cfg(feature = "actix")]
mod actix;

#[cfg(feature = "actix")]
pub use crate::actix::{Authenticated, ProtectedResource, ProtectedResourceMiddleware};
pub use crate::auth::{require_role, require_scope, require_scopes, AuthError, AuthErrorKind};
pub use crate::claims::{Claims, TokenKind};
pub use crate::config::{Clock, Config, SystemClock};
pub use crate::dpop::DpopRequest;
pub use crate::error::{Error, VerifyError};
pub use crate::metadata::{ProtectedResourceMetadata, ResourceMetadata};
pub use crate::verifier::Verifier;
