//! The mail thread: takes messages from the bounded queue and hands each to the SMTP server.
//! A transient failure (connection refused, timeout, 4xx) is retried later with a growing
//! delay, kept aside so it never holds up the messages behind it; a permanent refusal (5xx, an
//! unusable address) is not retried. Every outcome is logged (the kind of message, never its
//! recipient or body) and counted.
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use serde::Serialize;

use super::Mail;
use crate::telemetry::capped;

/// Hands one message to the mail server.
pub trait Deliver: Send + 'static {
    fn deliver(&self, mail: &Mail) -> Result<(), Failure>;
}

/// Why a delivery failed, and whether trying again could help.
#[derive(Debug)]
pub struct Failure {
    pub permanent: bool,
    pub reason: String,
}

/// Counters since start (for logs, tests and, later, metrics).
#[derive(Debug, Default)]
pub struct Counters {
    pub queued: AtomicU64,
    pub sent: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MailStats {
    /// Accepted into the queue.
    pub queued: u64,
    pub sent: u64,
    /// Transient failures put aside for another attempt.
    pub retried: u64,
    /// Given up: refused permanently, or out of attempts.
    pub failed: u64,
    /// Not accepted: the queue (or the retry list) was full.
    pub dropped: u64,
}

impl Counters {
    pub fn snapshot(&self) -> MailStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MailStats {
            queued: get(&self.queued),
            sent: get(&self.sent),
            retried: get(&self.retried),
            failed: get(&self.failed),
            dropped: get(&self.dropped),
        }
    }

    fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Attempts per message, the first retry's delay (each later one 4× longer, at most
/// `max_delay`), and how many messages may wait for a retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub capacity: usize,
}

