//! The redb store: one file under the state directory, a schema version that a newer binary
//! migrates and an older one refuses, consistent backups while serving, restore, and checks.

pub mod backups;
mod guard;
pub mod tables;
pub mod upgrade;

use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    WriteTransaction,
};
use serde::Serialize;

use crate::throttle::Throttle;
use crate::throttled_error;

/// The file name of the store inside the state directory.
pub const DB_FILE_NAME: &str = "callvault.redb";
/// The page cache when the configuration does not say (MiB).
pub const DEFAULT_CACHE_MB: u64 = 128;
/// The most page cache a command other than `serve` gets (MiB): it reads most pages once.
pub const ONE_SHOT_CACHE_MB: u64 = 32;
/// The page cache of a whole-store copy (a backup, an upgrade) while it is read or written
/// (bytes): each page is touched once, and redb's default (1 GiB) would hold them all.
const COPY_CACHE_BYTES: usize = 16 * 1024 * 1024;
static CACHE_BYTES: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(DEFAULT_CACHE_MB * 1024 * 1024);

/// Set the page cache every store opened from now on gets (from `storage.cache_mb`).
pub fn set_cache_mb(mb: u64) {
    CACHE_BYTES.store(
        mb.max(16) * 1024 * 1024,
        std::sync::atomic::Ordering::Relaxed,
    );
}

fn builder() -> redb::Builder {
    let mut b = Database::builder();
    b.set_cache_size(CACHE_BYTES.load(std::sync::atomic::Ordering::Relaxed) as usize);
    // A file not closed cleanly (a crash, a kill, a process that exited with the store still
    // open) is repaired on open, which reads all of it: say so, since it delays the start.
    // A store reopened after a failed write (a full disk) is repaired each time, as often as
    // IVR steps fail: one line a minute then, counting the repairs left unsaid.
    static REPAIRS: Throttle = Throttle::new(Duration::from_secs(60));
    let said = std::sync::atomic::AtomicBool::new(false);
    b.set_repair_callback(move |session| {
        if !said.swap(true, std::sync::atomic::Ordering::Relaxed) {
            crate::throttled!(
                warn,
                REPAIRS,
                progress = session.progress(),
                "the store was not closed cleanly; repairing it before opening (this reads the whole file)"
            );
        }
    });
    b
}

/// The schema this binary writes. Bump it with a migration in [`MIGRATIONS`].
pub const SCHEMA_VERSION: u32 = 4;
const SCHEMA_KEY: &str = "schema_version";
const CREATED_KEY: &str = "created_at";

/// Migrations from version `i + 1` to `i + 2`, run in one write transaction on open.
type Migration = fn(&WriteTransaction) -> Result<(), StoreError>;
const MIGRATIONS: &[Migration] = &[drop_calls_by_ani, number_calls, index_challenges];

/// 1 -> 2: calls are no longer indexed by caller ID in the store; the service keeps that
/// index in memory (`calls::by_ani`), built from the calls table when it starts.
fn drop_calls_by_ani(txn: &WriteTransaction) -> Result<(), StoreError> {
    const CALLS_BY_ANI: redb::TableDefinition<(&str, &str), i64> =
        redb::TableDefinition::new("calls_by_ani");
    txn.delete_table(CALLS_BY_ANI)?;
    Ok(())
}

/// 2 -> 3: calls are stored by a number given in the order they started
/// ([`tables::CALLS`], [`tables::CALL_IDS`]), no longer by the IVR's call id. The stored
/// calls are numbered by their start time, in one pass.
fn number_calls(txn: &WriteTransaction) -> Result<(), StoreError> {
    const OLD_CALLS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("calls");
    /// The two fields the numbering needs; the rest of the row is copied as it is.
    #[derive(serde::Deserialize)]
    struct Started {
        started_at: chrono::DateTime<chrono::Utc>,
        ani: Option<String>,
    }
    let mut found = Vec::new();
    {
        let old = txn.open_table(OLD_CALLS)?;
        for row in old.iter()? {
            let (id, value) = row?;
            let (id, value) = (id.value(), value.value());
            let s: Started = serde_json::from_slice(value)
                .map_err(|e| StoreError::Corrupt(format!("call {id}: {e}")))?;
            found.push((s.started_at, id.to_string(), s.ani, value.to_vec()));
        }
    }
    found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut rows = txn.open_table(tables::CALLS)?;
    let mut ids = txn.open_table(tables::CALL_IDS)?;
    for (number, (_, id, ani, value)) in (1u64..).zip(&found) {
        rows.insert(number, value.as_slice())?;
        ids.insert(number, (id.as_str(), ani.as_deref().unwrap_or("")))?;
    }
    drop((rows, ids));
    txn.delete_table(OLD_CALLS)?;
    if !found.is_empty() {
        tracing::info!(
            calls = found.len(),
            "numbered the stored calls in the order they started"
        );
    }
    Ok(())
}

