//! `/admin/api/keys`: the signing keys (never their private parts) and scheduling a rotation,
//! as `portcullis keys list | rotate` do.
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AdminCaller;
use super::doc::ErrorBody;
use super::users::PageQuery;
use super::{ok, Page, Paged};
use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::state::AppState;
use crate::tokens::keys::{kek, ops, Alg, KeyInfo, KeyStatus, Policy};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list))
        .route("/keys/rotation", web::post().to(rotate));
}

/// A signing key's schedule (seconds since the epoch).
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyView {
    pub kid: String,
    pub alg: String,
    pub generation: i64,
    pub state: KeyState,
    pub created_at: i64,
    /// In the JWKS from then.
    pub published_at: i64,
    /// Signs new tokens from then (its activation).
    pub signs_from: i64,
    /// When a newer key of its algorithm starts signing.
    pub retires_at: Option<i64>,
    /// When it leaves the JWKS.
    pub removed_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Scheduled,
    Pending,
    Active,
    Retired,
    Removed,
}

impl From<KeyInfo> for SigningKeyView {
    fn from(k: KeyInfo) -> Self {
        SigningKeyView {
            kid: k.kid,
            alg: k.alg.name().to_string(),
            generation: k.generation,
            state: match k.status {
                KeyStatus::Scheduled => KeyState::Scheduled,
                KeyStatus::Pending => KeyState::Pending,
                KeyStatus::Active => KeyState::Active,
                KeyStatus::Retired => KeyState::Retired,
                KeyStatus::Removed => KeyState::Removed,
            },
            created_at: k.created_at,
            published_at: k.timeline.published_at,
            signs_from: k.timeline.signs_from,
            retires_at: k.timeline.retires_at,
            removed_at: k.timeline.removed_at,
        }
    }
}

/// A rotation to schedule.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "alg": "RS256", "now": false }))]
pub struct RotationBody {
    /// Only this algorithm (default: each of `keys.algorithms`).
    #[serde(default)]
    pub alg: Option<String>,
    /// Sign with the new key at once (an emergency): resource servers with a cached JWKS
    /// refuse the new tokens until their cache expires.
    #[serde(default)]
    pub now: bool,
}

/// What a rotation did for one algorithm.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotationView {
    /// `scheduled` (a new key), or `already_pending` (one was waiting; nothing new).
    pub outcome: RotationOutcome,
    pub key: SigningKeyView,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RotationOutcome {
    Scheduled,
    AlreadyPending,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rotations {
    pub rotations: Vec<RotationView>,
}

#[utoipa::path(get, operation_id = "keys_list", path = "/admin/api/keys", tag = "keys", params(PageQuery),
    responses((status = 200, description = "The signing keys", body = Paged<SigningKeyView>)))]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::new(query.limit, query.offset)?;
    let policy = Policy::from_settings(&state.settings);
    let now = state.clock.now();
    let keys = state
        .db
        .run(move |c| Ok::<_, ApiError>(ops::list(c, &policy, now)?))
        .await?;
    let all = keys.into_iter().map(SigningKeyView::from).collect();
    Ok(ok(&Paged::slice(all, page)))
}

#[utoipa::path(post, operation_id = "keys_rotate", path = "/admin/api/keys/rotation", tag = "keys", request_body = RotationBody,
    responses((status = 200, description = "What was scheduled, per algorithm", body = Rotations),
        (status = 422, description = "An algorithm this server does not sign with",
            body = ErrorBody)))]
pub async fn rotate(
    caller: AdminCaller,
    state: web::Data<AppState>,
    body: Json<RotationBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let policy = Policy::from_settings(&state.settings);
    let algs = match &body.alg {
        None => policy.algorithms.clone(),
        Some(name) => match name.parse::<Alg>() {
            Ok(alg) if policy.algorithms.contains(&alg) => vec![alg],
            _ => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_alg",
                    format!(
                        "{name:?} is not one of keys.algorithms ({})",
                        policy
                            .algorithms
                            .iter()
                            .map(|a| a.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        },
    };
    let kek = kek::resolve(&state.settings, false)?;
    let now = state.clock.now();
    let done = state
        .db
        .run(move |c| {
            Ok::<_, ApiError>(ops::rotate_audited(
                c,
                &kek,
                &policy,
                &algs,
                body.now,
                &caller.name,
                now,
            )?)
        })
        .await?;
    let rotations = done
        .into_iter()
        .map(|r| match r {
            ops::Rotation::Scheduled(k) => RotationView {
                outcome: RotationOutcome::Scheduled,
                key: k.into(),
            },
            ops::Rotation::AlreadyPending(k) => RotationView {
                outcome: RotationOutcome::AlreadyPending,
                key: k.into(),
            },
        })
        .collect();
    Ok(ok(&Rotations { rotations }))
}
