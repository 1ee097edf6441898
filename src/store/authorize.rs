//! Queries on `authorization_requests`, `authorization_codes` and `consents`. A code is redeemed
//! by one conditional UPDATE, which exactly one concurrent exchange can win on either backend.
use diesel::prelude::*;

use super::prepared::Prepared;
use super::schema::{authorization_codes, authorization_requests, consents};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = authorization_requests)]
pub struct RequestRow {
    pub id: String,
    pub browser_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub response_mode: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: String,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub authenticated_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    pub acr_values: Option<String>,
    /// RFC 8707 `resource` values (JSON array, `oauth::resource::to_stored`).
    pub resources: String,
    /// OIDC `ui_locales`, as the request gave it (the pages' language: `i18n::negotiate`).
    pub ui_locales: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = authorization_codes)]
pub struct CodeRow {
    pub code_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub session_id: String,
    pub user_id: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub access_jti: Option<String>,
    pub access_expires_at: Option<i64>,
    pub refresh_token_hash: Option<String>,
    /// The resources the authorization request was granted (JSON array; `[]`: none named).
    pub resources: String,
}

/// Stores a pending request. Expired ones go with the purge (`purge`), not here: a delete by
/// expiry on every insert was a statement more per request, and on a table PostgreSQL had not
/// analyzed yet, a scan of all of it (measured on the code flow's codes: 5,000 rows read per
/// code after twenty seconds).
pub fn insert_request(conn: &mut DbConnection, row: &RequestRow) -> QueryResult<()> {
    diesel::insert_into(authorization_requests::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_request(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RequestRow>> {
    authorization_requests::table
        .find(id)
        .select(RequestRow::as_select())
        .get_result(conn)
        .optional()
}

/// Records a fresh sign-in for a pending request; `false` when it is gone (finished).
pub fn mark_authenticated(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
    diesel::update(authorization_requests::table.find(id))
        .set(authorization_requests::authenticated_at.eq(now))
        .execute(conn)
        .map(|n| n == 1)
}

/// Binds a pending request to another browser value (the binding rotates at sign-in).
pub fn rebind(conn: &mut DbConnection, id: &str, browser_hash: &str) -> QueryResult<bool> {
    diesel::update(authorization_requests::table.find(id))
        .set(authorization_requests::browser_hash.eq(browser_hash))
        .execute(conn)
        .map(|n| n == 1)
}

/// Deletes a finished request; `false` when another tab finished it first.
pub fn delete_request(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::delete(authorization_requests::table.find(id))
        .execute(conn)
        .map(|n| n == 1)
}

/// Stores a code (expired ones go with the purge, as for [`insert_request`]).
pub fn insert_code(conn: &mut DbConnection, row: &CodeRow) -> QueryResult<()> {
    on_backend!(conn, |c| Prepared(
        diesel::insert_into(authorization_codes::table)
            .values(row)
            .returning(authorization_codes::code_hash)
    )
    .load::<String>(c)
    .map(|_| ()))
}

pub fn find_code(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<CodeRow>> {
    on_backend!(conn, |c| authorization_codes::table
        .find(hash)
        .select(CodeRow::as_select())
        .get_result(c)
        .optional())
}

/// Marks an unused, unexpired code used; `true` only for the one caller that did it.
pub fn claim_code(conn: &mut DbConnection, hash: &str, now: i64) -> QueryResult<bool> {
    on_backend!(conn, |c| Prepared(
        diesel::update(
            authorization_codes::table
                .find(hash)
                .filter(authorization_codes::used_at.is_null())
                .filter(authorization_codes::expires_at.gt(now)),
        )
        .set(authorization_codes::used_at.eq(now))
        .returning(authorization_codes::code_hash)
    )
    .load::<String>(c)
    .map(|claimed| claimed.len() == 1))
}

/// Records what a code's exchange issued, so a replay can revoke it.
pub fn record_issued(
    conn: &mut DbConnection,
    hash: &str,
    access_jti: &str,
    access_expires_at: i64,
    refresh_token_hash: Option<&str>,
) -> QueryResult<()> {
    on_backend!(conn, |c| Prepared(
        diesel::update(authorization_codes::table.find(hash))
            .set((
                authorization_codes::access_jti.eq(access_jti),
                authorization_codes::access_expires_at.eq(access_expires_at),
                authorization_codes::refresh_token_hash.eq(refresh_token_hash),
            ))
            .returning(authorization_codes::code_hash)
    )
    .load::<String>(c)
    .map(|_| ()))
}

/// The scopes `user_id` has allowed `client_id` (space-separated), if any.
pub fn find_consent(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
) -> QueryResult<Option<String>> {
    on_backend!(conn, |c| consents::table
        .find((user_id, client_id))
        .select(consents::scope)
        .get_result(c)
        .optional())
}

/// Forgets every consent given to `client_id` (its users are asked again); how many there were.
pub fn forget_consents(conn: &mut DbConnection, client_id: &str) -> QueryResult<usize> {
    diesel::delete(consents::table.filter(consents::client_id.eq(client_id))).execute(conn)
}

/// Stores the scopes a user allowed a client, replacing what was stored.
pub fn save_consent(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: i64,
) -> QueryResult<()> {
    let updated = diesel::update(consents::table.find((user_id, client_id)))
        .set((consents::scope.eq(scope), consents::granted_at.eq(now)))
        .execute(conn)?;
    if updated > 0 {
        return Ok(());
    }
    // In a savepoint: when another request inserted first, its row is updated instead.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(consents::table)
            .values((
                consents::user_id.eq(user_id),
                consents::client_id.eq(client_id),
                consents::scope.eq(scope),
                consents::granted_at.eq(now),
            ))
            .execute(c)
    });
    match inserted {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => diesel::update(consents::table.find((user_id, client_id)))
            .set((consents::scope.eq(scope), consents::granted_at.eq(now)))
            .execute(conn)
            .map(|_| ()),
        other => other.map(|_| ()),
    }
}
