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
    meta_time(store, LAST_BACKUP_KEY)
}

/// When `store` was created (`callvault init`, or a first start on an empty state folder;
/// a restored store keeps its own): `callvault_store_created_timestamp_seconds`, from which
/// the backup alert counts while no backup was ever written.
pub fn created(store: &Store) -> Result<Option<DateTime<Utc>>, StoreError> {
    meta_time(store, super::CREATED_KEY)
}

fn meta_time(store: &Store, key: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let txn = store.begin_read()?;
    let meta = txn.open_table(super::tables::META)?;
    let Some(v) = meta.get(key)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(v.value()).into_owned();
    DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| StoreError::Corrupt(format!("{key} {text:?}: {e}")))
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
        self.backup_into_with(dir, keep, keep_free, now, &crate::enroll::progress::Silent)
    }

    /// [`Store::backup_into`], telling `progress` how far the copy is
    /// ([`Store::backup_to_with`]).
    pub fn backup_into_with(
        &self,
        dir: &Path,
        keep: usize,
        keep_free: u64,
        now: DateTime<Utc>,
        progress: &dyn crate::enroll::Progress,
    ) -> Result<KeptBackup, StoreError> {
        let made = !dir.exists();
        create_private_dir(dir)?;
        // root running this with the service stopped: the folder and its copies are the
        // store's owner's (the service's user), who writes the next copy (the timer's, or
        // the service's own while it runs)
        if made && let Some(state_dir) = self.path().parent() {
            super::same_owner_as(state_dir, dir).map_err(io_err("cannot set the owner of", dir))?;
        }
        let report = self.backup_to_with(&dir.join(file_name(now)), keep_free, progress)?;
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
mod tests;
