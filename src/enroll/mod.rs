//! Pre-enrollment (ENROLL.md): a CSV of members is checked row by row and applied in one
//! transaction, all or nothing, with result files that say what happened to every row.
//!
//! Two passes keep memory small for million-row files. The first reads the file once to find
//! file-level problems (not UTF-8, no header, missing column, empty), duplicate member ids,
//! and every phone claimed, classifying numbers on all cores. The second reads it again and
//! decides each row. It does that against a read snapshot first, so the store's one writer
//! stays free for IVR steps, and then applies only the rows that change, in one write
//! transaction that also carries the run's audit record. When many rows change (a first
//! enrollment, a daily file of new balances) it decides and applies every row in staging
//! tables instead, in short transactions, and swaps them in for the live ones in one last
//! transaction with the audit record ([`staged`]). A dry run, or any error, changes nothing
//! that lookups read.

pub mod decide;
pub mod forget;
pub mod generate;
pub mod inbox;
pub mod lines;
pub mod names;
pub mod progress;
mod read;
pub mod retention;
pub mod row;
pub mod staged;

use lines::unclosed_quote;
use read::{FirstPass, Scan, file_name, first_pass, read_rows};
use std::collections::BTreeMap;

use rustc_hash::FxHashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEvent, EventKind, Outcome, append_in};
use crate::core::embedded;
use crate::member::phone::{PhoneClass, Region, e164};
use crate::member::{Member, MemberRecord};
use crate::store::{Store, StoreError, tables};
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
    /// `[enroll] slash_dates`: the order of month and day in the file's dates written with
    /// slashes; none: such dates are refused.
    #[serde(default)]
    pub slash_dates: Option<crate::civil::SlashDates>,
    /// `[enroll] encoding`: how the file's text is written.
    #[serde(default)]
    pub encoding: lines::Encoding,
    /// `[enroll] separator`: what stands between the file's columns.
    #[serde(default)]
    pub separator: lines::Separator,
    /// Full mode only: the most enrolled members, in percent, a file may leave out. A file
    /// that leaves out more is refused before anything is applied (a truncated export must
    /// not empty the store). 100: no limit.
    pub max_removed_percent: u8,
    /// Free disk a staged run leaves beside its copy of the member tables (MiB), as
    /// `storage.min_free_mb`: IVR steps must still find room to write.
    pub min_free_mb: u64,
    /// A member the run deletes takes their PIN record, wrong-answer counters and last
    /// verdict along (see [`forget`]). On with the embedded core, whose members
    /// are the credit union's; off with another core, which still knows the member.
    pub forget_removed: bool,
    /// The member facts calls use under the configured profiles
    /// ([`crate::profile::facts_used`]), each named as its column. A file without one of
    /// these columns leaves the members it creates or updates without that fact, and the
    /// summary says so. Empty with another core than the embedded one, whose facts come
    /// from the core.
    #[serde(default)]
    pub asked_columns: Vec<String>,
}

impl Options {
    /// A run in `mode` with the settings of `[enroll]` and `[storage]`.
    pub fn from_config(config: &crate::config::Config, mode: Mode, dry_run: bool) -> Self {
        Options {
            mode,
            dry_run,
            region_code: config.enroll.default_region.clone(),
            recent_change_days: config.enroll.recent_change_days,
            slash_dates: config.enroll.slash_dates,
            encoding: config.enroll.encoding,
            separator: config.enroll.separator,
            max_removed_percent: config.enroll.full_max_removed_percent,
            min_free_mb: config.storage.min_free_mb,
            forget_removed: config.core.kind == crate::config::CoreKind::Embedded,
            asked_columns: match config.core.kind {
                crate::config::CoreKind::Embedded => crate::profile::facts_used(
                    &config.profiles,
                    config.otp.ivr_channel == crate::config::OtpChannel::Email,
                )
                .into_iter()
                .map(str::to_string)
                .collect(),
                _ => Vec::new(),
            },
        }
    }
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
    /// How the file's text was read (`[enroll] encoding`, or `callvault enroll --encoding`).
    /// A summary from a service older than this field (the CLI reads the running service's)
    /// read as Windows-1252 whatever was not UTF-8, Mac Roman not being read then.
    #[serde(default = "lines::Encoding::before_mac_roman")]
    pub encoding: lines::Encoding,
    /// Data rows that were not UTF-8 and were read in [`Summary::encoding`] (Windows-1252
    /// or Mac Roman). Named `rows_windows_1252` before Mac Roman was read.
    #[serde(default, alias = "rows_windows_1252")]
    pub rows_not_utf8: u64,
    /// The unknown columns likely meant as a column the file does not have (`frist_name`:
    /// `first_name`), with it.
    #[serde(default)]
    pub columns_meant: BTreeMap<String, String>,
    /// Members enrolled after the run (for a dry run: had it been applied).
    pub members_enrolled: u64,
    /// Enrolled members' numbers that stopped identifying them because a member in this file
    /// claims the same number.
    pub phones_withdrawn: u64,
    /// PIN records forgotten with the members the run deleted (for a dry run: had it been
    /// applied).
    pub pins_forgotten: u64,
    /// Columns of member facts the profiles use ([`Options::asked_columns`]) that the file
    /// does not have, when it created or updated a member: those members are without them
    /// (they cannot answer such a question, get a code by e-mail, or be found by an account
    /// number).
    #[serde(default)]
    pub asked_columns_missing: Vec<String>,
    /// Per column of a fact the profiles use, the members of this file (created, updated
    /// or unchanged) whose value is a placeholder for "unknown" (`1900-01-01`, `00000`,
    /// `0000`, `UNKNOWN`: [`crate::dialog::answer::placeholder`]): they are not asked it.
    /// Each one's row says which in the results file's `detail`.
    #[serde(default)]
    pub placeholders: BTreeMap<String, u64>,
    pub results_file: PathBuf,
}

