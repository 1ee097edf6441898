//! RFC 6749 §4.3: the resource owner password credentials grant. `username` is the email.
use super::super::token::TokenContext;
use super::super::{resource, Client, ErrorCode, GrantType, OAuthError, Params};
use super::user::{self, UserGrant};
use crate::identity::audit::{self, Event};
use crate::identity::login::{self, LoginError};
use crate::identity::mfa;
use crate::identity::{sessions, RequestMeta};
use crate::store::write_transaction;
use crate::tokens::KeySet;

/// What the password grant needs besides the request.
pub struct PasswordEnv<'a> {
    pub db: &'a crate::store::Db,
    pub hasher: &'a crate::identity::password::Hasher,
    pub settings: &'a crate::config::Settings,
    pub roles: &'a crate::identity::roles::Roles,
    pub keys: std::sync::Arc<KeySet>,
    /// The DPoP key (RFC 9449) the access token is bound to, if the request carried a proof.
    pub dpop_jkt: Option<String>,
}

/// Checks the credentials (off the executor, throttled) and issues the user's tokens.
pub async fn grant(
    env: &PasswordEnv<'_>,
    client: Client,
    params: &Params,
    meta: &RequestMeta,
    now: i64,
) -> Result<crate::oauth::token::TokenResponse, OAuthError> {
    let username = params.require("username")?.to_string();
    let password = params.require("password")?.to_string();
    // Cheap request checks before the expensive password hash.
    let requested = super::super::scope::grant(params.get("scope"), &client.scopes)?;
    let audiences = resource::audiences(
        params.all("resource"),
        &[],
        &client,
        &env.settings.clients.resources,
        env.settings.default_audience(),
    )?;
    let user = login::password_login(
        env.db,
        env.hasher,
        login::LoginRules::of(env.settings),
        login::Credentials {
            email: &username,
            password: &password,
        },
        &client.id,
        meta,
        None,
        now,
    )
    .await
    .map_err(login_error)?;
    // A password alone cannot satisfy a second factor, and this grant has no step to ask for
    // one: such users sign in through the browser (authorization code) or the account API.
    let (user_id, role_requires) = (user.id.clone(), env.roles.requires_mfa(&user.role));
    let factors = env.db.run(move |c| mfa::factors(c, &user_id)).await?;
    if factors.any() || role_requires || client.require_mfa {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "this sign-in needs a second factor, which the password grant cannot carry; \
             use the authorization code flow",
        ));
    }
    let signed_in = SignedInUser {
        user,
        amr: mfa::PWD.to_string(),
    };
    finish(env, client, signed_in, requested, audiences, meta, now).await
}

/// What a password sign-in is finishing.
pub struct SignedInUser {
    pub user: crate::identity::users::User,
    /// How the user authenticated (`pwd`, or `pwd otp mfa` after a second factor).
    pub amr: String,
}

/// After a successful login: starts the session, stores a refresh token when the client has
/// that grant, and signs the user's tokens.
pub async fn finish(
    env: &PasswordEnv<'_>,
    client: Client,
    signed_in: SignedInUser,
    requested: Vec<String>,
    audiences: Vec<String>,
    meta: &RequestMeta,
    now: i64,
) -> Result<crate::oauth::token::TokenResponse, OAuthError> {
    let SignedInUser { user, amr } = signed_in;
    let role = user.role.clone();
    let scopes: Vec<String> = requested
        .into_iter()
        .filter(|s| env.roles.may_grant(&role, s))
        .collect();
    let (settings, keys, meta) = (env.settings.clone(), env.keys.clone(), meta.clone());
    let dpop_jkt = env.dpop_jkt.clone();
    env.db
        .run(move |c| {
            let issued = write_transaction(c, |c| {
                let session = sessions::start(
                    c,
                    &user.id,
                    &client.id,
                    &amr,
                    &meta,
                    &settings.sessions,
                    now,
                )?;
                let refresh = if client.allows_grant(GrantType::RefreshToken) {
                    Some(sessions::issue_refresh_token(
                        c,
                        &session,
                        &scopes.join(" "),
                        // No authorization request named resources: each refresh asks anew.
                        &[],
                        &settings.sessions,
                        now,
                    )?)
                } else {
                    None
                };
                audit::record(
                    c,
                    token_event(&user.id, &client.id, &meta, "password", &scopes),
                    now,
                )?;
                user::issue(
                    &TokenContext::from_settings(&settings),
                    UserGrant {
                        client: &client,
                        user: &user,
                        session_id: &session.id,
                        auth_time: session.auth_time,
                        scopes: scopes.clone(),
                        audiences,
                        refresh_token: refresh,
                        nonce: None,
                        amr: &session.amr,
                    },
                    now,
                )
            })?;
            Ok::<_, OAuthError>(issued.bind(dpop_jkt).sign(&keys)?)
        })
        .await
}

pub fn token_event<'a>(
    user_id: &'a str,
    client_id: &'a str,
    meta: &'a RequestMeta,
    grant: &str,
    scopes: &[String],
) -> Event<'a> {
    Event {
        kind: audit::TOKEN_ISSUED,
        success: true,
        user_id: Some(user_id),
        client_id: Some(client_id),
        meta: Some(meta),
        detail: Some(serde_json::json!({ "grant": grant, "scope": scopes.join(" ") })),
    }
}

/// Login failures as the token endpoint answers them.
pub fn login_error(e: LoginError) -> OAuthError {
    match e {
        LoginError::Failed => OAuthError::new(
            super::super::ErrorCode::InvalidGrant,
            "invalid username or password",
        ),
        LoginError::Unverified => OAuthError::new(
            super::super::ErrorCode::InvalidGrant,
            "the account's email address is not verified yet",
        ),
        LoginError::Throttled { retry_after } => OAuthError::RetryLater {
            throttled: true,
            retry_after,
        },
        LoginError::Busy => OAuthError::RetryLater {
            throttled: false,
            retry_after: 1,
        },
        LoginError::Internal(e) => OAuthError::Internal(e),
    }
}
