//! Errors: [`Error`] for setting a verifier up, [`VerifyError`] for rejecting a token.

/// Setting up a [`Verifier`](crate::Verifier) failed: bad configuration, or the issuer's
/// discovery document or JWKS could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `none` and the HMAC algorithms (`HS256`, `HS384`, `HS512`) are never accepted: a resource
    /// server must not share a secret with the issuer, and `none` means no signature at all.
    #[error("algorithm {0:?} is never accepted for access tokens")]
    ForbiddenAlgorithm(String),
    /// An algorithm name this crate does not know.
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// Some other configuration value is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The request did not complete (connection refused, timeout, TLS, …).
    #[error("request to {url} failed: {message}")]
    Http {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The server answered with a status other than 200 (redirects are not followed).
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The discovery document or JWKS is not what it should be.
    #[error("invalid document at {url}: {message}")]
    InvalidDocument {
        /// The URL requested (or `"<jwks>"` for a JWKS given to [`Verifier::from_jwks`](crate::Verifier::from_jwks)).
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The discovery document names another issuer (OpenID Connect Discovery §4.3).
    #[error("the discovery document names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The issuer configured.
        expected: String,
        /// The issuer the discovery document announced.
        found: String,
    },
    /// The JWKS holds no key this verifier could use with its allowed algorithms.
    #[error("the JWKS holds no usable signing key")]
    NoUsableKeys,
    /// API keys are configured but there is no introspection endpoint to ask.
    #[error("API keys need an introspection endpoint, and the issuer announces none")]
    NoIntrospectionEndpoint,
}

/// Why a token was rejected.
///
/// [`description`](VerifyError::description) is safe to show to the client (it is what goes into
/// `error_description`); the `Display` text may carry more detail for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a compact JWS (three base64url parts) or its header/payload is not JSON.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// The header's `alg` is not in the allow-list (always the case for `none` and `HS*`).
    #[error("algorithm {0:?} is not accepted")]
    AlgorithmNotAllowed(String),
    /// The header's `typ` is not `at+jwt` (RFC 9068 §4), e.g. an ID token.
    #[error("the token type is not at+jwt")]
    WrongType,
    /// The header carries a `crit` parameter; no extension is understood here.
    #[error("the token uses critical header extensions")]
    UnsupportedCritical,
    /// No key with this `kid` in the JWKS, even after a refetch (or the refetch was rate-limited).
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    /// The key found by `kid` cannot verify this `alg` (wrong key type, or the JWK names another alg).
    #[error("the signing key does not match the algorithm")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("the signature is invalid")]
    InvalidSignature,
    /// `exp` has passed (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by someone else")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// A required claim (`exp`, `iss`, `aud`, `sub`) is missing.
    #[error("the token lacks the {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type (e.g. `exp` not a number, `roles` not an array of strings).
    #[error("the {0} claim is malformed")]
    InvalidClaim(&'static str),
    /// An API key the issuer reports as inactive (unknown, revoked or expired).
    #[error("the API key is not active")]
    InactiveApiKey,
    /// A `pc_` API key reached a verifier without introspection credentials.
    #[error("API keys are not accepted here")]
    ApiKeysNotAccepted,
    /// The issuer could not be asked (JWKS refetch or introspection failed), or the DPoP replay
    /// cache is full. Not the client's fault: the actix extractor answers 503.
    #[error("the issuer is unavailable: {0}")]
    Unavailable(String),
    /// The token is DPoP-bound (`cnf.jkt`, RFC 9449 §6) but came as a Bearer token (or through
    /// [`Verifier::verify`](crate::Verifier::verify)): it needs `Authorization: DPoP` and a proof.
    #[error("the token is DPoP-bound and was sent without a DPoP proof")]
    DpopBoundToken,
    /// The `DPoP` scheme was used with a token that is not DPoP-bound (or an API key).
    #[error("the token is not DPoP-bound")]
    NotDpopBound,
    /// The DPoP proof is missing, invalid, replayed, or of another key than the token's
    /// (`invalid_dpop_proof`, RFC 9449 §7.1). The text is client-safe.
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(&'static str),
}

impl VerifyError {
    /// A short reason that is safe to show to the client (no key material, no internals). It
    /// only uses characters allowed in an RFC 6750 `error_description`.
    pub fn description(&self) -> &'static str {
        match self {
            VerifyError::Malformed => "the access token is malformed",
            VerifyError::AlgorithmNotAllowed(_) => "the token signing algorithm is not accepted",
            VerifyError::WrongType => "the token is not an access token (typ must be at+jwt)",
            VerifyError::UnsupportedCritical => "the token uses unsupported critical extensions",
            VerifyError::UnknownKey(_) => "the token was signed with an unknown key",
            VerifyError::KeyMismatch => "the token signing key does not match its algorithm",
            VerifyError::InvalidSignature => "the token signature is invalid",
            VerifyError::Expired => "the access token has expired",
            VerifyError::NotYetValid => "the access token is not valid yet",
            VerifyError::WrongIssuer => "the token was issued by an untrusted issuer",
            VerifyError::WrongAudience => "the token is not meant for this resource server",
            VerifyError::MissingClaim(_) => "the token lacks a required claim",
            VerifyError::InvalidClaim(_) => "the token has a malformed claim",
            VerifyError::InactiveApiKey => "the API key is invalid, revoked or expired",
            VerifyError::ApiKeysNotAccepted => "API keys are not accepted by this resource server",
            VerifyError::Unavailable(_) => "the token cannot be checked right now, try again later",
            VerifyError::DpopBoundToken => {
                "the token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof"
            }
            VerifyError::NotDpopBound => "the token is not DPoP-bound: send it as Bearer",
            VerifyError::InvalidDpopProof(why) => why,
        }
    }

    /// `true` when the rejection is the issuer's unavailability, not the token's fault (answer
    /// 503 rather than 401).
    pub fn is_temporary(&self) -> bool {
        matches!(self, VerifyError::Unavailable(_))
    }
}
