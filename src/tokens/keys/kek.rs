//! The key-encryption key (KEK): 32 bytes that seal every private signing key in the database
//! with AES-256-GCM (OpenSSL, through the `openssl` crate josekit already uses), so a database
//! dump alone signs nothing.
//!
//! Where it comes from: `keys.encryption_key` (standard base64 of 32 bytes, what `openssl rand
//! -base64 32` prints), or `keys.encryption_key_file`; else, on SQLite only, `keys_dir/
//! encryption.key`, generated on first start (mode 0600) so a laptop needs no configuration.
//! PostgreSQL means several instances, which must share one KEK: there it must be given.
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::store::DatabaseKind;

/// File name of the generated KEK inside `keys_dir`.
pub const GENERATED_FILE: &str = "encryption.key";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Version prefix of sealed values.
const SEALED_PREFIX: &str = "v1.";

pub struct Kek {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kek({})", self.id)
    }
}

impl Kek {
    /// From standard base64 of exactly 32 bytes (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> anyhow::Result<Kek> {
        let bytes = STANDARD
            .decode(text.trim())
            .context("the encryption key is not standard base64 (use `openssl rand -base64 32`)")?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            anyhow::anyhow!(
                "the encryption key must be 32 bytes, got {} (use `openssl rand -base64 32`)",
                b.len()
            )
        })?;
        // Names the key in rows and errors without revealing it.
        let digest =
            Sha256::digest([b"portcullis key-encryption key id\0".as_slice(), &key].concat());
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Kek { key, id })
    }

    /// A short public name for this key (a hash prefix), stored beside what it sealed.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// AES-256-GCM with a random 96-bit nonce; `context` is bound as associated data (the key's
    /// kid and alg, so a sealed value cannot be moved to another row).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("the OS RNG failed: {e}"))?;
        let mut tag = [0u8; TAG_LEN];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(&nonce),
            context.as_bytes(),
            plaintext,
            &mut tag,
        )?;
        Ok(format!(
            "{SEALED_PREFIX}{}",
            STANDARD.encode([nonce.as_slice(), &ct, &tag].concat())
        ))
    }

    pub fn open(&self, sealed: &str, context: &str) -> anyhow::Result<Vec<u8>> {
        let raw = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() >= NONCE_LEN + TAG_LEN)
            .context("the sealed key is malformed")?;
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.key,
            Some(nonce),
            context.as_bytes(),
            ct,
            tag,
        )
        .map_err(|_| {
            anyhow::anyhow!(
                "the sealed key does not open under key-encryption key {}",
                self.id
            )
        })
    }

    pub fn generate() -> anyhow::Result<Kek> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("the OS RNG failed: {e}"))?;
        Kek::from_base64(&STANDARD.encode(key))
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(self.key)
    }
}

/// Whether the settings name a KEK explicitly (value or file).
pub fn is_explicit(settings: &Settings) -> bool {
    settings.keys.encryption_key.is_some() || settings.keys.encryption_key_file.is_some()
}

/// The KEK the settings give. `generate`: on SQLite with none given, create `keys_dir/
/// encryption.key` when missing (the server does; read-only commands don't).
pub fn resolve(settings: &Settings, generate: bool) -> anyhow::Result<Kek> {
    if let Some(text) = &settings.keys.encryption_key {
        return Kek::from_base64(text).context("keys.encryption_key");
    }
    if let Some(path) = &settings.keys.encryption_key_file {
        return read_file(path);
    }
    if !matches!(
        DatabaseKind::from_url(&settings.database_url)?,
        DatabaseKind::Sqlite(_)
    ) {
        bail!(
            "PostgreSQL needs keys.encryption_key or keys.encryption_key_file (PORTCULLIS_KEYS__\
             ENCRYPTION_KEY): every instance must share the key that seals the signing keys. \
             Make one with `openssl rand -base64 32`"
        );
    }
    let path = settings.keys_dir.join(GENERATED_FILE);
    if path.exists() || !generate {
        return read_file(&path);
    }
    create_file(&path)
}

fn read_file(path: &Path) -> anyhow::Result<Kek> {
    let meta = fs::metadata(path)
        .with_context(|| format!("reading the encryption key {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by others (mode {mode:o}); chmod 600 it",
            path.display()
        );
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading the encryption key {}", path.display()))?;
    Kek::from_base64(&text).with_context(|| format!("{}", path.display()))
}

/// Generates the KEK into `path` (mode 0600, directory 0700). Two processes starting together
/// agree: the loser of `create_new` reads the winner's file once it is complete.
fn create_file(path: &Path) -> anyhow::Result<Kek> {
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            fs::create_dir_all(dir)
                .with_context(|| format!("creating keys directory {}", dir.display()))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
    }
    let kek = Kek::generate()?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(format!("{}\n", kek.to_base64()).as_bytes())?;
        f.sync_all()?;
    }
    // A hard link fails when the file exists: the first writer wins, atomically.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(file = %path.display(), kek_id = kek.id(), "generated the key-encryption key (back it up with the database)");
            Ok(kek)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_file(path),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_opens_only_with_the_same_key_and_context() {
        let kek = Kek::generate().unwrap();
        let sealed = kek.seal(b"private", "kid1:RS256").unwrap();
        assert!(sealed.starts_with("v1.") && !sealed.contains("private"));
        assert_eq!(kek.open(&sealed, "kid1:RS256").unwrap(), b"private");
        assert!(kek.open(&sealed, "kid2:RS256").is_err());
        let other = Kek::generate().unwrap();
        let err = other.open(&sealed, "kid1:RS256").unwrap_err().to_string();
        assert!(err.contains(other.id()), "{err}");
        assert_ne!(
            kek.seal(b"private", "c").unwrap(),
            kek.seal(b"private", "c").unwrap()
        );
    }

    #[test]
    fn base64_must_be_32_bytes() {
        assert!(Kek::from_base64(&STANDARD.encode([7u8; 32])).is_ok());
        let short = Kek::from_base64(&STANDARD.encode([7u8; 16])).unwrap_err();
        assert!(short.to_string().contains("32 bytes"), "{short}");
        assert!(Kek::from_base64("not base64!").is_err());
    }

    #[test]
    fn generated_once_with_mode_0600_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join(GENERATED_FILE);
        let first = create_file(&path).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(create_file(&path).unwrap().id(), first.id());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_file(&path)
            .unwrap_err()
            .to_string()
            .contains("chmod 600"));
    }
}
