//! The DPoP proof replay cache (RFC 9449 §11.1), shared by every instance through the database:
//! a proof is remembered by [`crate::oauth::dpop::replay_key`] until it could no longer pass
//! the `iat` window; the purge deletes the rest.
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::schema::dpop_jtis;
use super::DbConnection;

/// Remembers a proof until `expires_at`: `Ok(true)` the first time, `Ok(false)` when the proof
/// was already seen (a replay). The primary key decides, so two instances racing on one proof
/// have one winner.
pub fn remember(conn: &mut DbConnection, key: &str, expires_at: i64) -> QueryResult<bool> {
    let inserted = on_backend!(conn, |c| diesel::insert_into(dpop_jtis::table)
        .values((
            dpop_jtis::jkt_jti_hash.eq(key),
            dpop_jtis::expires_at.eq(expires_at),
        ))
        .execute(c));
    match inserted {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}
