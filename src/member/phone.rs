//! Phone numbers: parsed and validated with libphonenumber's data (the `phonenumber` crate),
//! normalized to E.164. libphonenumber cannot tell a US mobile from a US landline, so the
//! file's `phone_type` decides that; numbers it knows to be fixed-line are landlines, and
//! toll-free, premium-rate, shared-cost and similar service numbers are no member's phone.

use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::{Mode, Type};

/// What a number turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneClass {
    /// A valid personal number (mobile, or fixed-line-or-mobile, VoIP, personal): E.164 digits.
    Personal(u64),
    /// A valid number libphonenumber knows to be fixed-line.
    FixedLine(u64),
    /// Valid, but a service number (toll-free, premium, shared-cost, UAN, voicemail, pager):
    /// E.164 digits. No member's phone, but what a caller may dial (a DNIS).
    Service(u64),
    /// Not a dialable number: wrong length, impossible area code or exchange, letters.
    Invalid,
}

impl PhoneClass {
    /// A member's phone: the E.164 digits of a personal or fixed-line number.
    pub fn digits(self) -> Option<u64> {
        match self {
            PhoneClass::Personal(d) | PhoneClass::FixedLine(d) => Some(d),
            _ => None,
        }
    }

    /// A number someone can dial, service numbers included: its E.164 digits.
    pub fn dialable(self) -> Option<u64> {
        match self {
            PhoneClass::Service(d) => Some(d),
            other => other.digits(),
        }
    }
}

/// The region a number without a country code is read in (`[enroll] default_region`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(Id);

impl Region {
    pub fn parse(code: &str) -> Option<Region> {
        Id::from_str(&code.trim().to_ascii_uppercase())
            .ok()
            .map(Region)
    }

    /// Whether numbers written without a country code here are North American (+1).
    fn is_nanp(self) -> bool {
        phonenumber::metadata::DATABASE
            .by_id(self.0.as_ref())
            .is_some_and(|m| m.country_code() == 1)
    }
}

impl Default for Region {
    fn default() -> Self {
        Region(Id::US)
    }
}

/// What is wrong with a number as written, before any numbering plan is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Plausible,
    /// Letters, an `x` extension, or other characters than digits and the usual punctuation.
    Characters,
    /// Too few or too many digits for any phone number (7 to 15).
    Digits(usize),
}

/// Only digits and the usual punctuation; anything else (letters, `x` extensions) is invalid
/// before libphonenumber, which would quietly drop it, gets to see it.
fn shape(text: &str) -> Shape {
    let allowed =
        |b: u8| b.is_ascii_digit() || matches!(b, b'+' | b'(' | b')' | b'-' | b'.' | b' ' | b'/');
    if !text.bytes().all(allowed) {
        return Shape::Characters;
    }
    match text.bytes().filter(u8::is_ascii_digit).count() {
        7..=15 => Shape::Plausible,
        n => Shape::Digits(n),
    }
}

fn plausible(text: &str) -> bool {
    // `6125550101.0` would read as 61255501010, and some plans take 4479111234560
    shape(text) == Shape::Plausible && !written_as_decimal(text)
}

/// Why `text`, which [`classify`] found to be `class`, is no member's phone: the detail of a
/// pre-enrollment row's `invalid_phone`, so that whoever fixes the export knows what to look
/// for. Never quotes the number.
pub fn why_not_a_phone(text: &str, class: PhoneClass) -> String {
    if let PhoneClass::Service(_) = class {
        return "a service number (toll-free, premium rate or the like), not a member's own".into();
    }
    if written_as_decimal(text.trim()) {
        return DECIMAL.into();
    }
    if several_numbers(text) {
        return "more than one number: this field holds the one number the member calls from \
                (more go in other_phones)"
            .into();
    }
    match shape(text.trim()) {
        Shape::Characters if spreadsheet_number(text.trim()) => {
            "written in scientific notation (n.nnE+nn), as a spreadsheet shows a long number: \
             its digits are lost; export the column as text"
                .into()
        }
        Shape::Characters => {
            "letters or other characters: a number is digits, spaces and + ( ) - . / only".into()
        }
        Shape::Digits(n) => format!("{n} digits: a phone number has 7 to 15"),
        Shape::Plausible => {
            "not a valid number: no such area code or exchange, or the wrong length for its country"
                .into()
        }
    }
}

