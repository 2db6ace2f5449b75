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
    /// Valid, but a service number: toll-free, premium, shared-cost, UAN, voicemail, pager.
    Service,
    /// Not a dialable number: wrong length, impossible area code or exchange, letters.
    Invalid,
}

impl PhoneClass {
    pub fn digits(self) -> Option<u64> {
        match self {
            PhoneClass::Personal(d) | PhoneClass::FixedLine(d) => Some(d),
            _ => None,
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
}

impl Default for Region {
    fn default() -> Self {
        Region(Id::US)
    }
}

/// Only digits and the usual punctuation; anything else (letters, `x` extensions) is invalid
/// before libphonenumber, which would quietly drop it, gets to see it.
fn plausible(text: &str) -> bool {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && text.bytes().all(|b| {
            b.is_ascii_digit() || matches!(b, b'+' | b'(' | b')' | b'-' | b'.' | b' ' | b'/')
        })
}

/// Parse and classify a number as written in a file or sent as an ANI.
pub fn classify(text: &str, region: Region) -> PhoneClass {
    let text = text.trim();
    if !plausible(text) {
        return PhoneClass::Invalid;
    }
    let Ok(number) = phonenumber::parse(Some(region.0), text) else {
        return PhoneClass::Invalid;
    };
    // number_type runs the same pattern match as is_valid and answers Unknown for an invalid
    // number, so one call does both (it is the expensive part, about 8 µs).
    let kind = number.number_type(&phonenumber::metadata::DATABASE);
    let digits = || {
        number
            .format()
            .mode(Mode::E164)
            .to_string()
            .trim_start_matches('+')
            .parse::<u64>()
            .ok()
    };
    match kind {
        Type::Mobile | Type::FixedLineOrMobile | Type::Voip | Type::PersonalNumber => {
            digits().map_or(PhoneClass::Invalid, PhoneClass::Personal)
        }
        Type::FixedLine => digits().map_or(PhoneClass::Invalid, PhoneClass::FixedLine),
        Type::Unknown => PhoneClass::Invalid,
        _ => PhoneClass::Service,
    }
}

/// E.164 text of a number's digits.
pub fn e164(digits: u64) -> String {
    format!("+{digits}")
}

/// Normalize a caller's number (ANI) to E.164, or `None` for no usable caller ID
/// (`anonymous`, `restricted`, `unknown`, empty, or not a valid number).
pub fn normalize_ani(ani: &str, region: Region) -> Option<String> {
    let t = ani.trim();
    if t.is_empty()
        || ["anonymous", "restricted", "unknown", "private"]
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w))
    {
        return None;
    }
    classify(t, region).digits().map(e164)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_classified_as_libphonenumber_knows_them() {
        let us = Region::default();
        let cases = [
            ("(202) 555-0143", PhoneClass::Personal(12025550143)),
            ("202.555.0143", PhoneClass::Personal(12025550143)),
            ("1-202-555-0143", PhoneClass::Personal(12025550143)),
            ("+1 202 555 0143", PhoneClass::Personal(12025550143)),
            ("+44 20 7946 0958", PhoneClass::FixedLine(442079460958)),
            ("+385 91 234 5678", PhoneClass::Personal(385912345678)),
            ("800-555-1234", PhoneClass::Service),
            ("900-555-1234", PhoneClass::Service),
            ("(555) 555-1234", PhoneClass::Invalid),
            ("+1 011 555 1234", PhoneClass::Invalid),
            ("202555014x", PhoneClass::Invalid),
            ("202-555-CALL", PhoneClass::Invalid),
            ("555-0100", PhoneClass::Invalid),
            ("12345", PhoneClass::Invalid),
            ("", PhoneClass::Invalid),
        ];
        for (text, want) in cases {
            assert_eq!(classify(text, us), want, "{text:?}");
        }
    }

    #[test]
    fn anis_normalize_or_mean_no_caller_id() {
        let us = Region::default();
        assert_eq!(
            normalize_ani("2025550143", us).as_deref(),
            Some("+12025550143")
        );
        assert_eq!(
            normalize_ani("+12025550143", us).as_deref(),
            Some("+12025550143")
        );
        for none in ["anonymous", "Restricted", "unknown", "", "  ", "12"] {
            assert_eq!(normalize_ani(none, us), None, "{none:?}");
        }
        assert_eq!(Region::parse("hr"), Some(Region(Id::HR)));
        assert_eq!(Region::parse("XX"), None);
    }
}
