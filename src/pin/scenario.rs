//! Activation and force-PIN-change (seed 003), decided when a caller keys a correct PIN —
//! callvault sees the PIN itself at that moment, so every scenario works even though the
//! vault keeps only a bcrypt hash.
//!
//! The rule the seed gives: activation scenarios are checked in the profile's order; a match
//! sends a member who has not yet established a PIN through activation, and one who has
//! through a forced PIN change ("the list is only used to trigger the determination of Force
//! PIN Change vs. Activation"). When an activation scenario and a force-change scenario both
//! match, `[pin_change] on_conflict` decides.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{blocklist, policy};
use crate::config::PinPolicyConfig;
use crate::member::Member;

/// What sends a member through activation (seed 003's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivationScenario {
    /// The member has no PIN in the vault.
    NoPin,
    PinIsSsnLast4,
    PinIsZipLast4,
    PinIsZipFirst4,
    PinRepeatingDigits,
    PinIsPhoneLast4,
    /// The core says the member needs activation.
    CoreHint,
}

impl ActivationScenario {
    pub const ALL: [ActivationScenario; 7] = [
        ActivationScenario::NoPin,
        ActivationScenario::PinIsSsnLast4,
        ActivationScenario::PinIsZipLast4,
        ActivationScenario::PinIsZipFirst4,
        ActivationScenario::PinRepeatingDigits,
        ActivationScenario::PinIsPhoneLast4,
        ActivationScenario::CoreHint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivationScenario::NoPin => "no_pin",
            ActivationScenario::PinIsSsnLast4 => "pin_is_ssn_last4",
            ActivationScenario::PinIsZipLast4 => "pin_is_zip_last4",
            ActivationScenario::PinIsZipFirst4 => "pin_is_zip_first4",
            ActivationScenario::PinRepeatingDigits => "pin_repeating_digits",
            ActivationScenario::PinIsPhoneLast4 => "pin_is_phone_last4",
            ActivationScenario::CoreHint => "core_hint",
        }
    }

    fn matches(self, keyed: Option<&str>, member: &Member) -> bool {
        let zip = member.zip.as_deref().filter(|z| z.len() == 5);
        match (self, keyed) {
            (ActivationScenario::NoPin, keyed) => keyed.is_none(),
            (ActivationScenario::CoreHint, _) => member.needs_activation,
            (_, None) => false,
            (ActivationScenario::PinIsSsnLast4, Some(pin)) => {
                member.ssn_last4.as_deref() == Some(pin)
            }
            (ActivationScenario::PinIsZipLast4, Some(pin)) => {
                zip.and_then(|z| z.get(1..)) == Some(pin)
            }
            (ActivationScenario::PinIsZipFirst4, Some(pin)) => {
                zip.and_then(|z| z.get(..4)) == Some(pin)
            }
            (ActivationScenario::PinRepeatingDigits, Some(pin)) => policy::is_repeating(pin),
            (ActivationScenario::PinIsPhoneLast4, Some(pin)) => member
                .mobile_phone
                .iter()
                .chain(member.other_phones.iter())
                .any(|p| p.len() >= 4 && p.get(p.len() - 4..) == Some(pin)),
        }
    }
}

/// What forces a member who verified to choose a new PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForceChangeScenario {
    /// The PIN is shorter or longer than `[pin_policy]` now allows.
    LengthOutsidePolicy,
    /// The PIN is older than `pin_policy.max_age_days`.
    Aged,
    /// An admin or agent asked for a change (`POST /v1/members/{id}/force-pin-change`).
    Flagged,
    /// The PIN is on the blocklist.
    Blocklisted,
}

impl ForceChangeScenario {
    pub const ALL: [ForceChangeScenario; 4] = [
        ForceChangeScenario::LengthOutsidePolicy,
        ForceChangeScenario::Aged,
        ForceChangeScenario::Flagged,
        ForceChangeScenario::Blocklisted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ForceChangeScenario::LengthOutsidePolicy => "length_outside_policy",
            ForceChangeScenario::Aged => "aged",
            ForceChangeScenario::Flagged => "flagged",
            ForceChangeScenario::Blocklisted => "blocklisted",
        }
    }
}

