//! Old pre-enrollment files removed after `enroll.keep_days`.
//!
//! `processed/` and `failed/` hold the core's files as they came: members' birth dates, SSN
//! last 4, balances, in plain text. `outbox/` holds the answers about them. Kept forever,
//! they are a growing copy of member data outside the store, which a credit union's
//! disposal rules (the GLBA Safeguards Rule's, for one) ask it not to keep. The inbox is
//! never touched: a file there has not been taken yet.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::config::EnrollDirs;

/// How often the service looks for old files.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Whether the service should look for old files now, having last looked at `last`:
/// never when `keep_days` is 0 (keep them forever, the default), else at the first poll and
/// then once every [`EVERY`]. With 0 a pass would remove every file, so this is the one
/// place that keeps the default safe.
pub fn due(keep_days: u32, last: Option<Instant>, now: Instant) -> bool {
    keep_days > 0 && last.is_none_or(|t| now.saturating_duration_since(t) >= EVERY)
}

/// What one pass removed, per folder, and what it could not.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// (folder, files removed from it), for each folder looked at.
    pub folders: Vec<(PathBuf, u64)>,
    /// Files that are old but could not be removed, with the error.
    pub failures: Vec<String>,
}

impl Removed {
    pub fn total(&self) -> u64 {
        self.folders.iter().map(|(_, n)| n).sum()
    }

    /// `processed/ 3, outbox/ 8`: the folders a file was removed from.
    pub fn describe(&self) -> String {
        self.folders
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(dir, n)| format!("{} {n}", dir.display()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// When a file last changed here: its status-change time (`ctime`), which the kernel sets at
/// every write, rename or change of times, and which cannot be set by hand. Not its
/// modification time, which an upload may keep from its source (`sftp put -p`, `rsync -t`,
/// WinSCP by default): a file moved into `processed/` is as old as its move, and one from a
/// machine whose clock is ahead is settled in the inbox as soon as any other.
pub(super) fn last_change(meta: &std::fs::Metadata) -> Option<SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let seconds = u64::try_from(meta.ctime()).ok()?;
    let nanos = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
    Some(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
}

/// Remove the regular files in `processed/`, `failed/` and `outbox/` last changed more than
/// `keep` before `now`. Hidden files (an answer being written) and anything not a regular
/// file are left alone, as is a folder that is also the inbox. A file removed meanwhile by
/// someone else is not an error.
pub fn remove_old_files(dirs: &EnrollDirs, keep: Duration, now: SystemTime) -> Removed {
    remove_old_files_by(dirs, keep, now, last_change)
}

/// [`remove_old_files`], a file's time told by `changed`.
fn remove_old_files_by(
    dirs: &EnrollDirs,
    keep: Duration,
    now: SystemTime,
    changed: fn(&std::fs::Metadata) -> Option<SystemTime>,
) -> Removed {
    let mut removed = Removed::default();
    let mut folders: Vec<&Path> = Vec::new();
    for dir in [&dirs.processed, &dirs.failed, &dirs.outbox] {
        if *dir != dirs.inbox && !folders.contains(&dir.as_path()) {
            folders.push(dir);
        }
    }
    for dir in folders {
        let count = remove_in(dir, keep, now, changed, &mut removed.failures);
        removed.folders.push((dir.to_path_buf(), count));
    }
    removed
}

fn remove_in(
    dir: &Path,
    keep: Duration,
    now: SystemTime,
    changed: fn(&std::fs::Metadata) -> Option<SystemTime>,
    failures: &mut Vec<String>,
) -> u64 {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // not made yet: no file has gone there
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return 0,
        Err(e) => {
            failures.push(format!("{}: {e}", dir.display()));
            return 0;
        }
    };
    let mut count = 0;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // not followed: a link's target may be anywhere
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let old = changed(&meta)
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > keep);
        if !meta.is_file() || !old {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => count += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    count
}

#[cfg(test)]
mod tests;
