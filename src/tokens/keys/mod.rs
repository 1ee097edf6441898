//! Signing keys: RSA PEM files in `keys_dir`, named `<created unix ms>-<kid>.pem`, mode 0600.
//!
//! The newest key signs. An older key is retired when the next one is created and stays
//! published in the JWKS (and usable for verification) until every token it can have signed has
//! expired: `retired_at + max token lifetime + leeway`. Files are written to a temporary name
//! and renamed, so another instance never reads half a key; first-start generation takes a lock
//! file so instances starting together agree on one key.
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::{Jwk, JwkSet, KeyPair};
use josekit::jws::alg::rsassa::{RsassaJwsSigner, RsassaJwsVerifier};
use josekit::jws::RS256;
use serde::Serialize;
use sha2::{Digest, Sha256};

mod files;
use files::{check_mode, ensure_dir, ensure_key, generate, key_files, KeyFile};

/// Extra time a retired key stays published beyond the longest token lifetime (clock skew).
const PUBLISH_LEEWAY_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs new tokens.
    Active,
    /// No longer signs; still published so tokens it signed verify.
    Retired,
    /// Every token it signed has expired; no longer published.
    Expired,
}

/// What `keys list` shows about a key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub created_at: i64,
    pub status: KeyStatus,
    /// When a retired key leaves the JWKS.
    pub published_until: Option<i64>,
    pub file: String,
}

pub struct SigningKey {
    pub kid: String,
    pub signer: RsassaJwsSigner,
}

/// An immutable snapshot of the usable keys; swapped whole on reload.
pub struct KeySet {
    pub signing: SigningKey,
    verifiers: BTreeMap<String, RsassaJwsVerifier>,
    jwks: String,
    infos: Vec<KeyInfo>,
    /// File names this set was built from, and when a published key expires (time to rebuild).
    files: Vec<String>,
    rebuild_at: Option<i64>,
}

impl KeySet {
    /// The JWKS document: public keys only.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    pub fn verifier(&self, kid: &str) -> Option<&RsassaJwsVerifier> {
        self.verifiers.get(kid)
    }

    pub fn infos(&self) -> &[KeyInfo] {
        &self.infos
    }
}

/// The live key set of a running server, re-read from disk on demand.
pub struct KeyStore {
    dir: PathBuf,
    publish_secs: i64,
    current: RwLock<Arc<KeySet>>,
}

impl KeyStore {
    /// Loads the keys in `dir`, generating the first one (`bits`) when there is none.
    pub fn open(
        dir: &Path,
        bits: usize,
        max_token_ttl_secs: i64,
        now: i64,
    ) -> anyhow::Result<KeyStore> {
        ensure_key(dir, bits, now)?;
        let publish_secs = max_token_ttl_secs + PUBLISH_LEEWAY_SECS;
        let set = build_keyset(dir, publish_secs, now)?;
        Ok(KeyStore {
            dir: dir.to_path_buf(),
            publish_secs,
            current: RwLock::new(Arc::new(set)),
        })
    }

    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Re-reads the directory; swaps in a new set when files changed or a retired key expired.
    /// Returns whether the set changed. On error the old set stays in force.
    pub fn reload(&self, now: i64) -> anyhow::Result<bool> {
        let current = self.current();
        let files = key_files(&self.dir)?;
        let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
        let due = current.rebuild_at.is_some_and(|t| now >= t);
        if names == current.files && !due {
            return Ok(false);
        }
        let set = build_keyset(&self.dir, self.publish_secs, now)?;
        let changed = set.signing.kid != current.signing.kid || set.files != current.files || due;
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
        Ok(changed)
    }
}

/// Lists the keys in `dir` with their status (for `keys list`).
pub fn list_keys(dir: &Path, max_token_ttl_secs: i64, now: i64) -> anyhow::Result<Vec<KeyInfo>> {
    let files = key_files(dir)?;
    Ok(
        statuses(&files, max_token_ttl_secs + PUBLISH_LEEWAY_SECS, now)
            .into_iter()
            .map(|(f, status, until)| KeyInfo {
                kid: f.kid.clone(),
                created_at: f.created_ms / 1000,
                status,
                published_until: until,
                file: f.name.clone(),
            })
            .collect(),
    )
}

/// Creates a new signing key in `dir` (it signs from the next reload on); returns it.
pub fn rotate(dir: &Path, bits: usize, now: i64) -> anyhow::Result<KeyInfo> {
    ensure_dir(dir)?;
    generate(dir, bits, now)
}

