//! Fixed sets of threads pulling jobs from one FIFO queue: where blocking work (Diesel queries,
//! argon2 hashes) runs, never on the async executor.
//!
//! A thread that finishes a job takes the next at once, with no wake-up in between, and waiting
//! callers hold no thread. Measured against tokio's `spawn_blocking` behind a semaphore, this
//! removed the idle gaps between jobs (15% idle CPU at full load) and the scheduler-driven tail
//! latency of many blocking threads on few cores (bench/RESULTS.md). A bounded queue refuses work
//! when full instead of letting it pile up: that is how a login storm is kept from starving
//! everything else.

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error("too much work is queued; try again shortly")]
    Busy,
    #[error("the worker thread is gone")]
    Lost,
}

#[derive(Clone)]
pub struct Workers {
    jobs: crossbeam_channel::Sender<Job>,
}

impl Workers {
    /// `threads` threads named `name-N`; `queue` bounds the jobs waiting (None: unbounded).
    pub fn new(name: &str, threads: usize, queue: Option<usize>) -> std::io::Result<Workers> {
        let (jobs, rx) = match queue {
            Some(n) => crossbeam_channel::bounded::<Job>(n),
            None => crossbeam_channel::unbounded::<Job>(),
        };
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    // Ends when every `Workers` clone (and so every sender) is gone.
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })?;
        }
        Ok(Workers { jobs })
    }

    /// Jobs waiting for a thread now.
    pub fn queued(&self) -> usize {
        self.jobs.len()
    }

    /// Runs `f` on a worker thread and waits for its result without blocking the caller's
    /// thread. A full bounded queue answers `Busy` at once.
    pub async fn run<T, F>(&self, f: F) -> Result<T, WorkerError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs.try_send(job).map_err(|e| match e {
            crossbeam_channel::TrySendError::Full(_) => WorkerError::Busy,
            crossbeam_channel::TrySendError::Disconnected(_) => WorkerError::Lost,
        })?;
        result.await.map_err(|_| WorkerError::Lost)
    }
}

impl Workers {
    /// Runs `f` on a worker thread and blocks the calling thread until it is done: for start-up
    /// work that must happen on these threads (never call it from async code).
    pub fn run_blocking<T, F>(&self, f: F) -> Result<T, WorkerError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (done, result) = std::sync::mpsc::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs.send(job).map_err(|_| WorkerError::Lost)?;
        result.recv().map_err(|_| WorkerError::Lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_refuses_when_full() {
        let w = Workers::new("t", 1, Some(1)).unwrap();
        assert_eq!(w.run(|| 2 + 2).await, Ok(4));
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let blocker = {
            let w = w.clone();
            tokio::spawn(async move { w.run(move || gate_rx.recv().is_ok()).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // One job runs, one waits in the queue; a third is refused.
        let queued = {
            let w = w.clone();
            tokio::spawn(async move { w.run(|| 1).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(w.run(|| 0).await, Err(WorkerError::Busy));
        gate_tx.send(()).unwrap();
        assert_eq!(blocker.await.unwrap(), Ok(true));
        assert_eq!(queued.await.unwrap(), Ok(1));
    }
}
