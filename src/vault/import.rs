//! `callvault pins import FILE`: PINs exported from a core (`member_id,pin`) loaded into the
//! vault in transactions of [`IMPORT_SLICE`] rows, with a per-row report like
//! pre-enrollment's. The store's one writer is shared with IVR steps, so no import holds it
//! for long (a million PINs in one transaction kept call starts waiting 5.1 s). Each row is
//! decided and written in one transaction, so a PIN a member sets meanwhile is never
//! overwritten; an import that stops half-way leaves the rows before it applied, and
//! running the file again finishes it (those rows come back `unchanged`).
//!
//! Each PIN is sealed as soon as its row is read (the sealed record holds the PIN itself),
//! so a million rows take seconds, not the hours bcrypt would; in hashed mode the records
//! get their bcrypt hash in the background or at first correct use. No plaintext PIN is
//! written anywhere: the report has the member id and the result, never the PIN. Imported
//! PINs skip the policy (they are placeholders: activation and force-PIN-change exist for
//! them), and a PIN a member chose through callvault is never overwritten.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::seal::{Header, SecretKind};
use super::{Vault, VaultError};
use crate::audit::{AuditEvent, EventKind, Outcome, append_in};
use crate::enroll::lines::{self, LineCounter};
use crate::enroll::names::{column_name, known_as, other_separator, separator_line};
use crate::enroll::progress::Progress;
use crate::spelling::nearest;
use crate::store::{StoreError, tables};

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowResult {
    /// The member had no PIN; now they have this one.
    Imported,
    /// A placeholder PIN (imported before) was replaced.
    Replaced,
    /// The member already has this very PIN, still sealed from an earlier import.
    Unchanged,
    /// The member chose a PIN through callvault; the import leaves it alone.
    KeptMemberPin,
    /// No member with this id is enrolled (embedded core only).
    UnknownMember,
    /// The PIN is not 1 to 12 digits.
    InvalidPin,
    /// The member id is empty, longer than 64 characters, holds control characters or is
    /// not UTF-8.
    InvalidMemberId,
    /// The member id appears on more than one row; none of them is applied.
    DuplicateMember,
    /// The row has more or fewer fields than the header: its columns cannot be told apart
    /// (`4821,extra` may be a PIN split by a stray comma).
    MalformedRow,
}

impl RowResult {
    /// What the results file's `detail` says of a row with this result (never its PIN, nor
    /// anything of the PIN's shape). A duplicate's lines are added to it.
    pub fn detail(self) -> &'static str {
        match self {
            RowResult::Imported | RowResult::Replaced | RowResult::Unchanged => "",
            RowResult::KeptMemberPin => {
                "the member chose a PIN through callvault since; an import never overwrites it"
            }
            RowResult::UnknownMember => "no member with this id is enrolled",
            RowResult::InvalidPin => "pin is not 1 to 12 digits",
            RowResult::InvalidMemberId => {
                "member_id is empty, longer than 64 characters, holds control characters or \
                 is not UTF-8 text"
            }
            RowResult::DuplicateMember => "the member_id is on lines",
            RowResult::MalformedRow => "the row's fields do not line up with the header's",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RowResult::Imported => "imported",
            RowResult::Replaced => "replaced",
            RowResult::Unchanged => "unchanged",
            RowResult::KeptMemberPin => "kept_member_pin",
            RowResult::UnknownMember => "unknown_member",
            RowResult::InvalidPin => "invalid_pin",
            RowResult::InvalidMemberId => "invalid_member_id",
            RowResult::DuplicateMember => "duplicate_member",
            RowResult::MalformedRow => "malformed_row",
        }
    }
}

/// Rows decided and written per write transaction.
pub const IMPORT_SLICE: usize = 2_000;
/// The pause after each, so the group committer gets the writer (redb's lock is not fair).
const BETWEEN_SLICES: std::time::Duration = std::time::Duration::from_millis(2);

