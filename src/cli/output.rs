//! The one way the CLI writes to stdout. A reader that goes away early
//! (`portcullis user list | head -1`) closes the pipe: the write fails with `BrokenPipe`, and the
//! command ends quietly with success instead of panicking like `println!` does.
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

/// Stdout was closed by its reader; `cli::run` turns this into a quiet, successful exit.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes one line on stdout (and flushes it).
pub fn print_line(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                anyhow::Error::new(StdoutClosed)
            } else {
                anyhow::Error::new(e).context("writing to standard output")
            }
        })
}

/// Prints one JSON document on stdout.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<ExitCode> {
    print_line(&serde_json::to_string_pretty(value)?)?;
    Ok(ExitCode::SUCCESS)
}

/// Whether `e` (or one of its causes) is a closed stdout.
pub fn is_stdout_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| cause.is::<StdoutClosed>())
}
