//! Passwords: argon2id (OWASP parameters by default) on a bounded pool of its own; the password
//! policy, reported rule by rule, is in `policy`.
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

use crate::config::PasswordSettings;
use crate::workers::{WorkerError, Workers};

mod policy;
pub use policy::{check_policy, policy_rules, Violation};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing thread is busy and the queue is full: answer 503, try again.
    #[error("password hashing is saturated")]
    Busy,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<WorkerError> for HashError {
    fn from(e: WorkerError) -> Self {
        match e {
            WorkerError::Busy => HashError::Busy,
            WorkerError::Lost => HashError::Internal(anyhow::anyhow!("hashing thread lost")),
        }
    }
}

/// What verifying a password found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The stored hash used other parameters than the configured ones: store a new hash.
    pub rehash: Option<String>,
}

/// Why a password is hashed. Sign-ups get a share of the hashing queue of their own (a
/// quarter), so a registration flood can't take the places sign-ins need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignUp,
    Other,
}

/// Hashes and verifies off the async executor, on `hash_threads` threads.
#[derive(Clone)]
pub struct Hasher {
    workers: Workers,
    params: Params,
    /// A hash of a random secret with the current parameters: verified against when a user is
    /// unknown or has no password, so every login costs the same.
    dummy: String,
    /// Sign-ups hashing or queued now, and how many may be.
    sign_ups: Arc<AtomicUsize>,
    sign_up_share: usize,
}

/// A sign-up's place in its share, given back when the hash is done (or abandoned).
struct SignUpSlot(Arc<AtomicUsize>);

impl Drop for SignUpSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hasher {
    pub fn new(settings: &PasswordSettings) -> anyhow::Result<Hasher> {
        let params = params(settings)?;
        let threads = settings.threads();
        let workers = Workers::new("portcullis-hash", threads, Some(settings.hash_queue))?;
        let dummy = dummy_hash(&params)?;
        Ok(Hasher {
            workers,
            params,
            dummy,
            sign_ups: Arc::new(AtomicUsize::new(0)),
            sign_up_share: (settings.hash_queue / 4).max(1),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.hash_for(password, Purpose::Other).await
    }

    /// Hashes for `purpose`: a sign-up beyond its share of the queue is `Busy` at once.
    pub async fn hash_for(&self, password: String, purpose: Purpose) -> Result<String, HashError> {
        let _slot = match purpose {
            Purpose::SignUp => {
                let slot = SignUpSlot(self.sign_ups.clone());
                if self.sign_ups.fetch_add(1, Ordering::SeqCst) >= self.sign_up_share {
                    return Err(HashError::Busy);
                }
                Some(slot)
            }
            Purpose::Other => None,
        };
        let params = self.params.clone();
        Ok(self
            .workers
            .run(move || hash_with(&params, &password))
            .await??)
    }

    /// Verifies `password` against `stored` (or the dummy hash when `None`: never `ok`).
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let params = self.params.clone();
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy.clone(), false),
        };
        Ok(self
            .workers
            .run(move || {
                verify_with(&params, &password, &hash).map(|v| Verified {
                    ok: v.ok && real,
                    ..v
                })
            })
            .await??)
    }

    /// Hashes waiting for a hashing thread now.
    pub fn queued(&self) -> usize {
        self.workers.queued()
    }

    /// For the CLI, which has no async runtime to spare.
    pub fn hash_blocking(&self, password: &str) -> anyhow::Result<String> {
        let (params, password) = (self.params.clone(), password.to_string());
        self.workers
            .run_blocking(move || hash_with(&params, &password))?
    }
}

fn params(s: &PasswordSettings) -> anyhow::Result<Params> {
    Params::new(
        s.argon2_memory_kib,
        s.argon2_iterations,
        s.argon2_parallelism,
        None,
    )
    .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))
}

thread_local! {
    /// argon2's working memory (19 MiB by default), kept per hashing thread and reused: no
    /// allocation or page faults per hash, and no freed 19 MiB blocks lingering in the
    /// allocator (measured: RSS climbed to ~119 MiB under load with a fresh buffer per hash).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2id for `params` into `out`, in this thread's reused memory.
fn argon2id(params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> anyhow::Result<()> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))
    })
}

/// A PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash` with a fresh 128-bit salt.
fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
    let mut out = [0u8; 32];
    argon2id(params, password.as_bytes(), &salt, &mut out)?;
    phc(params, &salt, &out)
}

