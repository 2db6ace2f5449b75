//! Backups kept in a folder by date: `callvault db backup --into DIR --keep N`, which the
//! packaged `callvault-backup.timer` runs nightly. Each copy is named by the time it was
//! taken (`callvault-20261205T020000Z.redb`, UTC, so names sort by age); after a copy is
//! written, the oldest beyond the newest `keep` are removed. Nothing else in the folder is
//! touched: only names this module makes are counted or removed.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BackupReport, Store, StoreError, create_private_dir, io_err};

/// The store's `META` entry of when the last backup of it was written (RFC 3339).
const LAST_BACKUP_KEY: &str = "last_backup_at";

const PREFIX: &str = "callvault-";
const STAMP: &str = "%Y%m%dT%H%M%SZ";
/// A copy being written (`Store::backup_to` writes beside its file, then renames it).
const PARTIAL: &str = "partial";
const COPY: &str = "redb";

/// What `db backup --into` did: the copy, and the older copies removed to keep `keep`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptBackup {
    pub report: BackupReport,
    pub removed: Vec<PathBuf>,
}

/// The file name of a copy taken at `at`.
pub fn file_name(at: DateTime<Utc>) -> String {
    format!("{PREFIX}{}.{COPY}", at.format(STAMP))
}

/// When a file of this folder's was taken, and whether it is a finished copy; `None` for
/// any name this module did not make.
fn parse(name: &str) -> Option<(DateTime<Utc>, bool)> {
    let (stem, ext) = name.strip_prefix(PREFIX)?.rsplit_once('.')?;
    let finished = match ext {
        COPY => true,
        PARTIAL => false,
        _ => return None,
    };
    let at = NaiveDateTime::parse_from_str(stem, STAMP).ok()?.and_utc();
    // the name must be exactly as `file_name` writes it (no other spelling of the time)
    (at.format(STAMP).to_string() == stem).then_some((at, finished))
}

/// Which of `names` go once `current` is written: finished copies older than the newest
/// `keep` (counting `current`), and copies left half-written by a run that ended more than
/// an hour before `current` was taken (a run still writing is not disturbed).
pub fn to_remove(names: &[String], keep: usize, current: DateTime<Utc>) -> Vec<String> {
    let mut copies: Vec<(DateTime<Utc>, &String)> = Vec::new();
    let mut out = Vec::new();
    for name in names {
        match parse(name) {
            Some((at, true)) => copies.push((at, name)),
            Some((at, false)) if at < current - Duration::hours(1) => out.push(name.clone()),
            _ => {}
        }
    }
    copies.sort();
    let old = copies.len().saturating_sub(keep.max(1));
    out.extend(copies[..old].iter().map(|(_, n)| (*n).clone()));
    out.sort();
    out
}

/// When the last backup of `store` was written (`db backup`, either form, by the service or
/// the command line): `callvault_backup_last_success_timestamp_seconds` in /metrics.
pub fn last_backup(store: &Store) -> Result<Option<DateTime<Utc>>, StoreError> {
    let txn = store.begin_read()?;
    let meta = txn.open_table(super::tables::META)?;
    let Some(v) = meta.get(LAST_BACKUP_KEY)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(v.value()).into_owned();
    DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| StoreError::Corrupt(format!("{LAST_BACKUP_KEY} {text:?}: {e}")))
}

/// Note in the store that a backup of it was just written.
pub(super) fn mark_written(store: &Store, at: DateTime<Utc>) -> Result<(), StoreError> {
    let txn = store.begin_write()?;
    txn.open_table(super::tables::META)?
        .insert(LAST_BACKUP_KEY, at.to_rfc3339().as_bytes())?;
    txn.commit()
}

