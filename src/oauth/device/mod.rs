//! The device authorization grant (RFC 8628), free of HTTP. A device without a browser (a TV, a
//! CLI) asks for a pair of codes ([`start`]); the user signs in on another device, types the
//! user code on `/device` ([`find`]) and approves or denies ([`decide`]); meanwhile the device
//! polls `/token` (`grants::device_code`, with the state machine of [`poll`]). Its steps are
//! those of the pending-request lifecycle (`oauth::pending`): created here, loaded and
//! re-checked by user code ([`pending::recheck`]), authenticated by the browser that enters the
//! code (with [`pending::mfa_required`]), finished by the decision and the one poll that claims
//! it. Both codes are stored only as SHA-256 hashes.
pub mod poll;
pub mod user_code;

use serde::Serialize;
use serde_json::json;

use super::{pending, scope, Client, ClientStore, ErrorCode, GrantType, OAuthError};
use crate::config::LockoutSettings;
use crate::identity::audit::{self, Event};
use crate::identity::browser::SignedIn;
use crate::identity::guesses::Guess;
use crate::identity::mfa;
use crate::identity::roles::Roles;
use crate::identity::RequestMeta;
use crate::store::device::{self as store, Decision, DeviceRow};
use crate::store::{write_transaction, DbConnection};
use crate::tokens::secret;
use poll::Status;

/// The path of the verification page.
pub const VERIFICATION_PATH: &str = "/device";

/// What starting a device request needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct DeviceConfig<'a> {
    pub issuer: &'a str,
    pub lifetime_secs: i64,
    pub interval_secs: i64,
}

impl<'a> DeviceConfig<'a> {
    pub fn from_settings(s: &'a crate::config::Settings) -> DeviceConfig<'a> {
        DeviceConfig {
            issuer: &s.issuer,
            lifetime_secs: s.clients.device_code_lifetime_secs,
            interval_secs: s.clients.device_poll_interval_secs,
        }
    }
}

/// RFC 8628 §3.2: the device authorization response.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Started {
    pub device_code: String,
    /// Grouped for reading (`BCDF-GHJK`).
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// RFC 8628 §3.1-3.2: a new device request for an authenticated `client`. The scopes are
/// checked as at `/authorize` (`invalid_scope`), the client must have the grant
/// (`unauthorized_client`).
pub fn start(
    c: &mut DbConnection,
    cfg: DeviceConfig,
    client: &Client,
    requested_scope: Option<&str>,
    now: i64,
) -> Result<Started, OAuthError> {
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client is not allowed the device authorization grant",
        ));
    }
    let scopes = scope::grant(requested_scope, &client.scopes)?;
    let device_code = secret::new_secret()?;
    // A user code may collide with a stored one (20⁸ codes): draw again.
    for _ in 0..8 {
        let code = user_code::generate()?;
        let row = DeviceRow {
            device_code_hash: secret::hash_secret(&device_code),
            user_code_hash: user_code::hash(&code),
            client_id: client.id.clone(),
            scope: scopes.join(" "),
            status: Status::Pending.as_str().to_string(),
            interval_secs: cfg.interval_secs,
            last_polled_at: None,
            user_id: None,
            session_id: None,
            auth_time: None,
            decided_at: None,
            created_at: now,
            expires_at: now + cfg.lifetime_secs,
        };
        if store::insert(c, &row)? {
            let shown = user_code::display(&code);
            let verification_uri = format!("{}{VERIFICATION_PATH}", cfg.issuer);
            return Ok(Started {
                device_code,
                verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
                verification_uri,
                user_code: shown,
                expires_in: cfg.lifetime_secs,
                interval: cfg.interval_secs,
            });
        }
    }
    Err(OAuthError::Internal(anyhow::anyhow!(
        "no free user code after 8 draws"
    )))
}

/// A request waiting for the signed-in user's decision, as the page shows it.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The code, grouped (`BCDF-GHJK`).
    pub user_code: String,
    pub client: Client,
    /// What approving grants: the requested scopes the user's role may grant.
    pub scopes: Vec<String>,
    /// The sign-in must be stepped up with a second factor before approving.
    pub needs_second_factor: bool,
    device_code_hash: String,
}

/// What a typed user code led to.
#[derive(Debug, Clone)]
pub enum Found {
    Request(Box<Waiting>),
    /// Not a live code waiting for a decision (wrong, expired, decided, or its client gone).
    Wrong,
    /// Too many wrong codes from this address or for this user.
    Throttled {
        retry_after: i64,
    },
}

/// What [`find`] and [`decide`] need besides the connection.
pub struct Env<'a> {
    pub lockout: &'a LockoutSettings,
    pub roles: &'a Roles,
}

