//! The token endpoint's protocol: parameter checks, client authentication, grant dispatch, and
//! issuing access tokens.
use serde::Serialize;

use super::client_auth;
use super::dpop;
use super::grants;
use super::profile;
use super::{Client, ErrorCode, GrantType, OAuthError, Params};
use crate::config::{SessionSettings, Settings};
use crate::identity::roles::Roles;
use crate::identity::RequestMeta;
use crate::oidc::id_token::{self, IdTokenClaims};
use crate::store::DbConnection;
use crate::tokens::{self, secret, AccessTokenClaims, Alg, Audience, KeySet};

/// What the database part of a token request needs besides the configuration.
pub struct Grants<'a> {
    pub roles: &'a Roles,
    /// The published keys, to verify the tokens token exchange is given.
    pub keys: &'a KeySet,
    /// With `dpop.require_nonce`: the key every proof's `nonce` must verify with.
    pub dpop_nonce: Option<&'a dpop::NonceKey>,
    /// Clients held in memory (client authentication reads through it).
    pub clients: &'a super::client_cache::ClientCache,
}

/// Parameters that may appear more than once in a token request.
pub const REPEATABLE: &[&str] = &["resource", "audience"];

/// What issuing tokens needs from the server's configuration.
pub struct TokenContext<'a> {
    pub issuer: &'a str,
    pub default_audience: &'a str,
    /// Resources any client may target (`clients.resources`, RFC 8707).
    pub shared_resources: &'a [String],
    pub access_token_ttl_secs: i64,
    pub max_access_token_ttl_secs: i64,
    pub sessions: &'a SessionSettings,
    /// The metadata document policy: a client a document made is refused once it excludes it.
    pub clients: &'a crate::config::ClientSettings,
}

