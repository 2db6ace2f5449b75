//! Pre-enrollment (ENROLL.md): a CSV of members is checked row by row and applied in one
//! transaction, all or nothing, with result files that say what happened to every row.
//!
//! Two passes keep memory small for million-row files. The first reads the file once to find
//! file-level problems (not UTF-8, no header, missing column, empty), duplicate member ids,
//! and every phone claimed, classifying numbers on all cores. The second reads it again,
//! decides each row, and applies it, inside one write transaction that also carries the
//! run's audit record. A dry run, or any error, aborts that transaction: nothing changes.

pub mod decide;
pub mod generate;
pub mod inbox;
pub mod lines;
pub mod progress;
pub mod row;

use lines::LineCounter;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, Utc};
use csv::{ByteRecord, StringRecord};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEvent, EventKind, Outcome, append_in};
use crate::core::embedded;
use crate::member::phone::{Classifier, PhoneClass, Region, e164};
use crate::member::{Member, MemberRecord};
use crate::store::{Store, StoreError};
pub use decide::Reason;
pub use progress::Progress;
use row::{Columns, HeaderError, Row};

/// Incremental (default) or full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Rows add, update or delete members; the rest are untouched.
    #[default]
    Incremental,
    /// The file is the complete set: enrolled members missing from it are removed.
    Full,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Options {
    pub mode: Mode,
    pub dry_run: bool,
    pub region_code: String,
    pub recent_change_days: u32,
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowResult {
    Created,
    Updated,
    Unchanged,
    Deleted,
    Rejected,
}

impl RowResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RowResult::Created => "created",
            RowResult::Updated => "updated",
            RowResult::Unchanged => "unchanged",
            RowResult::Deleted => "deleted",
            RowResult::Rejected => "rejected",
        }
    }
}

/// `NAME.summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub file: String,
    pub mode: Mode,
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub rows: u64,
    pub results: BTreeMap<String, u64>,
    pub reasons: BTreeMap<String, u64>,
    pub unknown_columns: Vec<String>,
    /// Members enrolled after the run (for a dry run: had it been applied).
    pub members_enrolled: u64,
    /// Enrolled members' numbers that stopped identifying them because a member in this file
    /// claims the same number.
    pub phones_withdrawn: u64,
    pub results_file: PathBuf,
}

/// A problem that stops the whole file. Nothing is applied.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: {problem}")]
    Header { file: String, problem: HeaderError },
    #[error("{file}: line {line} is not UTF-8 text")]
    NotUtf8 { file: String, line: u64 },
    #[error("{file}: cannot be read as CSV at line {line}: {problem}")]
    Csv {
        file: String,
        line: u64,
        problem: String,
    },
    #[error("{file}: {error}")]
    Io { file: String, error: io::Error },
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EnrollError {
    /// A problem with the file itself (it goes to `failed/`), not with callvault.
    pub fn is_file_problem(&self) -> bool {
        !matches!(self, EnrollError::Store(_) | EnrollError::Config(_))
    }
}

macro_rules! store_err {
    ($($t:ty),*) => {$(
        impl From<$t> for EnrollError {
            fn from(e: $t) -> Self {
                EnrollError::Store(e.into())
            }
        }
    )*};
}
store_err!(
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::TransactionError
);

const BOM: &[u8] = b"\xEF\xBB\xBF";
const BATCH: usize = 16_384;

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The CSV reader over a file, past any byte-order mark.
fn open_csv(path: &Path) -> Result<csv::Reader<LineCounter<BufReader<File>>>, EnrollError> {
    let file = file_name(path);
    let io = |error| EnrollError::Io {
        file: file.clone(),
        error,
    };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
    if reader.fill_buf().map_err(io)?.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineCounter::new(reader)))
}

