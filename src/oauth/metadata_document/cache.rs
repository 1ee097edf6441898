//! How long a fetched document stands for its client, and the brief memory of failures.
//!
//! A document's lifetime follows its `Cache-Control` within bounds: `max-age` clamped to
//! [`MIN_SECS`, `MAX_SECS`], [`DEFAULT_SECS`] without one, and `no-store`/`no-cache` the minimum
//! (the client row must exist for its codes and tokens anyway; the minimum bounds how often a
//! sign-in can make us fetch). The lifetime itself is stored with the client
//! (`clients.metadata_document_expires_at`), so every instance shares it.
//!
//! Failures are remembered per URL for [`FAILURE_SECS`] in this process only: a memory against
//! hammering a host, not state another instance needs. It holds at most [`MAX_FAILURES`] URLs.
use std::collections::HashMap;
use std::sync::Mutex;

/// The shortest time a document is used before it is fetched again.
pub const MIN_SECS: i64 = 60;
/// The longest.
pub const MAX_SECS: i64 = 24 * 3600;
/// Without cache headers.
pub const DEFAULT_SECS: i64 = 300;
/// A failed fetch is answered from memory this long.
pub const FAILURE_SECS: i64 = 30;
/// URLs whose failure is remembered at once (the oldest are forgotten first).
pub const MAX_FAILURES: usize = 1024;

/// How long a document answered with this `Cache-Control` (all its values joined) is used.
pub fn lifetime(cache_control: Option<&str>) -> i64 {
    let Some(value) = cache_control else {
        return DEFAULT_SECS;
    };
    let mut max_age = None;
    for directive in value.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-store" || directive == "no-cache" {
            return MIN_SECS;
        }
        if let Some(n) = directive.strip_prefix("max-age=") {
            // RFC 9111 §1.2.2: an invalid delta-seconds is treated as stale.
            max_age = Some(n.trim_matches('"').parse::<i64>().unwrap_or(0));
        }
    }
    max_age.map_or(DEFAULT_SECS, |n| n.clamp(MIN_SECS, MAX_SECS))
}

/// Recent failures: URL → (until, why).
#[derive(Debug, Default)]
pub struct Failures {
    entries: Mutex<HashMap<String, (i64, String)>>,
}

impl Failures {
    /// Why `url` failed, when that was less than [`FAILURE_SECS`] ago.
    pub fn get(&self, url: &str, now: i64) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(url)
            .filter(|(until, _)| *until > now)
            .map(|(_, why)| why.clone())
    }

    pub fn remember(&self, url: &str, why: &str, now: i64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_FAILURES {
            entries.retain(|_, (until, _)| *until > now);
        }
        if entries.len() >= MAX_FAILURES {
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (until, _))| *until)
                .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(url.to_string(), (now + FAILURE_SECS, why.to_string()));
    }

    pub fn forget(&self, url: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_clamped_within_bounds() {
        assert_eq!(lifetime(None), DEFAULT_SECS);
        assert_eq!(lifetime(Some("public")), DEFAULT_SECS);
        assert_eq!(lifetime(Some("max-age=600")), 600);
        assert_eq!(lifetime(Some("public, Max-Age=3600")), 3600);
        assert_eq!(lifetime(Some("max-age=5")), MIN_SECS);
        assert_eq!(lifetime(Some("max-age=0")), MIN_SECS);
        assert_eq!(lifetime(Some("max-age=31536000")), MAX_SECS);
        assert_eq!(lifetime(Some("max-age=\"120\"")), 120);
        assert_eq!(lifetime(Some("max-age=soon")), MIN_SECS);
        assert_eq!(lifetime(Some("max-age=-5")), MIN_SECS);
    }

    #[test]
    fn no_store_and_no_cache_mean_the_minimum() {
        assert_eq!(lifetime(Some("no-store")), MIN_SECS);
        assert_eq!(lifetime(Some("max-age=3600, no-cache")), MIN_SECS);
        assert_eq!(lifetime(Some("private, NO-STORE")), MIN_SECS);
    }

    #[test]
    fn failures_are_remembered_briefly_and_bounded() {
        let f = Failures::default();
        f.remember("https://a.example/c", "it was slow", 1000);
        assert_eq!(
            f.get("https://a.example/c", 1000 + FAILURE_SECS - 1)
                .as_deref(),
            Some("it was slow")
        );
        assert_eq!(f.get("https://a.example/c", 1000 + FAILURE_SECS), None);
        assert_eq!(f.get("https://b.example/c", 1000), None);
        for i in 0..MAX_FAILURES + 10 {
            f.remember(&format!("https://{i}.example/c"), "x", 2000 + i as i64);
        }
        assert!(f.entries.lock().unwrap().len() <= MAX_FAILURES);
        assert!(f
            .get(&format!("https://{}.example/c", MAX_FAILURES + 9), 2000)
            .is_some());
        f.forget(&format!("https://{}.example/c", MAX_FAILURES + 9));
        assert!(f
            .get(&format!("https://{}.example/c", MAX_FAILURES + 9), 2000)
            .is_none());
    }
}
