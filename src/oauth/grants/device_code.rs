//! RFC 8628 §3.4-3.5: a device polls `/token` with its device_code. The answer comes from the
//! state machine in `oauth::device::poll`; every poll is recorded by a compare-and-set on the
//! time of the previous one (two concurrent polls: one is `slow_down`), and the tokens go to
//! the one poll that claims the approved request. They are issued as for an authorization code
//! (`user::issue_for_session`): the approving browser session, a refresh token when the client
//! may refresh, an ID token with `openid`.
use super::super::device::poll::{self, Answer, PollState, Status};
use super::super::token::{Issued, TokenContext};
use super::super::{resource, Client, ErrorCode, OAuthError, Params};
use super::user::{self, SessionGrant};
use crate::identity::users::User;
use crate::identity::RequestMeta;
use crate::store::device as store;
use crate::store::sessions as session_store;
use crate::store::{users, write_transaction, DbConnection};
use crate::tokens::secret;

fn refuse(code: ErrorCode) -> OAuthError {
    let description = match code {
        ErrorCode::AuthorizationPending => "the user has not approved the request yet",
        ErrorCode::SlowDown => {
            "polling too fast: wait 5 seconds longer between requests from now on"
        }
        ErrorCode::AccessDenied => "the user denied the request",
        ErrorCode::ExpiredToken => "the device code has expired; start again",
        _ => "the device code was already used",
    };
    OAuthError::new(code, description)
}

fn invalid(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

pub fn grant(
    conn: &mut DbConnection,
    ctx: &TokenContext,
    client: &Client,
    params: &Params,
    meta: &RequestMeta,
    now: i64,
) -> Result<Issued, OAuthError> {
    let device_code = params.require("device_code")?;
    // Nothing bound at /device_authorization: the poll's own resource, checked as for any grant.
    let audiences = resource::audiences(
        params.all("resource"),
        &[],
        client,
        ctx.shared_resources,
        ctx.default_audience,
    )?;
    let hash = secret::hash_secret(device_code);
    // Ok(Err(..)): a refusal whose record of the poll must be committed.
    write_transaction(conn, |c| {
        let Some(row) = store::find(c, &hash)? else {
            return Ok(Err(invalid("unknown device_code")));
        };
        if row.client_id != client.id {
            return Ok(Err(invalid("the device_code was issued to another client")));
        }
        let outcome = poll::decide(
            &PollState {
                status: Status::parse(&row.status),
                interval_secs: row.interval_secs,
                last_polled_at: row.last_polled_at,
                expires_at: row.expires_at,
            },
            now,
        );
        if let Some(interval) = outcome.record_interval {
            if !store::record_poll(c, &hash, row.last_polled_at, now, interval)? {
                // Another poll was recorded since this one read the row: too fast.
                return Ok(Err(refuse(ErrorCode::SlowDown)));
            }
        }
        if let Answer::Refuse(code) = outcome.answer {
            return Ok(Err(refuse(code)));
        }
        if !store::claim(c, &hash, now)? {
            return Ok(Err(refuse(ErrorCode::InvalidGrant)));
        }
        let (Some(user_id), Some(session_id), Some(auth_time)) =
            (&row.user_id, &row.session_id, row.auth_time)
        else {
            return Err(anyhow::anyhow!(
                "an approved device request has no approver"
            ));
        };
        let session = match session_store::find_session(c, session_id)? {
            Some(s) if s.ended_at.is_none() && s.expires_at > now => s,
            _ => {
                return Ok(Err(invalid(
                    "the sign-in that approved this device has ended",
                )))
            }
        };
        let user = match users::find(c, user_id)? {
            Some(u) if !u.disabled => User::from(&u),
            _ => return Ok(Err(invalid("the account is disabled"))),
        };
        // The scopes the client still has (its registration may have changed meanwhile).
        let scope = row
            .scope
            .split(' ')
            .filter(|s| client.scopes.iter().any(|allowed| allowed == s))
            .collect::<Vec<_>>()
            .join(" ");
        let issued = user::issue_for_session(
            c,
            ctx,
            SessionGrant {
                client,
                user: &user,
                session: &session,
                auth_time,
                scope: &scope,
                audiences,
                // RFC 8628 requests name no resource: the family is bound to none.
                resources: &[],
                nonce: None,
                grant: "device_code",
                meta,
            },
            now,
        )?;
        Ok::<_, anyhow::Error>(Ok(issued))
    })?
}
