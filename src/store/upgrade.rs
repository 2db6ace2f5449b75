//! Stores written by callvault before it moved to redb 4 are in redb's file format 2, which
//! redb 4 cannot open. Such a file is read with redb 2.6 (the last release that reads format
//! 2) and copied, table by table, into a new file in the current format. The new file then
//! takes the old one's name in one rename, and the old file is kept beside it under
//! [`FORMAT_2_SUFFIX`]. A crash at any point leaves a store that opens: the old file until
//! the rename, the new one after it.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use redb::ReadableDatabase;
use redb2::{ReadableTable as _, ReadableTableMetadata as _, TableHandle as _};

use super::{StoreError, io_err, set_mode, sync_dir};

/// The old file's name after an upgrade: the store's name with this added.
pub const FORMAT_2_SUFFIX: &str = "format-2";

/// What an upgrade did.
#[derive(Debug)]
pub struct Upgraded {
    pub tables: usize,
    pub rows: u64,
    /// Where the file from before the upgrade is kept; `None` when it was not kept.
    pub kept: Option<PathBuf>,
}

/// Whether opening failed only because the file is in redb's format 2.
pub fn needs_upgrade(e: &redb::DatabaseError) -> bool {
    matches!(e, redb::DatabaseError::UpgradeRequired(2))
}

/// How each table of a format-2 store is read and written, by name.
#[derive(Clone, Copy)]
enum Shape {
    StrBytes,
    StrStr,
    U64Bytes,
    PairBytes,
    /// Schema 1's `calls_by_ani`, which the 1 -> 2 migration drops: not copied.
    Dropped,
}

fn shape(name: &str) -> Option<Shape> {
    Some(match name {
        "meta" | "api_keys" | "members" | "staged_members" | "pins" | "calls" | "intents"
        | "verifications" | "challenges" | "challenge_sends" => Shape::StrBytes,
        "phone_index"
        | "account_index"
        | "staged_phone_index"
        | "staged_account_index"
        | "intent_phones" => Shape::StrStr,
        "audit" => Shape::U64Bytes,
        "attempts" => Shape::PairBytes,
        "calls_by_ani" => Shape::Dropped,
        _ => return None,
    })
}

fn old<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> StoreError + '_ {
    move |e| StoreError::Upgrade {
        path: path.to_path_buf(),
        error: e.to_string(),
    }
}

/// Upgrade the format-2 store at `path` in place. With `keep`, the old file stays beside it
/// as `<path>.format-2`; without, it is removed (a copy the caller made for the purpose).
pub fn upgrade_file(path: &Path, keep: bool) -> Result<Upgraded, StoreError> {
    let began = Instant::now();
    tracing::warn!(
        path = %path.display(),
        "the store is in redb's file format 2, written by a callvault on redb 2; copying it into \
         the current format (this reads and writes the whole file, once)"
    );
    let source = redb2::Database::open(path).map_err(|e| match e {
        redb2::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
            path: path.to_path_buf(),
        },
        other => old(path)(other),
    })?;
    let fresh = PathBuf::from(format!("{}.upgrading", path.display()));
    let _ = fs::remove_file(&fresh);
    let copied = copy_into(&source, &fresh, path);
    drop(source);
    let (tables, rows) = match copied {
        Ok(n) => n,
        Err(e) => {
            let _ = fs::remove_file(&fresh);
            return Err(e);
        }
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let kept = if keep {
        let kept = PathBuf::from(format!("{}.{FORMAT_2_SUFFIX}", path.display()));
        // A link, not a rename: until the new file takes the name, the name is the old file.
        let _ = fs::remove_file(&kept);
        fs::hard_link(path, &kept).map_err(io_err("cannot keep the format-2 store as", &kept))?;
        Some(kept)
    } else {
        None
    };
    fs::rename(&fresh, path).map_err(io_err("cannot move the upgraded store to", path))?;
    if let Some(dir) = dir {
        sync_dir(dir)?;
    }
    let seconds = began.elapsed().as_secs_f64();
    match &kept {
        Some(old) => tracing::warn!(
            path = %path.display(),
            tables,
            rows,
            seconds,
            kept = %old.display(),
            "the store is upgraded to the current file format; the file from before is kept for \
             a downgrade and may be deleted once this version is known good"
        ),
        None => tracing::warn!(
            path = %path.display(),
            tables,
            rows,
            seconds,
            "the store is upgraded to the current file format"
        ),
    }
    Ok(Upgraded { tables, rows, kept })
}

