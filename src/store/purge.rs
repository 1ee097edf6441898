//! The purge's deletes (`crate::purge` decides what is dead and in which order). Every function
//! deletes at most about `limit` rows in one statement — `DELETE … WHERE key IN (SELECT key …
//! LIMIT n)`, the same SQL on both backends — so each is a short transaction of its own and no
//! lock is held for long. Each returns how many rows it deleted; a caller repeats it until that is
//! less than `limit`. The inner SELECT reads the table under an alias (`batch`): Diesel refuses a
//! subquery on the table it deletes from otherwise.
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::schema::{
    audit_events, authorization_codes, authorization_requests, client_assertion_jtis,
    device_authorizations, dpop_jtis, email_tokens, federation_links, federation_states,
    mfa_challenges, passkey_ceremonies, pushed_requests, refresh_tokens, registration_tokens,
    revoked_tokens, sessions, trusted_devices,
};
use super::DbConnection;

/// A `fn(conn, before, limit)` deleting rows whose `$col` is before `before`.
macro_rules! delete_before {
    ($(#[$doc:meta])* $name:ident, $table:ident, $key:ident, $col:ident) => {
        $(#[$doc])*
        pub fn $name(conn: &mut DbConnection, before: i64, limit: i64) -> QueryResult<usize> {
            let inner = diesel::alias!($table as batch);
            let batch = inner
                .select(inner.field($table::$key))
                .filter(inner.field($table::$col).lt(before))
                .limit(limit);
            diesel::delete($table::table.filter($table::$key.eq_any(batch))).execute(conn)
        }
    };
}

delete_before!(
    /// Authorization codes (used or not) that expired before `before`.
    codes,
    authorization_codes,
    code_hash,
    expires_at
);
delete_before!(
    /// Pending authorization requests that expired before `before`.
    requests,
    authorization_requests,
    id,
    expires_at
);
delete_before!(
    /// Pushed authorization requests (RFC 9126), used or not, that expired before `before`.
    pushed_requests,
    pushed_requests,
    id,
    expires_at
);
delete_before!(
    /// Device authorization requests (RFC 8628), decided, used or not, that expired before
    /// `before`.
    device_requests,
    device_authorizations,
    device_code_hash,
    expires_at
);
delete_before!(
    /// Upstream sign-in states that expired before `before`.
    federation_states,
    federation_states,
    state_hash,
    expires_at
);
delete_before!(
    /// Pending account links that expired before `before`.
    federation_links,
    federation_links,
    token_hash,
    expires_at
);
delete_before!(
    /// Links sent by email (verification, password reset), used or not, that expired before
    /// `before`.
    email_tokens,
    email_tokens,
    token_hash,
    expires_at
);
delete_before!(
    /// Second-factor steps that expired before `before` (finished ones are deleted at once).
    mfa_challenges,
    mfa_challenges,
    id_hash,
    expires_at
);
delete_before!(
    /// Passkey registrations and sign-ins started but never finished, expired before `before`.
    passkey_ceremonies,
    passkey_ceremonies,
    id,
    expires_at
);
delete_before!(
    /// Initial access tokens for dynamic registration that expired before `before` (one without
    /// an expiry stays until the operator revokes it).
    registration_tokens,
    registration_tokens,
    id,
    expires_at
);
delete_before!(
    /// Revoked access-token ids whose tokens expired before `before`.
    revoked_jtis,
    revoked_tokens,
    jti,
    expires_at
);
delete_before!(
    /// DPoP proofs remembered against replay (`store::dpop`) whose `iat` window ended before
    /// `before`.
    dpop_jtis,
    dpop_jtis,
    jkt_jti_hash,
    expires_at
);
delete_before!(
    /// Client assertions remembered against replay (`store::client_assertions`) that expired
    /// before `before`.
    client_assertion_jtis,
    client_assertion_jtis,
    client_jti_hash,
    expires_at
);
delete_before!(
    /// Refresh tokens of families past their absolute expiry (every token of a family, and its
    /// session, expire at the same time).
    expired_refresh_tokens,
    refresh_tokens,
    id,
    expires_at
);
delete_before!(
    /// Audit events recorded before `before`.
    audit_events,
    audit_events,
    id,
    at
);

/// Refresh tokens of sessions that ended or expired before `before` (ending a session revokes
/// its tokens; an ended or missing session makes its access tokens dead too).
pub fn refresh_tokens_of_dead_sessions(
    conn: &mut DbConnection,
    before: i64,
    limit: i64,
) -> QueryResult<usize> {
    let dead = sessions::table.select(sessions::id).filter(
        sessions::ended_at
            .lt(before)
            .or(sessions::expires_at.lt(before)),
    );
    let inner = diesel::alias!(refresh_tokens as batch);
    let batch = inner
        .select(inner.field(refresh_tokens::id))
        .filter(inner.field(refresh_tokens::session_id).eq_any(dead))
        .limit(limit);
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::id.eq_any(batch))).execute(conn)
}

