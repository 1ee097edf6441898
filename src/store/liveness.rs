//! The lookups of `oauth::liveness` that every access token needs, in one statement.
use diesel::dsl::exists;
use diesel::prelude::*;

use super::schema::{clients, refresh_tokens, revoked_tokens};
use super::DbConnection;

/// What the database says about an access token's `jti` and client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRows {
    /// The `jti` is on the revocation list.
    pub jti_revoked: bool,
    /// The client is registered.
    pub client_exists: bool,
    /// A refresh token with the `jti` as its id (the one issued with the access token) was
    /// revoked.
    pub family_revoked: bool,
}

/// One `SELECT EXISTS(…), EXISTS(…), EXISTS(…)` instead of three queries (a round trip each on
/// PostgreSQL, a statement and a read lock each on SQLite): introspection made three of its
/// four queries here.
pub fn token_rows(conn: &mut DbConnection, jti: &str, client_id: &str) -> QueryResult<TokenRows> {
    let (jti_revoked, client_exists, family_revoked) = on_backend!(conn, |c| diesel::select((
        exists(revoked_tokens::table.find(jti)),
        exists(clients::table.find(client_id)),
        exists(
            refresh_tokens::table
                .find(jti)
                .filter(refresh_tokens::revoked_at.is_not_null()),
        ),
    ))
    .get_result::<(bool, bool, bool)>(c))?;
    Ok(TokenRows {
        jti_revoked,
        client_exists,
        family_revoked,
    })
}
