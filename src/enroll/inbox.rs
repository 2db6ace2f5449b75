//! The inbox the service watches: a file dropped there (by SFTP, say) is enrolled once it has
//! settled, its answer goes to the outbox, and it moves to `processed/`. A file with a problem
//! of its own (not UTF-8, no header, ...) moves to `failed/` with `NAME.error.txt` beside it.
//! If callvault itself fails (the store), the file stays in the inbox and is tried again,
//! less often each time it fails ([`Retries`]), and at once when the file changes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::retention::last_change;
use super::{EnrollError, Options, Report, run};
use crate::audit::{AuditEvent, AuditLog, EventKind, Outcome};
use crate::config::EnrollDirs;
use crate::store::{Store, StoreError};

/// What became of one inbox file.
#[derive(Debug)]
pub enum Handled {
    Processed {
        file: PathBuf,
        report: Box<Report>,
    },
    Failed {
        file: PathBuf,
        error: String,
    },
    /// The file stays in the inbox. `applied`: its enrollment was applied and answered, and
    /// only the move to `processed/` failed, so the next try only moves it.
    Retry {
        file: PathBuf,
        error: String,
        applied: Option<Box<Report>>,
    },
    /// The file left the inbox (removed or renamed by hand) after it was listed and before it
    /// was opened: nothing was read, so nothing is answered, audited or retried.
    Gone {
        file: PathBuf,
    },
}

/// A hidden file, or an upload's temporary name in any case (`MEMBERS.CSV.TMP` from a
/// Windows client as `members.csv.tmp`); or, on an inbox shared to Windows or Mac desktops,
/// what a desktop leaves beside the files: Office's owner file while a file is open in Excel
/// (`~$members.csv`), an editor's backup of the file before its edit (`members.csv~`, which
/// taken would enroll the rows as they were), Explorer's `Thumbs.db` and `desktop.ini`; or
/// what a managed file transfer puts beside a file: the marker it writes once the file is
/// whole (`members.csv.done`, `.ok`, `.ready`, `.trg`, often empty), a checksum, a detached
/// signature (`.sig`).
fn ignored(name: &str) -> bool {
    const ENDINGS: [&str; 17] = [
        // an upload in progress
        ".tmp",
        ".part",
        ".partial",
        ".filepart",
        ".crdownload",
        // a transfer's marker that the file beside it is whole
        ".done",
        ".ok",
        ".ready",
        ".trg",
        ".trigger",
        ".flag",
        ".complete",
        // what checks the file beside it
        ".md5",
        ".sha1",
        ".sha256",
        ".sha512",
        ".sig",
    ];
    let name = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || name.ends_with('~')
        || name == "thumbs.db"
        || name == "desktop.ini"
        || ENDINGS.iter().any(|ending| name.ends_with(ending))
}