impl Summary {
    /// [`Summary::rows_not_utf8`] as a line for the admin, when there are any: which way
    /// the file was read is worth a look (a file in another encoding than the one set, a
    /// Mac's read as Windows-1252, reads with the wrong letters).
    pub fn not_utf8_line(&self) -> Option<String> {
        (self.rows_not_utf8 > 0).then(|| {
            format!(
                "rows read as {}, not being UTF-8: {} of {} (check a few of their names in \
                 member show)",
                self.encoding.label(),
                self.rows_not_utf8,
                self.rows
            )
        })
    }

    /// [`Summary::asked_columns_missing`] as a line for the admin, when there are any.
    pub fn asked_missing_line(&self) -> Option<String> {
        (!self.asked_columns_missing.is_empty()).then(|| {
            format!(
                "no column for member facts the profiles use: {} (the members this file \
                 creates or updates are without them)",
                self.asked_columns_missing.join(", ")
            )
        })
    }

    /// [`Summary::placeholders`] as a line for the admin, when there are any: `members not
    /// asked a fact their row holds as a placeholder for unknown: dob 312, zip 4`.
    pub fn placeholders_line(&self) -> Option<String> {
        (!self.placeholders.is_empty()).then(|| {
            let counts: Vec<String> = (self.placeholders.iter())
                .map(|(column, n)| format!("{column} {n}"))
                .collect();
            format!(
                "members not asked a fact their row holds as a placeholder for unknown \
                 (1900-01-01, 00000, 0000, UNKNOWN...): {} (the results file's detail names them)",
                counts.join(", ")
            )
        })
    }

    /// The columns the run ignored, each with the column it was likely meant to be:
    /// `frist_name (did you mean first_name?), shoe_size`. None when it ignored none.
    pub fn columns_ignored(&self) -> Option<String> {
        let said: Vec<String> = (self.unknown_columns.iter())
            .map(|name| match self.columns_meant.get(name) {
                Some(column) => format!("{name} (did you mean {column}?)"),
                None => name.clone(),
            })
            .collect();
        (!said.is_empty()).then(|| said.join(", "))
    }
}

