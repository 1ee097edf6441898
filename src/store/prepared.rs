//! Writes prepared once per connection. Diesel never caches the prepared statement of an
//! `UPDATE` or a single-row `INSERT` (their SQL can vary with the values: `DEFAULT` for a
//! `None`, one `SET` per optional change), so on PostgreSQL each such write was parsed and
//! planned anew, in a round trip of its own before the one that runs it (seen with
//! `log_min_duration_statement = 0`: `parse <unnamed>`, then `bind`/`execute`): four of the
//! writes of every refresh, twelve round trips in all. [`Prepared`] marks a write whose shapes
//! are few as safe to cache, keyed by its SQL text (never by its Rust type), so each shape it
//! takes gets a statement of its own, prepared at its first use on a connection.
//!
//! Only for statements whose SQL has a bounded number of shapes: never around an `IN` list of
//! binds (SQLite) or a multi-row insert. And only through Diesel's load path (`get_result`,
//! `load`: a write with `RETURNING`): `execute` hands the statement on by reference, and the
//! reference's `QueryFragment` asks the statement's parts, never this wrapper.
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A statement Diesel may keep prepared (see the module).
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(pub Q);

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // Keyed by the SQL text: statements of one type but different SQL (a `None` written as
    // `DEFAULT`) each get their own.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, DB> QueryFragment<DB> for Prepared<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    // Diesel's own answer for writes is "no" (see the module); this is the one place that
    // overrides it (a hidden method of `QueryFragment`: Diesel is pinned in Cargo.lock, and a
    // change to it fails the build, not a query).
    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}
