//! Keypad answers to questions about the member, matched robustly: dates as MMDDYYYY (or
//! MMDDYY),
//! amounts in dollars and cents (`12345` or `123*45` for $123.45) or whole dollars (`123`),
//! a ZIP as its 5 digits. Secrets are compared in constant time.

use chrono::NaiveDate;
use subtle::ConstantTimeEq;

use crate::member::Member;
use crate::profile::Question;

/// The keypad lengths the IVR should collect for a question.
pub fn digit_bounds(q: Question) -> (u32, u32) {
    match q {
        // MMDDYYYY, or MMDDYY as many callers key it
        Question::Dob | Question::LastTxnDate => (6, 8),
        Question::Zip => (5, 5),
        Question::SsnLast4 => (4, 4),
        Question::LastTxnAmount | Question::SavingsBalance => (1, 12),
        Question::PlaceOfBirth => (0, 0),
    }
}

/// Whether the member's record holds the fact a question asks about: a value of the
/// member's own, not one of the [`placeholder`]s cores write for "unknown".
pub fn answerable(q: Question, m: &Member) -> bool {
    match q {
        Question::Dob => m.dob.is_some_and(|d| !placeholder_date(d)),
        Question::Zip => m
            .zip
            .as_deref()
            .is_some_and(|z| z.len() == 5 && !placeholder(q, z)),
        Question::SsnLast4 => m
            .ssn_last4
            .as_deref()
            .is_some_and(|s| s.len() == 4 && !placeholder(q, s)),
        Question::LastTxnAmount => m.last_txn_amount_cents.is_some(),
        Question::LastTxnDate => m.last_txn_date.is_some_and(|d| !placeholder_date(d)),
        Question::SavingsBalance => m.savings_balance_cents.is_some(),
        Question::PlaceOfBirth => m
            .place_of_birth
            .as_deref()
            .is_some_and(|p| !p.trim().is_empty() && !placeholder(q, p)),
    }
}

/// Whether `value`, as the record holds it for `q`, is what cores and exports write when
/// they do not know: such a value is no proof (anyone who knows the convention keys it)
/// and the member cannot answer it, so the question is not asked, nor put on an agent's
/// checklist.
/// - a zip of `00000` (no ZIP code is) or `99999` (none is assigned);
/// - SSN last four `0000` (a serial number the Social Security Administration never
///   issues);
/// - a place of birth that is an [`unknown_word`].
///
/// Dates: [`placeholder_date`].
pub fn placeholder(q: Question, value: &str) -> bool {
    let v = value.trim();
    match q {
        Question::Zip => matches!(v, "00000" | "99999"),
        Question::SsnLast4 => v == UNISSUED_LAST4,
        Question::PlaceOfBirth => unknown_word(v),
        _ => false,
    }
}

/// SSN last four digits the Social Security Administration never issues: what a record
/// holds for a taxpayer number that is a [`placeholder_tin`], as for one written `0000`.
pub const UNISSUED_LAST4: &str = "0000";

/// Whether a whole taxpayer number, as a core writes it (`123-45-6789`, `123456789`), is
/// one never issued, which cores write when they do not know the member's (or as a test or
/// example value). Its last four are then no proof: the member asked them keys their own
/// SSN's, or has none. Nine digits, whatever the dashes and spaces, that are:
/// - nine of one digit (`000-00-0000`, `999-99-9999`), or `123-45-6789`, the example
///   everyone writes;
/// - as an SSN: area `000` or `666`, group `00`, or serial `0000`; or one of the numbers
///   used in advertising (`078-05-1120`, `219-09-9999`, `987-65-4320` to `987-65-4329`).
///
/// A number written as an EIN (`12-3456789`, a business member's) is held only to the
/// first rule: an EIN's digits have no area, group or serial. An ITIN (area `9xx`) is a
/// number the IRS issues, and is not a placeholder.
pub fn placeholder_tin(written: &str) -> bool {
    let digits: String = written.chars().filter(char::is_ascii_digit).collect();
    let b = digits.as_bytes();
    if b.len() != 9 {
        return false;
    }
    if b.iter().all(|d| *d == b[0]) || digits == "123456789" {
        return true;
    }
    let w = written.trim().as_bytes();
    let ein = w.len() == 10 && w[2] == b'-' && w.iter().filter(|c| c.is_ascii_digit()).count() == 9;
    let (area, group, serial) = (&digits[..3], &digits[3..5], &digits[5..]);
    !ein && (matches!(area, "000" | "666")
        || group == "00"
        || serial == UNISSUED_LAST4
        || matches!(digits.as_str(), "078051120" | "219099999")
        || digits.starts_with("98765432"))
}

/// Whether a text field holds a word cores write for "unknown" (any case): `unknown`,
/// `unk`, `n/a`, `none`, `null`, `-`, `?`, `.`, `not provided`, and for names `fnu` and
/// `nfn` (first name unknown, no first name).
pub fn unknown_word(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    matches!(
        v.as_str(),
        "unknown"
            | "unk"
            | "n/a"
            | "none"
            | "null"
            | "-"
            | "?"
            | "."
            | "not provided"
            | "fnu"
            | "nfn"
    )
}

/// The questions whose fact `m`'s record holds, but as a [`placeholder`]: not asked.
pub fn placeholders(m: &Member) -> Vec<Question> {
    let held = |q: Question| match q {
        Question::Dob => m.dob.is_some(),
        Question::Zip => m.zip.is_some(),
        Question::SsnLast4 => m.ssn_last4.is_some(),
        Question::LastTxnDate => m.last_txn_date.is_some(),
        Question::PlaceOfBirth => m.place_of_birth.is_some(),
        Question::LastTxnAmount | Question::SavingsBalance => false,
    };
    Question::ALL
        .into_iter()
        .filter(|&q| held(q) && !answerable(q, m))
        .collect()
}

