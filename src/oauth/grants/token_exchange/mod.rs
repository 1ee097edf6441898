//! RFC 8693 token exchange: a confidential client trades a user's token (one of our access
//! tokens, or an ID token we issued to it) for an access token to another audience.
//!
//! The rules, in the order they are checked:
//! - the client may use the grant only with an exchange policy (`client create
//!   --exchange-audience`), else `unauthorized_client` (`Client::allows_grant`);
//! - only access tokens are issued: another `requested_token_type` is `invalid_request`;
//! - the target is every `audience` and `resource` asked for (at least one), each one of the
//!   client's exchange audiences, else `invalid_target` (a `resource` must also be an absolute
//!   URI, RFC 8707);
//! - the subject token is an access token that verifies and is live by the one rule
//!   (`oauth::liveness`), and is a user's, or an ID token we signed for this very client, not
//!   expired, its session live and its user enabled; anything else is `invalid_grant`;
//! - an actor token, when sent, is a live access token issued to this client (its holder acts
//!   through it), else `invalid_grant`;
//! - scopes only narrow: at most the subject token's ∩ the client's, and what the user's role
//!   allows now; asking for more is `invalid_scope`. An ID token carries no scope, so its
//!   exchange grants none: the result only says who the user is, to the target;
//! - delegation by default: the result's `act` names the actor (the actor token's subject, or
//!   the client itself) and the client, with the subject token's own `act` nested inside
//!   (§4.1). Impersonation (no new `act`: the client acts *as* the user) only for a client
//!   with `--exchange-impersonation` that sends no actor token; a chain already in the subject
//!   token stays.
//!
//! The result lives no longer than the subject (and actor) token, keeps the subject's session
//! (`sid`: ending it ends the exchanged token too), and comes without a refresh token.
use serde_json::json;

use super::super::token::{access_token, AccessTokenRequest, Issued, TokenContext};
use super::super::{resource, scope, Client, ErrorCode, OAuthError, Params};
use crate::identity::audit::{self, Event};
use crate::identity::roles::Roles;
use crate::identity::RequestMeta;
use crate::store::DbConnection;
use crate::tokens::{Actor, KeySet};

mod subject;
pub use subject::Subject;
use subject::{actor_token, subject_access_token, subject_id_token};

/// RFC 8693 §3 token type identifiers.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// The longest `act` chain a token may carry (exchanging an exchanged token adds a level).
pub const MAX_ACT_DEPTH: usize = 8;

/// The kinds of subject token we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectType {
    AccessToken,
    IdToken,
}

impl SubjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::AccessToken => ACCESS_TOKEN_TYPE,
            SubjectType::IdToken => ID_TOKEN_TYPE,
        }
    }
}

/// An exchange request, checked for shape and policy (no token looked at yet).
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    pub subject_token: &'a str,
    pub subject_type: SubjectType,
    pub actor_token: Option<&'a str>,
    /// The audiences of the result, in the order asked (`audience`s, then `resource`s).
    pub targets: Vec<String>,
    /// `None`: as much as the subject token allows.
    pub scope: Option<Vec<String>>,
}

fn invalid_grant(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// Reads the request's parameters (RFC 8693 §2.1) against the client's policy.
pub fn parse<'a>(params: &'a Params, client: &Client) -> Result<Request<'a>, OAuthError> {
    if let Some(t) = params.get("requested_token_type") {
        if t != ACCESS_TOKEN_TYPE {
            return Err(OAuthError::invalid_request(format!(
                "requested_token_type {t:?} is not supported; only {ACCESS_TOKEN_TYPE} is issued"
            )));
        }
    }
    let subject_token = params.require("subject_token")?;
    let subject_type = match params.require("subject_token_type")? {
        ACCESS_TOKEN_TYPE => SubjectType::AccessToken,
        ID_TOKEN_TYPE => SubjectType::IdToken,
        other => {
            return Err(OAuthError::invalid_request(format!(
                "subject_token_type {other:?} is not supported (use {ACCESS_TOKEN_TYPE} or \
                 {ID_TOKEN_TYPE})"
            )))
        }
    };
    let actor_token = match (params.get("actor_token"), params.get("actor_token_type")) {
        (None, None) => None,
        (Some(token), Some(ACCESS_TOKEN_TYPE)) => Some(token),
        (Some(_), Some(other)) => {
            return Err(OAuthError::invalid_request(format!(
                "actor_token_type {other:?} is not supported (use {ACCESS_TOKEN_TYPE})"
            )))
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is required with actor_token",
            ))
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is sent without actor_token",
            ))
        }
    };
    let targets = targets(
        params.all("audience"),
        params.all("resource"),
        &client.exchange_audiences,
    )?;
    let scope = params.get("scope").map(scope::parse).transpose()?;
    Ok(Request {
        subject_token,
        subject_type,
        actor_token,
        targets,
        scope,
    })
}