impl<'a> TokenContext<'a> {
    pub fn from_settings(s: &'a Settings) -> TokenContext<'a> {
        TokenContext {
            issuer: &s.issuer,
            default_audience: s.default_audience(),
            shared_resources: &s.clients.resources,
            access_token_ttl_secs: s.tokens.access_token_ttl_secs,
            max_access_token_ttl_secs: s.tokens.max_access_token_ttl_secs,
            sessions: &s.sessions,
            clients: &s.clients,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// RFC 8693 §2.2.1: what token exchange issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
    /// The algorithm the access token is signed with (metrics; not part of the answer).
    #[serde(skip)]
    pub access_alg: Alg,
}

/// The outcome of a grant: everything decided and stored, nothing signed yet. Signing is pure
/// CPU work, so the caller can do it outside the database task.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access: AccessTokenClaims,
    pub expires_in: i64,
    pub scopes: Vec<String>,
    /// Already stored (as a hash); in clear here to hand out once.
    pub refresh_token: Option<String>,
    pub id_token: Option<IdTokenClaims>,
    /// The client's algorithms (`None`: the server's default).
    pub access_alg: Option<Alg>,
    pub id_token_alg: Option<Alg>,
    /// Token exchange: the type of the token issued (`issued_token_type`).
    pub issued_token_type: Option<&'static str>,
}

impl Issued {
    /// Signs the tokens with the active keys of the client's algorithms and builds the RFC 6749
    /// §5.1 response.
    pub fn sign(self, keys: &KeySet) -> anyhow::Result<TokenResponse> {
        let access_alg = self.access_alg.unwrap_or(keys.default_alg());
        let access_token = tokens::sign(keys, access_alg, tokens::ACCESS_TOKEN_TYP, &self.access)?;
        let id_token = match self.id_token {
            Some(mut claims) => {
                let alg = self.id_token_alg.unwrap_or(keys.default_alg());
                claims.at_hash = Some(id_token::at_hash(alg, &access_token));
                Some(tokens::sign(keys, alg, "JWT", &claims)?)
            }
            None => None,
        };
        Ok(TokenResponse {
            access_token,
            token_type: if self.access.cnf.is_some() {
                "DPoP"
            } else {
                "Bearer"
            },
            expires_in: self.expires_in,
            scope: join_scopes(&self.scopes),
            refresh_token: self.refresh_token,
            id_token,
            issued_token_type: self.issued_token_type,
            access_alg,
        })
    }
}

impl Issued {
    /// Binds the access token to a DPoP key (`cnf.jkt`; answered with `token_type: DPoP`).
    pub fn bind(mut self, jkt: Option<String>) -> Issued {
        if let Some(jkt) = jkt {
            self.access.cnf = Some(tokens::Confirmation { jkt });
        }
        self
    }
}

pub struct AccessTokenRequest<'a> {
    pub subject: &'a str,
    pub audiences: Vec<String>,
    pub scopes: Vec<String>,
    pub auth_time: Option<i64>,
    pub roles: Option<Vec<String>>,
    pub sid: Option<String>,
    /// The `jti` to use (the refresh row id, for tokens issued with a refresh token); random
    /// otherwise.
    pub jti: Option<String>,
}

fn join_scopes(scopes: &[String]) -> Option<String> {
    (!scopes.is_empty()).then(|| scopes.join(" "))
}

/// Decides the claims of an RFC 9068 access token for `client`.
pub fn access_token(
    ctx: &TokenContext,
    client: &Client,
    req: AccessTokenRequest,
    now: i64,
) -> Result<Issued, OAuthError> {
    let ttl = client
        .access_token_ttl_secs
        .unwrap_or(ctx.access_token_ttl_secs)
        .min(ctx.max_access_token_ttl_secs);
    let access = AccessTokenClaims {
        iss: ctx.issuer.to_string(),
        sub: req.subject.to_string(),
        aud: Audience::from_vec(req.audiences),
        client_id: client.id.clone(),
        scope: join_scopes(&req.scopes),
        iat: now,
        exp: now + ttl,
        jti: match req.jti {
            Some(jti) => jti,
            None => secret::random_token(16)?,
        },
        auth_time: req.auth_time,
        roles: req.roles,
        sid: req.sid,
        act: None,
        cnf: None,
    };
    Ok(Issued {
        access,
        expires_in: ttl,
        scopes: req.scopes,
        refresh_token: None,
        id_token: None,
        access_alg: client.access_token_alg,
        id_token_alg: client.id_token_alg,
        issued_token_type: None,
    })
}

/// The headers of a token request that matter to it, raw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `Authorization` (HTTP Basic client credentials).
    pub authorization: Option<&'a str>,
    /// The client assertion (RFC 7523), verified beforehand (`http::client_assertion`).
    pub assertion: Option<&'a client_auth::VerifiedAssertion>,
    /// `DPoP` (RFC 9449 proof).
    pub dpop: Option<&'a str>,
}

/// How far the database part of a token request got.
pub enum Step {
    /// Done: the grant's tokens, ready to sign.
    Issued(Box<Issued>),
    /// The password grant: the client is authenticated; the credentials still need checking,
    /// which runs on the hashing pool (see `grants::password`). With the DPoP key (`jkt`) to
    /// bind the access token to.
    Password(Box<Client>, Option<String>),
}

