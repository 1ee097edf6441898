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

/// Newest first, filtered.
pub fn list(
    conn: &mut DbConnection,
    user_id: Option<&str>,
    kind: Option<&str>,
    since: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut q = audit_events::table.into_boxed();
    if let Some(u) = user_id {
        q = q.filter(audit_events::user_id.eq(u.to_string()));
    }
    if let Some(k) = kind {
        q = q.filter(audit_events::kind.eq(k.to_string()));
    }
    if let Some(s) = since {
        q = q.filter(audit_events::at.ge(s));
    }
    q.order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}