/// A problem that stops the whole file. Nothing is applied.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: {problem}")]
    Header { file: String, problem: HeaderError },
    #[error(
        "{file}: line {line} is not UTF-8 text: callvault reads UTF-8 (export the file as UTF-8; \
         in Excel, \"CSV UTF-8 (Comma delimited)\"), or another encoding when told so: files \
         saved as Excel's \"CSV (Comma delimited)\" on Windows or a core's \"ANSI\" export \
         read with [enroll] encoding = \"windows-1252\", and Excel for Mac's \"Comma \
         Separated Values\" with encoding = \"macintosh\" (one file: `callvault enroll \
         --encoding windows-1252` or `--encoding macintosh`)"
    )]
    NotUtf8 { file: String, line: u64 },
    #[error("{file}: {kind}")]
    NotCsv { file: String, kind: lines::NotCsv },
    #[error("{file}: cannot be read as CSV at line {line}: {problem}")]
    Csv {
        file: String,
        line: u64,
        problem: String,
    },
    /// A quote opened on `line` and never closed read the rows up to `last` into one
    /// field ([`lines::swallowed_rows`]).
    #[error("{file}: {}", unclosed_quote(*line, *last))]
    UnclosedQuote { file: String, line: u64, last: u64 },
    /// The file's last row is a trailer ([`lines::trailer`]) whose count is not the rows
    /// above it ([`lines::trailer_miscounts`]).
    #[error("{file}: {why}")]
    TrailerCount { file: String, why: String },
    #[error("{file}: {error}")]
    Io { file: String, error: io::Error },
    /// The answer (result files in the outbox) could not be written: callvault's problem
    /// (a full disk, the outbox's permissions), not the file's.
    #[error("{file}: cannot write its answer to the outbox: {error}")]
    Answer { file: String, error: io::Error },
    /// Full mode, and the file leaves out more enrolled members than the limit allows.
    #[error(
        "{file}: in full mode this file would remove {missing} of the {enrolled} enrolled \
         members ({}), more than the limit of {limit}% (enroll.full_max_removed_percent); \
         nothing was applied. A truncated or partial export looks like this. If the file \
         is complete, run it again with --max-removed-percent {}",
        percent_text(*missing, *enrolled),
        percent_needed(*missing, *enrolled)
    )]
    TooManyRemovals {
        file: String,
        missing: u64,
        enrolled: u64,
        limit: u8,
    },
    /// A staged run would leave the disk with less room than IVR steps need.
    #[error(
        "{file}: changes too many rows to apply in place, and its staging copy of the \
         enrolled members needs about {needed_mb} MiB besides the {min_free_mb} MiB kept \
         free (storage.min_free_mb), but the disk has {free_mb} MiB free; nothing was \
         applied. Free some room; the file is tried again"
    )]
    NoRoom {
        file: String,
        needed_mb: u64,
        free_mb: u64,
        min_free_mb: u64,
    },
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether a full-mode file may leave out `missing` of the `enrolled` members.
fn removals_allowed(missing: u64, enrolled: u64, limit_percent: u8) -> bool {
    limit_percent >= 100 || missing * 100 <= enrolled * u64::from(limit_percent)
}

/// The smallest limit that lets `missing` of `enrolled` go.
fn percent_needed(missing: u64, enrolled: u64) -> u64 {
    match enrolled {
        0 => 0,
        _ => (missing * 100).div_ceil(enrolled),
    }
}

/// `missing` as a share of `enrolled`, for people: "0.5%", "37%", "10.1%". Rounded up to the
/// tenth, so a share over the limit never reads as the limit itself.
fn percent_text(missing: u64, enrolled: u64) -> String {
    if enrolled == 0 {
        return "0%".to_string();
    }
    match (missing * 1000).div_ceil(enrolled) {
        _ if missing > 0 && missing * 1000 < enrolled => "under 0.1%".to_string(),
        t if t % 10 == 0 => format!("{}%", t / 10),
        t => format!("{}.{}%", t / 10, t % 10),
    }
}