/// Whether `text` is a list of numbers (`612-555-0101; 612-555-0102`, `6125550101 /
/// 6125550102`), as a core's one "phones" field exports them: parts separated by `;`, `,`,
/// `/`, `|` or `&`, each with a phone number's 7 to 15 digits. (`202/555-0143`, an area code
/// set apart, is one number.)
fn several_numbers(text: &str) -> bool {
    let number = |part: &str| (7..=15).contains(&part.bytes().filter(u8::is_ascii_digit).count());
    let mut parts = text.split([';', ',', '/', '|', '&']);
    // One part alone is a single number, however it is written.
    parts.clone().nth(1).is_some() && parts.all(number)
}

/// Why a value [`written_as_decimal`] is refused (it is never quoted).
pub const DECIMAL: &str = "written as a decimal number (ending .0), as a script writes a \
                           column of numbers that has blanks (pandas' to_csv): write the \
                           column as text, with any leading zeros";

/// Whether `text` is a whole number written as a decimal (`6125550101.0`, `2134.0`), as
/// pandas writes an integer column that has a blank (it reads as floats then).
pub fn written_as_decimal(text: &str) -> bool {
    text.split_once('.').is_some_and(|(whole, zeros)| {
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && !zeros.is_empty()
            && zeros.bytes().all(|b| b == b'0')
    })
}

/// Whether `text` is a number in a spreadsheet's scientific notation (`1.61222E+10`).
fn spreadsheet_number(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['E', 'e']) else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !exponent.is_empty()
        && exponent.bytes().all(|b| b.is_ascii_digit())
}

/// Parse and classify a number as written in a file or sent as an ANI.
pub fn classify(text: &str, region: Region) -> PhoneClass {
    classify_with(text, region, &mut number_type)
}

/// Classifies many numbers (a pre-enrollment file) quickly.
///
/// libphonenumber's `number_type` costs about 8 µs and takes a process-wide lock (its regex
/// cache), so threads do not help. For North American (+1) ten-digit numbers every pattern
/// in its data decides the type within the first seven national digits (area code, exchange,
/// one more; the rest is `\d{4}` or `[2-9]\d{6}`), so the answer is remembered per
/// seven-digit prefix. A test checks the remembered answers against uncached ones.
#[derive(Default)]
pub struct Classifier {
    memo: std::collections::HashMap<u64, Type>,
}

const MEMO_DIGITS: u32 = 7;

/// The memo key of a North American ten-digit number: its first seven national digits.
fn nanp_prefix(number: &phonenumber::PhoneNumber) -> Option<u64> {
    let national = number.national();
    let nanp = number.code().value() == 1
        && national.zeros() == 0
        && (1_000_000_000..10_000_000_000).contains(&national.value());
    nanp.then(|| memo_key(national.value()))
}

fn memo_key(national: u64) -> u64 {
    national / 10u64.pow(10 - MEMO_DIGITS)
}

/// The national number of a North American number written plainly, or `None` when only
/// libphonenumber can tell: ten digits, the first one 2 to 9, after `+1`, or (when the
/// region's country code is 1) after a `1` or nothing, with spaces, `-`, `.` and a
/// parenthesized area code between them. It is what libphonenumber would parse the text to
/// (a test compares the two on generated texts).
fn nanp_national(text: &str, region: Region) -> Option<u64> {
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut digits = [0u8; 11];
    let mut len = 0;
    // the area code's parentheses: none, opened, closed
    let mut paren = 0u8;
    for b in rest.bytes() {
        match b {
            b'0'..=b'9' if len < digits.len() => {
                digits[len] = b - b'0';
                len += 1;
            }
            b' ' | b'-' | b'.' => {}
            // one pair around the area code only
            b'(' if paren == 0 && matches!(len, 0 | 1) => paren = 1,
            b')' if paren == 1 && matches!(len, 3 | 4) => paren = 2,
            _ => return None,
        }
    }
    if paren == 1 {
        return None;
    }
    let national = match (plus, len) {
        (true, 11) if digits[0] == 1 => &digits[1..],
        (false, 11) if digits[0] == 1 && region.is_nanp() => &digits[1..],
        (false, 10) if region.is_nanp() => &digits[..10],
        _ => return None,
    };
    (national[0] >= 2).then(|| national.iter().fold(0u64, |n, d| n * 10 + u64::from(*d)))
}

