//! Queries on `sessions` and `refresh_tokens`. The rules that make rotation and reuse detection
//! safe across instances live in single statements here: a token is claimed by one conditional
//! UPDATE, which exactly one concurrent caller can win on either backend.
use diesel::prelude::*;

use super::prepared::Prepared;
use super::schema::{refresh_tokens, sessions, users};
use super::users::UserRow;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable, PartialEq)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub ended_at: Option<i64>,
    /// SHA-256 of the browser cookie, for a session started by a browser sign-in.
    pub cookie_hash: Option<String>,
    pub cookie_seen_at: Option<i64>,
    /// How the user authenticated (OIDC `amr` value).
    pub amr: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub token_hash: String,
    pub family_id: String,
    pub session_id: String,
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub idle_expires_at: i64,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The token this one was issued in exchange for (`None` for the first of a family).
    pub parent_id: Option<String>,
    /// The resources the family was authorized for (JSON array; `[]`: none named).
    pub resources: String,
    /// The DPoP key (RFC 9449 thumbprint) the family is bound to (public clients).
    pub dpop_jkt: Option<String>,
}

pub fn insert_session(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_session(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SessionRow>> {
    on_backend!(conn, |c| sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .get_result(c)
        .optional())
}

/// A user's live sessions, oldest first.
pub fn active_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    now: i64,
) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order((sessions::created_at.asc(), sessions::id.asc()))
        .select(SessionRow::as_select())
        .load(conn)
}

pub fn touch_session(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<()> {
    on_backend!(conn, |c| Prepared(
        diesel::update(sessions::table.find(id))
            .set(sessions::last_seen_at.eq(now))
            .returning(sessions::id)
    )
    .load::<String>(c)
    .map(|_| ()))
}

/// Ends a session and revokes its refresh tokens; `false` when it was not live. Every path that
/// ends a session comes here, so this is also where the back-channel logout deliveries to the
/// session's clients are queued (`logout_deliveries`), in the caller's transaction.
pub fn end_session(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
    let ended = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(now))
    .execute(conn)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::session_id.eq(id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    if ended > 0 {
        if let Some(session) = find_session(conn, id)? {
            super::logout_deliveries::enqueue_for_session(conn, &session, now)?;
        }
    }
    Ok(ended > 0)
}

pub fn insert_refresh_token(conn: &mut DbConnection, row: &RefreshTokenRow) -> QueryResult<()> {
    on_backend!(conn, |c| Prepared(
        diesel::insert_into(refresh_tokens::table)
            .values(row)
            .returning(refresh_tokens::id)
    )
    .load::<String>(c)
    .map(|_| ()))
}

/// Binds a new refresh token family (its first row, `id`) to a DPoP key (RFC 9449 §5).
pub fn bind_refresh_token_dpop(conn: &mut DbConnection, id: &str, jkt: &str) -> QueryResult<()> {
    on_backend!(conn, |c| diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::dpop_jkt.eq(jkt))
        .execute(c)
        .map(|_| ()))
}

pub fn find_refresh_token(
    conn: &mut DbConnection,
    hash: &str,
) -> QueryResult<Option<RefreshTokenRow>> {
    on_backend!(conn, |c| refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .get_result(c)
        .optional())
}

/// [`find_refresh_token`] with the token's user, in one statement (a refresh needs both).
pub fn find_refresh_token_and_user(
    conn: &mut DbConnection,
    hash: &str,
) -> QueryResult<Option<(RefreshTokenRow, Option<UserRow>)>> {
    on_backend!(conn, |c| refresh_tokens::table
        .left_join(users::table.on(users::id.eq(refresh_tokens::user_id)))
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(<(RefreshTokenRow, Option<UserRow>)>::as_select())
        .get_result(c)
        .optional())
}

/// A refresh token row by its id (also the `jti` of the access token issued with it).
pub fn find_refresh_token_by_id(
    conn: &mut DbConnection,
    id: &str,
) -> QueryResult<Option<RefreshTokenRow>> {
    on_backend!(conn, |c| refresh_tokens::table
        .find(id)
        .select(RefreshTokenRow::as_select())
        .get_result(c)
        .optional())
}

