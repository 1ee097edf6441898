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
}
