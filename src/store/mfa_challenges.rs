//! Queries on `mfa_challenges`: sign-ins waiting for their second factor. A challenge is
//! finished by one conditional DELETE, which exactly one concurrent caller wins.
use diesel::prelude::*;

use super::schema::mfa_challenges;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = mfa_challenges)]
pub struct ChallengeRow {
    /// SHA-256 of the handle.
    pub id_hash: String,
    pub user_id: String,
    /// What the first factor was (`pwd`, `fed`, or a live session's methods at a step-up).
    pub first_amr: String,
    /// The pending authorization request the sign-in continues, if any.
    pub request_id: Option<String>,
    /// The browser the challenge belongs to (`None`: an account-API challenge).
    pub browser_hash: Option<String>,
    /// The user has no second factor yet and must set one up.
    pub enrol: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn insert(conn: &mut DbConnection, row: &ChallengeRow) -> QueryResult<()> {
    diesel::insert_into(mfa_challenges::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The unexpired challenge behind `hash`, if any.
pub fn find_live(
    conn: &mut DbConnection,
    hash: &str,
    now: i64,
) -> QueryResult<Option<ChallengeRow>> {
    mfa_challenges::table
        .find(hash)
        .filter(mfa_challenges::expires_at.gt(now))
        .select(ChallengeRow::as_select())
        .first(conn)
        .optional()
}

/// Finishes the challenge: true for the one caller whose DELETE removed the unexpired row.
pub fn claim(conn: &mut DbConnection, hash: &str, now: i64) -> QueryResult<bool> {
    diesel::delete(
        mfa_challenges::table
            .filter(mfa_challenges::id_hash.eq(hash))
            .filter(mfa_challenges::expires_at.gt(now)),
    )
    .execute(conn)
    .map(|n| n == 1)
}
