//! The pre-enrollment file's columns and rows (ENROLL.md): header mapping and the parsing of
//! each field into its format. A field not in its format makes the row `malformed_row`.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use csv::StringRecord;

use super::names::{self, column_name, known_as};
use crate::civil::{DateProblem, SlashDates};
use crate::member::phone::{DECIMAL, written_as_decimal};
use crate::member::{Member, PhoneType};

/// The columns callvault reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    MemberId,
    Action,
    FirstName,
    LastName,
    MobilePhone,
    OtherPhones,
    PhoneType,
    Email,
    Dob,
    Zip,
    SsnLast4,
    AccountNumbers,
    ProfileChangedAt,
    FraudFlag,
    PlaceOfBirth,
    SavingsBalance,
    LastTxnAmount,
    LastTxnDate,
}

/// Each column's name in a header (matched case-insensitively).
const NAMES: [(&str, Column); 18] = [
    ("member_id", Column::MemberId),
    ("action", Column::Action),
    ("first_name", Column::FirstName),
    ("last_name", Column::LastName),
    ("mobile_phone", Column::MobilePhone),
    ("other_phones", Column::OtherPhones),
    ("phone_type", Column::PhoneType),
    ("email", Column::Email),
    ("dob", Column::Dob),
    ("zip", Column::Zip),
    ("ssn_last4", Column::SsnLast4),
    ("account_numbers", Column::AccountNumbers),
    ("profile_changed_at", Column::ProfileChangedAt),
    ("fraud_flag", Column::FraudFlag),
    ("place_of_birth", Column::PlaceOfBirth),
    ("savings_balance", Column::SavingsBalance),
    ("last_txn_amount", Column::LastTxnAmount),
    ("last_txn_date", Column::LastTxnDate),
];

/// The column `name` (a header's name, [`crate::enroll::names::column_name`]) is, as this
/// module names it: `None` for a name no column has.
pub fn column(name: &str) -> Option<&'static str> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(n, _)| *n)
}

impl Column {
    fn from_name(name: &str) -> Option<Column> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }
}

/// The column a name callvault does not know was likely meant to be, among those the header
/// does not have already: a name cores and spreadsheets give it (`Date of Birth`: `dob`),
/// else a slip of the keys (`frist_name`: `first_name`).
fn meant(name: &str, has: impl Fn(Column) -> bool) -> Option<&'static str> {
    if let Some(column) = known_as(name) {
        // a name another column is known by is not offered as a slip of a third
        let free = Column::from_name(column).is_some_and(|c| !has(c));
        return free.then_some(column);
    }
    crate::spelling::nearest(
        name,
        NAMES.iter().filter(|(_, c)| !has(*c)).map(|(n, _)| *n),
    )
}

