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

/// [`token_rows`] for many tokens at once, `(jti, client_id)` each: three statements for the
/// whole batch (`= ANY($1)` on PostgreSQL), the answers in the order asked.
pub fn token_rows_many(
    conn: &mut DbConnection,
    keys: &[(String, String)],
) -> QueryResult<Vec<TokenRows>> {
    use std::collections::HashSet;
    let jtis: Vec<&str> = keys.iter().map(|(jti, _)| jti.as_str()).collect();
    let mut client_ids: Vec<&str> = keys.iter().map(|(_, client)| client.as_str()).collect();
    client_ids.sort_unstable();
    client_ids.dedup();
    let (revoked, clients_found, families) = on_backend!(conn, |c| {
        let revoked: Vec<String> = revoked_tokens::table
            .filter(revoked_tokens::jti.eq_any(&jtis))
            .select(revoked_tokens::jti)
            .load(c)?;
        let clients_found: Vec<String> = clients::table
            .filter(clients::id.eq_any(&client_ids))
            .select(clients::id)
            .load(c)?;
        let families: Vec<String> = refresh_tokens::table
            .filter(refresh_tokens::id.eq_any(&jtis))
            .filter(refresh_tokens::revoked_at.is_not_null())
            .select(refresh_tokens::id)
            .load(c)?;
        QueryResult::Ok((revoked, clients_found, families))
    })?;
    let revoked: HashSet<String> = revoked.into_iter().collect();
    let clients_found: HashSet<String> = clients_found.into_iter().collect();
    let families: HashSet<String> = families.into_iter().collect();
    Ok(keys
        .iter()
        .map(|(jti, client)| TokenRows {
            jti_revoked: revoked.contains(jti),
            client_exists: clients_found.contains(client),
            family_revoked: families.contains(jti),
        })
        .collect())
}
