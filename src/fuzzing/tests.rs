//! The stable smoke run of every fuzz target: each seed of `fuzz/corpus/<target>/`, then a
//! bounded number of deterministic mutations of it (bit flips, cuts, splices, repeats). The
//! real runs are `cargo +nightly fuzz run <target>` (bench/RESULTS.md has their figures).
use std::path::PathBuf;

use super::TARGETS;

/// Mutations tried per seed: enough to reach past the first parse, small enough for CI.
const MUTATIONS_PER_SEED: usize = 300;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "{} has no seeds", dir.display());
    seeds.into_iter().map(|(_, b)| b).collect()
}

/// xorshift64*: a fixed sequence, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"%",
    b"%00",
    b"%zz",
    b"&",
    b"=",
    b"+",
    b"\x00",
    b"\xff",
    b".",
    b"..",
    b"\"",
    b"{}",
    b"[]",
    b"\n",
    b"\r\n",
    b" ",
    b",",
    b";",
    b"[::1]",
    b"-1",
    b"99999999999999999999",
    b"\xc3\x28",
];

fn mutate(rng: &mut Rng, seed: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let at = rng.below(out.len());
                out.truncate(at);
            }
            2 => {
                let at = rng.below(out.len() + 1);
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(at..at, piece.iter().copied());
            }
            3 if !others.is_empty() => {
                let other = &others[rng.below(others.len())];
                let from = rng.below(other.len() + 1);
                let at = rng.below(out.len() + 1);
                out.splice(at..at, other[from..].iter().copied());
            }
            4 if !out.is_empty() => {
                let (a, b) = (rng.below(out.len()), rng.below(out.len()));
                let (a, b) = (a.min(b), a.max(b));
                let piece = out[a..b].to_vec();
                out.splice(b..b, piece);
            }
            _ if !out.is_empty() => {
                let i = rng.below(out.len());
                out.remove(i);
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_target_has_a_fuzz_target_file_and_seeds() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, _) in TARGETS {
        let file = root.join("fuzz_targets").join(format!("{name}.rs"));
        let source =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            source.contains(&format!("portcullis::fuzzing::{name}")),
            "{} does not call portcullis::fuzzing::{name}",
            file.display()
        );
        assert!(!corpus(name).is_empty());
    }
}

#[test]
fn every_target_survives_its_corpus_and_mutations_of_it() {
    for (name, target) in TARGETS {
        let seeds = corpus(name);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
        for seed in &seeds {
            target(seed);
            for _ in 0..MUTATIONS_PER_SEED {
                let input = mutate(&mut rng, seed, &seeds);
                target(&input);
            }
        }
    }
}
