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
use super::super::{liveness, resource, scope, Client, ErrorCode, OAuthError, Params};
use crate::identity::audit::{self, Event};
use crate::identity::roles::Roles;
use crate::identity::RequestMeta;
use crate::store::users::UserRow;
use crate::store::DbConnection;
use crate::tokens::{self, AccessTokenClaims, Actor, KeySet};

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

/// Who the token is for, as the subject token says.
#[derive(Debug, Clone)]
pub struct Subject {
    pub sub: String,
    pub scopes: Vec<String>,
    pub exp: i64,
    pub auth_time: Option<i64>,
    pub sid: Option<String>,
    pub act: Option<Actor>,
}

fn split_scope(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// One of our access tokens, whatever its audience, live by the one rule.
fn live_access_token(
    conn: &mut DbConnection,
    keys: &KeySet,
    issuer: &str,
    token: &str,
    what: &str,
    now: i64,
) -> Result<(AccessTokenClaims, liveness::Live), OAuthError> {
    let claims = tokens::verify_access_token(keys, token, issuer, |_| true, now)
        .map_err(|e| invalid_grant(format!("the {what} is invalid: {e}")))?;
    match liveness::access_token(conn, &claims, now)? {
        Ok(live) => Ok((claims, live)),
        Err(dead) => Err(invalid_grant(format!("the {what} is not live: {dead}"))),
    }
}

fn subject_access_token(
    conn: &mut DbConnection,
    keys: &KeySet,
    issuer: &str,
    token: &str,
    now: i64,
) -> Result<(Subject, UserRow), OAuthError> {
    let (claims, live) = live_access_token(conn, keys, issuer, token, "subject_token", now)?;
    let Some(user) = live.user else {
        return Err(invalid_grant(
            "the subject_token is a client's own token; only a user's token can be exchanged",
        ));
    };
    let subject = Subject {
        scopes: split_scope(claims.scope.as_deref()),
        sub: claims.sub,
        exp: claims.exp,
        auth_time: claims.auth_time,
        sid: claims.sid,
        act: claims.act,
    };
    Ok((subject, user))
}

/// An ID token we signed (`typ: JWT`, our issuer) for `client_id`, live by the ID-token rule.
fn subject_id_token(
    conn: &mut DbConnection,
    keys: &KeySet,
    issuer: &str,
    client_id: &str,
    token: &str,
    now: i64,
) -> Result<(Subject, UserRow), OAuthError> {
    let invalid = |why: &str| invalid_grant(format!("the subject_token is invalid: {why}"));
    let (header, payload) =
        tokens::verify_signature(keys, token).map_err(|_| invalid("its signature is invalid"))?;
    // Access tokens are signed by the same keys, as `at+jwt`; an ID token is `JWT`.
    if header.get("typ").and_then(|t| t.as_str()) != Some("JWT") {
        return Err(invalid("it is not an ID token"));
    }
    tokens::check_not_before(&payload, now).map_err(|e| invalid(e.0))?;
    let claims: crate::oidc::id_token::IdTokenClaims =
        serde_json::from_value(payload).map_err(|_| invalid("its claims are malformed"))?;
    if claims.iss != issuer {
        return Err(invalid("it is from another issuer"));
    }
    // An ID token is an assertion for its audience only (OIDC Core §3.1.3.7): a client
    // exchanges the ones it received itself, never one another client showed it.
    if claims.aud != client_id {
        return Err(invalid("it was issued to another client"));
    }
    let user = match liveness::id_token(conn, &claims.sub, claims.sid.as_deref(), claims.exp, now)?
    {
        Ok(live) => live.user,
        Err(dead) => {
            return Err(invalid_grant(format!(
                "the subject_token is not live: {dead}"
            )))
        }
    };
    let user = user.ok_or_else(|| invalid("it names no user"))?;
    let subject = Subject {
        sub: claims.sub,
        scopes: Vec::new(),
        exp: claims.exp,
        auth_time: Some(claims.auth_time),
        sid: claims.sid,
        act: None,
    };
    Ok((subject, user))
}

/// The actor token: a live access token issued to this client; the actor is its subject.
fn actor_token(
    conn: &mut DbConnection,
    keys: &KeySet,
    issuer: &str,
    client: &Client,
    token: &str,
    now: i64,
) -> Result<(Actor, i64), OAuthError> {
    let (claims, _) = live_access_token(conn, keys, issuer, token, "actor_token", now)?;
    if claims.client_id != client.id {
        return Err(invalid_grant(
            "the actor_token was issued to another client",
        ));
    }
    let actor = Actor {
        sub: claims.sub,
        client_id: client.id.clone(),
        act: None,
    };
    Ok((actor, claims.exp))
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
mod tests {
    use super::*;

    fn client(audiences: &[&str], impersonation: bool) -> Client {
        let mut c = crate::oauth::client::account_client();
        c.id = "svc".into();
        c.public = false;
        c.scopes = vec!["read".into(), "write".into(), "chat".into()];
        c.exchange_audiences = audiences.iter().map(|a| a.to_string()).collect();
        c.exchange_impersonation = impersonation;
        c
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied(), crate::oauth::token::REPEATABLE).unwrap()
    }

    const BASE: [(&str, &str); 3] = [
        ("grant_type", crate::oauth::client::TOKEN_EXCHANGE_URN),
        ("subject_token", "a.b.c"),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        BASE.iter().chain(extra).copied().collect()
    }

    fn code(r: Result<Request, OAuthError>) -> ErrorCode {
        r.unwrap_err().code()
    }

    #[test]
    fn parses_a_request_and_its_targets() {
        let c = client(&["orders", "https://api.example/"], false);
        let p = params(&with(&[
            ("audience", "orders"),
            ("resource", "https://api.example/"),
            ("audience", "orders"),
            ("scope", "read"),
        ]));
        let r = parse(&p, &c).unwrap();
        assert_eq!(r.subject_token, "a.b.c");
        assert_eq!(r.subject_type, SubjectType::AccessToken);
        assert_eq!(r.actor_token, None);
        assert_eq!(r.targets, ["orders", "https://api.example/"]);
        assert_eq!(r.scope, Some(vec!["read".to_string()]));
        let p = params(&with(&[
            ("audience", "orders"),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
            ("actor_token", "x.y.z"),
            ("actor_token_type", ACCESS_TOKEN_TYPE),
        ]));
        assert_eq!(parse(&p, &c).unwrap().actor_token, Some("x.y.z"));
    }

    #[test]
    fn refuses_what_it_does_not_issue_or_understand() {
        let c = client(&["orders"], false);
        let bad = |extra: &[(&'static str, &'static str)]| code(parse(&params(&with(extra)), &c));
        let refresh = "urn:ietf:params:oauth:token-type:refresh_token";
        assert_eq!(
            bad(&[("audience", "orders"), ("requested_token_type", refresh)]),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            bad(&[("audience", "orders"), ("actor_token", "x.y.z")]),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            bad(&[
                ("audience", "orders"),
                ("actor_token_type", ACCESS_TOKEN_TYPE)
            ]),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            bad(&[
                ("audience", "orders"),
                ("actor_token", "x.y.z"),
                ("actor_token_type", ID_TOKEN_TYPE)
            ]),
            ErrorCode::InvalidRequest
        );
        assert_eq!(bad(&[]), ErrorCode::InvalidRequest);
        let saml = params(&[
            ("subject_token", "x"),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:saml2",
            ),
            ("audience", "orders"),
        ]);
        assert_eq!(code(parse(&saml, &c)), ErrorCode::InvalidRequest);
        let missing = params(&[("subject_token", "x"), ("audience", "orders")]);
        assert_eq!(code(parse(&missing, &c)), ErrorCode::InvalidRequest);
    }

    #[test]
    fn targets_must_be_in_the_policy() {
        let allowed = vec!["orders".to_string(), "https://api.example/".to_string()];
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(targets(&s(&["orders"]), &[], &allowed).unwrap(), ["orders"]);
        let err = |a: &[&str], r: &[&str]| targets(&s(a), &s(r), &allowed).unwrap_err().code();
        assert_eq!(err(&["billing"], &[]), ErrorCode::InvalidTarget);
        assert_eq!(err(&["orders", "billing"], &[]), ErrorCode::InvalidTarget);
        assert_eq!(
            err(&[], &["https://other.example/"]),
            ErrorCode::InvalidTarget
        );
        // A resource is a URI; an audience name is not one.
        assert_eq!(err(&[], &["orders"]), ErrorCode::InvalidTarget);
        assert_eq!(err(&[], &[]), ErrorCode::InvalidRequest);
    }

    #[test]
    fn scopes_only_narrow() {
        let s = |v: &str| v.split(' ').map(String::from).collect::<Vec<_>>();
        let client = s("read write");
        assert_eq!(scopes(None, &s("read chat"), &client).unwrap(), ["read"]);
        assert_eq!(
            scopes(Some(s("read")), &s("read write"), &client).unwrap(),
            ["read"]
        );
        assert_eq!(
            scopes(Some(vec![]), &s("write"), &client).unwrap(),
            ["write"]
        );
        // Wider than the subject, or than the client: refused, never silently dropped.
        for (asked, subject) in [("read write", "read"), ("read chat", "read chat")] {
            assert_eq!(
                scopes(Some(s(asked)), &s(subject), &client)
                    .unwrap_err()
                    .code(),
                ErrorCode::InvalidScope
            );
        }
        // An ID token has no scope: nothing to ask for.
        assert!(scopes(None, &[], &client).unwrap().is_empty());
        assert_eq!(
            scopes(Some(s("read")), &[], &client).unwrap_err().code(),
            ErrorCode::InvalidScope
        );
    }

    fn actor(sub: &str, client_id: &str, act: Option<Actor>) -> Actor {
        Actor {
            sub: sub.into(),
            client_id: client_id.into(),
            act: act.map(Box::new),
        }
    }

    #[test]
    fn delegation_names_the_actor_and_nests_the_chain() {
        let delegating = client(&["orders"], false);
        // No actor token: the client itself acts.
        assert_eq!(
            act(None, None, &delegating).unwrap(),
            Some(actor("svc", "svc", None))
        );
        // An earlier delegation nests inside (RFC 8693 §4.1).
        let earlier = actor("gateway", "gateway", None);
        assert_eq!(
            act(None, Some(earlier.clone()), &delegating).unwrap(),
            Some(actor("svc", "svc", Some(earlier.clone())))
        );
        // An actor token's subject acts through the client.
        assert_eq!(
            act(
                Some(actor("admin", "svc", None)),
                Some(earlier.clone()),
                &delegating
            )
            .unwrap(),
            Some(actor("admin", "svc", Some(earlier)))
        );
    }

    #[test]
    fn impersonation_only_with_the_flag_and_without_an_actor_token() {
        let impersonating = client(&["orders"], true);
        assert_eq!(act(None, None, &impersonating).unwrap(), None);
        // A chain already there is not erased.
        let earlier = actor("gateway", "gateway", None);
        assert_eq!(
            act(None, Some(earlier.clone()), &impersonating).unwrap(),
            Some(earlier)
        );
        // With an actor token it is delegation.
        assert_eq!(
            act(Some(actor("admin", "svc", None)), None, &impersonating).unwrap(),
            Some(actor("admin", "svc", None))
        );
    }

    #[test]
    fn chains_are_bounded() {
        let c = client(&["orders"], false);
        let mut chain = None;
        for _ in 0..MAX_ACT_DEPTH - 1 {
            chain = act(None, chain, &c).unwrap();
        }
        assert_eq!(depth(chain.as_ref()), MAX_ACT_DEPTH - 1);
        let full = act(None, chain, &c).unwrap();
        assert_eq!(depth(full.as_ref()), MAX_ACT_DEPTH);
        assert_eq!(
            act(None, full, &c).unwrap_err().code(),
            ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn act_claims_serialise_as_rfc_8693_shows() {
        let a = actor("svc", "svc", Some(actor("gateway", "gw", None)));
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({ "sub": "svc", "client_id": "svc",
                    "act": { "sub": "gateway", "client_id": "gw" } })
        );
    }
}