/// Read the next record as UTF-8; `None` at the end.
fn next_record(
    csv: &mut csv::Reader<LineCounter<BufReader<File>>>,
    raw: &mut ByteRecord,
    file: &str,
) -> Result<Option<(StringRecord, u64)>, EnrollError> {
    match csv.read_byte_record(raw) {
        Ok(false) => Ok(None),
        Ok(true) => {
            let line = lines::line_of(csv, raw);
            let record =
                StringRecord::from_byte_record(raw.clone()).map_err(|_| EnrollError::NotUtf8 {
                    file: file.to_string(),
                    line,
                })?;
            Ok(Some((record, line)))
        }
        Err(e) => Err(EnrollError::Csv {
            file: file.to_string(),
            line: e.position().map_or(0, |p| p.line()),
            problem: e.to_string(),
        }),
    }
}

/// Data rows parsed on the reader thread, with how far into the file they reach.
struct Batch {
    rows: Vec<(u64, Result<Row, row::Malformed>)>,
    bytes: u64,
}

/// Read and parse the data rows of `path` (past the header) in batches: the reading and
/// parsing run on their own core while the caller does the rest. Stops when the receiver
/// is gone.
fn read_rows(path: &Path, columns: &Columns, tx: mpsc::SyncSender<Result<Batch, EnrollError>>) {
    let file = file_name(path);
    let result = (|| -> Result<(), EnrollError> {
        let mut csv = open_csv(path)?;
        let mut raw = ByteRecord::new();
        next_record(&mut csv, &mut raw, &file)?;
        let mut rows = Vec::with_capacity(BATCH);
        while let Some((record, line)) = next_record(&mut csv, &mut raw, &file)? {
            rows.push((line, row::parse(columns, &record)));
            if rows.len() >= BATCH {
                let batch = Batch {
                    rows: std::mem::replace(&mut rows, Vec::with_capacity(BATCH)),
                    bytes: csv.position().byte(),
                };
                if tx.send(Ok(batch)).is_err() {
                    return Ok(());
                }
            }
        }
        let _ = tx.send(Ok(Batch {
            rows,
            bytes: csv.position().byte(),
        }));
        Ok(())
    })();
    if let Err(e) = result {
        let _ = tx.send(Err(e));
    }
}

/// What the first pass learned about one data row.
#[derive(Clone, Copy)]
struct Scan {
    mobile: Option<PhoneClass>,
    others_start: u32,
    others_len: u16,
}

/// Claims on a phone number by members of the file.
#[derive(Clone, Copy)]
struct Claim {
    first_row: u32,
    many: bool,
}

struct FirstPass {
    columns: Columns,
    rows: u64,
    scans: Vec<Scan>,
    other_digits: Vec<u64>,
    /// member id -> line of its first occurrence.
    first_line: FxHashMap<Box<str>, u64>,
    claims: FxHashMap<u64, Claim>,
}

fn first_pass(
    path: &Path,
    region: Region,
    progress: &dyn Progress,
) -> Result<FirstPass, EnrollError> {
    let file = file_name(path);
    let total_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    progress.phase("checking", total_bytes);
    let mut csv = open_csv(path)?;
    let mut raw = ByteRecord::new();
    let Some((header, _)) = next_record(&mut csv, &mut raw, &file)? else {
        return Err(EnrollError::Empty { file });
    };
    if header.iter().all(|f| f.trim().is_empty()) {
        return Err(EnrollError::Empty { file });
    }
    let columns = Columns::from_header(&header).map_err(|problem| EnrollError::Header {
        file: file.clone(),
        problem,
    })?;
    let mut pass = FirstPass {
        columns,
        rows: 0,
        scans: Vec::new(),
        other_digits: Vec::new(),
        first_line: FxHashMap::default(),
        claims: FxHashMap::default(),
    };
    drop(csv);
    let mut classifier = Classifier::default();
    let columns = pass.columns.clone();
    std::thread::scope(|scope| -> Result<(), EnrollError> {
        let (tx, rx) = mpsc::sync_channel(4);
        scope.spawn(|| read_rows(path, &columns, tx));
        let mut batch: Vec<(u32, Option<Row>)> = Vec::with_capacity(BATCH);
        for parsed in rx {
            let parsed = parsed?;
            for (line, row) in parsed.rows {
                let index = pass.rows as u32;
                pass.rows += 1;
                let keep = match row {
                    Ok(r) if !pass.first_line.contains_key(r.member.member_id.as_str()) => {
                        pass.first_line
                            .insert(r.member.member_id.clone().into_boxed_str(), line);
                        (!r.delete).then_some(r)
                    }
                    _ => None,
                };
                batch.push((index, keep));
            }
            classify_batch(&mut pass, &mut batch, region, &mut classifier);
            progress.advance_to(parsed.bytes);
        }
        Ok(())
    })?;
    Ok(pass)
}