impl Store {
    /// Write a copy into `dir` (created 0700 if missing) named by `now`, then remove the
    /// copies older than the newest `keep`. A copy that fails (or would leave less than
    /// `keep_free` bytes free: [`Store::backup_to`]) removes nothing.
    pub fn backup_into(
        &self,
        dir: &Path,
        keep: usize,
        keep_free: u64,
        now: DateTime<Utc>,
    ) -> Result<KeptBackup, StoreError> {
        let made = !dir.exists();
        create_private_dir(dir)?;
        // root running this with the service stopped: the folder and its copies are the
        // store's owner's (the service's user), who writes the next copy (the timer's, or
        // the service's own while it runs)
        if made && let Some(state_dir) = self.path().parent() {
            super::same_owner_as(state_dir, dir).map_err(io_err("cannot set the owner of", dir))?;
        }
        let report = self.backup_to(&dir.join(file_name(now)), keep_free)?;
        super::same_owner_as(dir, &report.path)
            .map_err(io_err("cannot set the owner of", &report.path))?;
        let names: Vec<String> = fs::read_dir(dir)
            .map_err(io_err("cannot list", dir))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        let mut removed = Vec::new();
        for name in to_remove(&names, keep, now) {
            let path = dir.join(&name);
            fs::remove_file(&path).map_err(io_err("cannot remove the old backup", &path))?;
            removed.push(path);
        }
        Ok(KeptBackup { report, removed })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn names_sort_by_time_and_only_our_own_are_read() {
        assert_eq!(file_name(at(5, 2)), "callvault-20261205T020000Z.redb");
        assert!(file_name(at(4, 23)) < file_name(at(5, 2)));
        assert_eq!(
            parse("callvault-20261205T020000Z.redb"),
            Some((at(5, 2), true))
        );
        assert_eq!(
            parse("callvault-20261205T020000Z.partial"),
            Some((at(5, 2), false))
        );
        for other in [
            "callvault.redb",
            "callvault-20261205T020000Z.redb.bak",
            "callvault-20261205T020000Z.REDB",
            "callvault-2026-12-05.redb",
            "callvault-20261205T020000.redb",
            "callvault-20261305T020000Z.redb",
            "xcallvault-20261205T020000Z.redb",
            "backup.redb",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }

    /// (folder, keep, taken at) -> removed, as a table.
    #[test]
    fn the_newest_are_kept_and_nothing_else_is_touched() {
        let copy = |d, h| file_name(at(d, h));
        let partial = |d, h| copy(d, h).replace(".redb", ".partial");
        type Case = (&'static str, Vec<String>, usize, DateTime<Utc>, Vec<String>);
        let cases: Vec<Case> = vec![
            (
                "fewer than keep",
                vec![copy(4, 2), copy(5, 2)],
                7,
                at(5, 2),
                vec![],
            ),
            (
                "the oldest beyond keep, whatever order they are listed in",
                vec![copy(5, 2), copy(2, 2), copy(4, 2), copy(3, 2)],
                2,
                at(5, 2),
                vec![copy(2, 2), copy(3, 2)],
            ),
            (
                "keep 0 is read as 1: the copy just made stays",
                vec![copy(4, 2), copy(5, 2)],
                0,
                at(5, 2),
                vec![copy(4, 2)],
            ),
            (
                "other files are neither counted nor removed",
                vec![
                    "callvault.redb".into(),
                    "notes.txt".into(),
                    "callvault-20261201.redb".into(),
                    copy(4, 2),
                    copy(5, 2),
                ],
                2,
                at(5, 2),
                vec![],
            ),
            (
                "a half-written copy from an earlier run goes; one from a run under way stays",
                vec![partial(4, 2), partial(5, 1), copy(5, 2)],
                7,
                at(5, 2),
                vec![partial(4, 2)],
            ),
        ];
        for (name, names, keep, now, want) in cases {
            assert_eq!(to_remove(&names, keep, now), want, "{name}");
        }
    }

    #[test]
    fn a_backup_into_a_folder_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state")).unwrap();
        let backups = dir.path().join("backups");
        std::fs::create_dir(&backups).ok();
        std::fs::write(backups.join("notes.txt"), "kept").unwrap();
        assert_eq!(last_backup(&store).unwrap(), None);
        let mut made = Vec::new();
        for day in 1..=4 {
            let kept = store.backup_into(&backups, 2, 0, at(day, 2)).unwrap();
            assert_eq!(kept.report.path, backups.join(file_name(at(day, 2))));
            made.push(kept);
        }
        // noted in the store when written (for /metrics), by the wall clock
        let noted = last_backup(&store).unwrap().unwrap();
        assert!((Utc::now() - noted).num_seconds().abs() < 60, "{noted}");
        assert_eq!(made[0].removed, Vec::<PathBuf>::new());
        assert_eq!(made[2].removed, [backups.join(file_name(at(1, 2)))]);
        let mut left: Vec<String> = std::fs::read_dir(&backups)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [file_name(at(3, 2)), file_name(at(4, 2)), "notes.txt".into()]
        );
        // each copy opens as a store
        let copy = backups.join(file_name(at(4, 2)));
        assert!(super::super::check_offline(&copy).is_ok());

        // a folder that does not exist is made, private
        let fresh = dir.path().join("new").join("backups");
        store.backup_into(&fresh, 7, 0, at(5, 2)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        // a second copy in the same second is refused, and removes nothing (the copy's
        // folder made above is the store's owner's: `ownership_follows_the_store` as root)
        let again = store.backup_into(&fresh, 1, 0, at(5, 2));
        assert!(again.is_err());
        assert!(fresh.join(file_name(at(5, 2))).exists());
    }

    /// root running `db backup --into` with the service stopped: a folder it makes is the
    /// store's owner's, and so is each copy in a folder that user owns, so the nightly
    /// timer (the service's user) can write the next one and remove the old ones.
    #[test]
    fn ownership_follows_the_store() {
        use std::os::unix::fs::MetadataExt;
        if !rustix::process::geteuid().is_root() {
            eprintln!("not root: cannot make files another user owns; skipped");
            return;
        }
        let owner = |p: &Path| {
            let m = fs::metadata(p).unwrap();
            (m.uid(), m.gid())
        };
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let store = Store::open(&state).unwrap();
        std::os::unix::fs::chown(&state, Some(65534), Some(65533)).unwrap();
        let backups = dir.path().join("backups");
        let kept = store.backup_into(&backups, 7, 0, at(5, 2)).unwrap();
        assert_eq!(owner(&backups), (65534, 65533));
        assert_eq!(owner(&kept.report.path), (65534, 65533));
        // a folder the admin made and owns stays theirs, with its copies
        let own = dir.path().join("own");
        fs::create_dir(&own).unwrap();
        let kept = store.backup_into(&own, 7, 0, at(5, 2)).unwrap();
        assert_eq!((owner(&own), owner(&kept.report.path)), ((0, 0), (0, 0)));
    }
}
