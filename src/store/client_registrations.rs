//! Queries on `client_registrations` (RFC 7592 registration access tokens and the metadata of
//! clients that registered themselves) and `registration_tokens` (initial access tokens).
use diesel::prelude::*;

use super::schema::{client_registrations, clients, registration_tokens};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_registrations)]
pub struct RegistrationRow {
    pub client_id: String,
    pub access_token_hash: String,
    /// JSON: the registered metadata `clients` has no column for.
    pub metadata: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = registration_tokens)]
pub struct RegistrationTokenRow {
    pub id: String,
    pub token_hash: String,
    pub uses_left: i32,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &RegistrationRow) -> QueryResult<()> {
    diesel::insert_into(client_registrations::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<RegistrationRow>> {
    client_registrations::table
        .find(client_id)
        .select(RegistrationRow::as_select())
        .get_result(conn)
        .optional()
}

/// Replaces a registration's access token hash and metadata; `false` when there is none.
pub fn update(
    conn: &mut DbConnection,
    client_id: &str,
    access_token_hash: &str,
    metadata: &str,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(client_registrations::table.find(client_id))
        .set((
            client_registrations::access_token_hash.eq(access_token_hash),
            client_registrations::metadata.eq(metadata),
            client_registrations::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

/// The registration-managed columns of a client (the lists are JSON arrays).
pub struct ClientMetadata<'a> {
    pub name: &'a str,
    pub grant_types: &'a str,
    pub scopes: &'a str,
    pub redirect_uris: &'a str,
    pub post_logout_redirect_uris: &'a str,
}

/// Replaces what a client may change about itself (RFC 7592 §2.2); `false` when there is no
/// such dynamic client.
pub fn set_client_metadata(
    conn: &mut DbConnection,
    id: &str,
    m: &ClientMetadata,
    now: i64,
) -> QueryResult<bool> {
    super::clients::note_write();
    diesel::update(clients::table.find(id).filter(clients::dynamic.eq(true)))
        .set((
            clients::name.eq(m.name),
            clients::grant_types.eq(m.grant_types),
            clients::scopes.eq(m.scopes),
            clients::redirect_uris.eq(m.redirect_uris),
            clients::post_logout_redirect_uris.eq(m.post_logout_redirect_uris),
            clients::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn insert_token(conn: &mut DbConnection, row: &RegistrationTokenRow) -> QueryResult<()> {
    diesel::insert_into(registration_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn list_tokens(conn: &mut DbConnection) -> QueryResult<Vec<RegistrationTokenRow>> {
    registration_tokens::table
        .order((
            registration_tokens::created_at.asc(),
            registration_tokens::id.asc(),
        ))
        .select(RegistrationTokenRow::as_select())
        .load(conn)
}

/// Deletes an initial access token; `false` when there was none.
pub fn delete_token(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::delete(registration_tokens::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

/// Takes one use of the initial access token with this hash, if it has one left and has not
/// expired; returns its id. The use is taken with one conditional UPDATE, so concurrent
/// registrations never take more than it has.
pub fn use_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: i64,
) -> QueryResult<Option<String>> {
    let Some(id) = registration_tokens::table
        .filter(registration_tokens::token_hash.eq(token_hash))
        .select(registration_tokens::id)
        .get_result::<String>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let taken = diesel::update(
        registration_tokens::table
            .find(&id)
            .filter(registration_tokens::uses_left.gt(0))
            .filter(
                registration_tokens::expires_at
                    .is_null()
                    .or(registration_tokens::expires_at.gt(now)),
            ),
    )
    .set(registration_tokens::uses_left.eq(registration_tokens::uses_left - 1))
    .execute(conn)?;
    Ok((taken > 0).then_some(id))
}
