//! Integration tests: the real server on a random port, real HTTP clients. One test binary
//! (link time matters); modules by endpoint family.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
mod helpers;

mod abuse;
mod account;
mod algorithms;
mod authorize;
mod bcp;
mod browser;
mod browser_csrf;
mod browser_e2e;
mod browser_spa;
mod cli;
mod cli_output;
mod config_env;
mod cors;
mod cors_cli;
mod discovery;
mod fakes;
mod federation;
mod federation_flow;
mod health;
mod hostile_input;
mod introspection;
mod key_helpers;
mod keys;
mod keys_shared;
mod kill;
mod liveness;
mod logs;
mod metrics;
mod oidc_flow;
mod outage;
mod pages;
mod password_grant;
mod readme;
mod refresh;
mod refresh_grace;
mod secrets;
mod shutdown;
mod storage;
mod token;
mod token_errors;
mod verify_live;
mod web;
