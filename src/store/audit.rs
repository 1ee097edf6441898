//! Queries on `audit_events`.
use diesel::prelude::*;

use super::schema::audit_events;
use super::DbConnection;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent {
    pub at: i64,
    pub kind: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

pub fn insert(conn: &mut DbConnection, event: &NewAuditEvent) -> QueryResult<()> {
    on_backend!(conn, |c| diesel::insert_into(audit_events::table)
        .values(event)
        .execute(c)
        .map(|_| ()))
}

/// What the audit log is filtered by (every given part must match).
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub user_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// At or after (seconds since the epoch).
    pub since: Option<i64>,
    /// Before (seconds since the epoch).
    pub until: Option<i64>,
}

/// Newest first, filtered.
pub fn list(
    conn: &mut DbConnection,
    user_id: Option<&str>,
    kind: Option<&str>,
    since: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let filter = Filter {
        user_id,
        kind,
        since,
        ..Filter::default()
    };
    Ok(page(conn, &filter, 0, limit)?.0)
}

/// One page of the filtered log, newest first, and how many events match in all.
pub fn page(
    conn: &mut DbConnection,
    f: &Filter<'_>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditRow>, i64)> {
    let filtered = || {
        let mut q = audit_events::table.into_boxed();
        if let Some(u) = f.user_id {
            q = q.filter(audit_events::user_id.eq(u.to_string()));
        }
        if let Some(c) = f.client_id {
            q = q.filter(audit_events::client_id.eq(c.to_string()));
        }
        if let Some(k) = f.kind {
            q = q.filter(audit_events::kind.eq(k.to_string()));
        }
        if let Some(s) = f.since {
            q = q.filter(audit_events::at.ge(s));
        }
        if let Some(u) = f.until {
            q = q.filter(audit_events::at.lt(u));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
