//! Old pre-enrollment files removed after `enroll.keep_days`.
//!
//! `processed/` and `failed/` hold the core's files as they came: members' birth dates, SSN
//! last 4, balances, in plain text. `outbox/` holds the answers about them. Kept forever,
//! they are a growing copy of member data outside the store, which a credit union's
//! disposal rules (the GLBA Safeguards Rule's, for one) ask it not to keep. The inbox is
//! never touched: a file there has not been taken yet.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::EnrollDirs;

/// How often the service looks for old files.
pub const EVERY: Duration = Duration::from_secs(3600);

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

/// When a file last changed: its content (mtime) or its entry (ctime), whichever is later.
/// A rename sets the ctime, so a file moved into `processed/` is as old as its move, even
/// when the upload kept an old mtime (`sftp put -p`, `rsync -t`). The ctime cannot be set
/// back by hand.
fn last_change(meta: &std::fs::Metadata) -> Option<SystemTime> {
    use std::os::unix::fs::MetadataExt;
    let ctime = u64::try_from(meta.ctime())
        .ok()
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    meta.modified().ok().max(ctime)
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
mod tests {
    use super::*;
    use std::fs::{File, FileTimes};

    const DAY: Duration = Duration::from_secs(86_400);

    /// Files' ages as the tests set them (an old ctime cannot be made).
    fn by_mtime(dirs: &EnrollDirs, keep: Duration, now: SystemTime) -> Removed {
        remove_old_files_by(dirs, keep, now, |m| m.modified().ok())
    }

    fn file_aged(path: &Path, now: SystemTime, age: Duration) {
        std::fs::write(path, "member_id,mobile_phone\n").unwrap();
        let when = now - age;
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_times(FileTimes::new().set_modified(when).set_accessed(when))
            .unwrap();
    }

    fn dirs(root: &Path) -> EnrollDirs {
        let dirs = EnrollDirs {
            inbox: root.join("inbox"),
            outbox: root.join("outbox"),
            processed: root.join("processed"),
            failed: root.join("failed"),
        };
        for d in [&dirs.inbox, &dirs.outbox, &dirs.processed, &dirs.failed] {
            std::fs::create_dir_all(d).unwrap();
        }
        dirs
    }

    #[test]
    fn files_older_than_the_kept_days_go_from_every_folder_but_the_inbox() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        let now = SystemTime::now();
        let keep = 30 * DAY;
        // (file, age, removed?)
        let cases = [
            (d.processed.join("old.csv"), 31 * DAY, true),
            (d.processed.join("new.csv"), 29 * DAY, false),
            (
                d.processed.join("edge.csv"),
                keep - Duration::from_secs(60),
                false,
            ),
            (d.failed.join("bad.csv"), 40 * DAY, true),
            (d.failed.join("bad.csv.error.txt"), 40 * DAY, true),
            (d.outbox.join("old.results.csv"), 31 * DAY, true),
            (d.outbox.join("old.summary.json"), 31 * DAY, true),
            (d.outbox.join("today.results.csv"), Duration::ZERO, false),
            (d.outbox.join(".old.results.csv.partial"), 99 * DAY, false),
            (d.inbox.join("waiting.csv"), 99 * DAY, false),
        ];
        for (path, age, _) in &cases {
            file_aged(path, now, *age);
        }
        // a folder and a link are never removed, however old
        std::fs::create_dir(d.processed.join("sub")).unwrap();
        std::os::unix::fs::symlink(d.inbox.join("waiting.csv"), d.outbox.join("link.csv")).unwrap();

        let removed = by_mtime(&d, keep, now);
        for (path, _, gone) in &cases {
            assert_eq!(!path.exists(), *gone, "{}", path.display());
        }
        assert!(d.processed.join("sub").is_dir());
        assert!(d.outbox.join("link.csv").symlink_metadata().is_ok());
        assert_eq!(removed.total(), 5);
        assert_eq!(
            removed.folders,
            vec![
                (d.processed.clone(), 1),
                (d.failed.clone(), 2),
                (d.outbox.clone(), 2)
            ]
        );
        assert!(removed.failures.is_empty(), "{:?}", removed.failures);
        assert_eq!(
            removed.describe(),
            format!(
                "{} 1, {} 2, {} 2",
                d.processed.display(),
                d.failed.display(),
                d.outbox.display()
            )
        );
        // a second pass finds nothing
        assert_eq!(by_mtime(&d, keep, now).total(), 0);
    }

    #[test]
    fn a_file_moved_in_with_an_old_time_is_as_old_as_its_move() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        let now = SystemTime::now();
        // an upload that kept its time (`sftp put -p`), then moved to processed/
        let upload = d.inbox.join("kept-time.csv");
        file_aged(&upload, now, 99 * DAY);
        let moved = d.processed.join("kept-time.csv");
        std::fs::rename(&upload, &moved).unwrap();
        assert_eq!(remove_old_files(&d, DAY, now).total(), 0);
        assert!(moved.exists());
        // ...and goes once the move itself is older than the days kept
        let later = now + 2 * DAY;
        assert_eq!(remove_old_files(&d, DAY, later).total(), 1);
        assert!(!moved.exists());
    }

    #[test]
    fn a_folder_shared_with_the_inbox_is_left_alone_and_a_missing_one_is_no_error() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = dirs(tmp.path());
        let now = SystemTime::now();
        d.processed = d.inbox.clone();
        d.failed = tmp.path().join("not-made-yet");
        let waiting = d.inbox.join("waiting.csv");
        file_aged(&waiting, now, 99 * DAY);
        let removed = by_mtime(&d, DAY, now);
        assert!(waiting.exists());
        assert_eq!(removed.total(), 0);
        assert!(removed.failures.is_empty(), "{:?}", removed.failures);
        assert!(!removed.folders.iter().any(|(dir, _)| *dir == d.inbox));
    }
}
