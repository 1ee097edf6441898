//! Pooled connections: the r2d2 manager (connect per backend, watch for storage that refuses
//! writes), the pooled connection that remembers when it last served a job without error, and
//! the guard synchronous callers hold.
use std::ops::{Deref, DerefMut};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};

use super::outage::WriteWatch;
use super::{DatabaseKind, DbConnection};

/// How recently a connection must have served a job without error to be handed out again
/// without the checkout's `SELECT 1` (PostgreSQL; see [`Pooled`]).
const PROVEN_FOR: Duration = Duration::from_secs(1);

/// A pooled connection, and when a job last used it without error.
///
/// A network connection can die between uses, so PostgreSQL connections are tested with
/// `SELECT 1` when checked out, which was one round trip in every job (of the two a
/// client_credentials request makes, of the twelve of a refresh). A connection that has just
/// served a job without error is handed out again untested for [`PROVEN_FOR`]; a job that
/// failed, for any reason, has its connection tested at its next checkout. So after an outage
/// every connection that was idle through it (or failed in it) is tested and replaced before
/// use, as before; only one that served a request less than a second before the database died
/// can fail once more, which is what a connection in use at that moment does anyway.
pub struct Pooled {
    pub(super) conn: DbConnection,
    pub(super) proven: Option<Instant>,
}

impl Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// A connection checked out for synchronous callers (the CLI, start-up), back to the pool when
/// dropped.
pub struct Conn(pub(super) r2d2::PooledConnection<Manager>);

impl Deref for Conn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.0.conn
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0.conn
    }
}

/// The r2d2 connection manager: connects per [`DatabaseKind`], SQLite PRAGMAs applied, and
/// watches every connection for a storage that refuses writes.
pub struct Manager {
    pub(super) kind: DatabaseKind,
    pub(super) refusing_writes: Arc<AtomicBool>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let mut conn = self.kind.connect()?;
        conn.set_instrumentation(WriteWatch(self.refusing_writes.clone()));
        Ok(Pooled { conn, proven: None })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        if conn.proven.is_some_and(|t| t.elapsed() < PROVEN_FOR) {
            return Ok(());
        }
        diesel::sql_query("SELECT 1")
            .execute(&mut conn.conn)
            .map(|_| ())
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut Pooled) -> bool {
        false
    }
}