/// A problem that stops the whole file. Nothing is applied, but for `Interrupted`.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The store or the vault failed after some slices were committed.
    #[error(
        "{file}: stopped after {applied} of {rows} rows were applied: {error}. Run the file \
         again to finish it (the applied rows come back unchanged)"
    )]
    Interrupted {
        file: String,
        applied: u64,
        rows: u64,
        error: Box<ImportError>,
    },
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: {kind}")]
    NotCsv { file: String, kind: lines::NotCsv },
    #[error("{}", not_read_with(.file, *.separator, *.read_with))]
    OtherSeparator {
        file: String,
        separator: char,
        read_with: lines::Separator,
    },
    /// `meant`: a name in the header likely meant as the column (`pins`, `memberid`).
    #[error(
        "{file}: the header has no {column:?} column (expected member_id,pin{})",
        meant.as_ref().map(|name| format!("; {name:?}: did you mean {column}?")).unwrap_or_default()
    )]
    MissingColumn {
        file: String,
        column: &'static str,
        meant: Option<String>,
    },
    /// The first record (on line `first`) names neither column, and one below it (on
    /// `line`) does: a report's title above the header.
    #[error("{file}: {}", lines::header_below(*first, *line))]
    HeaderBelow { file: String, first: u64, line: u64 },
    #[error("{file}: cannot be read as CSV at line {line}: {problem}")]
    Csv {
        file: String,
        line: u64,
        problem: String,
    },
    /// A quote opened on `line` and never closed read the rows up to `last` into one field.
    #[error("{file}: {}", lines::unclosed_quote(*line, *last))]
    UnclosedQuote { file: String, line: u64, last: u64 },
    /// The file's last row is a trailer whose count is not the rows above it
    /// ([`lines::trailer_miscounts`]).
    #[error("{file}: {why}")]
    TrailerCount { file: String, why: String },
    #[error("{file}: {error}")]
    Io { file: String, error: io::Error },
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        ImportError::Vault(VaultError::Store(e))
    }
}

crate::store::redb_errors_via_store!(ImportError);

/// What [`ImportError::OtherSeparator`] says: the separator found, and how to read such a file.
fn not_read_with(file: &str, found: char, read_with: lines::Separator) -> String {
    let read = read_with.char();
    let how = match lines::Separator::of(found) {
        Some(s) => format!(
            ": for such a file, `callvault pins import FILE --separator {}`",
            s.word()
        ),
        None => String::new(),
    };
    format!(
        "{file}: the header's columns are separated by {found:?}, and the file was read with \
         {read:?} between them (expected the columns member_id and pin){how}"
    )
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Options {
    /// The members chose these PINs themselves (no activation for a placeholder).
    pub established: bool,
    pub dry_run: bool,
    /// Check that each member is enrolled (the embedded core).
    pub require_member: bool,
    /// What stands between the file's columns (a comma unless told).
    #[serde(default)]
    pub separator: lines::Separator,
}

/// `NAME.summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub file: String,
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub rows: u64,
    pub results: BTreeMap<String, u64>,
    pub vault_records: u64,
    /// Header columns other than `member_id` and `pin`, as the file names them: not read.
    #[serde(default)]
    pub unknown_columns: Vec<String>,
    /// What the file as a whole suggests went wrong with it, which no one row shows
    /// ([`SpreadsheetSigns`]): counts and what to do, never a member or a PIN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub results_file: PathBuf,
    pub summary_file: PathBuf,
}

/// What a file that passed through a spreadsheet shows, counted as the rows are read: the
/// PIN column read as numbers, so leading zeros dropped (`0042` as `42`, a PIN the member
/// can never key: PINs shorter than most, and none beginning with a zero) and numbers
/// written back as `4321.0` or `4.3E+03`.
#[derive(Debug, Default)]
struct SpreadsheetSigns {
    /// How many valid PINs have each number of digits (1 to 12).
    lengths: [u64; 13],
    /// Valid PINs that begin with a zero: a column that kept them lost none.
    leading_zero: u64,
    /// PINs refused that are written as a spreadsheet writes a number.
    as_numbers: u64,
    /// PINs refused that are written as a password hash (`$2b$10$...`, a hex digest): a
    /// core's export of what it keeps, not of what members key.
    hashed: u64,
}

