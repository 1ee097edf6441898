//! Which database failures mean "the database is unavailable" (answered 503 with `Retry-After`,
//! not 500), and the watch that turns `/readyz` not-ready when the storage refuses writes.
//!
//! Two classes: the connection is gone (PostgreSQL down or unreachable, the pool could not hand
//! out a connection in time, the job queue is full), and the storage refuses writes (a SQLite
//! file that became read-only, a full disk, an I/O error; a PostgreSQL server that turned
//! read-only, e.g. a standby after a failover). The second class is invisible to a `SELECT 1`,
//! so every connection carries a [`WriteWatch`] that raises a shared flag when it sees one;
//! `Db::ping` then probes a write and lowers the flag once a write works again.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::result::{DatabaseErrorKind, Error};

use super::DbError;

/// SQLite's messages (`sqlite3_errmsg`) for `SQLITE_READONLY*`, `SQLITE_FULL`, `SQLITE_IOERR*`
/// and `SQLITE_CANTOPEN`: diesel reports them all as `DatabaseErrorKind::Unknown`.
const STORAGE_MESSAGES: [&str; 4] = [
    "readonly database",
    "database or disk is full",
    "disk I/O error",
    "unable to open database file",
];

/// libpq's messages for a connection lost mid-query, when diesel does not already say
/// `ClosedConnection`.
const LOST_CONNECTION_MESSAGES: [&str; 4] = [
    "server closed the connection",
    "no connection to the server",
    "could not send data to server",
    "could not receive data from server",
];

/// The storage refuses writes: a SQLite read-only file, full disk or I/O error, or a read-only
/// PostgreSQL transaction (a standby).
pub fn refuses_writes(e: &Error) -> bool {
    match e {
        Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            STORAGE_MESSAGES.iter().any(|m| message.contains(m))
        }
        _ => false,
    }
}

/// The error means the database can't serve us now (not a bug, not the caller's fault).
pub fn unavailable_error(e: &Error) -> bool {
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info)
            if LOST_CONNECTION_MESSAGES
                .iter()
                .any(|m| info.message().contains(m)) =>
        {
            true
        }
        other => refuses_writes(other),
    }
}

/// Whether an error chain comes from an unavailable database: a [`DbError::Unavailable`], an
/// r2d2 checkout failure, or a Diesel error of either class above. The HTTP layer asks this
/// before answering 500.
pub fn is_unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        if let Some(db) = cause.downcast_ref::<DbError>() {
            return matches!(db, DbError::Unavailable(_));
        }
        if let Some(diesel) = cause.downcast_ref::<Error>() {
            return unavailable_error(diesel);
        }
        cause.downcast_ref::<r2d2::Error>().is_some()
    })
}

/// Installed on every pooled connection: raises the shared flag when a statement fails because
/// the storage refuses writes.
pub struct WriteWatch(pub Arc<AtomicBool>);

impl Instrumentation for WriteWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error: Some(e), .. } = event {
            if refuses_writes(e) && !self.0.swap(true, Ordering::Relaxed) {
                tracing::warn!("the database refuses writes; not ready until a write works");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(message: &str) -> Error {
        Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_string()))
    }

    #[test]
    fn classifies_storage_and_connection_failures() {
        assert!(refuses_writes(&unknown(
            "attempt to write a readonly database"
        )));
        assert!(refuses_writes(&unknown("database or disk is full")));
        assert!(unavailable_error(&unknown(
            "server closed the connection unexpectedly"
        )));
        assert!(!unavailable_error(&unknown("no such table: users")));
        assert!(!unavailable_error(&Error::NotFound));
        let chained = anyhow::Error::from(unknown("disk I/O error")).context("saving a session");
        assert!(is_unavailable(&chained));
        assert!(!is_unavailable(&anyhow::anyhow!("something else")));
        assert!(is_unavailable(
            &DbError::Unavailable("queue full".into()).into()
        ));
    }
}
