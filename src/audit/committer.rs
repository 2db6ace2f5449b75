//! Group commit: one thread drains every event waiting, appends them in one write
//! transaction (one fsync), and only then answers each waiter. Under load many requests share
//! a commit; alone, an event is committed at once.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::{AuditEvent, append_in};
use crate::clock::Clock;
use crate::store::{Store, StoreError};

/// Events waiting beyond this make `record` wait for room (back-pressure).
const QUEUE_DEPTH: usize = 65_536;

#[derive(Debug, thiserror::Error, Clone)]
pub enum AuditError {
    #[error("the audit log could not be written: {0}")]
    Write(String),
    #[error("the audit log is shut down")]
    Closed,
}

struct Job {
    event: AuditEvent,
    done: oneshot::Sender<Result<u64, AuditError>>,
}

/// A handle to the group committer; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::SyncSender<Job>,
    _worker: Arc<Worker>,
}

struct Worker {
    handle: std::sync::Mutex<Option<thread::JoinHandle<()>>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // The last handle is gone, so the channel is closed: wait for the final commit.
        if let Ok(mut guard) = self.handle.lock()
            && let Some(handle) = guard.take()
        {
            let _ = handle.join();
        }
    }
}

impl AuditLog {
    /// Start the committer thread. `max_batch` bounds the events one commit carries.
    pub fn start(store: Arc<Store>, clock: Arc<dyn Clock>, max_batch: usize) -> AuditLog {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE_DEPTH);
        let max_batch = max_batch.max(1);
        let handle = thread::Builder::new()
            .name("audit-commit".into())
            .spawn(move || run(store, clock, rx, max_batch))
            .ok();
        if handle.is_none() {
            tracing::error!("cannot start the audit committer thread");
        }
        AuditLog {
            tx,
            _worker: Arc::new(Worker {
                handle: std::sync::Mutex::new(handle),
            }),
        }
    }

    /// Record an event; returns its sequence number once it is durable.
    pub async fn record(&self, event: AuditEvent) -> Result<u64, AuditError> {
        let (done, wait) = oneshot::channel();
        let tx = self.tx.clone();
        let job = Job { event, done };
        // A full queue blocks; keep that off the async worker.
        match tx.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => {
                tokio::task::spawn_blocking(move || tx.send(job))
                    .await
                    .map_err(|_| AuditError::Closed)?
                    .map_err(|_| AuditError::Closed)?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(AuditError::Closed),
        }
        wait.await.map_err(|_| AuditError::Closed)?
    }

    /// As [`AuditLog::record`], for synchronous callers (the CLI, blocking tasks).
    pub fn record_blocking(&self, event: AuditEvent) -> Result<u64, AuditError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { event, done })
            .map_err(|_| AuditError::Closed)?;
        wait.blocking_recv().map_err(|_| AuditError::Closed)?
    }
}

fn run(store: Arc<Store>, clock: Arc<dyn Clock>, rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let events: Vec<AuditEvent> = batch.iter().map(|j| j.event.clone()).collect();
        let n = events.len() as u64;
        let result = commit(&store, clock.as_ref(), events);
        metrics::counter!("callvault_audit_commits_total").increment(1);
        metrics::histogram!("callvault_audit_batch_size").record(n as f64);
        match result {
            Ok(last) => {
                metrics::counter!("callvault_audit_events_total").increment(n);
                let first_seq = last + 1 - n;
                for (i, job) in batch.drain(..).enumerate() {
                    let _ = job.done.send(Ok(first_seq + i as u64));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = n, "audit commit failed");
                let err = AuditError::Write(e.to_string());
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(err.clone()));
                }
            }
        }
    }
}

fn commit(store: &Store, clock: &dyn Clock, events: Vec<AuditEvent>) -> Result<u64, StoreError> {
    let txn = store.begin_write()?;
    let last = append_in(&txn, clock.now(), events)?;
    txn.commit()?;
    Ok(last)
}
