//! Key files of earlier versions: RSA PEM files named `<created unix ms>-<kid>.pem` in
//! `keys_dir`. `keys import` (and the first start after an upgrade) brings them into the
//! database; nothing reads them after that.
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

#[derive(Debug, Clone)]
pub struct KeyFile {
    pub path: PathBuf,
    pub created_ms: i64,
    pub kid: String,
}

/// The key files in `dir`, oldest first; none when `dir` does not exist.
pub fn key_files(dir: &Path) -> anyhow::Result<Vec<KeyFile>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        let Some((created, kid)) = name.strip_suffix(".pem").and_then(|s| s.split_once('-')) else {
            continue;
        };
        let Ok(created_ms) = created.parse::<i64>() else {
            continue;
        };
        out.push(KeyFile {
            path: entry.path(),
            created_ms,
            kid: kid.to_string(),
        });
    }
    out.sort_by(|a, b| (a.created_ms, &a.kid).cmp(&(b.created_ms, &b.kid)));
    Ok(out)
}

/// The PEM of `file`, refused when others may read it.
pub fn read(file: &KeyFile) -> anyhow::Result<Vec<u8>> {
    let mode = fs::metadata(&file.path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {mode:o}); chmod 600 it",
            file.path.display()
        );
    }
    fs::read(&file.path).with_context(|| format!("reading {}", file.path.display()))
}
