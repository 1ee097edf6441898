//! Per-client security profiles: today one, the FAPI 2.0 Security Profile (final, §5), chosen with
//! `client create --profile fapi2`. Every rule the profile adds is a plain function here, called
//! from the place that enforces it, so the whole profile reads in one file (docs/fapi2.md lists
//! each rule with its clause and test). A client without a profile is unaffected by all of them.
//!
//! What is deliberately not here: mTLS sender-constraining (DPoP is the one used), and
//! `authorization_details` (RAR). Refresh tokens keep rotating for fapi2 clients, but a retry
//! of a refresh whose answer was lost always succeeds ([`refresh_policy`], §5.3.2.1 clause 10).
use std::borrow::Cow;

use super::client_auth::AuthMethod;
use super::{Client, ErrorCode, GrantType, OAuthError};
use crate::config::SessionSettings;
use crate::tokens::Alg;

/// A client's security profile (`clients.profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// FAPI 2.0 Security Profile (final).
    Fapi2,
}

impl Profile {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Fapi2 => "fapi2",
        }
    }

    /// A `--profile` value: `fapi2`, or `none` / empty for no profile.
    pub fn parse(value: &str) -> Result<Option<Profile>, String> {
        match value.trim() {
            "fapi2" => Ok(Some(Profile::Fapi2)),
            "" | "none" => Ok(None),
            other => Err(format!(
                "--profile: unknown profile {other:?} (fapi2 or none)"
            )),
        }
    }
}

/// The algorithms a fapi2 client's tokens and DPoP proofs may be signed with (FAPI 2.0 §5.4.1:
/// PS256, ES256 or EdDSA; RSASSA-PKCS1-v1_5, i.e. RS256, is not allowed).
pub const FAPI2_ALGS: [Alg; 3] = [Alg::PS256, Alg::ES256, Alg::EdDSA];

/// FAPI 2.0 §5.3.2.1: authorization codes live at most 60 s, and (§5.3.2.2) a pushed request's
/// `request_uri` less than 600 s. Both hold for every client; checked when this compiles.
pub const MAX_CODE_TTL_SECS: i64 = 60;
const _: () = assert!(super::authorize::CODE_TTL_SECS <= MAX_CODE_TTL_SECS);
const _: () = assert!(super::par::TTL_SECS < 600);

pub fn is_fapi2(client: &Client) -> bool {
    client.profile == Some(Profile::Fapi2)
}

// ---- registration (`client create` / `client update`, admin API, `apply`) ----

/// What is wrong with `client` for its profile, one message each (empty: nothing).
/// FAPI 2.0 §5.3.2.1: only confidential clients; §5.4.1: no RS256; PKCE may not be relaxed.
pub fn registration_problems(client: &Client) -> Vec<String> {
    let mut problems = Vec::new();
    if !is_fapi2(client) {
        return problems;
    }
    if client.public {
        problems.push(
            "a fapi2 client must be confidential (FAPI 2.0 §5.3.2.1 allows only confidential \
             clients): drop --public"
                .into(),
        );
    }
    for (flag, alg) in [
        ("--token-alg", client.access_token_alg),
        ("--id-token-alg", client.id_token_alg),
    ] {
        if alg.is_some_and(|a| !FAPI2_ALGS.contains(&a)) {
            problems.push(format!(
                "{flag}: a fapi2 client's tokens are signed with PS256, ES256 or EdDSA \
                 (FAPI 2.0 §5.4.1), not RS256"
            ));
        }
    }
    if !client.private_key_jwt {
        problems.push(
            "a fapi2 client authenticates with private_key_jwt (FAPI 2.0 §5.3.2.1): add \
             --auth-method private_key_jwt with --jwks or --jwks-uri"
                .into(),
        );
    }
    if client.grant_types.contains(&GrantType::Password) {
        problems.push(
            "a fapi2 client may not use the password grant (FAPI 2.0 §5.3.2.1 rejects the \
             resource owner password credentials grant)"
                .into(),
        );
    }
    if !client.pkce_required {
        problems
            .push("--pkce-optional is not allowed for a fapi2 client (FAPI 2.0 §5.3.2.2)".into());
    }
    problems
}

