//! Queries on `device_authorizations` (RFC 8628, `oauth::device`). Every change of state is one
//! conditional UPDATE, which exactly one concurrent caller wins on either backend: a poll
//! (compare-and-set on `last_polled_at`), the user's decision (`status = 'pending'`), and the
//! one poll that gets tokens (`status = 'approved'`).
use diesel::prelude::*;

use super::schema::device_authorizations as device;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = device)]
pub struct DeviceRow {
    /// SHA-256 of the device_code.
    pub device_code_hash: String,
    /// SHA-256 of the normalised user_code.
    pub user_code_hash: String,
    pub client_id: String,
    /// Requested scopes; once approved, the scopes granted.
    pub scope: String,
    /// `pending`, `approved`, `denied` or `used`.
    pub status: String,
    pub interval_secs: i64,
    pub last_polled_at: Option<i64>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub auth_time: Option<i64>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Inserts a new request; `false` when its user-code hash is taken (the caller draws another).
pub fn insert(conn: &mut DbConnection, row: &DeviceRow) -> QueryResult<bool> {
    // In a savepoint, so a collision leaves the caller's transaction usable on PostgreSQL.
    let inserted = conn.transaction(|c| diesel::insert_into(device::table).values(row).execute(c));
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn find(conn: &mut DbConnection, device_code_hash: &str) -> QueryResult<Option<DeviceRow>> {
    device::table
        .find(device_code_hash)
        .select(DeviceRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_user_code(
    conn: &mut DbConnection,
    user_code_hash: &str,
) -> QueryResult<Option<DeviceRow>> {
    device::table
        .filter(device::user_code_hash.eq(user_code_hash))
        .select(DeviceRow::as_select())
        .get_result(conn)
        .optional()
}

/// Records a poll at `now` with the interval from now on, if no other poll was recorded since
/// the caller read `seen` (the `last_polled_at` it decided on); `false` when one was.
pub fn record_poll(
    conn: &mut DbConnection,
    device_code_hash: &str,
    seen: Option<i64>,
    now: i64,
    interval_secs: i64,
) -> QueryResult<bool> {
    let target = device::table.find(device_code_hash);
    let set = (
        device::last_polled_at.eq(now),
        device::interval_secs.eq(interval_secs),
    );
    let n = match seen {
        Some(t) => diesel::update(target.filter(device::last_polled_at.eq(t)))
            .set(set)
            .execute(conn)?,
        None => diesel::update(target.filter(device::last_polled_at.is_null()))
            .set(set)
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// The user's decision on a pending, unexpired request.
pub struct Decision<'a> {
    /// `approved` or `denied`.
    pub status: &'a str,
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub auth_time: i64,
    /// The scopes granted (approved) or shown (denied).
    pub scope: &'a str,
}

/// Records the decision; `false` when the request was decided already or has expired.
pub fn decide(
    conn: &mut DbConnection,
    device_code_hash: &str,
    d: &Decision,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(
        device::table
            .find(device_code_hash)
            .filter(device::status.eq("pending"))
            .filter(device::expires_at.gt(now)),
    )
    .set((
        device::status.eq(d.status),
        device::user_id.eq(d.user_id),
        device::session_id.eq(d.session_id),
        device::auth_time.eq(d.auth_time),
        device::scope.eq(d.scope),
        device::decided_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Marks an approved, unexpired request used; `true` only for the one caller that did it.
pub fn claim(conn: &mut DbConnection, device_code_hash: &str, now: i64) -> QueryResult<bool> {
    diesel::update(
        device::table
            .find(device_code_hash)
            .filter(device::status.eq("approved"))
            .filter(device::expires_at.gt(now)),
    )
    .set(device::status.eq("used"))
    .execute(conn)
    .map(|n| n == 1)
}
