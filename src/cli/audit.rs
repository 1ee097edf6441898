//! `portcullis audit list` (JSON lines, newest first) and `portcullis token verify`.
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Settings;
use crate::identity::audit::Printed;
use crate::identity::users;
use crate::store::audit;
use crate::tokens::keys::Policy;
use crate::tokens::{self, KeyStore};

pub struct AuditFilter {
    pub user: Option<String>,
    pub kind: Option<String>,
    pub since: Option<String>,
    pub limit: i64,
}

pub fn list(settings: &Settings, f: AuditFilter) -> anyhow::Result<ExitCode> {
    let db = super::database::open(settings, super::Access::Read)?;
    let mut conn = db.get()?;
    let user_id = match &f.user {
        Some(email) => Some(users::find_by_email(&mut conn, email)?.id),
        None => None,
    };
    let since = match &f.since {
        Some(d) => {
            let dur = humantime::parse_duration(d)
                .with_context(|| format!("--since {d:?}: use e.g. 30m, 24h, 7d"))?;
            Some(super::now() - i64::try_from(dur.as_secs()).unwrap_or(i64::MAX))
        }
        None => None,
    };
    let rows = audit::list(
        &mut conn,
        user_id.as_deref(),
        f.kind.as_deref(),
        since,
        f.limit.clamp(1, 100_000),
    )?;
    for row in rows {
        super::output::print_line(&serde_json::to_string(&Printed::from(row))?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Verifies a token against the current keys; prints its claims, or the reason and exit 1.
pub fn verify(settings: &Settings, token: &str) -> anyhow::Result<ExitCode> {
    let db = super::database::open(settings, super::Access::Read)?;
    let keys = KeyStore::verify_only(
        &mut *db.get()?,
        Policy::from_settings(settings),
        super::now(),
    )?;
    match tokens::verify_access_token(
        &keys.current(),
        token.trim(),
        &settings.issuer,
        |aud| aud == settings.issuer,
        super::now(),
    ) {
        Ok(claims) => super::print_json(&claims),
        Err(_) => {
            // Not for this server's audience: still report a valid signature and claims.
            match tokens::verify_signature(&keys.current(), token.trim()) {
                Ok((_, claims))
                    if claims.get("iss").and_then(|i| i.as_str()) == Some(&settings.issuer) =>
                {
                    let exp = claims.get("exp").and_then(|e| e.as_i64()).unwrap_or(0);
                    if exp <= super::now() {
                        eprintln!("invalid token: the token has expired");
                        return Ok(ExitCode::FAILURE);
                    }
                    super::print_json(&claims)
                }
                Ok(_) => {
                    eprintln!("invalid token: the token is from another issuer");
                    Ok(ExitCode::FAILURE)
                }
                Err(_) => {
                    eprintln!(
                        "invalid token: the signature does not verify with any published key"
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
