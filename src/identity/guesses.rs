//! The one rule for "may this password guess be hashed?" (DESIGN §9). Every place that checks a
//! password — the password grant, the account API's login and password change, the HTML login
//! page and the federation link confirmation — reserves its guess here first, in the database,
//! and settles it after the hash. So a burst of concurrent guesses can't outrun the counters:
//! at most a budget's limit is ever hashed in its window, across every instance.
//!
//! Budgets (the policy the README describes):
//! - **the source**: an IPv4 address or an IPv6 /64, `lockout.ip_max_failures` failed (or
//!   in-flight) guesses per `lockout.ip_window_secs`, whichever accounts they aim at; 429 beyond.
//! - **the account, from untrusted browsers and API clients**: `lockout.account_max_failures`
//!   failures per `lockout.account_relock_secs`; a full window delays further guesses for
//!   `account_lock_secs`, doubling with each strike up to `account_relock_secs` × 8. Keyed by the
//!   email's hash, so unknown and known emails behave the same.
//! - **the account, from a browser that signed in to it before** (a trusted device cookie):
//!   the same rule on a budget of its own, so an attack from elsewhere never locks the owner out
//!   of their usual browser (OWASP's device-cookie approach).
//!
//! A right guess gives the source's slot back and clears the account budget it used.
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::config::{LockoutSettings, UserSettings};
use crate::store::{guesses, DbConnection};

/// How long a browser keeps the device cookie (400 days, the longest browsers keep one): a
/// trusted browser unused for longer no longer has it, and the purge forgets it.
pub const DEVICE_COOKIE_SECS: i64 = 400 * 86_400;

/// One budget a guess draws on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub key: String,
    limit: i32,
    window: i64,
    /// Base and cap of the delay after a full window; none for a source.
    lock: Option<(i64, i64)>,
}

/// The budgets of one guess, reserved together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guess {
    budgets: Vec<Budget>,
}

/// How a failed guess ended for the account budget it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub until: i64,
    pub strike: i32,
}

/// The key of a client address: IPv4 (and IPv4-mapped IPv6) as is, IPv6 by its /64, since one
/// host usually holds a whole /64.
pub fn source_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

/// The key of an account as typed: the hash of its normalised email.
pub fn account_key(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a device cookie, as stored.
pub fn device_hash(cookie: &str) -> String {
    crate::tokens::secret::hash_secret(cookie)
}

/// Where a guess comes from.
pub struct GuessFrom<'a> {
    pub ip: Option<&'a str>,
    pub email: &'a str,
    /// The user id and device-cookie hash of a browser that signed in to this account before.
    pub trusted_device: Option<(&'a str, &'a str)>,
}

impl Guess {
    pub fn plan(policy: &LockoutSettings, from: GuessFrom) -> Guess {
        let key = match from.trusted_device {
            Some((user_id, device)) => format!("dev:{user_id}:{}", &device[..device.len().min(32)]),
            None => format!("acct:{}", account_key(from.email)),
        };
        Guess::with_account_budget(policy, from.ip, key)
    }

    /// A guess at a user's second factor (an authenticator-app or recovery code): the
    /// source's budget, shared with password guesses, and an account budget of its own
    /// (`mfa:<user id>`) under the same rule, which a right password does not clear.
    pub fn second_factor(policy: &LockoutSettings, ip: Option<&str>, user_id: &str) -> Guess {
        Guess::with_account_budget(policy, ip, format!("mfa:{user_id}"))
    }

    /// A guess at a device's user code on `/device` (RFC 8628 §5.1): the source's budget,
    /// shared with password guesses, and a budget of the signed-in user's own
    /// (`device:<user id>`) under the account rule, so neither many addresses nor many
    /// accounts get far through the 20⁸ codes.
    pub fn user_code(policy: &LockoutSettings, ip: Option<&str>, user_id: &str) -> Guess {
        Guess::with_account_budget(policy, ip, format!("device:{user_id}"))
    }

    fn with_account_budget(policy: &LockoutSettings, ip: Option<&str>, key: String) -> Guess {
        let mut budgets = Vec::with_capacity(2);
        if let Some(ip) = ip {
            budgets.push(Budget {
                key: format!("src:{}", source_key(ip)),
                limit: policy.ip_max_failures.max(1),
                window: policy.ip_window_secs,
                lock: None,
            });
        }
        let lock = Some((
            policy.account_lock_secs,
            // Saturating: `config::validate` sets no upper bound, and a wrapped product would
            // be a negative cap, a lock that ends before it starts.
            policy
                .account_relock_secs
                .max(policy.account_lock_secs)
                .saturating_mul(8),
        ));
        budgets.push(Budget {
            key,
            limit: policy.account_max_failures.max(1),
            window: policy.account_relock_secs,
            lock,
        });
        Guess { budgets }
    }

