//! Queries on `leases`: background work (the purge) that one instance at a time should do takes a
//! lease, a row naming its holder until `expires_at`. Taking it is one conditional UPDATE — or,
//! the first time, the INSERT of the row — that exactly one concurrent caller wins on either
//! backend (a row lock on PostgreSQL, the write lock on SQLite, the primary key for the INSERT).
//! No PostgreSQL advisory lock: it would not hold on SQLite, nor through a connection pooler.
use diesel::prelude::*;

use super::schema::leases;
use super::DbConnection;

/// Who holds a lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Lease {
    pub holder: String,
    pub expires_at: i64,
}

/// Takes the lease `name` for `holder` until `until` when it is free (never taken, expired,
/// released) or already `holder`'s; `true` when taken.
pub fn claim(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> QueryResult<bool> {
    let taken = diesel::update(
        leases::table
            .find(name)
            .filter(leases::expires_at.le(now).or(leases::holder.eq(holder))),
    )
    .set((leases::holder.eq(holder), leases::expires_at.eq(until)))
    .execute(conn)?;
    if taken == 1 {
        return Ok(true);
    }
    // No row yet (or another's, live). In a savepoint: on PostgreSQL a failed statement aborts
    // the transaction it is in.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(leases::table)
            .values((
                leases::name.eq(name),
                leases::holder.eq(holder),
                leases::expires_at.eq(until),
            ))
            .execute(c)
    });
    match inserted {
        Ok(n) => Ok(n == 1),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Extends `holder`'s lease to `until`; `false` when it is no longer theirs (it expired and
/// another instance took it).
pub fn renew(conn: &mut DbConnection, name: &str, holder: &str, until: i64) -> QueryResult<bool> {
    diesel::update(leases::table.find(name).filter(leases::holder.eq(holder)))
        .set(leases::expires_at.eq(until))
        .execute(conn)
        .map(|n| n == 1)
}

/// Gives the lease back (it expires `now`), if `holder` still holds it.
pub fn release(conn: &mut DbConnection, name: &str, holder: &str, now: i64) -> QueryResult<()> {
    renew(conn, name, holder, now).map(|_| ())
}

pub fn find(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Lease>> {
    leases::table
        .find(name)
        .select((leases::holder, leases::expires_at))
        .first(conn)
        .optional()
}

/// Locks the row `name` until the surrounding transaction ends, so that the next caller doing
/// the same work waits for this transaction, then sees what it committed (`declarative::apply`:
/// two instances applying one file at start-up must not both create a client). An upsert: a row
/// lock on PostgreSQL (the unique key makes a concurrent first INSERT wait too); on SQLite
/// `write_transaction` already holds the write lock. Call it inside a transaction.
pub fn lock_until_commit(conn: &mut DbConnection, name: &str, now: i64) -> QueryResult<()> {
    on_backend!(conn, |c| diesel::insert_into(leases::table)
        .values((
            leases::name.eq(name),
            leases::holder.eq("lock"),
            leases::expires_at.eq(now),
        ))
        .on_conflict(leases::name)
        .do_update()
        .set(leases::expires_at.eq(now))
        .execute(c)
        .map(|_| ()))
}
