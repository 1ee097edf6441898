//! The r2d2 pool and the one way to use it from async code: `Db::run`, which runs the closure
//! with a connection on the database threads (one per pooled connection, see `workers`), never
//! on the async executor.
//!
//! Under a database outage nothing piles up: the job queue is bounded (`database_queue`), and a
//! job that has not got a connection within `database_timeout_secs` of being queued (waiting in
//! the queue, then for a connection) gives up with [`DbError::Unavailable`], which the HTTP layer
//! answers 503 with `Retry-After`.
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use super::connection::{Conn, Manager};
use super::{DatabaseKind, DbConnection};
use crate::workers::{WorkerError, Workers};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database can't take the job now: the queue is full, no connection came in time, or
    /// the connection failed. Answered 503, never 500.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("the database task did not complete: {0}")]
    Worker(WorkerError),
}

impl From<r2d2::Error> for DbError {
    fn from(e: r2d2::Error) -> Self {
        DbError::Unavailable(format!("no connection: {e}"))
    }
}

impl From<WorkerError> for DbError {
    fn from(e: WorkerError) -> Self {
        match e {
            WorkerError::Busy => DbError::Unavailable("the database job queue is full".into()),
            WorkerError::Lost => DbError::Worker(e),
        }
    }
}

/// How much the pool may hold and wait.
#[derive(Debug, Clone, Copy)]
pub struct DbLimits {
    /// Connections, and database threads.
    pub pool_size: u32,
    /// Jobs that may wait for a thread; beyond it a job is refused at once.
    pub queue: usize,
    /// Longest a job may wait (queue, then connection checkout) before it gives up.
    pub timeout: Duration,
}

impl DbLimits {
    /// `pool_size` connections with the default queue (256) and timeout (3 s).
    pub fn with_pool(pool_size: u32) -> DbLimits {
        DbLimits {
            pool_size,
            queue: 256,
            timeout: Duration::from_secs(3),
        }
    }
}

/// A cheap-to-clone handle on the connection pool.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    kind: Arc<DatabaseKind>,
    workers: Workers,
    timeout: Duration,
    /// Raised by [`WriteWatch`] when the storage refuses a write; lowered by [`Db::ping`] once a
    /// probe write works. While raised, `/readyz` answers 503.
    refusing_writes: Arc<AtomicBool>,
    /// Test hook, see [`Db::set_query_only_for_tests`]: 0 never used, 1 on, 2 off.
    query_only: Arc<AtomicU8>,
    /// Where each job's wait (queue, then connection checkout) is recorded (metrics).
    waits: Option<prometheus::Histogram>,
}

/// The pool's connections now (`r2d2::Pool::state`) and its size.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

/// The longest r2d2 waits between attempts to reconnect (half of it, see `Db::open_with`).
const RECONNECT_BOUND: Duration = Duration::from_secs(1);

impl Db {
    /// Opens the pool with the default queue and timeout; at least one connection must succeed.
    pub fn open(url: &str, max_size: u32) -> anyhow::Result<Db> {
        Db::open_with(url, DbLimits::with_pool(max_size))
    }

    /// Opens the pool; at least one connection must succeed.
    pub fn open_with(url: &str, limits: DbLimits) -> anyhow::Result<Db> {
        let kind = DatabaseKind::from_url(url)?;
        let refusing_writes = Arc::new(AtomicBool::new(false));
        let pool = r2d2::Pool::builder()
            .max_size(limits.pool_size)
            .min_idle(Some(1))
            // r2d2 retries a failed connection with a backoff that doubles up to half of this:
            // kept at 1 s so connections come back within half a second of the database's
            // return. Every wait for a connection passes its own timeout (`limits.timeout`).
            .connection_timeout(RECONNECT_BOUND.min(limits.timeout))
            // A network connection can die between uses; a SQLite file connection cannot, so
            // it skips the per-checkout `SELECT 1`.
            .test_on_check_out(matches!(kind, DatabaseKind::Postgres(_)))
            .build_unchecked(Manager {
                kind: kind.clone(),
                refusing_writes: refusing_writes.clone(),
            });
        drop(
            pool.get_timeout(limits.timeout)
                .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?,
        );
        Ok(Db {
            pool,
            kind: Arc::new(kind),
            workers: Workers::new(
                "portcullis-db",
                limits.pool_size as usize,
                Some(limits.queue.max(1)),
            )?,
            timeout: limits.timeout,
            refusing_writes,
            query_only: Arc::new(AtomicU8::new(0)),
            waits: None,
        })
    }

