//! `KeySet`: an immutable snapshot of the keys in force at one moment — the signer of each
//! algorithm, the verifiers and the JWKS of every published key — built from the rows and
//! swapped whole.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::Context;
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{JwsSigner, JwsVerifier};
use serde::Serialize;

use super::alg::Alg;
use super::schedule::{self, KeyMeta, KeyStatus, Policy, Timeline};
use crate::store::signing_keys::SigningKeyRow;

/// Opens the private key of a row into a signer.
pub type OpenSigner<'a> = dyn FnMut(&SigningKeyRow, Alg) -> anyhow::Result<Arc<dyn JwsSigner>> + 'a;

pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pub signer: Arc<dyn JwsSigner>,
}

struct Verifier {
    alg: Alg,
    verifier: Box<dyn JwsVerifier>,
}

/// What `keys list` shows about a key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: Alg,
    pub generation: i64,
    pub status: KeyStatus,
    pub created_at: i64,
    #[serde(flatten)]
    pub timeline: Timeline,
}

/// No key of the algorithm signs yet (one is published and waiting for its time, or the
/// algorithm is not in `keys.algorithms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no {0} signing key is active")]
pub struct NoSigningKey(pub Alg);

pub struct KeySet {
    signers: BTreeMap<Alg, SigningKey>,
    default_alg: Alg,
    verifiers: HashMap<String, Verifier>,
    jwks: String,
    infos: Vec<KeyInfo>,
    next_change: Option<i64>,
}

impl KeySet {
    /// The JWKS document: public keys only.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    /// The key that signs `alg` now.
    pub fn signer(&self, alg: Alg) -> Result<&SigningKey, NoSigningKey> {
        self.signers.get(&alg).ok_or(NoSigningKey(alg))
    }

    /// The algorithm for clients that name none: the first of `keys.algorithms` with an active
    /// key (RS256 by default).
    pub fn default_alg(&self) -> Alg {
        self.default_alg
    }

    /// The verifier of a published key, with the one algorithm it verifies.
    pub fn verifier(&self, kid: &str) -> Option<(Alg, &dyn JwsVerifier)> {
        self.verifiers
            .get(kid)
            .map(|v| (v.alg, v.verifier.as_ref()))
    }

    pub fn infos(&self) -> &[KeyInfo] {
        &self.infos
    }

    /// The earliest moment a key's status changes (the set must be rebuilt then).
    pub fn next_change(&self) -> Option<i64> {
        self.next_change
    }

    /// The kids that sign, by algorithm (for logs and `/readyz`).
    pub fn signing_kids(&self) -> BTreeMap<Alg, String> {
        self.signers
            .iter()
            .map(|(alg, k)| (*alg, k.kid.clone()))
            .collect()
    }
}

pub fn metas(rows: &[SigningKeyRow]) -> anyhow::Result<Vec<KeyMeta>> {
    rows.iter()
        .map(|r| {
            Ok(KeyMeta {
                kid: r.kid.clone(),
                alg: r
                    .alg
                    .parse()
                    .with_context(|| format!("signing key {}", r.kid))?,
                generation: r.generation,
                published_at: r.published_at,
                signs_from: r.signs_from,
            })
        })
        .collect()
}

/// Each key's status and timeline at `now`.
pub fn infos(rows: &[SigningKeyRow], policy: &Policy, now: i64) -> anyhow::Result<Vec<KeyInfo>> {
    let metas = metas(rows)?;
    Ok(rows
        .iter()
        .zip(&metas)
        .map(|(row, meta)| {
            let timeline = schedule::timeline(&metas, meta, policy);
            KeyInfo {
                kid: row.kid.clone(),
                alg: meta.alg,
                generation: row.generation,
                status: timeline.status(now),
                created_at: row.created_at,
                timeline,
            }
        })
        .collect())
}

/// Builds the set in force at `now`. `signer` opens the private key of a key that signs now or
/// is about to (pending); `None` builds a verify-only set (commands that only check tokens).
pub fn build(
    rows: &[SigningKeyRow],
    policy: &Policy,
    now: i64,
    mut signer: Option<&mut OpenSigner<'_>>,
) -> anyhow::Result<KeySet> {
    let infos = infos(rows, policy, now)?;
    let mut signers = BTreeMap::new();
    let mut verifiers = HashMap::new();
    let mut jwks = JwkSet::new();
    for (row, info) in rows.iter().zip(&infos) {
        if !info.status.is_published() {
            continue;
        }
        let jwk = Jwk::from_bytes(row.public_jwk.as_bytes())
            .with_context(|| format!("signing key {} has a corrupt public JWK", row.kid))?;
        if jwk.parameter("d").is_some() {
            anyhow::bail!(
                "signing key {}: the public JWK holds private material",
                row.kid
            );
        }
        verifiers.insert(
            row.kid.clone(),
            Verifier {
                alg: info.alg,
                verifier: info.alg.verifier_from_jwk(&jwk)?,
            },
        );
        jwks.push_key(jwk);
        if let Some(open) = signer.as_mut() {
            if matches!(info.status, KeyStatus::Active | KeyStatus::Pending) {
                let s = open(row, info.alg)?;
                if info.status == KeyStatus::Active {
                    signers.insert(
                        info.alg,
                        SigningKey {
                            kid: row.kid.clone(),
                            alg: info.alg,
                            signer: s,
                        },
                    );
                }
            }
        }
    }
    let default_alg = policy
        .algorithms
        .iter()
        .copied()
        .find(|a| signers.contains_key(a))
        .or_else(|| policy.algorithms.first().copied())
        .unwrap_or(Alg::RS256);
    Ok(KeySet {
        signers,
        default_alg,
        verifiers,
        jwks: jwks.to_string(),
        next_change: schedule::next_change(&metas(rows)?, policy, now),
        infos,
    })
}
