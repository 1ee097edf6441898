//! The union of every client's allowed origins, kept in memory for a few seconds (by the
//! server's clock) so preflights and `/userinfo` cost no query each. A client created or changed
//! through the CLI (another process) is answered for within `TTL_SECS`.
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::oauth::origins;
use crate::state::AppState;

/// How long a loaded set is used, in seconds.
pub const TTL_SECS: i64 = 5;

#[derive(Default)]
pub struct KnownOrigins {
    /// When the set was loaded, and the set.
    cached: Mutex<Option<(i64, Arc<BTreeSet<String>>)>>,
}

impl KnownOrigins {
    /// Whether some client allows `origin` (normalised by `origins::request_origin`). A failed
    /// query allows nothing (and is logged).
    pub async fn contains(&self, state: &AppState, origin: &str) -> bool {
        let now = state.clock.now();
        if let Some(set) = self.fresh(now) {
            return set.contains(origin);
        }
        match state
            .db
            .run::<_, anyhow::Error, _>(origins::all_allowed)
            .await
        {
            Ok(set) => {
                let set = Arc::new(set);
                if let Ok(mut cached) = self.cached.lock() {
                    *cached = Some((now, set.clone()));
                }
                set.contains(origin)
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "CORS: loading the clients' origins failed");
                false
            }
        }
    }

    fn fresh(&self, now: i64) -> Option<Arc<BTreeSet<String>>> {
        let cached = self.cached.lock().ok()?;
        match &*cached {
            // A clock that went back also reloads.
            Some((at, set)) if (*at..*at + TTL_SECS).contains(&now) => Some(set.clone()),
            _ => None,
        }
    }
}