/// The result's audiences: every `audience` (any string) and `resource` (an absolute URI, RFC
/// 8707) asked for, each one the client may exchange for.
pub fn targets(
    audiences: &[String],
    resources: &[String],
    allowed: &[String],
) -> Result<Vec<String>, OAuthError> {
    if audiences.is_empty() && resources.is_empty() {
        return Err(OAuthError::invalid_request(
            "audience or resource is required: the audience to exchange the token for",
        ));
    }
    for r in resources {
        if let Err(why) = resource::check_uri(r) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("resource {why}"),
            ));
        }
    }
    let mut out: Vec<String> = Vec::new();
    for t in audiences.iter().chain(resources) {
        if !allowed.contains(t) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "the client may not exchange tokens for this audience",
            ));
        }
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

/// The scopes of the result: at most `available` (the subject token's ∩ the client's, in the
/// subject's order); any scope outside it is `invalid_scope`.
pub fn scopes(
    requested: Option<Vec<String>>,
    subject: &[String],
    client: &[String],
) -> Result<Vec<String>, OAuthError> {
    let available: Vec<String> = subject
        .iter()
        .filter(|s| client.contains(s))
        .cloned()
        .collect();
    let Some(requested) = requested.filter(|r| !r.is_empty()) else {
        return Ok(available);
    };
    let wider: Vec<&str> = requested
        .iter()
        .filter(|s| !available.contains(s))
        .map(String::as_str)
        .collect();
    if !wider.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "scope wider than the subject token's and the client's: {}",
                wider.join(" ")
            ),
        ));
    }
    Ok(requested)
}

/// The result's `act`: the actor (the actor token's, or the client itself) with the subject
/// token's chain nested inside; for an impersonating client without an actor token, the
/// subject's chain as it is. `Err` when the chain would be longer than `MAX_ACT_DEPTH`.
pub fn act(
    actor: Option<Actor>,
    subject_act: Option<Actor>,
    client: &Client,
) -> Result<Option<Actor>, OAuthError> {
    let chain = match actor {
        None if client.exchange_impersonation => subject_act,
        actor => {
            let mut actor = actor.unwrap_or_else(|| Actor {
                sub: client.id.clone(),
                client_id: client.id.clone(),
                act: None,
            });
            actor.act = subject_act.map(Box::new);
            Some(actor)
        }
    };
    if depth(chain.as_ref()) > MAX_ACT_DEPTH {
        return Err(invalid_grant(
            "the subject token has been exchanged too many times",
        ));
    }
    Ok(chain)
}

fn depth(mut act: Option<&Actor>) -> usize {
    let mut n = 0;
    while let Some(a) = act {
        n += 1;
        act = a.act.as_deref();
    }
    n
}

/// What exchanging needs besides the request.
pub struct ExchangeEnv<'a> {
    pub keys: &'a KeySet,
    pub roles: &'a Roles,
}

/// The grant: the client is authenticated and allowed it (`token::begin`).
pub fn grant(
    conn: &mut DbConnection,
    ctx: &TokenContext,
    env: &ExchangeEnv,
    client: &Client,
    params: &Params,
    meta: &RequestMeta,
    now: i64,
) -> Result<Issued, OAuthError> {
    let request = parse(params, client)?;
    let (subject, user) = match request.subject_type {
        SubjectType::AccessToken => {
            subject_access_token(conn, env.keys, ctx.issuer, request.subject_token, now)?
        }
        SubjectType::IdToken => subject_id_token(
            conn,
            env.keys,
            ctx.issuer,
            &client.id,
            request.subject_token,
            now,
        )?,
    };
    let (actor, actor_exp) = match request.actor_token {
        Some(token) => {
            let (actor, exp) = actor_token(conn, env.keys, ctx.issuer, client, token, now)?;
            (Some(actor), Some(exp))
        }
        None => (None, None),
    };
    let mut scopes = scopes(request.scope, &subject.scopes, &client.scopes)?;
    // Permissions are re-read, as at a refresh: a role changed since shows at once.
    scopes.retain(|s| env.roles.may_grant(&user.role, s));
    let impersonating = actor.is_none() && client.exchange_impersonation;
    let act = act(actor, subject.act.clone(), client)?;
    // For the audit: the new actor, `None` when the client impersonates the user.
    let new_actor = match (&act, impersonating) {
        (Some(a), false) => Some(a.sub.clone()),
        _ => None,
    };
    let mut issued = access_token(
        ctx,
        client,
        AccessTokenRequest {
            subject: &subject.sub,
            audiences: request.targets.clone(),
            scopes,
            auth_time: subject.auth_time,
            roles: Some(vec![user.role.clone()]),
            sid: subject.sid.clone(),
            jti: None,
        },
        now,
    )?;
    // Never longer than the tokens it came from.
    let exp = [Some(issued.access.exp), Some(subject.exp), actor_exp]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(issued.access.exp);
    issued.access.exp = exp;
    issued.expires_in = exp - now;
    issued.access.act = act;
    issued.issued_token_type = Some(ACCESS_TOKEN_TYPE);
    audit::record(
        conn,
        Event {
            kind: audit::TOKEN_EXCHANGED,
            success: true,
            user_id: Some(&subject.sub),
            client_id: Some(&client.id),
            meta: Some(meta),
            detail: Some(json!({
                "subject_token_type": request.subject_type.as_str(),
                // `null`: the client impersonates the user.
                "actor": new_actor,
                "audience": request.targets,
                "scope": issued.scopes.join(" "),
            })),
        },
        now,
    )?;
    Ok(issued)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