/// Whether the service's inbox scan would take `file` as it stands: a file directly in
/// `inbox` (the same folder, by its identity, whatever path names it) under a name the
/// scan does not pass over. A file the inbox takes is enrolled by the service by itself,
/// so `callvault enroll` of it would enroll it twice.
pub fn takes(inbox: &Path, file: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(name) = file.file_name() else {
        return false;
    };
    if ignored(&name.to_string_lossy()) {
        return false;
    }
    let folder = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match (std::fs::metadata(folder), std::fs::metadata(inbox)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// What the inbox holds: the files ready to take, and what is there and never taken.
#[derive(Debug, Default)]
pub struct Listing {
    /// Regular, not ignored, unchanged for the settle time. Oldest name first.
    pub files: Vec<PathBuf>,
    /// Entries no scan takes, not hidden, each with why ([`why_passed_over`]).
    pub passed_over: Vec<(PathBuf, &'static str)>,
}

/// Why an inbox entry that is no regular file is never taken, told to whoever put it there.
fn why_passed_over(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a folder in the inbox is not looked into: callvault takes the files at the inbox's \
         top level; move them up"
    } else if kind.is_symlink() {
        "a link in the inbox is not followed: put the file itself there"
    } else {
        "not a regular file; passed over"
    }
}

/// The inbox's [`Listing`] at `now`: the files ready to take are those that have not changed
/// for `settle`.
pub fn list(inbox: &Path, settle: Duration, now: SystemTime) -> std::io::Result<Listing> {
    let mut listing = Listing::default();
    for entry in std::fs::read_dir(inbox)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            // renamed or removed since the listing: an upload's `NAME.part` that became
            // `NAME`, which the next scan finds
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if ignored(&name) {
            continue;
        }
        if !meta.is_file() {
            listing
                .passed_over
                .push((entry.path(), why_passed_over(meta.file_type())));
            continue;
        }
        let settled = last_change(&meta)
            .and_then(|changed| now.duration_since(changed).ok())
            .is_some_and(|age| age >= settle);
        if settled {
            listing.files.push(entry.path());
        }
    }
    listing.files.sort();
    listing.passed_over.sort();
    Ok(listing)
}

/// Move `file` into `dir`, adding a time stamp if that name is taken.
fn move_into(file: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut target = dir.join(&name);
    if target.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f");
        target = dir.join(format!("{name}.{stamp}"));
    }
    move_file(file, &target)?;
    Ok(target)
}

/// Move `from` to `to`, for good once this returns: a rename, its directory synced, or
/// where `to` is on another filesystem (`processed/` on an archive mount, say), a copy made
/// durable under a temporary name, renamed into place, and only then the original removed. A
/// crash in between leaves the file in the inbox.
pub fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    let sync_dir = |path: &Path| match path.parent() {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    };
    match std::fs::rename(from, to) {
        // Moved already: a failed sync is the disk's trouble, not a reason to retry a move.
        Ok(()) => {
            if let Err(e) = sync_dir(to) {
                tracing::warn!(file = %to.display(), error = %e, "moved, but the folder cannot be synced");
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let partial = to.with_file_name(format!(
                ".{}.partial",
                to.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ));
            std::fs::copy(from, &partial)?;
            std::fs::File::open(&partial)?.sync_all()?;
            std::fs::rename(&partial, to)?;
            sync_dir(to)?;
            std::fs::remove_file(from)
        }
        other => other,
    }
}

/// The wait before a file that failed is tried again the first time.
pub const FIRST_RETRY_WAIT: Duration = Duration::from_secs(30);
/// The longest wait before a failing file is tried again.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(600);

/// Files that failed for a reason of callvault's own (the store, a full disk), and when each
/// may be tried again: after [`FIRST_RETRY_WAIT`], then twice as long after each failure, up to
/// [`MAX_RETRY_WAIT`]. A file that changed since it failed is a new file, tried at once. So
/// a store that keeps failing is not sent a large file to re-read every few seconds.
#[derive(Debug, Default)]
pub struct Retries {
    failed: HashMap<PathBuf, Failed>,
    /// The entries never taken that the log has told of, each once while it is there.
    told: HashSet<PathBuf>,
}

#[derive(Debug)]
struct Failed {
    version: Option<(SystemTime, u64)>,
    times: u32,
    next: Instant,
    /// Applied already: the next try only moves the file to `processed/`.
    applied: Option<Box<Report>>,
}

/// What identifies one content of a file: when it last changed ([`last_change`]: an upload
/// again that keeps the source's time and length is a change still) and its length.
fn version(file: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(file).ok()?;
    Some((last_change(&meta)?, meta.len()))
}

impl Retries {
    /// Whether `file` may be tried at `now`.
    pub fn due(&self, file: &Path, now: Instant) -> bool {
        match self.failed.get(file) {
            Some(f) => now >= f.next || version(file) != f.version,
            None => true,
        }
    }

