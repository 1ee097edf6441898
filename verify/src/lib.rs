//! `portcullis-verify`: token validation for resource servers that accept Portcullis access
//! tokens. The crate is a workspace member from the start so that its dependency tree stays free
//! of the server (no Diesel, no actix server code); the verifier itself lands with the
//! resource-server issue.
