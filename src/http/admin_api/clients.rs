//! `/admin/api/clients`: list and search, read, create (the settings of `client create`), replace,
//! delete, rotate the secret. Clients that registered themselves (RFC 7591) or are defined by a
//! client metadata document are listed, read and deleted here, but not replaced (409
//! `not_managed`): their metadata is their own.
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::AdminCaller;
use super::doc::ErrorBody;
use super::{id, ok, query_text, Page, Paged};
use crate::declarative::diff::is_managed;
use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::oauth::admin_clients::{self, Limits};
use crate::oauth::client::{Client, ClientStore};
use crate::oauth::registration::{ClientSpec, Registered};
use crate::state::AppState;
use crate::store::clients as client_store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/clients", web::get().to(list))
        .route("/clients", web::post().to(create))
        .route("/clients/{id}", web::get().to(get))
        .route("/clients/{id}", web::put().to(replace))
        .route("/clients/{id}", web::delete().to(delete))
        .route("/clients/{id}/secret", web::post().to(rotate_secret));
}

/// A client's settings, under the names of `portcullis client create`'s flags.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    /// `managed` (the operator's), `dynamic` (registered itself) or `metadata_document`.
    pub kind: ClientKind,
    pub public: bool,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub audiences: Vec<String>,
    pub skip_consent: bool,
    pub access_token_ttl_secs: Option<i64>,
    pub can_introspect: bool,
    pub pkce_optional: bool,
    pub web_origins: Vec<String>,
    pub token_alg: Option<String>,
    pub id_token_alg: Option<String>,
    pub require_mfa: bool,
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126: its authorization requests must be pushed.
    pub require_par: bool,
    pub exchange_audiences: Vec<String>,
    pub exchange_impersonation: bool,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// The security profile: `fapi2` (FAPI 2.0 Security Profile) or null.
    pub profile: Option<String>,
    /// `private_key_jwt` (RFC 7523), `client_secret_basic` or `none`.
    pub token_endpoint_auth_method: String,
    /// Its public keys by value (a JWKS).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where its public keys are fetched from.
    pub jwks_uri: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    Managed,
    Dynamic,
    MetadataDocument,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        let kind = if c.is_metadata_document() {
            ClientKind::MetadataDocument
        } else if c.dynamic {
            ClientKind::Dynamic
        } else {
            ClientKind::Managed
        };
        ClientView {
            client_id: c.id.clone(),
            name: c.name.clone(),
            kind,
            public: c.public,
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.label().to_string())
                .collect(),
            scopes: c.scopes.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            audiences: c.audiences.clone(),
            skip_consent: c.skip_consent,
            access_token_ttl_secs: c.access_token_ttl_secs,
            can_introspect: c.can_introspect,
            pkce_optional: !c.public && !c.pkce_required,
            web_origins: c.web_origins.clone(),
            token_alg: c.access_token_alg.map(|a| a.name().to_string()),
            id_token_alg: c.id_token_alg.map(|a| a.name().to_string()),
            require_mfa: c.require_mfa,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            require_par: c.require_par,
            exchange_audiences: c.exchange_audiences.clone(),
            exchange_impersonation: c.exchange_impersonation,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            profile: c.profile.map(|p| p.as_str().to_string()),
            token_endpoint_auth_method: c.auth_method_name().to_string(),
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: c.jwks_uri.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A client's settings to create or replace it with (`client create`'s flags); every one but
/// `name` may be left out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "reports", "grant_types": ["client_credentials"], "scopes": ["read"],
    "audiences": ["https://api.example.com"]
}))]
pub struct ClientBody {
    pub name: String,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub skip_consent: bool,
    #[serde(default)]
    pub access_token_ttl_secs: Option<i64>,
    #[serde(default)]
    pub can_introspect: bool,
    #[serde(default)]
    pub pkce_optional: bool,
    #[serde(default)]
    pub web_origins: Vec<String>,
    #[serde(default)]
    pub token_alg: Option<String>,
    #[serde(default)]
    pub id_token_alg: Option<String>,
    #[serde(default)]
    pub require_mfa: bool,
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    #[serde(default)]
    pub require_par: bool,
    #[serde(default)]
    pub exchange_audiences: Vec<String>,
    #[serde(default)]
    pub exchange_impersonation: bool,
    #[serde(default)]
    pub private_use_redirects: bool,
    /// OIDC Back-Channel Logout: where logout tokens are POSTed when a session ends.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// `fapi2`: the FAPI 2.0 Security Profile's rules (confidential only; PAR, PKCE S256,
    /// DPoP; PS256/ES256/EdDSA tokens). Absent, null or `none`: no profile.
    #[serde(default)]
    pub profile: Option<String>,
    /// `private_key_jwt` (RFC 7523: no secret; needs `jwks` or `jwks_uri`); absent: a secret
    /// (confidential) or none (public).
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys by value (a JWKS object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where the client's public keys are fetched from (https).
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

impl ClientBody {
    fn spec(self) -> ClientSpec {
        ClientSpec {
            name: self.name,
            grant_types: self.grant_types,
            scopes: self.scopes,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            audiences: self.audiences,
            public: self.public,
            skip_consent: self.skip_consent,
            access_token_ttl_secs: self.access_token_ttl_secs,
            can_introspect: self.can_introspect,
            pkce_optional: self.pkce_optional,
            web_origins: self.web_origins,
            token_alg: self.token_alg,
            id_token_alg: self.id_token_alg,
            require_mfa: self.require_mfa,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            exchange_audiences: self.exchange_audiences,
            exchange_impersonation: self.exchange_impersonation,
            private_use_redirects: self.private_use_redirects,
            dynamic: false,
            require_par: self.require_par,
            backchannel_logout_uri: self.backchannel_logout_uri,
            backchannel_logout_session_required: self.backchannel_logout_session_required,
            profile: self.profile,
            auth_method: self.token_endpoint_auth_method,
            jwks: self.jwks.map(|j| j.to_string()),
            jwks_uri: self.jwks_uri,
        }
    }
}

/// A client as stored, and its secret in clear when one was just made (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

impl From<Registered> for ClientWithSecret {
    fn from(r: Registered) -> Self {
        ClientWithSecret {
            client: ClientView::from(&r.client),
            client_secret: r.secret,
        }
    }
}

/// A confidential client's new secret (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientQuery {
    /// Text the client id or name contains (any case).
    q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
}

#[utoipa::path(get, operation_id = "clients_list", path = "/admin/api/clients", tag = "clients", params(ClientQuery),
    responses((status = 200, description = "One page of clients", body = Paged<ClientView>)))]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<ClientQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = Page::new(query.limit, query.offset)?;
    let q = query_text(query.q, "q")?;
    let (rows, total) = state
        .db
        .run(move |c| {
            let (rows, total) = client_store::search(c, q.as_deref(), page.offset, page.limit)?;
            let clients = rows
                .into_iter()
                .map(Client::try_from)
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok::<_, ApiError>((clients, total))
        })
        .await?;
    let items = rows.iter().map(ClientView::from).collect();
    Ok(ok(&Paged::of(items, total, page)))
}

