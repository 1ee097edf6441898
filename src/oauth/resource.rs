//! RFC 8707 resource indicators: which resources a client may ask for, and which audiences a
//! token is for.
//!
//! One rule decides whether a client may target a resource ([`allowed`]): its own audiences
//! (`client create --audience`) and the resource servers every client may target
//! (`[clients] resources`, for clients with no audiences of their own: dynamic ones). The
//! authorization endpoint checks it for the resources it binds to the code; the token endpoint
//! (code, refresh, password and client_credentials grants) checks it again for what it issues.
//! Token exchange has a policy of its own (`exchange_audiences`) and only shares [`check_uri`].
use url::Url;

use super::{Client, ErrorCode, OAuthError};

/// A resource or audience must be an absolute URI without a fragment (RFC 8707 §2).
pub fn check_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|_| "must be an absolute URI".to_string())?;
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    Ok(())
}

/// Whether `client` may have tokens for `resource`: one of its own audiences, or one of the
/// resources any client may target (`shared`, `[clients] resources`).
pub fn allowed(client: &Client, shared: &[String], resource: &str) -> bool {
    client.audiences.iter().any(|a| a == resource) || shared.iter().any(|r| r == resource)
}

fn invalid_target(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

/// The `resource` parameters of a request: each an absolute URI without a fragment and allowed
/// for the client (`invalid_target` otherwise), duplicates dropped, in the order given.
pub fn requested(
    resources: &[String],
    client: &Client,
    shared: &[String],
) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::with_capacity(resources.len());
    for r in resources {
        if let Err(why) = check_uri(r) {
            return Err(invalid_target(format!("resource {why}")));
        }
        if !allowed(client, shared, r) {
            return Err(invalid_target("the client is not allowed this resource"));
        }
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    Ok(out)
}

/// The `aud` values for a token. `resources`: the request's `resource` parameters; `bound`: the
/// resources the authorization request (for a code) or the refresh token's family was granted,
/// empty when none were named there.
///
/// - With bound resources, the token is for the requested ones, each among the bound ones
///   (narrowing, RFC 8707 §2.2), or for all of them when none are requested; never wider.
/// - Without, it is for the requested ones, else the client's first audience, else `default`.
///
/// Every audience must be allowed for the client now (a resource withdrawn from the client or
/// from `[clients] resources` since the authorization is refused): `invalid_target`.
pub fn audiences(
    resources: &[String],
    bound: &[String],
    client: &Client,
    shared: &[String],
    default: &str,
) -> Result<Vec<String>, OAuthError> {
    let requested = requested(resources, client, shared)?;
    if bound.is_empty() {
        if !requested.is_empty() {
            return Ok(requested);
        }
        let aud = client
            .audiences
            .first()
            .map(String::as_str)
            .unwrap_or(default);
        return Ok(vec![aud.to_string()]);
    }
    if let Some(wider) = requested.iter().find(|r| !bound.contains(r)) {
        return Err(invalid_target(format!(
            "resource {wider} was not among the resources authorized"
        )));
    }
    if requested.is_empty() {
        if bound.iter().any(|r| !allowed(client, shared, r)) {
            return Err(invalid_target(
                "the client is no longer allowed a resource it was authorized for",
            ));
        }
        return Ok(bound.to_vec());
    }
    Ok(requested)
}

/// Bound resources as stored (a JSON array of strings; `[]` when none were named).
pub fn to_stored(resources: &[String]) -> String {
    serde_json::to_string(resources).unwrap_or_else(|_| "[]".into())
}

/// Bound resources from their stored form; a value that is not a JSON array of strings reads
/// as none (rows are only written by [`to_stored`]).
pub fn from_stored(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "https://api.example/";
    const MCP: &str = "https://mcp.example/mcp";
    const ISSUER: &str = "https://id.example";

    fn client(audiences: &[&str]) -> Client {
        let mut c = crate::oauth::client::account_client();
        c.audiences = audiences.iter().map(|a| a.to_string()).collect();
        c
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn code(e: OAuthError) -> ErrorCode {
        e.code()
    }

    #[test]
    fn a_client_may_target_its_audiences_and_the_shared_resources() {
        let c = client(&[API]);
        let shared = strings(&[MCP]);
        assert!(allowed(&c, &shared, API));
        assert!(allowed(&c, &shared, MCP));
        assert!(!allowed(&c, &[], MCP));
        assert!(!allowed(&c, &shared, "https://other.example/"));
        assert!(!allowed(&client(&[]), &[], API));
    }

    #[test]
    fn requested_resources_must_be_absolute_fragment_free_and_allowed() {
        let c = client(&[API, MCP]);
        assert_eq!(
            requested(&strings(&[MCP, API, MCP]), &c, &[]).unwrap(),
            [MCP, API]
        );
        for bad in ["/relative", "https://api.example/#frag", "not a uri"] {
            let err = requested(&strings(&[bad]), &c, &[]).unwrap_err();
            assert_eq!(code(err), ErrorCode::InvalidTarget, "{bad}");
        }
        let err = requested(&strings(&["https://other.example/"]), &c, &[]).unwrap_err();
        assert_eq!(code(err), ErrorCode::InvalidTarget);
    }

    #[test]
    fn without_bound_resources_the_token_is_for_the_request_or_the_default() {
        let c = client(&[API, MCP]);
        assert_eq!(audiences(&[], &[], &c, &[], ISSUER).unwrap(), [API]);
        assert_eq!(
            audiences(&[], &[], &client(&[]), &[], ISSUER).unwrap(),
            [ISSUER]
        );
        assert_eq!(
            audiences(&strings(&[MCP]), &[], &c, &[], ISSUER).unwrap(),
            [MCP]
        );
        let dynamic = client(&[]);
        assert_eq!(
            audiences(&strings(&[MCP]), &[], &dynamic, &strings(&[MCP]), ISSUER).unwrap(),
            [MCP]
        );
    }

    #[test]
    fn bound_resources_may_be_narrowed_but_never_widened() {
        let c = client(&[API, MCP]);
        let bound = strings(&[API, MCP]);
        assert_eq!(audiences(&[], &bound, &c, &[], ISSUER).unwrap(), [API, MCP]);
        assert_eq!(
            audiences(&strings(&[MCP]), &bound, &c, &[], ISSUER).unwrap(),
            [MCP]
        );
        // Allowed for the client, but not authorized for this code or family.
        let err = audiences(&strings(&[API]), &strings(&[MCP]), &c, &[], ISSUER).unwrap_err();
        assert_eq!(code(err), ErrorCode::InvalidTarget);
    }

    #[test]
    fn a_bound_resource_withdrawn_since_is_refused() {
        let shared = strings(&[MCP]);
        let dynamic = client(&[]);
        let bound = strings(&[MCP]);
        assert_eq!(
            audiences(&[], &bound, &dynamic, &shared, ISSUER).unwrap(),
            [MCP]
        );
        let err = audiences(&[], &bound, &dynamic, &[], ISSUER).unwrap_err();
        assert_eq!(code(err), ErrorCode::InvalidTarget);
        let err = audiences(&strings(&[MCP]), &bound, &dynamic, &[], ISSUER).unwrap_err();
        assert_eq!(code(err), ErrorCode::InvalidTarget);
    }

    #[test]
    fn stored_form_round_trips() {
        let r = strings(&[MCP, API]);
        assert_eq!(from_stored(&to_stored(&r)), r);
        assert_eq!(to_stored(&[]), "[]");
        assert!(from_stored("[]").is_empty());
        assert!(from_stored("garbage").is_empty());
    }
}
