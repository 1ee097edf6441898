//! The r2d2 pool and the one way to use it from async code: `Db::run`, which takes a connection
//! and runs the closure on the blocking thread pool, never on the async executor.
use std::sync::Arc;
use std::time::Duration;

use diesel::RunQueryDsl;

use super::{DatabaseKind, DbConnection};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("the blocking task failed: {0}")]
    Join(String),
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
    /// One permit per pooled connection, handed out in arrival order: waiting requests queue
    /// here, fairly and without holding a thread, instead of parking blocking threads on the
    /// pool (which on a small machine turns into scheduler-driven tail latency).
    permits: Arc<tokio::sync::Semaphore>,
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
            permits: Arc::new(tokio::sync::Semaphore::new(max_size as usize)),
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

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| DbError::Join(e.to_string()))?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get().map_err(DbError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| DbError::Join(e.to_string()))?
    }

    /// Readiness: the database answers within `timeout` (and, for SQLite, the file is still there).
    pub async fn ping(&self, timeout: Duration) -> Result<(), String> {
        if let DatabaseKind::Sqlite(path) = &*self.kind {
            if !std::path::Path::new(path).exists() {
                return Err(format!("database file {path} is missing"));
            }
        }
        let pool = self.pool.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_timeout(timeout).map_err(|e| e.to_string())?;
            diesel::sql_query("SELECT 1")
                .execute(&mut *conn)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await;
        match result {
            Ok(r) => r.map_err(|e| format!("database unreachable: {e}")),
            Err(e) => Err(format!("database check failed: {e}")),
        }
    }
}
