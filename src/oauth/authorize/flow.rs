//! What an authorization request needs next once it is valid: a sign-in, consent, or nothing
//! more (a code). Runs on a database worker; takes `now`.
use std::collections::BTreeSet;

use serde_json::json;

use super::{AuthRequest, Reply};
use crate::identity::audit::{self, Event};
use crate::identity::mfa;
use crate::identity::roles::Roles;
use crate::identity::RequestMeta;
use crate::oauth::{pending, Client, ErrorCode};
use crate::store::authorize::{self as store, CodeRow};
use crate::store::{write_transaction, DbConnection};
use crate::tokens::secret;

pub use crate::identity::browser::SignedIn;

/// Authorization codes live this long (DESIGN §4).
pub const CODE_TTL_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Show the login page.
    Login,
    /// The signed-in session must be stepped up with a second factor (`enrol`: the user must
    /// set one up first). `amr`: the session's methods so far.
    SecondFactor {
        user_id: String,
        amr: String,
        enrol: bool,
    },
    /// Show the consent page for these scopes.
    Consent { scopes: Vec<String> },
    /// Done: deliver this to the client (a code, or `login_required`/`consent_required`).
    Reply(Box<Reply>),
}

/// Decides the next step for `req` given who (if anyone) is signed in on this browser. When
/// nothing is left to ask, the code is issued here.
pub fn next_step(
    conn: &mut DbConnection,
    req: &AuthRequest,
    client: &Client,
    signed_in: Option<&SignedIn>,
    roles: &Roles,
    now: i64,
) -> anyhow::Result<Next> {
    let fresh_login_needed = match signed_in {
        None => true,
        // Signed in on the login page of this very request: prompt=login and max_age are met
        // (max_age is not re-checked while the user reads the consent page).
        Some(s)
            if req
                .authenticated_at
                .is_some_and(|t| s.session.auth_time >= t) =>
        {
            false
        }
        Some(s) => {
            req.prompt.login
                || req
                    .max_age
                    .is_some_and(|max| now - s.session.auth_time > max)
                // OIDC Core §3.1.2.2: the hinted user must be the one signed in.
                || req.hint_subject.as_ref().is_some_and(|sub| *sub != s.user.id)
        }
    };
    let Some(signed_in) = signed_in.filter(|_| !fresh_login_needed) else {
        return Ok(if req.prompt.none {
            reply_error(req, ErrorCode::LoginRequired, "the user is not signed in")
        } else {
            Next::Login
        });
    };
    if mfa_required(Some((req, client)), &signed_in.user.role, roles)
        && !mfa::is_multi_factor(&signed_in.session.amr)
    {
        if req.prompt.none {
            return Ok(reply_error(
                req,
                ErrorCode::InteractionRequired,
                "the sign-in needs a second factor",
            ));
        }
        let factors = mfa::factors(conn, &signed_in.user.id)?;
        return Ok(Next::SecondFactor {
            user_id: signed_in.user.id.clone(),
            amr: signed_in.session.amr.clone(),
            enrol: !factors.any(),
        });
    }
    let scopes = grantable(req, client, &signed_in.user.role, roles);
    // prompt=consent asks even a skip-consent client's users (OIDC Core §3.1.2.1). A client a
    // metadata document defines is asked for every time: its document may have changed hands.
    let consent_needed = req.prompt.consent
        || client.is_metadata_document()
        || (!client.skip_consent && !consent_covers(conn, &signed_in.user.id, client, &scopes)?);
    if !consent_needed {
        let code = issue_code(conn, req, signed_in, &scopes, now)?;
        return Ok(Next::Reply(Box::new(Reply::code(req.reply.clone(), code))));
    }
    if req.prompt.none {
        return Ok(reply_error(
            req,
            ErrorCode::ConsentRequired,
            "the user has not consented to this request",
        ));
    }
    Ok(Next::Consent { scopes })
}

/// Whether a sign-in of a user with `role` (for this request and client, if any) needs a
/// second factor: the role, the client or the request (`acr_values`) says so
/// (`pending::mfa_required`, the rule both flows share).
pub fn mfa_required(request: Option<(&AuthRequest, &Client)>, role: &str, roles: &Roles) -> bool {
    pending::mfa_required(
        request.map(|(_, client)| client),
        request.is_some_and(|(req, _)| req.wants_mfa()),
        role,
        roles,
    )
}

/// The user allowed the request on the consent page: remembers the decision and issues the
/// code. `scopes` are the ones shown (recomputed by the caller from the same request).
pub fn consent_granted(
    conn: &mut DbConnection,
    req: &AuthRequest,
    signed_in: &SignedIn,
    scopes: &[String],
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<Reply> {
    write_transaction(conn, |c| {
        let user_id = &signed_in.user.id;
        let mut remembered: BTreeSet<String> = store::find_consent(c, user_id, &req.client_id)?
            .map(|s| s.split(' ').map(str::to_string).collect())
            .unwrap_or_default();
        remembered.extend(scopes.iter().cloned());
        let joined = remembered.into_iter().collect::<Vec<_>>().join(" ");
        store::save_consent(c, user_id, &req.client_id, joined.trim(), now)?;
        audit::record(
            c,
            Event {
                kind: audit::CONSENT_GRANTED,
                success: true,
                user_id: Some(user_id),
                client_id: Some(&req.client_id),
                meta: Some(meta),
                detail: Some(json!({ "scope": scopes.join(" ") })),
            },
            now,
        )?;
        let code = issue_code(c, req, signed_in, scopes, now)?;
        Ok(Reply::code(req.reply.clone(), code))
    })
}

/// The requested scopes the user's role may grant (`pending::grantable`).
pub fn grantable(req: &AuthRequest, client: &Client, role: &str, roles: &Roles) -> Vec<String> {
    pending::grantable(&req.scopes, client, role, roles)
}

fn consent_covers(
    conn: &mut DbConnection,
    user_id: &str,
    client: &Client,
    scopes: &[String],
) -> anyhow::Result<bool> {
    Ok(match store::find_consent(conn, user_id, &client.id)? {
        Some(stored) => {
            let stored: BTreeSet<&str> = stored.split(' ').collect();
            scopes.iter().all(|s| stored.contains(s.as_str()))
        }
        None => false,
    })
}

fn issue_code(
    conn: &mut DbConnection,
    req: &AuthRequest,
    signed_in: &SignedIn,
    scopes: &[String],
    now: i64,
) -> anyhow::Result<String> {
    let code = secret::new_secret()?;
    store::insert_code(
        conn,
        &CodeRow {
            code_hash: secret::hash_secret(&code),
            client_id: req.client_id.clone(),
            redirect_uri: req.reply.redirect_uri.clone(),
            redirect_uri_given: req.redirect_uri_given,
            scope: scopes.join(" "),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            session_id: signed_in.session.id.clone(),
            user_id: signed_in.user.id.clone(),
            auth_time: signed_in.session.auth_time,
            created_at: now,
            expires_at: now + CODE_TTL_SECS,
            used_at: None,
            access_jti: None,
            access_expires_at: None,
            refresh_token_hash: None,
            resources: crate::oauth::resource::to_stored(&req.resources),
        },
    )?;
    Ok(code)
}

fn reply_error(req: &AuthRequest, code: ErrorCode, description: &str) -> Next {
    Next::Reply(Box::new(Reply::error(req.reply.clone(), code, description)))
}
