//! A user's passkeys: listed (name, created, last used) and removed.
use serde::Serialize;
use serde_json::json;

use super::super::audit::{self, Event};
use super::super::mfa;
use super::super::RequestMeta;
use super::{PasskeyError, PASSKEY_REMOVED};
use crate::store::passkeys::{self as store, PasskeyRow};
use crate::store::sessions::SessionRow;
use crate::store::{write_transaction, DbConnection};

/// A passkey as listed (never the credential itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<&PasskeyRow> for PasskeyInfo {
    fn from(r: &PasskeyRow) -> Self {
        PasskeyInfo {
            id: r.id.clone(),
            name: r.name.clone(),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// The user's passkeys, oldest first.
pub fn list(conn: &mut DbConnection, user_id: &str) -> Result<Vec<PasskeyInfo>, PasskeyError> {
    Ok(store::list(conn, user_id)?
        .iter()
        .map(PasskeyInfo::from)
        .collect())
}

/// Whether the user has at least one passkey (a second factor they can use).
pub fn has_passkeys(conn: &mut DbConnection, user_id: &str) -> Result<bool, PasskeyError> {
    Ok(store::count(conn, user_id)? > 0)
}

/// Removes the session's user's passkey `id` (audited). Removing a factor is a sensitive
/// operation: the session must have signed in recently, with a second factor when the user has
/// one (`mfa::check_recent`), else `Reauthenticate`. `NotFound` when the user has no passkey
/// with that id, which is also the answer for another user's passkey.
pub fn remove(
    conn: &mut DbConnection,
    session: &SessionRow,
    id: &str,
    meta: &RequestMeta,
    now: i64,
) -> Result<PasskeyInfo, PasskeyError> {
    let user_id = session.user_id.as_str();
    let factors = mfa::factors(conn, user_id)?;
    mfa::check_recent(session, &factors, now).map_err(|_| PasskeyError::Reauthenticate)?;
    write_transaction(conn, |c| {
        let row = store::delete(c, user_id, id)?.ok_or(PasskeyError::NotFound)?;
        audit::record(
            c,
            Event {
                kind: PASSKEY_REMOVED,
                success: true,
                user_id: Some(user_id),
                meta: Some(meta),
                detail: Some(json!({ "passkey_id": row.id, "name": row.name })),
                ..Event::default()
            },
            now,
        )?;
        Ok(PasskeyInfo::from(&row))
    })
}
