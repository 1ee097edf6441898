//! `portcullis user …` and `portcullis roles list`
use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::json;

use crate::config::Settings;
use crate::identity::audit::{self, Event};
use crate::identity::password::Hasher;
use crate::identity::roles::Roles;
use crate::identity::users::{self, NewUser, User};
use crate::store::{users as user_store, write_transaction};

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
    /// Lift a brute-force lock.
    Unlock { email: String },
}

pub fn run(settings: &Settings, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let roles = Roles::load(settings.users.roles_file.as_deref())?;
    let access = match cmd {
        UserCommand::List => super::Access::Read,
        _ => super::Access::Write,
    };
    let db = super::database::open(settings, access)?;
    let mut conn = db.get()?;
    let now = super::now();
    let changed = |conn: &mut crate::store::DbConnection, id: &str, detail: serde_json::Value| {
        audit::record(
            conn,
            Event {
                kind: audit::USER_CHANGED,
                success: true,
                user_id: Some(id),
                detail: Some(detail),
                ..Event::default()
            },
            now,
        )
    };
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
            let (email, role) = users::check_new(&new, &roles, settings).map_err(describe)?;
            let hash = Hasher::new(&settings.password)?.hash_blocking(&new.password)?;
            let record = users::Record {
                email,
                name: new.name,
                role,
                password_hash: Some(hash),
                email_verified,
            };
            let user = users::insert(&mut conn, record, None, now).map_err(describe)?;
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
            if !roles.exists(&role) {
                bail!("unknown role {role:?} (see `portcullis roles list`)");
            }
            let row = users::find_by_email(&mut conn, &email)?;
            write_transaction(&mut conn, |c| {
                user_store::set_role(c, &row.id, &role, now)?;
                changed(c, &row.id, json!({ "role": role }))
            })?;
            super::print_json(&json!({ "id": row.id, "email": row.email, "role": role }))
        }
        UserCommand::Disable { email } => {
            let row = users::find_by_email(&mut conn, &email)?;
            write_transaction(&mut conn, |c| {
                user_store::set_disabled(c, &row.id, true, now)?;
                for s in crate::store::sessions::active_sessions(c, &row.id, now)? {
                    crate::store::sessions::end_session(c, &s.id, now)?;
                }
                changed(c, &row.id, json!({ "disabled": true }))
            })?;
            super::print_json(&json!({ "id": row.id, "email": row.email, "disabled": true }))
        }
        UserCommand::Unlock { email } => {
            let row = users::find_by_email(&mut conn, &email)?;
            write_transaction(&mut conn, |c| {
                user_store::clear_failures(c, &row.id)?;
                crate::identity::guesses::unlock(c, &row.id, &row.email)?;
                crate::identity::guesses::unlock_second_factor(c, &row.id)?;
                changed(c, &row.id, json!({ "unlocked": true }))
            })?;
            super::print_json(&json!({ "id": row.id, "email": row.email, "locked": false }))
        }
    }
}

pub fn list_roles(settings: &Settings) -> anyhow::Result<ExitCode> {
    let roles = Roles::load(settings.users.roles_file.as_deref())?;
    let listed: Vec<_> = roles
        .iter()
        .map(|(name, perms)| json!({ "role": name, "permissions": perms, "default": *name == settings.users.default_role }))
        .collect();
    super::print_json(&listed)
}

fn describe(e: users::CreateError) -> anyhow::Error {
    match e {
        users::CreateError::WeakPassword(rules) => anyhow::anyhow!(
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
