//! Queries on `clients`, and what tells a cache of them that it is stale: the `change_counters`
//! row that triggers raise on every change (whoever makes it), and a count of the changes this
//! process has committed (so its own changes take effect here at once).
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::prelude::*;

use super::schema::{change_counters, clients};
use super::DbConnection;

thread_local! {
    /// Whether this thread runs a `Db::run` job now.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
    /// Set by every function here that writes `clients` within a job; read when it ends.
    static WROTE: Cell<bool> = const { Cell::new(false) };
}

/// Changes to `clients` this process made, counted when the job that made them ended (its
/// transaction committed or rolled back, never in between).
static COMMITTED: AtomicU64 = AtomicU64::new(0);

/// Notes a write to `clients`: counted when the current job ends, or at once outside jobs
/// (`Db::get` callers: the CLI, start-up, tests; the poller covers what that misses).
pub(crate) fn note_write() {
    if IN_JOB.with(Cell::get) {
        WROTE.with(|w| w.set(true));
    } else {
        COMMITTED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Called when a database job starts (`Db::run`).
pub(crate) fn job_started() {
    IN_JOB.with(|j| j.set(true));
}

/// Called when a database job ends (`Db::run`): counts its writes to `clients`, if any.
pub(crate) fn job_ended() {
    IN_JOB.with(|j| j.set(false));
    if WROTE.with(|w| w.replace(false)) {
        COMMITTED.fetch_add(1, Ordering::SeqCst);
    }
}

/// How many jobs of this process have changed `clients` so far.
pub fn local_changes() -> u64 {
    COMMITTED.load(Ordering::SeqCst)
}

/// The `clients` change counter: raised by the database's triggers on every insert, update and
/// delete, whoever makes it.
pub fn change_counter(conn: &mut DbConnection) -> QueryResult<i64> {
    on_backend!(conn, |c| change_counters::table
        .find("clients")
        .select(change_counters::value)
        .get_result(c))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub is_public: bool,
    pub grant_types: String,
    pub scopes: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub audiences: String,
    pub skip_consent: bool,
    pub access_token_ttl_secs: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub can_introspect: bool,
    pub pkce_required: bool,
    pub web_origins: String,
    pub access_token_alg: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub require_mfa: bool,
    pub exchange_audiences: String,
    pub exchange_impersonation: bool,
    pub dynamic: bool,
    /// Until when the client metadata document that defines this client stands
    /// (`oauth::metadata_document`); `None` for every other client.
    pub metadata_document_expires_at: Option<i64>,
    /// RFC 9449: access tokens only with a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// Authorization requests must be pushed (RFC 9126).
    pub require_par: bool,
    /// OIDC Back-Channel Logout: where logout tokens are POSTed (`oidc::backchannel`).
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// NULL: a secret (confidential) or none (public); `private_key_jwt` (RFC 7523).
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys by value (a JWKS, JSON), for `private_key_jwt` and request
    /// objects; exclusive with `jwks_uri`.
    pub jwks: Option<String>,
    /// Where the client's JWKS is fetched from.
    pub jwks_uri: Option<String>,
    /// The security profile (`oauth::profile`): `fapi2`, or `None`.
    pub profile: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &ClientRow) -> QueryResult<()> {
    note_write();
    diesel::insert_into(clients::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ClientRow>> {
    on_backend!(conn, |c| clients::table
        .find(id)
        .select(ClientRow::as_select())
        .get_result(c)
        .optional())
}

/// Replaces a client a metadata document made with what a newer document says; `false` when
/// there is no such client.
pub fn replace_metadata_document(conn: &mut DbConnection, row: &ClientRow) -> QueryResult<bool> {
    note_write();
    diesel::update(
        clients::table
            .find(&row.id)
            .filter(clients::metadata_document_expires_at.is_not_null()),
    )
    .set(row)
    .execute(conn)
    .map(|n| n > 0)
}

/// Whether the client exists (one indexed probe, no row to decode).
pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    on_backend!(conn, |c| clients::table
        .find(id)
        .count()
        .get_result::<i64>(c)
        .map(|n| n > 0))
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .order((clients::created_at.asc(), clients::id.asc()))
        .select(ClientRow::as_select())
        .load(conn)
}

/// Deletes a client; `false` when there was none.
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    note_write();
    diesel::delete(clients::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

/// Replaces a confidential client's secret hash; `false` when there is no such client (or it
/// authenticates with `private_key_jwt`, which has no secret).
pub fn set_secret_hash(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    now: i64,
) -> QueryResult<bool> {
    note_write();
    diesel::update(
        clients::table
            .find(id)
            .filter(clients::is_public.eq(false))
            .filter(clients::token_endpoint_auth_method.is_null()),
    )
    .set((clients::secret_hash.eq(hash), clients::updated_at.eq(now)))
    .execute(conn)
    .map(|n| n > 0)
}

/// Replaces a client's explicit web origins (a JSON array); `false` when there is no such client.
pub fn set_web_origins(
    conn: &mut DbConnection,
    id: &str,
    web_origins: &str,
    now: i64,
) -> QueryResult<bool> {
    note_write();
    diesel::update(clients::table.find(id))
        .set((
            clients::web_origins.eq(web_origins),
            clients::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

/// Replaces every column of an operator's client (not a dynamic or metadata-document one) with
/// `row`'s; `false` when there is no such client.
pub fn replace_managed(conn: &mut DbConnection, row: &ClientRow) -> QueryResult<bool> {
    note_write();
    diesel::update(
        clients::table
            .find(&row.id)
            .filter(clients::dynamic.eq(false))
            .filter(clients::metadata_document_expires_at.is_null()),
    )
    .set(row)
    .execute(conn)
    .map(|n| n > 0)
}

/// One page of clients, ordered by name then id, whose id or name contains `query` (any case),
/// and how many match in all.
pub fn search(
    conn: &mut DbConnection,
    query: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ClientRow>, i64)> {
    use super::users::escape_like;
    let filtered = || {
        let mut q = clients::table.into_boxed();
        if let Some(text) = query.map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            q = q.filter(
                lower(clients::id.nullable())
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(clients::name.nullable()).like(pattern).escape('\\')),
            );
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((clients::name.asc(), clients::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(ClientRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

diesel::define_sql_function! {
    /// SQL `lower()` (both backends), for case-blind search.
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}
