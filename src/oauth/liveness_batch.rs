//! The liveness rows of many access tokens, read together: `/introspect` of client tokens
//! (`introspection::Quick`) asks here instead of running a database job of its own.
//!
//! A lookup joins the queue; if no batch is being read, it starts reading one. One batch is read
//! at a time, so the lookups that arrive while a batch is in the database form the next one
//! (up to [`MAX_BATCH`]): under load a database job (three statements) answers dozens of
//! requests, and a lone request waits for nothing but its own job. Every answer comes from
//! statements that began after its request arrived, so a revocation committed on any instance
//! before a request is never missed — the same guarantee as a statement per request.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::OAuthError;
use crate::store::liveness::{token_rows_many, TokenRows};
use crate::store::{is_unavailable, Db, DbError};

/// The most lookups one batch reads (bounds the statements' parameter lists).
pub const MAX_BATCH: usize = 256;

/// The most lookups that may wait; beyond, a lookup is answered unavailable (503) at once, as
/// a full job queue is.
pub const MAX_WAITING: usize = 4 * MAX_BATCH;

/// Why a batch could not be read: told to every lookup in it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BatchError {
    /// The database can't serve now (503, like any job's).
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

impl From<BatchError> for OAuthError {
    fn from(e: BatchError) -> Self {
        match e {
            BatchError::Unavailable(why) => DbError::Unavailable(why).into(),
            BatchError::Failed(why) => OAuthError::Internal(anyhow::anyhow!(why)),
        }
    }
}

type Tell = oneshot::Sender<Result<TokenRows, BatchError>>;

/// A waiting lookup: its key, when it began waiting, and where its answer goes.
type Waiter = ((String, String), Instant, Tell);

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    /// A task is reading batches (and will take what is waiting before it stops).
    reading: bool,
}

#[derive(Default)]
pub struct LivenessBatch {
    queue: Mutex<Queue>,
    /// Batches read so far (each one database job).
    batches: AtomicU64,
}

impl LivenessBatch {
    /// The rows of the token `(jti, client_id)`, read with whatever else is waiting.
    pub async fn token_rows(
        self: &Arc<Self>,
        db: &Db,
        key: (String, String),
    ) -> Result<TokenRows, BatchError> {
        let (tell, answer) = oneshot::channel();
        let start = {
            let mut queue = self.lock();
            if queue.waiting.len() >= MAX_WAITING {
                return Err(BatchError::Unavailable(
                    "too many introspections wait for the database".into(),
                ));
            }
            queue.waiting.push((key, Instant::now(), tell));
            !std::mem::replace(&mut queue.reading, true)
        };
        if start {
            let reader = Reader {
                batch: self.clone(),
                done: false,
            };
            actix_web::rt::spawn(reader.run(db.clone()));
        }
        abandoned_is_unavailable(answer.await)
    }

    /// How many batches (database jobs) were read so far.
    pub fn batches_read(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next batch, or `None` (and no reader any more) when nothing waits. Lookups whose
    /// request is gone are dropped, and those that waited longer than `patience` (the database
    /// timeout: what a job may wait) are answered unavailable, as a job would be.
    fn next(&self, patience: Duration) -> Option<Vec<Waiter>> {
        let mut queue = self.lock();
        loop {
            if queue.waiting.is_empty() {
                queue.reading = false;
                return None;
            }
            let n = queue.waiting.len().min(MAX_BATCH);
            let mut batch = Vec::with_capacity(n);
            for (key, queued, tell) in queue.waiting.drain(..n) {
                if tell.is_closed() {
                    continue;
                }
                if queued.elapsed() > patience {
                    let _ = tell.send(Err(BatchError::Unavailable(
                        "the introspection waited too long for the database".into(),
                    )));
                    continue;
                }
                batch.push((key, queued, tell));
            }
            if !batch.is_empty() {
                return Some(batch);
            }
        }
    }
}

/// The task that reads batches until none waits. Dropped early (the runtime stopping), it lets
/// the waiting lookups fail and the next lookup start a new reader.
struct Reader {
    batch: Arc<LivenessBatch>,
    /// Set once `next` found nothing waiting (and so gave up the reading itself).
    done: bool,
}

impl Reader {
    async fn run(mut self, db: Db) {
        loop {
            let Some(batch) = self.batch.next(db.timeout()) else {
                self.done = true;
                return;
            };
            let (keys, tells): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|(key, _, tell)| (key, tell)).unzip();
            self.batch.batches.fetch_add(1, Ordering::Relaxed);
            let read = db
                .run(move |c| token_rows_many(c, &keys).map_err(anyhow::Error::from))
                .await;
            match read {
                Ok(rows) => {
                    for (tell, rows) in tells.into_iter().zip(rows) {
                        let _ = tell.send(Ok(rows));
                    }
                }
                Err(e) => {
                    let why = if is_unavailable(&e) {
                        BatchError::Unavailable(format!("{e:#}"))
                    } else {
                        BatchError::Failed(format!("{e:#}"))
                    };
                    for tell in tells {
                        let _ = tell.send(Err(why.clone()));
                    }
                }
            }
        }
    }
}

/// A lookup whose answer never came: its reader was dropped mid-way, which happens when the
/// worker running it stops (the server is shutting down). Unavailable (503, `Retry-After`), as
/// any database job refused then; not an internal error.
fn abandoned_is_unavailable(
    answer: Result<Result<TokenRows, BatchError>, oneshot::error::RecvError>,
) -> Result<TokenRows, BatchError> {
    answer.unwrap_or_else(|_| {
        Err(BatchError::Unavailable(
            "the lookup was abandoned: the server is stopping".into(),
        ))
    })
}