impl EnrollError {
    /// A problem with the file itself (it goes to `failed/`), not with callvault.
    pub fn is_file_problem(&self) -> bool {
        !matches!(
            self,
            EnrollError::Store(_)
                | EnrollError::Config(_)
                | EnrollError::Answer { .. }
                | EnrollError::NoRoom { .. }
        )
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

/// The result of a run, for the CLI and the inbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub summary: Summary,
    pub summary_file: PathBuf,
}

/// Enroll a file. Result files go to `outbox`. `actor` is who asked (for the audit record).
///
/// Runs one at a time. A run first decides every row against a read snapshot, which keeps
/// the store's one writer free for IVR steps, and then applies only the rows that change in
/// a short write transaction. When many rows change (a first enrollment), or the snapshot's
/// prediction of an applied row turns out wrong, it applies the whole file to staging
/// tables in short transactions and swaps them in at the end. Either way the file is
/// applied whole or not at all.
pub fn run(
    store: &Store,
    path: &Path,
    outbox: &Path,
    options: &Options,
    actor: &str,
    progress: &dyn Progress,
) -> Result<Report, EnrollError> {
    run_with(
        store,
        path,
        outbox,
        options,
        actor,
        progress,
        PREVIEW_LIMITS,
        staged::SLICES,
    )
}

/// When deciding against a snapshot stops paying: more rows to apply than `max_rows`, or,
/// past `min_seen` rows, more than one in `one_in` of them.
#[derive(Clone, Copy)]
struct PreviewLimits {
    max_rows: usize,
    min_seen: usize,
    one_in: usize,
}

const PREVIEW_LIMITS: PreviewLimits = PreviewLimits {
    max_rows: 50_000,
    min_seen: 10_000,
    one_in: 20,
};

impl PreviewLimits {
    fn exceeded(&self, changing: usize, seen: usize) -> bool {
        changing > self.max_rows || (seen >= self.min_seen && changing * self.one_in > seen)
    }
}

#[cfg(test)]
thread_local! {
    /// Runs on this thread that applied only their changing rows.
    static CHANGES_ONLY_RUNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// One run at a time: a run's snapshot decisions hold only while no other run writes.
static RUNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The result file being written, and its counts.
struct Answer {
    /// The enrolled file's name, for errors.
    file: String,
    out: csv::Writer<File>,
    results: BTreeMap<String, u64>,
    reasons: BTreeMap<String, u64>,
    /// The ids of the rows answered `deleted`, in order.
    deleted: Vec<String>,
    placeholders: BTreeMap<String, u64>,
}

impl Answer {
    fn create(file: &Path, results: &Path) -> Result<Answer, EnrollError> {
        let file = file_name(file);
        let io = |e: csv::Error| EnrollError::Answer {
            file: file.clone(),
            error: io::Error::other(e),
        };
        let mut out = csv::Writer::from_path(results).map_err(io)?;
        out.write_record(["line", "member_id", "result", "reason", "detail"])
            .map_err(io)?;
        Ok(Answer {
            file,
            out,
            results: BTreeMap::new(),
            reasons: BTreeMap::new(),
            deleted: Vec::new(),
            placeholders: BTreeMap::new(),
        })
    }

    fn io(&self, error: io::Error) -> EnrollError {
        EnrollError::Answer {
            file: self.file.clone(),
            error,
        }
    }

    fn row(&mut self, line: &str, o: &RowOutcome) -> Result<(), EnrollError> {
        *self
            .results
            .entry(o.result.as_str().to_string())
            .or_default() += 1;
        if let Some(r) = o.reason {
            *self.reasons.entry(r.as_str().to_string()).or_default() += 1;
        }
        if o.result == RowResult::Deleted {
            self.deleted.push(o.member_id.clone());
        }
        for column in &o.placeholders {
            *self.placeholders.entry(column.to_string()).or_default() += 1;
        }
        let written = self.out.write_record([
            line,
            o.member_id.as_str(),
            o.result.as_str(),
            o.reason.map_or("", Reason::as_str),
            o.detail.as_str(),
        ]);
        written.map_err(|e| self.io(io::Error::other(e)))
    }

    /// Everything written out: before the run commits, so a full disk stops it unapplied.
    fn flush(&mut self) -> Result<(), EnrollError> {
        let flushed = self.out.flush();
        flushed.map_err(|e| self.io(e))
    }

    fn deleted(&mut self, member_id: &str) -> Result<(), EnrollError> {
        self.row(
            "",
            &RowOutcome {
                member_id: member_id.to_string(),
                result: RowResult::Deleted,
                reason: None,
                detail: "not in the full file".into(),
                placeholders: Vec::new(),
            },
        )
    }
}

/// A row the snapshot says changes the store, kept to apply it, with what it predicted.
struct Changing {
    line: u64,
    index: usize,
    row: Row,
    predicted: RowOutcome,
}

/// What a run applied, for its summary and audit record.
struct Applied {
    answer: Answer,
    phones_withdrawn: u64,
    members_enrolled: u64,
}

/// Everything a run decides with, besides the directory.
struct Deciding<'a> {
    pass: &'a FirstPass,
    options: &'a Options,
    now: DateTime<Utc>,
    now_naive: chrono::NaiveDateTime,
    /// See [`outside_claims`].
    outside: Option<FxHashSet<u64>>,
}

/// An incremental run reads every claim up front (one pass over the phone index) when the
/// file has at least one row for this many enrolled members; otherwise it looks each row's
/// numbers up as it goes. A file of everyone whose balances changed spent 13 % of its run on
/// those lookups, nearly all of them finding only members of the file.
const CLAIMS_READ_WHOLE_AT: u64 = 4;

#[cfg(test)]
thread_local! {
    /// Tests: always look each row's numbers up, to compare with reading them up front.
    static CLAIMS_ROW_BY_ROW: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The numbers some enrolled member the file leaves out claims (withdrawn claims included),
/// read in one pass over the phone index: a row's number outside this set needs no lookup,
/// since no one but members of the file claims it. Only an incremental run looks (a full
/// run removes those members), and only when the file is large next to the store (see
/// [`CLAIMS_READ_WHOLE_AT`]); `None` otherwise. Runs take turns and only they write the
/// member tables, so the set holds for the whole run.
fn outside_claims(
    store: &Store,
    pass: &FirstPass,
    mode: Mode,
) -> Result<Option<FxHashSet<u64>>, EnrollError> {
    #[cfg(test)]
    if CLAIMS_ROW_BY_ROW.with(|c| c.get()) {
        return Ok(None);
    }
    if mode != Mode::Incremental {
        return Ok(None);
    }
    use redb::{ReadableTable, ReadableTableMetadata};
    let txn = store.begin_read()?;
    let enrolled = txn.open_table(tables::LIVE_MEMBERS.members)?.len()?;
    if pass.rows.saturating_mul(CLAIMS_READ_WHOLE_AT) < enrolled {
        return Ok(None);
    }
    let mut numbers = FxHashSet::default();
    for bucket in txn.open_table(tables::LIVE_MEMBERS.phones)?.iter()? {
        let (_, bucket) = bucket?;
        for (number, id) in tables::bucket_entries(bucket.value()) {
            if pass.first_line.contains_key(id) {
                continue;
            }
            match number.strip_prefix('+').and_then(|d| d.parse().ok()) {
                Some(digits) => numbers.insert(digits),
                // not E.164 digits: no row's number can be it, but look rows up to be sure
                None => return Ok(None),
            };
        }
    }
    Ok(Some(numbers))
}

impl Deciding<'_> {
    fn in_file(&self, id: &str) -> bool {
        self.pass.first_line.contains_key(id)
    }

    fn decide(
        &self,
        dir: &mut impl embedded::MemberDir,
        index: usize,
        line: u64,
        row: Result<Row, row::Malformed>,
        phones_withdrawn: &mut u64,
    ) -> Result<RowOutcome, EnrollError> {
        decide_and_apply(
            dir,
            self.pass,
            &|id: &str| self.in_file(id),
            self.outside.as_ref(),
            row,
            line,
            self.pass.scans.get(index).copied(),
            self.options,
            self.now,
            self.now_naive,
            phones_withdrawn,
        )
    }
}

/// Read the data rows again, in order, calling `each(index, line, row)`; stops early when it
/// answers `false`. Returns whether every row was seen.
fn each_row(
    path: &Path,
    columns: &Columns,
    progress: &dyn Progress,
    mut each: impl FnMut(usize, u64, Result<Row, row::Malformed>) -> Result<bool, EnrollError>,
) -> Result<bool, EnrollError> {
    std::thread::scope(|scope| -> Result<bool, EnrollError> {
        let (tx, rx) = mpsc::sync_channel(4);
        scope.spawn(|| read_rows(path, columns, tx));
        let mut index = 0usize;
        for parsed in rx {
            for (line, row) in parsed?.rows {
                if !each(index, line, row)? {
                    // dropping the receiver stops the reader
                    return Ok(false);
                }
                index += 1;
            }
            progress.advance_to(index as u64);
            // Ctrl-C, the service stopping: a staged run's tables are dropped
            progress.go_on()?;
        }
        Ok(true)
    })
}

#[allow(clippy::too_many_arguments)]
fn run_with(
    store: &Store,
    path: &Path,
    outbox: &Path,
    options: &Options,
    actor: &str,
    progress: &dyn Progress,
    limits: PreviewLimits,
    slices: staged::Slices,
) -> Result<Report, EnrollError> {
    let _one_run = RUNS.lock().unwrap_or_else(|p| p.into_inner());
    // Members an earlier run deleted and did not get to forget (a crash): before this file
    // can enroll any of them again.
    forget::drain(store, slices, actor, progress)?;
    let started_at = Utc::now();
    let region = Region::parse(&options.region_code)
        .ok_or_else(|| EnrollError::Config(format!("unknown region {:?}", options.region_code)))?;
    let file = file_name(path);
    let clock = std::time::Instant::now();
    let pass = first_pass(path, region, options, progress)?;
    tracing::debug!(elapsed = ?clock.elapsed(), rows = pass.rows, "enroll: first pass");
    if options.mode == Mode::Full {
        check_removals(store, &file, &pass, options.max_removed_percent)?;
    }

    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    crate::store::create_private_dir(outbox)?;
    let results_path = outbox.join(format!("{stem}.results.csv"));
    let summary_path = outbox.join(format!("{stem}.summary.json"));
    let results_partial = outbox.join(format!(".{stem}.results.csv.partial"));
    let answer_err = |error| EnrollError::Answer {
        file: file.clone(),
        error,
    };

    let now = Utc::now();
    let deciding = Deciding {
        pass: &pass,
        options,
        now,
        now_naive: now.naive_utc(),
        outside: outside_claims(store, &pass, options.mode)?,
    };
    let record = |txn: &redb::WriteTransaction, answer: &Answer, members_enrolled: u64| {
        if options.forget_removed {
            forget::queue(txn, &answer.deleted, slices)?;
        }
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
            counts(&answer.results),
            counts(&answer.reasons),
            members_enrolled
        )
        .to_lowercase();
        append_in(
            txn,
            now,
            [AuditEvent::new(actor, EventKind::EnrollmentRun, Outcome::Ok).detail(detail)],
        )
        .map(|_| ())
    };