/// `rotated_at IS NULL AND revoked_at IS NULL`, written so that no index can serve it: beside a
/// key, PostgreSQL's guess for `IS NULL` on a table not yet analyzed is as selective as the key,
/// and it would scan `revoked_at`'s index, every live token (see `store::rotation`).
fn neither_rotated_nor_revoked() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("COALESCE(refresh_tokens.rotated_at, refresh_tokens.revoked_at) IS NULL")
}

/// Marks the live, unexpired token with `hash` of `client_id` rotated and returns its row (now
/// rotated), only to the one caller that did it: the rotation's common case in one statement
/// instead of a read and an update. `None` when the token is not live (the caller then reads it
/// to tell why).
pub fn claim_refresh_token_row(
    conn: &mut DbConnection,
    hash: &str,
    client_id: &str,
    now: i64,
) -> QueryResult<Option<RefreshTokenRow>> {
    on_backend!(conn, |c| Prepared(
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(hash))
                .filter(refresh_tokens::client_id.eq(client_id))
                .filter(neither_rotated_nor_revoked())
                .filter(refresh_tokens::expires_at.gt(now))
                .filter(refresh_tokens::idle_expires_at.gt(now)),
        )
        .set(refresh_tokens::rotated_at.eq(now))
        .returning(RefreshTokenRow::as_returning())
    )
    .get_result(c)
    .optional())
}

/// Locks a session's row until the transaction ends, and reads it: every rotation in the
/// session's families takes this lock first, before touching any refresh-token row, so
/// concurrent refreshes queue here in one order and cannot deadlock (`end_session` also locks
/// the session row first). SQLite needs no row lock: `write_transaction` already holds the
/// database's write lock. Either way nobody else changes the row until the transaction ends,
/// so the row read here stays current for it.
pub fn lock_session(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SessionRow>> {
    let query = sessions::table.find(id);
    match conn {
        DbConnection::Postgres(pg) => query
            .select(SessionRow::as_select())
            .for_no_key_update()
            .get_result(pg)
            .optional(),
        DbConnection::Sqlite(lite) => query
            .select(SessionRow::as_select())
            .get_result(lite)
            .optional(),
    }
}

/// The successor of `parent_id` that was issued but never used (nor revoked), if any.
pub fn live_successor(
    conn: &mut DbConnection,
    parent_id: &str,
) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::parent_id.eq(parent_id))
        .filter(neither_rotated_nor_revoked())
        .select(RefreshTokenRow::as_select())
        .get_result(conn)
        .optional()
}

/// Revokes one token unless it was already used or revoked; `true` when it did.
pub fn revoke_unused(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Revokes every live token of a family; returns how many.
pub fn revoke_family(conn: &mut DbConnection, family_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// The live session whose browser cookie hashes to `hash`.
pub fn find_by_cookie(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<SessionRow>> {
    on_backend!(conn, |c| sessions::table
        .filter(sessions::cookie_hash.eq(hash))
        .filter(sessions::ended_at.is_null())
        .select(SessionRow::as_select())
        .get_result(c)
        .optional())
}

/// Records browser activity on a session (its idle timeout restarts).
pub fn touch_cookie(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<()> {
    on_backend!(conn, |c| diesel::update(sessions::table.find(id))
        .set(sessions::cookie_seen_at.eq(now))
        .execute(c)
        .map(|_| ()))
}

/// A fresh authentication on an existing session (prompt=login, max_age).
pub fn set_auth_time(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::auth_time.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Gives a session a (new) browser cookie and records how the user authenticated.
pub fn attach_cookie(
    conn: &mut DbConnection,
    id: &str,
    cookie_hash: &str,
    amr: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::cookie_hash.eq(cookie_hash),
            sessions::cookie_seen_at.eq(now),
            sessions::amr.eq(amr),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records that a live session's user proved more methods (`amr`), e.g. a second factor set up
/// while signed in.
pub fn set_amr(conn: &mut DbConnection, id: &str, amr: &str) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::amr.eq(amr))
        .execute(conn)
        .map(|_| ())
}

/// Revokes every refresh token of a user still unrevoked (a password reset); returns how many.
pub fn revoke_user_refresh_tokens(
    conn: &mut DbConnection,
    user_id: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// How many sessions are live at `now` (every user's).
pub fn count_live(conn: &mut DbConnection, now: i64) -> QueryResult<i64> {
    sessions::table
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .count()
        .get_result(conn)
}