/// 3 -> 4: each call's challenges are listed in [`tables::CALL_CHALLENGES`], for the
/// agent's screen pop; the challenges stored before are listed under their calls.
fn index_challenges(txn: &WriteTransaction) -> Result<(), StoreError> {
    /// The one field the listing needs.
    #[derive(serde::Deserialize)]
    struct OfCall {
        call_id: String,
    }
    let challenges = txn.open_table(tables::CHALLENGES)?;
    let mut listed = txn.open_table(tables::CALL_CHALLENGES)?;
    for row in challenges.iter()? {
        let (id, value) = row?;
        let c: OfCall = serde_json::from_slice(value.value())
            .map_err(|e| StoreError::Corrupt(format!("challenge {}: {e}", id.value())))?;
        listed.insert((c.call_id.as_str(), id.value()), ())?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store {path} is in use by another process (is `callvault serve` running? \
         commands go through it when it is)"
    )]
    InUse { path: PathBuf },
    #[error(
        "the store {path} has schema version {found}, newer than this callvault supports \
         ({supported}); install the newer callvault again or restore a backup made by this one"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("cannot upgrade the store {path} from redb's file format 2: {error}")]
    Upgrade { path: PathBuf, error: String },
    #[error("the service is stopping")]
    Stopping,
    /// An offline command was interrupted (Ctrl-C, SIGTERM, SIGHUP): it stopped where it could
    /// stop safely, and the store was closed cleanly.
    #[error("interrupted before the end")]
    Interrupted,
    #[error("no migration from schema version {from}")]
    NoMigration { from: u32 },
    #[error("the store is damaged: {0}")]
    Corrupt(String),
    #[error("{path} is not a callvault store (not a redb file)")]
    NotAStore { path: PathBuf },
    /// A store file that redb or the logical check cannot read through: found on opening it
    /// (`serve`, `init`), in an offline `db check`, or in a backup `db restore` checks.
    #[error("{path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error(
        "cannot open the store {path}: {error}; it must belong to the user callvault runs as \
         (`chown callvault: {path}` when installed)"
    )]
    NotPermitted { path: PathBuf, error: io::Error },
    #[error("{action} {path}: {error}")]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    #[error(
        "cannot open the store {path} for writing: {READ_ONLY}; the disk needs repair before \
         callvault can write to it. To read the store meanwhile, copy callvault.redb to \
         another disk and name the copy's folder, as in \
         `CALLVAULT__STORAGE__STATE_DIR=DIR callvault db check`"
    )]
    ReadOnlyFs { path: PathBuf },
    #[error(
        "the store {path} is closed after a failed write ({cause}) and is being reopened; \
         last try: {last_try}"
    )]
    Closed {
        path: PathBuf,
        cause: &'static str,
        last_try: String,
    },
    #[error("store: {0}")]
    Redb(Box<redb::Error>),
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        StoreError::Redb(Box::new(e))
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Redb(Box::new(e.into()))
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::DatabaseError
);

/// `From` each redb error for an error enum that wraps [`StoreError`] (it has
/// `From<StoreError>`), so `?` works on redb's calls there as on the store's.
macro_rules! redb_errors_via_store {
    ($target:ty) => {
        $crate::store::redb_errors_via_store!(
            $target:
            redb::TransactionError,
            redb::TableError,
            redb::StorageError,
            redb::CommitError
        );
    };
    ($target:ty: $($t:ty),*) => {$(
        impl From<$t> for $target {
            fn from(e: $t) -> Self {
                <$target>::from($crate::store::StoreError::from(e))
            }
        }
    )*};
}
pub(crate) use redb_errors_via_store;

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |error| StoreError::Io {
        action,
        path: path.to_path_buf(),
        error,
    }
}

/// How the store's file is opened again after a failed write: the file itself, or in tests a
/// backend that can fail on demand.
type Opener = Box<dyn Fn() -> Result<Database, redb::DatabaseError> + Send + Sync>;

/// How often a closed store's file is tried again.
const REOPEN_EVERY: Duration = Duration::from_secs(1);

/// The counter of the store's reopenings after failed writes.
pub const REOPENS: &str = "callvault_store_reopens_total";

/// The file system holding the store, as statvfs tells it.
#[derive(Debug, Clone, Copy)]
struct FileSystem {
    read_only: bool,
    /// Bytes free to this process.
    free: u64,
}

/// The open store.
///
/// Once a write fails on an I/O error (a full disk, say), redb refuses every later write
/// until the file is closed and opened again. The first writer that meets that refusal
/// closes the file, and a thread of its own (`store-reopen`) tries to open it again every
/// second until it opens: redb then recovers the last committed state, and the service goes
/// on without a restart once the disk has room. While it is closed, every read and write
/// fails at once with [`StoreError::Closed`], and `/readyz` says so.
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    db: ArcSwapOption<Database>,
    path: PathBuf,
    reopen: Opener,
    /// Why the last try to reopen failed.
    last_error: Mutex<Option<String>>,
    /// The kind of the last I/O error met on the file (a failed write, a failed reopen), for
    /// [`Store::write_failure_cause`].
    last_io: Mutex<Option<io::ErrorKind>>,
    /// A write failed on an I/O error, and none has succeeded since.
    write_failed: AtomicBool,
    /// A [`Store::probe`] is under way.
    probing: AtomicBool,
    /// The service is stopping: long scans give up (see [`Store::stop_scans`]).
    stopping: AtomicBool,
    /// The offline command using the store was interrupted ([`Store::interrupt`]).
    interrupted: AtomicBool,
    /// Held while the file is closed, so that only the file that failed is closed.
    closing: Mutex<()>,
    /// Long work on the store in flight ([`Store::work`]): an inbox run, a command through
    /// the admin socket. The stop waits for it ([`Store::wait_for_work`]).
    work: (Mutex<usize>, std::sync::Condvar),
    /// Counts changes to the API keys table (and reopens of the file), so that the keys held
    /// in memory for checking requests ([`crate::keys::KeyRing`]) know when to read it again.
    keys_generation: AtomicU64,
}

