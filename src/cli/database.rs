//! How CLI commands open the database. Every command says on stderr which database it uses
//! (password redacted). Read commands never create one: a missing SQLite file or a database
//! without the schema is an error that names it and suggests `portcullis migrate` or
//! `--config`; write commands create and migrate as needed.
use std::path::Path;

use anyhow::{bail, Context};

use crate::config::{redact_url_password, Settings};
use crate::store::{self, DatabaseKind, Db};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads: the database must already exist, with its schema.
    Read,
    /// May create the database and apply migrations.
    Write,
}

pub fn open(settings: &Settings, access: Access) -> anyhow::Result<Db> {
    let url = &settings.database_url;
    let shown = redact_url_password(url);
    eprintln!("using database {shown}");
    let hint = "run `portcullis migrate` to create it, or point --config or \
                PORTCULLIS_DATABASE_URL at your database";
    if access == Access::Read {
        if let DatabaseKind::Sqlite(path) = DatabaseKind::from_url(url)? {
            if !Path::new(&path).exists() {
                bail!("database {shown} does not exist: {hint}");
            }
        }
    }
    let db = Db::open(url, 1).with_context(|| format!("opening database {shown}"))?;
    if access == Access::Read && !store::has_schema(&mut *db.get()?)? {
        bail!("database {shown} has no Portcullis schema: {hint}");
    }
    // An older schema is brought up to date, as the server would on start.
    db.migrate()
        .with_context(|| format!("migrating database {shown}"))?;
    // A database no server has started on yet gets its roles here.
    crate::identity::role_seed::seed_if_empty(&mut *db.get()?, settings, super::now())?;
    Ok(db)
}