    /// Reserves a slot in every budget, or none: `Err(retry_after)` when one is spent or locked.
    /// Run it in a transaction, and roll back on `Err`.
    pub fn reserve(&self, c: &mut DbConnection, now: i64) -> diesel::QueryResult<Result<(), i64>> {
        for b in &self.budgets {
            if let Some(state) = guesses::take(c, &b.key, b.limit, b.window, now)? {
                let retry_after = match state.locked_until {
                    Some(t) if t > now => t - now,
                    _ => state.window_start + b.window - now,
                };
                return Ok(Err(retry_after.max(1)));
            }
        }
        Ok(Ok(()))
    }

    /// A right guess: the source's slot comes back, the account budget is cleared.
    pub fn succeeded(&self, c: &mut DbConnection) -> diesel::QueryResult<()> {
        for b in &self.budgets {
            match b.lock {
                None => guesses::give_back(c, &b.key)?,
                Some(_) => guesses::clear(c, &b.key)?,
            }
        }
        Ok(())
    }

    /// A wrong guess keeps its slots; a full account window locks that budget.
    pub fn failed(&self, c: &mut DbConnection, now: i64) -> diesel::QueryResult<Option<Locked>> {
        for b in &self.budgets {
            let Some((base, cap)) = b.lock else { continue };
            let Some(state) = guesses::state(c, &b.key)? else {
                continue;
            };
            if state.used < b.limit {
                continue;
            }
            let until = now.saturating_add(delay(base, cap, state.strikes));
            if guesses::lock(c, &b.key, b.limit, state.strikes, until, now)? {
                return Ok(Some(Locked {
                    until,
                    strike: state.strikes + 1,
                }));
            }
        }
        Ok(None)
    }

    /// A guess that was reserved but never checked (the hashing pool was full).
    pub fn not_checked(&self, c: &mut DbConnection) -> diesel::QueryResult<()> {
        for b in &self.budgets {
            guesses::give_back(c, &b.key)?;
        }
        Ok(())
    }
}

/// Reserves one sign-up from `ip` (its source's budget and the global one), or none:
/// `Err(retry_after)` when either is spent. Run it in a transaction, rolled back on `Err`.
pub fn reserve_registration(
    c: &mut DbConnection,
    policy: &UserSettings,
    ip: &str,
    now: i64,
) -> diesel::QueryResult<Result<(), i64>> {
    let window = policy.registration_window_secs;
    for (key, limit) in [
        (
            format!("reg:src:{}", source_key(ip)),
            policy.registration_ip_limit,
        ),
        ("reg:all".to_string(), policy.registration_global_limit),
    ] {
        if let Some(state) = guesses::take(c, &key, limit.max(1), window, now)? {
            return Ok(Err((state.window_start + window - now).max(1)));
        }
    }
    Ok(Ok(()))
}

/// How long a client registration takes a slot of its source's budget (an hour).
pub const CLIENT_REGISTRATION_WINDOW_SECS: i64 = 3600;

/// Reserves one dynamic client registration (RFC 7591) from `ip`: `limit` per source per hour
/// (0: no limit), `Err(retry_after)` when spent. Run it in the registration's transaction, rolled
/// back on `Err`.
pub fn reserve_client_registration(
    c: &mut DbConnection,
    limit: i32,
    ip: &str,
    now: i64,
) -> diesel::QueryResult<Result<(), i64>> {
    if limit <= 0 {
        return Ok(Ok(()));
    }
    let window = CLIENT_REGISTRATION_WINDOW_SECS;
    let key = format!("dcr:src:{}", source_key(ip));
    Ok(match guesses::take(c, &key, limit, window, now)? {
        None => Ok(()),
        Some(state) => Err((state.window_start + window - now).max(1)),
    })
}

/// Client metadata documents fetched for one source are counted per this window.
pub const DOCUMENT_FETCH_WINDOW_SECS: i64 = 60;

