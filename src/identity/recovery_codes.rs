//! Recovery codes: ten one-time codes a user keeps for when their second factor is out of
//! reach. Shown once when generated (a new set replaces the old one), stored only as SHA-256
//! (bound to the user id), compared in constant time, each used once (one conditional UPDATE).
//!
//! A code is 10 characters of Crockford's base32 (50 bits), shown as `XXXXX-XXXXX`; typed in
//! any case, with spaces or dashes, and `O`, `I`, `L` read as `0`, `1`, `1`.
use serde_json::json;

use super::audit::{self, Event};
use super::RequestMeta;
use crate::store::totp::{self as store, RecoveryCodeRow};
use crate::store::{write_transaction, DbConnection};
use crate::tokens::secret;

/// Codes in a set.
pub const COUNT: usize = 10;
/// Characters of a code.
pub const LEN: usize = 10;
/// Crockford's base32: no I, L, O, U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new code, as shown (`XXXXX-XXXXX`).
fn new_code() -> anyhow::Result<String> {
    let mut bytes = [0u8; LEN];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS RNG failed: {e}"))?;
    // 256 is a multiple of 32: every character is equally likely.
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect();
    Ok(format!("{}-{}", &chars[..LEN / 2], &chars[LEN / 2..]))
}

/// A code as typed → its canonical form, or `None` when it cannot be one.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    let valid = code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// A (canonical) code bound to its user, so equal codes of two users hash apart.
fn bound(user_id: &str, code: &str) -> String {
    format!("{user_id}:{code}")
}

/// The stored form of a (canonical) code of `user_id`.
fn hash(user_id: &str, code: &str) -> String {
    secret::hash_secret(&bound(user_id, code))
}

/// Makes a new set for the user, replacing the old one; returns the codes as shown (the only
/// time they are).
pub fn generate(
    conn: &mut DbConnection,
    user_id: &str,
    meta: &RequestMeta,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let codes = (0..COUNT)
        .map(|_| new_code())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rows = codes
        .iter()
        .map(|shown| {
            let canonical = normalise(shown).unwrap_or_default();
            Ok(RecoveryCodeRow {
                id: secret::random_id()?,
                user_id: user_id.to_string(),
                code_hash: hash(user_id, &canonical),
                used_at: None,
                created_at: now,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    write_transaction(conn, |c| {
        store::replace_codes(c, user_id, &rows)?;
        audit::record(
            c,
            Event {
                kind: audit::RECOVERY_CODES_GENERATED,
                success: true,
                user_id: Some(user_id),
                meta: Some(meta),
                detail: Some(json!({ "count": COUNT })),
                ..Event::default()
            },
            now,
        )
    })?;
    Ok(codes)
}

/// Uses one of the user's codes (canonical form, see [`normalise`]) if it is theirs and unused;
/// returns how many are left then. Run it in the caller's transaction.
pub fn redeem(
    conn: &mut DbConnection,
    user_id: &str,
    code: &str,
    now: i64,
) -> diesel::QueryResult<Option<i64>> {
    let presented = bound(user_id, code);
    let mut matched = None;
    // Every stored hash is compared, in constant time each.
    for (id, stored) in store::unused_codes(conn, user_id)? {
        let equal = secret::verify_secret(&presented, &stored);
        if equal && matched.is_none() {
            matched = Some(id);
        }
    }
    let Some(id) = matched else {
        return Ok(None);
    };
    if !store::redeem_code(conn, &id, now)? {
        return Ok(None);
    }
    store::count_unused(conn, user_id).map(Some)
}

/// How many unused codes the user has.
pub fn remaining(conn: &mut DbConnection, user_id: &str) -> diesel::QueryResult<i64> {
    store::count_unused(conn, user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_crockford_characters_read_leniently() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), LEN + 1);
        assert_eq!(&code[5..6], "-");
        let canonical = normalise(&code).unwrap();
        assert_eq!(canonical.len(), LEN);
        assert_ne!(code, new_code().unwrap());
        assert_eq!(normalise(" abcde-fghjk ").as_deref(), Some("ABCDEFGHJK"));
        assert_eq!(normalise("oil01 23456").as_deref(), Some("0110123456"));
        assert_eq!(normalise("ABCDE-FGHJ"), None);
        assert_eq!(normalise("ABCDE-FGHJKM"), None);
        assert_eq!(normalise("ABCDE-FGHJU"), None);
        assert_eq!(normalise("123456"), None);
        assert_ne!(hash("u1", "ABCDEFGHJK"), hash("u2", "ABCDEFGHJK"));
    }
}
