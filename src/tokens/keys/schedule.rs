//! The key schedule: every key's state follows from its own timestamps and those of the newer
//! keys of its algorithm, so every instance that reads the same rows at the same moment agrees.
//!
//! A key is *published* (in the JWKS, verifying) from `published_at`, *signs* from `signs_from`
//! until a newer generation of its algorithm signs (`retires_at`), and stays published after that
//! for `removal_delay_secs` (the longest token lifetime plus leeway), then is *removed*. A new key
//! is published `publish_ahead_secs` before it signs: longer than any instance takes to load it
//! plus the JWKS `max-age`, so no token is ever signed by a key a verifier has not been offered.
use serde::Serialize;

use super::alg::Alg;

/// What the schedule needs to know of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMeta {
    pub kid: String,
    pub alg: Alg,
    pub generation: i64,
    pub published_at: i64,
    pub signs_from: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Created; not published yet (only a hand-made row could be; kept for completeness).
    Scheduled,
    /// Published, signs from `signs_from`.
    Pending,
    /// Signs new tokens of its algorithm.
    Active,
    /// Superseded; still published so the tokens it signed verify.
    Retired,
    /// Every token it signed has expired; no longer published.
    Removed,
}

impl KeyStatus {
    pub fn is_published(self) -> bool {
        matches!(
            self,
            KeyStatus::Pending | KeyStatus::Active | KeyStatus::Retired
        )
    }
}

/// The policy every instance applies (from `keys.*` and `tokens.max_access_token_ttl_secs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Kept published and rotated; the first is the default for clients that name none.
    pub algorithms: Vec<Alg>,
    pub publish_ahead_secs: i64,
    /// 0: never rotate automatically.
    pub rotate_every_secs: i64,
    /// How long a retired key stays published.
    pub removal_delay_secs: i64,
    pub rsa_bits: usize,
}

/// A key's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timeline {
    pub published_at: i64,
    pub signs_from: i64,
    /// When a newer generation of the algorithm starts signing (once one is scheduled).
    pub retires_at: Option<i64>,
    /// When it leaves the JWKS.
    pub removed_at: Option<i64>,
}

impl Timeline {
    pub fn status(&self, now: i64) -> KeyStatus {
        if now < self.published_at {
            KeyStatus::Scheduled
        } else if self.removed_at.is_some_and(|t| now >= t) {
            KeyStatus::Removed
        } else if self.retires_at.is_some_and(|t| now >= t) {
            KeyStatus::Retired
        } else if now >= self.signs_from {
            KeyStatus::Active
        } else {
            KeyStatus::Pending
        }
    }

    /// The timestamps at which this key's status changes.
    fn moments(&self) -> impl Iterator<Item = i64> {
        [
            Some(self.published_at),
            Some(self.signs_from),
            self.retires_at,
            self.removed_at,
        ]
        .into_iter()
        .flatten()
    }
}

pub fn timeline(keys: &[KeyMeta], key: &KeyMeta, policy: &Policy) -> Timeline {
    let retires_at = keys
        .iter()
        .filter(|k| k.alg == key.alg && k.generation > key.generation)
        .map(|k| k.signs_from)
        .min();
    Timeline {
        published_at: key.published_at,
        signs_from: key.signs_from,
        retires_at,
        removed_at: retires_at.map(|t| t.saturating_add(policy.removal_delay_secs)),
    }
}

/// The earliest moment after `now` at which any key's status changes.
pub fn next_change(keys: &[KeyMeta], policy: &Policy, now: i64) -> Option<i64> {
    keys.iter()
        .flat_map(|k| timeline(keys, k, policy).moments().collect::<Vec<_>>())
        .filter(|t| *t > now)
        .min()
}

/// A key the schedule wants created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub alg: Alg,
    pub generation: i64,
    pub published_at: i64,
    pub signs_from: i64,
}

/// Keys to create now: the first of each configured algorithm (signing at once on a fresh
/// database, after the publish-ahead time when tokens may already be out), and the next of each
/// when its newest key has signed for `rotate_every_secs` minus the publish-ahead time.
pub fn due(keys: &[KeyMeta], policy: &Policy, now: i64) -> Vec<Planned> {
    policy
        .algorithms
        .iter()
        .filter_map(|&alg| {
            let newest = keys
                .iter()
                .filter(|k| k.alg == alg)
                .max_by_key(|k| k.generation);
            match newest {
                None => Some(Planned {
                    alg,
                    generation: 1,
                    published_at: now,
                    signs_from: if keys.is_empty() {
                        now
                    } else {
                        now + policy.publish_ahead_secs
                    },
                }),
                Some(k) if policy.rotate_every_secs > 0 => {
                    let next = k.signs_from.saturating_add(policy.rotate_every_secs);
                    (next - policy.publish_ahead_secs <= now).then(|| Planned {
                        alg,
                        generation: k.generation + 1,
                        published_at: now,
                        signs_from: next.max(now + policy.publish_ahead_secs),
                    })
                }
                Some(_) => None,
            }
        })
        .collect()
}