    /// `file` failed at `now` (after it was applied, when `applied`); returns how long
    /// until it is tried again.
    pub fn failed(&mut self, file: &Path, now: Instant, applied: Option<Box<Report>>) -> Duration {
        let current = version(file);
        let times = match self.failed.get(file) {
            Some(f) if f.version == current => f.times + 1,
            _ => 1,
        };
        let wait = FIRST_RETRY_WAIT
            .saturating_mul(1 << (times - 1).min(16))
            .min(MAX_RETRY_WAIT);
        self.failed.insert(
            file.to_path_buf(),
            Failed {
                version: current,
                times,
                next: now + wait,
                applied,
            },
        );
        wait
    }

    /// The answer of `file`'s enrollment, if it was applied and only its move failed, and it
    /// has not changed since.
    fn applied(&mut self, file: &Path) -> Option<Box<Report>> {
        let f = self.failed.get_mut(file)?;
        if f.version != version(file) {
            return None;
        }
        f.applied.take()
    }

    /// Make every retry due now (tests do not wait out the backoff).
    #[cfg(test)]
    pub fn all_due(&mut self) {
        let now = Instant::now();
        for f in self.failed.values_mut() {
            f.next = now;
        }
    }

    /// `file` was handled (or is gone): forget its failures.
    pub fn done(&mut self, file: &Path) {
        self.failed.remove(file);
    }
}

/// Take every ready file once, except those whose retry is not yet due.
pub fn process_ready(
    store: &Store,
    audit: &AuditLog,
    dirs: &EnrollDirs,
    options: &Options,
    settle: Duration,
    retries: &mut Retries,
) -> Vec<Handled> {
    let files = match list(&dirs.inbox, settle, SystemTime::now()) {
        Ok(listing) => {
            tell_passed_over(&listing.passed_over, &mut retries.told);
            listing.files
        }
        Err(e) => {
            // every poll fails alike until someone mends it: a line every 10 minutes, not
            // every 5 seconds (`config check` names the inbox that is no folder)
            static LOGGED: crate::throttle::Throttle =
                crate::throttle::Throttle::new(Duration::from_secs(600));
            crate::throttled_error!(
                LOGGED,
                inbox = %dirs.inbox.display(),
                error = %e,
                "cannot read the inbox"
            );
            return Vec::new();
        }
    };
    let now = Instant::now();
    retries.failed.retain(|file, _| files.contains(file));
    let due: Vec<PathBuf> = files
        .into_iter()
        .filter(|file| retries.due(file, now))
        .collect();
    due.into_iter()
        // the service is stopping: the files left wait in the inbox for the next start
        .take_while(|_| !store.scans_stopped())
        .map(|file| {
            let handled = match retries.applied(&file) {
                Some(report) => move_applied(file.clone(), report, dirs),
                None => handle(store, audit, dirs, options, file.clone()),
            };
            match handled {
                Handled::Retry {
                    file,
                    error,
                    applied,
                } => {
                    let wait = retries.failed(&file, Instant::now(), applied.clone());
                    if store.scans_stopped() {
                        tracing::info!(
                            file = %file.display(),
                            "the service is stopping: the run ends here, and the file stays in the inbox for the next start"
                        );
                        return Handled::Retry {
                            file,
                            error,
                            applied,
                        };
                    }
                    tracing::warn!(
                        file = %file.display(),
                        error = %error,
                        retry_in_s = wait.as_secs(),
                        "the file stays in the inbox and is tried again later"
                    );
                    Handled::Retry {
                        file,
                        error,
                        applied,
                    }
                }
                other => {
                    retries.done(&file);
                    other
                }
            }
        })
        .collect()
}

