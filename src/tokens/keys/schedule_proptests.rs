//! Property tests of the key schedule: generated histories of scheduler runs and manual
//! rotations under any valid policy, checked at every moment a status may change.
use proptest::prelude::*;

use super::*;

/// Any policy `config::validate` accepts: at least one algorithm, none twice; a rotation
/// period (when set) longer than the publish-ahead time.
fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::sample::subsequence(super::super::alg::ALL.to_vec(), 1..=4),
        1i64..500,
        prop_oneof![Just(0i64), 1i64..3_000],
        0i64..2_000,
    )
        .prop_map(
            |(algorithms, publish_ahead_secs, rotate, removal_delay_secs)| Policy {
                algorithms,
                publish_ahead_secs,
                rotate_every_secs: if rotate == 0 {
                    0
                } else {
                    publish_ahead_secs + rotate
                },
                removal_delay_secs,
                rsa_bits: 2048,
            },
        )
}

#[derive(Debug, Clone)]
enum Step {
    /// The scheduler runs: it creates what `due` plans.
    Tick,
    /// An operator rotates the n-th configured algorithm.
    Rotate { alg: usize, immediately: bool },
}

fn steps() -> impl Strategy<Value = Vec<(i64, Step)>> {
    prop::collection::vec(
        (
            0i64..1_500,
            prop_oneof![
                4 => Just(Step::Tick),
                1 => (any::<usize>(), any::<bool>())
                    .prop_map(|(alg, immediately)| Step::Rotate { alg, immediately }),
            ],
        ),
        0..25,
    )
}

/// How a key came to be, which decides how far ahead of signing it was published.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Origin {
    /// The very first keys of a fresh database: they sign at once.
    Fresh,
    /// Planned by the scheduler on a database that already had keys, or a manual rotation.
    Ahead,
    Immediate,
}

