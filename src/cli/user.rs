//! `portcullis user …` and `portcullis roles list`
use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::json;

use crate::config::Settings;
use crate::identity::admin_users::{self, Actor, AdminError};
use crate::identity::roles::Roles;
use crate::identity::users::{self, NewUser, User};
use crate::store::users as user_store;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password comes from --password-stdin, else PORTCULLIS_PASSWORD, else
    /// a prompt on the terminal; never from a flag.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        role: Option<String>,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        /// The operator vouches for the address: `email_verified` is true from the start
        /// (otherwise it becomes true when the user follows a verification link).
        #[arg(long)]
        email_verified: bool,
    },
    /// List users.
    List,
    /// Change a user's role.
    SetRole { email: String, role: String },
    /// Disable a user (their sessions end).
    Disable { email: String },
    /// Enable a disabled user again.
    Enable { email: String },
    /// Delete a user and everything of theirs (sessions, factors, API keys, linked identities).
    Delete { email: String },
    /// Lift a brute-force lock.
    Unlock { email: String },
}

pub fn run(settings: &Settings, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let access = match cmd {
        UserCommand::List => super::Access::Read,
        _ => super::Access::Write,
    };
    let db = super::database::open(settings, access)?;
    let mut conn = db.get()?;
    let now = super::now();
    let roles = Roles::read(&mut conn)?;
    match cmd {
        UserCommand::Create {
            email,
            name,
            role,
            password_stdin,
            email_verified,
        } => {
            let password = read_password(password_stdin)?;
            let new = NewUser {
                email,
                name,
                password,
                role,
                email_verified,
            };
            let user = admin_users::create(&mut conn, &roles, settings, new, Actor::CLI, now)
                .map_err(describe)?;
            super::print_json(&json!({
                "id": user.id,
                "email": user.email,
                "role": user.role,
                "email_verified": user.email_verified,
            }))
        }
        UserCommand::List => {
            let all: Vec<User> = user_store::list(&mut conn)?
                .iter()
                .map(User::from)
                .collect();
            super::print_json(&all)
        }
        UserCommand::SetRole { email, role } => {
            let row = users::find_by_email(&mut conn, &email)?;
            let user = admin_users::set_role(&mut conn, &roles, &row.id, &role, Actor::CLI, now)
                .map_err(|e| match e {
                    AdminError::UnknownRole(role) => {
                        anyhow::anyhow!("unknown role {role:?} (see `portcullis roles list`)")
                    }
                    other => describe(other),
                })?;
            super::print_json(&json!({ "id": user.id, "email": user.email, "role": user.role }))
        }
        UserCommand::Disable { email } => disable(&mut conn, &email, true, now),
        UserCommand::Enable { email } => disable(&mut conn, &email, false, now),
        UserCommand::Unlock { email } => {
            let row = users::find_by_email(&mut conn, &email)?;
            let user =
                admin_users::unlock(&mut conn, &row.id, Actor::CLI, now).map_err(describe)?;
            super::print_json(&json!({ "id": user.id, "email": user.email, "locked": false }))
        }
        UserCommand::Delete { email } => {
            let row = users::find_by_email(&mut conn, &email)?;
            admin_users::delete(&mut conn, &row.id, Actor::CLI, now).map_err(describe)?;
            super::print_json(&json!({ "id": row.id, "email": row.email, "deleted": true }))
        }
    }
}

/// The roles in the database, with their permissions.
pub fn list_roles(settings: &Settings) -> anyhow::Result<ExitCode> {
    let db = super::database::open(settings, super::Access::Read)?;
    let roles = Roles::read(&mut *db.get()?)?;
    let listed: Vec<_> = roles
        .roles()
        .map(|r| {
            json!({
                "role": r.name,
                "permissions": r.permissions,
                "require_mfa": r.require_mfa,
                "description": r.description,
                "default": r.name == settings.users.default_role,
            })
        })
        .collect();
    super::print_json(&listed)
}

fn disable(
    conn: &mut crate::store::DbConnection,
    email: &str,
    disabled: bool,
    now: i64,
) -> anyhow::Result<ExitCode> {
    let row = users::find_by_email(conn, email)?;
    let user =
        admin_users::set_disabled(conn, &row.id, disabled, Actor::CLI, now).map_err(describe)?;
    super::print_json(&json!({ "id": user.id, "email": user.email, "disabled": user.disabled }))
}

fn describe(e: AdminError) -> anyhow::Error {
    match e {
        AdminError::Create(users::CreateError::WeakPassword(rules)) => anyhow::anyhow!(
            "the password does not meet the policy: {}",
            rules
                .iter()
                .map(|r| r.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_to_string(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else if let Ok(p) = std::env::var("PORTCULLIS_PASSWORD") {
        p
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat password: ")?;
        if first != again {
            bail!("the passwords differ");
        }
        first
    } else {
        bail!("no password: use --password-stdin, PORTCULLIS_PASSWORD, or run on a terminal");
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}
