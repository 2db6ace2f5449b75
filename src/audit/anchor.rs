//! Checking the chain against copies kept outside the store.
//!
//! The chain shows a record changed, removed or cut off, unless whoever changed it rewrote
//! every hash after it too, and the head: someone who can write the store file can do
//! that. A copy taken earlier and kept elsewhere (a SIEM's `audit export`, the journal's
//! `audit head` lines) still holds the old hashes. A record whose hash differs from its
//! copy's was rewritten, as was every record after it, since each hash covers the one before.

use std::cell::Cell;
use std::io::BufRead;
use std::path::Path;
use std::rc::Rc;
use std::str::FromStr;

use redb::ReadTransaction;
use serde::{Deserialize, Serialize};

use super::{BASE_KEY, BadRecord, HEAD_KEY, read_mark};
use crate::store::{StoreError, tables};

/// A record's sequence number and hash, as a copy holds them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Anchor {
    pub seq: u64,
    pub hash: String,
}

impl FromStr for Anchor {
    type Err = String;

    /// `SEQ:HASH`, as the journal's `audit head` line and `audit verify` print it.
    fn from_str(s: &str) -> Result<Anchor, String> {
        let bad = || format!("{s:?} is not SEQ:HASH (a record number, a colon, 64 hex digits)");
        let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq = seq.parse::<u64>().map_err(|_| bad())?;
        let hash = hash.to_ascii_lowercase();
        if seq == 0 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Anchor { seq, hash })
    }
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// What a check against copies found.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AnchorReport {
    /// Records compared.
    pub checked: u64,
    /// Records of the copies older than the chain's base: pruned from the store
    /// (`audit prune`), so not compared.
    #[serde(default)]
    pub pruned: u64,
    /// The lowest record that differs from its copy, or that the store lacks.
    pub first_bad: Option<BadRecord>,
}

impl AnchorReport {
    fn found(&mut self, seq: u64, reason: String) {
        if self.first_bad.as_ref().is_none_or(|b| seq < b.seq) {
            self.first_bad = Some(BadRecord { seq, reason });
        }
    }
}

/// The records of an exported copy (`audit export`'s JSON lines), one line at a time, with
/// their line numbers; blank lines skipped. An error says the line, never what it holds.
pub(super) fn copy_records(
    path: &Path,
) -> std::io::Result<impl Iterator<Item = std::io::Result<(usize, Anchor)>>> {
    copy_records_counted(path, Rc::default())
}

/// [`copy_records`], adding to `read` the bytes of the file read so far.
fn copy_records_counted(
    path: &Path,
    read: Rc<Cell<u64>>,
) -> std::io::Result<impl Iterator<Item = std::io::Result<(usize, Anchor)>>> {
    let file = Counted {
        inner: std::fs::File::open(path)?,
        read,
    };
    let lines = std::io::BufReader::new(file).lines().enumerate();
    Ok(lines.filter_map(|(n, line)| {
        let line = match line {
            Ok(line) if line.trim().is_empty() => return None,
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        Some(
            serde_json::from_str(&line)
                .map(|a| (n + 1, a))
                .map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("line {} is not an exported audit record", n + 1),
                    )
                }),
        )
    }))
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// How many records of a copy [`check_with`] compares between two words to its progress.
const COMPARE_TELLS_EVERY: usize = 16_384;

/// The chain's last record, as the store records it.
pub fn head(txn: &ReadTransaction) -> Result<Option<Anchor>, StoreError> {
    let head = read_mark(&txn.open_table(tables::META)?, HEAD_KEY)?;
    Ok(head.map(|h| Anchor {
        seq: h.seq,
        hash: h.hash,
    }))
}

/// The last record pruned (`audit prune`), which the chain now goes on from.
pub fn base(txn: &ReadTransaction) -> Result<Option<Anchor>, StoreError> {
    let base = read_mark(&txn.open_table(tables::META)?, BASE_KEY)?;
    Ok(base.map(|b| Anchor {
        seq: b.seq,
        hash: b.hash,
    }))
}

/// Compare the store's records with `anchors` and with every record of the exported files
/// `copies` (JSON lines, as `audit export` writes them; read one line at a time).
pub fn check(
    txn: &ReadTransaction,
    anchors: &[Anchor],
    copies: &[impl AsRef<Path>],
) -> Result<AnchorReport, StoreError> {
    check_with(txn, anchors, copies, &crate::enroll::progress::Silent)
}

/// [`check`], telling `progress` how far into each copy it is (phase `comparing copy`, in
/// bytes of the file) every [`COMPARE_TELLS_EVERY`] records, and asking it then whether to
/// go on ([`Progress::go_on`](crate::enroll::Progress::go_on)): a year's export is a few
/// gigabytes.
pub fn check_with(
    txn: &ReadTransaction,
    anchors: &[Anchor],
    copies: &[impl AsRef<Path>],
    progress: &dyn crate::enroll::Progress,
) -> Result<AnchorReport, StoreError> {
    let table = txn.open_table(tables::AUDIT)?;
    let base = read_mark(&txn.open_table(tables::META)?, BASE_KEY)?;
    let mut report = AnchorReport::default();
    let mut compare = |anchor: &Anchor, source: &dyn Fn() -> String| -> Result<(), StoreError> {
        let stored = match &base {
            Some(b) if anchor.seq < b.seq => {
                report.pruned += 1;
                return Ok(());
            }
            // the last pruned record lives on as the base's hash
            Some(b) if anchor.seq == b.seq => Some(Ok(b.hash.clone())),
            _ => {
                let stored = table.get(anchor.seq)?;
                stored.map(|v| super::Framed::decode(v.value()).map(|r| r.hash))
            }
        };
        report.checked += 1;
        match stored {
            None => report.found(
                anchor.seq,
                format!(
                    "the store has no record {}, which {} holds",
                    anchor.seq,
                    source()
                ),
            ),
            Some(Err(_)) => report.found(anchor.seq, "record does not decode".to_string()),
            Some(Ok(hash)) if hash != anchor.hash => report.found(
                anchor.seq,
                format!(
                    "differs from {}: this record, or one before it, was changed and the chain \
                     rewritten after it",
                    source()
                ),
            ),
            Some(Ok(_)) => {}
        }
        Ok(())
    };
    for anchor in anchors {
        compare(anchor, &|| format!("the anchor {anchor}"))?;
    }
    for path in copies {
        let path = path.as_ref();
        let name = path.display().to_string();
        let io = |error| StoreError::Io {
            action: "cannot read the audit copy",
            path: path.to_path_buf(),
            error,
        };
        progress.phase("comparing copy", std::fs::metadata(path).map_err(io)?.len());
        let read = Rc::<Cell<u64>>::default();
        let records = copy_records_counted(path, read.clone()).map_err(io)?;
        for (n, record) in records.enumerate() {
            let (line, copy) = record.map_err(io)?;
            compare(&copy, &|| format!("{name} line {line}"))?;
            if (n + 1).is_multiple_of(COMPARE_TELLS_EVERY) {
                progress.advance_to(read.get());
                progress.go_on()?;
            }
        }
    }
    Ok(report)
}
