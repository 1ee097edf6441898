//! Queries on `federation_providers`: the upstream identity providers `portcullis apply`
//! declares (`federation::declared`). A row holds where the client secret is read from, never
//! the secret.
use diesel::prelude::*;

use super::schema::federation_providers as fp;
use super::DbConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = fp)]
pub struct ProviderRow {
    pub name: String,
    /// `oidc` or `github`.
    pub kind: String,
    pub display_name: String,
    pub issuer: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub api_url: Option<String>,
    pub client_id: String,
    /// A JSON array of scopes, in the order given.
    pub scopes: String,
    pub secret_env: Option<String>,
    pub secret_file: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Every declared provider, by name.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<ProviderRow>> {
    fp::table
        .select(ProviderRow::as_select())
        .order(fp::name)
        .load(conn)
}

pub fn find(conn: &mut DbConnection, name: &str) -> QueryResult<Option<ProviderRow>> {
    fp::table
        .find(name)
        .select(ProviderRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &ProviderRow) -> QueryResult<()> {
    diesel::insert_into(fp::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Replaces the provider `row.name` (keeping its `created_at`); `false` when there is none.
pub fn update(conn: &mut DbConnection, row: &ProviderRow) -> QueryResult<bool> {
    diesel::update(fp::table.find(&row.name))
        .set((
            fp::kind.eq(&row.kind),
            fp::display_name.eq(&row.display_name),
            fp::issuer.eq(&row.issuer),
            fp::authorize_url.eq(&row.authorize_url),
            fp::token_url.eq(&row.token_url),
            fp::api_url.eq(&row.api_url),
            fp::client_id.eq(&row.client_id),
            fp::scopes.eq(&row.scopes),
            fp::secret_env.eq(&row.secret_env),
            fp::secret_file.eq(&row.secret_file),
            fp::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn delete(conn: &mut DbConnection, name: &str) -> QueryResult<bool> {
    diesel::delete(fp::table.find(name))
        .execute(conn)
        .map(|n| n > 0)
}