/// Classify the phones of a batch, then record scans and claims in row order.
fn classify_batch(
    pass: &mut FirstPass,
    batch: &mut Vec<(u32, Option<Row>)>,
    region: Region,
    classifier: &mut Classifier,
) {
    for (index, row) in batch.drain(..) {
        let start = pass.other_digits.len() as u32;
        let (mobile, claimed) = match &row {
            Some(r) => {
                let mobile = r
                    .mobile_text
                    .as_deref()
                    .map(|m| classifier.classify(m, region));
                let mut claimed: Vec<u64> =
                    mobile.and_then(PhoneClass::digits).into_iter().collect();
                for p in &r.other_texts {
                    if let Some(d) = classifier.classify(p, region).digits()
                        && !claimed.contains(&d)
                    {
                        claimed.push(d);
                        pass.other_digits.push(d);
                    }
                }
                (mobile, claimed)
            }
            None => (None, Vec::new()),
        };
        for d in claimed {
            pass.claims
                .entry(d)
                .and_modify(|c| c.many |= c.first_row != index)
                .or_insert(Claim {
                    first_row: index,
                    many: false,
                });
        }
        pass.scans.push(Scan {
            mobile,
            others_start: start,
            others_len: (pass.other_digits.len() as u32 - start) as u16,
        });
    }
}

/// The result of a run, for the CLI and the inbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub summary: Summary,
    pub summary_file: PathBuf,
}