/// Reserves one fetch of a client metadata document for a request from `ip`: `limit` per source
/// per minute (0: no limit), `Err(retry_after)` when spent. Documents served from the stored
/// copy cost nothing.
pub fn reserve_document_fetch(
    c: &mut DbConnection,
    limit: i32,
    ip: &str,
    now: i64,
) -> diesel::QueryResult<Result<(), i64>> {
    if limit <= 0 {
        return Ok(Ok(()));
    }
    let window = DOCUMENT_FETCH_WINDOW_SECS;
    let key = format!("cimd:src:{}", source_key(ip));
    Ok(match guesses::take(c, &key, limit, window, now)? {
        None => Ok(()),
        Some(state) => Err((state.window_start + window - now).max(1)),
    })
}

/// The delay after the `strikes`+1-th full window: `base` doubling each time, at most `cap`.
fn delay(base: i64, cap: i64, strikes: i32) -> i64 {
    let factor = 1i64 << strikes.clamp(0, 20);
    base.saturating_mul(factor).min(cap)
}

/// An operator's unlock: every account budget of this user (by email, and its devices).
pub fn unlock(c: &mut DbConnection, user_id: &str, email: &str) -> diesel::QueryResult<()> {
    guesses::clear(c, &format!("acct:{}", account_key(email)))?;
    guesses::clear_prefix(c, &format!("dev:{user_id}:"))?;
    Ok(())
}

/// An operator's unlock of the user's second-factor budget (a password reset, which proves
/// only the address, leaves it).
pub fn unlock_second_factor(c: &mut DbConnection, user_id: &str) -> diesel::QueryResult<()> {
    guesses::clear(c, &format!("mfa:{user_id}"))
}

#[cfg(test)]
#[path = "guesses_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_addresses_and_ipv6_slash_64s() {
        assert_eq!(source_key("203.0.113.9"), "203.0.113.9");
        assert_eq!(source_key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(source_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            source_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            source_key("2001:db8:1:2::5")
        );
        assert_ne!(source_key("2001:db8:1:3::5"), source_key("2001:db8:1:2::5"));
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        assert_eq!(delay(900, 28_800, 0), 900);
        assert_eq!(delay(900, 28_800, 1), 1800);
        assert_eq!(delay(900, 28_800, 5), 28_800);
        assert_eq!(delay(900, 28_800, 1000), 28_800);
    }

    /// Found by `proptests::a_policys_first_lock_is_its_lock_secs`: a relock time above
    /// i64::MAX / 8 (which `config::validate` accepts) overflowed the cap: a panic in a debug
    /// build, a negative cap (a lock already over) in a release one.
    #[test]
    fn a_huge_relock_setting_still_locks() {
        let policy = LockoutSettings {
            account_relock_secs: i64::MAX / 4,
            ..LockoutSettings::default()
        };
        let guess = Guess::second_factor(&policy, None, "u1");
        let (base, cap) = guess.budgets[0].lock.unwrap();
        assert_eq!((base, cap), (policy.account_lock_secs, i64::MAX));
        assert_eq!(delay(base, cap, 0), policy.account_lock_secs);
        assert!(delay(base, cap, 30) > 0);
    }

    #[test]
    fn accounts_are_keyed_by_normalised_email_and_devices_apart() {
        assert_eq!(
            account_key(" Ada@Example.com"),
            account_key("ada@example.com")
        );
        let policy = LockoutSettings::default();
        let untrusted = Guess::plan(
            &policy,
            GuessFrom {
                ip: Some("2001:db8::1"),
                email: "ada@example.com",
                trusted_device: None,
            },
        );
        let trusted = Guess::plan(
            &policy,
            GuessFrom {
                ip: Some("2001:db8::1"),
                email: "ada@example.com",
                trusted_device: Some(("u1", "abcdef")),
            },
        );
        assert_eq!(untrusted.budgets[0], trusted.budgets[0]);
        assert_eq!(untrusted.budgets[0].key, "src:2001:db8:0:0::/64");
        assert!(untrusted.budgets[1].key.starts_with("acct:"));
        assert_eq!(trusted.budgets[1].key, "dev:u1:abcdef");
        let code = Guess::second_factor(&policy, Some("2001:db8::1"), "u1");
        assert_eq!(code.budgets[0], untrusted.budgets[0]);
        assert_eq!(code.budgets[1].key, "mfa:u1");
        assert_eq!(code.budgets[1].lock, untrusted.budgets[1].lock);
    }
}
