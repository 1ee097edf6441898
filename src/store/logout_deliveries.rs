//! Queries for OpenID Connect Back-Channel Logout: which clients got tokens in a session
//! (`session_clients`) and the logout tokens still to deliver (`logout_deliveries`). Rows are
//! written in the transaction that ends the session (`sessions::end_session`), so a session
//! never ends without its deliveries queued; `oidc::backchannel` drains them.
use diesel::prelude::*;

use super::schema::{clients, logout_deliveries, session_clients};
use super::sessions::SessionRow;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = logout_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub client_id: String,
    pub session_id: String,
    pub user_id: String,
    pub uri: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub created_at: i64,
}

/// Notes that `client_id` was issued tokens in `session_id` (once per pair).
pub fn record_session_client(
    conn: &mut DbConnection,
    session_id: &str,
    client_id: &str,
    now: i64,
) -> QueryResult<()> {
    on_backend!(conn, |c| diesel::insert_into(session_clients::table)
        .values((
            session_clients::session_id.eq(session_id),
            session_clients::client_id.eq(client_id),
            session_clients::created_at.eq(now),
        ))
        .on_conflict((session_clients::session_id, session_clients::client_id))
        .do_nothing()
        .execute(c)
        .map(|_| ()))
}

/// Queues one delivery for every client of `session` (its own client and every client issued
/// tokens in it) that has a `backchannel_logout_uri`; returns how many. The session's
/// `session_clients` rows go (an ended session never ends again). Call it in the transaction
/// that ends the session.
pub fn enqueue_for_session(
    conn: &mut DbConnection,
    session: &SessionRow,
    now: i64,
) -> QueryResult<usize> {
    let mut ids: Vec<String> = session_clients::table
        .filter(session_clients::session_id.eq(&session.id))
        .select(session_clients::client_id)
        .load(conn)?;
    if !ids.contains(&session.client_id) {
        ids.push(session.client_id.clone());
    }
    let targets: Vec<(String, Option<String>)> = clients::table
        .filter(clients::id.eq_any(&ids))
        .filter(clients::backchannel_logout_uri.is_not_null())
        .select((clients::id, clients::backchannel_logout_uri))
        .order(clients::id.asc())
        .load(conn)?;
    let mut queued = 0;
    for (client_id, uri) in targets {
        let Some(uri) = uri else { continue };
        diesel::insert_into(logout_deliveries::table)
            .values(&DeliveryRow {
                id: crate::tokens::secret::random_token(16)
                    .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?,
                client_id,
                session_id: session.id.clone(),
                user_id: session.user_id.clone(),
                uri,
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
            })
            .execute(conn)?;
        queued += 1;
    }
    diesel::delete(session_clients::table.filter(session_clients::session_id.eq(&session.id)))
        .execute(conn)?;
    Ok(queued)
}

/// Up to `limit` deliveries due at `now`, oldest first.
pub fn due(conn: &mut DbConnection, now: i64, limit: i64) -> QueryResult<Vec<DeliveryRow>> {
    logout_deliveries::table
        .filter(logout_deliveries::next_attempt_at.le(now))
        .order((
            logout_deliveries::next_attempt_at.asc(),
            logout_deliveries::id.asc(),
        ))
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)
}

/// Takes a due delivery for one attempt: moves its next attempt to `until` unless another
/// instance already did; `true` for the one caller that did it.
pub fn claim(conn: &mut DbConnection, row: &DeliveryRow, until: i64) -> QueryResult<bool> {
    diesel::update(
        logout_deliveries::table
            .find(&row.id)
            .filter(logout_deliveries::next_attempt_at.eq(row.next_attempt_at))
            .filter(logout_deliveries::attempts.eq(row.attempts)),
    )
    .set(logout_deliveries::next_attempt_at.eq(until))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records a failed attempt: the next one at `next_attempt_at`.
pub fn retry_at(
    conn: &mut DbConnection,
    id: &str,
    attempts: i32,
    next_attempt_at: i64,
) -> QueryResult<()> {
    diesel::update(logout_deliveries::table.find(id))
        .set((
            logout_deliveries::attempts.eq(attempts),
            logout_deliveries::next_attempt_at.eq(next_attempt_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Removes a delivery that succeeded or gave up.
pub fn remove(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(logout_deliveries::table.find(id))
        .execute(conn)
        .map(|_| ())
}