impl SpreadsheetSigns {
    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        // the length most PINs have (the longest of equals), and how many have fewer digits;
        // not when any PIN begins with a zero (about one in ten do): that column kept them,
        // and shorter PINs are the core's own
        let usual = (1..self.lengths.len())
            .max_by_key(|&n| (self.lengths[n], n))
            .filter(|&n| self.lengths[n] > 0 && self.leading_zero == 0);
        if let Some(usual) = usual {
            let shorter: u64 = self.lengths[..usual].iter().sum();
            if shorter > 0 {
                warnings.push(format!(
                    "{} fewer digits than most PINs in the file ({usual}): a spreadsheet drops \
                     a number's leading zeros (0042 becomes 42), and such a PIN never matches \
                     what the member keys; if the file passed through one, export the pin \
                     column as text and import the file again",
                    match shorter {
                        1 => "1 PIN has".to_string(),
                        n => format!("{n} PINs have"),
                    }
                ));
            }
        }
        if self.as_numbers > 0 {
            warnings.push(format!(
                "{} written as a spreadsheet writes a number (4321.0, 4.3E+03) and refused: \
                 export the pin column as text, with its leading zeros, and import the file \
                 again",
                match self.as_numbers {
                    1 => "1 PIN is".to_string(),
                    n => format!("{n} PINs are"),
                }
            ));
        }
        if self.hashed > 0 {
            warnings.push(format!(
                "{} written as a password hash ($2b$..., a hex digest) and refused: callvault \
                 imports the digits members key, sealing each under its own key, and a hash \
                 cannot be turned back into them. A core that keeps its PINs hashed can check \
                 them itself: [core.rest.pin] (README, \"PINs the core holds\")",
                match self.hashed {
                    1 => "1 PIN is".to_string(),
                    n => format!("{n} PINs are"),
                }
            ));
        }
        warnings
    }
}

/// Whether a refused PIN field is written as a password hash: a crypt-style `$id$...`
/// (bcrypt's `$2b$`, `$argon2id$`, `$6$`), an LDAP-style `{SSHA}...`, or a hex digest
/// (MD5, SHA-1, SHA-256, SHA-512).
pub(super) fn written_as_hash(pin: &[u8]) -> bool {
    let crypt = pin.len() > 20
        && pin.first() == Some(&b'$')
        && pin[1..].iter().position(|&b| b == b'$').is_some_and(|at| {
            at > 0
                && pin[1..=at]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        });
    let ldap = pin.first() == Some(&b'{')
        && pin
            .iter()
            .position(|&b| b == b'}')
            .is_some_and(|at| at > 1 && pin[1..at].iter().all(u8::is_ascii_alphanumeric));
    let hex = matches!(pin.len(), 32 | 40 | 64 | 128) && pin.iter().all(u8::is_ascii_hexdigit);
    crypt || ldap || hex
}

/// Whether a refused PIN field is a number as a spreadsheet writes one back: digits with a
/// decimal point (`4321.0`) or an exponent (`4.32E+03`).
pub(super) fn written_as_number(pin: &[u8]) -> bool {
    // on the bytes, so no copy of a PIN is made that is not wiped
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let (mantissa, exponent) = match pin.iter().position(|&b| b == b'E' || b == b'e') {
        Some(at) => (&pin[..at], Some(&pin[at + 1..])),
        None => (pin, None),
    };
    let point = mantissa.iter().position(|&b| b == b'.');
    let mantissa_ok = match point {
        Some(at) => {
            digits(&mantissa[..at]) && (at + 1 == mantissa.len() || digits(&mantissa[at + 1..]))
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        digits(
            e.strip_prefix(b"+")
                .or_else(|| e.strip_prefix(b"-"))
                .unwrap_or(e),
        )
    });
    mantissa_ok && exponent_ok && (point.is_some() || exponent.is_some())
}

