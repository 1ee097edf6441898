//! How long dead rows and audit events are kept, and how often the purge runs (`purge`).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PurgeSettings {
    /// Seconds between two purges by a running server (0: the server never purges; run
    /// `portcullis purge` instead).
    pub interval_secs: u64,
    /// How long a dead row (ended session, expired or revoked refresh token, used or expired
    /// code, …) is kept after it died, for investigation.
    pub grace_secs: i64,
    /// Rows deleted per statement: each statement is its own short transaction.
    pub batch_size: i64,
}

impl Default for PurgeSettings {
    fn default() -> Self {
        PurgeSettings {
            interval_secs: 600,
            grace_secs: 86_400,
            batch_size: 500,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Audit events older than this many days are purged (0: kept forever).
    pub retention_days: i64,
    /// The same in seconds, for retention shorter than a day (test and soak environments);
    /// replaces `retention_days` when set (0: kept forever).
    pub retention_secs: Option<i64>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            retention_days: 90,
            retention_secs: None,
        }
    }
}

impl AuditSettings {
    /// How long audit events are kept, in seconds; `None`: forever.
    pub fn retention(&self) -> Option<i64> {
        let secs = self
            .retention_secs
            .unwrap_or(self.retention_days.saturating_mul(86_400));
        (secs > 0).then_some(secs)
    }
}