/// Which way a member goes when an activation scenario and a force-change scenario both match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictRule {
    /// Seed 003: activation when the member has not established a PIN, else force change.
    #[default]
    ActivationList,
    /// Activation always wins.
    Activation,
    /// Force change always wins.
    ForceChange,
}

/// What the vault knows about the stored PIN (never the PIN itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPin {
    /// The member chose this PIN (as opposed to a placeholder imported from a core).
    pub established: bool,
    pub set_at: DateTime<Utc>,
    pub flagged: bool,
}

/// Everything the decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    /// The PIN the caller keyed, already checked correct; `None` when the member has none.
    pub keyed: Option<&'a str>,
    pub stored: Option<StoredPin>,
    pub member: &'a Member,
    /// The profile's activation scenarios in order; empty when activation is off.
    pub activation: &'a [ActivationScenario],
    pub force_change: &'a [ForceChangeScenario],
    pub on_conflict: ConflictRule,
    pub policy: &'a PinPolicyConfig,
    pub now: DateTime<Utc>,
}

/// Why a member must choose a new PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeReason {
    /// An activation scenario matched for a member who had established a PIN.
    Scenario(ActivationScenario),
    Forced(ForceChangeScenario),
}

impl ChangeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeReason::Scenario(s) => s.as_str(),
            ChangeReason::Forced(s) => s.as_str(),
        }
    }
}

/// Where the member goes after a correct PIN (or with no PIN at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Carry on: the PIN is fine.
    Proceed,
    Activate(ActivationScenario),
    ChangePin(ChangeReason),
    /// No PIN, and no activation scenario covers that: the member cannot verify by PIN.
    NoPin,
}

fn force_change_matches(s: ForceChangeScenario, sit: &Situation<'_>) -> bool {
    let (Some(pin), Some(stored)) = (sit.keyed, sit.stored) else {
        return false;
    };
    let p = sit.policy;
    match s {
        ForceChangeScenario::LengthOutsidePolicy => {
            let len = pin.len() as u32;
            len < p.min_length || len > p.max_length
        }
        ForceChangeScenario::Aged => {
            p.max_age_days > 0
                && stored.set_at + Duration::days(i64::from(p.max_age_days)) <= sit.now
        }
        ForceChangeScenario::Flagged => stored.flagged,
        ForceChangeScenario::Blocklisted => {
            (p.blocklist && blocklist::contains(pin)) || p.extra_blocklist.iter().any(|b| b == pin)
        }
    }
}

/// Decide. Pure: the same situation always gives the same verdict.
pub fn assess(sit: &Situation<'_>) -> Verdict {
    let activation = sit
        .activation
        .iter()
        .copied()
        .find(|s| s.matches(sit.keyed, sit.member));
    if sit.keyed.is_none() {
        return match activation {
            Some(s) => Verdict::Activate(s),
            None => Verdict::NoPin,
        };
    }
    let established = sit.stored.is_some_and(|s| s.established);
    let forced = sit
        .force_change
        .iter()
        .copied()
        .find(|s| force_change_matches(*s, sit));
    match (activation, forced) {
        (None, None) => Verdict::Proceed,
        (None, Some(f)) => Verdict::ChangePin(ChangeReason::Forced(f)),
        (Some(a), None) if established => Verdict::ChangePin(ChangeReason::Scenario(a)),
        (Some(a), None) => Verdict::Activate(a),
        (Some(a), Some(f)) => match sit.on_conflict {
            ConflictRule::ActivationList if established => {
                Verdict::ChangePin(ChangeReason::Forced(f))
            }
            ConflictRule::ActivationList | ConflictRule::Activation => Verdict::Activate(a),
            ConflictRule::ForceChange => Verdict::ChangePin(ChangeReason::Forced(f)),
        },
    }
}
