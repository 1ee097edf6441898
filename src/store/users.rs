//! Queries on `users`.
use diesel::prelude::*;

use super::schema::users;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub email_lower: String,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub role: String,
    pub email_verified: bool,
    pub disabled: bool,
    pub failed_logins: i32,
    pub lockouts: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Inserts a user; `Ok(false)` when the email is taken.
pub fn insert(conn: &mut DbConnection, row: &UserRow) -> QueryResult<bool> {
    // In a savepoint when nested: on PostgreSQL a failed statement aborts the transaction.
    match conn.transaction(|c| diesel::insert_into(users::table).values(row).execute(c)) {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    on_backend!(conn, |c| users::table
        .find(id)
        .select(UserRow::as_select())
        .get_result(c)
        .optional())
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email_lower.eq(email.to_lowercase()))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<UserRow>> {
    users::table
        .order((users::created_at.asc(), users::id.asc()))
        .select(UserRow::as_select())
        .load(conn)
}

pub fn set_role(conn: &mut DbConnection, id: &str, role: &str, now: i64) -> QueryResult<bool> {
    diesel::update(users::table.find(id))
        .set((users::role.eq(role), users::updated_at.eq(now)))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn set_disabled(
    conn: &mut DbConnection,
    id: &str,
    disabled: bool,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(users::table.find(id))
        .set((users::disabled.eq(disabled), users::updated_at.eq(now)))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn set_password_hash(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Marks the account's email address verified; `false` when it already was (or no such user).
pub fn set_email_verified(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::email_verified.eq(false)),
    )
    .set((users::email_verified.eq(true), users::updated_at.eq(now)))
    .execute(conn)
    .map(|n| n > 0)
}

/// Clears failure counters and any lock.
pub fn clear_failures(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(0),
            users::lockouts.eq(0),
            users::locked_until.eq(None::<i64>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Counts one failed login atomically; returns the new count.
pub fn add_failure(conn: &mut DbConnection, id: &str) -> QueryResult<i32> {
    diesel::update(users::table.find(id))
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .returning(users::failed_logins)
        .get_result(conn)
}

/// Locks the account until `until`, resetting the failure count; returns the lock number.
pub fn lock(conn: &mut DbConnection, id: &str, until: i64) -> QueryResult<i32> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(0),
            users::lockouts.eq(users::lockouts + 1),
            users::locked_until.eq(Some(until)),
        ))
        .returning(users::lockouts)
        .get_result(conn)
}

/// Takes the user's row lock until the transaction ends (PostgreSQL; SQLite's write lock is
/// already held by `write_transaction`), so checks across the user's rows can't race.
pub fn lock_row(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::updated_at.eq(users::updated_at))
        .execute(conn)
        .map(|_| ())
}

/// Sets (or clears) the display name.
pub fn set_name(
    conn: &mut DbConnection,
    id: &str,
    name: Option<&str>,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(users::table.find(id))
        .set((users::name.eq(name), users::updated_at.eq(now)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Gives the account a new, unverified address; `Ok(false)` when another account has it.
pub fn set_email(conn: &mut DbConnection, id: &str, email: &str, now: i64) -> QueryResult<bool> {
    // In a savepoint: on PostgreSQL a failed statement aborts the transaction.
    let update = |c: &mut DbConnection| {
        diesel::update(users::table.find(id))
            .set((
                users::email.eq(email),
                users::email_lower.eq(email.to_lowercase()),
                users::email_verified.eq(false),
                users::updated_at.eq(now),
            ))
            .execute(c)
    };
    match conn.transaction(update) {
        Ok(n) => Ok(n > 0),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deletes a user; what hangs off the account (sessions, refresh tokens, factors, API keys,
/// identities) goes with it (`ON DELETE CASCADE`). `false` when there was none.
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::delete(users::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

/// One page of users, ordered by email, whose email or name contains `query` (any case), and
/// how many match in all.
pub fn search(
    conn: &mut DbConnection,
    query: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<UserRow>, i64)> {
    let filtered = || {
        let mut q = users::table.into_boxed();
        if let Some(text) = query.map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            q = q.filter(
                users::email_lower
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(users::name).like(pattern).escape('\\')),
            );
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((users::email_lower.asc(), users::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

diesel::define_sql_function! {
    /// SQL `lower()` (both backends), for case-blind name search.
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// `text` with LIKE's wildcards (and the escape character) escaped by `\`.
pub(super) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
