//! Synthetic pre-enrollment files (`callvault gen-members N`): realistic variety for tests,
//! demos and benchmarks. Deterministic for a seed. Every number is fictional but valid by
//! libphonenumber's data unless the row is meant to be bad.

use std::io::{self, Write};

use chrono::{Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Area codes that libphonenumber knows to be valid US geographic codes.
const AREA_CODES: [u16; 40] = [
    201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225,
    228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 276, 281,
    301, 302,
];
const FIRST: [&str; 12] = [
    "Ana", "Ivan", "Maria", "James", "Linda", "Robert", "Petra", "Luka", "Sarah", "David", "Mei",
    "Olu",
];
const LAST: [&str; 10] = [
    "Horvat", "Smith", "Garcia", "Kovač", "Nguyen", "O'Brien", "Jones", "Babić", "Lee", "Brown",
];
const PLACES: [&str; 8] = [
    "Zagreb",
    "Zagreb, Croatia",
    "Split\nDalmatia",
    "St. Louis, MO",
    "Chicago",
    "Town called \"Hope\"",
    "Lagos",
    "Seattle",
];

/// How a file is written.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub rows: u64,
    pub seed: u64,
    pub crlf: bool,
    pub bom: bool,
    /// Bad rows of every kind mixed in; false writes only clean, unique rows.
    pub variety: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            rows: 100,
            seed: 1,
            crlf: false,
            bom: false,
            variety: true,
        }
    }
}

/// What was mixed into a file, by the row kind the generator intended.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct GenStats {
    pub rows: u64,
    pub clean: u64,
    pub duplicate: u64,
    pub missing_phone: u64,
    pub invalid_phone: u64,
    pub landline: u64,
    pub fraud_flag: u64,
    pub recent_change: u64,
    pub shared_phone: u64,
    pub quoted_newline: u64,
}

/// The `i`-th unique valid number, as E.164 digits after `+1`.
fn number(i: u64) -> (u16, u16, u16) {
    let n = AREA_CODES.len() as u64;
    let npa = AREA_CODES[(i % n) as usize];
    // Exchanges 200-999 without the N11 service codes: 8 hundreds of 99 each.
    let k = ((i / n) % 792) as u16;
    let r = k % 99;
    let nxx = (2 + k / 99) * 100 + if r >= 11 { r + 1 } else { r };
    let line = ((i / (n * 792)) % 10_000) as u16;
    (npa, nxx, line)
}

/// The E.164 mobile number the generator gives the `i`-th row of a clean file.
pub fn mobile_e164(i: u64) -> String {
    let (npa, nxx, line) = number(i);
    format!("+1{npa}{nxx}{line:04}")
}

fn format_number((npa, nxx, line): (u16, u16, u16), style: u64) -> String {
    match style % 4 {
        0 => format!("({npa}) {nxx}-{line:04}"),
        1 => format!("{npa}.{nxx}.{line:04}"),
        2 => format!("+1{npa}{nxx}{line:04}"),
        _ => format!("1-{npa}-{nxx}-{line:04}"),
    }
}

const HEADER: [&str; 18] = [
    "member_id",
    "action",
    "first_name",
    "last_name",
    "mobile_phone",
    "other_phones",
    "phone_type",
    "email",
    "dob",
    "zip",
    "ssn_last4",
    "account_numbers",
    "profile_changed_at",
    "fraud_flag",
    "place_of_birth",
    "savings_balance",
    "last_txn_amount",
    "last_txn_date",
];

/// Write a member file.
pub fn write_members(out: &mut dyn Write, options: &GenOptions) -> io::Result<GenStats> {
    if options.bom {
        out.write_all(b"\xEF\xBB\xBF")?;
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(if options.crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .from_writer(out);
    w.write_record(HEADER).map_err(io::Error::other)?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut stats = GenStats::default();
    let today = Utc::now().date_naive();
    let mut previous_mobile = String::new();
    for i in 0..options.rows {
        let mut member_id = format!("{}", 100_000 + i);
        let mut mobile = format_number(number(i), i);
        let mut phone_type = if i % 3 == 0 { "mobile" } else { "" };
        let mut fraud = "n";
        let mut changed = (today - Duration::days(40 + (i % 2000) as i64)).to_string();
        let roll: u32 = if options.variety {
            rng.gen_range(0..1000)
        } else {
            999
        };
        match roll {
            0..=9 if i > 0 => {
                member_id = format!("{}", 100_000 + i - 1);
                stats.duplicate += 1;
            }
            10..=19 => {
                mobile = String::new();
                stats.missing_phone += 1;
            }
            20..=29 => {
                mobile = [
                    "202-555-CALL",
                    "555-12",
                    "(555) 555-1234",
                    "800-555-0199",
                    "+1 011 555 1234",
                ][(i % 5) as usize]
                    .to_string();
                stats.invalid_phone += 1;
            }
            30..=49 => {
                phone_type = "landline";
                stats.landline += 1;
            }
            50..=59 => {
                fraud = ["y", "true", "1", "yes"][(i % 4) as usize];
                stats.fraud_flag += 1;
            }
            60..=79 => {
                changed = (today - Duration::days((i % 29) as i64)).to_string();
                stats.recent_change += 1;
            }
            80..=89 if !previous_mobile.is_empty() => {
                mobile = previous_mobile.clone();
                stats.shared_phone += 1;
            }
            _ => stats.clean += 1,
        }
        let place = PLACES[(i % PLACES.len() as u64) as usize];
        if place.contains('\n') {
            stats.quoted_newline += 1;
        }
        let other = if i % 5 == 0 {
            format_number(number(i + 50_000_000), i + 1)
        } else {
            String::new()
        };
        let dob = NaiveDate::from_ymd_opt(
            1940 + (i % 60) as i32,
            1 + (i % 12) as u32,
            1 + (i % 28) as u32,
        )
        .map(|d| d.to_string())
        .unwrap_or_default();
        let record = [
            member_id.clone(),
            String::new(),
            FIRST[(i % FIRST.len() as u64) as usize].to_string(),
            LAST[(i / 7 % LAST.len() as u64) as usize].to_string(),
            mobile.clone(),
            other,
            phone_type.to_string(),
            format!("member{i}@cu.example"),
            dob,
            format!("{:05}", 10_000 + (i * 7919) % 89_999),
            // never 0000, which no SSN ends in (and which is then no question to ask)
            format!("{:04}", 1 + (i * 31) % 9_999),
            format!("44{:08};55{:08}", i, i),
            changed,
            fraud.to_string(),
            place.to_string(),
            format!("{}.{:02}", (i * 37) % 100_000, i % 100),
            format!("{}.{:02}", (i * 13) % 2_000, (i * 7) % 100),
            (today - Duration::days((i % 90) as i64)).to_string(),
        ];
        w.write_record(&record).map_err(io::Error::other)?;
        if !mobile.is_empty() {
            previous_mobile = mobile;
        }
        stats.rows += 1;
    }
    w.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests;
