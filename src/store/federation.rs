//! Queries on `federated_identities`, `federation_states` and `federation_links`. A state is
//! consumed by one conditional UPDATE, so a replayed callback finds it used.
use diesel::prelude::*;

use super::schema::{federated_identities, federation_links, federation_states};
use super::DbConnection;

const KEEP_EXPIRED_SECS: i64 = 3600;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = federated_identities)]
pub struct IdentityRow {
    pub id: String,
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub user_id: String,
    pub email: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = federation_states)]
pub struct StateRow {
    pub state_hash: String,
    pub provider: String,
    pub browser_hash: String,
    pub request_id: Option<String>,
    pub link_token_hash: Option<String>,
    pub pkce_verifier: String,
    pub nonce: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = federation_links)]
pub struct LinkRow {
    pub token_hash: String,
    pub browser_hash: String,
    pub user_id: String,
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub email: String,
    pub request_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn find_identity(
    conn: &mut DbConnection,
    provider: &str,
    issuer: &str,
    subject: &str,
) -> QueryResult<Option<IdentityRow>> {
    federated_identities::table
        .filter(federated_identities::provider.eq(provider))
        .filter(federated_identities::issuer.eq(issuer))
        .filter(federated_identities::subject.eq(subject))
        .select(IdentityRow::as_select())
        .get_result(conn)
        .optional()
}

/// Links an identity; `false` when (provider, subject) is already linked (a concurrent link).
pub fn insert_identity(conn: &mut DbConnection, row: &IdentityRow) -> QueryResult<bool> {
    let inserted = conn.transaction(|c| {
        diesel::insert_into(federated_identities::table)
            .values(row)
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn touch_identity(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<()> {
    diesel::update(federated_identities::table.find(id))
        .set(federated_identities::last_used_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

pub fn user_identities(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<IdentityRow>> {
    federated_identities::table
        .filter(federated_identities::user_id.eq(user_id))
        .order((
            federated_identities::created_at.asc(),
            federated_identities::id.asc(),
        ))
        .select(IdentityRow::as_select())
        .load(conn)
}

pub fn delete_identity(conn: &mut DbConnection, id: &str, user_id: &str) -> QueryResult<bool> {
    diesel::delete(
        federated_identities::table
            .find(id)
            .filter(federated_identities::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

pub fn insert_state(conn: &mut DbConnection, row: &StateRow, now: i64) -> QueryResult<()> {
    diesel::delete(
        federation_states::table.filter(federation_states::expires_at.lt(now - KEEP_EXPIRED_SECS)),
    )
    .execute(conn)?;
    diesel::insert_into(federation_states::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Consumes an unused, unexpired state; returns it only to the one caller that did.
pub fn take_state(conn: &mut DbConnection, hash: &str, now: i64) -> QueryResult<Option<StateRow>> {
    let claimed = diesel::update(
        federation_states::table
            .find(hash)
            .filter(federation_states::used_at.is_null())
            .filter(federation_states::expires_at.gt(now)),
    )
    .set(federation_states::used_at.eq(now))
    .execute(conn)?;
    if claimed != 1 {
        return Ok(None);
    }
    federation_states::table
        .find(hash)
        .select(StateRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn insert_link(conn: &mut DbConnection, row: &LinkRow, now: i64) -> QueryResult<()> {
    diesel::delete(
        federation_links::table.filter(federation_links::expires_at.lt(now - KEEP_EXPIRED_SECS)),
    )
    .execute(conn)?;
    diesel::insert_into(federation_links::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_link(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<LinkRow>> {
    federation_links::table
        .find(hash)
        .select(LinkRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn delete_link(conn: &mut DbConnection, hash: &str) -> QueryResult<bool> {
    diesel::delete(federation_links::table.find(hash))
        .execute(conn)
        .map(|n| n == 1)
}
