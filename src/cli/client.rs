//! `portcullis client …`
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use crate::config::Settings;
use crate::oauth::admin_clients;
use crate::oauth::registration::ClientSpec;
use crate::oauth::Client;
use crate::oauth::{dynamic, origins};
use crate::store::clients;

// Parsed once per run: boxing the big `Create` variant would save nothing worth having.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and (for confidential clients) its secret, once.
    Create {
        #[arg(long)]
        name: String,
        /// authorization_code, client_credentials, password, refresh_token, device_code (RFC 8628).
        #[arg(long = "grant", value_name = "G")]
        grants: Vec<String>,
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        #[arg(long = "audience", value_name = "AUD")]
        audiences: Vec<String>,
        /// A client that cannot keep a secret (browser or native app).
        #[arg(long)]
        public: bool,
        #[arg(long)]
        skip_consent: bool,
        #[arg(long, value_name = "SECONDS")]
        access_token_ttl: Option<i64>,
        /// May introspect every token at /introspect (for resource servers).
        #[arg(long)]
        introspect: bool,
        /// Let this confidential client omit PKCE at /authorize (public clients always need it).
        #[arg(long)]
        pkce_optional: bool,
        /// An origin (scheme://host[:port]) a browser app may call /token, /revoke and /userinfo
        /// from, beside the origins of the redirect URIs.
        #[arg(long = "web-origin", value_name = "ORIGIN")]
        web_origins: Vec<String>,
        /// The algorithm of its access tokens (RS256, PS256, ES256 or EdDSA; one of keys.algorithms).
        #[arg(long, value_name = "ALG")]
        token_alg: Option<String>,
        /// Its id_token_signed_response_alg (RS256, PS256, ES256 or EdDSA; one of keys.algorithms).
        #[arg(long, value_name = "ALG")]
        id_token_alg: Option<String>,
        /// Every sign-in for this client needs a second factor (an authenticator app, a
        /// recovery code or a passkey); users without one are led to enrol.
        #[arg(long)]
        require_mfa: bool,
        /// Every token request must carry a DPoP proof (RFC 9449): its access tokens are
        /// always bound to the client's key.
        #[arg(long)]
        dpop_bound_access_tokens: bool,
        /// Its authorization requests must be pushed first (RFC 9126 `POST /par`); a plain
        /// `/authorize` for it is refused.
        #[arg(long)]
        require_par: bool,
        /// An audience this confidential client may exchange users' tokens for (RFC 8693
        /// token exchange); without one it may not use the grant.
        #[arg(long = "exchange-audience", value_name = "AUD")]
        exchange_audiences: Vec<String>,
        /// Token exchange may act as the user (no `act` claim) when no actor token is sent;
        /// without it every exchanged token names the client in `act`.
        #[arg(long)]
        exchange_impersonation: bool,
        /// OIDC Back-Channel Logout: where a logout token is POSTed when a session the client
        /// got tokens in ends (https, or http on loopback).
        #[arg(long, value_name = "URL")]
        backchannel_logout_uri: Option<String>,
        /// The client needs `sid` in its logout tokens (Portcullis always sends it).
        #[arg(long)]
        backchannel_logout_session_required: bool,
        /// A security profile: `fapi2` (FAPI 2.0 Security Profile: confidential with
        /// private_key_jwt; pushed requests, PKCE S256 and DPoP required; tokens PS256, ES256 or
        /// EdDSA; docs/fapi2.md).
        #[arg(long, value_name = "PROFILE")]
        profile: Option<String>,
        #[command(flatten)]
        keys: KeyFlags,
    },
    /// Change a client's web origins (CORS), keys or security profile; prints the client like
    /// `show`.
    Update {
        id: String,
        #[arg(long = "web-origin", value_name = "ORIGIN")]
        web_origins: Vec<String>,
        #[arg(long = "remove-web-origin", value_name = "ORIGIN")]
        remove_web_origins: Vec<String>,
        /// `fapi2` or `none` (docs/fapi2.md); checked as at creation.
        #[arg(long, value_name = "PROFILE")]
        profile: Option<String>,
        #[command(flatten)]
        keys: KeyFlags,
    },
    /// List clients (no secrets).
    List,
    /// Show one client.
    Show { id: String },
    /// Delete a client.
    Delete { id: String },
    /// Replace a confidential client's secret; running servers stop taking the old one within
    /// `clients.cache_refresh_ms` (500 ms).
    RotateSecret { id: String },
    /// Initial access tokens for dynamic client registration (`clients.registration =
    /// "initial_access_token"`).
    #[command(subcommand)]
    RegistrationToken(RegistrationTokenCommand),
}