/// Whether a birth or transaction date is a core's "unknown": on or before 1900 (1900-01-01,
/// Excel's 1899-12-30, SQL Server's 1753-01-01, 0001-01-01), or in 2100 or after
/// (9999-12-31). No member who calls was born in 1900.
pub fn placeholder_date(d: NaiveDate) -> bool {
    use chrono::Datelike;
    d.year() <= 1900 || d.year() >= 2100
}

/// Whether keyed `digits` answer `q` for member `m`. `None` when the member's record lacks
/// the fact (the question cannot be asked). `tolerance_cents` widens amount matches.
pub fn matches(q: Question, digits: &str, m: &Member, tolerance_cents: i64) -> Option<bool> {
    if !answerable(q, m) {
        return None;
    }
    Some(match q {
        Question::Dob => m.dob.is_some_and(|d| date_matches(digits, d)),
        Question::LastTxnDate => m.last_txn_date.is_some_and(|d| date_matches(digits, d)),
        Question::Zip => same_secret(m.zip.as_deref(), digits),
        Question::SsnLast4 => same_secret(m.ssn_last4.as_deref(), digits),
        Question::LastTxnAmount => m
            .last_txn_amount_cents
            .is_some_and(|a| amount_matches(digits, a, tolerance_cents)),
        Question::SavingsBalance => m
            .savings_balance_cents
            .is_some_and(|a| amount_matches(digits, a, tolerance_cents)),
        Question::PlaceOfBirth => false,
    })
}

fn same_secret(stored: Option<&str>, keyed: &str) -> bool {
    stored
        .is_some_and(|s| s.len() == keyed.len() && bool::from(s.as_bytes().ct_eq(keyed.as_bytes())))
}

/// Whether keyed `digits` are the date `d`: `MMDDYYYY`, or `MMDDYY` with the year's last
/// two digits, as many callers key a birth date whatever the prompt says (`031284` for
/// March 12, 1984). Six digits prove as much as eight: a caller's century is nothing a
/// guesser does not know. Other lengths are no date.
pub fn date_matches(digits: &str, d: NaiveDate) -> bool {
    use chrono::Datelike;
    match digits.len() {
        8 => keyed_date(digits) == Some(d),
        6 => {
            let yy = d.year().rem_euclid(100);
            let written = format!("{:02}{:02}{yy:02}", d.month(), d.day());
            digits == written
        }
        _ => false,
    }
}

/// `MMDDYYYY` as keyed on a phone.
pub fn keyed_date(digits: &str) -> Option<NaiveDate> {
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(digits, "%m%d%Y").ok()
}

/// A keyed amount: `123*45` is $123.45 exactly; plain digits are read both as cents
/// (`12345` = $123.45) and as whole dollars (`123` = $123, matching anything from $122.01 to
/// $123.99, so a caller may round either way). Signs are ignored: a withdrawal of $45 is
/// answered `45`. `tolerance_cents` is added to both readings.
pub fn amount_matches(digits: &str, actual_cents: i64, tolerance_cents: i64) -> bool {
    let actual = actual_cents.unsigned_abs() as i128;
    let tol = tolerance_cents.max(0) as i128;
    let number = |s: &str| -> Option<i128> {
        (!s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match digits.split_once('*') {
        Some((dollars, cents)) => {
            let (Some(d), Some(c)) = (number(dollars), number(cents)) else {
                return false;
            };
            let c = match cents.len() {
                1 => c * 10,
                2 => c,
                _ => return false,
            };
            (d * 100 + c - actual).abs() <= tol
        }
        None => {
            let Some(n) = number(digits) else {
                return false;
            };
            (n - actual).abs() <= tol || (n * 100 - actual).abs() < 100 + tol
        }
    }
}

/// The expected answer as an agent reads it on the checklist.
pub fn expected_text(q: Question, m: &Member) -> Option<String> {
    match q {
        Question::Dob => m.dob.map(|d| d.format("%B %-d, %Y").to_string()),
        Question::LastTxnDate => m.last_txn_date.map(|d| d.format("%B %-d, %Y").to_string()),
        Question::Zip => m.zip.clone(),
        Question::SsnLast4 => m.ssn_last4.clone(),
        Question::LastTxnAmount => m.last_txn_amount_cents.map(money),
        Question::SavingsBalance => m.savings_balance_cents.map(money),
        Question::PlaceOfBirth => m.place_of_birth.clone(),
    }
    .filter(|_| answerable(q, m))
}

/// An amount in cents as an agent reads it out: `-$1,234.56`.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let dollars = (c / 100).to_string();
    let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
    for (i, digit) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}${grouped}.{:02}", c % 100)
}

/// What the agent asks.
pub fn question_text(q: Question) -> &'static str {
    match q {
        Question::Dob => "When is your birth date?",
        Question::Zip => "What is the ZIP code on your account?",
        Question::SsnLast4 => "What are the last four digits of your Social Security number?",
        Question::LastTxnAmount => "How much was your last transaction?",
        Question::LastTxnDate => "When was your last transaction?",
        Question::SavingsBalance => "How much money do you have in your main savings account?",
        Question::PlaceOfBirth => "Where were you born?",
    }
}
