//! Group commit: one thread drains every event waiting, appends them in one write
//! transaction (one fsync), and only then answers each waiter. Under load many requests share
//! a commit; alone, an event is committed at once.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tokio::sync::oneshot;

use redb::WriteTransaction;

use super::{AuditEvent, append_in};
use crate::clock::Clock;
use crate::store::{Store, StoreError};
use crate::throttle::Throttle;
use crate::throttled_error;

/// Events waiting beyond this make `record` wait for room (back-pressure).
const QUEUE_DEPTH: usize = 65_536;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuditError {
    #[error("the audit log could not be written: {0}")]
    Write(String),
    #[error("the audit log is shut down")]
    Closed,
}

/// Work for the committer: changes applied inside the shared write transaction, and the
/// audit events that go with them. The reply is sent only once the transaction is durable.
pub(super) trait Job: Send {
    /// Apply the work; return its audit events. An error aborts the whole batch.
    fn apply(&mut self, txn: &WriteTransaction) -> Result<Vec<AuditEvent>, StoreError>;
    /// Answer the waiter: the sequence number of the job's last event (0 for none), or why
    /// nothing was committed.
    fn reply(self: Box<Self>, result: Result<u64, AuditError>);
}

struct Typed<T, F> {
    work: Option<F>,
    out: Option<T>,
    done: oneshot::Sender<Result<(T, u64), AuditError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send,
    F: FnOnce(&WriteTransaction) -> Result<(T, Vec<AuditEvent>), StoreError> + Send,
{
    fn apply(&mut self, txn: &WriteTransaction) -> Result<Vec<AuditEvent>, StoreError> {
        let work = self
            .work
            .take()
            .ok_or_else(|| StoreError::Corrupt("audit job applied twice".into()))?;
        let (out, events) = work(txn)?;
        self.out = Some(out);
        Ok(events)
    }

    fn reply(self: Box<Self>, result: Result<u64, AuditError>) {
        let answer = match (result, self.out) {
            (Ok(seq), Some(out)) => Ok((out, seq)),
            (Ok(_), None) => Err(AuditError::Write("the work was not applied".into())),
            (Err(e), _) => Err(e),
        };
        let _ = self.done.send(answer);
    }
}

/// A handle to the group committer; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::SyncSender<Box<dyn Job>>,
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
        let (tx, rx) = mpsc::sync_channel::<Box<dyn Job>>(QUEUE_DEPTH);
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
        self.transact(move |_| Ok(((), vec![event])))
            .await
            .map(|((), seq)| seq)
    }

    /// As [`AuditLog::record`], for synchronous callers (the CLI, blocking tasks).
    pub fn record_blocking(&self, event: AuditEvent) -> Result<u64, AuditError> {
        let (job, wait) = typed(move |_: &WriteTransaction| Ok(((), vec![event])));
        self.tx.send(job).map_err(|_| AuditError::Closed)?;
        wait.blocking_recv()
            .map_err(|_| AuditError::Closed)?
            .map(|((), seq)| seq)
    }

    /// Apply `work` inside the committer's shared write transaction and append the events it
    /// returns, so a change and its audit records commit together (one fsync shared with
    /// every other waiting job). Answers once durable with the work's output and the sequence
    /// number of its last event. `work` must check before it writes: an error from it aborts
    /// the whole batch, and every job in it is answered with that error.
    pub async fn transact<T, F>(&self, work: F) -> Result<(T, u64), AuditError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<(T, Vec<AuditEvent>), StoreError> + Send + 'static,
    {
        let (job, wait) = typed(work);
        let tx = self.tx.clone();
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
}

pub(super) type Wait<T> = oneshot::Receiver<Result<(T, u64), AuditError>>;

pub(super) fn typed<T, F>(work: F) -> (Box<dyn Job>, Wait<T>)
where
    T: Send + 'static,
    F: FnOnce(&WriteTransaction) -> Result<(T, Vec<AuditEvent>), StoreError> + Send + 'static,
{
    let (done, wait) = oneshot::channel();
    let job = Typed {
        work: Some(work),
        out: None,
        done,
    };
    (Box::new(job), wait)
}

/// The committer thread's loop: until every handle is gone, take the first job waiting and
/// as many more as are waiting (up to `max_batch`), commit them together, answer each.
pub(super) fn run(
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    rx: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let began = std::time::Instant::now();
        let result = commit(&store, clock.as_ref(), &mut batch);
        metrics::histogram!("callvault_audit_commit_seconds").record(began.elapsed().as_secs_f64());
        metrics::counter!("callvault_audit_commits_total").increment(1);
        metrics::histogram!("callvault_audit_batch_size").record(batch.len() as f64);
        match result {
            Ok(seqs) => {
                let n: u64 = seqs.iter().map(|(_, n)| n).sum();
                metrics::counter!("callvault_audit_events_total").increment(n);
                for (job, (seq, _)) in batch.drain(..).zip(seqs) {
                    job.reply(Ok(seq));
                }
            }
            Err(e) => {
                static LOGGED: Throttle = Throttle::new(Duration::from_secs(1));
                throttled_error!(LOGGED, error = %e, jobs = batch.len(), "audit commit failed");
                let err = AuditError::Write(e.to_string());
                for job in batch.drain(..) {
                    job.reply(Err(err.clone()));
                }
            }
        }
    }
}

/// Apply every job and append its events in one transaction. Returns, per job, the
/// sequence number of its last event (0 when it had none) and its event count.
///
/// The events of the whole batch are appended together, in job order: the chain's head is
/// read and written once per commit rather than once per job.
fn commit(
    store: &Store,
    clock: &dyn Clock,
    batch: &mut [Box<dyn Job>],
) -> Result<Vec<(u64, u64)>, StoreError> {
    let txn = store.begin_write()?;
    let now = clock.now();
    let mut counts = Vec::with_capacity(batch.len());
    let mut apply = || {
        let mut events = Vec::with_capacity(batch.len() * 2);
        for job in batch.iter_mut() {
            let mine = job.apply(&txn)?;
            counts.push(mine.len() as u64);
            events.extend(mine);
        }
        let total = events.len() as u64;
        let last = if total == 0 {
            0
        } else {
            append_in(&txn, now, events)?
        };
        Ok::<_, StoreError>((last, total))
    };
    match apply() {
        Ok((last, total)) => {
            txn.commit()?;
            Ok(job_seqs(&counts, last, total))
        }
        // a store that failed to write mid-transaction is reopened, as after a failed commit
        Err(e) => {
            txn.failed(&e);
            Err(e)
        }
    }
}

/// Each job's last sequence number, given the jobs' event counts in order and the last
/// sequence number of the `total` events appended for them.
pub(super) fn job_seqs(counts: &[u64], last: u64, total: u64) -> Vec<(u64, u64)> {
    let mut seq = last.saturating_sub(total);
    counts
        .iter()
        .map(|&n| {
            seq += n;
            (if n == 0 { 0 } else { seq }, n)
        })
        .collect()
}