    let previewed = match options.dry_run {
        true => None,
        false => apply_changes_only(
            store,
            path,
            &deciding,
            &results_partial,
            limits,
            progress,
            &record,
        )?,
    };
    let applied = match previewed {
        Some(applied) => applied,
        None => apply_staged(
            store,
            path,
            &deciding,
            &results_partial,
            progress,
            &record,
            slices,
        )?,
    };
    tracing::debug!(elapsed = ?clock.elapsed(), "enroll: committed");
    let Applied {
        answer,
        phones_withdrawn,
        members_enrolled,
    } = applied;
    let pins_forgotten = match (options.forget_removed, options.dry_run) {
        (false, _) => 0,
        (true, true) => forget::pins_of(store, &answer.deleted)?,
        // The run is applied whatever happens here: a drain that fails is finished by the
        // next run, before it reads its file.
        (true, false) => match forget::drain(store, slices, actor, progress) {
            Ok(forgotten) => forgotten.pins,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "enroll: the deleted members' PINs are not all forgotten yet; the next run finishes it"
                );
                0
            }
        },
    };
    let upserted = ["created", "updated"]
        .iter()
        .any(|r| answer.results.get(*r).is_some_and(|n| *n > 0));
    let asked_columns_missing = match upserted {
        true => (options.asked_columns.iter())
            .filter(|c| !pass.columns.has(c))
            .cloned()
            .collect(),
        false => Vec::new(),
    };
    let summary = Summary {
        file: file.clone(),
        mode: options.mode,
        dry_run: options.dry_run,
        started_at,
        finished_at: Utc::now(),
        rows: pass.rows,
        results: answer.results,
        reasons: answer.reasons,
        unknown_columns: pass.columns.unknown.clone(),
        encoding: options.encoding,
        rows_not_utf8: pass.not_utf8,
        columns_meant: (pass.columns.meant.iter())
            .map(|(name, column)| (name.clone(), column.to_string()))
            .collect(),
        phones_withdrawn,
        members_enrolled,
        pins_forgotten,
        asked_columns_missing,
        placeholders: answer.placeholders,
        results_file: results_path.clone(),
    };
    let summary_text =
        serde_json::to_vec_pretty(&summary).map_err(|e| answer_err(io::Error::other(e)))?;
    publish_answer(
        answer.out,
        &results_partial,
        &results_path,
        &summary_path,
        &summary_text,
    )
    .map_err(answer_err)?;
    progress.finish();
    Ok(Report {
        summary,
        summary_file: summary_path,
    })
}

