//! Queries on `server_secrets`: secrets every instance shares, created once by whichever
//! instance starts first.
use diesel::prelude::*;

use super::schema::server_secrets;
use super::DbConnection;

/// The secret `name`, created with `fresh` when there is none yet. Concurrent first starts
/// agree: the loser of the insert reads the winner's value.
pub fn get_or_create(
    conn: &mut DbConnection,
    name: &str,
    fresh: &str,
    now: i64,
) -> QueryResult<String> {
    let read = |c: &mut DbConnection| {
        server_secrets::table
            .find(name)
            .select(server_secrets::value)
            .first::<String>(c)
            .optional()
    };
    if let Some(v) = read(conn)? {
        return Ok(v);
    }
    let inserted = conn.transaction(|c| {
        diesel::insert_into(server_secrets::table)
            .values((
                server_secrets::name.eq(name),
                server_secrets::value.eq(fresh),
                server_secrets::created_at.eq(now),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(fresh.to_string()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => read(conn)?.ok_or(diesel::result::Error::NotFound),
        Err(e) => Err(e),
    }
}
