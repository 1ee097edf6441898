//! Integration tests: the real server on a random port, real HTTP clients. One test binary
//! (link time matters); modules by endpoint family.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
mod helpers;

mod cli;
mod discovery;
mod health;
mod keys;
mod storage;
mod token;
mod token_errors;
