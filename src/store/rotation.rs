//! The common case of a refresh-token rotation on PostgreSQL, in one statement.
//!
//! A rotation locks the token's session, claims the token, inserts its successor and the
//! `token_issued` audit row. As separate statements in a transaction that was seven round
//! trips (`BEGIN`, four statements, `COMMIT`, and the read before), each a wake-up of a backend
//! on a machine whose cores the server shares with the database. Data-modifying CTEs make it one
//! statement, atomic without a transaction of its own: every part of it commits, or none.
//!
//! The order is the transaction's: `locked` takes the session's row lock first (the lock order
//! every rotation and `end_session` keep), and the claim runs under it, since it reads `locked`.
//! The claim is the same conditional `UPDATE` as `sessions::claim_refresh_token_row`: of
//! concurrent claims of one token, exactly one matches (PostgreSQL re-checks the `WHERE` against
//! a row a concurrent transaction changed). When nothing is claimed (the token is no longer
//! live, or its session ended), the statement writes nothing and returns no row; the caller then
//! takes the transaction path, which tells why.
//!
//! The claim leaves PostgreSQL one index to use, the token hash's (unique). A prepared
//! statement gets a generic plan, and on a table not yet analyzed (a new deployment's first
//! minute; every benchmark run) the planner's default guesses for `col IS NULL` and
//! `col = $1` are as selective as a unique key: the same claim written with `session_id = $1`,
//! or `revoked_at IS NULL` and `expires_at > $4` apart, was planned on the session's index or on
//! `revoked_at`'s, reading every token of the session or every live token for each claim
//! (measured in `pg_stat_user_indexes`: 180 and 8,000 rows per claim after ten seconds of
//! refreshing; the plan stays until an `ANALYZE`). So the session is not named (the token's
//! session is the one locked: the caller read it with the token, and it never changes), and the
//! other conditions are written as expressions no index covers.
//!
//! SQLite keeps the transaction: there a round trip is a function call.
use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

use super::audit::NewAuditEvent;
use super::prepared::Prepared;
use super::sessions::SessionRow;

/// One rotation's inputs: the token presented (by hash), its successor, and its audit row.
pub struct Claim<'a> {
    pub session_id: &'a str,
    pub token_hash: &'a str,
    pub client_id: &'a str,
    pub successor_id: &'a str,
    pub successor_hash: &'a str,
    /// The successor's idle lifetime (`refresh_token_idle_secs`), capped by the family's expiry.
    pub idle_secs: i64,
    pub audit: &'a NewAuditEvent,
    pub now: i64,
}

const ROTATE: &str = "\
WITH locked AS (
    SELECT * FROM sessions WHERE id = $1 FOR NO KEY UPDATE
), claimed AS (
    UPDATE refresh_tokens SET rotated_at = $4
    WHERE token_hash = $2 AND client_id = $3
      AND COALESCE(rotated_at, revoked_at) IS NULL
      AND LEAST(expires_at, idle_expires_at) > $4
      AND EXISTS (SELECT 1 FROM locked WHERE ended_at IS NULL AND expires_at > $4)
    RETURNING *
), successor AS (
    INSERT INTO refresh_tokens (id, token_hash, family_id, session_id, user_id, client_id, scope,
        created_at, expires_at, idle_expires_at, rotated_at, revoked_at, parent_id, resources,
        dpop_jkt)
    SELECT $5, $6, family_id, session_id, user_id, client_id, scope,
        $4, expires_at, LEAST($4 + $7, expires_at), NULL, NULL, id, resources,
        dpop_jkt
    FROM claimed
), audited AS (
    INSERT INTO audit_events (at, kind, outcome, user_id, client_id, ip, user_agent, detail)
    SELECT $4, $8, $9, $10, $11, $12, $13, $14 FROM claimed
)
SELECT locked.* FROM locked, claimed";

/// Rotates the token as [`Claim`] says, in one statement (see the module): the session's row as
/// locked when the token was claimed and its successor stored; `None` when it was not claimed,
/// and then nothing was written.
pub fn rotate(conn: &mut PgConnection, claim: &Claim<'_>) -> QueryResult<Option<SessionRow>> {
    let a = claim.audit;
    let rows: Vec<SessionRow> = Prepared(
        diesel::sql_query(ROTATE)
            .bind::<Text, _>(claim.session_id)
            .bind::<Text, _>(claim.token_hash)
            .bind::<Text, _>(claim.client_id)
            .bind::<BigInt, _>(claim.now)
            .bind::<Text, _>(claim.successor_id)
            .bind::<Text, _>(claim.successor_hash)
            .bind::<BigInt, _>(claim.idle_secs)
            .bind::<Text, _>(&a.kind)
            .bind::<Text, _>(&a.outcome)
            .bind::<Nullable<Text>, _>(&a.user_id)
            .bind::<Nullable<Text>, _>(&a.client_id)
            .bind::<Nullable<Text>, _>(&a.ip)
            .bind::<Nullable<Text>, _>(&a.user_agent)
            .bind::<Nullable<Text>, _>(&a.detail),
    )
    .load(conn)?;
    Ok(rows.into_iter().next())
}
