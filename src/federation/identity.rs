//! Who an upstream provider says signed in, checked before anything is stored, and why an
//! upstream sign-in failed.
use super::Provider;

/// Who the upstream says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    pub provider: String,
    /// Who vouches for `subject`: the OIDC issuer, or GitHub's API URL.
    pub issuer: String,
    /// Stable at the provider: OIDC `sub`, GitHub's numeric user id.
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// An upstream sign-in that failed: a message for the person, and the cause for the log.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct FederationError {
    pub message: String,
    #[source]
    pub cause: Option<anyhow::Error>,
    /// The ID token failed validation (a key rotation may explain it).
    pub bad_id_token: bool,
}

impl FederationError {
    pub(super) fn new(
        provider: &Provider,
        what: &str,
        cause: impl Into<anyhow::Error>,
    ) -> FederationError {
        FederationError {
            message: format!(
                "{} could not complete your sign-in ({what}). Please try again.",
                provider.display_name
            ),
            cause: Some(cause.into()),
            bad_id_token: false,
        }
    }
}

/// Upstream claims are someone else's input: a subject without control characters and of a
/// sane length, a syntactically valid email (else none, and unverified), a printable name.
pub(super) fn checked(
    provider: &Provider,
    mut id: UpstreamIdentity,
) -> Result<UpstreamIdentity, FederationError> {
    let clean = |s: &str| !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control);
    if !clean(&id.subject) {
        return Err(FederationError::new(
            provider,
            "it sent an unusable account id",
            anyhow::anyhow!("subject with control characters or a bad length"),
        ));
    }
    id.email = id
        .email
        .filter(|e| clean(e))
        .and_then(|e| crate::identity::users::validate_email(&e).ok());
    id.email_verified &= id.email.is_some();
    id.name = id
        .name
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        })
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    Ok(id)
}