/// Each key with its status and, for retired keys, when it leaves the JWKS.
fn statuses(
    files: &[KeyFile],
    publish_secs: i64,
    now: i64,
) -> Vec<(&KeyFile, KeyStatus, Option<i64>)> {
    let last = files.len().saturating_sub(1);
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if i == last {
                return (f, KeyStatus::Active, None);
            }
            let retired_at = files[i + 1].created_ms / 1000;
            let until = retired_at + publish_secs;
            let status = if now < until {
                KeyStatus::Retired
            } else {
                KeyStatus::Expired
            };
            (f, status, Some(until))
        })
        .collect()
}

fn build_keyset(dir: &Path, publish_secs: i64, now: i64) -> anyhow::Result<KeySet> {
    let files = key_files(dir)?;
    if files.is_empty() {
        bail!("no signing key in {}", dir.display());
    }
    let mut verifiers = BTreeMap::new();
    let mut jwks = JwkSet::new();
    let mut infos = Vec::new();
    let mut signing = None;
    let mut rebuild_at: Option<i64> = None;
    for (file, status, until) in statuses(&files, publish_secs, now) {
        infos.push(KeyInfo {
            kid: file.kid.clone(),
            created_at: file.created_ms / 1000,
            status,
            published_until: until,
            file: file.name.clone(),
        });
        if status == KeyStatus::Expired {
            continue;
        }
        if let Some(t) = until {
            rebuild_at = Some(rebuild_at.map_or(t, |r| r.min(t)));
        }
        let pem =
            fs::read(&file.path).with_context(|| format!("reading {}", file.path.display()))?;
        check_mode(&file.path)?;
        let pair = RsaKeyPair::from_pem(&pem)
            .with_context(|| format!("{} is not an RSA private key", file.name))?;
        let mut jwk = pair.to_jwk_public_key();
        let kid = thumbprint(&jwk)?;
        if kid != file.kid {
            bail!(
                "{}: the file name's kid does not match the key (expected {kid})",
                file.name
            );
        }
        jwk.set_key_id(&kid);
        jwk.set_key_use("sig");
        jwk.set_algorithm("RS256");
        verifiers.insert(kid.clone(), RS256.verifier_from_jwk(&jwk)?);
        jwks.push_key(jwk);
        if status == KeyStatus::Active {
            signing = Some(SigningKey {
                signer: RS256.signer_from_pem(&pem)?,
                kid,
            });
        }
    }
    let signing = signing.context("no active signing key")?;
    Ok(KeySet {
        signing,
        verifiers,
        jwks: jwks.to_string(),
        infos,
        files: files.into_iter().map(|f| f.name).collect(),
        rebuild_at,
    })
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA public key.
pub fn thumbprint(jwk: &Jwk) -> anyhow::Result<String> {
    let member = |name: &str| -> anyhow::Result<String> {
        jwk.parameter(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .with_context(|| format!("JWK has no {name}"))
    };
    // The required members in lexicographic order, no whitespace (RFC 7638 §3).
    let canonical = serde_json::json!({ "e": member("e")?, "kty": "RSA", "n": member("n")? });
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.to_string().as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn first_start_generates_rotation_retires_and_expiry_unpublishes() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let store = KeyStore::open(&keys, 2048, 900, 1_000).unwrap();
        let first = store.current().signing.kid.clone();
        let files = key_files(&keys).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(
            fs::metadata(&files[0].path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!store.reload(1_001).unwrap());

        let new = rotate(&keys, 2048, 2_000).unwrap();
        assert!(store.reload(2_000).unwrap());
        let set = store.current();
        assert_eq!(set.signing.kid, new.kid);
        assert!(set.verifier(&first).is_some());
        let jwks: serde_json::Value = serde_json::from_str(set.jwks_json()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert!(jwks.to_string().contains(&first));
        assert!(
            !jwks.to_string().contains("\"d\""),
            "private material in JWKS"
        );

        // 900 s of token lifetime + 300 s leeway after retirement at t=2000, the old key goes.
        assert!(store.reload(3_300).unwrap());
        let set = store.current();
        assert!(set.verifier(&first).is_none());
        assert!(!set.jwks_json().contains(&first));
        let listed = list_keys(&keys, 900, 3_300).unwrap();
        assert_eq!(listed[0].status, KeyStatus::Expired);
        assert_eq!(listed[1].status, KeyStatus::Active);
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 §3.1 example key.
        let jwk = Jwk::from_bytes(br#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_world_readable_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        KeyStore::open(dir.path(), 2048, 900, 1_000).unwrap();
        let f = &key_files(dir.path()).unwrap()[0];
        fs::set_permissions(&f.path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyStore::open(dir.path(), 2048, 900, 1_000)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