impl RetryPolicy {
    fn delay(&self, attempts: u32) -> Duration {
        let factor = 4u32.saturating_pow(attempts.saturating_sub(1).min(10));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// A message waiting for its next attempt (ordered by when it is due, then arrival).
struct Waiting {
    due: Instant,
    seq: u64,
    attempts: u32,
    mail: Mail,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// Starts the mail thread; it ends when every sender of `jobs` is gone.
pub fn spawn(
    jobs: Receiver<Mail>,
    delivery: impl Deliver,
    policy: RetryPolicy,
    counters: Arc<Counters>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("portcullis-mail".into())
        .spawn(move || run(jobs, delivery, policy, counters))
        .map(|_| ())
}

fn run(jobs: Receiver<Mail>, delivery: impl Deliver, policy: RetryPolicy, counters: Arc<Counters>) {
    let mut waiting: BinaryHeap<Reverse<Waiting>> = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        // Retries that are due go first.
        while waiting
            .peek()
            .is_some_and(|Reverse(w)| w.due <= Instant::now())
        {
            if let Some(Reverse(w)) = waiting.pop() {
                attempt(
                    &delivery,
                    &policy,
                    &counters,
                    &mut waiting,
                    &mut seq,
                    w.mail,
                    w.attempts + 1,
                );
            }
        }
        let next = match waiting.peek() {
            Some(Reverse(w)) => jobs.recv_timeout(w.due.saturating_duration_since(Instant::now())),
            None => jobs.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(mail) => attempt(
                &delivery,
                &policy,
                &counters,
                &mut waiting,
                &mut seq,
                mail,
                1,
            ),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if !waiting.is_empty() {
                    tracing::warn!(
                        abandoned = waiting.len(),
                        "mail thread stopping with retries pending"
                    );
                }
                return;
            }
        }
    }
}

fn attempt(
    delivery: &impl Deliver,
    policy: &RetryPolicy,
    counters: &Counters,
    waiting: &mut BinaryHeap<Reverse<Waiting>>,
    seq: &mut u64,
    mail: Mail,
    attempts: u32,
) {
    let failure = match delivery.deliver(&mail) {
        Ok(()) => {
            Counters::add(&counters.sent);
            tracing::info!(kind = mail.kind, attempts, "mail sent");
            return;
        }
        Err(f) => f,
    };
    let reason = capped(&failure.reason);
    if failure.permanent || attempts >= policy.max_attempts {
        Counters::add(&counters.failed);
        tracing::error!(kind = mail.kind, attempts, permanent = failure.permanent, error = %reason, "mail not delivered; giving up");
        return;
    }
    if waiting.len() >= policy.capacity {
        Counters::add(&counters.dropped);
        tracing::error!(kind = mail.kind, attempts, error = %reason, "mail not delivered and the retry list is full; dropped");
        return;
    }
    let delay = policy.delay(attempts);
    Counters::add(&counters.retried);
    tracing::warn!(kind = mail.kind, attempts, retry_in_ms = delay.as_millis() as u64, error = %reason, "mail not delivered; will retry");
    *seq += 1;
    waiting.push(Reverse(Waiting {
        due: Instant::now() + delay,
        seq: *seq,
        attempts,
        mail,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Fails the first `transient` attempts of each message, or every one permanently when
    /// the subject says so; records successful deliveries.
    struct Scripted {
        transient: u32,
        tries: Mutex<std::collections::HashMap<String, u32>>,
        delivered: crossbeam_channel::Sender<String>,
    }

    impl Deliver for Scripted {
        fn deliver(&self, mail: &Mail) -> Result<(), Failure> {
            let mut tries = self.tries.lock().unwrap();
            let n = tries.entry(mail.subject.clone()).or_insert(0);
            *n += 1;
            if mail.subject.starts_with("bad") {
                return Err(Failure {
                    permanent: true,
                    reason: "550 no such user".into(),
                });
            }
            if *n <= self.transient {
                return Err(Failure {
                    permanent: false,
                    reason: "451 try later".into(),
                });
            }
            let _ = self.delivered.send(mail.subject.clone());
            Ok(())
        }
    }

    fn mail(subject: &str) -> Mail {
        Mail {
            kind: "test",
            to: "a@example.com".into(),
            subject: subject.into(),
            text: String::new(),
            html: String::new(),
        }
    }

    #[test]
    fn retries_transient_failures_without_holding_up_the_rest() {
        let (tx, rx) = crossbeam_channel::bounded(8);
        let (delivered_tx, delivered) = crossbeam_channel::unbounded();
        let counters = Arc::new(Counters::default());
        let policy = RetryPolicy {
            max_attempts: 3,
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            capacity: 8,
        };
        let delivery = Scripted {
            transient: 2,
            tries: Mutex::default(),
            delivered: delivered_tx,
        };
        spawn(rx, delivery, policy, counters.clone()).unwrap();
        tx.send(mail("one")).unwrap();
        tx.send(mail("bad one")).unwrap();
        tx.send(mail("two")).unwrap();
        let wait = Duration::from_secs(5);
        let mut got = vec![
            delivered.recv_timeout(wait).unwrap(),
            delivered.recv_timeout(wait).unwrap(),
        ];
        got.sort();
        assert_eq!(got, ["one", "two"]);
        drop(tx);
        let stats = counters.snapshot();
        assert_eq!((stats.sent, stats.failed, stats.retried), (2, 1, 4));
        assert_eq!(policy.delay(1), Duration::from_millis(50));
        assert_eq!(policy.delay(2), Duration::from_millis(200));
        assert_eq!(policy.delay(9), Duration::from_secs(1));
    }

    #[test]
    fn gives_up_after_the_last_attempt() {
        let (tx, rx) = crossbeam_channel::bounded(8);
        let (delivered_tx, delivered) = crossbeam_channel::unbounded();
        let counters = Arc::new(Counters::default());
        let policy = RetryPolicy {
            max_attempts: 2,
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
            capacity: 8,
        };
        let delivery = Scripted {
            transient: 5,
            tries: Mutex::default(),
            delivered: delivered_tx,
        };
        spawn(rx, delivery, policy, counters.clone()).unwrap();
        tx.send(mail("never")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while counters.snapshot().failed == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(delivered.try_recv().is_err());
        let stats = counters.snapshot();
        assert_eq!((stats.sent, stats.failed, stats.retried), (0, 1, 1));
    }
}