/// `("frist_name": did you mean first_name?)`, for the names that have a likely column;
/// empty for none.
fn said_meant(meant: &[(String, &'static str)]) -> String {
    match meant {
        [] => String::new(),
        _ => format!(
            " ({})",
            meant
                .iter()
                .map(|(name, column)| format!("{name:?}: did you mean {column}?"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// A problem with the header that stops the whole file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// With the names that were likely meant as columns.
    #[error(
        "no header row: the first line must name the columns (member_id, mobile_phone, ...); \
         it names none callvault knows{}",
        said_meant(.0)
    )]
    NoHeader(Vec<(String, &'static str)>),
    /// The record taken for the header (on line `first`) names no column, and one below it
    /// (on `line`) does: a report's title above the header.
    #[error("{}", super::lines::header_below(*first, *line))]
    Below { first: u64, line: u64 },
    /// The header's columns are separated by `found`, and the file was read with another
    /// separator (`[enroll] separator`).
    #[error("{}", other_separator_said(*found, *read_with))]
    OtherSeparator {
        found: char,
        read_with: super::lines::Separator,
    },
    /// The column, and a name in the header likely meant as it.
    #[error("missing required column {column}{}", said_meant(meant.as_slice()))]
    MissingColumn {
        column: &'static str,
        meant: Option<(String, &'static str)>,
    },
    #[error("column {0:?} appears twice in the header")]
    DuplicateColumn(String),
    /// A column of PINs ([`names::pin_column`]), as the header names it.
    #[error(
        "the header names a column of PINs ({0:?}): callvault takes no PIN from an enrollment \
         file (and did not apply this one); import them with `callvault pins import FILE`, \
         which reads its member_id and pin columns, and enroll the members from a file \
         without them. This file holds PINs in plain text: delete it once they are imported"
    )]
    PinColumn(String),
}

/// What [`HeaderError::OtherSeparator`] says: the separator found and how to read it.
fn other_separator_said(found: char, read_with: super::lines::Separator) -> String {
    let read = read_with.char();
    match super::lines::Separator::of(found) {
        Some(separator) => format!(
            "the header's columns are separated by {found:?}, and the file was read with \
             {read:?} between them: name its separator in [enroll] separator = \"{name}\" (for \
             this file alone, `callvault enroll --separator {word}`), or export it with \
             {read:?}",
            name = separator.as_str(),
            word = separator.word()
        ),
        None => format!(
            "the header's columns are separated by {found:?}, which callvault does not read: \
             export the file with {read:?} between columns (or with one of , ; tab |, named in \
             [enroll] separator)"
        ),
    }
}

/// Where each known column is, and which columns were not recognised.
#[derive(Debug, Clone)]
pub struct Columns {
    at: HashMap<Column, usize>,
    pub width: usize,
    pub unknown: Vec<String>,
    /// The unknown names likely meant as a column the header does not have, with it.
    pub meant: Vec<(String, &'static str)>,
    /// The order of month and day in the file's dates written with slashes
    /// (`[enroll] slash_dates`); none: such dates are refused.
    pub slash_dates: Option<SlashDates>,
    /// How the file's text is written (`[enroll] encoding`).
    pub encoding: super::lines::Encoding,
    /// What stands between the file's columns (`[enroll] separator`).
    pub separator: super::lines::Separator,
}

impl Columns {
    /// The columns of a header read with commas between them.
    pub fn from_header(header: &StringRecord) -> Result<Columns, HeaderError> {
        Columns::from_header_read_with(header, super::lines::Separator::Comma)
    }

    /// The columns of a header read with `separator` between them.
    pub fn from_header_read_with(
        header: &StringRecord,
        separator: super::lines::Separator,
    ) -> Result<Columns, HeaderError> {
        let mut at = HashMap::new();
        let mut unknown = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            match Column::from_name(&column_name(raw)) {
                Some(c) => {
                    if at.insert(c, i).is_some() {
                        return Err(HeaderError::DuplicateColumn(raw.trim().to_string()));
                    }
                }
                // a column without a name (`member_id,mobile_phone,,,`: cells a
                // spreadsheet had formatted) is no column to report
                None if raw.trim().is_empty() => {}
                None => unknown.push(raw.trim().to_string()),
            }
        }
        let meant: Vec<(String, &'static str)> = unknown
            .iter()
            .filter_map(|name| {
                let column = meant(&column_name(name), |c| at.contains_key(&c))?;
                Some((name.clone(), column))
            })
            .collect();
        if let Some(pins) = unknown.iter().find(|name| names::pin_column(name)) {
            return Err(HeaderError::PinColumn(pins.clone()));
        }
        if at.is_empty() {
            let fields: Vec<&str> = header.iter().collect();
            let known = |name: &str| Column::from_name(name).is_some();
            return Err(
                match names::other_separator(&fields, known, separator.char()) {
                    Some(found) => HeaderError::OtherSeparator {
                        found,
                        read_with: separator,
                    },
                    None => HeaderError::NoHeader(meant),
                },
            );
        }
        let missing = |column: &'static str| HeaderError::MissingColumn {
            column,
            meant: meant.iter().find(|(_, c)| *c == column).cloned(),
        };
        if !at.contains_key(&Column::MemberId) {
            return Err(missing("member_id"));
        }
        // A file of deletes needs no phones; any file that can hold upserts does.
        if !at.contains_key(&Column::MobilePhone) && !at.contains_key(&Column::Action) {
            return Err(missing("mobile_phone"));
        }
        Ok(Columns {
            at,
            width: header.len(),
            unknown,
            meant,
            slash_dates: None,
            encoding: super::lines::Encoding::Utf8,
            separator,
        })
    }

    /// The columns, with the file's dates written with slashes read in `order`.
    pub fn with_slash_dates(self, order: Option<SlashDates>) -> Columns {
        Columns {
            slash_dates: order,
            ..self
        }
    }

    /// The columns of a file whose text is written in `encoding`.
    pub fn with_encoding(self, encoding: super::lines::Encoding) -> Columns {
        Columns { encoding, ..self }
    }

    /// Whether the header has the column named `name` (as ENROLL.md names it).
    pub fn has(&self, name: &str) -> bool {
        Column::from_name(name).is_some_and(|c| self.at.contains_key(&c))
    }

    fn get<'r>(&self, record: &'r StringRecord, c: Column) -> Option<&'r str> {
        self.at
            .get(&c)
            .and_then(|i| record.get(*i))
            .map(|cell| super::lines::excel_text_str(cell.trim()).trim())
            .filter(|s| !s.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Upsert,
    Delete,
}

/// One parsed data row: the member's facts, with its phones still as written (they are
/// classified separately, on all the file's rows at once).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    pub delete: bool,
    pub mobile_text: Option<String>,
    pub other_texts: Vec<String>,
    /// Every fact but the phones, which are set once classified.
    pub member: Member,
    /// What was read and not kept, by column, for the row's detail (a Canadian postal code
    /// in `zip`).
    pub notes: Vec<(&'static str, &'static str)>,
}

impl Row {
    pub fn action(&self) -> Action {
        if self.delete {
            Action::Delete
        } else {
            Action::Upsert
        }
    }
}

/// Why a row is malformed. Never quotes a field's value (it may be an SSN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub member_id: Option<String>,
    pub detail: String,
}

/// Parse one data row. A row whose fields do not line up with the header, or that has no
/// usable member id, stops at that; otherwise every field out of its format is named in the
/// detail, in ENROLL.md's column order, so that one run shows all that the row needs fixed.
pub fn parse(cols: &Columns, record: &StringRecord) -> Result<Row, Malformed> {
    let member_id = cols.get(record, Column::MemberId).map(str::to_string);
    let bad = |detail: String| Malformed {
        // the field may hold the rest of the row (a quote never closed): not shown then
        member_id: member_id.clone().filter(|id| super::lines::id_shown(id)),
        detail,
    };
    if !super::lines::lines_up(record.iter().map(str::as_bytes), cols.width) {
        let fields = record.iter().map(str::as_bytes);
        return Err(bad(super::lines::fields_mismatch(
            fields,
            cols.width,
            cols.separator.byte(),
        )));
    }
    let Some(id) = member_id.clone() else {
        return Err(bad("member_id is empty".into()));
    };
    if !crate::member::plausible_member_id(&id) {
        return Err(bad(
            "member_id is longer than 64 characters or holds control characters".into(),
        ));
    }
    if let Some(problem) = crate::member::id_in_file_problem(&id) {
        return Err(bad(format!("member_id {problem}")));
    }
    if super::lines::names_the_member_id(&id) {
        return Err(bad(super::lines::HEADER_AGAIN.into()));
    }
    let get = |c| cols.get(record, c);
    let mut problems = Problems::default();

    let delete = problems.take(
        "action",
        match get(Column::Action).map(str::to_ascii_lowercase).as_deref() {
            None | Some("upsert") => Ok(false),
            Some("delete") => Ok(true),
            // a change file's codes: what each means is the file's to say, not guessed at
            Some(
                "a" | "c" | "d" | "i" | "u" | "add" | "insert" | "update" | "change" | "del"
                | "remove",
            ) => Err(
                "is not upsert or delete: a change file's codes (A/C/D, I/U/D, or words for \
                 them) are to be written as upsert or delete",
            ),
            Some(_) => Err("is not upsert or delete"),
        },
    );
    let text = |c| -> Result<Option<String>, &'static str> {
        match get(c) {
            Some(v)
                if v.chars().count() > 200
                    || v.chars()
                        .any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')) =>
            {
                Err("is longer than 200 characters or holds control characters")
            }
            v => Ok(v.map(str::to_string)),
        }
    };
    let date = |c| get(c).map(|v| date_cell(v, cols.slash_dates)).transpose();
    let money = |c| -> Result<Option<i64>, &'static str> {
        get(c)
            .map(|v| parse_cents(v).map_err(|_| "is not an amount in dollars and cents (1234.56)"))
            .transpose()
    };
    // `;` as ENROLL.md says, and the `,` or `|` a quoted field of an export may hold: no
    // phone number or account number has either
    let list = |c| -> Vec<String> {
        get(c)
            .map(|v| {
                v.split([';', ',', '|'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };

    let first_name = problems.take("first_name", text(Column::FirstName));
    let last_name = problems.take("last_name", text(Column::LastName));
    let phone_type = problems.take(
        "phone_type",
        match get(Column::PhoneType) {
            None => Ok(PhoneType::Unknown),
            Some(v) => PhoneType::parse(v).ok_or("is not mobile, landline, voip or unknown"),
        },
    );
    let email = problems.take(
        "email",
        text(Column::Email)
            .and_then(|email| email.map(|e| crate::member::email_address(&e)).transpose()),
    );
    let dob = problems.take("dob", date(Column::Dob));
    let mut notes = Vec::new();
    // a Canadian member's postal code: not a zip a caller can key, but no reason to leave
    // the member out (a REST core's is left out the same way)
    let zip = match get(Column::Zip).filter(|v| canadian_postal_code(v)) {
        Some(_) => {
            notes.push(("zip", POSTAL_CODE));
            None
        }
        None => problems.take(
            "zip",
            optional(get(Column::Zip), parse_zip, "is not 5 digits or ZIP+4").map_err(|problem| {
                (decimal(get(Column::Zip)))
                    .or_else(|| zeros_dropped(get(Column::Zip), &[3, 4, 7, 8]))
                    .unwrap_or(problem)
            }),
        ),
    };
    let ssn_last4 = problems.take(
        "ssn_last4",
        match get(Column::SsnLast4) {
            None => Ok(None),
            Some(v) => ssn_last4(v).map(Some).map_err(|problem| {
                (decimal(Some(v)))
                    .or_else(|| zeros_dropped(Some(v), &[1, 2, 3]))
                    .unwrap_or(problem)
            }),
        },
    );
    let account_numbers = list(Column::AccountNumbers);
    if account_numbers
        .iter()
        .any(|a| a.len() > 32 || !a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        let decimal = account_numbers.iter().any(|a| written_as_decimal(a));
        problems.add(
            "account_numbers",
            match decimal {
                true => DECIMAL,
                false => "holds an entry that is not an account number",
            },
        );
    }
    let profile_changed_at = problems.take(
        "profile_changed_at",
        get(Column::ProfileChangedAt)
            .map(|v| match crate::civil::when(v) {
                Some(t) => Ok(t),
                None if v.contains('/') => slashes(v, cols.slash_dates),
                None => match crate::civil::month_named_date(v) {
                    Ok(day) => Ok(day.and_time(chrono::NaiveTime::MIN)),
                    Err(DateProblem::TwoDigitYear) => Err(TWO_DIGIT_YEAR),
                    Err(_) => Err("is not a date or date and time (YYYY-MM-DD, \
                                   2026-11-30T14:22:01, with an offset or Z)"),
                },
            })
            .transpose(),
    );
    let fraud_flag = problems.take(
        "fraud_flag",
        match get(Column::FraudFlag) {
            None => Ok(false),
            Some(v) => parse_flag(v).ok_or("is not true/false, t/f, yes/no, y/n or 1/0"),
        },
    );
    let place_of_birth = problems.take("place_of_birth", text(Column::PlaceOfBirth));
    let savings_balance_cents = problems.take("savings_balance", money(Column::SavingsBalance));
    let last_txn_amount_cents = problems.take("last_txn_amount", money(Column::LastTxnAmount));
    let last_txn_date = problems.take("last_txn_date", date(Column::LastTxnDate));
    if !problems.0.is_empty() {
        return Err(bad(problems.0.join("; ")));
    }
    Ok(Row {
        delete,
        mobile_text: get(Column::MobilePhone).map(str::to_string),
        other_texts: list(Column::OtherPhones),
        member: Member {
            member_id: id,
            first_name,
            last_name,
            phone_type,
            email,
            dob,
            zip,
            ssn_last4,
            account_numbers,
            profile_changed_at,
            fraud_flag,
            place_of_birth,
            savings_balance_cents,
            last_txn_amount_cents,
            last_txn_date,
            ..Member::default()
        },
        notes,
    })
}

/// An optional field: absent, read by `parse`, or `problem`.
fn optional<T>(
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Option<T>,
    problem: &'static str,
) -> Result<Option<T>, &'static str> {
    value.map(|v| parse(v).ok_or(problem)).transpose()
}

/// The problem of a zip or SSN a script wrote as a decimal number (`55401.0`): never
/// quotes the value.
fn decimal(value: Option<&str>) -> Option<&'static str> {
    value.filter(|v| written_as_decimal(v)).map(|_| DECIMAL)
}

/// The problem of a zip or SSN whose digits are fewer than its format's by leading zeros
/// a spreadsheet took (`02134` opened and saved as `2134`): `short` are the digit counts
/// that look so. Never quotes the value.
fn zeros_dropped(value: Option<&str>, short: &[usize]) -> Option<&'static str> {
    let v = value?;
    (v.bytes().all(|b| b.is_ascii_digit()) && short.contains(&v.len())).then_some(
        "has too few digits, as when a spreadsheet drops leading zeros: keep the column \
         as text before saving",
    )
}

/// Why a Canadian postal code is not kept as the member's zip (it is never quoted).
pub const POSTAL_CODE: &str = "zip not kept: a Canadian postal code, which a caller cannot key \
                               (the zip question is not asked)";

/// Whether `v` is a Canadian postal code: `K1A 0B6`, `k1a0b6`, `K1A-0B6` (letter, digit,
/// letter, then digit, letter, digit).
fn canadian_postal_code(v: &str) -> bool {
    let b: Vec<u8> = v.bytes().filter(|b| !matches!(b, b' ' | b'-')).collect();
    v.len() <= 7
        && b.len() == 6
        && b.iter().enumerate().all(|(i, c)| {
            if i % 2 == 0 {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_digit()
            }
        })
}

/// The fields of one row that are out of their format, each as "name problem".
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, name: &str, problem: &str) {
        self.0.push(format!("{name} {problem}"));
    }

    /// The field's value, or its type's default once its problem is noted (the row is then
    /// refused as a whole, so the default is never used).
    fn take<T: Default>(&mut self, name: &str, parsed: Result<T, &str>) -> T {
        parsed.unwrap_or_else(|problem| {
            self.add(name, problem);
            T::default()
        })
    }
}

