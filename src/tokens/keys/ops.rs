//! Key operations on the database: create a scheduled key, rotate by hand, import the PEM files
//! of earlier versions, re-encrypt under a new key-encryption key, forget long-removed keys.
use std::path::Path;

use anyhow::{bail, Context};
use diesel::Connection;

use super::alg::Alg;
use super::kek::Kek;
use super::legacy;
use super::schedule::{self, KeyMeta, KeyStatus, Planned, Policy};
use super::set::{self, KeyInfo};
use crate::store::signing_keys::{self, SigningKeyRow};
use crate::store::DbConnection;

/// Removed keys' rows are deleted this long after they left the JWKS (they show in `keys list`
/// until then).
pub const FORGET_AFTER_SECS: i64 = 7 * 86_400;

/// The associated data a key's private part is sealed with: it belongs to this kid and alg.
pub fn seal_context(kid: &str, alg: Alg) -> String {
    format!("portcullis signing key {kid} {alg}")
}

/// Generates and stores the planned key; `None` when another instance stored that generation
/// first.
pub fn create(
    conn: &mut DbConnection,
    kek: &Kek,
    policy: &Policy,
    planned: Planned,
    now: i64,
) -> anyhow::Result<Option<SigningKeyRow>> {
    let key = planned.alg.generate(policy.rsa_bits)?;
    let row = SigningKeyRow {
        private_key: kek.seal(&key.private_pem, &seal_context(&key.kid, planned.alg))?,
        kek_id: kek.id().to_string(),
        kid: key.kid,
        alg: planned.alg.name().to_string(),
        generation: planned.generation,
        public_jwk: key.public_jwk,
        created_at: now,
        published_at: planned.published_at,
        signs_from: planned.signs_from,
    };
    Ok(signing_keys::insert(conn, &row)?.then_some(row))
}

/// Creates what the schedule says is due (first keys, automatic rotations) and deletes rows
/// removed more than `FORGET_AFTER_SECS` ago. Returns the kids created.
pub fn maintain(
    conn: &mut DbConnection,
    kek: &Kek,
    policy: &Policy,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let rows = signing_keys::all(conn)?;
    let metas = set::metas(&rows)?;
    let mut created = Vec::new();
    for planned in schedule::due(&metas, policy, now) {
        if let Some(row) = create(conn, kek, policy, planned, now)? {
            tracing::info!(kid = %row.kid, alg = %row.alg, signs_from = row.signs_from, "scheduled a new signing key");
            created.push(row.kid);
        }
    }
    let forget: Vec<String> = set::infos(&rows, policy, now)?
        .into_iter()
        .filter(|i| i.status == KeyStatus::Removed)
        .filter(|i| {
            i.timeline
                .removed_at
                .is_some_and(|t| t + FORGET_AFTER_SECS <= now)
        })
        .map(|i| i.kid)
        .collect();
    if !forget.is_empty() {
        signing_keys::delete(conn, &forget)?;
    }
    Ok(created)
}

/// What `keys rotate` did for one algorithm.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Rotation {
    /// A new key is published now and signs from its `signs_from`.
    Scheduled(KeyInfo),
    /// A rotation was already pending; nothing new was made.
    AlreadyPending(KeyInfo),
}

pub fn rotate(
    conn: &mut DbConnection,
    kek: &Kek,
    policy: &Policy,
    alg: Alg,
    immediately: bool,
    now: i64,
) -> anyhow::Result<Rotation> {
    let rows = signing_keys::all(conn)?;
    let metas = set::metas(&rows)?;
    let info_of = |kid: &str, conn: &mut DbConnection| -> anyhow::Result<KeyInfo> {
        list(conn, policy, now)?
            .into_iter()
            .find(|i| i.kid == kid)
            .context("the key vanished")
    };
    match schedule::rotation(&metas, policy, alg, immediately, now) {
        Err(pending) => Ok(Rotation::AlreadyPending(info_of(&pending.kid, conn)?)),
        Ok(planned) => match create(conn, kek, policy, planned, now)? {
            Some(row) => Ok(Rotation::Scheduled(info_of(&row.kid, conn)?)),
            None => {
                bail!("another instance rotated the {alg} key at the same moment; run `keys list`")
            }
        },
    }
}

