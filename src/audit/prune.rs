//! Pruning old records once a copy of them is kept elsewhere (`callvault audit prune`).
//!
//! Every call writes several records, and the store keeps them all, so the log grows for as
//! long as the appliance runs. A credit union keeps its audit trail in its SIEM for as long
//! as its rules say; the store needs only the recent part. A record is removed only when an
//! export given on the command line holds it with the same hash, so pruning never loses a
//! record that is not kept elsewhere. The chain goes on from the last pruned record (the
//! base), so `audit verify` still checks every record left, and an export taken before
//! still anchors it (`audit verify --against`).
//!
//! Records go a slice per transaction, each moving the base with it, with a pause after
//! each, so IVR steps (which append records through the same writer) are not held up and a
//! crash leaves a shorter chain that still verifies. The first slice of a prune that takes
//! several also records an `audit_prune_started` event naming them all, so that even a
//! prune a crash cut short is in the log. Between slices a prune stops when asked (Ctrl-C, the service stopping): what
//! it removed stays removed, and running it again removes the rest. The newest record
//! always stays.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{
    Anchor, AuditEvent, BASE_KEY, EventKind, Framed, Head, Outcome, append_in, verify_with,
};
use crate::enroll::Progress;
use crate::store::{Store, StoreError, tables};

/// Records removed per transaction, and the pause after each.
pub const SLICE: u64 = 8_192;
pub(super) const PAUSE: Duration = Duration::from_millis(2);

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the audit chain is broken at record {seq} ({reason}); pruning would hide it, so \
         nothing was pruned (see `callvault audit verify`)"
    )]
    Broken { seq: u64, reason: String },
    #[error(
        "record {seq} is older than {before} but in none of the exports given; nothing was \
         pruned. Export the log (`callvault audit export`) and give that file"
    )]
    NotCopied { seq: u64, before: String },
    #[error(
        "record {seq} differs from {copy}: the store's record or that copy was changed; \
         nothing was pruned (see `callvault audit verify --against`)"
    )]
    Differs { seq: u64, copy: String },
    #[error("{path}: {problem}")]
    Copy { path: PathBuf, problem: String },
    #[error(
        "{error}; records {first}..={last} ({} records) were removed before it stopped, and \
         the chain goes on from record {last}: run the same command again to remove the rest",
        last - first + 1
    )]
    CutShort {
        first: u64,
        last: u64,
        error: Box<PruneError>,
    },
}

crate::store::redb_errors_via_store!(PruneError);

/// What a prune removed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PruneReport {
    /// Records removed.
    pub removed: u64,
    /// The first and last sequence numbers removed (both 0 when none was).
    pub first: u64,
    pub last: u64,
    /// The chain's base afterwards: the last pruned record, which the first record left
    /// links to.
    pub base: Option<Anchor>,
}

