//! The keys directory: scanning `<created ms>-<kid>.pem` files, first-start generation under a
//! lock file, and atomic writes (temporary name, then rename) with mode 0600.
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use josekit::jwk::KeyPair;
use josekit::jws::RS256;

use super::{thumbprint, KeyInfo, KeyStatus};

const LOCK_FILE: &str = ".generate.lock";
const STALE_LOCK: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub(super) struct KeyFile {
    pub(super) name: String,
    pub(super) path: PathBuf,
    pub(super) created_ms: i64,
    pub(super) kid: String,
}

pub(super) fn key_files(dir: &Path) -> anyhow::Result<Vec<KeyFile>> {
    let mut out = Vec::new();
    let entries =
        fs::read_dir(dir).with_context(|| format!("reading keys directory {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".pem") else {
            continue;
        };
        let Some((created, kid)) = stem.split_once('-') else {
            continue;
        };
        let Ok(created_ms) = created.parse::<i64>() else {
            continue;
        };
        out.push(KeyFile {
            path: entry.path(),
            created_ms,
            kid: kid.to_string(),
            name,
        });
    }
    out.sort_by(|a, b| (a.created_ms, &a.name).cmp(&(b.created_ms, &b.name)));
    Ok(out)
}

pub(super) fn check_mode(path: &Path) -> anyhow::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {mode:o}); chmod 600 it",
            path.display()
        );
    }
    Ok(())
}

pub(super) fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        fs::create_dir_all(dir)
            .with_context(|| format!("creating keys directory {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Makes sure `dir` holds at least one key; generates one under a lock file otherwise.
pub(super) fn ensure_key(dir: &Path, bits: usize, now: i64) -> anyhow::Result<()> {
    ensure_dir(dir)?;
    let lock = dir.join(LOCK_FILE);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if !key_files(dir)?.is_empty() {
            return Ok(());
        }
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => {
                let result = if key_files(dir)?.is_empty() {
                    generate(dir, bits, now).map(|info| {
                        tracing::info!(kid = %info.kid, "generated the first signing key");
                    })
                } else {
                    Ok(())
                };
                let _ = fs::remove_file(&lock);
                return result;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let stale = fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_LOCK);
                if stale {
                    let _ = fs::remove_file(&lock);
                } else if std::time::Instant::now() > deadline {
                    bail!("another process holds {} and made no key", lock.display());
                } else {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            Err(e) => return Err(e).with_context(|| format!("creating {}", lock.display())),
        }
    }
}

pub(super) fn generate(dir: &Path, bits: usize, now: i64) -> anyhow::Result<KeyInfo> {
    let pair = RS256.generate_key_pair(bits as u32)?;
    let kid = thumbprint(&pair.to_jwk_public_key())?;
    let pem = pair.to_pem_private_key();
    // Unique and ordered even when two keys are made within one second.
    let mut created_ms = now * 1000;
    if let Some(last) = key_files(dir)?.last() {
        created_ms = created_ms.max(last.created_ms + 1);
    }
    let name = format!("{created_ms}-{kid}.pem");
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(&pem)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(&name))?;
    Ok(KeyInfo {
        kid,
        created_at: created_ms / 1000,
        status: KeyStatus::Active,
        published_until: None,
        file: name,
    })
}