/// Decide and write one slice of rows in one write transaction (aborted for a dry run),
/// with `started` (the import's first audit event) in the first.
fn apply_slice(
    vault: &Vault,
    ring: &super::Keyring,
    slice: &[Parsed],
    seen: &HashMap<String, u32>,
    options: &Options,
    started: Option<AuditEvent>,
    now: DateTime<Utc>,
) -> Result<Vec<RowResult>, ImportError> {
    let txn = vault.store.begin_write()?;
    let mut decided = Vec::with_capacity(slice.len());
    {
        let members = txn.open_table(tables::MEMBERS)?;
        let mut pins = txn.open_table(tables::PINS)?;
        for row in slice {
            let result = match &row.sealed {
                Err(r) => *r,
                Ok(_) if seen.get(&row.member_id).copied().unwrap_or(0) > 1 => {
                    RowResult::DuplicateMember
                }
                Ok(_)
                    if options.require_member && members.get(row.member_id.as_str())?.is_none() =>
                {
                    RowResult::UnknownMember
                }
                Ok(sealed) => {
                    let existing = match pins.get(row.member_id.as_str())? {
                        Some(v) => Some((
                            ring.open(&row.member_id, v.value())
                                .map_err(VaultError::from)?,
                            ring.open(&row.member_id, sealed)
                                .map_err(VaultError::from)?,
                        )),
                        None => None,
                    };
                    match existing {
                        Some((old, _)) if old.header.established => RowResult::KeptMemberPin,
                        Some((old, new))
                            if old.header.kind == SecretKind::Pin
                                && bool::from(old.secret.as_slice().ct_eq(&new.secret)) =>
                        {
                            RowResult::Unchanged
                        }
                        existing => {
                            pins.insert(row.member_id.as_str(), sealed.as_slice())?;
                            if existing.is_some() {
                                RowResult::Replaced
                            } else {
                                RowResult::Imported
                            }
                        }
                    }
                }
            };
            decided.push(result);
        }
    }
    if let Some(event) = started {
        append_in(&txn, now, [event])?;
    }
    match options.dry_run {
        true => txn.abort()?,
        false => txn.commit()?,
    }
    Ok(decided)
}

struct Parsed {
    line: u64,
    member_id: String,
    /// The sealed record, or why the row is refused.
    sealed: Result<Vec<u8>, RowResult>,
    /// What the results file says of a refused row, where its result's own detail says
    /// less (never anything of the PIN but whether it is there).
    detail: Option<String>,
}

