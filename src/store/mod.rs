//! Storage: the connection pool (SQLite or PostgreSQL, chosen by URL), embedded migrations, the
//! Diesel schema and one file of queries per table family. Nothing above this module writes SQL.
//!
//! One `DbConnection` (a Diesel `MultiConnection`) serves both backends, so every query is written
//! once. Ids are `TEXT`, timestamps `BIGINT` Unix seconds, booleans `BOOLEAN` and lists JSON
//! arrays in `TEXT`: types both backends share and compare the same way.
//!
//! Single-row lookups (by a primary or unique key) use `get_result`, never `first`: `first`
//! adds `LIMIT ?`, and SQLite (3.4x) re-prepares a statement whose `LIMIT` is a bound parameter
//! each time it is bound, which had every cached lookup parsed and planned again on every
//! request (6% of the server's CPU under client_credentials load, bench/RESULTS.md 2026-12-06).
//! `get_result` reads only the first row, so the answer is the same.
/// Runs `$body` with `$c` bound to the backend's own connection (`SqliteConnection` or
/// `PgConnection`) instead of the `MultiConnection`, for the queries on the hot paths (client,
/// token, session and user lookups; the writes of a refresh or a code exchange). Through
/// `DbConnection` Diesel keys its prepared-statement cache by the SQL text, which it builds anew
/// on every call (a client row is 18 quoted identifiers: 8–20% of the server's CPU at
/// client_credentials and introspection load); on the backend's own connection a query of a
/// static type is keyed by its type, and its SQL is built once. (Defined before the modules
/// below, which use it.)
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::DbConnection::Sqlite($c) => $body,
            $crate::store::DbConnection::Postgres($c) => $body,
        }
    };
}

pub mod api_keys;
pub mod audit;
pub mod authorize;
pub mod client_assertions;
pub mod client_registrations;
pub mod clients;
mod connection;
pub mod device;
pub mod dpop;
pub mod email_tokens;
pub mod federation;
pub mod federation_providers;
pub mod guesses;
pub mod leases;
pub mod liveness;
pub mod logout_deliveries;
pub mod mfa_challenges;
pub mod outage;
pub mod passkeys;
mod pool;
pub mod prepared;
pub mod purge;
pub mod pushed_requests;
pub mod roles;
pub mod rotation;
pub mod schema;
pub mod server_secrets;
pub mod sessions;
pub mod signing_keys;
pub mod totp;
pub mod users;

pub use connection::Conn;
pub use outage::is_unavailable;
pub use pool::{Db, DbError, DbLimits, PoolState};

use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// An arbitrary, fixed key for `pg_advisory_lock`: instances starting together migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x706f_7274_6375;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which backend a database URL selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// A file path (the part after `sqlite://`).
    Sqlite(String),
    Postgres(String),
}

impl DatabaseKind {
    pub fn from_url(url: &str) -> anyhow::Result<DatabaseKind> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                bail!("database_url sqlite:// needs a file path, e.g. sqlite://portcullis.db");
            }
            Ok(DatabaseKind::Sqlite(path.to_string()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseKind::Postgres(url.to_string()))
        } else {
            bail!("database_url must start with sqlite:// or postgres:// (got {url:?})")
        }
    }

    pub fn connect(&self) -> diesel::ConnectionResult<DbConnection> {
        match self {
            DatabaseKind::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // The busy timeout first, so the other PRAGMAs also wait out a concurrent writer
                // (another instance, or the CLI) instead of failing at once; WAL lets readers
                // run beside the writer; foreign keys are off by default in SQLite.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseKind::Postgres(url) => {
                Ok(DbConnection::Postgres(PgConnection::establish(url)?))
            }
        }
    }
}

/// Applies pending migrations for the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<usize> {
    match conn {
        DbConnection::Sqlite(c) => {
            let done = c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("applying SQLite migrations")?;
            Ok(done.len())
        }
        DbConnection::Postgres(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(c)
                .context("taking the migration lock")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|d| d.len())
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("applying PostgreSQL migrations");
            let _ = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(c);
            result
        }
    }
}

/// Every migration this build knows, by name (`2026-12-06-000004_refresh_successor`), oldest
/// first.
pub fn known_migrations(kind: &DatabaseKind) -> anyhow::Result<Vec<String>> {
    use diesel::migration::MigrationSource;
    let names = match kind {
        DatabaseKind::Sqlite(_) => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .iter()
                .map(|m| m.name().to_string())
                .collect()
        }
        DatabaseKind::Postgres(_) => {
            MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .iter()
                .map(|m| m.name().to_string())
                .collect()
        }
    };
    Ok(names)
}

/// The migrations not yet applied to this database, by name, oldest first. Changes nothing in
/// a database that has its schema; call it only on one that has (see [`has_schema`]).
pub fn pending_migrations(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let pending: Vec<String> = match conn {
        DbConnection::Sqlite(c) => c
            .pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
        DbConnection::Postgres(c) => c
            .pending_migrations(POSTGRES_MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
    };
    Ok(pending)
}

/// Whether migrations have ever run on this database (without creating anything in it).
pub fn has_schema(conn: &mut DbConnection) -> anyhow::Result<bool> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT COUNT(*) AS n FROM sqlite_master \
             WHERE type = 'table' AND name = '__diesel_schema_migrations'"
        }
        DbConnection::Postgres(_) => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '__diesel_schema_migrations'"
        }
    };
    let found: Count = diesel::sql_query(sql)
        .get_result(conn)
        .context("looking for the schema")?;
    Ok(found.n > 0)
}

/// Reverts every migration (used by the up → down → up check).
pub fn revert_all_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))
}

/// Whether PostgreSQL aborted the transaction because of a concurrent one (a serialization
/// failure, SQLSTATE 40001, or a deadlock, 40P01, which Diesel reports only by its message): the
/// other transaction went first, and the caller may answer as if this one came after it.
pub fn is_contention(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

/// Runs `f` in a transaction that takes the write lock up front. A SQLite transaction that
/// reads before it writes would otherwise fail with `SQLITE_BUSY_SNAPSHOT` (no busy wait) when
/// another connection wrote in between; a no-op write as the first statement makes it queue on
/// the busy timeout instead. PostgreSQL needs nothing: its row locks and conditional updates
/// decide. Nests (as a savepoint) inside another transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.transaction(|c| {
        if matches!(c, DbConnection::Sqlite(_)) {
            diesel::sql_query("UPDATE login_throttle SET failures = failures WHERE 1 = 0")
                .execute(c)?;
        }
        f(c)
    })
}
