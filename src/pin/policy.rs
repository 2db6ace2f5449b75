//! The rules a new PIN must pass. Each refusal has a stable reason code the IVR can speak
//! (`prompt` keys are derived from it), and none of them echoes the PIN.

use serde::Serialize;

use super::blocklist;
use crate::config::PinPolicyConfig;
use crate::member::Member;

/// Why a new PIN was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    NotDigits,
    TooShort,
    TooLong,
    /// One digit repeated: `1111`.
    RepeatingDigits,
    /// A straight run up or down: `1234`, `9876`.
    Sequence,
    /// On the built-in or the configured blocklist.
    CommonPin,
    MatchesSsnLast4,
    MatchesZip,
    MatchesPhone,
    MatchesBirthDate,
    /// The new PIN is the one being replaced.
    SameAsCurrent,
    /// The confirmation differs from the new PIN.
    ConfirmMismatch,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::NotDigits => "not_digits",
            Rejection::TooShort => "too_short",
            Rejection::TooLong => "too_long",
            Rejection::RepeatingDigits => "repeating_digits",
            Rejection::Sequence => "sequence",
            Rejection::CommonPin => "common_pin",
            Rejection::MatchesSsnLast4 => "matches_ssn_last4",
            Rejection::MatchesZip => "matches_zip",
            Rejection::MatchesPhone => "matches_phone",
            Rejection::MatchesBirthDate => "matches_birth_date",
            Rejection::SameAsCurrent => "same_as_current",
            Rejection::ConfirmMismatch => "confirm_mismatch",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every digit the same.
pub fn is_repeating(pin: &str) -> bool {
    let b = pin.as_bytes();
    !b.is_empty() && b.iter().all(|&d| d == b[0])
}

/// Each digit one more (or each one less) than the one before.
pub fn is_sequence(pin: &str) -> bool {
    let b = pin.as_bytes();
    if b.len() < 3 {
        return false;
    }
    let steps = |delta: i16| {
        b.windows(2)
            .all(|w| i16::from(w[1]) - i16::from(w[0]) == delta)
    };
    steps(1) || steps(-1)
}

fn last4(s: &str) -> Option<&str> {
    s.len().checked_sub(4).and_then(|i| s.get(i..))
}

/// Check a PIN a member wants to set. `current` is the PIN being replaced, when the caller
/// just keyed it.
pub fn check_new_pin(
    policy: &PinPolicyConfig,
    pin: &str,
    member: &Member,
    current: Option<&str>,
) -> Result<(), Rejection> {
    if pin.is_empty() || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::NotDigits);
    }
    let len = pin.len() as u32;
    if len < policy.min_length {
        return Err(Rejection::TooShort);
    }
    if len > policy.max_length {
        return Err(Rejection::TooLong);
    }
    if is_repeating(pin) {
        return Err(Rejection::RepeatingDigits);
    }
    if is_sequence(pin) {
        return Err(Rejection::Sequence);
    }
    if (policy.blocklist && blocklist::contains(pin))
        || policy.extra_blocklist.iter().any(|b| b == pin)
    {
        return Err(Rejection::CommonPin);
    }
    if current.is_some_and(|c| c == pin) {
        return Err(Rejection::SameAsCurrent);
    }
    if policy.refuse_member_facts {
        member_facts(pin, member)?;
    }
    Ok(())
}

fn member_facts(pin: &str, member: &Member) -> Result<(), Rejection> {
    if member.ssn_last4.as_deref() == Some(pin) {
        return Err(Rejection::MatchesSsnLast4);
    }
    if let Some(zip) = member.zip.as_deref()
        && (zip == pin || zip.get(..4) == Some(pin) || last4(zip) == Some(pin))
    {
        return Err(Rejection::MatchesZip);
    }
    let phones = member.mobile_phone.iter().chain(member.other_phones.iter());
    for phone in phones {
        if last4(phone) == Some(pin) {
            return Err(Rejection::MatchesPhone);
        }
    }
    if let Some(dob) = member.dob {
        let forms = ["%m%d", "%d%m", "%m%y", "%Y", "%m%d%y", "%d%m%y", "%y%m%d"];
        if forms.iter().any(|f| dob.format(f).to_string() == pin) {
            return Err(Rejection::MatchesBirthDate);
        }
    }
    Ok(())
}
