//! Outgoing mail. Requests never wait for the mail server: a message is put on a small bounded
//! queue ([`Mailer::send`] never blocks) and a thread of its own delivers it over SMTP
//! (`smtp`), retrying transient failures (`queue`). A full queue drops the message, logged and
//! counted; the request that caused it still gets its normal answer. Messages are rendered from
//! askama templates, plain text and HTML (`messages`).
//!
//! Without `email.smtp_url` the [`Mailer`] is disabled, and the features that need mail
//! (password reset, email verification) are not offered.
pub mod messages;
mod queue;
pub mod smtp;

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};

use crate::config::EmailSettings;
pub use queue::MailStats;
use queue::{Counters, RetryPolicy};

/// One message, rendered.
#[derive(Clone)]
pub struct Mail {
    /// What it is, for logs and counters (`verify_email`, `password_reset`, …).
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Only the kind: the recipient is personal data and the body may hold a single-use link.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What became of a message handed to [`Mailer::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    Queued,
    /// The queue was full: dropped (logged and counted).
    Dropped,
    /// No mail server is configured.
    Disabled,
}

/// A cheap-to-clone handle on the mail queue (or a disabled one).
#[derive(Clone)]
pub struct Mailer {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    jobs: Sender<Mail>,
    counters: Arc<Counters>,
}

/// The first retry waits this long; each later one 4× longer, at most `MAX_RETRY_DELAY`.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(2);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);

impl Mailer {
    /// A mailer that sends nothing (no `email.smtp_url`).
    pub fn disabled() -> Mailer {
        Mailer { inner: None }
    }

    /// Starts the mail thread for `settings`, or a disabled mailer without `smtp_url`.
    pub fn start(settings: &EmailSettings) -> anyhow::Result<Mailer> {
        let Some(url) = &settings.smtp_url else {
            return Ok(Mailer::disabled());
        };
        let target = smtp::SmtpTarget::parse(url)?;
        let from = settings
            .from
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("email.from is required when email.smtp_url is set"))?;
        let from = smtp::parse_mailbox(from)
            .map_err(|e| anyhow::anyhow!("email.from is not an address: {e}"))?;
        let delivery = smtp::SmtpDelivery {
            transport: target.transport(Duration::from_secs(settings.timeout_secs))?,
            from,
        };
        let (jobs, rx) = crossbeam_channel::bounded(settings.queue_size.max(1));
        let counters = Arc::new(Counters::default());
        let policy = RetryPolicy {
            max_attempts: settings.max_attempts.max(1),
            first_delay: FIRST_RETRY_DELAY,
            max_delay: MAX_RETRY_DELAY,
            capacity: settings.queue_size.max(1),
        };
        queue::spawn(rx, delivery, policy, counters.clone())?;
        tracing::info!(host = %target.host, port = target.port, security = ?target.security, "mail goes out through SMTP");
        Ok(Mailer {
            inner: Some(Arc::new(Inner { jobs, counters })),
        })
    }

    /// Whether mail can be sent (features that need it are offered).
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Queues `mail` without waiting; a full queue drops it (logged and counted).
    pub fn send(&self, mail: Mail) -> Queued {
        let Some(inner) = &self.inner else {
            return Queued::Disabled;
        };
        let kind = mail.kind;
        match inner.jobs.try_send(mail) {
            Ok(()) => {
                inner
                    .counters
                    .queued
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Queued::Queued
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                inner
                    .counters
                    .dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(kind, "the mail queue is full; message dropped");
                Queued::Dropped
            }
        }
    }

    /// Counters since start (all zero when disabled).
    pub fn stats(&self) -> MailStats {
        self.inner
            .as_ref()
            .map_or_else(MailStats::default, |i| i.counters.snapshot())
    }
}
