//! The CLI never panics on a closed stdout (`portcullis user list | head -c1`), and its read
//! commands never create a database where there is none.
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portcullis::identity::users;
use portcullis::store::Db;

use crate::helpers::{Backend, TestDb};
use crate::keys::portcullis;

/// A SQLite database with enough users that `user list` writes more than a pipe holds (64 KiB),
/// so a reader that goes away always leaves the writer with a closed pipe.
fn database_with_many_users(dir: &Path) -> String {
    let url = format!("sqlite://{}", dir.join("portcullis.db").display());
    let db = Db::open(&url, 1).unwrap();
    db.migrate().unwrap();
    let mut conn = db.get().unwrap();
    for i in 0..400 {
        let record = users::Record {
            email: format!("user-{i:04}@example.com"),
            name: Some(format!("User number {i} with a longish display name")),
            role: "guest".into(),
            password_hash: None,
            email_verified: true,
        };
        users::insert(&mut conn, record, None, None, 1_700_000_000).unwrap();
    }
    url
}

/// Runs `cmd` with stdout piped; reads one byte (unless `read` is false), closes the pipe and
/// waits. Asserts a successful exit and no panic on stderr.
fn run_and_hang_up(cmd: &mut Command, read: bool) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    if read {
        let mut byte = [0u8; 1];
        stdout.read_exact(&mut byte).unwrap();
    }
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{cmd:?}: {stderr}");
    assert!(out.status.success(), "{cmd:?}: {:?} {stderr}", out.status);
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_with_many_users(dir.path());
    let started = Instant::now();
    for args in [
        &["user", "list"][..],
        &["config", "show"][..],
        &["roles", "list"][..],
    ] {
        let cli = || {
            let mut c = portcullis();
            c.args(args).env("PORTCULLIS_DATABASE_URL", &url);
            c
        };
        // `… | head -c1`: the reader takes one byte and goes away.
        for _ in 0..100 {
            run_and_hang_up(&mut cli(), true);
        }
        // The reader is gone before the first write.
        for _ in 0..10 {
            run_and_hang_up(&mut cli(), false);
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "330 short runs took {:?}",
        started.elapsed()
    );
}

fn assert_read_refused(cmd: &mut Command, shown_db: &str, why: &str) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{cmd:?}: {stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(&format!("using database {shown_db}"))
            && stderr.contains(why)
            && stderr.contains("portcullis migrate")
            && stderr.contains("--config"),
        "{cmd:?}: {stderr}"
    );
}

const READ_COMMANDS: &[&[&str]] = &[
    &["user", "list"],
    &["client", "list"],
    &["client", "show", "some-id"],
    &["apikey", "list"],
    &["audit", "list"],
];

#[test]
fn read_commands_in_an_empty_directory_create_no_database() {
    let dir = tempfile::tempdir().unwrap();
    for args in READ_COMMANDS {
        let mut cmd = portcullis();
        cmd.current_dir(dir.path()).args(*args);
        assert_read_refused(&mut cmd, "sqlite://portcullis.db", "does not exist");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing created: {left:?}");
    // A write command may create and migrate it; then reading works.
    let out = portcullis()
        .current_dir(dir.path())
        .args(["migrate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = portcullis()
        .current_dir(dir.path())
        .args(["user", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

#[test]
fn read_commands_refuse_a_postgres_database_without_the_schema() {
    if crate::helpers::postgres_admin_url().is_none() {
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    let mut with_password = url::Url::parse(&db.url).unwrap();
    with_password.set_password(Some("hunter2")).unwrap();
    let mut shown = with_password.clone();
    shown.set_password(Some("REDACTED")).unwrap();
    for args in READ_COMMANDS {
        let mut cmd = portcullis();
        cmd.args(*args)
            .env("PORTCULLIS_DATABASE_URL", with_password.as_str());
        assert_read_refused(&mut cmd, shown.as_str(), "has no Portcullis schema");
    }
    // Still empty: not even the migrations table was created.
    let out = portcullis()
        .args(["user", "list"])
        .env("PORTCULLIS_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no Portcullis schema"));
}
