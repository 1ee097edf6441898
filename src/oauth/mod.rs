//! The OAuth 2.0 protocol, free of HTTP: request parameters, client authentication, scope and
//! resource rules, grants, and the RFC 6749 error codes. Functions take plain values (including
//! `now`) and a store trait, so every rule here is testable without a server.
pub mod admin_clients;
pub mod authorize;
pub mod client;
pub mod client_auth;
pub mod client_cache;
pub mod client_keys;
pub mod device;
pub mod dpop;
pub mod dynamic;
pub mod error;
pub mod grants;
pub mod introspection;
pub mod liveness;
pub mod liveness_batch;
pub mod metadata_document;
pub mod origins;
pub mod par;
pub mod params;
pub mod pending;
pub mod pkce;
pub mod profile;
pub mod redirect_uri;
pub mod registration;
pub mod resource;
pub mod scope;
pub mod token;

pub use client::{Client, ClientStore, GrantType};
pub use error::{ErrorCode, OAuthError};
pub use params::Params;
