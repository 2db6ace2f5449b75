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
    let source = redb2::Builder::new()
        .set_cache_size(super::COPY_CACHE_BYTES)
        .open(path)
        .map_err(|e| match e {
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
    let target = redb::Builder::new()
        .set_cache_size(super::COPY_CACHE_BYTES)
        .create_with_backend(redb::backends::FileBackend::new(file)?)?;
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
    super::same_owner_as(store, copy)
        .map_err(io_err("cannot give the upgraded store its owner", copy))
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
mod tests;