/// Remove the records older than `before` (but never the newest) that `copies` (files
/// `audit export` wrote) hold with the same hash. Refused whole, before anything is
/// removed, when the chain is broken or a record to remove is in no copy.
pub fn prune(
    store: &Store,
    before: DateTime<Utc>,
    copies: &[impl AsRef<Path>],
    actor: &str,
    slice: u64,
    progress: &dyn Progress,
) -> Result<PruneReport, PruneError> {
    // every copy named must open, even when nothing turns out old enough to need it: a
    // mistyped path is said at once, not on the day it matters
    for path in copies {
        let path = path.as_ref();
        std::fs::File::open(path).map_err(|e| PruneError::Copy {
            path: path.to_path_buf(),
            problem: format!("cannot read it: {e}"),
        })?;
    }
    let (first, last) = {
        let txn = store.begin_read()?;
        if let Some(bad) = verify_with(&txn, progress)?.first_bad {
            return Err(PruneError::Broken {
                seq: bad.seq,
                reason: bad.reason,
            });
        }
        let table = txn.open_table(tables::AUDIT)?;
        let Some((newest, _)) = table.last()? else {
            return Ok(PruneReport::default());
        };
        let newest = newest.value();
        let mut range: Option<(u64, u64)> = None;
        for entry in table.range(..newest)? {
            let (k, v) = entry?;
            let record = Framed::decode(v.value())
                .map_err(|e| StoreError::Corrupt(format!("audit record {}: {e}", k.value())))?;
            if record.time().is_none_or(|t| t >= before) {
                break;
            }
            range = Some((range.map_or(k.value(), |r| r.0), k.value()));
        }
        let Some((first, last)) = range else {
            return Ok(PruneReport::default());
        };
        progress.phase("comparing", last - first + 1);
        check_copied(&table, first, last, before, copies, progress)?;
        (first, last)
    };

    let mut report = PruneReport {
        first,
        last,
        ..PruneReport::default()
    };
    progress.phase("pruning", last - first + 1);
    // an error once some slices are removed says which
    let cut_short = |removed: u64, error: PruneError| match removed {
        0 => error,
        n => PruneError::CutShort {
            first,
            last: first + n - 1,
            error: Box::new(error),
        },
    };
    let mut from = first;
    while from <= last {
        let to = last.min(from.saturating_add(slice.max(1) - 1));
        if from > first {
            progress
                .go_on()
                .map_err(|e| cut_short(report.removed, e.into()))?;
        }
        let txn = store
            .begin_write()
            .map_err(|e| cut_short(report.removed, e.into()))?;
        let step = (|| -> Result<Anchor, StoreError> {
            let base = {
                let mut table = txn.open_table(tables::AUDIT)?;
                let record = match table.get(to)? {
                    Some(v) => Framed::decode(v.value())
                        .map_err(|e| StoreError::Corrupt(format!("audit record {to}: {e}")))?,
                    None => return Err(StoreError::Corrupt(format!("audit record {to} is gone"))),
                };
                // one key at a time: `retain_in` copies the pages it edits again for each
                // removal (4 times slower here, the writer held 0.24 s a slice)
                for seq in from..=to {
                    table.remove(seq)?;
                }
                Head {
                    seq: to,
                    hash: record.hash,
                }
            };
            let bytes = serde_json::to_vec(&base)
                .map_err(|e| StoreError::Corrupt(format!("cannot encode the audit base: {e}")))?;
            txn.open_table(tables::META)?
                .insert(BASE_KEY, bytes.as_slice())?;
            if from == first && to < last {
                let detail = format!(
                    "records {first}..={last} ({} records) older than {} are being removed, \
                     {slice} a transaction",
                    last - first + 1,
                    before.to_rfc3339(),
                );
                let event = AuditEvent::new(actor, EventKind::AuditPruneStarted, Outcome::Ok);
                append_in(&txn, Utc::now(), [event.detail(detail)])?;
            }
            if to == last {
                let detail = format!(
                    "records {first}..={last} ({} records) older than {}; the chain goes on \
                     from record {last} ({})",
                    last - first + 1,
                    before.to_rfc3339(),
                    base.hash
                );
                let event = AuditEvent::new(actor, EventKind::AuditPruned, Outcome::Ok);
                append_in(&txn, Utc::now(), [event.detail(detail)])?;
            }
            Ok(Anchor {
                seq: base.seq,
                hash: base.hash,
            })
        })();
        match step {
            Ok(base) => {
                txn.commit()
                    .map_err(|e| cut_short(report.removed, e.into()))?;
                report.removed += to - from + 1;
                report.base = Some(base);
                progress.advance_to(report.removed);
            }
            Err(e) => {
                txn.failed(&e);
                return Err(cut_short(report.removed, e.into()));
            }
        }
        from = to + 1;
        if from <= last {
            std::thread::sleep(PAUSE);
        }
    }
    progress.finish();
    Ok(report)
}

/// Every record `first..=last` must be in some copy with the store's hash. The copies are
/// read one line at a time; a bit per record says which were found.
fn check_copied(
    table: &impl ReadableTable<u64, &'static [u8]>,
    first: u64,
    last: u64,
    before: DateTime<Utc>,
    copies: &[impl AsRef<Path>],
    progress: &dyn Progress,
) -> Result<(), PruneError> {
    let count = (last - first + 1) as usize;
    let mut found = vec![0u64; count.div_ceil(64)];
    let mut compared = 0u64;
    for path in copies {
        let path = path.as_ref();
        let problem = |problem: String| PruneError::Copy {
            path: path.to_path_buf(),
            problem,
        };
        for record in super::anchor::copy_records(path).map_err(|e| problem(e.to_string()))? {
            let (line, copy) = record.map_err(|e| problem(e.to_string()))?;
            if copy.seq < first || copy.seq > last {
                continue;
            }
            let stored = table.get(copy.seq)?.map(|v| {
                Framed::decode(v.value())
                    .map(|r| r.hash)
                    .map_err(|e| StoreError::Corrupt(format!("audit record {}: {e}", copy.seq)))
            });
            let stored = stored.transpose()?;
            if stored.as_deref() != Some(copy.hash.as_str()) {
                return Err(PruneError::Differs {
                    seq: copy.seq,
                    copy: format!("{} line {line}", path.display()),
                });
            }
            let i = (copy.seq - first) as usize;
            found[i / 64] |= 1 << (i % 64);
            compared += 1;
            if compared.is_multiple_of(65_536) {
                progress.advance_to(compared);
                // Ctrl-C, the service stopping: nothing is removed yet
                progress.go_on()?;
            }
        }
    }
    match (0..count).find(|i| found[i / 64] & (1 << (i % 64)) == 0) {
        Some(i) => Err(PruneError::NotCopied {
            seq: first + i as u64,
            before: before.to_rfc3339(),
        }),
        None => Ok(()),
    }
}
