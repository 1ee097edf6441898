//! Queries on `api_keys` and `revoked_tokens`.
use diesel::prelude::*;

use super::schema::{api_keys, revoked_tokens};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub retire_at: Option<i64>,
    pub created_by_client: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ApiKeyRow) -> QueryResult<()> {
    diesel::insert_into(api_keys::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .find(id)
        .select(ApiKeyRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_prefix(conn: &mut DbConnection, prefix: &str) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::prefix.eq(prefix))
        .select(ApiKeyRow::as_select())
        .get_result(conn)
        .optional()
}

/// Keys, newest first; one user's when `user_id` is given.
pub fn list(conn: &mut DbConnection, user_id: Option<&str>) -> QueryResult<Vec<ApiKeyRow>> {
    let mut q = api_keys::table.into_boxed();
    if let Some(u) = user_id {
        q = q.filter(api_keys::user_id.eq(u.to_string()));
    }
    q.order((api_keys::created_at.desc(), api_keys::id.asc()))
        .select(ApiKeyRow::as_select())
        .load(conn)
}

/// Revokes a live key; `false` when there was none.
pub fn revoke(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
    diesel::update(
        api_keys::table
            .find(id)
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n > 0)
}

/// Schedules a key's retirement (rotation); `false` when it is not live.
pub fn retire_at(conn: &mut DbConnection, id: &str, at: i64) -> QueryResult<bool> {
    diesel::update(
        api_keys::table
            .find(id)
            .filter(api_keys::revoked_at.is_null())
            .filter(api_keys::retire_at.is_null()),
    )
    .set(api_keys::retire_at.eq(at))
    .execute(conn)
    .map(|n| n > 0)
}

/// Records a use, at most once a minute per key (one conditional UPDATE, usually a no-op).
pub fn touch(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(
        api_keys::table.find(id).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.le(now - 60)),
        ),
    )
    .set(api_keys::last_used_at.eq(now))
    .execute(conn)
    .map(|_| ())
}

/// Denies an access token's `jti` until it expires (and forgets long-expired entries).
pub fn revoke_jti(
    conn: &mut DbConnection,
    jti: &str,
    expires_at: i64,
    now: i64,
) -> QueryResult<()> {
    diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(now - 3600)))
        .execute(conn)?;
    let exists = revoked_tokens::table
        .find(jti)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        diesel::insert_into(revoked_tokens::table)
            .values((
                revoked_tokens::jti.eq(jti),
                revoked_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn is_jti_revoked(conn: &mut DbConnection, jti: &str) -> QueryResult<bool> {
    on_backend!(conn, |c| revoked_tokens::table
        .find(jti)
        .count()
        .get_result::<i64>(c)
        .map(|n| n > 0))
}
