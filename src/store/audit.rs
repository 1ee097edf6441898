//! Queries on `audit_events`.
use diesel::prelude::*;

use super::prepared::Prepared;
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
    // Prepared: every token issued and sign-in writes one.
    on_backend!(conn, |c| Prepared(
        diesel::insert_into(audit_events::table)
            .values(event)
            .returning(audit_events::id)
    )
    .load::<i64>(c)
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

/// What the admin console's audit browser filters on; `None`: any.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub kind: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// `outcome`: `success` or `failure`.
    pub outcome: Option<String>,
    /// At or after.
    pub since: Option<i64>,
    /// Before.
    pub until: Option<i64>,
}

/// One page of events matching `query`, newest first, and how many match in all.
pub fn search(
    conn: &mut DbConnection,
    query: &AuditQuery,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditRow>, i64)> {
    let filtered = || {
        let mut q = audit_events::table.into_boxed();
        if let Some(k) = &query.kind {
            q = q.filter(audit_events::kind.eq(k.clone()));
        }
        if let Some(u) = &query.user_id {
            q = q.filter(audit_events::user_id.eq(u.clone()));
        }
        if let Some(c) = &query.client_id {
            q = q.filter(audit_events::client_id.eq(c.clone()));
        }
        if let Some(o) = &query.outcome {
            q = q.filter(audit_events::outcome.eq(o.clone()));
        }
        if let Some(s) = query.since {
            q = q.filter(audit_events::at.ge(s));
        }
        if let Some(u) = query.until {
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
