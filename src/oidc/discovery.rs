//! OIDC Discovery 1.0 / RFC 8414 metadata. It lists only what this server implements: the grant
//! types from the registry `/token` parses (`GrantType::SUPPORTED`), the client authentication
//! methods from the one that reads them (`client_auth::AuthMethod`), per endpoint as each
//! accepts them (introspection needs a confidential client; revocation takes public ones).
use serde::Serialize;

use crate::oauth::client_auth::AuthMethod;
use crate::oauth::client_keys;
use crate::oauth::GrantType;
use crate::tokens::Alg;

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// RFC 8628 §4.
    pub device_authorization_endpoint: String,
    /// RFC 9126 §5.
    pub pushed_authorization_request_endpoint: String,
    /// RFC 9126 §5: every client must push (`clients.require_pushed_authorization_requests`;
    /// set by the caller). A client may be required to alone (`require_par`).
    pub require_pushed_authorization_requests: bool,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub authorization_response_iss_parameter_supported: bool,
    /// OpenID Connect Back-Channel Logout 1.0, with `sid` in every logout token.
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    pub prompt_values_supported: Vec<&'static str>,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 8414: the algorithms of `private_key_jwt` assertions (`client_keys::ALGORITHMS`).
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// RFC 9101 §10.5 / OIDC Discovery: the algorithms of signed request objects.
    pub request_object_signing_alg_values_supported: Vec<&'static str>,
    pub introspection_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub scopes_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// RFC 9449 §5.1: the algorithms accepted for DPoP proofs.
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    /// The `acr` levels, lowest first; ask for the last in `acr_values` to require a second
    /// factor.
    pub acr_values_supported: Vec<&'static str>,
    /// The languages of the sign-in pages (`ui_locales`; `i18n::Lang`), English first.
    pub ui_locales_supported: Vec<&'static str>,
    /// RFC 7591 dynamic client registration; absent while `clients.registration` is disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// draft-ietf-oauth-client-id-metadata-document: a client_id may be the https URL of its
    /// metadata document; absent while `clients.metadata_documents` is off.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub client_id_metadata_document_supported: bool,
}

/// The metadata; `registration` says whether clients may register themselves,
/// `metadata_documents` whether a client_id may be a metadata document URL.
pub fn metadata(
    issuer: &str,
    algorithms: &[Alg],
    registration: bool,
    metadata_documents: bool,
) -> Metadata {
    Metadata {
        issuer: issuer.to_string(),
        authorization_endpoint: format!("{issuer}/authorize"),
        token_endpoint: format!("{issuer}/token"),
        device_authorization_endpoint: format!("{issuer}/device_authorization"),
        pushed_authorization_request_endpoint: format!("{issuer}/par"),
        require_pushed_authorization_requests: false,
        userinfo_endpoint: format!("{issuer}/userinfo"),
        jwks_uri: format!("{issuer}/jwks.json"),
        end_session_endpoint: format!("{issuer}/logout"),
        grant_types_supported: GrantType::SUPPORTED.map(GrantType::as_str).to_vec(),
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query", "form_post"],
        code_challenge_methods_supported: vec!["S256"],
        authorization_response_iss_parameter_supported: true,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        prompt_values_supported: vec!["none", "login", "consent", "select_account"],
        // RFC 9101: `request` at /authorize and /par; `request_uri` only as a PAR URN.
        request_parameter_supported: true,
        request_uri_parameter_supported: false,
        token_endpoint_auth_methods_supported: AuthMethod::ALL.map(AuthMethod::name).to_vec(),
        token_endpoint_auth_signing_alg_values_supported: client_keys::ALGORITHMS.to_vec(),
        request_object_signing_alg_values_supported: client_keys::ALGORITHMS.to_vec(),
        introspection_endpoint: format!("{issuer}/introspect"),
        introspection_endpoint_auth_methods_supported: [
            AuthMethod::Basic,
            AuthMethod::Post,
            AuthMethod::PrivateKeyJwt,
        ]
        .map(AuthMethod::name)
        .to_vec(),
        introspection_endpoint_auth_signing_alg_values_supported: client_keys::ALGORITHMS.to_vec(),
        revocation_endpoint: format!("{issuer}/revoke"),
        revocation_endpoint_auth_methods_supported: AuthMethod::ALL.map(AuthMethod::name).to_vec(),
        revocation_endpoint_auth_signing_alg_values_supported: client_keys::ALGORITHMS.to_vec(),
        // Identity scopes; permission scopes depend on the roles and clients configured.
        scopes_supported: vec!["openid", "profile", "email", "offline_access"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: algorithms.iter().map(|a| a.name()).collect(),
        dpop_signing_alg_values_supported: crate::oauth::dpop::ALGORITHMS.to_vec(),
        claims_supported: vec![
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "sid",
            "amr",
            "acr",
            "name",
            "email",
            "email_verified",
            "updated_at",
        ],
        acr_values_supported: crate::identity::mfa::ACR_VALUES.to_vec(),
        ui_locales_supported: crate::i18n::Lang::ALL.iter().map(|l| l.code()).collect(),
        registration_endpoint: registration.then(|| format!("{issuer}/register")),
        client_id_metadata_document_supported: metadata_documents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What discovery lists is what `/token` parses, and the other way round.
    #[test]
    fn grant_types_are_the_registry_token_parses() {
        let m = metadata("https://id.example.com", &[Alg::RS256], false, false);
        for name in &m.grant_types_supported {
            let grant: GrantType = name.parse().unwrap();
            assert_eq!(grant.as_str(), *name);
        }
        assert_eq!(m.grant_types_supported.len(), GrantType::SUPPORTED.len());
        assert!(
            "device_code".parse::<GrantType>().is_err(),
            "only the URN at /token"
        );
        assert_eq!(
            m.token_endpoint_auth_methods_supported,
            [
                "client_secret_basic",
                "client_secret_post",
                "none",
                "private_key_jwt"
            ]
        );
        assert_eq!(
            m.token_endpoint_auth_signing_alg_values_supported,
            ["PS256", "ES256", "EdDSA", "RS256"]
        );
        assert_eq!(
            m.introspection_endpoint_auth_methods_supported,
            [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ]
        );
        assert!(m.request_parameter_supported && !m.request_uri_parameter_supported);
        assert!(m.registration_endpoint.is_none() && !m.client_id_metadata_document_supported);
    }
}
