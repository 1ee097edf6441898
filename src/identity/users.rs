//! User accounts: creation (email and password rules), lookup, role and status changes.
use serde::Serialize;

use super::audit::{self, Event};
use super::password::{self, Hasher, Purpose, Violation};
use super::roles::Roles;
use super::text;
use super::RequestMeta;
use crate::config::Settings;
use crate::store::users::{self, UserRow};
use crate::store::{Db, DbConnection, DbError};
use crate::tokens::secret;

/// A user as the rest of the server sees it (no password hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub email_verified: bool,
    pub disabled: bool,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&UserRow> for User {
    fn from(r: &UserRow) -> Self {
        User {
            id: r.id.clone(),
            email: r.email.clone(),
            name: r.name.clone(),
            role: r.role.clone(),
            email_verified: r.email_verified,
            disabled: r.disabled,
            locked_until: r.locked_until,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    InvalidEmail(String),
    #[error("{0}")]
    InvalidName(String),
    #[error("the password breaks {} rule(s)", .0.len())]
    WeakPassword(Vec<Violation>),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    #[error("password hashing is saturated")]
    Busy,
    /// Too many sign-ups from this source, or from everywhere: retry after this many seconds.
    #[error("too many sign-ups; retry in {retry_after} s")]
    Throttled { retry_after: i64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for CreateError {
    fn from(e: DbError) -> Self {
        CreateError::Internal(e.into())
    }
}

impl From<diesel::result::Error> for CreateError {
    fn from(e: diesel::result::Error) -> Self {
        CreateError::Internal(e.into())
    }
}

impl From<password::HashError> for CreateError {
    fn from(e: password::HashError) -> Self {
        match e {
            password::HashError::Busy => CreateError::Busy,
            password::HashError::Internal(e) => CreateError::Internal(e),
        }
    }
}

pub struct NewUser {
    pub email: String,
    pub name: Option<String>,
    pub password: String,
    /// `None`: the configured default role.
    pub role: Option<String>,
    pub email_verified: bool,
}

/// A valid email address in its stored form (`identity::email::normalise`: trimmed, domain in
/// IDNA ASCII form, no lookalike local part), or why not.
pub fn validate_email(raw: &str) -> Result<String, CreateError> {
    let trimmed = raw.trim();
    if trimmed.len() > 254
        || trimmed
            .chars()
            .any(|c| text::is_refused_control(c) || text::is_bidi_control(c))
    {
        return Err(CreateError::InvalidEmail(format!(
            "{trimmed:?} is not a valid email address"
        )));
    }
    super::email::normalise(raw).map_err(CreateError::InvalidEmail)
}

/// The form to look an email up by: normalised when it is valid, else as typed (it then
/// matches nothing stored since the rule existed).
pub fn lookup_form(raw: &str) -> String {
    super::email::normalise(raw).unwrap_or_else(|_| raw.trim().to_string())
}

/// Checks everything that can be checked before hashing; returns the email and role to use.
pub fn check_new(
    new: &NewUser,
    roles: &Roles,
    settings: &Settings,
) -> Result<(String, String), CreateError> {
    let email = validate_email(&new.email)?;
    let role = new
        .role
        .clone()
        .unwrap_or_else(|| settings.users.default_role.clone());
    if !roles.exists(&role) {
        return Err(CreateError::UnknownRole(role));
    }
    let violations = password::check_policy(&settings.password, &new.password, &email);
    if !violations.is_empty() {
        return Err(CreateError::WeakPassword(violations));
    }
    if let Some(name) = new.name.as_deref().filter(|n| !n.trim().is_empty()) {
        text::check_name("name", name, 200).map_err(CreateError::InvalidName)?;
    }
    Ok((email, role))
}

/// A checked user ready to store: the password already hashed.
pub struct Record {
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub password_hash: Option<String>,
    pub email_verified: bool,
}

/// Stores a user and audits it (with the operator who made it, if one did).
pub fn insert(
    conn: &mut DbConnection,
    rec: Record,
    meta: Option<&RequestMeta>,
    actor: Option<&str>,
    now: i64,
) -> Result<User, CreateError> {
    let Record {
        email,
        name,
        role,
        password_hash,
        email_verified,
    } = rec;
    let role = role.as_str();
    let row = UserRow {
        id: secret::random_id()?,
        email_lower: email.to_lowercase(),
        email,
        name: name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
        password_hash,
        role: role.to_string(),
        email_verified,
        disabled: false,
        failed_logins: 0,
        lockouts: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
    };
    if !users::insert(conn, &row)? {
        return Err(CreateError::EmailTaken);
    }
    audit::record(
        conn,
        Event {
            kind: audit::USER_CREATED,
            success: true,
            user_id: Some(&row.id),
            meta,
            detail: Some(match actor {
                Some(actor) => serde_json::json!({ "role": role, "actor": actor }),
                None => serde_json::json!({ "role": role }),
            }),
            ..Event::default()
        },
        now,
    )?;
    Ok(User::from(&row))
}

/// Registers a user: rules first, then the hash on the hashing pool, then the insert.
pub async fn register(
    db: &Db,
    hasher: &Hasher,
    roles: &Roles,
    settings: &Settings,
    new: NewUser,
    meta: RequestMeta,
    now: i64,
) -> Result<User, CreateError> {
    let (email, role) = check_new(&new, roles, settings)?;
    // Saves a hash when the email is obviously taken (the insert still decides).
    let taken = {
        let email = email.clone();
        db.run(move |c| users::find_by_email(c, &email).map_err(CreateError::from))
            .await?
    };
    if taken.is_some() {
        return Err(CreateError::EmailTaken);
    }
    // A sign-up from the network takes a slot of its source's and the global budget before
    // anything is hashed, so a flood can't fill the hashing pool (operators' CLI: no budget).
    if let Some(ip) = meta.ip.clone() {
        let users = settings.users.clone();
        db.run(move |c| {
            crate::store::write_transaction(c, |c| {
                match super::guesses::reserve_registration(c, &users, &ip, now)? {
                    Ok(()) => Ok(()),
                    Err(retry_after) => Err(CreateError::Throttled { retry_after }),
                }
            })
        })
        .await?;
    }
    let hash = hasher.hash_for(new.password, Purpose::SignUp).await?;
    let rec = Record {
        email,
        name: new.name,
        role,
        password_hash: Some(hash),
        email_verified: new.email_verified,
    };
    db.run(move |c| insert(c, rec, Some(&meta), None, now))
        .await
}

/// Finds a user by email (case-insensitive) for the CLI.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> anyhow::Result<UserRow> {
    users::find_by_email(conn, &lookup_form(email))?
        .ok_or_else(|| anyhow::anyhow!("no user {}", email.trim()))
}