/// A rotation by hand: the next generation of `alg`, signing after the publish-ahead time, or at
/// once with `immediately` (an emergency: instances that have not loaded it yet keep signing
/// with the old key until they do, and verifiers holding a cached JWKS refuse the new key's
/// tokens until their cache expires). `None` when a rotation is already pending.
pub fn rotation(
    keys: &[KeyMeta],
    policy: &Policy,
    alg: Alg,
    immediately: bool,
    now: i64,
) -> Result<Planned, KeyMeta> {
    let newest = keys
        .iter()
        .filter(|k| k.alg == alg)
        .max_by_key(|k| k.generation);
    if let Some(pending) = newest.filter(|k| k.signs_from > now && !immediately) {
        return Err(pending.clone());
    }
    Ok(Planned {
        alg,
        generation: newest.map_or(1, |k| k.generation + 1),
        published_at: now,
        signs_from: if immediately {
            now
        } else {
            now + policy.publish_ahead_secs
        },
    })
}

#[cfg(test)]
#[path = "schedule_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            algorithms: vec![Alg::RS256],
            publish_ahead_secs: 100,
            rotate_every_secs: 1_000,
            removal_delay_secs: 50,
            rsa_bits: 2048,
        }
    }

    fn key(p: &Planned) -> KeyMeta {
        KeyMeta {
            kid: format!("{}-{}", p.alg, p.generation),
            alg: p.alg,
            generation: p.generation,
            published_at: p.published_at,
            signs_from: p.signs_from,
        }
    }

    fn status(keys: &[KeyMeta], i: usize, now: i64) -> KeyStatus {
        timeline(keys, &keys[i], &policy()).status(now)
    }

    #[test]
    fn a_fresh_database_signs_at_once_then_rotates_publish_then_sign() {
        let p = policy();
        let first = due(&[], &p, 0);
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].generation, first[0].signs_from), (1, 0));
        let mut keys = vec![key(&first[0])];
        assert!(due(&keys, &p, 899).is_empty());
        // Due at signs_from + rotate_every - publish_ahead; signs exactly rotate_every later.
        let second = due(&keys, &p, 900);
        assert_eq!((second[0].generation, second[0].signs_from), (2, 1_000));
        keys.push(key(&second[0]));
        assert!(due(&keys, &p, 901).is_empty());
        assert_eq!(status(&keys, 0, 950), KeyStatus::Active);
        assert_eq!(status(&keys, 1, 950), KeyStatus::Pending);
        assert_eq!(status(&keys, 0, 1_000), KeyStatus::Retired);
        assert_eq!(status(&keys, 1, 1_000), KeyStatus::Active);
        assert_eq!(status(&keys, 0, 1_050), KeyStatus::Removed);
        assert_eq!(next_change(&keys, &p, 950), Some(1_000));
        assert_eq!(next_change(&keys, &p, 1_000), Some(1_050));
        assert_eq!(next_change(&keys, &p, 1_050), None);
    }

    #[test]
    fn a_late_scheduler_still_publishes_ahead() {
        let p = policy();
        let keys = vec![key(&due(&[], &p, 0)[0])];
        // Nobody ran the schedule until long after the rotation was due.
        let late = due(&keys, &p, 5_000);
        assert_eq!(late[0].signs_from, 5_100);
    }

    #[test]
    fn a_new_algorithm_on_a_used_database_is_published_first() {
        let mut p = policy();
        let keys = vec![key(&due(&[], &p, 0)[0])];
        p.algorithms.push(Alg::ES256);
        let planned = due(&keys, &p, 10);
        assert_eq!(planned.len(), 1);
        assert_eq!((planned[0].alg, planned[0].signs_from), (Alg::ES256, 110));
    }

    #[test]
    fn manual_rotation_waits_unless_immediate_and_supersedes_a_pending_key() {
        let p = policy();
        let mut keys = vec![key(&due(&[], &p, 0)[0])];
        let r = rotation(&keys, &p, Alg::RS256, false, 10).unwrap();
        assert_eq!((r.generation, r.signs_from), (2, 110));
        keys.push(key(&r));
        assert_eq!(
            rotation(&keys, &p, Alg::RS256, false, 20)
                .unwrap_err()
                .generation,
            2
        );
        let now = rotation(&keys, &p, Alg::RS256, true, 20).unwrap();
        assert_eq!((now.generation, now.signs_from), (3, 20));
        keys.push(key(&now));
        // Generation 2 never signs: 3 superseded it before its time.
        for t in [20, 110, 120] {
            assert_eq!(status(&keys, 2, t), KeyStatus::Active);
            assert_ne!(status(&keys, 1, t), KeyStatus::Active);
        }
        assert_eq!(status(&keys, 0, 20), KeyStatus::Retired);
    }

    #[test]
    fn no_automatic_rotation_when_disabled() {
        let mut p = policy();
        p.rotate_every_secs = 0;
        let keys = vec![key(&due(&[], &p, 0)[0])];
        assert!(due(&keys, &p, 1_000_000).is_empty());
    }
}