/// A date column's day: `YYYY-MM-DD`, or as a core's export writes a date otherwise: with a
/// time after it, as a SQL `datetime` column exports (`1984-03-12 00:00:00.000`, the day as
/// written), `YYYYMMDD` (a mainframe's), a month or day of one digit (`1984-3-12`), or the
/// month named (`12-MAR-1984`, Oracle's; see [`crate::civil::month_named_date`]). A
/// time with a zone other than a midnight is refused (whose day it is, is unclear), as are
/// slashes (`3/12/1984`: a spreadsheet's rewrite, month and day in an order no file says)
/// unless `slash_dates` names their order (see [`slashes`]).
fn date_cell(v: &str, slash_dates: Option<SlashDates>) -> Result<NaiveDate, &'static str> {
    const NOT_A_DATE: &str = "is not a date YYYY-MM-DD";
    if let Some(d) = parse_ymd(v) {
        return Ok(d);
    }
    if v.contains('/') {
        return slashes(v, slash_dates).map(|t| t.date());
    }
    if v.len() == 5 && v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            "is not a date YYYY-MM-DD but a number, as a spreadsheet writes a date in a \
             column formatted \"General\" (its count of days since 1900): format the \
             column yyyy-mm-dd before saving",
        );
    }
    if let Some(t) = crate::civil::naive_date_time(v) {
        return Ok(t.date());
    }
    if let Some(t) = crate::civil::offset_date_time(v) {
        return match t.time() == chrono::NaiveTime::MIN {
            true => Ok(t.date_naive()),
            false => Err(
                "is a date and time with a time zone, whose day is unclear: export \
                          the date alone, YYYY-MM-DD",
            ),
        };
    }
    // digits only (`parse` would take `+5`); the patterns below bound their lengths
    let number = |s: &str| -> Option<u32> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let ymd = |y: &str, m: &str, d: &str| {
        let year = number(y).filter(|y| (1800..=2200).contains(y));
        NaiveDate::from_ymd_opt(i32::try_from(year?).ok()?, number(m)?, number(d)?)
    };
    let day = match v.split('-').collect::<Vec<_>>()[..] {
        [y, m, d] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => ymd(y, m, d),
        [compact] if compact.len() == 8 && compact.bytes().all(|b| b.is_ascii_digit()) => {
            ymd(&compact[..4], &compact[4..6], &compact[6..])
        }
        _ => None,
    };
    match day {
        Some(day) => Ok(day),
        None => crate::civil::month_named_date(v).map_err(|problem| match problem {
            DateProblem::TwoDigitYear => TWO_DIGIT_YEAR,
            _ => NOT_A_DATE,
        }),
    }
}

