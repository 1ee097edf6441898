//! Queries on `signing_keys`: every instance reads the whole (small) table; rows are written
//! once and change only when re-encrypted under a new key-encryption key (`keys rewrap`).
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::schema::signing_keys;
use super::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    /// 1, 2, 3… per algorithm; a higher generation supersedes a lower one once it signs.
    pub generation: i64,
    pub public_jwk: String,
    /// Sealed PKCS#8 PEM (see `tokens::keys::kek`).
    pub private_key: String,
    /// Which key-encryption key sealed `private_key`.
    pub kek_id: String,
    pub created_at: i64,
    pub published_at: i64,
    pub signs_from: i64,
}

/// Every key, oldest generation first within each algorithm.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .select(SigningKeyRow::as_select())
        .order((signing_keys::alg.asc(), signing_keys::generation.asc()))
        .load(conn)
}

/// Inserts `row`; `Ok(false)` when its (alg, generation) or kid already exists (another
/// instance scheduled the same rotation first).
pub fn insert(conn: &mut DbConnection, row: &SigningKeyRow) -> QueryResult<bool> {
    let result = conn.transaction(|c| {
        diesel::insert_into(signing_keys::table)
            .values(row)
            .execute(c)
    });
    match result {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Replaces the sealed private key of `kid` (re-encryption).
pub fn reseal(
    conn: &mut DbConnection,
    kid: &str,
    private_key: &str,
    kek_id: &str,
) -> QueryResult<usize> {
    diesel::update(signing_keys::table.find(kid))
        .set((
            signing_keys::private_key.eq(private_key),
            signing_keys::kek_id.eq(kek_id),
        ))
        .execute(conn)
}

/// Deletes keys that are no longer published (and never will be again).
pub fn delete(conn: &mut DbConnection, kids: &[String]) -> QueryResult<usize> {
    diesel::delete(signing_keys::table.filter(signing_keys::kid.eq_any(kids))).execute(conn)
}