/// Enroll a file. Result files go to `outbox`. `actor` is who asked (for the audit record).
pub fn run(
    store: &Store,
    path: &Path,
    outbox: &Path,
    options: &Options,
    actor: &str,
    progress: &dyn Progress,
) -> Result<Report, EnrollError> {
    let started_at = Utc::now();
    let region = Region::parse(&options.region_code)
        .ok_or_else(|| EnrollError::Config(format!("unknown region {:?}", options.region_code)))?;
    let file = file_name(path);
    let clock = std::time::Instant::now();
    let pass = first_pass(path, region, progress)?;
    tracing::debug!(elapsed = ?clock.elapsed(), rows = pass.rows, "enroll: first pass");
    let in_file = |id: &str| pass.first_line.contains_key(id);

    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    crate::store::create_private_dir(outbox)?;
    let results_path = outbox.join(format!("{stem}.results.csv"));
    let summary_path = outbox.join(format!("{stem}.summary.json"));
    let results_partial = outbox.join(format!(".{stem}.results.csv.partial"));
    let io = |error| EnrollError::Io {
        file: file.clone(),
        error,
    };
    let mut out = csv::Writer::from_path(&results_partial).map_err(|e| io(io::Error::other(e)))?;
    out.write_record(["line", "member_id", "result", "reason", "detail"])
        .map_err(|e| io(io::Error::other(e)))?;

    let now = Utc::now();
    let now_naive = now.naive_utc();
    let mut results: BTreeMap<String, u64> = BTreeMap::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut phones_withdrawn = 0u64;
    let txn = store.begin_write()?;
    let mut dir = embedded::Directory::open(&txn)?;
    dir.begin_bulk();
    progress.phase("applying", pass.rows);

    let mut index = 0usize;
    let columns = pass.columns.clone();
    std::thread::scope(|scope| -> Result<(), EnrollError> {
        let (tx, rx) = mpsc::sync_channel(4);
        scope.spawn(|| read_rows(path, &columns, tx));
        for parsed in rx {
            for (line, row) in parsed?.rows {
                let scan = pass.scans.get(index).copied();
                index += 1;
                let outcome = decide_and_apply(
                    &mut dir,
                    &pass,
                    &in_file,
                    row,
                    line,
                    scan,
                    options,
                    now,
                    now_naive,
                    &mut phones_withdrawn,
                )?;
                *results
                    .entry(outcome.result.as_str().to_string())
                    .or_default() += 1;
                if let Some(r) = outcome.reason {
                    *reasons.entry(r.as_str().to_string()).or_default() += 1;
                }
                out.write_record([
                    line.to_string().as_str(),
                    outcome.member_id.as_str(),
                    outcome.result.as_str(),
                    outcome.reason.map_or("", Reason::as_str),
                    outcome.detail.as_str(),
                ])
                .map_err(|e| io(io::Error::other(e)))?;
            }
            progress.advance_to(index as u64);
        }
        Ok(())
    })?;
    progress.advance_to(index as u64);
    tracing::debug!(elapsed = ?clock.elapsed(), "enroll: rows applied");
    // Full-mode removals below may touch members the rows did not: write the rows' index
    // changes first, and make the removals directly.
    dir.finish_bulk()?;
    tracing::debug!(elapsed = ?clock.elapsed(), "enroll: indexes written");

    if options.mode == Mode::Full {
        for id in dir.all_ids()? {
            if in_file(&id) {
                continue;
            }
            if let Some(old) = dir.get(&id)? {
                dir.remove(&old)?;
            }
            *results.entry("deleted".into()).or_default() += 1;
            out.write_record(["", id.as_str(), "deleted", "", "not in the full file"])
                .map_err(|e| io(io::Error::other(e)))?;
        }
    }
    out.flush().map_err(io)?;
    drop(out);

    let members_enrolled = dir.count()?;
    drop(dir);
    let summary = Summary {
        file: file.clone(),
        mode: options.mode,
        dry_run: options.dry_run,
        started_at,
        finished_at: Utc::now(),
        rows: pass.rows,
        results,
        reasons,
        unknown_columns: pass.columns.unknown.clone(),
        phones_withdrawn,
        members_enrolled,
        results_file: results_path.clone(),
    };
    let counts = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let detail = format!(
        "file={file} mode={:?} dry_run={} rows={} {} reasons: {} enrolled={}",
        options.mode,
        options.dry_run,
        pass.rows,
        counts(&summary.results),
        counts(&summary.reasons),
        members_enrolled
    )
    .to_lowercase();
    append_in(
        &txn,
        now,
        [AuditEvent::new(actor, EventKind::EnrollmentRun, Outcome::Ok).detail(detail)],
    )?;
    if options.dry_run {
        txn.abort()?;
    } else {
        txn.commit()?;
    }
    tracing::debug!(elapsed = ?clock.elapsed(), "enroll: committed");
    let summary_text = serde_json::to_vec_pretty(&summary).map_err(|e| io(io::Error::other(e)))?;
    write_atomically(&summary_path, &summary_text).map_err(io)?;
    std::fs::rename(&results_partial, &results_path).map_err(io)?;
    progress.finish();
    Ok(Report {
        summary,
        summary_file: summary_path,
    })
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("json.partial");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

struct RowOutcome {
    member_id: String,
    result: RowResult,
    reason: Option<Reason>,
    detail: String,
}

#[allow(clippy::too_many_arguments)]
fn decide_and_apply(
    dir: &mut embedded::Directory<'_>,
    pass: &FirstPass,
    in_file: &dyn Fn(&str) -> bool,
    row: Result<Row, row::Malformed>,
    line: u64,
    scan: Option<Scan>,
    options: &Options,
    now: DateTime<Utc>,
    now_naive: chrono::NaiveDateTime,
    phones_withdrawn: &mut u64,
) -> Result<RowOutcome, EnrollError> {
    let rejected = |member_id: String, reason: Reason, detail: String| RowOutcome {
        member_id,
        result: RowResult::Rejected,
        reason: Some(reason),
        detail,
    };
    let row = match row {
        Ok(r) => r,
        Err(m) => {
            return Ok(rejected(
                m.member_id.unwrap_or_default(),
                Reason::MalformedRow,
                m.detail,
            ));
        }
    };
    let first = pass.first_line.get(row.member.member_id.as_str()).copied();
    if first != Some(line) {
        return Ok(rejected(
            row.member.member_id,
            Reason::DuplicateRow,
            format!("member_id first appears on line {}", first.unwrap_or(0)),
        ));
    }
    let stored = dir.get(&row.member.member_id)?;
    if row.delete {
        return Ok(match stored {
            Some(old) => {
                dir.remove(&old)?;
                RowOutcome {
                    member_id: row.member.member_id,
                    result: RowResult::Deleted,
                    reason: None,
                    detail: String::new(),
                }
            }
            None => rejected(
                row.member.member_id,
                Reason::UnknownMember,
                "not enrolled".into(),
            ),
        });
    }
    let scan = scan.unwrap_or(Scan {
        mobile: None,
        others_start: 0,
        others_len: 0,
    });
    let others: &[u64] = pass
        .other_digits
        .get(scan.others_start as usize..(scan.others_start as usize + scan.others_len as usize))
        .unwrap_or(&[]);
    // Enrolled members outside the file who claim one of this row's numbers. In full mode
    // they are all about to be removed, so they claim nothing.
    let mut claimed: Vec<u64> = scan
        .mobile
        .and_then(PhoneClass::digits)
        .into_iter()
        .collect();
    for d in others {
        if !claimed.contains(d) {
            claimed.push(*d);
        }
    }
    let mut shared_with_enrolled = false;
    let mobile_digits = scan.mobile.and_then(PhoneClass::digits);
    if options.mode == Mode::Incremental {
        for digits in &claimed {
            let number = e164(*digits);
            for other in dir.phone_ids(&number)? {
                if other == row.member.member_id || in_file(&other) {
                    continue;
                }
                if Some(*digits) == mobile_digits {
                    shared_with_enrolled = true;
                }
                if let Some(rec) = dir.get(&other)? {
                    let theirs = rec.member.mobile_phone.as_deref() == Some(number.as_str());
                    if theirs && !rec.member.withdrawn_phones.contains(&number) {
                        let mut member = rec.member.clone();
                        member.withdrawn_phones.push(number.clone());
                        dir.put(Some(&rec), member, now)?;
                        *phones_withdrawn += 1;
                    }
                }
            }
        }
    }
    let shared_in_file = mobile_digits
        .and_then(|d| pass.claims.get(&d))
        .is_some_and(|c| c.many);
    let candidate = decide::Candidate {
        mobile: scan.mobile,
        phone_type: row.member.phone_type,
        fraud_flag: row.member.fraud_flag,
        profile_changed_at: row.member.profile_changed_at,
        shared: shared_in_file || shared_with_enrolled,
    };
    if let Some(reason) = decide::reason(&candidate, now_naive, options.recent_change_days) {
        let mut detail = match reason {
            Reason::SharedPhone => "the mobile number is also another member's".to_string(),
            _ => String::new(),
        };
        if let Some(old) = stored.filter(|_| reason.withdraws_enrollment()) {
            dir.remove(&old)?;
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str("was enrolled, removed");
        }
        return Ok(rejected(row.member.member_id, reason, detail));
    }
    let ignored = row.other_texts.len() - others.len().min(row.other_texts.len());
    let member = member_from(row, mobile_digits, others);
    let (result, old) = match stored {
        Some(old) if same_facts(&old, &member) => (RowResult::Unchanged, None),
        Some(old) => (RowResult::Updated, Some(old)),
        None => (RowResult::Created, None),
    };
    let member_id = member.member_id.clone();
    if result != RowResult::Unchanged {
        dir.put(old.as_ref(), member, now)?;
    }
    Ok(RowOutcome {
        member_id,
        result,
        reason: None,
        detail: if ignored > 0 {
            format!("{ignored} other phone(s) not valid, ignored")
        } else {
            String::new()
        },
    })
}

fn same_facts(old: &MemberRecord, new: &Member) -> bool {
    &old.member == new
}

/// The row's member, with its classified phones.
fn member_from(row: Row, mobile: Option<u64>, others: &[u64]) -> Member {
    Member {
        mobile_phone: mobile.map(e164),
        other_phones: others
            .iter()
            .filter(|d| Some(**d) != mobile)
            .map(|d| e164(*d))
            .collect(),
        ..row.member
    }
}

#[cfg(test)]
mod tests;