/// Why a date with a two-digit year is refused.
const TWO_DIGIT_YEAR: &str = "has a two-digit year, whose century is unclear: format the \
                              column with a four-digit year before saving";

/// A date, or date and time, written with slashes, read as [`crate::civil::slash_date_time`]
/// reads it in `order`; the problem said as a row's detail says it, never quoting the value.
fn slashes(v: &str, order: Option<SlashDates>) -> Result<NaiveDateTime, &'static str> {
    use SlashDates::{DayFirst, MonthFirst};
    crate::civil::slash_date_time(v, order).map_err(|problem| match (problem, order) {
        (DateProblem::NoOrder, _) => {
            "is a date with slashes, as a spreadsheet rewrites dates and some cores export \
             them, whose order of month and day the file does not say: keep the column as \
             text, or format it yyyy-mm-dd, before saving, or name the order in [enroll] \
             slash_dates"
        }
        (DateProblem::TwoDigitYear, _) => TWO_DIGIT_YEAR,
        (DateProblem::OtherOrder, Some(MonthFirst)) => {
            "is not a date month/day/year, the order [enroll] slash_dates names: its month \
             is past 12, as a date day/month/year's day may be"
        }
        (DateProblem::OtherOrder, _) => {
            "is not a date day/month/year, the order [enroll] slash_dates names: its month \
             is past 12, as a date month/day/year's day may be"
        }
        (DateProblem::NotADate, Some(MonthFirst)) => {
            "is not a date YYYY-MM-DD or month/day/year ([enroll] slash_dates)"
        }
        (DateProblem::NotADate, Some(DayFirst)) => {
            "is not a date YYYY-MM-DD or day/month/year ([enroll] slash_dates)"
        }
        (DateProblem::NotADate, None) => "is not a date YYYY-MM-DD",
    })
}

