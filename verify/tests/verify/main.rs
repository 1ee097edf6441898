//! End-to-end tests against a local fake issuer (discovery, JWKS, introspection) on 127.0.0.1:0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_keys;
mod common;
mod dpop;
mod extractor;
mod keys;
mod metadata;
mod tokens;