/// Schedules a rotation of each of `algs` (`keys rotate`, the admin API): one transaction, and
/// an audit event naming `actor` for each key made (none when one was already pending).
pub fn rotate_audited(
    conn: &mut DbConnection,
    kek: &Kek,
    policy: &Policy,
    algs: &[Alg],
    immediately: bool,
    actor: &str,
    now: i64,
) -> anyhow::Result<Vec<Rotation>> {
    crate::store::write_transaction(conn, |c| {
        let mut out = Vec::new();
        for &alg in algs {
            let r = rotate(c, kek, policy, alg, immediately, now)?;
            if let Rotation::Scheduled(info) = &r {
                record_key_event(c, "rotate", &info.kid, alg, immediately, actor, now)?;
            }
            out.push(r);
        }
        Ok(out)
    })
}

/// The audit event of a key made by hand (`how`: `rotate` or `import`).
pub fn record_key_event(
    conn: &mut DbConnection,
    how: &str,
    kid: &str,
    alg: Alg,
    at_once: bool,
    actor: &str,
    now: i64,
) -> anyhow::Result<()> {
    use crate::identity::audit;
    let detail = serde_json::json!({
        "kid": kid, "alg": alg, "how": how, "now": at_once, "actor": actor,
    });
    audit::record(
        conn,
        audit::Event {
            kind: audit::KEY_ROTATED,
            success: true,
            detail: Some(detail),
            ..audit::Event::default()
        },
        now,
    )?;
    Ok(())
}

pub fn list(conn: &mut DbConnection, policy: &Policy, now: i64) -> anyhow::Result<Vec<KeyInfo>> {
    set::infos(&signing_keys::all(conn)?, policy, now)
}

/// Imports the RSA PEM files of earlier versions from `dir` as RS256 keys, in their order: each
/// signed from its creation until the next one's, the newest signs. Kids already present are
/// skipped (importing twice is harmless); importing beside RS256 keys made here is refused,
/// since the two histories cannot be ordered.
pub fn import(conn: &mut DbConnection, kek: &Kek, dir: &Path) -> anyhow::Result<Vec<String>> {
    let files = legacy::key_files(dir)?;
    if files.is_empty() {
        bail!("no key files (<created ms>-<kid>.pem) in {}", dir.display());
    }
    let rows = signing_keys::all(conn)?;
    let rsa: Vec<&SigningKeyRow> = rows.iter().filter(|r| r.alg == Alg::RS256.name()).collect();
    let known = |kid: &str| rsa.iter().any(|r| r.kid == kid);
    if rsa.iter().any(|r| !files.iter().any(|f| f.kid == r.kid)) {
        bail!(
            "the database already has RS256 keys that are not in {}; import into a fresh database",
            dir.display()
        );
    }
    let mut imported = Vec::new();
    for (i, file) in files.iter().enumerate() {
        if known(&file.kid) {
            continue;
        }
        let pem = legacy::read(file)?;
        let jwk = Alg::RS256
            .public_jwk_of_pem(&pem)
            .with_context(|| format!("{}", file.path.display()))?;
        if jwk.key_id() != Some(file.kid.as_str()) {
            bail!(
                "{}: the file name's kid does not match the key",
                file.path.display()
            );
        }
        let created = file.created_ms / 1000;
        let row = SigningKeyRow {
            private_key: kek.seal(&pem, &seal_context(&file.kid, Alg::RS256))?,
            kek_id: kek.id().to_string(),
            kid: file.kid.clone(),
            alg: Alg::RS256.name().to_string(),
            generation: i as i64 + 1,
            public_jwk: jwk.to_string(),
            created_at: created,
            published_at: created,
            signs_from: created,
        };
        if signing_keys::insert(conn, &row)? {
            imported.push(row.kid);
        }
    }
    Ok(imported)
}

/// Re-seals every private key under `new` (in one transaction). Keys sealed under another KEK
/// than `old` are refused: nothing is half-done.
pub fn rewrap(conn: &mut DbConnection, old: &Kek, new: &Kek) -> anyhow::Result<usize> {
    conn.transaction(|c| {
        let rows = signing_keys::all(c)?;
        for row in &rows {
            let alg: Alg = row.alg.parse()?;
            let context = seal_context(&row.kid, alg);
            let pem = old.open(&row.private_key, &context).with_context(|| {
                format!(
                    "key {} is sealed under {}, not the configured key",
                    row.kid, row.kek_id
                )
            })?;
            signing_keys::reseal(c, &row.kid, &new.seal(&pem, &context)?, new.id())?;
        }
        Ok(rows.len())
    })
}

/// Whether the database holds no key yet (first start after an upgrade: import the files).
pub fn is_empty(conn: &mut DbConnection) -> anyhow::Result<bool> {
    Ok(signing_keys::all(conn)?.is_empty())
}

pub fn metas(conn: &mut DbConnection) -> anyhow::Result<Vec<KeyMeta>> {
    set::metas(&signing_keys::all(conn)?)
}