#[utoipa::path(get, operation_id = "clients_get", path = "/admin/api/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The client", body = ClientView),
        (status = 404, description = "No such client", body = ErrorBody)))]
pub async fn get(
    _: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "client")?;
    let client = state
        .db
        .run(move |c| Ok::<_, ApiError>(c.find_client(&id)?))
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    Ok(ok(&ClientView::from(&client)))
}

#[utoipa::path(post, operation_id = "clients_create", path = "/admin/api/clients", tag = "clients", request_body = ClientBody,
    responses((status = 201, description = "The new client and its secret (shown once)",
            body = ClientWithSecret),
        (status = 422, description = "Invalid settings, each problem listed", body = ErrorBody)))]
pub async fn create(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: Json<ClientBody>,
) -> Result<HttpResponse, ApiError> {
    let spec = body.into_inner().spec();
    let limits = Limits::from_settings(&state.settings);
    let now = state.clock.now();
    let registered = state
        .db
        .run(move |c| {
            admin_clients::create(c, &spec, &limits, &caller.name, now)
                .map_err(ApiError::client_change)
        })
        .await?;
    Ok(HttpResponse::Created().json(ClientWithSecret::from(registered)))
}

#[utoipa::path(put, operation_id = "clients_replace", path = "/admin/api/clients/{id}", tag = "clients", request_body = ClientBody,
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The client as stored (its id, secret, kind and \
            creation time stay)", body = ClientView),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 409, description = "The client registered itself or is defined by a \
            metadata document", body = ErrorBody),
        (status = 422, description = "Invalid settings, or a change between public and \
            confidential; each problem listed", body = ErrorBody)))]
pub async fn replace(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: Json<ClientBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "client")?;
    let spec = body.into_inner().spec();
    let limits = Limits::from_settings(&state.settings);
    let now = state.clock.now();
    let stored = state
        .db
        .run(move |c| {
            match c.find_client(&id)? {
                None => return Err(ApiError::not_found("client")),
                Some(before) if !is_managed(&before) => return Err(not_managed()),
                Some(_) => {}
            }
            admin_clients::update(c, &id, &spec, &limits, &caller.name, now)
                .map_err(ApiError::client_change)?
                .ok_or_else(|| ApiError::not_found("client"))
        })
        .await?;
    Ok(ok(&ClientView::from(&stored.0)))
}

fn not_managed() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::CONFLICT,
        "not_managed",
        "this client registered itself or is defined by a metadata document: its settings are \
         its own (delete it instead)",
    )
}

#[utoipa::path(delete, operation_id = "clients_delete", path = "/admin/api/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 409, description = "A service client may not delete itself", body = ErrorBody)))]
pub async fn delete(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "client")?;
    let now = state.clock.now();
    let deleted = state
        .db
        .run(move |c| {
            admin_clients::delete(c, &id, &caller.name, now).map_err(ApiError::client_change)
        })
        .await?;
    if !deleted {
        return Err(ApiError::not_found("client"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, operation_id = "clients_rotate_secret", path = "/admin/api/clients/{id}/secret", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "The new secret (shown once); the old one stops \
            working at once here, and on other instances within `clients.cache_refresh_ms`", body = NewSecret),
        (status = 404, description = "No such confidential client", body = ErrorBody)))]
pub async fn rotate_secret(
    caller: AdminCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id(path, "confidential client")?;
    let now = state.clock.now();
    let client_id = id.clone();
    let secret = state
        .db
        .run(move |c| Ok::<_, ApiError>(admin_clients::rotate_secret(c, &id, &caller.name, now)?))
        .await?
        .ok_or_else(|| ApiError::not_found("confidential client"))?;
    Ok(ok(&NewSecret {
        client_id,
        client_secret: secret,
    }))
}