/// Refuse a full-mode file that leaves out more enrolled members than `limit` percent.
/// Decided against a read snapshot before anything is written; runs take turns and only
/// enrollment writes the member tables, so the count still holds when the run applies.
fn check_removals(
    store: &Store,
    file: &str,
    pass: &FirstPass,
    limit: u8,
) -> Result<(), EnrollError> {
    if limit >= 100 {
        return Ok(());
    }
    let snapshot = store.begin_read()?;
    let (missing, enrolled) =
        embedded::Preview::open(&snapshot)?.missing(|id| pass.first_line.contains_key(id))?;
    tracing::debug!(missing, enrolled, limit, "enroll: full mode removals");
    match removals_allowed(missing, enrolled, limit) {
        true => Ok(()),
        false => Err(EnrollError::TooManyRemovals {
            file: file.to_string(),
            missing,
            enrolled,
            limit,
        }),
    }
}

/// What a run writes in its last transaction besides the members: its audit record, and the
/// members it deleted, queued to be forgotten.
type Record<'a> = dyn Fn(&redb::WriteTransaction, &Answer, u64) -> Result<(), StoreError> + 'a;

/// Decide every row against a snapshot, then apply the changing ones in one short write
/// transaction. `None` when that does not pay or the snapshot's prediction failed: nothing
/// was applied, and the caller applies the whole file instead.
fn apply_changes_only(
    store: &Store,
    path: &Path,
    deciding: &Deciding<'_>,
    results_partial: &Path,
    limits: PreviewLimits,
    progress: &dyn Progress,
    record: &Record<'_>,
) -> Result<Option<Applied>, EnrollError> {
    let mut answer = Answer::create(path, results_partial)?;
    let snapshot = store.begin_read()?;
    let mut preview = embedded::Preview::open(&snapshot)?;
    let mut changing: Vec<Changing> = Vec::new();
    let mut ignored_withdrawals = 0u64;
    // "applying" is the staged pass, should this one find too many rows changing: a person
    // watching would otherwise see the whole file applied twice
    progress.phase("deciding", deciding.pass.rows);
    let whole = each_row(
        path,
        &deciding.pass.columns,
        progress,
        |index, line, row| {
            let kept = row.as_ref().ok().cloned();
            let writes = preview.writes;
            let outcome =
                deciding.decide(&mut preview, index, line, row, &mut ignored_withdrawals)?;
            answer.row(&line.to_string(), &outcome)?;
            if preview.writes != writes {
                let Some(row) = kept else {
                    return Ok(false);
                };
                changing.push(Changing {
                    line,
                    index,
                    row,
                    predicted: outcome,
                });
                if limits.exceeded(changing.len(), index + 1) {
                    return Ok(false);
                }
            }
            Ok(true)
        },
    )?;
    if !whole {
        tracing::debug!(
            changing = changing.len(),
            "enroll: many rows change; applying the whole file"
        );
        return Ok(None);
    }
    let removed: Vec<String> = match deciding.options.mode {
        Mode::Full => preview
            .all_ids()?
            .into_iter()
            .filter(|id| !deciding.in_file(id))
            .collect(),
        Mode::Incremental => Vec::new(),
    };
    if limits.exceeded(changing.len() + removed.len(), deciding.pass.rows as usize) {
        return Ok(None);
    }
    drop(preview);
    drop(snapshot);
    tracing::debug!(
        changing = changing.len(),
        removed = removed.len(),
        "enroll: applying the rows that change"
    );

    let txn = store.begin_write()?;
    let mut dir = embedded::Directory::open(&txn)?;
    dir.begin_bulk();
    let mut phones_withdrawn = 0u64;
    for c in changing {
        let outcome =
            deciding.decide(&mut dir, c.index, c.line, Ok(c.row), &mut phones_withdrawn)?;
        if outcome != c.predicted {
            tracing::warn!(
                line = c.line,
                "enroll: a row came out other than its snapshot said; applying the whole file"
            );
            drop(dir);
            txn.abort()?;
            return Ok(None);
        }
    }
    dir.finish_bulk()?;
    for id in &removed {
        if let Some(old) = dir.get(id)? {
            dir.remove(&old)?;
        }
        answer.deleted(id)?;
    }
    answer.flush()?;
    let members_enrolled = dir.count()?;
    drop(dir);
    record(&txn, &answer, members_enrolled)?;
    txn.commit()?;
    #[cfg(test)]
    CHANGES_ONLY_RUNS.with(|n| n.set(n.get() + 1));
    Ok(Some(Applied {
        answer,
        phones_withdrawn,
        members_enrolled,
    }))
}