fn number_type(number: &phonenumber::PhoneNumber) -> Type {
    number.number_type(&phonenumber::metadata::DATABASE)
}

impl Classifier {
    pub fn classify(&mut self, text: &str, region: Region) -> PhoneClass {
        let text = text.trim();
        // A plainly written North American number whose prefix is remembered needs no parse.
        if let Some(national) = nanp_national(text, region)
            && let Some(kind) = self.memo.get(&memo_key(national))
        {
            return class_of(*kind, || Some(10_000_000_000 + national));
        }
        let memo = &mut self.memo;
        classify_with(text, region, &mut |number| match nanp_prefix(number) {
            Some(prefix) => *memo.entry(prefix).or_insert_with(|| number_type(number)),
            None => number_type(number),
        })
    }
}

/// Prefixes the shared memo holds at most (about 2 MB); beyond it, numbers are classified
/// uncached. Callers' numbers cluster in a credit union's own area codes, so it rarely fills.
const SHARED_MEMO_MAX: usize = 100_000;

/// [`Classifier`]'s memo shared by every request thread, for callers' numbers: without it
/// libphonenumber's pattern match was half of a call start's own work.
fn classify_shared(text: &str, region: Region) -> PhoneClass {
    static MEMO: std::sync::OnceLock<std::sync::RwLock<std::collections::HashMap<u64, Type>>> =
        std::sync::OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    // Caller IDs mostly arrive as +1 and ten digits. When their prefix is remembered, parsing
    // (most of what is left of the cost) is skipped too: the answer is the memo's.
    if let Some(national) = nanp_national(text.trim(), region)
        && let Some(kind) = memo
            .read()
            .ok()
            .and_then(|m| m.get(&memo_key(national)).copied())
    {
        return class_of(kind, || Some(10_000_000_000 + national));
    }
    classify_with(text, region, &mut |number| {
        let Some(prefix) = nanp_prefix(number) else {
            return number_type(number);
        };
        if let Some(t) = memo.read().ok().and_then(|m| m.get(&prefix).copied()) {
            return t;
        }
        let t = number_type(number);
        if let Ok(mut m) = memo.write() {
            remember(&mut m, prefix, t, SHARED_MEMO_MAX);
        }
        t
    })
}

/// Remember `t` for `prefix` while the memo holds fewer than `max` prefixes.
fn remember(memo: &mut std::collections::HashMap<u64, Type>, prefix: u64, t: Type, max: usize) {
    if memo.len() < max {
        memo.insert(prefix, t);
    }
}

fn classify_with(
    text: &str,
    region: Region,
    number_type: &mut dyn FnMut(&phonenumber::PhoneNumber) -> Type,
) -> PhoneClass {
    let text = text.trim();
    if !plausible(text) {
        return PhoneClass::Invalid;
    }
    // A plainly written North American number is parsed in its E.164 form: the same number,
    // and libphonenumber would refuse some ways of writing it (`+1202-555-0143`).
    let parsed = match nanp_national(text, region) {
        Some(national) => phonenumber::parse(None, format!("+1{national}")),
        None => phonenumber::parse(Some(region.0), text),
    };
    let Ok(number) = parsed else {
        return PhoneClass::Invalid;
    };
    // number_type runs the same pattern match as is_valid and answers Unknown for an invalid
    // number, so one call does both.
    let kind = number_type(&number);
    class_of(kind, || {
        number
            .format()
            .mode(Mode::E164)
            .to_string()
            .trim_start_matches('+')
            .parse::<u64>()
            .ok()
    })
}

/// What a number of libphonenumber's `kind` is, given its E.164 digits.
fn class_of(kind: Type, digits: impl FnOnce() -> Option<u64>) -> PhoneClass {
    match kind {
        Type::Mobile | Type::FixedLineOrMobile | Type::Voip | Type::PersonalNumber => {
            digits().map_or(PhoneClass::Invalid, PhoneClass::Personal)
        }
        Type::FixedLine => digits().map_or(PhoneClass::Invalid, PhoneClass::FixedLine),
        Type::Unknown => PhoneClass::Invalid,
        _ => digits().map_or(PhoneClass::Invalid, PhoneClass::Service),
    }
}