impl Shared {
    /// What the disk says about the failed write ([`failure_cause`]).
    fn cause(&self) -> &'static str {
        let kind = self.last_io.lock().ok().and_then(|k| *k);
        let fs = self.file_system();
        failure_cause(kind, fs.map(|f| f.read_only), fs.map(|f| f.free))
    }

    /// What the file system holding the store says of itself, if it can be asked.
    fn file_system(&self) -> Option<FileSystem> {
        let st = rustix::fs::statvfs(self.path.parent()?).ok()?;
        Some(FileSystem {
            read_only: st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
            free: st.f_bavail.saturating_mul(st.f_frsize),
        })
    }

    /// Forget the last I/O error: a write succeeded.
    fn met_none(&self) {
        if let Ok(mut last) = self.last_io.lock() {
            *last = None;
        }
    }

    /// Note the kind of an I/O error met on the file.
    fn met(&self, kind: Option<io::ErrorKind>) {
        if let (Some(kind), Ok(mut last)) = (kind, self.last_io.lock()) {
            *last = Some(kind);
        }
    }

    fn closed(&self) -> StoreError {
        let last = self.last_error.lock().ok().and_then(|e| e.clone());
        StoreError::Closed {
            path: self.path.clone(),
            cause: self.cause(),
            last_try: last.unwrap_or_else(|| "in progress".into()),
        }
    }

    /// Close `failed` after a write to it failed on an I/O error (redb then refuses every
    /// later write until the file is opened again), and start reopening it. Nothing is done
    /// if the store has already closed it, or has reopened it since: only the file that
    /// failed is closed. It closes for good once the transactions still running on it end.
    fn close(self: &Arc<Self>, failed: &Arc<Database>) {
        let Ok(_closing) = self.closing.lock() else {
            return;
        };
        let current = self.db.load();
        if !current.as_ref().is_some_and(|db| Arc::ptr_eq(db, failed)) {
            return;
        }
        drop(current);
        self.write_failed.store(true, Ordering::Relaxed);
        self.db.store(None);
        // On a full disk the file reopens at once and the next write fails again: a close
        // per IVR step.
        static LOGGED: Throttle = Throttle::new(Duration::from_secs(1));
        throttled_error!(
            LOGGED,
            store = %self.path.display(),
            cause = self.cause(),
            "a write to the store failed; closing it to open it again"
        );
        metrics::counter!(REOPENS).increment(1);
        let shared = self.clone();
        let spawned = std::thread::Builder::new()
            .name("store-reopen".into())
            .spawn(move || shared.reopen_until_open());
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the thread that reopens the store");
        }
    }

    /// Try to open the file until it opens. The old file's last transactions must end
    /// first (redb holds a lock on it until then).
    fn reopen_until_open(&self) {
        loop {
            match (self.reopen)() {
                Ok(db) => {
                    self.db.store(Some(Arc::new(db)));
                    // a key change whose commit reported an I/O error may have landed
                    self.keys_generation.fetch_add(1, Ordering::AcqRel);
                    if let Ok(mut e) = self.last_error.lock() {
                        *e = None;
                    }
                    // On a full disk the next write fails again, and so on: the line that
                    // matters, that writes succeed again, is `WriteTxn::commit`'s.
                    static REOPENED: Throttle = Throttle::new(Duration::from_secs(1));
                    crate::throttled!(info, REOPENED, store = %self.path.display(), "the store is open again");
                    return;
                }
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(err) => {
                    if let redb::DatabaseError::Storage(redb::StorageError::Io(e)) = &err {
                        self.met(Some(e.kind()));
                    }
                    let text = err.to_string();
                    if let Ok(mut last) = self.last_error.lock() {
                        if last.as_deref() != Some(text.as_str()) {
                            tracing::warn!(store = %self.path.display(), error = %text, "cannot reopen the store yet; trying again every second");
                        }
                        *last = Some(text);
                    }
                    std::thread::sleep(REOPEN_EVERY);
                }
            }
        }
    }
}

/// Long work on the store in flight, counted until dropped ([`Store::work`]).
pub struct Work {
    shared: Arc<Shared>,
}

impl Drop for Work {
    fn drop(&mut self) {
        let (count, ended) = &self.shared.work;
        let mut n = count.lock().unwrap_or_else(PoisonError::into_inner);
        *n = n.saturating_sub(1);
        if *n == 0 {
            ended.notify_all();
        }
    }
}

/// A write transaction on the store. It derefs to redb's, and [`WriteTxn::commit`] (or
/// [`WriteTxn::failed`], for an error met before the commit) closes and reopens the store's
/// file when the error was an I/O error, so nothing waits on a file redb will no longer
/// write.
pub struct WriteTxn {
    txn: WriteTransaction,
    /// The file this transaction writes (the store may have reopened another since).
    db: Arc<Database>,
    shared: Arc<Shared>,
}

impl std::ops::Deref for WriteTxn {
    type Target = WriteTransaction;
    fn deref(&self) -> &WriteTransaction {
        &self.txn
    }
}

impl WriteTxn {
    pub fn commit(self) -> Result<(), StoreError> {
        match self.txn.commit() {
            Ok(()) => {
                if self.shared.write_failed.load(Ordering::Relaxed)
                    && self.shared.write_failed.swap(false, Ordering::Relaxed)
                {
                    self.shared.met_none();
                    tracing::info!(
                        store = %self.shared.path.display(),
                        "a write to the store succeeded again, after failed ones"
                    );
                }
                Ok(())
            }
            Err(e) => {
                let e = StoreError::from(e);
                if is_io(&e) {
                    self.shared.met(io_kind(&e));
                    self.shared.close(&self.db);
                }
                Err(e)
            }
        }
    }

    /// Abort: nothing of the transaction is written (a dry run, say).
    pub fn abort(self) -> Result<(), StoreError> {
        Ok(self.txn.abort()?)
    }

    /// Abort after `e`, closing the store's file if `e` was an I/O error on it.
    pub fn failed(self, e: &StoreError) {
        if is_io(e) {
            self.shared.met(io_kind(e));
            self.shared.close(&self.db);
        }
    }
}

/// Whether `e` says the store's file failed to read or write.
fn is_io(e: &StoreError) -> bool {
    matches!(e, StoreError::Redb(r) if matches!(**r, redb::Error::Io(_) | redb::Error::PreviousIo))
}

