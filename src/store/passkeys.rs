//! Queries on `passkeys` (a user's WebAuthn credentials) and `passkey_ceremonies` (the state of
//! a registration or sign-in between its two requests). A ceremony is claimed by one
//! conditional DELETE, which exactly one concurrent caller wins on either backend.
use diesel::prelude::*;

use super::schema::{passkey_ceremonies, passkeys};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    /// The credential id, base64url.
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs's `Passkey`, as JSON.
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = passkey_ceremonies)]
pub struct CeremonyRow {
    /// SHA-256 of the handle the browser holds.
    pub id: String,
    pub user_id: Option<String>,
    pub kind: String,
    /// The name a new passkey gets (registration only).
    pub name: Option<String>,
    /// webauthn-rs's ceremony state, as JSON.
    pub state: String,
    pub browser_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Inserts a passkey; `false` when its credential id is already registered (to anyone).
pub fn insert(conn: &mut DbConnection, row: &PasskeyRow) -> QueryResult<bool> {
    use diesel::result::{DatabaseErrorKind, Error};
    match diesel::insert_into(passkeys::table)
        .values(row)
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A user's passkeys, oldest first.
pub fn list(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order((passkeys::created_at.asc(), passkeys::id.asc()))
        .select(PasskeyRow::as_select())
        .load(conn)
}

pub fn count(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

pub fn find_by_credential_id(
    conn: &mut DbConnection,
    credential_id: &str,
) -> QueryResult<Option<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .select(PasskeyRow::as_select())
        .get_result(conn)
        .optional()
}

/// Records a use: the time, and the credential as the authenticator now reports it (counter,
/// backup state).
pub fn record_use(
    conn: &mut DbConnection,
    id: &str,
    credential: Option<&str>,
    now: i64,
) -> QueryResult<bool> {
    let target = passkeys::table.find(id);
    let n = match credential {
        Some(c) => diesel::update(target)
            .set((passkeys::last_used_at.eq(now), passkeys::credential.eq(c)))
            .execute(conn)?,
        None => diesel::update(target)
            .set(passkeys::last_used_at.eq(now))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// Deletes a user's passkey; `None` when the user has no passkey with this id.
pub fn delete(conn: &mut DbConnection, user_id: &str, id: &str) -> QueryResult<Option<PasskeyRow>> {
    let target = passkeys::table
        .filter(passkeys::id.eq(id))
        .filter(passkeys::user_id.eq(user_id));
    on_backend!(conn, |c| diesel::delete(target)
        .returning(PasskeyRow::as_returning())
        .get_result(c)
        .optional())
}

pub fn insert_ceremony(conn: &mut DbConnection, row: &CeremonyRow) -> QueryResult<()> {
    diesel::insert_into(passkey_ceremonies::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Takes the ceremony `id` of `kind` if it is unexpired and belongs to this browser: the row is
/// deleted, so a second answer to the same challenge finds nothing.
pub fn claim_ceremony(
    conn: &mut DbConnection,
    id: &str,
    kind: &str,
    browser_hash: &str,
    now: i64,
) -> QueryResult<Option<CeremonyRow>> {
    let target = passkey_ceremonies::table
        .filter(passkey_ceremonies::id.eq(id))
        .filter(passkey_ceremonies::kind.eq(kind))
        .filter(passkey_ceremonies::browser_hash.eq(browser_hash))
        .filter(passkey_ceremonies::expires_at.gt(now));
    on_backend!(conn, |c| diesel::delete(target)
        .returning(CeremonyRow::as_returning())
        .get_result(c)
        .optional())
}

/// Deletes at most `limit` expired ceremonies (done as new ones start, so the table stays
/// small without a purge of its own); returns how many.
pub fn forget_expired(conn: &mut DbConnection, now: i64, limit: i64) -> QueryResult<usize> {
    let expired = passkey_ceremonies::table
        .filter(passkey_ceremonies::expires_at.le(now))
        .select(passkey_ceremonies::id)
        .limit(limit)
        .load::<String>(conn)?;
    if expired.is_empty() {
        return Ok(0);
    }
    diesel::delete(passkey_ceremonies::table.filter(passkey_ceremonies::id.eq_any(&expired)))
        .execute(conn)
}
