//! ID token claims (OIDC Core §2), with profile and email claims by granted scope.
use serde::{Deserialize, Serialize};

use crate::identity::mfa;
use crate::identity::users::User;
use crate::tokens::Alg;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The client id.
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Set when signed, from the access token issued with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Authentication methods (RFC 8176): `pwd`, `fed` (an upstream provider), `otp` (an
    /// authenticator app or recovery code), `hwk` (a passkey), `mfa` (more than one factor).
    pub amr: Vec<String>,
    /// The level reached (`identity::mfa::ACR_1FA` or `ACR_MFA`).
    pub acr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub user: &'a User,
    pub auth_time: i64,
    pub sid: Option<&'a str>,
    pub amr: &'a str,
    pub nonce: Option<&'a str>,
    pub scopes: &'a [String],
    pub ttl: i64,
}

pub fn claims(input: IdTokenInput, now: i64) -> IdTokenClaims {
    let has = |s: &str| input.scopes.iter().any(|g| g == s);
    IdTokenClaims {
        iss: input.issuer.to_string(),
        sub: input.user.id.clone(),
        aud: input.client_id.to_string(),
        exp: now + input.ttl,
        iat: now,
        auth_time: input.auth_time,
        nonce: input.nonce.map(str::to_string),
        at_hash: None,
        sid: input.sid.map(str::to_string),
        amr: mfa::methods(input.amr).map(str::to_string).collect(),
        acr: mfa::acr(input.amr).to_string(),
        name: if has("profile") {
            input.user.name.clone()
        } else {
            None
        },
        email: has("email").then(|| input.user.email.clone()),
        email_verified: has("email").then_some(input.user.email_verified),
    }
}

/// `at_hash`: base64url of the left half of the hash of the id_token's algorithm over the
/// access token (SHA-256 for RS256 and ES256, SHA-512 for EdDSA).
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    alg.half_hash(access_token)
}

#[cfg(test)]
mod tests {
    use crate::tokens::Alg;

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OIDC Core, Appendix A.3: at_hash of the access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            super::at_hash(Alg::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