/// What `db check` found.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct CheckReport {
    pub schema_version: u32,
    /// Whether redb's page-level integrity check ran (it needs the file to itself).
    pub integrity_checked: bool,
    pub api_keys: u64,
    /// Enrolled members (embedded core), each record decoded.
    #[serde(default)]
    pub members: u64,
    pub audit_records: u64,
    pub audit_chain: crate::audit::VerifyReport,
    /// The last record pruned (`audit prune`), which the chain goes on from.
    #[serde(default)]
    pub audit_base: Option<crate::audit::Anchor>,
    /// Deleted members whose PINs are still to be forgotten (a run stopped after it
    /// committed; the next run finishes it).
    #[serde(default)]
    pub members_to_forget: u64,
}

impl CheckReport {
    /// Whether the check found nothing wrong (tests; `db check` says what it found through
    /// the chain's own report, and exits by it).
    #[cfg(test)]
    pub fn ok(&self) -> bool {
        self.audit_chain.first_bad.is_none()
    }
}

/// What `db backup` wrote.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
}

impl Store {
    /// Open (or create) the store in `state_dir`, creating the directory (0700) if needed.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        create_private_dir(state_dir)?;
        Self::open_file(&state_dir.join(DB_FILE_NAME))
    }

    /// Open (or create) a store file directly. A file redb cannot read through (even one
    /// that makes it panic) is [`StoreError::Damaged`].
    pub fn open_file(path: &Path) -> Result<Store, StoreError> {
        damage_named(path, guard::catching(|| Self::open_unguarded(path)))
    }

    fn open_unguarded(path: &Path) -> Result<Store, StoreError> {
        let db = match builder().create(path) {
            Err(e) if upgrade::needs_upgrade(&e) => {
                upgrade::upgrade_file(path, true)?;
                builder().create(path)
            }
            opened => opened,
        };
        let db = db.map_err(|e| open_error(path, e))?;
        set_mode(path, 0o600)?;
        let again = path.to_path_buf();
        let store = Store::with_opener(db, path, Box::new(move || builder().open(&again)));
        store.prepare_schema()?;
        Ok(store)
    }

    fn with_opener(db: Database, path: &Path, reopen: Opener) -> Store {
        Store {
            shared: Arc::new(Shared {
                db: ArcSwapOption::new(Some(Arc::new(db))),
                path: path.to_path_buf(),
                reopen,
                last_error: Mutex::new(None),
                last_io: Mutex::new(None),
                write_failed: AtomicBool::new(false),
                probing: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                interrupted: AtomicBool::new(false),
                closing: Mutex::new(()),
                keys_generation: AtomicU64::new(0),
                work: (Mutex::new(0), std::sync::Condvar::new()),
            }),
        }
    }

    fn prepare_schema(&self) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        let found = {
            let meta = txn.open_table(tables::META)?;
            let found = meta.get(SCHEMA_KEY)?.map(|v| decode_u32(v.value()));
            found.transpose()?
        };
        match found {
            None => {
                tables::create_all(&txn)?;
                let mut meta = txn.open_table(tables::META)?;
                meta.insert(SCHEMA_KEY, SCHEMA_VERSION.to_le_bytes().as_slice())?;
                let now = chrono::Utc::now().to_rfc3339();
                meta.insert(CREATED_KEY, now.as_bytes())?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    path: self.shared.path.clone(),
                    found: v,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(v) => {
                for from in v..SCHEMA_VERSION {
                    let step = MIGRATIONS
                        .get((from - 1) as usize)
                        .ok_or(StoreError::NoMigration { from })?;
                    step(&txn)?;
                    tracing::info!(from, to = from + 1, "migrated the store schema");
                }
                tables::create_all(&txn)?;
                let mut meta = txn.open_table(tables::META)?;
                meta.insert(SCHEMA_KEY, SCHEMA_VERSION.to_le_bytes().as_slice())?;
            }
        }
        // An enrollment that crashed before its swap left its staging tables: no run is
        // under way while the file is being opened.
        if tables::drop_staging(&txn)? {
            tracing::info!("dropped the staging tables of an enrollment run that did not finish");
        }
        txn.commit()
    }

    /// Tell long scans of the store (the sweep's, the caller-ID index's) to give up: the
    /// service is stopping. A scan still reading when the process exits would leave the
    /// file not closed cleanly, and the next start would repair it, reading all of it.
    pub fn stop_scans(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
    }

    /// The offline command using the store was interrupted (Ctrl-C): long work stops where it
    /// safely can, as it does when the service stops ([`Store::stop_scans`]), so that the
    /// store is closed cleanly rather than left to be repaired on its next opening.
    pub fn interrupt(&self) {
        self.shared.interrupted.store(true, Ordering::SeqCst);
        self.shared.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether [`Store::stop_scans`] or [`Store::interrupt`] was called: a long scan checks
    /// it as it goes.
    pub fn scans_stopped(&self) -> bool {
        self.shared.stopping.load(Ordering::Relaxed)
    }

    /// Why long work stops, once [`Store::scans_stopped`]: [`StoreError::Interrupted`] or
    /// [`StoreError::Stopping`].
    pub fn stop_error(&self) -> StoreError {
        match self.shared.interrupted.load(Ordering::Relaxed) {
            true => StoreError::Interrupted,
            false => StoreError::Stopping,
        }
    }

    /// `Err` with [`Store::stop_error`] once long work should stop: for a walk to check as it
    /// goes (`store.go_on()?`).
    pub fn go_on(&self) -> Result<(), StoreError> {
        match self.scans_stopped() {
            true => Err(self.stop_error()),
            false => Ok(()),
        }
    }

    /// Count long work on the store (an inbox run, a command through the admin socket) until
    /// the guard drops: the service's stop waits for it before it records that it stopped,
    /// so nothing is written after that record. Take it before handing the work to a
    /// thread, and check [`Store::scans_stopped`] where the work can stop between
    /// transactions.
    pub fn work(&self) -> Work {
        let (count, _) = &self.shared.work;
        *count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Work {
            shared: self.shared.clone(),
        }
    }

    /// Wait until no [`Store::work`] is in flight, or `timeout` has passed: whether it all
    /// ended.
    pub fn wait_for_work(&self, timeout: Duration) -> bool {
        let (count, ended) = &self.shared.work;
        let guard = count.lock().unwrap_or_else(PoisonError::into_inner);
        let (left, _) = ended
            .wait_timeout_while(guard, timeout, |n| *n > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *left == 0
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Which version of the API keys table the store holds: it changes whenever
    /// [`Store::keys_changed`] is called and whenever the file is opened again.
    pub fn keys_generation(&self) -> u64 {
        self.shared.keys_generation.load(Ordering::Acquire)
    }

    /// A write to the API keys table has ended (committed or not): keys held in memory must
    /// be read again.
    pub fn keys_changed(&self) {
        self.shared.keys_generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        match self.shared.db.load().as_ref() {
            Some(db) => Ok(db.begin_read()?),
            None => Err(self.shared.closed()),
        }
    }

    /// A write transaction. When redb refuses it because an earlier write failed on an I/O
    /// error, the store is closed and reopened in the background.
    pub fn begin_write(&self) -> Result<WriteTxn, StoreError> {
        let db = match self.shared.db.load().as_ref() {
            Some(db) => Arc::clone(db),
            None => return Err(self.shared.closed()),
        };
        match db.begin_write() {
            Ok(txn) => Ok(WriteTxn {
                txn,
                db,
                shared: self.shared.clone(),
            }),
            Err(redb::TransactionError::Storage(redb::StorageError::PreviousIo)) => {
                self.shared.close(&db);
                Err(self.shared.closed())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Bytes free (to this process) on the filesystem holding the store, if it can be told.
    pub fn free_bytes(&self) -> Option<u64> {
        self.shared.file_system().map(|f| f.free)
    }

    /// Write an empty transaction, to learn whether the store can be written again after a
    /// failed write (a quiet service may have nothing else to write). Success clears
    /// [`Store::fault`]. One probe at a time: callers that find one under way return at
    /// once.
    pub fn probe(&self) -> Result<(), StoreError> {
        if self.shared.probing.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let result = self.begin_write().and_then(WriteTxn::commit);
        self.shared.probing.store(false, Ordering::Release);
        result
    }

    /// What the store's disk says about a failed write: a read-only file system, a full
    /// disk, or neither (for `/readyz`).
    pub fn write_failure_cause(&self) -> &'static str {
        self.shared.cause()
    }

    /// Why the store is not fit to serve: closed after a failed write and not yet reopened,
    /// or reopened but with no write succeeding since (the disk may still be full).
    pub fn fault(&self) -> Option<String> {
        if self.shared.db.load().is_none() {
            return Some(self.shared.closed().to_string());
        }
        self.shared.write_failed.load(Ordering::Relaxed).then(|| {
            format!(
                "the last write to the store {} failed ({}), and none has succeeded since",
                self.shared.path.display(),
                self.shared.cause()
            )
        })
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let txn = self.begin_read()?;
        let meta = txn.open_table(tables::META)?;
        let v = meta.get(SCHEMA_KEY)?;
        match v {
            Some(v) => decode_u32(v.value()),
            None => Err(StoreError::Corrupt("no schema version recorded".into())),
        }
    }

    /// A consistent copy of every table, taken from one read snapshot, so it is safe while
    /// the service is writing. The copy is written beside `dest` and renamed into place.
    /// Refused when the copy could leave less than `keep_free` bytes on the store's own disk
    /// (`storage.min_free_mb`: a backup there must not fill it), or would not fit on
    /// another.
    pub fn backup_to(&self, dest: &Path, keep_free: u64) -> Result<BackupReport, StoreError> {
        self.backup_to_with(dest, keep_free, &crate::enroll::progress::Silent)
    }

    /// [`Store::backup_to`], telling `progress` how far the copy is (phase `backing up`, in
    /// rows). The copy stops part way, and is removed, once `progress` or the store says
    /// not to go on (Ctrl-C, the service stopping).
    pub fn backup_to_with(
        &self,
        dest: &Path,
        keep_free: u64,
        progress: &dyn crate::enroll::Progress,
    ) -> Result<BackupReport, StoreError> {
        let refuse = |error: &str| StoreError::Io {
            action: "cannot write the backup to",
            path: dest.to_path_buf(),
            error: io::Error::other(error.to_string()),
        };
        if dest.is_dir() {
            return Err(refuse("it is a folder (name a new file in it)"));
        }
        if dest.exists() {
            return Err(StoreError::Io {
                action: "refusing to overwrite",
                path: dest.to_path_buf(),
                error: io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "the file exists (name a new file, or remove this one first)",
                ),
            });
        }
        let dir = folder_of(dest);
        if !dir.is_dir() {
            return Err(StoreError::Io {
                action: "cannot write the backup to",
                path: dest.to_path_buf(),
                error: io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("the folder {} does not exist", dir.display()),
                ),
            });
        }
        let copy_at_most = fs::metadata(self.path()).map(|m| m.len()).unwrap_or(0);
        // the reserve is the store's disk's: another disk needs room for the copy only
        let device = |p: &Path| fs::metadata(p).map(|m| std::os::unix::fs::MetadataExt::dev(&m));
        let store_dir = folder_of(self.path());
        let keep_free = match (device(dir), device(store_dir)) {
            (Ok(a), Ok(b)) if a != b => 0,
            _ => keep_free,
        };
        if let Ok(st) = rustix::fs::statvfs(dir) {
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            if let Err(why) = room_for_copy(free, copy_at_most, keep_free) {
                return Err(refuse(&why));
            }
        }
        let tmp = dest.with_extension("partial");
        let _ = fs::remove_file(&tmp);
        let copied = (|| -> Result<u64, StoreError> {
            let snapshot = self.begin_read()?;
            // Created private: the copy holds members' facts, and a file made with the
            // umask's mode and narrowed afterwards could be opened by others meanwhile.
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io_err("cannot create the backup", &tmp))?;
            // A small cache: the copy is written once and never read back here, and the
            // default would hold a large store's every page in the service's memory.
            let copy = redb::Builder::new()
                .set_cache_size(COPY_CACHE_BYTES)
                .create_with_backend(redb::backends::FileBackend::new(file)?)?;
            let txn = copy.begin_write()?;
            let progress = crate::enroll::progress::Stoppable::new(progress, || self.go_on());
            let rows = tables::copy_all(&snapshot, &txn, &progress)?;
            txn.commit()?;
            // Rows inserted in key order leave redb's pages about half full: compacted, a
            // copy of 1,000,000 audit records is 331 MiB instead of 523 (1.1 s more).
            let mut copy = copy;
            copy.compact().map_err(redb::Error::from)?;
            Ok(rows)
        })();
        // a copy cut short (a full disk, Ctrl-C, the service stopping) is no backup
        let rows = copied.inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })?;
        fs::rename(&tmp, dest).map_err(io_err("cannot move the backup to", dest))?;
        sync_dir(dir)?;
        let bytes = fs::metadata(dest)
            .map_err(io_err("cannot stat", dest))?
            .len();
        // for /metrics; the copy is made whether or not this is noted
        if let Err(e) = backups::mark_written(self, chrono::Utc::now()) {
            tracing::warn!(error = %e, "a backup was written, but the store could not note when");
        }
        Ok(BackupReport {
            path: dest.to_path_buf(),
            rows,
            bytes,
        })
    }

    /// Logical check: schema, every record decodes, the audit chain holds.
    pub fn check(&self) -> Result<CheckReport, StoreError> {
        self.check_with(&crate::enroll::progress::Silent)
    }

    /// [`Store::check`], telling `progress` how far it is: the members read (phase
    /// `reading`), then the audit records verified (`verifying`).
    pub fn check_with(
        &self,
        progress: &dyn crate::enroll::Progress,
    ) -> Result<CheckReport, StoreError> {
        let schema_version = self.schema_version()?;
        let txn = self.begin_read()?;
        let keys = txn.open_table(tables::API_KEYS)?;
        let mut api_keys = 0;
        for entry in keys.iter()? {
            let (id, value) = entry?;
            crate::keys::StoredKey::decode(value.value())
                .map_err(|e| StoreError::Corrupt(format!("api key {}: {e}", id.value())))?;
            api_keys += 1;
        }
        let mut members: u64 = 0;
        let table = txn.open_table(tables::MEMBERS)?;
        progress.phase("reading", table.len()?);
        for entry in table.iter()? {
            let (id, value) = entry?;
            crate::core::embedded::decode(id.value(), value.value())?;
            members += 1;
            if members.is_multiple_of(65_536) {
                progress.advance_to(members);
                progress.go_on()?;
            }
        }
        let audit_records = txn.open_table(tables::AUDIT)?.len()?;
        let audit_chain = crate::audit::verify_with(&txn, progress)?;
        Ok(CheckReport {
            schema_version,
            integrity_checked: false,
            api_keys,
            members,
            audit_records,
            audit_chain,
            audit_base: crate::audit::anchor::base(&txn)?,
            members_to_forget: crate::enroll::forget::queued(&txn)?,
        })
    }
}

