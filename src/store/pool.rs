//! The r2d2 pool and the one way to use it from async code: `Db::run`, which runs the closure
//! with a connection on the database threads (one per pooled connection, see `workers`), never
//! on the async executor.
use std::sync::Arc;
use std::time::Duration;

use diesel::RunQueryDsl;

use super::{DatabaseKind, DbConnection};
use crate::workers::{WorkerError, Workers};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("the database task did not complete: {0}")]
    Worker(#[from] WorkerError),
}

/// The r2d2 connection manager: connects per [`DatabaseKind`], SQLite PRAGMAs applied.
pub struct Manager {
    kind: DatabaseKind,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.kind.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// A cheap-to-clone handle on the connection pool.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    kind: Arc<DatabaseKind>,
    workers: Workers,
}

impl Db {
    /// Opens the pool; at least one connection must succeed.
    pub fn open(url: &str, max_size: u32) -> anyhow::Result<Db> {
        let kind = DatabaseKind::from_url(url)?;
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            // A network connection can die between uses; a SQLite file connection cannot, so
            // it skips the per-checkout `SELECT 1`.
            .test_on_check_out(matches!(kind, DatabaseKind::Postgres(_)))
            .build(Manager { kind: kind.clone() })
            .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
        Ok(Db {
            pool,
            kind: Arc::new(kind),
            workers: Workers::new("portcullis-db", max_size as usize, None)?,
        })
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get()?;
        super::run_migrations(&mut conn)
    }

    pub fn kind(&self) -> &DatabaseKind {
        &self.kind
    }

    /// A connection for synchronous callers (the CLI). Async code uses [`Db::run`].
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` with a pooled connection on the database threads.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        self.workers
            .run(move || match pool.get() {
                Ok(mut conn) => f(&mut conn),
                Err(e) => Err(E::from(DbError::from(e))),
            })
            .await
            .map_err(DbError::from)?
    }

    /// Readiness: the database answers within `timeout` (and, for SQLite, the file is still there).
    pub async fn ping(&self, timeout: Duration) -> Result<(), String> {
        if let DatabaseKind::Sqlite(path) = &*self.kind {
            if !std::path::Path::new(path).exists() {
                return Err(format!("database file {path} is missing"));
            }
        }
        let pool = self.pool.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        // Not through the job queue: readiness must answer even when the queue is long.
        std::thread::spawn(move || {
            let outcome = pool
                .get_timeout(timeout)
                .map_err(|e| e.to_string())
                .and_then(|mut conn| {
                    diesel::sql_query("SELECT 1")
                        .execute(&mut *conn)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                });
            let _ = done.send(outcome);
        });
        match result.await {
            Ok(r) => r.map_err(|e| format!("database unreachable: {e}")),
            Err(_) => Err("database check failed".to_string()),
        }
    }
}
