//! What the carrier's STIR/SHAKEN check said of a call's caller ID (`verstat`, of 3GPP
//! TS 24.229 and ATIS-1000074): a caller ID that failed it was likely spoofed, and gives no
//! `known_number` trust.

use serde::{Deserialize, Serialize};

/// The caller ID's verification, as the terminating carrier reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallerIdCheck {
    /// `TN-Validation-Passed` (with any attestation: `-A`, `-B`, `-C`).
    Passed,
    /// `TN-Validation-Failed`: the signature did not verify, or did not cover this number.
    Failed,
    /// `No-TN-Validation`: the call came without a signature to check (many carriers' calls
    /// still do).
    NoValidation,
}

impl CallerIdCheck {
    /// A `verstat` value as carriers and IVR platforms write it (any case; Twilio's
    /// `StirVerstat` adds the attestation: `TN-Validation-Passed-A`). `None` for any other
    /// text.
    pub fn read(verstat: &str) -> Option<CallerIdCheck> {
        let v = verstat.trim().to_ascii_lowercase();
        let then_attestation = |rest: &str| rest.is_empty() || matches!(rest, "-a" | "-b" | "-c");
        if let Some(rest) = v.strip_prefix("tn-validation-passed") {
            then_attestation(rest).then_some(CallerIdCheck::Passed)
        } else if let Some(rest) = v.strip_prefix("tn-validation-failed") {
            then_attestation(rest).then_some(CallerIdCheck::Failed)
        } else {
            (v == "no-tn-validation").then_some(CallerIdCheck::NoValidation)
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallerIdCheck::Passed => "passed",
            CallerIdCheck::Failed => "failed",
            CallerIdCheck::NoValidation => "no_validation",
        }
    }
}

/// A call's `verstat`, from the start request's own field and from the caller ID's URI
/// (`sip:+1...;verstat=...@host`), either or both. When they differ, the worse counts:
/// failed, then no validation, then passed. A value that is none of these is returned
/// apart (at most 40 characters of it, digits masked as `#`, for the log) and counts as
/// not given.
pub fn of_call(
    field: Option<&str>,
    in_ani: Option<&str>,
) -> (Option<CallerIdCheck>, Option<String>) {
    let mut worst: Option<CallerIdCheck> = None;
    let mut unreadable = None;
    for given in [field, in_ani].into_iter().flatten() {
        if given.trim().is_empty() {
            continue;
        }
        let Some(check) = CallerIdCheck::read(given) else {
            // digits are masked: an IVR that mapped the wrong variable may have sent what
            // the caller keyed
            let shown = given.chars().take(40);
            unreadable = Some(
                shown
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect(),
            );
            continue;
        };
        worst = Some(match (worst, check) {
            (Some(CallerIdCheck::Failed), _) | (_, CallerIdCheck::Failed) => CallerIdCheck::Failed,
            (Some(CallerIdCheck::NoValidation), _) | (_, CallerIdCheck::NoValidation) => {
                CallerIdCheck::NoValidation
            }
            _ => CallerIdCheck::Passed,
        });
    }
    (worst, unreadable)
}

#[cfg(test)]
mod tests;
