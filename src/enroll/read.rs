//! Reading an enrollment file: the CSV reader over its text, the header past an Excel
//! separator line, data rows parsed in batches on a reader thread ([`read_rows`]), and the
//! first pass ([`first_pass`]), which finds duplicate member ids and every phone claimed
//! before any row is decided.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;

use csv::{ByteRecord, StringRecord};
use rustc_hash::FxHashMap;

use super::lines::{self, LineCounter};
use super::names;
use super::row::{self, Columns, HeaderError, Row};
use super::{EnrollError, Options, Progress};
use crate::member::phone::{Classifier, PhoneClass, Region};

const BATCH: usize = 16_384;

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// An enrollment file's CSV reader.
type CsvReader = csv::Reader<LineCounter<Box<dyn Read + Send>>>;

/// The CSV reader over a file's text ([`lines::Text`]: past any byte-order mark, UTF-16
/// read as UTF-8), with `separator` between columns; and about how many bytes it reads,
/// for progress.
fn open_csv(path: &Path, separator: lines::Separator) -> Result<(CsvReader, u64), EnrollError> {
    let file = file_name(path);
    let io = |error| EnrollError::Io {
        file: file.clone(),
        error,
    };
    let opened = File::open(path).map_err(io)?;
    let size = opened.metadata().map_err(io)?.len();
    let text = lines::Text::open(opened)
        .map_err(io)?
        .map_err(|kind| EnrollError::NotCsv { file, kind })?;
    let size = text.size_read(size);
    let csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator.byte())
        .from_reader(LineCounter::new(text.reader));
    Ok((csv, size))
}

/// The header record, past an Excel separator line before it: `sep=,` (as tools that write
/// CSV for Excel put first, and Excel reads as "the columns are separated by ,") is
/// skipped, and so is one naming the `separator` the file is read with; another separator
/// named so (`sep=;` in a file read with commas) is the header's problem. Blank rows above
/// it (`,,,`, as a spreadsheet saves an empty first row) are skipped as blank lines are.
/// `None` for an empty file.
fn header_record(
    csv: &mut CsvReader,
    raw: &mut ByteRecord,
    file: &str,
    encoding: lines::Encoding,
    separator: lines::Separator,
) -> Result<Option<TextRecord>, EnrollError> {
    let Some(first) = next_filled(csv, raw, file, encoding)? else {
        return Ok(None);
    };
    let fields: Vec<&str> = first.record.iter().collect();
    match names::separator_line(&fields, separator.char()) {
        Some(named) if named == separator.char() => next_filled(csv, raw, file, encoding),
        Some(found) => Err(EnrollError::Header {
            file: file.to_string(),
            problem: HeaderError::OtherSeparator {
                found,
                read_with: separator,
            },
        }),
        None => Ok(Some(first)),
    }
}

/// The line of a header below the record taken for one, which named no column callvault
/// knows: a report's title above the header (`Member export 2026-12-07`). Looked for in the
/// next [`lines::HEADER_LOOKED_FOR_IN`] records that are not blank; a record that names a
/// column is a header, even one that lacks a column it must have or is separated otherwise
/// (which it says once the lines above are gone). None when none does, or the file cannot
/// be read that far.
fn header_below(
    csv: &mut CsvReader,
    raw: &mut ByteRecord,
    file: &str,
    options: &Options,
) -> Option<u64> {
    for _ in 0..lines::HEADER_LOOKED_FOR_IN {
        let record = next_filled(csv, raw, file, options.encoding).ok()??;
        match Columns::from_header_read_with(&record.record, options.separator) {
            Err(HeaderError::NoHeader(_)) => {}
            _ => return Some(record.line),
        }
    }
    None
}

/// The next record that is not blank ([`lines::blank_row`]); `None` at the end.
fn next_filled(
    csv: &mut CsvReader,
    raw: &mut ByteRecord,
    file: &str,
    encoding: lines::Encoding,
) -> Result<Option<TextRecord>, EnrollError> {
    loop {
        match next_record(csv, raw, file, encoding)? {
            Some(_) if lines::blank_row(raw) => {}
            record => return Ok(record),
        }
    }
}

/// A record read as text, with the line it starts on.
struct TextRecord {
    record: StringRecord,
    line: u64,
    /// It was not UTF-8, and read in the fallback of `[enroll] encoding`.
    not_utf8: bool,
}

/// Read the next record, as text in `encoding`; `None` at the end.
fn next_record(
    csv: &mut CsvReader,
    raw: &mut ByteRecord,
    file: &str,
    encoding: lines::Encoding,
) -> Result<Option<TextRecord>, EnrollError> {
    match csv.read_byte_record(raw) {
        Ok(false) => Ok(None),
        Ok(true) => {
            let line = lines::line_of(csv, raw);
            let (record, not_utf8) = encoding.text(raw).ok_or_else(|| EnrollError::NotUtf8 {
                file: file.to_string(),
                line,
            })?;
            Ok(Some(TextRecord {
                record,
                line,
                not_utf8,
            }))
        }
        Err(e) => Err(EnrollError::Csv {
            file: file.to_string(),
            line: e.position().map_or(0, |p| p.line()),
            problem: e.to_string(),
        }),
    }
}