/// `db check` without a running service: redb's own page-level check, then the logical one.
pub fn check_offline(path: &Path) -> Result<CheckReport, StoreError> {
    check_offline_with(path, &crate::enroll::progress::Silent)
}

/// [`check_offline`], telling `progress` how far the logical check is ([`Store::check_with`]).
pub fn check_offline_with(
    path: &Path,
    progress: &dyn crate::enroll::Progress,
) -> Result<CheckReport, StoreError> {
    check_offline_keeping(path, true, progress)
}

/// As [`check_offline`]; a store in redb's file format 2 is upgraded first, and the file from
/// before kept only with `keep`. A file redb or the logical check cannot read through (even
/// one that makes redb panic) is [`StoreError::Damaged`].
fn check_offline_keeping(
    path: &Path,
    keep: bool,
    progress: &dyn crate::enroll::Progress,
) -> Result<CheckReport, StoreError> {
    damage_named(path, guard::catching(|| check_file(path, keep, progress)))
}

/// What reading `path` gave, with redb's panic, redb's `Corrupted` and the logical check's
/// `Corrupt` all as [`StoreError::Damaged`] naming the file.
fn damage_named<T>(
    path: &Path,
    read: Result<Result<T, StoreError>, String>,
) -> Result<T, StoreError> {
    let damaged = |reason| StoreError::Damaged {
        path: path.to_path_buf(),
        reason,
    };
    match read {
        Err(panic) => Err(damaged(format!("redb stopped on a damaged page ({panic})"))),
        Ok(Err(StoreError::Corrupt(reason))) => Err(damaged(reason)),
        Ok(Err(StoreError::Redb(e))) => match *e {
            redb::Error::Corrupted(reason) => {
                Err(damaged(format!("redb found a damaged page ({reason})")))
            }
            e => Err(e.into()),
        },
        Ok(read) => read,
    }
}

