//! Queries on the second factors: `totp_factors` (an authenticator app per user) and
//! `recovery_codes`. Every use of a code is one conditional UPDATE, which exactly one concurrent
//! caller wins on either backend.
use diesel::prelude::*;

use super::schema::{recovery_codes, totp_factors};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = totp_factors)]
pub struct TotpRow {
    pub user_id: String,
    /// The secret, sealed under the key-encryption key (`tokens::keys::kek`).
    pub secret_sealed: String,
    pub kek_id: String,
    /// `None` while the user enrols.
    pub confirmed_at: Option<i64>,
    /// The newest step a code was accepted for.
    pub last_used_step: Option<i64>,
    pub created_at: i64,
}

pub fn find(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<TotpRow>> {
    totp_factors::table
        .find(user_id)
        .select(TotpRow::as_select())
        .get_result(conn)
        .optional()
}

/// Whether the user has a confirmed authenticator app.
pub fn is_confirmed(conn: &mut DbConnection, user_id: &str) -> QueryResult<bool> {
    totp_factors::table
        .filter(totp_factors::user_id.eq(user_id))
        .filter(totp_factors::confirmed_at.is_not_null())
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

/// Replaces the user's unconfirmed enrolment (if any) with `row`; `false` (nothing written)
/// when the user already has a confirmed one.
pub fn put_pending(conn: &mut DbConnection, row: &TotpRow) -> QueryResult<bool> {
    diesel::delete(
        totp_factors::table
            .find(&row.user_id)
            .filter(totp_factors::confirmed_at.is_null()),
    )
    .execute(conn)?;
    // In a savepoint: on PostgreSQL a failed statement aborts the transaction.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(totp_factors::table)
            .values(row)
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Confirms a pending enrolment with the step of its first code; `false` when there was none
/// (or a concurrent request confirmed it first).
pub fn confirm(conn: &mut DbConnection, user_id: &str, step: i64, now: i64) -> QueryResult<bool> {
    diesel::update(
        totp_factors::table
            .find(user_id)
            .filter(totp_factors::confirmed_at.is_null()),
    )
    .set((
        totp_factors::confirmed_at.eq(now),
        totp_factors::last_used_step.eq(step),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records that a code of `step` was used, if no code of this step or a later one was:
/// `false` is a replay (or a concurrent use of the same code that went first).
pub fn use_step(conn: &mut DbConnection, user_id: &str, step: i64) -> QueryResult<bool> {
    diesel::update(
        totp_factors::table
            .find(user_id)
            .filter(totp_factors::confirmed_at.is_not_null())
            .filter(
                totp_factors::last_used_step
                    .is_null()
                    .or(totp_factors::last_used_step.lt(step)),
            ),
    )
    .set(totp_factors::last_used_step.eq(step))
    .execute(conn)
    .map(|n| n == 1)
}

/// Removes the user's authenticator app (confirmed or not); whether there was one.
pub fn delete(conn: &mut DbConnection, user_id: &str) -> QueryResult<bool> {
    diesel::delete(totp_factors::table.find(user_id))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<TotpRow>> {
    totp_factors::table
        .order(totp_factors::user_id.asc())
        .select(TotpRow::as_select())
        .load(conn)
}

/// Replaces a secret's sealed form (a new key-encryption key).
pub fn reseal(
    conn: &mut DbConnection,
    user_id: &str,
    sealed: &str,
    kek_id: &str,
) -> QueryResult<()> {
    diesel::update(totp_factors::table.find(user_id))
        .set((
            totp_factors::secret_sealed.eq(sealed),
            totp_factors::kek_id.eq(kek_id),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = recovery_codes)]
pub struct RecoveryCodeRow {
    pub id: String,
    pub user_id: String,
    pub code_hash: String,
    pub used_at: Option<i64>,
    pub created_at: i64,
}

/// Replaces every recovery code of the user with `rows`.
pub fn replace_codes(
    conn: &mut DbConnection,
    user_id: &str,
    rows: &[RecoveryCodeRow],
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    // One by one: a batch INSERT is not written for both backends at once.
    for row in rows {
        diesel::insert_into(recovery_codes::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The user's unused codes (id and hash).
pub fn unused_codes(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<(String, String)>> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .order(recovery_codes::id.asc())
        .select((recovery_codes::id, recovery_codes::code_hash))
        .load(conn)
}

pub fn count_unused(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

/// Marks a code used if it still is not; `false` when a concurrent request used it first.
pub fn redeem_code(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
    diesel::update(
        recovery_codes::table
            .find(id)
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}
