//! Queries on `roles` and `scope_descriptions`: the roles and their permissions every instance
//! reads (`identity::role_book`), and what the consent page says a scope lets a client do.
use diesel::prelude::*;

use super::schema::{roles, scope_descriptions, users};
use super::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = roles, treat_none_as_null = true)]
pub struct RoleRow {
    pub name: String,
    /// A JSON array of scope tokens, in the order given.
    pub permissions: String,
    pub require_mfa: bool,
    pub description: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = scope_descriptions)]
pub struct ScopeTextRow {
    pub scope: String,
    /// A language code (`en`, `de`).
    pub lang: String,
    pub text: String,
    pub updated_at: i64,
}

/// Every role, by name.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<RoleRow>> {
    roles::table
        .select(RoleRow::as_select())
        .order(roles::name)
        .load(conn)
}

pub fn find(conn: &mut DbConnection, name: &str) -> QueryResult<Option<RoleRow>> {
    roles::table
        .find(name)
        .select(RoleRow::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    roles::table.count().get_result(conn)
}

pub fn insert(conn: &mut DbConnection, row: &RoleRow) -> QueryResult<()> {
    diesel::insert_into(roles::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Replaces the role `row.name` (keeping its `created_at`); `false` when there is none.
pub fn update(conn: &mut DbConnection, row: &RoleRow) -> QueryResult<bool> {
    diesel::update(roles::table.find(&row.name))
        .set((
            roles::permissions.eq(&row.permissions),
            roles::require_mfa.eq(row.require_mfa),
            roles::description.eq(&row.description),
            roles::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn delete(conn: &mut DbConnection, name: &str) -> QueryResult<bool> {
    diesel::delete(roles::table.find(name))
        .execute(conn)
        .map(|n| n > 0)
}

/// Whether there is any user at all.
pub fn any_users(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(users::table.select(users::id))).get_result(conn)
}

/// How many users have `role`.
pub fn users_with(conn: &mut DbConnection, role: &str) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(role))
        .count()
        .get_result(conn)
}

/// Every stored scope description, by scope then language.
pub fn scope_texts(conn: &mut DbConnection) -> QueryResult<Vec<ScopeTextRow>> {
    scope_descriptions::table
        .select(ScopeTextRow::as_select())
        .order((scope_descriptions::scope, scope_descriptions::lang))
        .load(conn)
}

/// The stored descriptions of `scopes` (every language).
pub fn scope_texts_for(
    conn: &mut DbConnection,
    scopes: &[String],
) -> QueryResult<Vec<ScopeTextRow>> {
    scope_descriptions::table
        .filter(scope_descriptions::scope.eq_any(scopes))
        .select(ScopeTextRow::as_select())
        .load(conn)
}

/// Replaces every description of `scope` with `texts` (`(lang, text)`; none: it has none).
pub fn set_scope_texts(
    conn: &mut DbConnection,
    scope: &str,
    texts: &[(String, String)],
    now: i64,
) -> QueryResult<()> {
    diesel::delete(scope_descriptions::table.filter(scope_descriptions::scope.eq(scope)))
        .execute(conn)?;
    // One row at a time: MultiConnection has no batch insert.
    for (lang, text) in texts {
        diesel::insert_into(scope_descriptions::table)
            .values(ScopeTextRow {
                scope: scope.to_string(),
                lang: lang.clone(),
                text: text.clone(),
                updated_at: now,
            })
            .execute(conn)?;
    }
    Ok(())
}