/// Open the file at `path` as the only one using it (the service stopped), upgraded to
/// this version's format if it is older (`keep`: keep the file as it was beside it).
fn open_offline(path: &Path, keep: bool) -> Result<Database, StoreError> {
    let db = match builder().open(path) {
        Err(e) if upgrade::needs_upgrade(&e) => {
            upgrade::upgrade_file(path, keep)?;
            builder().open(path)
        }
        opened => opened,
    };
    db.map_err(|e| open_error(path, e))
}

fn check_file(
    path: &Path,
    keep: bool,
    progress: &dyn crate::enroll::Progress,
) -> Result<CheckReport, StoreError> {
    let mut db = open_offline(path, keep)?;
    let intact = db.check_integrity()?;
    if !intact {
        return Err(StoreError::Corrupt(
            "redb's page-level check failed (the file was repaired in place; restore a backup)"
                .into(),
        ));
    }
    drop(db);
    let store = Store::open_file(path)?;
    let mut report = store.check_with(progress)?;
    report.integrity_checked = true;
    Ok(report)
}

/// What `db compact` did: the store file's size before and after, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    pub before: u64,
    pub after: u64,
}

/// Give the store file's free pages back to the disk (the service stopped). A prune or a
/// run that removed many members frees pages that later writes reuse, but the file shrinks
/// only by those at its end: 1,000,000 records pruned left a 282 MB file holding 13. redb
/// moves the pages in use to the front and cuts the file after them, in transactions, so
/// a crash half-way leaves a whole store.
pub fn compact(path: &Path) -> Result<Compacted, StoreError> {
    let size = |p: &Path| {
        fs::metadata(p)
            .map(|m| m.len())
            .map_err(io_err("cannot read the size of", p))
    };
    let before = size(path)?;
    // a store in an older file format is upgraded first, its old file kept beside it, as
    // the service's first start does
    let mut db = open_offline(path, true)?;
    db.compact().map_err(redb::Error::from)?;
    drop(db);
    // it opens as a store, as it did before
    drop(Store::open_file(path)?);
    Ok(Compacted {
        before,
        after: size(path)?,
    })
}