/// The `ssn_last4` column's 4 digits, as written or as a core masks a whole number
/// (`XXX-XX-6789`, `***-**-6789`). A whole SSN is refused, not cut down: the column says
/// the file should not hold one, and the file is kept in `processed/`.
fn ssn_last4(v: &str) -> Result<String, &'static str> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if v.len() == 4 && digits(v) {
        return Ok(v.to_string());
    }
    let masked = v
        .rsplit_once(['-', ' '])
        .filter(|(mask, last4)| {
            last4.len() == 4
                && digits(last4)
                && mask.bytes().any(|b| matches!(b, b'X' | b'x' | b'*' | b'#'))
                && mask
                    .bytes()
                    .all(|b| matches!(b, b'X' | b'x' | b'*' | b'#' | b'-' | b' '))
        })
        .map(|(_, last4)| last4.to_string());
    let whole = v.bytes().filter(u8::is_ascii_digit).count() == 9
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b' ');
    match (masked, whole) {
        (Some(last4), _) => Ok(last4),
        (None, true) => Err(
            "holds a whole SSN (9 digits): export only its last 4 digits; \
             callvault keeps no more, but this file, kept in processed/, holds them all",
        ),
        (None, false) => Err("is not 4 digits"),
    }
}

/// An amount that is not dollars and cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnAmount;