    /// Records every job's wait for a thread and a connection in `histogram`.
    pub fn observe_waits(mut self, histogram: Option<prometheus::Histogram>) -> Db {
        self.waits = histogram;
        self
    }

    /// Jobs waiting for a database thread now.
    pub fn queued(&self) -> usize {
        self.workers.queued()
    }

    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get_timeout(self.timeout)?;
        super::run_migrations(&mut conn)
    }

    /// How long a job may wait for a thread and a connection before it is answered
    /// [`DbError::Unavailable`].
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn kind(&self) -> &DatabaseKind {
        &self.kind
    }

    /// A connection for synchronous callers (the CLI). Async code uses [`Db::run`].
    pub fn get(&self) -> Result<Conn, DbError> {
        Ok(Conn(self.pool.get_timeout(self.timeout)?))
    }

    /// Runs `f` with a pooled connection on the database threads. Gives up with
    /// [`DbError::Unavailable`] when the queue is full or no connection is in hand within the
    /// timeout of the call (queueing included).
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let queued = Instant::now();
        let deadline = queued + self.timeout;
        let query_only = self.query_only.clone();
        let waits = self.waits.clone();
        self.workers
            .run(move || {
                let left = deadline.saturating_duration_since(Instant::now());
                let conn = (!left.is_zero()).then(|| pool.get_timeout(left));
                if let Some(h) = &waits {
                    h.observe(queued.elapsed().as_secs_f64());
                }
                let Some(conn) = conn else {
                    return Err(E::from(DbError::Unavailable(
                        "the job waited too long for a database thread".into(),
                    )));
                };
                match conn {
                    Ok(mut conn) => {
                        apply_query_only(&query_only, &mut conn);
                        super::clients::job_started();
                        let result = f(&mut conn);
                        // After the job's transactions ended: a client cache that sees the
                        // count move can only re-read what is committed.
                        super::clients::job_ended();
                        conn.proven = result.is_ok().then(Instant::now);
                        result
                    }
                    Err(e) => Err(E::from(DbError::from(e))),
                }
            })
            .await
            .map_err(DbError::from)?
    }

    /// Test hook (SQLite): `PRAGMA query_only` on every connection a job or readiness check
    /// uses, so writes fail with `SQLITE_READONLY` as they do on a read-only file or a full disk
    /// (the tests run as root, which ignores file modes). Not a setting; nothing but tests calls
    /// it, and until it is called it costs one atomic load per job.
    #[doc(hidden)]
    pub fn set_query_only_for_tests(&self, on: bool) {
        self.query_only
            .store(if on { 1 } else { 2 }, Ordering::Relaxed);
    }

    /// Whether a write failed because the storage refuses writes and no probe write has worked
    /// since.
    pub fn refusing_writes(&self) -> bool {
        self.refusing_writes.load(Ordering::Relaxed)
    }

    /// Readiness: the database answers within `timeout` (and, for SQLite, the file is still
    /// there); after a write was refused, a probe write must work too.
    pub async fn ping(&self, timeout: Duration) -> Result<(), String> {
        if let DatabaseKind::Sqlite(path) = &*self.kind {
            if !std::path::Path::new(path).exists() {
                return Err(format!("database file {path} is missing"));
            }
        }
        let pool = self.pool.clone();
        let refusing_writes = self.refusing_writes.clone();
        let query_only = self.query_only.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        // Not through the job queue: readiness must answer even when the queue is long.
        std::thread::spawn(move || {
            let outcome = pool
                .get_timeout(timeout)
                .map_err(|e| format!("database unreachable: {e}"))
                .and_then(|mut conn| {
                    apply_query_only(&query_only, &mut conn);
                    diesel::sql_query("SELECT 1")
                        .execute(&mut conn.conn)
                        .map_err(|e| format!("database unreachable: {e}"))?;
                    if refusing_writes.load(Ordering::Relaxed) {
                        probe_write(&mut conn)
                            .map_err(|e| format!("the database refuses writes: {e}"))?;
                        refusing_writes.store(false, Ordering::Relaxed);
                        tracing::info!("the database takes writes again");
                    }
                    Ok(())
                });
            let _ = done.send(outcome);
        });
        match result.await {
            Ok(r) => r,
            Err(_) => Err("database check failed".to_string()),
        }
    }
}