/// The database part of a token request: checks, client authentication, and every grant that
/// needs nothing but the database. `params` is the parsed body, `headers` the raw headers; a
/// `DPoP` proof binds the access token (and a public client's new refresh token family).
pub fn begin(
    conn: &mut DbConnection,
    ctx: &TokenContext,
    grants_env: &Grants,
    params: &Params,
    headers: Headers<'_>,
    meta: &RequestMeta,
    now: i64,
) -> Result<Step, OAuthError> {
    let grant_type = params.require("grant_type")?;
    let grant: GrantType = grant_type.parse().map_err(|_| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {grant_type:?} is not supported"),
        )
    })?;
    let creds = client_auth::extract(headers.authorization, headers.assertion, params)?;
    let client = super::client_cache::authenticate(conn, grants_env.clients, &creds)?;
    profile::check_client_authentication(&client, creds.method)?;
    if client.is_metadata_document() {
        // Its codes and refresh tokens stop working when the policy stops accepting its URL.
        crate::oauth::metadata_document::still_allowed(&client.id, ctx.clients).map_err(|why| {
            OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("this client's metadata document is no longer accepted: {why}"),
            )
        })?;
    }
    let jkt = match headers.dpop {
        Some(proof) => {
            let (jkt, alg) = dpop_key(conn, ctx.issuer, proof, grants_env.dpop_nonce, now)?;
            profile::check_dpop_alg(&client, alg)?;
            Some(jkt)
        }
        None if profile::requires_dpop(&client) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "this client's token requests must carry a DPoP proof",
            ))
        }
        None => None,
    };
    if !client.allows_grant(grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            match grant {
                GrantType::TokenExchange => {
                    "the client may not exchange tokens (it has no exchange audiences)".into()
                }
                _ => format!("the client is not allowed the {grant} grant"),
            },
        ));
    }
    // RFC 9700 §2.4, for public clients registered with the password grant before
    // registration refused it. The account API's built-in public client is not affected: it
    // never comes through here (it signs in with `login::password_login` + `grants::password::
    // finish` directly, and is not a client `/token` knows).
    if grant == GrantType::Password && client.public {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients may not use the password grant",
        ));
    }
    let step = match grant {
        GrantType::ClientCredentials => {
            grants::client_credentials::grant(ctx, &client, params, now)
                .map(|i| Step::Issued(Box::new(i.bind(jkt.clone()))))
        }
        GrantType::RefreshToken => grants::refresh_token::grant(
            conn,
            ctx,
            grants_env.roles,
            &client,
            params,
            jkt.as_deref(),
            meta,
            now,
        )
        .map(|i| Step::Issued(Box::new(i.bind(jkt.clone())))),
        GrantType::TokenExchange => {
            let env = grants::token_exchange::ExchangeEnv {
                keys: grants_env.keys,
                roles: grants_env.roles,
            };
            grants::token_exchange::grant(conn, ctx, &env, &client, params, meta, now)
                .map(|i| Step::Issued(Box::new(i.bind(jkt.clone()))))
        }
        GrantType::Password => return Ok(Step::Password(Box::new(client), jkt)),
        GrantType::AuthorizationCode => {
            grants::authorization_code::grant(conn, ctx, &client, params, meta, now)
                .map(|i| Step::Issued(Box::new(i.bind(jkt.clone()))))
        }
        GrantType::DeviceCode => grants::device_code::grant(conn, ctx, &client, params, meta, now)
            .map(|i| Step::Issued(Box::new(i.bind(jkt.clone())))),
    }?;
    // RFC 9449 §5: a public client's new refresh token family is bound to the proof's key (a
    // rotation copies the binding). Its first row's id is the access token's `jti`.
    if let (Step::Issued(issued), Some(jkt), true) = (&step, &jkt, client.public) {
        if issued.refresh_token.is_some() && grant != GrantType::RefreshToken {
            crate::store::sessions::bind_refresh_token_dpop(conn, &issued.access.jti, jkt)?;
        }
    }
    Ok(step)
}

/// Verifies the `DPoP` proof of a token request (RFC 9449 §4.3: `htm` POST, `htu` the token
/// endpoint; with `nonce_key`, a `nonce` it issued: else `use_dpop_nonce`, §8) and remembers it
/// against replay; the thumbprint of its key and the proof's algorithm.
pub fn dpop_key(
    conn: &mut DbConnection,
    issuer: &str,
    proof: &str,
    nonce_key: Option<&dpop::NonceKey>,
    now: i64,
) -> Result<(String, Alg), OAuthError> {
    let expected = dpop::Expected {
        htm: "POST",
        htu: &format!("{issuer}/token"),
        access_token: None,
        now,
    };
    let proof = dpop::verify(proof, &expected)
        .map_err(|e| OAuthError::new(ErrorCode::InvalidDpopProof, e.0))?;
    dpop::check_nonce(&proof, nonce_key, now)
        .map_err(|e| OAuthError::new(ErrorCode::UseDpopNonce, e.0))?;
    let fresh =
        crate::store::dpop::remember(conn, &proof.replay_key(), proof.iat + dpop::REPLAY_TTL_SECS)
            .map_err(|e| OAuthError::Internal(e.into()))?;
    if !fresh {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "the DPoP proof was already used",
        ));
    }
    Ok((proof.jkt, proof.alg))
}
