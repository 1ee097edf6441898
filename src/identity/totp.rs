//! Authenticator apps: RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30-second steps, the current step
//! and one either side), computed by the `totp-rs` crate. The 160-bit secret is sealed under the
//! key-encryption key, bound to the user id, so a database dump alone computes no code.
//!
//! Enrolment is two steps: `start` makes a secret (replacing an unconfirmed one) and shows it
//! (otpauth:// URI, QR code as SVG, the secret in text); `confirm` enables it with a first right
//! code. Every accepted code records its step, and a code of that step or an earlier one is
//! refused from then on (replay), by one conditional UPDATE.
use serde_json::json;
use totp_rs::{Builder, Secret, Totp};

use super::audit::{self, Event};
use super::users::User;
use super::RequestMeta;
use crate::store::totp::{self as store, TotpRow};
use crate::store::{write_transaction, DbConnection, DbError};
use crate::tokens::keys::Kek;

/// Digits of a code.
pub const DIGITS: usize = 6;
/// Seconds of a step.
pub const STEP_SECS: i64 = 30;
/// 160 bits, RFC 4226's recommendation.
const SECRET_BYTES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("an authenticator app is already set up")]
    AlreadyEnabled,
    /// Nothing to confirm: enrolment was not started (or another request finished it).
    #[error("no authenticator app is being set up")]
    NotStarted,
    #[error("no authenticator app is set up")]
    NotEnabled,
    #[error("the code is not right")]
    WrongCode,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for TotpError {
    fn from(e: diesel::result::Error) -> Self {
        TotpError::Internal(e.into())
    }
}

impl From<DbError> for TotpError {
    fn from(e: DbError) -> Self {
        TotpError::Internal(e.into())
    }
}

/// What a user needs to add their account to an app. Holds the secret: never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// Base32 without padding, as apps take it typed.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code: an inline `<svg>` element.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment { .. }")
    }
}

impl Enrolment {
    /// The secret in groups of four, easier to type.
    pub fn secret_grouped(&self) -> String {
        let chars: Vec<char> = self.secret.chars().collect();
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What a sealed secret is bound to: it opens for this user only.
fn seal_context(user_id: &str) -> String {
    format!("totp:{user_id}")
}

/// The name apps show for the account's issuer: the issuer URL's host (a colon, as in an IPv6
/// literal, is not allowed there).
pub fn issuer_label(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .filter(|h| !h.is_empty() && !h.contains(':'))
        .unwrap_or_else(|| "Portcullis".to_string())
}

fn totp(secret: &[u8], label: Option<(&str, &str)>) -> anyhow::Result<Totp> {
    let mut builder = Builder::new()
        .with_digits(DIGITS as u8)
        .with_step_duration(STEP_SECS as u64)
        .with_skew(1)
        .with_secret(Secret::new(secret.into()));
    if let Some((issuer, account)) = label {
        builder = builder
            .with_issuer(Some(issuer))
            .with_account_name(account.replace(':', "_"));
    }
    builder
        .build()
        .map_err(|e| anyhow::anyhow!("building a TOTP: {e:?}"))
}

/// The enrolment for `secret`: URI, QR code, secret in text.
pub fn enrolment(secret: &[u8], issuer: &str, email: &str) -> anyhow::Result<Enrolment> {
    let label = issuer_label(issuer);
    let totp = totp(secret, Some((&label, email)))?;
    let otpauth_uri = totp
        .to_url()
        .map_err(|e| anyhow::anyhow!("the otpauth URI: {e:?}"))?;
    Ok(Enrolment {
        secret: totp.secret().to_base32(),
        qr_svg: qr_svg(&otpauth_uri)?,
        otpauth_uri,
    })
}

/// `text` as a QR code, an `<svg>` element to put inline in a page (no XML prolog).
pub fn qr_svg(text: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes())?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].replacen(
        "<svg ",
        "<svg class=\"qr\" role=\"img\" aria-label=\"QR code to scan with your authenticator app\" ",
        1,
    ))
}

/// The step `code` is valid for at `now` (the current step or one either side), if any.
pub fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let totp = totp(secret, None).ok()?;
    let now = u64::try_from(now).ok()?;
    totp.check(code, now).and_then(|s| i64::try_from(s).ok())
}

fn new_secret() -> anyhow::Result<[u8; SECRET_BYTES]> {
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("the OS RNG failed: {e}"))?;
    Ok(secret)
}

fn open(kek: &Kek, row: &TotpRow) -> anyhow::Result<Vec<u8>> {
    kek.open(&row.secret_sealed, &seal_context(&row.user_id))
        .map_err(|e| {
            anyhow::anyhow!(
                "the TOTP secret of user {} was sealed under key-encryption key {}: {e}",
                row.user_id,
                row.kek_id
            )
        })
}

/// Starts (or starts again) setting up an app: a new secret, replacing an unconfirmed one.
/// `AlreadyEnabled` when the user has a confirmed app (turn it off first).
pub fn start(
    conn: &mut DbConnection,
    kek: &Kek,
    issuer: &str,
    user: &User,
    now: i64,
) -> Result<Enrolment, TotpError> {
    let secret = new_secret()?;
    let row = TotpRow {
        user_id: user.id.clone(),
        secret_sealed: kek.seal(&secret, &seal_context(&user.id))?,
        kek_id: kek.id().to_string(),
        confirmed_at: None,
        last_used_step: None,
        created_at: now,
    };
    if !write_transaction(conn, |c| store::put_pending(c, &row))? {
        return Err(TotpError::AlreadyEnabled);
    }
    Ok(enrolment(&secret, issuer, &user.email)?)
}

