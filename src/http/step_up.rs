//! The account API's second factor: `POST /api/auth/login` answers 403 `mfa_required` with an
//! `mfa_token` when the user has a second factor, and `POST /api/auth/login/mfa` trades that
//! token and a code for the tokens. Also the recency rule of sensitive operations
//! (`require_recent`), answered as RFC 9470 step-up challenges.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::json::Json;
use super::meta::request_meta;
use super::token::token_response;
use crate::identity::mfa::challenge::{self, Holder, NewChallenge};
use crate::identity::mfa::{self, Gate};
use crate::identity::second_factor::{self, CodeOutcome};
use crate::identity::users::User;
use crate::oauth::client::account_client;
use crate::oauth::grants::password::{finish, PasswordEnv, SignedInUser};
use crate::state::AppState;
use crate::store::sessions::SessionRow;
use crate::store::users as user_store;

/// After the password of `/api/auth/login`: the tokens, or 403 `mfa_required` with the handle
/// of a challenge (`mfa_token`, five minutes, single use), or 403 `mfa_enrollment_required`.
pub async fn after_password(
    state: &web::Data<AppState>,
    user: User,
    meta: &crate::identity::RequestMeta,
    now: i64,
) -> Result<HttpResponse, ApiError> {
    let required = state.roles.requires_mfa(&user.role);
    let user_id = user.id.clone();
    let gate = state
        .db
        .run(move |c| {
            let factors = mfa::factors(c, &user_id)?;
            let gate = mfa::gate(mfa::PWD, &factors, required);
            if gate != Gate::SecondFactor {
                return Ok::<_, anyhow::Error>((gate, None));
            }
            let handle = challenge::start(
                c,
                NewChallenge {
                    user_id: &user_id,
                    first_amr: mfa::PWD,
                    request_id: None,
                    enrol: false,
                    holder: Holder::Bearer,
                },
                now,
            )?;
            Ok((gate, Some((handle, factors))))
        })
        .await
        .map_err(ApiError::internal)?;
    match gate {
        (Gate::Pass, _) => issue(state, user, mfa::PWD.to_string(), meta, now).await,
        (Gate::Enrol, _) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "mfa_enrollment_required",
            "this account must set up two-step verification first: sign in in a browser",
        )),
        (Gate::SecondFactor, Some((handle, factors))) => {
            let mut methods = Vec::new();
            if factors.totp {
                methods.push("totp");
            }
            if factors.recovery_codes > 0 {
                methods.push("recovery_code");
            }
            if factors.passkeys > 0 {
                methods.push("passkey");
            }
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "mfa_required",
                "this account has two-step verification: send a code with the mfa_token to /api/auth/login/mfa",
            )
            .with_details(json!({
                "mfa_token": handle,
                "expires_in": challenge::CHALLENGE_TTL_SECS,
                "methods": methods,
            })))
        }
        (Gate::SecondFactor, None) => Err(ApiError::internal(anyhow::anyhow!(
            "a second-factor gate without a challenge"
        ))),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginMfaBody {
    mfa_token: String,
    code: String,
}

/// `POST /api/auth/login/mfa`: `{mfa_token, code}` → the tokens.
#[utoipa::path(post, operation_id = "login_mfa", path = "/api/auth/login/mfa", tag = "account", request_body = LoginMfaBody, security(()), responses((status = 200, description = "The tokens", body = crate::http::account_doc::Tokens)))]
pub async fn login_mfa(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginMfaBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (meta, now) = (request_meta(&req, &state), state.clock.now());
    let handle = body.mfa_token.clone();
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the mfa_token is invalid, expired or already used",
        )
    };
    let found = state
        .db
        .run(move |c| {
            let Some(ch) = challenge::load(c, &handle, None, now)? else {
                return Ok::<_, anyhow::Error>(None);
            };
            Ok(match user_store::find(c, &ch.user_id)? {
                Some(row) if !row.disabled => Some((ch, User::from(&row))),
                _ => None,
            })
        })
        .await
        .map_err(ApiError::internal)?;
    let (ch, user) = found.ok_or_else(invalid)?;
    let code = body.code.trim();
    if code.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is required",
        ));
    }
    check_code(&state, &user, code, &meta, now).await?;
    let handle = body.mfa_token;
    let claimed = state
        .db
        .run(move |c| challenge::finish(c, &handle, now))
        .await
        .map_err(ApiError::internal)?;
    if !claimed {
        return Err(invalid());
    }
    let amr = mfa::with_second(&ch.first_amr, mfa::OTP);
    issue(&state, user, amr, &meta, now).await
}

async fn check_code(
    state: &web::Data<AppState>,
    user: &User,
    code: &str,
    meta: &crate::identity::RequestMeta,
    now: i64,
) -> Result<(), ApiError> {
    let f = second_factor::Factors {
        db: &state.db,
        mailer: &state.mailer,
        settings: &state.settings,
        keys: &state.keys,
    };
    match second_factor::check_code(f, user, code, meta, now)
        .await
        .map_err(ApiError::internal)?
    {
        CodeOutcome::Accepted { .. } => Ok(()),
        CodeOutcome::Wrong => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_code",
            "the code is not right",
        )),
        CodeOutcome::Replayed => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "code_replayed",
            "that code was already used; send the next one",
        )),
        CodeOutcome::Throttled { retry_after } => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many wrong codes; try again later",
        )
        .with_retry_after(retry_after)),
    }
}

async fn issue(
    state: &web::Data<AppState>,
    user: User,
    amr: String,
    meta: &crate::identity::RequestMeta,
    now: i64,
) -> Result<HttpResponse, ApiError> {
    let client = account_client();
    let env = PasswordEnv {
        db: &state.db,
        hasher: &state.hasher,
        settings: &state.settings,
        roles: &state.roles.current(),
        keys: state.keys.current(),
        dpop_jkt: None,
    };
    let scopes = client.scopes.clone();
    let audience = vec![state.settings.issuer.clone()];
    let tokens = finish(
        &env,
        client,
        SignedInUser { user, amr },
        scopes,
        audience,
        meta,
        now,
    )
    .await?;
    crate::metrics::token_issued("password", tokens.access_alg.name());
    Ok(token_response(&tokens))
}

/// A sensitive account operation (changing the password, removing a second factor, creating
/// an API key) needs a recent sign-in, with the second factor when the user has one: otherwise
/// 401 `insufficient_user_authentication` (RFC 9470).
pub async fn require_recent(
    state: &web::Data<AppState>,
    session: &SessionRow,
) -> Result<(), ApiError> {
    let (user_id, now) = (session.user_id.clone(), state.clock.now());
    let factors = state
        .db
        .run(move |c| mfa::factors(c, &user_id))
        .await
        .map_err(ApiError::internal)?;
    mfa::check_recent(session, &factors, now).map_err(ApiError::step_up)
}