/// Looks up the request a signed-in user typed the code of. Every lookup of a well-formed code
/// is a guess under `Guess::user_code` (reserved before the lookup, kept when wrong; a right
/// code costs nothing, but doesn't clear the failures either).
pub fn find(
    c: &mut DbConnection,
    env: &Env,
    who: &SignedIn,
    typed: &str,
    ip: Option<&str>,
    now: i64,
) -> anyhow::Result<Found> {
    let Some(code) = user_code::normalize(typed) else {
        return Ok(Found::Wrong);
    };
    let guess = Guess::user_code(env.lockout, ip, &who.user.id);
    let found = write_transaction(c, |c| {
        if let Err(retry_after) = guess.reserve(c, now)? {
            // Rolled back: a refused guess takes no slot.
            return Err(Abort::Throttled(retry_after));
        }
        match lookup(c, &code, now)? {
            Some((row, client, requested)) => {
                guess.not_checked(c)?;
                let role = &who.user.role;
                Ok(Found::Request(Box::new(Waiting {
                    user_code: user_code::display(&code),
                    scopes: pending::grantable(&requested, &client, role, env.roles),
                    needs_second_factor: pending::mfa_required(
                        Some(&client),
                        false,
                        role,
                        env.roles,
                    ) && !mfa::is_multi_factor(&who.session.amr),
                    client,
                    device_code_hash: row.device_code_hash,
                })))
            }
            None => {
                guess.failed(c, now)?;
                Ok(Found::Wrong)
            }
        }
    });
    match found {
        Ok(found) => Ok(found),
        Err(Abort::Throttled(retry_after)) => Ok(Found::Throttled { retry_after }),
        Err(Abort::Internal(e)) => Err(e),
    }
}

enum Abort {
    Throttled(i64),
    Internal(anyhow::Error),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Internal(e.into())
    }
}

impl From<anyhow::Error> for Abort {
    fn from(e: anyhow::Error) -> Self {
        Abort::Internal(e)
    }
}

/// The live, undecided request of a normalised code, re-checked against its client: the row,
/// the client and the requested scopes it still has.
fn lookup(
    c: &mut DbConnection,
    code: &str,
    now: i64,
) -> anyhow::Result<Option<(DeviceRow, Client, Vec<String>)>> {
    let Some(row) = store::find_by_user_code(c, &user_code::hash(code))? else {
        return Ok(None);
    };
    if row.expires_at <= now || Status::parse(&row.status) != Status::Pending {
        return Ok(None);
    }
    let Some(client) = c.find_client(&row.client_id)? else {
        return Ok(None);
    };
    let mut requested = scope::parse(&row.scope).unwrap_or_default();
    if !pending::recheck(&client, GrantType::DeviceCode, &mut requested) {
        return Ok(None);
    }
    Ok(Some((row, client, requested)))
}

/// The outcome of the user's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    Approved {
        client_name: String,
    },
    Denied {
        client_name: String,
    },
    /// Approving needs a second factor first (the role or the client requires one).
    SecondFactor,
    Wrong,
    Throttled {
        retry_after: i64,
    },
}

/// The signed-in user approves (or denies) the request of the code they typed: records who
/// decided, under which session, with which scopes, and the audit event (`device_approved`,
/// `device_denied`). One conditional UPDATE: a request is decided once.
pub fn decide(
    c: &mut DbConnection,
    env: &Env,
    who: &SignedIn,
    typed: &str,
    approve: bool,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<Decided> {
    let waiting = match find(c, env, who, typed, meta.ip.as_deref(), now)? {
        Found::Request(w) => w,
        Found::Wrong => return Ok(Decided::Wrong),
        Found::Throttled { retry_after } => return Ok(Decided::Throttled { retry_after }),
    };
    if approve && waiting.needs_second_factor {
        return Ok(Decided::SecondFactor);
    }
    let status = if approve {
        Status::Approved
    } else {
        Status::Denied
    };
    let scope = waiting.scopes.join(" ");
    write_transaction(c, |c| {
        let decided = store::decide(
            c,
            &waiting.device_code_hash,
            &Decision {
                status: status.as_str(),
                user_id: &who.user.id,
                session_id: &who.session.id,
                auth_time: who.session.auth_time,
                scope: &scope,
            },
            now,
        )?;
        if !decided {
            return Ok(Decided::Wrong);
        }
        audit::record(
            c,
            Event {
                kind: if approve {
                    audit::DEVICE_APPROVED
                } else {
                    audit::DEVICE_DENIED
                },
                success: approve,
                user_id: Some(&who.user.id),
                client_id: Some(&waiting.client.id),
                meta: Some(meta),
                detail: Some(json!({ "scope": scope })),
            },
            now,
        )?;
        let client_name = waiting.client.name.clone();
        Ok::<_, anyhow::Error>(if approve {
            Decided::Approved { client_name }
        } else {
            Decided::Denied { client_name }
        })
    })
}