/// The enrolment being set up (to show it again), if any.
pub fn pending(
    conn: &mut DbConnection,
    kek: &Kek,
    issuer: &str,
    user: &User,
) -> Result<Option<Enrolment>, TotpError> {
    match store::find(conn, &user.id)? {
        Some(row) if row.confirmed_at.is_none() => {
            Ok(Some(enrolment(&open(kek, &row)?, issuer, &user.email)?))
        }
        _ => Ok(None),
    }
}

/// Enables the app being set up with its first right code (whose step counts as used).
pub fn confirm(
    conn: &mut DbConnection,
    kek: &Kek,
    user_id: &str,
    code: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<(), TotpError> {
    write_transaction(conn, |c| {
        let row = match store::find(c, user_id)? {
            None => return Err(TotpError::NotStarted),
            Some(r) if r.confirmed_at.is_some() => return Err(TotpError::AlreadyEnabled),
            Some(r) => r,
        };
        let step = matching_step(&open(kek, &row)?, code, now).ok_or(TotpError::WrongCode)?;
        if !store::confirm(c, user_id, step, now)? {
            return Err(TotpError::NotStarted);
        }
        audit::record(c, event(audit::TOTP_ENABLED, user_id, meta), now)?;
        Ok(())
    })
}

/// How a code of an enabled app fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Right, and its step is now used.
    Accepted,
    Wrong,
    /// Right, but a code of this step (or a later one) was already accepted.
    Replayed,
    /// The user has no confirmed app.
    NotEnabled,
}

/// Checks a code of the user's enabled app and, when right and unused, uses its step. Run it
/// in the caller's transaction.
pub fn verify(
    conn: &mut DbConnection,
    kek: &Kek,
    user_id: &str,
    code: &str,
    now: i64,
) -> anyhow::Result<Checked> {
    let row = match store::find(conn, user_id)? {
        Some(r) if r.confirmed_at.is_some() => r,
        _ => return Ok(Checked::NotEnabled),
    };
    let Some(step) = matching_step(&open(kek, &row)?, code, now) else {
        return Ok(Checked::Wrong);
    };
    if store::use_step(conn, user_id, step)? {
        Ok(Checked::Accepted)
    } else {
        Ok(Checked::Replayed)
    }
}

/// Whether the user has a confirmed authenticator app.
pub fn enabled(conn: &mut DbConnection, user_id: &str) -> diesel::QueryResult<bool> {
    store::is_confirmed(conn, user_id)
}

/// Removes the user's app (the caller has checked a proof); `NotEnabled` when there was none.
pub fn disable(
    conn: &mut DbConnection,
    user_id: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<(), TotpError> {
    write_transaction(conn, |c| {
        if !store::is_confirmed(c, user_id)? {
            return Err(TotpError::NotEnabled);
        }
        store::delete(c, user_id)?;
        audit::record(c, event(audit::TOTP_DISABLED, user_id, meta), now)?;
        Ok(())
    })
}

/// Re-seals every secret under `new` (with the signing keys, at `keys rewrap`).
pub fn rewrap(conn: &mut DbConnection, old: &Kek, new: &Kek) -> anyhow::Result<usize> {
    let rows = store::all(conn)?;
    for row in &rows {
        let secret = open(old, row)?;
        let sealed = new.seal(&secret, &seal_context(&row.user_id))?;
        store::reseal(conn, &row.user_id, &sealed, new.id())?;
    }
    Ok(rows.len())
}

fn event<'a>(kind: &'a str, user_id: &'a str, meta: &'a RequestMeta) -> Event<'a> {
    Event {
        kind,
        success: true,
        user_id: Some(user_id),
        meta: Some(meta),
        detail: Some(json!({ "method": "totp" })),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (the 8-digit values' last 6 digits).
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_with_one_step_of_skew() {
        assert_eq!(matching_step(RFC_SECRET, "287082", 59), Some(1));
        assert_eq!(
            matching_step(RFC_SECRET, "081804", 1_111_111_109),
            Some(37_037_036)
        );
        // The code of 1111111109 is still good one step later, not two.
        assert_eq!(
            matching_step(RFC_SECRET, "081804", 1_111_111_109 + 30),
            Some(37_037_036)
        );
        assert_eq!(
            matching_step(RFC_SECRET, "081804", 1_111_111_109 + 60),
            None
        );
        assert_eq!(
            matching_step(RFC_SECRET, "081804", 1_111_111_109 - 30),
            Some(37_037_036)
        );
        assert_eq!(matching_step(RFC_SECRET, "081805", 1_111_111_109), None);
        assert_eq!(matching_step(RFC_SECRET, "81804", 1_111_111_109), None);
        assert_eq!(matching_step(RFC_SECRET, "+81804", 1_111_111_109), None);
        assert_eq!(matching_step(RFC_SECRET, "287082", -5), None);
    }

    #[test]
    fn enrolment_names_the_issuer_and_the_account() {
        let e = enrolment(RFC_SECRET, "https://id.example.com:8443", "ada@example.com").unwrap();
        assert_eq!(e.secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            e.otpauth_uri,
            "otpauth://totp/id.example.com:ada%40example.com?\
             secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=id.example.com"
        );
        assert_eq!(
            e.secret_grouped(),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
        assert!(
            e.qr_svg.starts_with("<svg class=\"qr\" role=\"img\""),
            "{}",
            e.qr_svg
        );
        assert!(e.qr_svg.ends_with("</svg>") && !e.qr_svg.contains("<?xml"));
        assert_eq!(format!("{e:?}"), "Enrolment { .. }");
        assert_eq!(issuer_label("http://[::1]:8080"), "Portcullis");
        assert_eq!(issuer_label("http://127.0.0.1:8080"), "127.0.0.1");
    }
}
