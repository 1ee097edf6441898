//! The purge: deletes the rows nothing will read again, so storage stays bounded (DESIGN §7).
//!
//! What is dead, and when it goes (`grace` = `purge.grace_secs`, default a day, so a dead row can
//! still be looked at for a while):
//! - authorization codes, pending and pushed (RFC 9126) authorization requests, federation states and pending links:
//!   `grace` after they expire (a code's replay revokes what it issued until then);
//! - revoked access-token ids (`revoked_tokens`): `grace` after the token would have expired;
//! - DPoP proofs remembered against replay (`dpop_jtis`): as soon as their `iat` window ended;
//! - client assertions remembered against replay (`client_assertion_jtis`): as soon as they
//!   expired;
//! - refresh tokens: `grace` after their family's absolute expiry; with their session once it
//!   ended or expired `grace` ago; in a live session once their whole family is dead (every head
//!   revoked or idle-expired) for `grace` — rotated tokens of a live family stay, reuse detection
//!   needs them — and a revoked one only after the access token issued with it has expired;
//! - sessions: `grace` after they ended or expired (after their refresh tokens);
//! - passkey ceremonies (a registration or sign-in never finished) and initial access tokens
//!   for dynamic registration: `grace` after they expire;
//! - guess budgets: idle for a day and not locked (`store::guesses::forget_idle`, the same rule
//!   that forgets a few whenever a budget is created);
//! - trusted browsers: unused for longer than the device cookie lives, plus `grace`;
//! - audit events: after `audit.retention_days` or `audit.retention_secs` (0 keeps them forever).
//!
//! Users, clients, consents, linked identities, API keys (the owner lists revoked ones),
//! initial access tokens without an expiry and server secrets are entities, not traffic: they are deleted only by someone deleting them.
//! `login_throttle` is no longer written (guess budgets replaced it).
//!
//! Each delete is one statement of at most `purge.batch_size` rows, its own short transaction,
//! so no lock is held for long; a connection is taken from the pool per batch. One instance
//! purges at a time: a run first takes the `purge` lease (`store::leases`) and renews it between
//! batches. Servers run it every `purge.interval_secs` (`task`); `portcullis purge` runs it by
//! hand. Its counts are logged, printed by the CLI and kept in [`Totals`] for monitoring.
mod counts;
pub mod task;

use std::time::{Duration, Instant};

use anyhow::Context;

pub use counts::{Counts, Totals, TABLES};

use crate::config::Settings;
use crate::identity::guesses::DEVICE_COOKIE_SECS;
use crate::store::{guesses, leases, purge as rows, Db, DbConnection};

/// The lease's name in `leases`.
pub const LEASE: &str = "purge";
/// How long a run holds the lease without renewing it (it renews after every batch); if its
/// instance dies, another may purge this long after.
pub const LEASE_SECS: i64 = 120;
/// A pause between batches, so writers queued behind one (SQLite has one write lock) go first.
const PAUSE: Duration = Duration::from_millis(5);

/// What the purge keeps, from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub grace_secs: i64,
    /// Seconds audit events are kept; `None`: forever.
    pub audit_retention_secs: Option<i64>,
    pub batch_size: i64,
    /// The longest an access token lives (`tokens.max_access_token_ttl_secs`).
    pub max_access_token_ttl_secs: i64,
}

