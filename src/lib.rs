//! Portcullis: a standalone OAuth 2.0 / OpenID Connect authorization server.
//!
//! Data flows one way: `http` → domain (`oauth`, `oidc`, `tokens`) → `store`. See DESIGN.md.
pub mod cli;
pub mod clock;
pub mod config;
pub mod declarative;
pub mod email;
pub mod federation;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod i18n;
pub mod identity;
pub mod memory;
pub mod metrics;
pub mod oauth;
pub mod oidc;
pub mod purge;
mod reloads;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod ui;
pub mod workers;