/// Decide and apply every row in staging tables, a slice at a time, then swap them in for
/// the live tables in one short transaction with the run's audit record (a dry run drops
/// them instead). See [`staged`].
fn apply_staged(
    store: &Store,
    path: &Path,
    deciding: &Deciding<'_>,
    results_partial: &Path,
    progress: &dyn Progress,
    record: &Record<'_>,
    slices: staged::Slices,
) -> Result<Applied, EnrollError> {
    let mut answer = Answer::create(path, results_partial)?;
    let room = staged::Room {
        file: &answer.file,
        min_free_mb: deciding.options.min_free_mb,
    };
    let mut staging = staged::Staging::begin(store, slices, room, progress)?;
    let mut phones_withdrawn = 0u64;
    let mut changes = embedded::IndexChanges::default();
    let mut batch = Vec::with_capacity(slices.rows);
    let mut apply = |staging: &mut staged::Staging<'_>,
                     batch: &mut Vec<(usize, u64, Result<Row, row::Malformed>)>|
     -> Result<(), EnrollError> {
        staging.write(|dir| {
            dir.resume_bulk(std::mem::take(&mut changes));
            for (index, line, row) in batch.drain(..) {
                let outcome = deciding.decide(dir, index, line, row, &mut phones_withdrawn)?;
                answer.row(&line.to_string(), &outcome)?;
            }
            changes = dir.take_bulk();
            Ok(())
        })
    };
    // a dry run's rows go to a copy that is dropped: "applying" would alarm whoever watches
    let phase = match deciding.options.dry_run {
        true => "trying",
        false => "applying",
    };
    progress.phase(phase, deciding.pass.rows);
    each_row(
        path,
        &deciding.pass.columns,
        progress,
        |index, line, row| {
            batch.push((index, line, row));
            if batch.len() >= slices.rows {
                apply(&mut staging, &mut batch)?;
            }
            Ok(true)
        },
    )?;
    apply(&mut staging, &mut batch)?;
    tracing::debug!(
        transactions = staging.transactions(),
        "enroll: rows applied"
    );
    let full = deciding.options.mode == Mode::Full;
    staging.copy_the_rest(|id| !full || deciding.in_file(id), progress)?;
    if full {
        // The members the file leaves out, staged (a row withdrew a number of theirs) or not:
        // their index entries go with the rows' changes, written sorted below.
        let gone = staging.ids_not(|id| deciding.in_file(id))?;
        for slice in gone.chunks(slices.rows) {
            staging.write(|dir| {
                dir.resume_bulk(std::mem::take(&mut changes));
                for id in slice {
                    if let Some(old) = dir.get(id)? {
                        dir.remove(&old)?;
                    }
                    answer.deleted(id)?;
                }
                changes = dir.take_bulk();
                Ok(())
            })?;
        }
    }
    let mut writer = embedded::ChangesWriter::new(&changes);
    while !staging.write(|dir| Ok(writer.write(dir, slices.buckets)?))? {}
    drop(writer);
    tracing::debug!(
        transactions = staging.transactions(),
        "enroll: indexes written"
    );
    answer.flush()?;
    let members_enrolled = staging.count()?;
    match deciding.options.dry_run {
        true => staging.discard()?,
        false => staging.swap_in(|txn| record(txn, &answer, members_enrolled))?,
    }
    Ok(Applied {
        answer,
        phones_withdrawn,
        members_enrolled,
    })
}

