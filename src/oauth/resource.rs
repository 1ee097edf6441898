//! RFC 8707 resource indicators: which audiences a token is for.
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

/// The `aud` values for a token: every requested resource, each one the client is allowed;
/// without any, the client's first audience, else `default`.
pub fn audiences(
    resources: &[String],
    client: &Client,
    default: &str,
) -> Result<Vec<String>, OAuthError> {
    if resources.is_empty() {
        let aud = client
            .audiences
            .first()
            .map(String::as_str)
            .unwrap_or(default);
        return Ok(vec![aud.to_string()]);
    }
    let mut out = Vec::with_capacity(resources.len());
    for r in resources {
        if let Err(why) = check_uri(r) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("resource {why}"),
            ));
        }
        if !client.audiences.iter().any(|a| a == r) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "the client is not allowed this resource",
            ));
        }
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    Ok(out)
}
