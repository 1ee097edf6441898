//! Queries on `email_tokens`: single-use links sent by email. A link is redeemed by one
//! conditional UPDATE, which exactly one concurrent caller wins on either backend.
use diesel::prelude::*;

use super::schema::email_tokens;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = email_tokens)]
pub struct EmailTokenRow {
    /// SHA-256 of the token.
    pub token_hash: String,
    pub purpose: String,
    pub user_id: String,
    /// The address the link was sent to.
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &EmailTokenRow) -> QueryResult<()> {
    diesel::insert_into(email_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The token behind `hash` for `purpose`, if it is unused and unexpired.
pub fn find_live(
    conn: &mut DbConnection,
    hash: &str,
    purpose: &str,
    now: i64,
) -> QueryResult<Option<EmailTokenRow>> {
    email_tokens::table
        .find(hash)
        .filter(email_tokens::purpose.eq(purpose))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now))
        .select(EmailTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Marks the token used if it is still live; `false` when it was not (or another request won).
pub fn claim(conn: &mut DbConnection, hash: &str, purpose: &str, now: i64) -> QueryResult<bool> {
    diesel::update(
        email_tokens::table
            .find(hash)
            .filter(email_tokens::purpose.eq(purpose))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now)),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Marks every unused token of a user for `purpose` used (one link was followed: the others
/// are void); returns how many.
pub fn retire(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)
}

/// Deletes a user's used or expired tokens for `purpose` (done before issuing a new one, so
/// the rows of one user stay few).
pub fn forget_spent(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::delete(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose))
            .filter(
                email_tokens::used_at
                    .is_not_null()
                    .or(email_tokens::expires_at.le(now)),
            ),
    )
    .execute(conn)
}
