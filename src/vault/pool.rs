//! The bounded pool bcrypt runs on: one thread per core, apart from the async workers, so a
//! burst of PIN checks queues here and never delays an identification or a question.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("the PIN-check pool could not start: {0}")]
    Start(String),
    #[error("the PIN-check pool dropped a job")]
    Dropped,
}

/// The gauge of jobs (bcrypt, vault writes) queued or running on the pool.
pub const POOL_BUSY: &str = "callvault_pin_pool_busy";

pub struct HashPool {
    pool: rayon::ThreadPool,
    busy: Arc<AtomicUsize>,
    threads: usize,
}

impl HashPool {
    /// A pool of `threads` threads (0: one per core).
    pub fn new(threads: usize) -> Result<HashPool, PoolError> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("callvault-pin-{i}"))
            .build()
            .map_err(|e| PoolError::Start(e.to_string()))?;
        Ok(HashPool {
            pool,
            busy: Arc::new(AtomicUsize::new(0)),
            threads,
        })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Jobs queued or running.
    pub fn busy(&self) -> usize {
        self.busy.load(Ordering::Relaxed)
    }

    /// Run `job` on the pool and wait for it without blocking the caller's thread.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let busy = self.busy.clone();
        busy.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!(POOL_BUSY).increment(1.0);
        self.pool.spawn(move || {
            let _ = tx.send(job());
            busy.fetch_sub(1, Ordering::Relaxed);
            metrics::gauge!(POOL_BUSY).decrement(1.0);
        });
        rx.await.map_err(|_| PoolError::Dropped)
    }

    /// Run `job` on the pool and block this (non-async) thread until it is done.
    pub fn run_blocking<T: Send>(&self, job: impl FnOnce() -> T + Send) -> T {
        self.pool.install(job)
    }
}
