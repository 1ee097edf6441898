//! DPoP server nonces (RFC 9449 §8, §9): stateless, so every instance issues and accepts the
//! same ones with nothing stored per nonce. A nonce is base64url(HMAC-SHA256(secret, window)),
//! where `window` is `now / WINDOW_SECS` and the secret is the `dpop_nonce` row of
//! `server_secrets` (created by the first instance to start, read by the others). A nonce is
//! accepted in its own window and the next one, so it lives between `WINDOW_SECS` and twice that;
//! a nonce of another server (another secret), an altered one or an older one is refused.
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The name of the secret in `server_secrets`.
pub const SECRET_NAME: &str = "dpop_nonce";

/// How long one nonce window lasts; a nonce is valid in its window and the next.
pub const WINDOW_SECS: i64 = 300;

/// The longest value looked at (a nonce is 43 characters).
const MAX_NONCE_LEN: usize = 128;

/// The key nonces are made and checked with. Cheap to clone.
#[derive(Clone)]
pub struct NonceKey(Arc<Vec<u8>>);

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(REDACTED)")
    }
}

impl NonceKey {
    pub fn new(secret: &str) -> NonceKey {
        NonceKey(Arc::new(secret.as_bytes().to_vec()))
    }

    fn mac(&self, window: i64) -> Option<Hmac<Sha256>> {
        // HMAC accepts a key of any length: this does not fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).ok()?;
        mac.update(b"dpop-nonce:");
        mac.update(&window.to_be_bytes());
        Some(mac)
    }

    /// The nonce to hand out at `now` (the same for every request of the window, on every
    /// instance).
    pub fn issue(&self, now: i64) -> String {
        self.mac(window(now))
            .map(|mac| URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Whether `nonce` was issued by this server in the current window or the previous one
    /// (compared in constant time).
    pub fn accepts(&self, nonce: &str, now: i64) -> bool {
        if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
            return false;
        }
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let current = window(now);
        [current, current - 1].into_iter().any(|w| {
            self.mac(w)
                .is_some_and(|mac| mac.verify_slice(&bytes).is_ok())
        })
    }
}

fn window(now: i64) -> i64 {
    now.div_euclid(WINDOW_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_100;

    #[test]
    fn dpop_nonce_is_accepted_in_its_window_and_the_next() {
        let key = NonceKey::new("secret");
        let nonce = key.issue(NOW);
        assert_eq!(nonce.len(), 43);
        assert_eq!(nonce, key.issue(NOW + 1), "one nonce per window");
        assert!(key.accepts(&nonce, NOW));
        let start = NOW - NOW.rem_euclid(WINDOW_SECS);
        assert_eq!(key.issue(start), nonce);
        assert!(key.accepts(&nonce, start + WINDOW_SECS - 1));
        assert!(key.accepts(&nonce, start + 2 * WINDOW_SECS - 1));
        assert_ne!(key.issue(start + WINDOW_SECS), nonce);
        // Expired: two windows on.
        assert!(!key.accepts(&nonce, start + 2 * WINDOW_SECS));
        // Not yet: a nonce of the next window is not taken early.
        assert!(!key.accepts(&key.issue(start + WINDOW_SECS), NOW));
    }

    #[test]
    fn dpop_nonce_of_another_secret_or_altered_is_refused() {
        let key = NonceKey::new("secret");
        let nonce = key.issue(NOW);
        // Another server (another secret); the same secret on another instance.
        assert!(!NonceKey::new("other secret").accepts(&nonce, NOW));
        assert!(NonceKey::new("secret").accepts(&nonce, NOW));
        // Altered, truncated, extended, empty, not base64url, absurdly long.
        let mut altered = nonce.clone().into_bytes();
        altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        for bad in [
            altered.as_str(),
            &nonce[..42],
            &format!("{nonce}A"),
            "",
            "not a nonce!",
            &"A".repeat(1000),
        ] {
            assert!(!key.accepts(bad, NOW), "{bad}");
        }
    }
}