/// `1234.56` -> 123456; `-12.5` -> -1250; `1234` -> 123400. A `$` is allowed before the
/// number or its sign, and the forms cores and spreadsheets export amounts in: thousands
/// separated by commas (`1,234.56`), a sign written out (`+12.50`, as a statement's
/// export gives deposits), a negative amount in accounting's parentheses (`(12.50)`) or
/// with a mainframe's trailing sign (`12.50-`), a ledger's `CR` or `DR` after the number
/// (`12.50 CR`, a credit, is 1250; `12.50DR`, a debit, is -1250), and Excel's "Accounting"
/// format as its CSV writes it, the `$` spaced from the number (`$ (12.50)`) and zero a dash
/// (`$ -`). One way of saying the sign at most. Zeros past the cents are allowed
/// (`1234.5600`, SQL Server's `money`); a fraction of a cent is not.
pub fn parse_cents(v: &str) -> Result<i64, NotAnAmount> {
    if v.matches('$').count() > 1 {
        return Err(NotAnAmount);
    }
    let (debit, v) = match ledger_side(v) {
        Some((debit, rest)) => (Some(debit), rest),
        None => (None, v),
    };
    let v = match v.strip_prefix('$') {
        Some(rest) if rest.trim() == "-" && debit.is_none() => return Ok(0),
        Some(rest) => rest.trim_start(),
        None => v,
    };
    let (negative, v) = if let Some(inner) = v.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        (Some(true), inner)
    } else if let Some(rest) = v.strip_prefix('-') {
        (Some(true), rest)
    } else if let Some(rest) = v.strip_suffix('-') {
        (Some(true), rest)
    } else if let Some(rest) = v.strip_prefix('+') {
        (Some(false), rest)
    } else {
        (None, v)
    };
    let negative = match (negative, debit) {
        (Some(_), Some(_)) => return Err(NotAnAmount),
        (sign, ledger) => sign.or(ledger).unwrap_or(false),
    };
    let v = v.strip_prefix('$').unwrap_or(v);
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    // SQL Server's `money` keeps four places (`1234.5600`): zeros past the cents say nothing
    let frac = match frac.get(2..) {
        Some(rest) if rest.bytes().all(|b| b == b'0') => &frac[..2],
        _ => frac,
    };
    let whole = without_thousands(whole).ok_or(NotAnAmount)?;
    if whole.is_empty()
        || whole.len() > 13
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(NotAnAmount);
    }
    let whole: i64 = whole.parse().map_err(|_| NotAnAmount)?;
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| NotAnAmount)? * 10,
        _ => frac.parse().map_err(|_| NotAnAmount)?,
    };
    let total = whole * 100 + cents;
    Ok(if negative { -total } else { total })
}