impl Policy {
    pub fn from_settings(s: &Settings) -> Policy {
        Policy {
            grace_secs: s.purge.grace_secs,
            audit_retention_secs: s.audit.retention(),
            batch_size: s.purge.batch_size.max(1),
            max_access_token_ttl_secs: s.tokens.max_access_token_ttl_secs,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The run went through every table (`complete`), or stopped early because its lease was
    /// taken over (it outlived [`LEASE_SECS`] without renewing).
    Ran { counts: Counts, complete: bool },
    /// Another instance holds the lease: nothing was done.
    Busy(leases::Lease),
}

/// The instants before which rows are dead, from the policy and `now`.
#[derive(Debug, Clone, Copy)]
struct Cutoffs {
    now: i64,
    /// Died (expired, ended, revoked) before this: past the grace.
    dead: i64,
    /// Issued before this: the access token issued with it has expired too.
    issued: i64,
    /// Last used before this: the device cookie is gone too.
    devices: i64,
    /// Audit events before this; `None` keeps them.
    audit: Option<i64>,
}

impl Cutoffs {
    fn new(p: &Policy, now: i64) -> Cutoffs {
        let dead = now.saturating_sub(p.grace_secs);
        Cutoffs {
            now,
            dead,
            issued: dead.saturating_sub(p.max_access_token_ttl_secs),
            devices: dead.saturating_sub(DEVICE_COOKIE_SECS),
            audit: p.audit_retention_secs.map(|r| now.saturating_sub(r)),
        }
    }
}

/// One kind of dead row, in the order they are deleted: a session's refresh tokens before the
/// session, so its cascade is small.
#[derive(Debug, Clone, Copy)]
enum Step {
    Codes,
    Requests,
    PushedRequests,
    DeviceRequests,
    FederationStates,
    FederationLinks,
    EmailTokens,
    MfaChallenges,
    PasskeyCeremonies,
    RegistrationTokens,
    RevokedJtis,
    DpopJtis,
    ClientAssertionJtis,
    ExpiredRefreshTokens,
    RefreshTokensOfDeadSessions,
    RefreshTokensOfDeadFamilies,
    Sessions,
    GuessBudgets,
    TrustedDevices,
    AuditEvents,
}

const STEPS: [Step; 20] = [
    Step::Codes,
    Step::Requests,
    Step::PushedRequests,
    Step::DeviceRequests,
    Step::FederationStates,
    Step::FederationLinks,
    Step::EmailTokens,
    Step::MfaChallenges,
    Step::PasskeyCeremonies,
    Step::RegistrationTokens,
    Step::RevokedJtis,
    Step::DpopJtis,
    Step::ClientAssertionJtis,
    Step::ExpiredRefreshTokens,
    Step::RefreshTokensOfDeadSessions,
    Step::RefreshTokensOfDeadFamilies,
    Step::Sessions,
    Step::GuessBudgets,
    Step::TrustedDevices,
    Step::AuditEvents,
];

impl Step {
    /// The table it deletes from (its entry in [`Counts`]).
    fn table(self) -> &'static str {
        match self {
            Step::Codes => "authorization_codes",
            Step::Requests => "authorization_requests",
            Step::PushedRequests => "pushed_requests",
            Step::DeviceRequests => "device_authorizations",
            Step::FederationStates => "federation_states",
            Step::FederationLinks => "federation_links",
            Step::EmailTokens => "email_tokens",
            Step::MfaChallenges => "mfa_challenges",
            Step::PasskeyCeremonies => "passkey_ceremonies",
            Step::RegistrationTokens => "registration_tokens",
            Step::RevokedJtis => "revoked_tokens",
            Step::DpopJtis => "dpop_jtis",
            Step::ClientAssertionJtis => "client_assertion_jtis",
            Step::ExpiredRefreshTokens
            | Step::RefreshTokensOfDeadSessions
            | Step::RefreshTokensOfDeadFamilies => "refresh_tokens",
            Step::Sessions => "sessions",
            Step::GuessBudgets => "guess_budgets",
            Step::TrustedDevices => "trusted_devices",
            Step::AuditEvents => "audit_events",
        }
    }

    /// Deletes one batch of at most about `n` rows; how many it deleted.
    fn delete(self, c: &mut DbConnection, cut: &Cutoffs, n: i64) -> diesel::QueryResult<usize> {
        match self {
            Step::Codes => rows::codes(c, cut.dead, n),
            Step::Requests => rows::requests(c, cut.dead, n),
            Step::PushedRequests => rows::pushed_requests(c, cut.dead, n),
            Step::DeviceRequests => rows::device_requests(c, cut.dead, n),
            Step::FederationStates => rows::federation_states(c, cut.dead, n),
            Step::FederationLinks => rows::federation_links(c, cut.dead, n),
            Step::EmailTokens => rows::email_tokens(c, cut.dead, n),
            Step::MfaChallenges => rows::mfa_challenges(c, cut.dead, n),
            Step::PasskeyCeremonies => rows::passkey_ceremonies(c, cut.dead, n),
            Step::RegistrationTokens => rows::registration_tokens(c, cut.dead, n),
            Step::RevokedJtis => rows::revoked_jtis(c, cut.dead, n),
            Step::DpopJtis => rows::dpop_jtis(c, cut.now, n),
            Step::ClientAssertionJtis => rows::client_assertion_jtis(c, cut.now, n),
            Step::ExpiredRefreshTokens => rows::expired_refresh_tokens(c, cut.dead, n),
            Step::RefreshTokensOfDeadSessions => {
                rows::refresh_tokens_of_dead_sessions(c, cut.dead, n)
            }
            Step::RefreshTokensOfDeadFamilies => {
                rows::refresh_tokens_of_dead_families(c, cut.dead, cut.issued, n)
            }
            Step::Sessions => rows::dead_sessions(c, cut.dead, n),
            Step::GuessBudgets => guesses::forget_idle(c, cut.now, n),
            Step::TrustedDevices => rows::idle_trusted_devices(c, cut.devices, n),
            Step::AuditEvents => match cut.audit {
                Some(before) => rows::audit_events(c, before, n),
                None => Ok(0),
            },
        }
    }
}

/// Purges what is dead at `now` if this `holder` (an id unique to the process) gets the lease.
/// Blocking: call it off the async executor.
pub fn run(db: &Db, holder: &str, policy: &Policy, now: i64) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    // `now` moves on with the run, for the lease only: the cut-offs stay those of the start.
    let lease_until = || now + started.elapsed().as_secs() as i64 + LEASE_SECS;
    if !leases::claim(&mut *db.get()?, LEASE, holder, now, lease_until())
        .context("taking the purge lease")?
    {
        let held = leases::find(&mut *db.get()?, LEASE)?.unwrap_or(leases::Lease {
            holder: String::new(),
            expires_at: now,
        });
        return Ok(Outcome::Busy(held));
    }
    let cut = Cutoffs::new(policy, now);
    let mut counts = Counts::default();
    for step in STEPS {
        loop {
            let deleted = step
                .delete(&mut *db.get()?, &cut, policy.batch_size)
                .with_context(|| format!("purging {}", step.table()))?;
            counts.add(step.table(), deleted);
            if deleted < policy.batch_size as usize {
                break;
            }
            std::thread::sleep(PAUSE);
            if !leases::renew(&mut *db.get()?, LEASE, holder, lease_until())? {
                tracing::warn!("the purge lease was taken over; stopping this run");
                return Ok(Outcome::Ran {
                    counts,
                    complete: false,
                });
            }
        }
    }
    let finished = now + started.elapsed().as_secs() as i64;
    leases::release(&mut *db.get()?, LEASE, holder, finished)?;
    Ok(Outcome::Ran {
        counts,
        complete: true,
    })
}

/// An id for this process as a lease holder: the host name (when known), the process id and
/// a random part.
pub fn holder_id(kind: &str) -> anyhow::Result<String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    Ok(format!(
        "{kind}:{host}:{}:{}",
        std::process::id(),
        crate::tokens::secret::random_token(6)?
    ))
}
