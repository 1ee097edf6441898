//! Queries on `login_throttle`: failed logins per client IP in a fixed window.
use diesel::prelude::*;

use super::schema::login_throttle;
use super::DbConnection;

/// Failures counted for `ip` in the window that is still open at `now`, and when it opened.
pub fn current(
    conn: &mut DbConnection,
    ip: &str,
    window: i64,
    now: i64,
) -> QueryResult<Option<(i64, i32)>> {
    let row: Option<(i64, i32)> = login_throttle::table
        .find(ip)
        .select((login_throttle::window_start, login_throttle::failures))
        .first(conn)
        .optional()?;
    Ok(row.filter(|(start, _)| now - start < window))
}

/// Counts a failure for `ip` (opening a new window when the last one closed); returns the
/// window's start and its failure count. Each step is one statement, so concurrent failures
/// from many instances all count.
pub fn add_failure(
    conn: &mut DbConnection,
    ip: &str,
    window: i64,
    now: i64,
) -> QueryResult<(i64, i32)> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Integer};
    let expired = now - window;
    for _ in 0..3 {
        let updated: Option<(i64, i32)> = diesel::update(login_throttle::table.find(ip))
            .set((
                login_throttle::window_start.eq(sql::<BigInt>(&format!(
                    "CASE WHEN window_start <= {expired} THEN {now} ELSE window_start END"
                ))),
                login_throttle::failures.eq(sql::<Integer>(&format!(
                    "CASE WHEN window_start <= {expired} THEN 1 ELSE failures + 1 END"
                ))),
            ))
            .returning((login_throttle::window_start, login_throttle::failures))
            .get_result(conn)
            .optional()?;
        if let Some(state) = updated {
            return Ok(state);
        }
        // In a savepoint: on PostgreSQL a failed statement would abort the whole transaction.
        let inserted = conn.transaction(|c| {
            diesel::insert_into(login_throttle::table)
                .values((
                    login_throttle::ip.eq(ip),
                    login_throttle::window_start.eq(now),
                    login_throttle::failures.eq(1),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_) => return Ok((now, 1)),
            // Another request inserted the row first: count on it.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {}
            Err(e) => return Err(e),
        }
    }
    Err(diesel::result::Error::RollbackTransaction)
}