/// Refresh tokens of dead families in live sessions. A family is dead when none of its tokens is
/// live, and has not been since `before`: every token not rotated (the family's head, or a
/// successor a retry replaced) was revoked or idle-expired before then. Until that, every rotated
/// token of the family stays: presenting one again is how reuse is detected. A revoked token
/// goes only when the access token issued with it (whose `jti` is the token's id, see
/// `oauth::liveness`) has expired too: it was issued before `issued_before`.
///
/// Oldest first, so a batch that stops inside a family leaves its head, which finds the family
/// again next time.
pub fn refresh_tokens_of_dead_families(
    conn: &mut DbConnection,
    before: i64,
    issued_before: i64,
    limit: i64,
) -> QueryResult<usize> {
    use refresh_tokens as rt;
    let (inner, head, live) = diesel::alias!(rt as batch, rt as head, rt as live);
    let alive = live
        .filter(live.field(rt::family_id).eq(head.field(rt::family_id)))
        .filter(live.field(rt::rotated_at).is_null())
        .filter(
            live.field(rt::revoked_at)
                .is_null()
                .or(live.field(rt::revoked_at).ge(before)),
        )
        .filter(live.field(rt::idle_expires_at).ge(before));
    let dead_families = head
        .select(head.field(rt::family_id))
        .filter(head.field(rt::rotated_at).is_null())
        .filter(
            head.field(rt::revoked_at)
                .lt(before)
                .or(head.field(rt::idle_expires_at).lt(before)),
        )
        .filter(not(exists(alive)));
    let batch = inner
        .select(inner.field(rt::id))
        .filter(inner.field(rt::family_id).eq_any(dead_families))
        .filter(
            inner
                .field(rt::revoked_at)
                .is_null()
                .or(inner.field(rt::created_at).lt(issued_before)),
        )
        .order((inner.field(rt::created_at).asc(), inner.field(rt::id).asc()))
        .limit(limit);
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::id.eq_any(batch))).execute(conn)
}

/// Sessions that ended or expired before `before`. Their refresh tokens and codes go with them
/// (`ON DELETE CASCADE`); the purge deletes those first, in batches, so the cascade is small.
pub fn dead_sessions(conn: &mut DbConnection, before: i64, limit: i64) -> QueryResult<usize> {
    let inner = diesel::alias!(sessions as batch);
    let batch = inner
        .select(inner.field(sessions::id))
        .filter(
            inner
                .field(sessions::ended_at)
                .lt(before)
                .or(inner.field(sessions::expires_at).lt(before)),
        )
        .limit(limit);
    diesel::delete(sessions::table.filter(sessions::id.eq_any(batch))).execute(conn)
}

/// Trusted browsers last used before `before`, for about `limit` users at a time (the key is a
/// pair, so a batch is chosen by user).
pub fn idle_trusted_devices(
    conn: &mut DbConnection,
    before: i64,
    limit: i64,
) -> QueryResult<usize> {
    let inner = diesel::alias!(trusted_devices as batch);
    let users = inner
        .select(inner.field(trusted_devices::user_id))
        .filter(inner.field(trusted_devices::last_used_at).lt(before))
        .limit(limit);
    diesel::delete(
        trusted_devices::table
            .filter(trusted_devices::last_used_at.lt(before))
            .filter(trusted_devices::user_id.eq_any(users)),
    )
    .execute(conn)
}