/// How a client authenticates and its public keys (RFC 7523 `private_key_jwt`, RFC 9101
/// request objects).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyFlags {
    /// `private_key_jwt`: the client authenticates with a JWT signed by one of its keys (it
    /// gets no secret); `client_secret_basic` (or leave it out): a secret.
    #[arg(long, value_name = "METHOD")]
    auth_method: Option<String>,
    /// A file holding the client's public keys (a JWKS, JSON).
    #[arg(long, value_name = "FILE", conflicts_with = "jwks_uri")]
    jwks: Option<std::path::PathBuf>,
    /// Where the client's public keys (a JWKS) are fetched from (https).
    #[arg(long, value_name = "URL")]
    jwks_uri: Option<String>,
}

impl KeyFlags {
    fn is_empty(&self) -> bool {
        self.auth_method.is_none() && self.jwks.is_none() && self.jwks_uri.is_none()
    }

    /// The change they ask for, the `--jwks` file read.
    fn change(self) -> anyhow::Result<admin_clients::KeyChange> {
        let jwks = match &self.jwks {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("--jwks: cannot read {}", path.display()))?,
            ),
            None => None,
        };
        Ok(admin_clients::KeyChange {
            auth_method: self.auth_method,
            jwks,
            jwks_uri: self.jwks_uri,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Make an initial access token (printed once; only its hash is stored).
    Create {
        /// Seconds until it expires (default a day; 0: never).
        #[arg(long, value_name = "SECS", default_value_t = 86_400)]
        expires_in: i64,
        /// How many clients it may register.
        #[arg(long, value_name = "N", default_value_t = 1)]
        uses: i32,
    },
    /// List initial access tokens (never the tokens themselves).
    List,
    /// Revoke an initial access token by its id.
    Revoke { id: String },
}

pub fn run(settings: &Settings, cmd: ClientCommand) -> anyhow::Result<ExitCode> {
    let access = match cmd {
        ClientCommand::List
        | ClientCommand::Show { .. }
        | ClientCommand::RegistrationToken(RegistrationTokenCommand::List) => super::Access::Read,
        _ => super::Access::Write,
    };
    let db = super::database::open(settings, access)?;
    let mut conn = db.get()?;
    let now = super::now();
    match cmd {
        ClientCommand::Create {
            name,
            grants,
            scopes,
            redirect_uris,
            post_logout_redirect_uris,
            audiences,
            public,
            skip_consent,
            access_token_ttl,
            introspect,
            pkce_optional,
            web_origins,
            token_alg,
            id_token_alg,
            require_mfa,
            dpop_bound_access_tokens,
            require_par,
            exchange_audiences,
            exchange_impersonation,
            backchannel_logout_uri,
            backchannel_logout_session_required,
            profile,
            keys,
        } => {
            let keys = keys.change()?;
            let spec = ClientSpec {
                name,
                grant_types: grants,
                scopes,
                redirect_uris,
                post_logout_redirect_uris,
                audiences,
                public,
                skip_consent,
                access_token_ttl_secs: access_token_ttl,
                can_introspect: introspect,
                pkce_optional,
                web_origins,
                token_alg,
                id_token_alg,
                require_mfa,
                dpop_bound_access_tokens,
                exchange_audiences,
                exchange_impersonation,
                private_use_redirects: false,
                dynamic: false,
                require_par,
                backchannel_logout_uri,
                backchannel_logout_session_required,
                profile,
                auth_method: keys.auth_method,
                jwks: keys.jwks,
                jwks_uri: keys.jwks_uri,
            };
            let limits = admin_clients::Limits::from_settings(settings);
            let reg = admin_clients::create(&mut conn, &spec, &limits, admin_clients::CLI, now)?;
            let mut out = client_json(&reg.client);
            out["client_secret"] = json!(reg.secret);
            super::print_json(&out)
        }
        ClientCommand::List => {
            let all: Vec<serde_json::Value> = clients::list(&mut conn)?
                .into_iter()
                .map(|row| Client::try_from(row).map(|c| client_json(&c)))
                .collect::<anyhow::Result<_>>()?;
            super::print_json(&all)
        }
        ClientCommand::Show { id } => {
            let row = clients::find(&mut conn, &id)?.with_context(|| format!("no client {id}"))?;
            super::print_json(&client_json(&Client::try_from(row)?))
        }
        ClientCommand::Update {
            id,
            web_origins,
            remove_web_origins,
            profile,
            keys,
        } => {
            let mut client = None;
            let keys_given = !keys.is_empty();
            if keys_given {
                client = admin_clients::update_keys(
                    &mut conn,
                    &id,
                    &keys.change()?,
                    admin_clients::CLI,
                    now,
                )?;
                client
                    .as_ref()
                    .with_context(|| format!("no client {id} that the operator manages"))?;
            }
            if !web_origins.is_empty()
                || !remove_web_origins.is_empty()
                || (profile.is_none() && !keys_given)
            {
                client = admin_clients::update_web_origins(
                    &mut conn,
                    &id,
                    &web_origins,
                    &remove_web_origins,
                    admin_clients::CLI,
                    now,
                )?;
            }
            if let Some(name) = profile {
                let profile = crate::oauth::profile::Profile::parse(&name)
                    .map_err(|e| crate::oauth::registration::SpecError(vec![e]))?;
                let limits = admin_clients::Limits::from_settings(settings);
                client = admin_clients::set_profile(
                    &mut conn,
                    &id,
                    profile,
                    &limits,
                    admin_clients::CLI,
                    now,
                )?;
            }
            let client = client.with_context(|| format!("no client {id}"))?;
            super::print_json(&client_json(&client))
        }
        ClientCommand::Delete { id } => {
            if !admin_clients::delete(&mut conn, &id, admin_clients::CLI, now)? {
                anyhow::bail!("no client {id}");
            }
            super::print_json(&json!({ "deleted": id }))
        }
        ClientCommand::RotateSecret { id } => {
            let secret = admin_clients::rotate_secret(&mut conn, &id, admin_clients::CLI, now)?
                .with_context(|| format!("no confidential client {id}"))?;
            super::print_json(&json!({ "client_id": id, "client_secret": secret }))
        }
        ClientCommand::RegistrationToken(cmd) => registration_token(&mut conn, cmd, now),
    }
}

fn registration_token(
    conn: &mut crate::store::DbConnection,
    cmd: RegistrationTokenCommand,
    now: i64,
) -> anyhow::Result<ExitCode> {
    match cmd {
        RegistrationTokenCommand::Create { expires_in, uses } => {
            if expires_in < 0 {
                anyhow::bail!("--expires-in must not be negative (0: never expires)");
            }
            let expires_in = (expires_in > 0).then_some(expires_in);
            let created = dynamic::create_initial_token(conn, expires_in, uses, now)?;
            super::print_json(&created)
        }
        RegistrationTokenCommand::List => super::print_json(&dynamic::list_initial_tokens(conn)?),
        RegistrationTokenCommand::Revoke { id } => {
            if !dynamic::revoke_initial_token(conn, &id, now)? {
                anyhow::bail!("no initial access token {id}");
            }
            super::print_json(&json!({ "revoked": id }))
        }
    }
}

pub(super) fn client_json(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.id,
        "name": c.name,
        "public": c.public,
        "grant_types": c.grant_types,
        "scopes": c.scopes,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "audiences": c.audiences,
        "skip_consent": c.skip_consent,
        "access_token_ttl": c.access_token_ttl_secs,
        "can_introspect": c.can_introspect,
        "pkce_required": c.pkce_required,
        "web_origins": c.web_origins,
        "token_alg": c.access_token_alg,
        "id_token_signed_response_alg": c.id_token_alg,
        "require_mfa": c.require_mfa,
        "dpop_bound_access_tokens": c.dpop_bound_access_tokens,
        "require_par": c.require_par,
        "exchange_audiences": c.exchange_audiences,
        "exchange_impersonation": c.exchange_impersonation,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "backchannel_logout_session_required": c.backchannel_logout_session_required,
        "profile": c.profile.map(|p| p.as_str()),
        "token_endpoint_auth_method": c.auth_method_name(),
        "jwks": c.jwks.as_deref().and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok()),
        "jwks_uri": c.jwks_uri,
        // It registered itself (RFC 7591): nobody vetted it.
        "dynamic": c.dynamic,
        // What CORS answers for: the redirect URIs' origins and the web origins.
        "allowed_origins": origins::allowed_origins(c),
        "created_at": c.created_at,
    })
}