/// A write that changes nothing but needs the write lock (SQLite) or a writable transaction
/// (PostgreSQL), rolled back.
fn probe_write(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    let outcome = conn.transaction::<(), diesel::result::Error, _>(|c| {
        diesel::sql_query("UPDATE login_throttle SET failures = failures WHERE 1 = 0")
            .execute(c)?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    match outcome {
        Err(diesel::result::Error::RollbackTransaction) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

fn apply_query_only(state: &AtomicU8, conn: &mut DbConnection) {
    let pragma = match state.load(Ordering::Relaxed) {
        1 => "PRAGMA query_only = ON",
        2 => "PRAGMA query_only = OFF",
        _ => return,
    };
    if let DbConnection::Sqlite(c) = conn {
        let _ = c.batch_execute(pragma);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(limits: DbLimits) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (dir, Db::open_with(&url, limits).unwrap())
    }

    /// Holds the only database thread until the returned sender is dropped or sent to.
    async fn occupy(db: &Db) -> std::sync::mpsc::Sender<()> {
        let (gate, wait) = std::sync::mpsc::channel::<()>();
        let db2 = db.clone();
        tokio::spawn(async move {
            db2.run(move |_| Ok::<_, DbError>(wait.recv().is_ok()))
                .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        gate
    }

    #[tokio::test]
    async fn a_full_queue_is_unavailable_at_once() {
        let (_dir, db) = sqlite(DbLimits {
            pool_size: 1,
            queue: 1,
            timeout: Duration::from_secs(3),
        });
        let gate = occupy(&db).await;
        let queued = {
            let db = db.clone();
            tokio::spawn(async move { db.run(|_| Ok::<_, DbError>(1)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let refused = db.run(|_| Ok::<_, DbError>(0)).await;
        assert!(
            matches!(refused, Err(DbError::Unavailable(_))),
            "{refused:?}"
        );
        assert!(started.elapsed() < Duration::from_millis(100));
        gate.send(()).unwrap();
        assert_eq!(queued.await.unwrap().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_job_that_cannot_start_in_time_gives_up() {
        let (_dir, db) = sqlite(DbLimits {
            pool_size: 1,
            queue: 8,
            timeout: Duration::from_millis(300),
        });
        let gate = occupy(&db).await;
        let late = {
            let db = db.clone();
            tokio::spawn(async move { db.run(|_| Ok::<_, DbError>(1)).await })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        gate.send(()).unwrap();
        let late = late.await.unwrap();
        assert!(matches!(late, Err(DbError::Unavailable(_))), "{late:?}");
        // The queue drained; the next job runs.
        assert_eq!(db.run(|_| Ok::<_, DbError>(2)).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_refused_write_makes_ping_fail_until_writes_work() {
        let (_dir, db) = sqlite(DbLimits::with_pool(2));
        db.migrate().unwrap();
        assert_eq!(db.ping(Duration::from_secs(2)).await, Ok(()));
        db.set_query_only_for_tests(true);
        let write = db
            .run(|c| {
                diesel::sql_query("DELETE FROM login_throttle")
                    .execute(c)
                    .map_err(anyhow::Error::from)
            })
            .await
            .unwrap_err();
        assert!(super::super::outage::is_unavailable(&write), "{write:?}");
        assert!(db.refusing_writes());
        assert!(db.ping(Duration::from_secs(2)).await.is_err());
        db.set_query_only_for_tests(false);
        assert_eq!(db.ping(Duration::from_secs(2)).await, Ok(()));
        assert!(!db.refusing_writes());
    }
}