/// Pins a fapi2 client's token algorithms when it names none: the first of `available`
/// (`keys.algorithms`, in order) that FAPI 2.0 allows, so the server's default (RS256 unless
/// configured otherwise) never signs its tokens. `Err` when the server keeps no such key.
pub fn pin_signing_algs(client: &mut Client, available: &[Alg]) -> Result<(), String> {
    if !is_fapi2(client) || (client.access_token_alg.is_some() && client.id_token_alg.is_some()) {
        return Ok(());
    }
    let alg = available
        .iter()
        .copied()
        .find(|a| FAPI2_ALGS.contains(a))
        .ok_or_else(|| {
            "a fapi2 client needs PS256, ES256 or EdDSA keys: add one to keys.algorithms"
                .to_string()
        })?;
    client.access_token_alg.get_or_insert(alg);
    client.id_token_alg.get_or_insert(alg);
    Ok(())
}

// ---- client authentication (`/token`, `/par`) ----

/// Whether `client` may authenticate with `method`: a fapi2 client only with `private_key_jwt`
/// (FAPI 2.0 §5.3.2.1 allows it or mTLS, which Portcullis does not offer). Registration already
/// refuses a fapi2 client without keys; this holds the line at every endpoint whatever changed.
pub fn check_client_authentication(client: &Client, method: AuthMethod) -> Result<(), OAuthError> {
    if is_fapi2(client) && method != AuthMethod::PrivateKeyJwt {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "a fapi2 client authenticates with private_key_jwt (FAPI 2.0 §5.3.2.1)",
        ));
    }
    Ok(())
}

// ---- the authorization request (`/par`, `/authorize`) ----

/// Authorization requests must be pushed (FAPI 2.0 §5.3.2.2: PAR only): beside the client's own
/// `require_par` and the global setting (`par::required`).
pub fn requires_par(client: &Client) -> bool {
    is_fapi2(client)
}

/// PKCE with S256 is required (FAPI 2.0 §5.3.2.2); `plain` is refused for every client anyway.
pub fn requires_pkce(client: &Client) -> bool {
    client.pkce_required || client.public || is_fapi2(client)
}

/// The (pushed) request must carry `redirect_uri` (FAPI 2.0 §5.3.2.2), even when the client has
/// a single one registered.
pub fn requires_redirect_uri(client: &Client) -> bool {
    is_fapi2(client)
}

/// The refusal when [`requires_redirect_uri`] and the request has none.
pub const REDIRECT_URI_REQUIRED: &str =
    "This application's authorization requests must name their redirect_uri (FAPI 2.0).";

// ---- the token request (`/token`) ----

/// Every token request needs a DPoP proof, so every access token is sender-constrained
/// (FAPI 2.0 §5.3.2.1): beside the client's own `dpop_bound_access_tokens`.
pub fn requires_dpop(client: &Client) -> bool {
    client.dpop_bound_access_tokens || is_fapi2(client)
}

/// Whether a DPoP proof signed with `alg` is accepted from `client`: a fapi2 client's proofs
/// are PS256, ES256 or EdDSA (FAPI 2.0 §5.4.1), never RS256. `Err`: the `invalid_dpop_proof`
/// description.
pub fn check_dpop_alg(client: &Client, alg: Alg) -> Result<(), OAuthError> {
    if is_fapi2(client) && !FAPI2_ALGS.contains(&alg) {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            format!(
                "this client's DPoP proofs must be signed with PS256, ES256 or EdDSA, not {alg}"
            ),
        ));
    }
    Ok(())
}

// ---- refresh tokens ----

/// The least refresh-reuse grace a fapi2 client gets: a retry with the previous refresh token
/// within this many seconds of a rotation succeeds (and replaces the undelivered successor).
pub const FAPI2_REFRESH_RETRY_SECS: i64 = 120;

/// The session policy a refresh by `client` runs under. FAPI 2.0 §5.3.2.1 clause 10: no refresh
/// token rotation unless retrying with the previous refresh token succeeds when the client
/// never got the new one; Portcullis keeps rotation (its reuse detection) and for fapi2
/// clients raises `sessions.refresh_reuse_grace_secs` to at least
/// [`FAPI2_REFRESH_RETRY_SECS`], so such a retry succeeds.
pub fn refresh_policy<'a>(
    client: &Client,
    policy: &'a SessionSettings,
) -> Cow<'a, SessionSettings> {
    if is_fapi2(client) && policy.refresh_reuse_grace_secs < FAPI2_REFRESH_RETRY_SECS {
        let mut raised = policy.clone();
        raised.refresh_reuse_grace_secs = FAPI2_REFRESH_RETRY_SECS;
        return Cow::Owned(raised);
    }
    Cow::Borrowed(policy)
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "profile_proptests.rs"]
mod proptests;