/// The hash verified against when a user is unknown or has no password: the current
/// parameters, a random salt and a random output. Verifying any password against it runs
/// argon2id with those parameters (the same work as a real user's) and never matches, so it
/// needs no hashing to make: the server starts without touching argon2's 19 MiB of memory,
/// which it then holds only once someone signs in (peak RSS under token load, bench/RESULTS.md).
fn dummy_hash(params: &Params) -> anyhow::Result<String> {
    let (mut salt, mut out) = ([0u8; 16], [0u8; 32]);
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
    getrandom::fill(&mut out).map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
    phc(params, &salt, &out)
}

fn phc(params: &Params, salt: &[u8], out: &[u8]) -> anyhow::Result<String> {
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow::anyhow!("{e}"))?,
        salt: Some(Salt::new(salt).map_err(|e| anyhow::anyhow!("{e}"))?),
        hash: Some(Output::new(out).map_err(|e| anyhow::anyhow!("{e}"))?),
    };
    Ok(phc.to_string())
}

fn verify_with(params: &Params, password: &str, stored: &str) -> anyhow::Result<Verified> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        anyhow::bail!("stored hash has no salt or output");
    };
    if parsed.algorithm != Algorithm::Argon2id.ident()
        || parsed.version != Some(Version::V0x13.into())
    {
        anyhow::bail!("stored hash is not argon2id v19");
    }
    let stored_params =
        Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored hash parameters: {e}"))?;
    let mut out = vec![0u8; expected.len()];
    argon2id(&stored_params, password.as_bytes(), salt.as_ref(), &mut out)?;
    let ok: bool = out.ct_eq(expected.as_bytes()).into();
    let same = stored_params.m_cost() == params.m_cost()
        && stored_params.t_cost() == params.t_cost()
        && stored_params.p_cost() == params.p_cost();
    let rehash = if ok && !same {
        Some(hash_with(params, password)?)
    } else {
        None
    };
    Ok(Verified { ok, rehash })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> PasswordSettings {
        PasswordSettings {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            ..PasswordSettings::default()
        }
    }

    #[test]
    fn the_dummy_hash_has_the_parameters_and_matches_nothing() {
        let params = params(&fast()).unwrap();
        let dummy = dummy_hash(&params).unwrap();
        assert!(dummy.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{dummy}");
        assert_ne!(dummy, dummy_hash(&params).unwrap());
        let verified = verify_with(&params, "anything", &dummy).unwrap();
        assert_eq!(
            verified,
            Verified {
                ok: false,
                rehash: None
            }
        );
    }

    #[tokio::test]
    async fn hash_verify_and_rehash_on_parameter_change() {
        let old = Hasher::new(&fast()).unwrap();
        let hash = old.hash("Secret123".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let v = old
            .verify("Secret123".into(), Some(hash.clone()))
            .await
            .unwrap();
        assert_eq!(
            v,
            Verified {
                ok: true,
                rehash: None
            }
        );
        assert!(
            !old.verify("wrong".into(), Some(hash.clone()))
                .await
                .unwrap()
                .ok
        );
        assert!(!old.verify("anything".into(), None).await.unwrap().ok);

        let new = Hasher::new(&PasswordSettings {
            argon2_iterations: 2,
            ..fast()
        })
        .unwrap();
        let v = new.verify("Secret123".into(), Some(hash)).await.unwrap();
        assert!(v.ok);
        assert!(v
            .rehash
            .unwrap()
            .starts_with("$argon2id$v=19$m=64,t=2,p=1$"));
    }

    #[test]
    fn hashes_verify_with_the_argon2_crate_itself() {
        use argon2::password_hash::PasswordVerifier;
        let params = params(&fast()).unwrap();
        let ours = hash_with(&params, "Secret123").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"Secret123", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"Secret124", &parsed)
            .is_err());
        // And a hash made by the crate verifies with ours.
        use argon2::password_hash::PasswordHasher;
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password(b"Other456")
            .unwrap()
            .to_string();
        assert!(verify_with(&params, "Other456", &theirs).unwrap().ok);
        assert!(!verify_with(&params, "other456", &theirs).unwrap().ok);
    }

    #[test]
    fn owasp_defaults() {
        let p = params(&PasswordSettings::default()).unwrap();
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19_456, 2, 1));
    }
}
