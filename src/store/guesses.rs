//! Queries on `guess_budgets` and `trusted_devices`. A guess takes a slot with one conditional
//! UPDATE before it is hashed, so however many arrive at once, on any number of instances, no
//! more than a budget's limit are ever checked in its window.
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

use super::schema::{guess_budgets, trusted_devices};
use super::DbConnection;

/// A budget's state, as read after a refused reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct BudgetState {
    pub window_start: i64,
    pub used: i32,
    pub strikes: i32,
    pub locked_until: Option<i64>,
}

fn read(conn: &mut DbConnection, key: &str) -> QueryResult<Option<BudgetState>> {
    guess_budgets::table
        .find(key)
        .select((
            guess_budgets::window_start,
            guess_budgets::used,
            guess_budgets::strikes,
            guess_budgets::locked_until,
        ))
        .get_result(conn)
        .optional()
}

/// Takes one slot of `key`'s budget (`limit` per `window` seconds, none while locked). `Ok(None)`
/// when taken; `Ok(Some(state))` when refused, with the state that refused it.
pub fn take(
    conn: &mut DbConnection,
    key: &str,
    limit: i32,
    window: i64,
    now: i64,
) -> QueryResult<Option<BudgetState>> {
    let expired = now - window;
    for _ in 0..3 {
        let taken = diesel::update(
            guess_budgets::table
                .find(key)
                .filter(
                    guess_budgets::locked_until
                        .is_null()
                        .or(guess_budgets::locked_until.le(now)),
                )
                .filter(
                    guess_budgets::window_start
                        .le(expired)
                        .or(guess_budgets::used.lt(limit)),
                ),
        )
        .set((
            guess_budgets::window_start.eq(sql::<BigInt>(&format!(
                "CASE WHEN window_start <= {expired} THEN {now} ELSE window_start END"
            ))),
            guess_budgets::used.eq(sql::<Integer>(&format!(
                "CASE WHEN window_start <= {expired} THEN 1 ELSE used + 1 END"
            ))),
        ))
        .execute(conn)?;
        if taken == 1 {
            return Ok(None);
        }
        if let Some(state) = read(conn, key)? {
            let locked = state.locked_until.is_some_and(|t| t > now);
            let full = state.window_start > expired && state.used >= limit;
            if locked || full {
                return Ok(Some(state));
            }
            // The row appeared (a concurrent first guess committed) after this statement's
            // snapshot was taken: take a slot of it on the next round.
            continue;
        }
        // No row yet: a new source or account. Forget a few long-idle ones first, so an attack
        // from many addresses leaves no unbounded table behind.
        forget_idle(conn, now, 100)?;
        // In a savepoint: on PostgreSQL a failed statement aborts the transaction.
        let inserted = conn.transaction(|c| {
            diesel::insert_into(guess_budgets::table)
                .values((
                    guess_budgets::key.eq(key),
                    guess_budgets::window_start.eq(now),
                    guess_budgets::used.eq(1),
                    guess_budgets::strikes.eq(0),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_) => return Ok(None),
            // Another request created it first: take a slot of that row.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {}
            Err(e) => return Err(e),
        }
    }
    Err(diesel::result::Error::RollbackTransaction)
}

/// A budget untouched for this long, and not locked, holds nothing worth keeping (its window
/// has long closed; only the escalation of a quiet account is forgotten).
const IDLE_SECS: i64 = 86_400;

/// Deletes up to `limit` idle budgets (see [`IDLE_SECS`]): a few whenever a new budget is
/// created, and the rest in batches by the purge.
pub fn forget_idle(conn: &mut DbConnection, now: i64, limit: i64) -> QueryResult<usize> {
    let idle = guess_budgets::table
        .select(guess_budgets::key)
        .filter(guess_budgets::window_start.lt(now - IDLE_SECS))
        .filter(
            guess_budgets::locked_until
                .is_null()
                .or(guess_budgets::locked_until.lt(now)),
        )
        .limit(limit);
    let keys: Vec<String> = idle.load(conn)?;
    if keys.is_empty() {
        return Ok(0);
    }
    diesel::delete(guess_budgets::table.filter(guess_budgets::key.eq_any(keys))).execute(conn)
}

/// Gives a slot back (the guess was right, or was never checked).
pub fn give_back(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::update(
        guess_budgets::table
            .find(key)
            .filter(guess_budgets::used.gt(0)),
    )
    .set(guess_budgets::used.eq(guess_budgets::used - 1))
    .execute(conn)
    .map(|_| ())
}

/// Forgets a budget (a successful sign-in from a trusted browser, or an operator's unlock).
pub fn clear(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(guess_budgets::table.find(key))
        .execute(conn)
        .map(|_| ())
}

/// Forgets every budget whose key starts with `prefix`.
pub fn clear_prefix(conn: &mut DbConnection, prefix: &str) -> QueryResult<usize> {
    diesel::delete(guess_budgets::table.filter(guess_budgets::key.like(format!("{prefix}%"))))
        .execute(conn)
}

/// Locks a budget whose window is full until `until`, counting a strike; `false` when another
/// request already did (or the window isn't full).
pub fn lock(
    conn: &mut DbConnection,
    key: &str,
    limit: i32,
    strikes_seen: i32,
    until: i64,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(
        guess_budgets::table
            .find(key)
            .filter(guess_budgets::used.ge(limit))
            .filter(guess_budgets::strikes.eq(strikes_seen)),
    )
    .set((
        guess_budgets::locked_until.eq(until),
        guess_budgets::strikes.eq(strikes_seen + 1),
        guess_budgets::used.eq(0),
        guess_budgets::window_start.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// A budget's state now (after a failed guess: is its window full?).
pub fn state(conn: &mut DbConnection, key: &str) -> QueryResult<Option<BudgetState>> {
    read(conn, key)
}

pub fn is_trusted_device(
    conn: &mut DbConnection,
    user_id: &str,
    device_hash: &str,
) -> QueryResult<bool> {
    trusted_devices::table
        .find((user_id, device_hash))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

/// Remembers that this browser signed in to `user_id` (or refreshes when it last did).
pub fn trust_device(
    conn: &mut DbConnection,
    user_id: &str,
    device_hash: &str,
    now: i64,
) -> QueryResult<()> {
    let updated = diesel::update(trusted_devices::table.find((user_id, device_hash)))
        .set(trusted_devices::last_used_at.eq(now))
        .execute(conn)?;
    if updated == 0 {
        let inserted = conn.transaction(|c| {
            diesel::insert_into(trusted_devices::table)
                .values((
                    trusted_devices::user_id.eq(user_id),
                    trusted_devices::device_hash.eq(device_hash),
                    trusted_devices::created_at.eq(now),
                    trusted_devices::last_used_at.eq(now),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_)
            | Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