/// A ledger's side written after an amount, in any case and with or without a space
/// (`12.50 CR`, `12.50DR`): whether it is a debit, and the amount before it.
fn ledger_side(v: &str) -> Option<(bool, &str)> {
    let at = v
        .len()
        .checked_sub(2)
        .filter(|&at| v.is_char_boundary(at))?;
    let debit = match &v[at..] {
        side if side.eq_ignore_ascii_case("CR") => false,
        side if side.eq_ignore_ascii_case("DR") => true,
        _ => return None,
    };
    Some((debit, v[..at].trim_end()))
}

/// Whole dollars without their thousands separators (`1,234,567` -> `1234567`): commas only
/// between groups of three digits after a first group of one to three. None when commas
/// stand elsewhere (`12,50`, a decimal comma, is not read as 1,250).
fn without_thousands(whole: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !whole.contains(',') {
        return Some(whole.into());
    }
    let mut groups = whole.split(',');
    let first = groups.next()?;
    let grouped = (1..=3).contains(&first.len())
        && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
    grouped.then(|| whole.replace(',', "").into())
}

/// A flag's word, in any case: true/false, yes/no, y/n, 1/0, and t/f (PostgreSQL's `COPY`
/// writes booleans so).
pub fn parse_flag(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "t" => Some(true),
        "false" | "no" | "n" | "0" | "f" => Some(false),
        _ => None,
    }
}

/// A zip's 5 digits: `55401`, `55401-1234`, `55401 1234` or `554011234`.
pub fn parse_zip(v: &str) -> Option<String> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match v.split_once(['-', ' ']) {
        None => digits(v, 5) || digits(v, 9),
        Some((zip, plus4)) => digits(zip, 5) && digits(plus4, 4),
    };
    ok.then(|| v[..5].to_string())
}

/// `YYYY-MM-DD`, strictly, without chrono's format-string machinery (a million rows each
/// carry several dates).
pub fn parse_ymd(v: &str) -> Option<NaiveDate> {
    let b = v.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

#[cfg(test)]
mod tests;