/// Replace the store in `state_dir` with the backup at `backup`. The backup is checked first
/// (schema, records, audit chain); the current file is kept as `callvault.redb.before-restore`.
/// The service must not be running.
pub fn restore(state_dir: &Path, backup: &Path) -> Result<CheckReport, StoreError> {
    restore_with(state_dir, backup, &crate::enroll::progress::Silent).map(|r| r.check)
}

/// What `db restore` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    /// The backup's check.
    pub check: CheckReport,
    /// The replaced store's keys revoked since the backup (kept revoked) and made since it
    /// (not in it); or why the replaced store's keys could not be read.
    pub keys: Result<crate::keys::restored::Carried, String>,
}

/// [`restore`], telling `progress` how far the backup's check is. Every API key revoked in
/// the replaced store stays revoked in the restored one ([`crate::keys::restored`]).
pub fn restore_with(
    state_dir: &Path,
    backup: &Path,
    progress: &dyn crate::enroll::Progress,
) -> Result<Restored, StoreError> {
    let not_readable = |error| StoreError::Io {
        action: "cannot read the backup",
        path: backup.to_path_buf(),
        error,
    };
    match fs::metadata(backup) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(not_readable(io::Error::other("it is not a file"))),
        Err(e) => return Err(not_readable(e)),
    }
    create_private_dir(state_dir)?;
    let live = state_dir.join(DB_FILE_NAME);
    let staged = state_dir.join(format!("{DB_FILE_NAME}.restoring"));
    let _ = fs::remove_file(&staged);
    fs::copy(backup, &staged).map_err(io_err("cannot copy the backup to", &staged))?;
    set_mode(&staged, 0o600)?;
    // owned as the store it replaces is (or as its folder, for a first one)
    let owner = if live.exists() { &live } else { state_dir };
    same_owner_as(owner, &staged)
        .map_err(io_err("cannot give the restored store its owner", &staged))?;
    // a backup made by a callvault before 0.2 is upgraded here; the backup itself is untouched
    let checked = check_offline_keeping(&staged, false, progress);
    let checked = checked.and_then(|report| match &report.audit_chain.first_bad {
        Some(bad) => Err(StoreError::Damaged {
            path: staged.clone(),
            reason: format!(
                "its audit chain is broken at record {} ({})",
                bad.seq, bad.reason
            ),
        }),
        None => Ok(report),
    });
    let report = match checked {
        Ok(report) => report,
        Err(e) => {
            let _ = fs::remove_file(&staged);
            // named as the admin gave it, not as the copy being checked
            let path = backup.to_path_buf();
            return Err(match e {
                StoreError::NotAStore { .. } => StoreError::NotAStore { path },
                StoreError::Damaged { reason, .. } => StoreError::Damaged { path, reason },
                StoreError::SchemaTooNew {
                    found, supported, ..
                } => StoreError::SchemaTooNew {
                    path,
                    found,
                    supported,
                },
                StoreError::Upgrade { error, .. } => StoreError::Upgrade { path, error },
                e => e,
            });
        }
    };
    // Taking the live file's lock proves no service has it open while we swap; its keys
    // are read while it is held. No store yet: no key to carry.
    let mut replaced_keys: Result<Vec<crate::keys::KeyInfo>, String> = Ok(Vec::new());
    if live.exists() {
        replaced_keys = match guard::catching(|| Database::open(&live)) {
            Ok(Ok(held)) => (held.begin_read().map_err(|e| e.to_string()))
                .and_then(|txn| crate::keys::list(&txn).map_err(|e| e.to_string())),
            Ok(Err(redb::DatabaseError::DatabaseAlreadyOpen)) => {
                return Err(StoreError::InUse { path: live.clone() });
            }
            // a live file in format 2 (restoring before the first start of this version)
            Ok(Err(e)) if upgrade::needs_upgrade(&e) => match redb2::Database::open(&live) {
                Ok(_) => Err("it is in redb's file format 2".to_string()),
                Err(redb2::DatabaseError::DatabaseAlreadyOpen) => {
                    return Err(StoreError::InUse { path: live.clone() });
                }
                Err(e) => {
                    return Err(StoreError::Upgrade {
                        path: live.clone(),
                        error: e.to_string(),
                    });
                }
            },
            // damaged, or not a store at all: the usual reason for a restore. It is
            // replaced all the same (and kept beside), but its keys cannot be read.
            Ok(Err(e)) => Err(e.to_string()),
            Err(panic) => Err(format!("redb stopped on a damaged page ({panic})")),
        };
    }
    let keys = match replaced_keys.map(|keys| keep_revocations(&staged, &keys)) {
        Ok(Err(e)) => {
            let _ = fs::remove_file(&staged);
            return Err(e);
        }
        Ok(Ok(carried)) => Ok(carried),
        Err(unread) => Err(unread),
    };
    if live.exists() {
        let kept = state_dir.join(format!("{DB_FILE_NAME}.before-restore"));
        fs::rename(&live, &kept).map_err(io_err("cannot keep the current store as", &kept))?;
    }
    fs::rename(&staged, &live).map_err(io_err("cannot move the restored store to", &live))?;
    sync_dir(state_dir)?;
    Ok(Restored {
        check: report,
        keys,
    })
}