/// Data rows parsed on the reader thread, with how far into the file they reach.
pub(super) struct Batch {
    pub(super) rows: Vec<(u64, Result<Row, row::Malformed>)>,
    pub(super) bytes: u64,
    /// Rows of the batch that were not UTF-8.
    pub(super) not_utf8: u64,
}

/// Read and parse the data rows of `path` (past the header) in batches: the reading and
/// parsing run on their own core while the caller does the rest. Stops when the receiver
/// is gone.
pub(super) fn read_rows(
    path: &Path,
    columns: &Columns,
    tx: mpsc::SyncSender<Result<Batch, EnrollError>>,
) {
    let file = file_name(path);
    let result = (|| -> Result<(), EnrollError> {
        let (mut csv, _) = open_csv(path, columns.separator)?;
        let mut raw = ByteRecord::new();
        header_record(
            &mut csv,
            &mut raw,
            &file,
            columns.encoding,
            columns.separator,
        )?;
        let mut rows = Vec::with_capacity(BATCH);
        let mut not_utf8 = 0;
        let mut counted = 0u64;
        // a row shaped as a trailer, held back: a row like any other if another follows
        let mut held: Option<TextRecord> = None;
        while let Some(next) = next_record(&mut csv, &mut raw, &file, columns.encoding)? {
            let separator = columns.separator.byte();
            if let Some((line, last)) = lines::swallowed_rows(&csv, &raw, columns.width, separator)
            {
                return Err(EnrollError::UnclosedQuote { file, line, last });
            }
            if lines::blank_row(&raw) {
                continue;
            }
            let ready = match lines::trailer(&next.record) {
                Some(_) => [held.replace(next), None],
                None => [held.take(), Some(next)],
            };
            for TextRecord {
                record,
                line,
                not_utf8: transcoded,
            } in ready.into_iter().flatten()
            {
                not_utf8 += u64::from(transcoded);
                counted += 1;
                rows.push((line, row::parse(columns, &record)));
            }
            if rows.len() >= BATCH {
                let batch = Batch {
                    rows: std::mem::replace(&mut rows, Vec::with_capacity(BATCH)),
                    bytes: csv.position().byte(),
                    not_utf8: std::mem::take(&mut not_utf8),
                };
                if tx.send(Ok(batch)).is_err() {
                    return Ok(());
                }
            }
        }
        // the last row shaped as a trailer is one: not a member's, and its count is checked
        let says = held.and_then(|last| Some((last.line, lines::trailer(&last.record)?.count?)));
        if let Some(why) =
            says.and_then(|(line, says)| lines::trailer_miscounts(line, says, counted))
        {
            return Err(EnrollError::TrailerCount { file, why });
        }
        let _ = tx.send(Ok(Batch {
            rows,
            bytes: csv.position().byte(),
            not_utf8,
        }));
        Ok(())
    })();
    if let Err(e) = result {
        let _ = tx.send(Err(e));
    }
}

/// What the first pass learned about one data row.
#[derive(Clone, Copy)]
pub(super) struct Scan {
    pub(super) mobile: Option<PhoneClass>,
    pub(super) others_start: u32,
    pub(super) others_len: u16,
}

/// Claims on a phone number by members of the file.
#[derive(Clone, Copy)]
pub(super) struct Claim {
    pub(super) first_row: u32,
    pub(super) many: bool,
}

pub(super) struct FirstPass {
    pub(super) columns: Columns,
    pub(super) rows: u64,
    /// Rows that were not UTF-8.
    pub(super) not_utf8: u64,
    pub(super) scans: Vec<Scan>,
    pub(super) other_digits: Vec<u64>,
    /// member id -> line of its first occurrence.
    pub(super) first_line: FxHashMap<Box<str>, u64>,
    pub(super) claims: FxHashMap<u64, Claim>,
}

pub(super) fn first_pass(
    path: &Path,
    region: Region,
    options: &Options,
    progress: &dyn Progress,
) -> Result<FirstPass, EnrollError> {
    let file = file_name(path);
    let (mut csv, total_bytes) = open_csv(path, options.separator)?;
    progress.phase("checking", total_bytes);
    let mut raw = ByteRecord::new();
    let Some(header) = header_record(
        &mut csv,
        &mut raw,
        &file,
        options.encoding,
        options.separator,
    )?
    else {
        return Err(EnrollError::Empty { file });
    };
    let columns = match Columns::from_header_read_with(&header.record, options.separator) {
        Ok(columns) => columns,
        Err(HeaderError::NoHeader(meant)) => {
            let problem = match header_below(&mut csv, &mut raw, &file, options) {
                Some(line) => HeaderError::Below {
                    first: header.line,
                    line,
                },
                None => HeaderError::NoHeader(meant),
            };
            return Err(EnrollError::Header { file, problem });
        }
        Err(problem) => return Err(EnrollError::Header { file, problem }),
    }
    .with_slash_dates(options.slash_dates)
    .with_encoding(options.encoding);
    let mut pass = FirstPass {
        columns,
        rows: 0,
        not_utf8: 0,
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
            pass.not_utf8 += parsed.not_utf8;
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
            // a UTF-16 file's size read is a guess: never past it
            progress.advance_to(parsed.bytes.min(total_bytes));
            progress.go_on()?;
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
