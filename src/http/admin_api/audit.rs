//! `GET /admin/api/audit`: the audit log, newest first, filtered by kind, user, client and time.
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::AdminCaller;
use super::{ok, query_text, Page, Paged};
use crate::http::error::ApiError;
use crate::identity::audit::Printed;
use crate::state::AppState;
use crate::store::audit::{self as audit_store, AuditQuery as Filter};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list));
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: i64,
    /// Seconds since the epoch.
    pub at: i64,
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// What happened, by kind (an admin change names its `actor`).
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

impl From<Printed> for AuditEventView {
    fn from(p: Printed) -> Self {
        AuditEventView {
            id: p.id,
            at: p.at,
            kind: p.kind,
            outcome: p.outcome,
            user_id: p.user_id,
            client_id: p.client_id,
            ip: p.ip,
            user_agent: p.user_agent,
            detail: p.detail,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events of this kind (e.g. `user_changed`, `client_changed`, `login_failed`).
    kind: Option<String>,
    /// Only events about this user (a user id).
    user: Option<String>,
    /// Only events about this client (a client id).
    client: Option<String>,
    /// At or after this time (seconds since the epoch).
    #[param(minimum = 0)]
    since: Option<i64>,
    /// Before this time (seconds since the epoch).
    #[param(minimum = 0)]
    until: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
}

#[utoipa::path(get, operation_id = "audit_list", path = "/admin/api/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "One page of audit events, newest first",
        body = Paged<AuditEventView>)))]
pub async fn list(
    _: AdminCaller,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = Page::new(query.limit, query.offset)?;
    let kind = query_text(query.kind, "kind")?;
    let user = query_text(query.user, "user")?;
    let client = query_text(query.client, "client")?;
    let filter = Filter {
        kind,
        user_id: user,
        client_id: client,
        outcome: None,
        since: query.since,
        until: query.until,
    };
    let (rows, total) = state
        .db
        .run(move |c| Ok::<_, ApiError>(audit_store::search(c, &filter, page.offset, page.limit)?))
        .await?;
    let items = rows
        .into_iter()
        .map(|r| AuditEventView::from(Printed::from(r)))
        .collect();
    Ok(ok(&Paged::of(items, total, page)))
}
