//! Initial access tokens (`clients.registration = "initial_access_token"`): made, listed and
//! revoked by the operator's CLI, stored only as SHA-256, each use taken by one conditional
//! UPDATE.
use super::*;

/// An initial access token as `client registration-token list` shows it (never the token).
#[derive(Debug, Clone, Serialize)]
pub struct InitialTokenInfo {
    pub id: String,
    pub uses_left: i32,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl From<RegistrationTokenRow> for InitialTokenInfo {
    fn from(r: RegistrationTokenRow) -> Self {
        InitialTokenInfo {
            id: r.id,
            uses_left: r.uses_left,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

/// A new initial access token, in clear (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct NewInitialToken {
    pub id: String,
    pub initial_access_token: String,
    pub uses_left: i32,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// Most registrations one initial access token may allow.
pub const MAX_TOKEN_USES: i32 = 1_000_000;

/// Makes an initial access token good for `uses` registrations, expiring `expires_in` seconds
/// from `now` (`None`: never); only its SHA-256 is stored.
pub fn create_initial_token(
    conn: &mut DbConnection,
    expires_in: Option<i64>,
    uses: i32,
    now: i64,
) -> anyhow::Result<NewInitialToken> {
    if expires_in.is_some_and(|s| s <= 0) {
        anyhow::bail!("--expires-in must be a positive number of seconds");
    }
    if !(1..=MAX_TOKEN_USES).contains(&uses) {
        anyhow::bail!("--uses must be between 1 and {MAX_TOKEN_USES}");
    }
    let token = secret::new_secret()?;
    let row = RegistrationTokenRow {
        id: secret::random_id()?,
        token_hash: secret::hash_secret(&token),
        uses_left: uses,
        created_at: now,
        expires_at: expires_in.map(|s| now.saturating_add(s)),
    };
    write_transaction(conn, |c| {
        store::insert_token(c, &row)?;
        audit::record(
            c,
            Event {
                kind: audit::REGISTRATION_TOKEN_CREATED,
                success: true,
                detail: Some(json!({
                    "id": row.id,
                    "uses": uses,
                    "expires_at": row.expires_at,
                })),
                ..Event::default()
            },
            now,
        )
    })?;
    Ok(NewInitialToken {
        id: row.id,
        initial_access_token: token,
        uses_left: uses,
        created_at: now,
        expires_at: row.expires_at,
    })
}

pub fn list_initial_tokens(conn: &mut DbConnection) -> anyhow::Result<Vec<InitialTokenInfo>> {
    Ok(store::list_tokens(conn)?
        .into_iter()
        .map(InitialTokenInfo::from)
        .collect())
}

/// Revokes an initial access token; `false` when there is none with this id.
pub fn revoke_initial_token(conn: &mut DbConnection, id: &str, now: i64) -> anyhow::Result<bool> {
    write_transaction(conn, |c| {
        if !store::delete_token(c, id)? {
            return Ok(false);
        }
        audit::record(
            c,
            Event {
                kind: audit::REGISTRATION_TOKEN_REVOKED,
                success: true,
                detail: Some(json!({ "id": id })),
                ..Event::default()
            },
            now,
        )?;
        Ok(true)
    })
}