/// Copy every table of `source` into a new file at `fresh` (0600), committed durably.
fn copy_into(
    source: &redb2::Database,
    fresh: &Path,
    path: &Path,
) -> Result<(usize, u64), StoreError> {
    let from = source.begin_read().map_err(old(path))?;
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(fresh)
        .map_err(io_err("cannot create the upgraded store", fresh))?;
    set_mode(fresh, 0o600)?;
    same_owner(path, fresh)?;
    let target =
        redb::Builder::new().create_with_backend(redb::backends::FileBackend::new(file)?)?;
    let to = target.begin_write()?;
    let mut tables = 0;
    let mut rows = 0;
    let mut progress = Progress::new();
    for handle in from.list_tables().map_err(old(path))? {
        let name = handle.name().to_string();
        let shape = shape(&name).ok_or_else(|| StoreError::Upgrade {
            path: path.to_path_buf(),
            error: format!(
                "it holds a table this callvault does not know ({name}); it was written by \
                 another program or a newer callvault, and is left as it is"
            ),
        })?;
        let n = match shape {
            Shape::StrBytes => copy::<&str, &[u8]>(&from, &to, &name, path, &mut progress)?,
            Shape::StrStr => copy::<&str, &str>(&from, &to, &name, path, &mut progress)?,
            Shape::U64Bytes => copy::<u64, &[u8]>(&from, &to, &name, path, &mut progress)?,
            Shape::PairBytes => {
                copy::<(&str, &str), &[u8]>(&from, &to, &name, path, &mut progress)?
            }
            Shape::Dropped => continue,
        };
        tables += 1;
        rows += n;
    }
    to.commit()?;
    drop(target);
    // the copy is read back before it replaces anything
    let check = redb::Database::open(fresh)?;
    let txn = check.begin_read()?;
    let meta = txn.open_table(super::tables::META)?;
    if redb::ReadableTableMetadata::len(&meta)? == 0 {
        return Err(StoreError::Upgrade {
            path: path.to_path_buf(),
            error: "the copy has no schema version".into(),
        });
    }
    Ok((tables, rows))
}

/// The copy belongs to whoever owned the store: the service's user, also when root runs the
/// first command after an upgrade (a store root owns would stop the service from opening it).
fn same_owner(store: &Path, copy: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt;
    let was = fs::metadata(store).map_err(io_err("cannot stat", store))?;
    let is = fs::metadata(copy).map_err(io_err("cannot stat", copy))?;
    if (was.uid(), was.gid()) != (is.uid(), is.gid()) {
        std::os::unix::fs::chown(copy, Some(was.uid()), Some(was.gid()))
            .map_err(io_err("cannot give the upgraded store its owner", copy))?;
    }
    Ok(())
}

/// Progress of a long copy: a log line every few seconds, and under systemd a status line
/// and more time to start (`Type=notify` would otherwise stop a start that takes longer than
/// its `TimeoutStartSec`, and the copy would begin again at each restart).
struct Progress {
    rows: u64,
    last: Instant,
}

impl Progress {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(5);

    fn new() -> Progress {
        let p = Progress {
            rows: 0,
            last: Instant::now(),
        };
        p.tell("upgrading the store's file format");
        p
    }

    fn row(&mut self, table: &str) {
        self.rows += 1;
        if self.rows.is_multiple_of(4096) && self.last.elapsed() >= Self::EVERY {
            self.last = Instant::now();
            tracing::info!(rows = self.rows, table, "upgrading the store's file format");
            self.tell(&format!(
                "upgrading the store's file format: {} rows copied",
                self.rows
            ));
        }
    }

    fn tell(&self, status: &str) {
        // a minute more from each message; without NOTIFY_SOCKET this does nothing
        let _ = sd_notify::notify(
            false,
            &[
                sd_notify::NotifyState::Status(status),
                sd_notify::NotifyState::ExtendTimeoutUsec(60_000_000),
            ],
        );
    }
}

/// A key or value type that reads the same in both redb versions.
trait Both: redb::Key + redb2::Key + 'static {}
impl<T: redb::Key + redb2::Key + 'static> Both for T {}
trait BothValue: redb::Value + redb2::Value + 'static {}
impl<T: redb::Value + redb2::Value + 'static> BothValue for T {}

