//! Scope syntax (RFC 6749 §3.3) and granting.
use super::{ErrorCode, OAuthError};

/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

pub fn is_valid_token(token: &str) -> bool {
    !token.is_empty() && token.chars().all(is_scope_char)
}

/// Checks configured scope names; the error names the bad ones.
pub fn validate_tokens(tokens: &[String]) -> Result<(), String> {
    let bad: Vec<&str> = tokens
        .iter()
        .filter(|t| !is_valid_token(t))
        .map(String::as_str)
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("invalid scope names: {bad:?}"))
    }
}

/// Parses a space-delimited scope parameter into distinct tokens, in order.
pub fn parse(raw: &str) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for token in raw.split(' ').filter(|t| !t.is_empty()) {
        if !is_valid_token(token) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope contains characters RFC 6749 §3.3 does not allow",
            ));
        }
        if !out.iter().any(|t| t == token) {
            out.push(token.to_string());
        }
    }
    Ok(out)
}

/// The scopes to grant: the requested ones when all are allowed (absent or empty → every
/// allowed scope); any scope outside the allowed set → `invalid_scope`.
pub fn grant(requested: Option<&str>, allowed: &[String]) -> Result<Vec<String>, OAuthError> {
    let requested = match requested {
        Some(raw) => parse(raw)?,
        None => Vec::new(),
    };
    if requested.is_empty() {
        return Ok(allowed.to_vec());
    }
    let refused: Vec<&str> = requested
        .iter()
        .filter(|s| !allowed.contains(s))
        .map(String::as_str)
        .collect();
    if !refused.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("scope not allowed for this client: {}", refused.join(" ")),
        ));
    }
    Ok(requested)
}

/// OIDC Core §5.4 scopes that ask for claims Portcullis never holds (a postal address, a phone
/// number). A sign-in asking for them (with `openid`) gets them left out, as RFC 6749 §3.3 lets
/// a server grant less than requested, rather than failing: there would be nothing to release.
pub const UNHELD_CLAIM_SCOPES: [&str; 2] = ["address", "phone"];

/// [`grant`] for an OpenID Connect request: the [`UNHELD_CLAIM_SCOPES`] the client is not
/// registered for are dropped first (only when `openid` is asked for).
pub fn grant_oidc(requested: Option<&str>, allowed: &[String]) -> Result<Vec<String>, OAuthError> {
    let Some(raw) = requested else {
        return grant(None, allowed);
    };
    let tokens = parse(raw)?;
    if !tokens.iter().any(|t| t == "openid") {
        return grant(Some(raw), allowed);
    }
    let kept: Vec<&str> = tokens
        .iter()
        .map(String::as_str)
        .filter(|t| !UNHELD_CLAIM_SCOPES.contains(t) || allowed.iter().any(|a| a == t))
        .collect();
    grant(Some(&kept.join(" ")), allowed)
}

#[cfg(test)]
#[path = "scope_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["read".into(), "write".into()]
    }

    #[test]
    fn absent_means_all_allowed_and_subset_narrows() {
        assert_eq!(grant(None, &allowed()).unwrap(), ["read", "write"]);
        assert_eq!(grant(Some("write"), &allowed()).unwrap(), ["write"]);
        assert_eq!(
            grant(Some("write  read write"), &allowed()).unwrap(),
            ["write", "read"]
        );
    }

    #[test]
    fn outside_or_malformed_is_invalid_scope() {
        assert_eq!(
            grant(Some("read admin"), &allowed()).unwrap_err().code(),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            grant(Some("re\"ad"), &allowed()).unwrap_err().code(),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            grant(Some("read\twrite"), &allowed()).unwrap_err().code(),
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn oidc_requests_lose_the_claim_scopes_nothing_answers() {
        let allowed: Vec<String> = vec!["openid".into(), "profile".into()];
        assert_eq!(
            grant_oidc(Some("openid address profile phone"), &allowed).unwrap(),
            ["openid", "profile"]
        );
        // Without openid it is plain OAuth: an unknown scope is an error.
        let err = grant_oidc(Some("profile address"), &allowed).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidScope);
        // Registered for the client: kept.
        let mut with_phone = allowed.clone();
        with_phone.push("phone".into());
        assert_eq!(
            grant_oidc(Some("openid phone"), &with_phone).unwrap(),
            ["openid", "phone"]
        );
        // Other unknown scopes are still refused.
        assert!(grant_oidc(Some("openid admin"), &allowed).is_err());
    }
}