/// Import `path`; result files go to `outbox`.
pub fn run(
    vault: &Vault,
    path: &Path,
    outbox: &Path,
    options: &Options,
    actor: &str,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> Result<Summary, ImportError> {
    let started_at = Utc::now();
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let io_err = |error: io::Error| ImportError::Io {
        file: file.clone(),
        error,
    };
    let size = std::fs::metadata(path).map_err(io_err)?.len();
    if size == 0 {
        return Err(ImportError::Empty { file });
    }
    let text = match lines::Text::open(std::fs::File::open(path).map_err(io_err)?) {
        Ok(Ok(text)) => text,
        Ok(Err(kind)) => return Err(ImportError::NotCsv { file, kind }),
        Err(e) => return Err(io_err(e)),
    };
    // progress in the bytes of text read (a UTF-16 file's about half its size)
    let size = text.size_read(size);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(options.separator.byte())
        .from_reader(LineCounter::new(text.reader));
    let csv_err = |e: csv::Error| ImportError::Csv {
        file: file.clone(),
        line: e.position().map_or(0, |p| p.line()),
        problem: e.to_string(),
    };
    let mut headers = csv::ByteRecord::new();
    let text = |r: &csv::ByteRecord| -> Vec<String> {
        r.iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect()
    };
    // the next record that is not blank (`,,`: a spreadsheet's empty row)
    let filled = |reader: &mut csv::Reader<_>, record: &mut csv::ByteRecord| loop {
        match reader.read_byte_record(record) {
            Ok(true) if lines::blank_row(record) => {}
            read => break read,
        }
    };
    if !filled(&mut reader, &mut headers).map_err(csv_err)? {
        return Err(ImportError::Empty { file });
    }
    let mut names = text(&headers);
    // an Excel separator line (`sep=,`) before the header
    let read_with = options.separator;
    match separator_line(
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
        read_with.char(),
    ) {
        Some(named) if named == read_with.char() => {
            if !filled(&mut reader, &mut headers).map_err(csv_err)? {
                return Err(ImportError::Empty { file });
            }
            names = text(&headers);
        }
        Some(separator) => {
            return Err(ImportError::OtherSeparator {
                file,
                separator,
                read_with,
            });
        }
        None => {}
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let pin_columns = |n: &str| n == "member_id" || n == "pin";
    if let Some(separator) = other_separator(&names, pin_columns, read_with.char()) {
        return Err(ImportError::OtherSeparator {
            file,
            separator,
            read_with,
        });
    }
    let names_a_column = |n: &str| matches!(column_name(n).as_str(), "member_id" | "pin");
    if !names.iter().any(|n| names_a_column(n)) {
        // a report's title above the header
        let first = lines::line_of(&reader, &headers);
        let mut record = csv::ByteRecord::new();
        for _ in 0..lines::HEADER_LOOKED_FOR_IN {
            let Ok(true) = filled(&mut reader, &mut record) else {
                break;
            };
            if text(&record).iter().any(|n| names_a_column(n)) {
                let line = lines::line_of(&reader, &record);
                return Err(ImportError::HeaderBelow { file, first, line });
            }
        }
    }
    let column = |name: &'static str| {
        // a name in the header likely meant as this column
        let meant = || {
            (names.iter())
                .find(|n| {
                    known_as(n).or_else(|| nearest(&column_name(n), ["member_id", "pin"]))
                        == Some(name)
                })
                .map(|n| n.to_string())
        };
        (names.iter())
            .position(|n| column_name(n) == name)
            .ok_or_else(|| ImportError::MissingColumn {
                file: file.clone(),
                column: name,
                meant: meant(),
            })
    };
    let (id_col, pin_col) = (column("member_id")?, column("pin")?);
    let unknown_columns: Vec<String> = (names.iter().enumerate())
        .filter(|(i, n)| *i != id_col && *i != pin_col && !n.trim().is_empty())
        .map(|(_, n)| n.to_string())
        .collect();

    progress.phase("checking", size);
    // held until the records sealed with this ring are committed (see Vault::sealing)
    let _sealing = vault.sealing();
    let ring = vault.keyring.load_full();
    let mut rows: Vec<Parsed> = Vec::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut signs = SpreadsheetSigns::default();
    let mut record = csv::ByteRecord::new();
    // the last row read, when it is shaped as a trailer (`TRAILER,1000`): its line and count
    let mut trailer: Option<(u64, Option<u64>)> = None;
    while reader.read_byte_record(&mut record).map_err(csv_err)? {
        if let Some((line, last)) =
            lines::swallowed_rows(&reader, &record, headers.len(), read_with.byte())
        {
            return Err(ImportError::UnclosedQuote { file, line, last });
        }
        if lines::blank_row(&record) {
            continue;
        }
        let line = lines::line_of(&reader, &record);
        let fields = record.iter();
        let text = fields.map(|f| std::str::from_utf8(f).unwrap_or("\u{fffd}"));
        trailer = lines::trailer(text).map(|t| (line, t.count));
        // `="0042"`: an export meant for Excel keeping the leading zeros
        let raw_id = lines::excel_text(record.get(id_col).unwrap_or_default());
        let mut member_id = String::from_utf8_lossy(raw_id).into_owned();
        let pin = lines::excel_text(record.get(pin_col).unwrap_or_default());
        let pin = Zeroizing::new(pin.to_vec());
        // an id in another encoding would be read as another id, which a core other than the
        // embedded one is not asked about
        let mut detail = None;
        let sealed = if !lines::lines_up(&record, headers.len()) {
            detail = Some(lines::fields_mismatch(
                &record,
                headers.len(),
                read_with.byte(),
            ));
            Err(RowResult::MalformedRow)
        } else if std::str::from_utf8(raw_id).is_err()
            || !crate::member::plausible_member_id(&member_id)
        {
            if member_id.is_empty() {
                detail = Some("member_id is empty".into());
            }
            Err(RowResult::InvalidMemberId)
        } else if let Some(problem) = crate::member::id_in_file_problem(&member_id) {
            detail = Some(format!("member_id {problem}"));
            Err(RowResult::InvalidMemberId)
        } else if lines::names_the_member_id(&member_id) {
            detail = Some(lines::HEADER_AGAIN.into());
            Err(RowResult::MalformedRow)
        } else if pin.is_empty() {
            detail = Some("pin is empty".into());
            Err(RowResult::InvalidPin)
        } else if pin.len() > 12 || !pin.iter().all(u8::is_ascii_digit) {
            if trailer.is_none() {
                signs.as_numbers += u64::from(written_as_number(&pin));
                signs.hashed += u64::from(written_as_hash(&pin));
            }
            Err(RowResult::InvalidPin)
        } else {
            // a trailer's count is no PIN (a row shaped so that is not the last is not
            // counted either: no PIN file's row looks so)
            if trailer.is_none() {
                signs.lengths[pin.len()] += 1;
                signs.leading_zero += u64::from(pin[0] == b'0');
            }
            let header = Header {
                key_id: [0; 4],
                kind: SecretKind::Pin,
                set_at: now.timestamp(),
                established: options.established,
                flagged: false,
            };
            Ok(ring
                .seal(&member_id, header, &pin)
                .map_err(VaultError::from)?)
        };
        // the id field of a refused row may hold the rest of the row, its PIN among it (a
        // quote never closed): the results file then names the row by its line alone
        if sealed.is_err() && !lines::id_shown(&member_id) {
            member_id.clear();
        }
        if !member_id.is_empty() {
            *seen.entry(member_id.clone()).or_default() += 1;
        }
        rows.push(Parsed {
            line,
            member_id,
            sealed,
            detail,
        });
        if rows.len().is_multiple_of(4096) {
            progress.advance_to(record.position().map_or(0, |p| p.byte()).min(size));
            // Ctrl-C, the service stopping: nothing is applied yet
            progress.go_on()?;
        }
    }
    // the reader's buffer held the last row's PIN: clear what we can reach
    drop(record);
    // the last row shaped as a trailer is one: no member's PIN, and its count is checked
    if let Some((line, says)) = trailer
        && let Some(last) = rows.pop()
    {
        if let Some(n) = seen.get_mut(&last.member_id) {
            *n -= 1;
        }
        let counted = rows.len() as u64;
        if let Some(why) = says.and_then(|says| lines::trailer_miscounts(line, says, counted)) {
            return Err(ImportError::TrailerCount { file, why });
        }
    }
    progress.advance_to(size);

    crate::store::create_private_dir(outbox)?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    let results_path = outbox.join(format!("{stem}.results.csv"));
    let summary_path = outbox.join(format!("{stem}.summary.json"));
    let partial = outbox.join(format!(".{stem}.results.csv.partial"));
    let mut out = csv::Writer::from_path(&partial).map_err(|e| io_err(io::Error::other(e)))?;
    out.write_record(["line", "member_id", "result", "detail"])
        .map_err(|e| io_err(io::Error::other(e)))?;
    // the lines of each member id that is on more than one, for their rows' detail
    let mut lines_of: HashMap<&str, Vec<u64>> = HashMap::new();
    for row in rows
        .iter()
        .filter(|r| seen.get(&r.member_id).is_some_and(|n| *n > 1))
    {
        lines_of.entry(&row.member_id).or_default().push(row.line);
    }

    let mut results: BTreeMap<String, u64> = BTreeMap::new();
    // a dry run changes nothing: "applying" would alarm whoever watches
    let phase = match options.dry_run {
        true => "trying",
        false => "applying",
    };
    progress.phase(phase, rows.len() as u64);
    let total = rows.len() as u64;
    let interrupted = |applied: u64, error: ImportError| match applied {
        0 => error,
        _ => ImportError::Interrupted {
            file: file.clone(),
            applied,
            rows: total,
            error: Box::new(error),
        },
    };
    let mut applied = 0u64;
    for (n, slice) in rows.chunks(IMPORT_SLICE).enumerate() {
        let started = (n == 0 && !options.dry_run).then(|| {
            AuditEvent::new(actor, EventKind::PinsImportStarted, Outcome::Ok)
                .detail(format!("file={file} rows={total}"))
        });
        // the service is stopping (or Ctrl-C, or the client gone): the rows applied stay, and
        // running the file again finishes it
        if let Err(stop) = vault.store.go_on().and_then(|()| progress.go_on()) {
            return Err(interrupted(applied, stop.into()));
        }
        let decided = apply_slice(vault, &ring, slice, &seen, options, started, now)
            .map_err(|e| interrupted(applied, e))?;
        for (row, result) in slice.iter().zip(decided) {
            *results.entry(result.as_str().to_string()).or_default() += 1;
            let detail = match (result, lines_of.get(row.member_id.as_str())) {
                (RowResult::DuplicateMember, Some(lines)) => {
                    // a few lines say where to look; a file with one id on thousands of rows
                    // must not write each of them thousands of times
                    let shown: Vec<String> = lines.iter().take(5).map(u64::to_string).collect();
                    let more = match lines.len().saturating_sub(shown.len()) {
                        0 => String::new(),
                        n => format!(" and {n} more"),
                    };
                    format!("{} {}{more}", result.detail(), shown.join(", "))
                }
                _ => row
                    .detail
                    .clone()
                    .unwrap_or_else(|| result.detail().to_string()),
            };
            out.write_record([
                row.line.to_string().as_str(),
                row.member_id.as_str(),
                result.as_str(),
                detail.as_str(),
            ])
            .map_err(|e| io_err(io::Error::other(e)))?;
        }
        if !options.dry_run {
            applied += slice.len() as u64;
        }
        progress.advance_to(((n + 1) * IMPORT_SLICE).min(rows.len()) as u64);
        std::thread::sleep(BETWEEN_SLICES);
    }
    out.flush().map_err(io_err)?;
    let imported = results.get(RowResult::Imported.as_str()).copied();
    let vault_records = {
        let snapshot = vault.store.begin_read()?;
        let stored = redb::ReadableTableMetadata::len(&snapshot.open_table(tables::PINS)?)?;
        // a dry run's imports are not stored: count them in
        stored + imported.filter(|_| options.dry_run).unwrap_or(0)
    };
    let summary = Summary {
        file: file.clone(),
        dry_run: options.dry_run,
        started_at,
        finished_at: Utc::now(),
        rows: total,
        results,
        vault_records,
        unknown_columns,
        warnings: signs.warnings(),
        results_file: results_path.clone(),
        summary_file: summary_path.clone(),
    };
    let counts = summary
        .results
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    if !options.dry_run {
        let txn = vault.store.begin_write()?;
        append_in(
            &txn,
            now,
            [
                AuditEvent::new(actor, EventKind::PinsImported, Outcome::Ok).detail(format!(
                    "file={file} dry_run=false rows={} {counts}",
                    summary.rows
                )),
            ],
        )
        .map_err(|e| interrupted(applied, e.into()))?;
        txn.commit().map_err(|e| interrupted(applied, e.into()))?;
    }
    let text = serde_json::to_vec_pretty(&summary).map_err(|e| io_err(io::Error::other(e)))?;
    crate::enroll::publish_answer(out, &partial, &results_path, &summary_path, &text)
        .map_err(io_err)?;
    progress.finish();
    Ok(summary)
}
