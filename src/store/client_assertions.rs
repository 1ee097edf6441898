//! Client assertions seen (RFC 7523 §3, `private_key_jwt`), shared by every instance through
//! the database: an assertion is remembered by the SHA-256 of its client id and `jti` until it
//! expires; the purge deletes the rest.
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::schema::client_assertion_jtis;
use super::DbConnection;

/// Remembers an assertion until `expires_at`: `Ok(true)` the first time, `Ok(false)` when it
/// was already seen (a replay). The primary key decides, so two instances racing on one
/// assertion have one winner.
pub fn remember(conn: &mut DbConnection, key: &str, expires_at: i64) -> QueryResult<bool> {
    let inserted = on_backend!(conn, |c| diesel::insert_into(client_assertion_jtis::table)
        .values((
            client_assertion_jtis::client_jti_hash.eq(key),
            client_assertion_jtis::expires_at.eq(expires_at),
        ))
        .execute(c));
    match inserted {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}