struct History {
    keys: Vec<KeyMeta>,
    origins: Vec<Origin>,
    /// Every moment the history visited.
    times: Vec<i64>,
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

/// Runs the scheduler at `start` (as the server does on its first start), then `steps`.
fn run(policy: &Policy, start: i64, steps: &[(i64, Step)]) -> History {
    let mut h = History {
        keys: Vec::new(),
        origins: Vec::new(),
        times: vec![start],
    };
    let mut now = start;
    let first = due(&h.keys, policy, now);
    for p in &first {
        h.keys.push(key(p));
        h.origins.push(Origin::Fresh);
    }
    for (dt, step) in steps {
        now += dt;
        h.times.push(now);
        match step {
            Step::Tick => {
                for p in due(&h.keys, policy, now) {
                    h.keys.push(key(&p));
                    h.origins.push(Origin::Ahead);
                }
                // Created keys are not planned again at the same moment.
                assert!(due(&h.keys, policy, now).is_empty());
            }
            Step::Rotate { alg, immediately } => {
                let alg = policy.algorithms[alg % policy.algorithms.len()];
                if let Ok(p) = rotation(&h.keys, policy, alg, *immediately, now) {
                    h.keys.push(key(&p));
                    h.origins.push(if *immediately {
                        Origin::Immediate
                    } else {
                        Origin::Ahead
                    });
                }
            }
        }
    }
    h
}

fn rank(s: KeyStatus) -> u8 {
    match s {
        KeyStatus::Scheduled => 0,
        KeyStatus::Pending => 1,
        KeyStatus::Active => 2,
        KeyStatus::Retired => 3,
        KeyStatus::Removed => 4,
    }
}

/// Every moment a status may change, a second either side, and the visited moments.
fn probes(h: &History, policy: &Policy) -> Vec<i64> {
    let mut out = h.times.clone();
    for k in &h.keys {
        for t in timeline(&h.keys, k, policy).moments() {
            out.extend([t - 1, t, t + 1]);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Once an algorithm's first key signs, exactly one of its keys is active at every moment;
    /// before that, none.
    #[test]
    fn exactly_one_active_key_per_algorithm(policy in policy(), start in 0i64..1_000_000, steps in steps()) {
        let h = run(&policy, start, &steps);
        for &alg in &policy.algorithms {
            let first_signs = h.keys.iter().filter(|k| k.alg == alg).map(|k| k.signs_from).min();
            prop_assert!(first_signs.is_some(), "{alg} has no key");
            for t in probes(&h, &policy) {
                let active = h.keys.iter()
                    .filter(|k| k.alg == alg)
                    .filter(|k| timeline(&h.keys, k, &policy).status(t) == KeyStatus::Active)
                    .count();
                let expected = usize::from(first_signs.is_some_and(|f| t >= f));
                prop_assert_eq!(active, expected, "{} at {}", alg, t);
            }
        }
    }

    /// A key is published before it signs: by at least `publish_ahead_secs`, except the first
    /// keys of a fresh database and an immediate (emergency) rotation. Generations of an
    /// algorithm only grow.
    #[test]
    fn keys_are_published_ahead_of_signing(policy in policy(), start in 0i64..1_000_000, steps in steps()) {
        let h = run(&policy, start, &steps);
        for (i, (k, origin)) in h.keys.iter().zip(&h.origins).enumerate() {
            let tl = timeline(&h.keys, k, &policy);
            match origin {
                Origin::Ahead => {
                    prop_assert!(k.signs_from - k.published_at >= policy.publish_ahead_secs);
                    prop_assert_ne!(tl.status(k.published_at + policy.publish_ahead_secs - 1), KeyStatus::Active);
                }
                Origin::Fresh | Origin::Immediate => prop_assert_eq!(k.signs_from, k.published_at),
            }
            // Never active while unpublished.
            prop_assert!(tl.status(k.published_at - 1) == KeyStatus::Scheduled);
            let older = h.keys[..i].iter().filter(|o| o.alg == k.alg);
            for o in older {
                prop_assert!(o.generation < k.generation);
            }
        }
    }

    /// A superseded key stays published (retired) for `removal_delay_secs` from the moment its
    /// successor signs, then is removed.
    #[test]
    fn a_retired_key_stays_published_for_the_removal_delay(policy in policy(), start in 0i64..1_000_000, steps in steps()) {
        let h = run(&policy, start, &steps);
        for k in &h.keys {
            let tl = timeline(&h.keys, k, &policy);
            let Some(retires) = tl.retires_at else {
                prop_assert_eq!(tl.removed_at, None);
                continue;
            };
            prop_assert_eq!(tl.removed_at, Some(retires + policy.removal_delay_secs));
            if policy.removal_delay_secs > 0 {
                prop_assert_eq!(tl.status(retires), KeyStatus::Retired);
                prop_assert_eq!(tl.status(retires + policy.removal_delay_secs - 1), KeyStatus::Retired);
            }
            prop_assert_eq!(tl.status(retires + policy.removal_delay_secs), KeyStatus::Removed);
            // Whatever it signed before `retires` verifies until then.
            prop_assert!(tl.status(retires - 1).is_published() || retires <= k.published_at);
        }
    }

    /// Time moving forward never moves a key back to an earlier status, and nothing changes
    /// before `next_change` (or ever, when it is `None`).
    #[test]
    fn statuses_only_move_forward_and_next_change_is_the_next(policy in policy(), start in 0i64..1_000_000, steps in steps()) {
        let h = run(&policy, start, &steps);
        let probes = probes(&h, &policy);
        for k in &h.keys {
            let tl = timeline(&h.keys, k, &policy);
            for pair in probes.windows(2) {
                prop_assert!(rank(tl.status(pair[0])) <= rank(tl.status(pair[1])), "{:?} at {:?}", tl, pair);
            }
        }
        let statuses = |t: i64| -> Vec<KeyStatus> {
            h.keys.iter().map(|k| timeline(&h.keys, k, &policy).status(t)).collect()
        };
        for &t in &probes {
            match next_change(&h.keys, &policy, t) {
                Some(n) => {
                    prop_assert!(n > t);
                    // Statuses only move forward, so equal at both ends means unchanged between.
                    prop_assert_eq!(statuses(t), statuses(n - 1));
                }
                None => prop_assert_eq!(statuses(t), statuses(i64::MAX / 2)),
            }
        }
    }

    /// The status of any timeline, even a hand-made one, never moves backwards.
    #[test]
    fn any_timeline_is_monotonic(
        published_at in -50i64..50,
        signs_from in -50i64..50,
        retires_at in prop::option::of(-50i64..50),
        removed_at in prop::option::of(-50i64..50),
    ) {
        let tl = Timeline { published_at, signs_from, retires_at, removed_at };
        for t in -60i64..60 {
            prop_assert!(rank(tl.status(t)) <= rank(tl.status(t + 1)));
        }
    }
}