/// Put a run's answer in the outbox for good: the results (written to `partial` through
/// `results`) and the summary are synced to disk before they take their names, and the
/// outbox's entries before this returns. A crash leaves each answer whole or absent, never an
/// empty file, whatever moves next (the inbox file to `processed/`).
pub(crate) fn publish_answer(
    results: csv::Writer<File>,
    partial: &Path,
    results_path: &Path,
    summary_path: &Path,
    summary: &[u8],
) -> io::Result<()> {
    results
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?
        .sync_data()?;
    let name = summary_path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    let tmp = summary_path.with_file_name(format!(".{name}.partial"));
    let mut file = File::create(&tmp)?;
    io::Write::write_all(&mut file, summary)?;
    file.sync_data()?;
    if let Some(outbox) = results_path.parent() {
        // root running `callvault enroll` with the service stopped: the answer is the
        // outbox's owner's (the service's user), as the service's own answers are
        for file in [&tmp, partial] {
            crate::store::same_owner_as(outbox, file)?;
            readable_as_the_folder_says(outbox, file)?;
        }
    }
    std::fs::rename(&tmp, summary_path)?;
    std::fs::rename(partial, results_path)?;
    if let Some(outbox) = results_path.parent() {
        File::open(outbox)?.sync_all()?;
    }
    Ok(())
}

/// An answer is its owner's (the service's umask, 0077 as installed), and its group's too
/// when the outbox lets its group read (`chmod g+r`): an outbox a core's SFTP account
/// fetches answers from, through a group the two share.
fn readable_as_the_folder_says(outbox: &Path, file: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let group_reads = std::fs::metadata(outbox)?.permissions().mode() & 0o040;
    let mode = std::fs::metadata(file)?.permissions().mode();
    if group_reads != 0 && mode & 0o040 == 0 {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode | group_reads))?;
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
struct RowOutcome {
    member_id: String,
    result: RowResult,
    reason: Option<Reason>,
    detail: String,
    /// The facts the profiles use that the row's member holds as a placeholder for
    /// "unknown", by column.
    placeholders: Vec<&'static str>,
}

#[allow(clippy::too_many_arguments)]
fn decide_and_apply(
    dir: &mut impl embedded::MemberDir,
    pass: &FirstPass,
    in_file: &dyn Fn(&str) -> bool,
    outside: Option<&FxHashSet<u64>>,
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
        placeholders: Vec::new(),
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
                    placeholders: Vec::new(),
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
            if outside.is_some_and(|o| !o.contains(digits)) {
                continue;
            }
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
        let mut detail = decide::explain(
            reason,
            &candidate,
            row.mobile_text.as_deref().unwrap_or(""),
            now_naive,
            options.recent_change_days,
        );
        // Each of these reasons says the member must not be identifiable by caller ID, so a
        // member enrolled earlier is removed. (Malformed and duplicate rows, decided before,
        // say nothing reliable about the member and leave them as they were.)
        if let Some(old) = stored {
            dir.remove(&old)?;
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str("was enrolled, removed");
        }
        return Ok(rejected(row.member.member_id, reason, detail));
    }
    let ignored = row.other_texts.len() - others.len().min(row.other_texts.len());
    let notes = row.notes.clone();
    let member = member_from(row, mobile_digits, others);
    let placeholders: Vec<&'static str> = (crate::dialog::answer::placeholders(&member))
        .into_iter()
        .map(crate::profile::Question::as_str)
        .filter(|column| options.asked_columns.iter().any(|c| c == column))
        .collect();
    let mut detail = match ignored {
        0 => String::new(),
        n => format!("{n} other phone(s) not valid, ignored"),
    };
    if !placeholders.is_empty() {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        detail.push_str("not asked, a placeholder for unknown: ");
        detail.push_str(&placeholders.join(", "));
    }
    // like the placeholders, said only of the facts the profiles ask from the file
    let asked = |column: &str| options.asked_columns.iter().any(|c| c == column);
    for (_, note) in notes.into_iter().filter(|(column, _)| asked(column)) {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        detail.push_str(note);
    }
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
        detail,
        placeholders,
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