/// Warn once of each entry the inbox holds and no scan takes (a folder of files an SFTP
/// user meant to hand over), and again if it goes and comes back.
fn tell_passed_over(passed_over: &[(PathBuf, &'static str)], told: &mut HashSet<PathBuf>) {
    told.retain(|path| passed_over.iter().any(|(p, _)| p == path));
    for (path, why) in passed_over {
        if told.insert(path.clone()) {
            tracing::warn!(entry = %path.display(), "{why}");
        }
    }
}

/// Move a file whose enrollment was applied and answered to `processed/`.
fn move_applied(file: PathBuf, report: Box<Report>, dirs: &EnrollDirs) -> Handled {
    match move_into(&file, &dirs.processed) {
        Ok(moved) => {
            tracing::info!(file = %moved.display(), rows = report.summary.rows, "enrolled; moved to processed/");
            // a misspelt column's data went unread: the admin who dropped the file sees it here
            if let Some(ignored) = report.summary.columns_ignored() {
                tracing::warn!(file = %moved.display(), "columns ignored: {ignored}");
            }
            if let Some(read) = report.summary.not_utf8_line() {
                tracing::info!(file = %moved.display(), "{read}");
            }
            if let Some(missing) = report.summary.asked_missing_line() {
                tracing::warn!(file = %moved.display(), "{missing}");
            }
            if let Some(placeholders) = report.summary.placeholders_line() {
                tracing::warn!(file = %moved.display(), "{placeholders}");
            }
            Handled::Processed {
                file: moved,
                report,
            }
        }
        Err(e) => Handled::Retry {
            file,
            error: format!("enrolled, but cannot move to processed/: {e}"),
            applied: Some(report),
        },
    }
}

pub(super) fn handle(
    store: &Store,
    audit: &AuditLog,
    dirs: &EnrollDirs,
    options: &Options,
    file: PathBuf,
) -> Handled {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lines = super::progress::Lines::new(name.clone(), None);
    // a file still being checked when the service stops is left at once, not read to its end
    let progress = super::progress::Stoppable::new(&lines, || store.go_on());
    let mut options = options.clone();
    options.dry_run = false;
    match run(store, &file, &dirs.outbox, &options, "inbox", &progress) {
        Ok(report) => move_applied(file, Box::new(report), dirs),
        Err(EnrollError::Io { error, .. })
            if error.kind() == std::io::ErrorKind::NotFound && !file.exists() =>
        {
            tracing::info!(file = %name, "left the inbox before it was read; passed over");
            Handled::Gone { file }
        }
        Err(e) if e.is_file_problem() => fail(audit, dirs, &file, &name, &e),
        // the service is stopping (process_ready says so): nothing went wrong
        Err(EnrollError::Store(StoreError::Stopping)) => Handled::Retry {
            applied: None,
            file,
            error: StoreError::Stopping.to_string(),
        },
        Err(e) => {
            tracing::error!(file = %name, error = %e, "enrollment failed; the file stays in the inbox");
            Handled::Retry {
                applied: None,
                file,
                error: e.to_string(),
            }
        }
    }
}

fn fail(audit: &AuditLog, dirs: &EnrollDirs, file: &Path, name: &str, e: &EnrollError) -> Handled {
    let error = e.to_string();
    tracing::warn!(file = %name, error = %error, "file refused; moved to failed/");
    if let Err(err) = audit.record_blocking(
        AuditEvent::new("inbox", EventKind::EnrollmentFailed, Outcome::Failed)
            .detail(error.clone()),
    ) {
        tracing::error!(error = %err, "cannot audit the refused file");
    }
    match move_into(file, &dirs.failed) {
        Ok(moved) => {
            let note = moved.with_file_name(format!(
                "{}.error.txt",
                moved
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ));
            if let Err(err) = std::fs::write(&note, format!("{error}\n")) {
                tracing::error!(error = %err, "cannot write the error note");
            }
            Handled::Failed { file: moved, error }
        }
        Err(err) => Handled::Retry {
            applied: None,
            file: file.to_path_buf(),
            error: format!("{error}; and cannot move it to failed/: {err}"),
        },
    }
}
