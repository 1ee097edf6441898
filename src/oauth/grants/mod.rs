//! One file per grant; each takes the authenticated client and plain values.
pub mod client_credentials;