/// E.164 text of a number's digits.
pub fn e164(digits: u64) -> String {
    format!("+{digits}")
}

/// The number in a telephone URI, as IVR platforms pass caller and dialed numbers: Genesys
/// Cloud's `Call.Ani` is `tel:+13175551212` (RFC 3966), SIP platforms pass
/// `sip:+13175551212@10.0.0.9;user=phone` or a From header's `"Name" <sip:...>`. The scheme,
/// the host and the parameters (`;ext=105`, `;user=phone`) are dropped. Any other text is
/// returned trimmed, as it is.
pub fn uri_number(text: &str) -> &str {
    let t = addr_spec(text);
    let scheme = |name: &str| {
        t.get(..name.len())
            .filter(|s| s.eq_ignore_ascii_case(name))
            .and_then(|_| t.get(name.len()..))
    };
    let user = if let Some(rest) = scheme("tel:") {
        rest
    } else if let Some(rest) = scheme("sip:").or_else(|| scheme("sips:")) {
        rest.split('@').next().unwrap_or(rest)
    } else {
        return t;
    };
    user.split(';').next().unwrap_or(user).trim()
}

/// The URI in a name-addr (`"Display Name" <sip:...>;tag=...`: what is between `<` and
/// `>`), or the text trimmed.
fn addr_spec(text: &str) -> &str {
    let t = text.trim();
    match (t.find('<'), t.rfind('>')) {
        (Some(open), Some(close)) => t.get(open + 1..close).map_or(t, str::trim),
        _ => t,
    }
}

/// The value of the URI parameter `name` (any case) in a telephone URI or name-addr, as
/// [`uri_number`] reads them: `verstat` in `sip:+13175551212;verstat=TN-Validation-Passed@host`
/// (the caller ID's verification, of 3GPP TS 24.229 and ATIS-1000074, in the user part) or
/// after the host (`...@host;user=phone;verstat=...`). `None` when the text holds no such
/// parameter.
pub fn uri_param<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    addr_spec(text)
        .split([';', '@', '?', '&'])
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
}

/// Normalize a caller's number (ANI) to E.164, or `None` for no usable caller ID
/// (`anonymous`, `restricted`, `unknown`, empty, or not a valid number). A `tel:` or `sip:`
/// URI counts as its number ([`uri_number`]).
pub fn normalize_ani(ani: &str, region: Region) -> Option<String> {
    if withheld(ani) {
        return None;
    }
    classify_shared(uri_number(ani), region).digits().map(e164)
}

/// Whether a caller's number (ANI) says there is no caller ID: empty, `anonymous`,
/// `restricted`, `unknown`, `private`, or the words Twilio spells on a keypad for them
/// (`unavailable`, `blocked`) and a caller ID display shows (`withheld`, `out of area`),
/// in any case, bare or as a URI's user part; or one of Twilio's stand-ins (the spelt words,
/// which are no valid numbers).
pub fn withheld(ani: &str) -> bool {
    const TWILIO: [&str; 4] = [
        "+266696687",   // ANONYMOUS
        "+86282452253", // UNAVAILABLE
        "+7378742833",  // RESTRICTED
        "+2562533",     // BLOCKED
    ];
    let t = uri_number(ani);
    t.is_empty()
        || TWILIO.contains(&t)
        || [
            "anonymous",
            "restricted",
            "unknown",
            "private",
            "unavailable",
            "blocked",
            "withheld",
            "out of area",
            "out_of_area",
            "outofarea",
        ]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
}

/// Normalize a dialed number (DNIS) to E.164, or `None` when it is not a valid number. Unlike
/// a caller's number it may be a service number: credit unions' lines are often toll-free. A
/// `tel:` or `sip:` URI counts as its number ([`uri_number`]).
pub fn normalize_dnis(dnis: &str, region: Region) -> Option<String> {
    classify_shared(uri_number(dnis), region)
        .dialable()
        .map(e164)
}

#[cfg(test)]
mod tests;
