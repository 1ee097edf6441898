//! Queries on `pushed_requests` (RFC 9126, `oauth::par`). Consuming one is a single conditional
//! UPDATE (`used_at IS NULL`, not expired, the right client), which exactly one concurrent
//! caller wins on either backend.
use diesel::prelude::*;

use super::schema::pushed_requests as pushed;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = pushed)]
pub struct PushedRow {
    /// SHA-256 of the random part of the `request_uri`.
    pub id: String,
    pub client_id: String,
    /// The request's parameters: a JSON array of `[name, value]` pairs.
    pub parameters: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &PushedRow) -> QueryResult<()> {
    diesel::insert_into(pushed::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Marks the request `id` of `client_id` used at `now` and returns it, if it was unused and
/// unexpired; `None` otherwise (unknown, another client's, expired or already used). One
/// transaction: the conditional UPDATE decides the one winner, the read follows it.
pub fn consume(
    conn: &mut DbConnection,
    id: &str,
    client_id: &str,
    now: i64,
) -> QueryResult<Option<PushedRow>> {
    conn.transaction(|c| {
        let won = diesel::update(
            pushed::table
                .filter(pushed::id.eq(id))
                .filter(pushed::client_id.eq(client_id))
                .filter(pushed::used_at.is_null())
                .filter(pushed::expires_at.gt(now)),
        )
        .set(pushed::used_at.eq(Some(now)))
        .execute(c)?;
        if won != 1 {
            return Ok(None);
        }
        pushed::table
            .filter(pushed::id.eq(id))
            .select(PushedRow::as_select())
            .get_result(c)
            .optional()
    })
}