/// Copy one table, row by row in key order. The types' Rust values are the same in both
/// versions; only their bytes on disk may differ (tuples changed in redb 3).
fn copy<K, V>(
    from: &redb2::ReadTransaction,
    to: &redb::WriteTransaction,
    name: &str,
    path: &Path,
    progress: &mut Progress,
) -> Result<u64, StoreError>
where
    K: Both,
    V: BothValue,
    for<'a> <K as redb2::Value>::SelfType<'a>: Into<<K as redb::Value>::SelfType<'a>>,
    for<'a> <V as redb2::Value>::SelfType<'a>: Into<<V as redb::Value>::SelfType<'a>>,
{
    let source = from
        .open_table(redb2::TableDefinition::<K, V>::new(name))
        .map_err(old(path))?;
    let mut target = to.open_table(redb::TableDefinition::<K, V>::new(name))?;
    let mut rows = 0;
    for entry in source.iter().map_err(old(path))? {
        let (k, v) = entry.map_err(old(path))?;
        target.insert(k.value().into(), v.value().into())?;
        rows += 1;
        progress.row(name);
    }
    debug_assert_eq!(rows, source.len().unwrap_or(rows));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, tables};
    use redb::{ReadableTable, ReadableTableMetadata};
    use std::io::Read;

    /// The fixture: a store written by the last build on redb 2 (see its README).
    fn format_2_store(dir: &Path) -> PathBuf {
        let gz = include_bytes!("../../tests/fixtures/format-2-store/callvault.redb.gz");
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut bytes)
            .unwrap();
        let path = dir.join(super::super::DB_FILE_NAME);
        fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_store_written_on_redb_2_opens_with_every_record_and_the_old_file_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = format_2_store(dir.path());
        let before = fs::read(&path).unwrap();
        assert!(needs_upgrade(&redb::Database::open(&path).unwrap_err()));

        let store = Store::open_file(&path).unwrap();
        let kept = dir.path().join("callvault.redb.format-2");
        assert_eq!(
            fs::read(&kept).unwrap(),
            before,
            "the old file is kept as it was"
        );
        assert!(!dir.path().join("callvault.redb.upgrading").exists());
        assert_eq!(store.schema_version().unwrap(), 2);

        let report = store.check().unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.members, 3);
        assert_eq!(report.api_keys, 3);
        assert_eq!(report.audit_records, 14);

        let txn = store.begin_read().unwrap();
        // the one tuple-keyed table, whose encoding changed in redb 3
        let attempts = txn.open_table(tables::ATTEMPTS).unwrap();
        let counter = attempts
            .get(("70001", crate::calls::ANSWER_ATTEMPTS))
            .unwrap()
            .expect("70001's wrong-answer counter");
        let counter: crate::lockout::Counter = postcard::from_bytes(counter.value()).unwrap();
        assert_eq!(counter.wrong, 1);
        assert_eq!(attempts.len().unwrap(), 1);
        let phones = txn.open_table(tables::PHONE_INDEX).unwrap();
        assert!(phones.iter().unwrap().count() > 0);
        let calls = txn.open_table(tables::CALLS).unwrap();
        let ids: Vec<String> = calls
            .iter()
            .unwrap()
            .map(|e| e.unwrap().0.value().to_string())
            .collect();
        assert_eq!(ids, ["fx-ended", "fx-known"]);
        let pins = txn.open_table(tables::PINS).unwrap();
        assert!(pins.get("70003").unwrap().is_some());
        drop((attempts, phones, calls, pins, txn, store));

        // opened again: nothing left to upgrade, and the kept file is not touched again
        let kept_at = fs::metadata(&kept).unwrap().modified().unwrap();
        let store = Store::open_file(&path).unwrap();
        assert_eq!(store.check().unwrap().audit_records, 14);
        assert_eq!(fs::metadata(&kept).unwrap().modified().unwrap(), kept_at);
    }

    /// A format-2 file with a row in a table of every shape, as redb 2 wrote them, including
    /// the staged enrollment tables and schema 1's `calls_by_ani`.
    fn every_shape(path: &Path, extra_table: Option<&str>) {
        let db = redb2::Database::create(path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn
                .open_table(redb2::TableDefinition::<&str, &[u8]>::new("meta"))
                .unwrap();
            meta.insert("schema_version", &1u32.to_le_bytes()[..])
                .unwrap();
            let mut staged = txn
                .open_table(redb2::TableDefinition::<&str, &str>::new(
                    "staged_phone_index",
                ))
                .unwrap();
            staged.insert("+1612555", "+16125550101\u{0}70001").unwrap();
            let mut audit = txn
                .open_table(redb2::TableDefinition::<u64, &[u8]>::new("audit"))
                .unwrap();
            audit.insert(7, &b"seven"[..]).unwrap();
            let mut attempts = txn
                .open_table(redb2::TableDefinition::<(&str, &str), &[u8]>::new(
                    "attempts",
                ))
                .unwrap();
            attempts
                .insert(("a-long-member-id", "pin"), &[1u8, 2][..])
                .unwrap();
            attempts.insert(("b", "answers"), &[3u8][..]).unwrap();
            let mut by_ani = txn
                .open_table(redb2::TableDefinition::<(&str, &str), i64>::new(
                    "calls_by_ani",
                ))
                .unwrap();
            by_ani.insert(("+16125550101", "c1"), 5).unwrap();
            if let Some(name) = extra_table {
                txn.open_table(redb2::TableDefinition::<&str, &str>::new(name))
                    .unwrap()
                    .insert("k", "v")
                    .unwrap();
            }
        }
        txn.commit().unwrap();
    }

    #[test]
    fn every_table_shape_is_copied_row_for_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        every_shape(&path, None);
        let done = upgrade_file(&path, false).unwrap();
        assert_eq!((done.tables, done.rows, done.kept), (4, 5, None));
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_read().unwrap();
        let attempts = txn.open_table(tables::ATTEMPTS).unwrap();
        let rows: Vec<((String, String), Vec<u8>)> = attempts
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                let (a, b) = k.value();
                ((a.to_string(), b.to_string()), v.value().to_vec())
            })
            .collect();
        assert_eq!(
            rows,
            [
                (("a-long-member-id".into(), "pin".into()), vec![1, 2]),
                (("b".into(), "answers".into()), vec![3])
            ]
        );
        let staged = txn.open_table(tables::STAGED_MEMBERS.phones).unwrap();
        assert_eq!(
            staged.get("+1612555").unwrap().unwrap().value(),
            "+16125550101\u{0}70001"
        );
        let audit = txn.open_table(tables::AUDIT).unwrap();
        assert_eq!(audit.get(7).unwrap().unwrap().value(), b"seven");
        // schema 1's index is left behind: the 1 -> 2 migration would drop it anyway
        let names: Vec<String> = redb::ReadTransaction::list_tables(&txn)
            .unwrap()
            .map(|t| redb::TableHandle::name(&t).to_string())
            .collect();
        assert!(!names.contains(&"calls_by_ani".to_string()), "{names:?}");
        drop((attempts, staged, audit, txn, db));
        // and the store opens, migrating schema 1 to 2
        let store = Store::open_file(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            crate::store::SCHEMA_VERSION
        );
    }

    #[test]
    fn a_copy_left_by_an_interrupted_upgrade_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        every_shape(&path, None);
        // a crash during the copy: a partial file beside the untouched store
        fs::write(dir.path().join("s.redb.upgrading"), b"half a copy").unwrap();
        let store = Store::open_file(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            crate::store::SCHEMA_VERSION
        );
        assert!(!dir.path().join("s.redb.upgrading").exists());
        assert!(dir.path().join("s.redb.format-2").is_file());
    }

    #[test]
    fn the_copy_keeps_the_stores_owner() {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: cannot make a store another user owns; skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        every_shape(&path, None);
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        upgrade_file(&path, true).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o777),
            (65534, 65534, 0o600)
        );
    }

    #[test]
    fn a_table_it_does_not_know_stops_the_upgrade_and_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        every_shape(&path, Some("someone_elses"));
        let before = fs::read(&path).unwrap();
        let err = Store::open_file(&path).err().expect("refused");
        let text = err.to_string();
        assert!(
            text.contains("someone_elses") && text.contains("format 2"),
            "{text}"
        );
        assert_eq!(fs::read(&path).unwrap(), before);
        assert!(!dir.path().join("s.redb.upgrading").exists());
        assert!(!dir.path().join("s.redb.format-2").exists());
    }

    #[test]
    fn a_format_2_store_in_use_is_not_upgraded_under_its_user() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        every_shape(&path, None);
        let held = redb2::Database::open(&path).unwrap();
        let err = Store::open_file(&path).err().expect("refused");
        assert!(matches!(err, StoreError::InUse { .. }), "{err}");
        drop(held);
        Store::open_file(&path).unwrap();
    }
}