/// In the backup being restored (`staged`), the replaced store's revocations kept.
fn keep_revocations(
    staged: &Path,
    replaced: &[crate::keys::KeyInfo],
) -> Result<crate::keys::restored::Carried, StoreError> {
    let store = Store::open_file(staged)?;
    crate::keys::restored::keep_revocations(&store, replaced, "cli", chrono::Utc::now())
}

fn decode_u32(bytes: &[u8]) -> Result<u32, StoreError> {
    let arr: [u8; 4] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("schema version is not 4 bytes".into()))?;
    Ok(u32::from_le_bytes(arr))
}

/// Create a directory (and parents) readable by its owner only.
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err("cannot create directory", dir))
}

/// The folder a file goes in: its parent, or the working directory for a bare file name.
fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Whether writing `needed` bytes to a disk with `free` leaves `keep_free` (all bytes).
pub fn leaves_room(free: u64, needed: u64, keep_free: u64) -> bool {
    free >= needed.saturating_add(keep_free)
}

/// Whether a copy of a store file of `copy_at_most` bytes (the copy is no larger) fits on a
/// disk with `free` bytes and leaves `keep_free` (0 on a disk other than the store's); if
/// not, why, in words.
fn room_for_copy(free: u64, copy_at_most: u64, keep_free: u64) -> Result<(), String> {
    if leaves_room(free, copy_at_most, keep_free) {
        return Ok(());
    }
    const MIB: u64 = 1024 * 1024;
    let mib = |b: u64| b.div_ceil(MIB);
    if keep_free == 0 {
        return Err(format!(
            "its disk has {} MiB free, less than a copy of the store may take (up to {} MiB)",
            free / MIB,
            mib(copy_at_most)
        ));
    }
    Err(format!(
        "its disk has {} MiB free, and a copy of the store (up to {} MiB) could leave less \
         than storage.min_free_mb ({} MiB), which the service keeps for its own writes; \
         free some space or write to another disk",
        free / MIB,
        mib(copy_at_most),
        keep_free / MIB
    ))
}

/// A read-only file system under the store, how it comes to be and where to look.
const READ_ONLY: &str =
    "its file system is read-only, as the kernel makes one after an error on its disk: see `dmesg`";

/// Less free than this, and a failed write is put down to a full disk.
const FULL_UNDER: u64 = 1024 * 1024;

/// A failed write to the store, in words for the messages that report it: from the kind of
/// the last I/O error met on the file (`kind`), else from what its file system says
/// (`read_only`, `free`; `None` where it could not be asked). Linux 6.x marks an ext4 file
/// system that met an error as `emergency_ro` without the read-only flag statvfs reports,
/// so the error's kind comes first.
fn failure_cause(
    kind: Option<io::ErrorKind>,
    read_only: Option<bool>,
    free: Option<u64>,
) -> &'static str {
    use io::ErrorKind::{QuotaExceeded, ReadOnlyFilesystem, StorageFull};
    match (kind, read_only, free) {
        (Some(ReadOnlyFilesystem), _, _) | (_, Some(true), _) => READ_ONLY,
        (Some(StorageFull | QuotaExceeded), _, _) => "its disk is full",
        (_, _, Some(free)) if free < FULL_UNDER => "its disk is full",
        _ => "a full or failing disk?",
    }
}

/// The kind of I/O error `e` is, if it is one on the store's file.
fn io_kind(e: &StoreError) -> Option<io::ErrorKind> {
    match e {
        StoreError::Redb(r) => match &**r {
            redb::Error::Io(e) => Some(e.kind()),
            _ => None,
        },
        _ => None,
    }
}

/// Why the store file at `path` did not open, in words that say what to do.
fn open_error(path: &Path, e: redb::DatabaseError) -> StoreError {
    let path = path.to_path_buf();
    match e {
        redb::DatabaseError::Storage(redb::StorageError::Io(error))
            if error.kind() == io::ErrorKind::ReadOnlyFilesystem =>
        {
            StoreError::ReadOnlyFs { path }
        }
        // redb's word for a file without its header: an I/O error of kind InvalidData
        redb::DatabaseError::Storage(redb::StorageError::Io(e))
            if e.kind() == io::ErrorKind::InvalidData =>
        {
            StoreError::NotAStore { path }
        }
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse { path },
        redb::DatabaseError::Storage(redb::StorageError::Io(error))
            if error.kind() == io::ErrorKind::PermissionDenied =>
        {
            StoreError::NotPermitted { path, error }
        }
        other => other.into(),
    }
}

/// Give `file` the owner and group of `reference` (the file it replaces, or the folder it
/// goes in), when they differ. root running a command with the service stopped (`db
/// restore`, `vault rotate-key`, the first command after an upgrade) would otherwise leave a
/// file root owns where the service's user must open it, and the service would not start.
/// Only root can give a file away: run by anyone else this does nothing.
pub fn same_owner_as(reference: &Path, file: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let was = fs::metadata(reference)?;
    let is = fs::metadata(file)?;
    if (was.uid(), was.gid()) != (is.uid(), is.gid()) {
        std::os::unix::fs::chown(file, Some(was.uid()), Some(was.gid()))?;
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(io_err("cannot set permissions on", path))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("cannot sync", dir))
}

#[cfg(test)]
pub(crate) mod tests;