impl Drop for Reader {
    fn drop(&mut self) {
        if !self.done {
            // Stopped mid-way: the waiting lookups fail (their senders drop) and the next
            // lookup starts a reader.
            let mut queue = self.batch.lock();
            queue.waiting.clear();
            queue.reading = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::registration::{register, ClientSpec};
    use diesel::RunQueryDsl;

    fn database() -> (tempfile::TempDir, Db, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::open(&url, 2).unwrap();
        db.migrate().unwrap();
        let mut conn = db.get().unwrap();
        let spec = ClientSpec {
            name: "api".into(),
            grant_types: vec!["client_credentials".into()],
            ..ClientSpec::default()
        };
        let client = register(&mut conn, &spec, 0, 0).unwrap().client.id;
        diesel::sql_query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ('revoked', 99)")
            .execute(&mut *conn)
            .unwrap();
        drop(conn);
        (dir, db, client)
    }

    #[actix_web::test]
    async fn lookups_made_together_are_one_batch_with_each_answer_its_own() {
        let (_dir, db, client) = database();
        let batch = Arc::new(LivenessBatch::default());
        let keys: Vec<(String, String)> = (0..40)
            .map(|i| match i % 3 {
                0 => ("revoked".to_string(), client.clone()),
                1 => (format!("live-{i}"), client.clone()),
                _ => (format!("live-{i}"), "deleted-client".to_string()),
            })
            .collect();
        // All forty join the queue before the reader runs (it is spawned, and runs once this
        // task waits): one batch, one database job.
        let answers =
            futures_util::future::join_all(keys.iter().map(|k| batch.token_rows(&db, k.clone())))
                .await;
        assert_eq!(batch.batches_read(), 1);
        for (i, answer) in answers.into_iter().enumerate() {
            let rows = answer.unwrap();
            assert_eq!(rows.jti_revoked, i % 3 == 0, "lookup {i}");
            assert_eq!(rows.client_exists, i % 3 != 2, "lookup {i}");
            assert!(!rows.family_revoked);
        }
        // A lookup after the reader stopped starts another one.
        let again = batch
            .token_rows(&db, ("revoked".into(), client.clone()))
            .await
            .unwrap();
        assert!(again.jti_revoked);
        assert_eq!(batch.batches_read(), 2);
    }

    #[actix_web::test]
    async fn more_than_a_batch_waiting_is_read_in_several() {
        let (_dir, db, client) = database();
        let batch = Arc::new(LivenessBatch::default());
        let n = MAX_BATCH + 10;
        let answers = futures_util::future::join_all(
            (0..n).map(|i| batch.token_rows(&db, (format!("t{i}"), client.clone()))),
        )
        .await;
        assert!(answers.iter().all(|a| a.as_ref().unwrap().client_exists));
        assert_eq!(batch.batches_read(), 2);
    }

    #[actix_web::test]
    async fn a_full_queue_answers_unavailable_at_once() {
        let (_dir, db, client) = database();
        let batch = Arc::new(LivenessBatch::default());
        // The lookups join the queue in order before the reader runs: all past the limit are
        // refused without waiting, the rest answered.
        let answers = futures_util::future::join_all(
            (0..MAX_WAITING + 3).map(|i| batch.token_rows(&db, (format!("t{i}"), client.clone()))),
        )
        .await;
        let refused = answers
            .iter()
            .filter(|a| matches!(a, Err(BatchError::Unavailable(_))))
            .count();
        assert_eq!(refused, 3);
        assert!(answers[..MAX_WAITING].iter().all(|a| a.is_ok()));
    }

    #[actix_web::test]
    async fn a_failed_batch_fails_each_of_its_lookups_and_the_next_reads_again() {
        let (_dir, db, client) = database();
        let batch = Arc::new(LivenessBatch::default());
        let mut conn = db.get().unwrap();
        diesel::sql_query("ALTER TABLE revoked_tokens RENAME TO revoked_elsewhere")
            .execute(&mut *conn)
            .unwrap();
        let answers = futures_util::future::join_all(
            (0..3).map(|i| batch.token_rows(&db, (format!("t{i}"), client.clone()))),
        )
        .await;
        assert_eq!(batch.batches_read(), 1);
        for answer in answers {
            assert!(matches!(answer, Err(BatchError::Failed(_))), "{answer:?}");
        }
        diesel::sql_query("ALTER TABLE revoked_elsewhere RENAME TO revoked_tokens")
            .execute(&mut *conn)
            .unwrap();
        drop(conn);
        let rows = batch
            .token_rows(&db, ("revoked".into(), client.clone()))
            .await
            .unwrap();
        assert!(rows.jti_revoked);
    }

    #[actix_web::test]
    async fn lookups_of_a_reader_dropped_mid_way_are_unavailable_and_the_next_reads_again() {
        let (_dir, db, client) = database();
        let batch = Arc::new(LivenessBatch::default());
        let (tell, answer) = oneshot::channel();
        {
            let mut queue = batch.lock();
            queue
                .waiting
                .push((("t".into(), client.clone()), Instant::now(), tell));
            queue.reading = true;
        }
        // As when the worker running the reader stops (shutdown): 503, not 500.
        drop(Reader {
            batch: batch.clone(),
            done: false,
        });
        let got = abandoned_is_unavailable(answer.await);
        assert!(matches!(got, Err(BatchError::Unavailable(_))), "{got:?}");
        let rows = batch.token_rows(&db, ("t".into(), client)).await.unwrap();
        assert!(!rows.jti_revoked);
    }
}
