//! Opaque credentials (client secrets, and later refresh tokens, codes and API keys): 256 bits from
//! the OS RNG, base64url; stored only as SHA-256 and compared in constant time. They are
//! high-entropy, so a slow password hash would buy nothing and cost every request.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `bytes` random bytes from the OS RNG, base64url without padding.
pub fn random_token(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// A 128-bit identifier that operators type: base64url, but never starting with `-` or `_`
/// (a leading `-` reads as a flag on a command line).
pub fn random_id() -> anyhow::Result<String> {
    loop {
        let id = random_token(16)?;
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Ok(id);
        }
    }
}

/// A new 256-bit opaque secret.
pub fn new_secret() -> anyhow::Result<String> {
    random_token(32)
}

/// The stored form of an opaque secret: SHA-256, base64url without padding.
pub fn hash_secret(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `presented` hashes to `stored_hash`, in time independent of where they differ.
pub fn verify_secret(presented: &str, stored_hash: &str) -> bool {
    let computed = hash_secret(presented);
    computed.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bit_and_verify_only_against_their_hash() {
        let s = new_secret().unwrap();
        assert_eq!(s.len(), 43);
        assert_ne!(s, new_secret().unwrap());
        let h = hash_secret(&s);
        assert_eq!(h.len(), 43);
        assert!(verify_secret(&s, &h));
        assert!(!verify_secret("nope", &h));
        assert!(!verify_secret(&s, ""));
        assert_eq!(
            hash_secret("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
