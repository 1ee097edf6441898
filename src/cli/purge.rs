//! `portcullis purge`: delete dead rows now (the purge a server runs every
//! `purge.interval_secs`), unless another instance is purging.
use std::process::ExitCode;
use std::time::Instant;

use crate::config::Settings;
use crate::purge::{self, Outcome, Policy};

pub fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    // Read access: a purge never creates a database.
    let db = super::database::open(settings, super::Access::Read)?;
    let started = Instant::now();
    let holder = purge::holder_id("cli")?;
    match purge::run(&db, &holder, &Policy::from_settings(settings), super::now())? {
        Outcome::Ran { counts, complete } => super::print_json(&serde_json::json!({
            "ran": true,
            "complete": complete,
            "deleted": counts,
            "total": counts.total(),
            "elapsed_ms": started.elapsed().as_millis() as u64,
        })),
        Outcome::Busy(lease) => {
            eprintln!(
                "another instance is purging (lease held by {})",
                lease.holder
            );
            super::print_json(&serde_json::json!({
                "ran": false,
                "held_by": lease.holder,
                "until": lease.expires_at,
            }))
        }
    }
}
