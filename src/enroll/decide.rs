//! Which reason, if any, keeps a row from being applied: the first that applies, in
//! ENROLL.md's order. Pure: everything it needs is passed in.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::member::PhoneType;
use crate::member::phone::PhoneClass;

/// Why a row was not applied, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MalformedRow,
    DuplicateRow,
    MissingPhone,
    InvalidPhone,
    Landline,
    FraudFlag,
    RecentChange,
    SharedPhone,
    UnknownMember,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::MalformedRow,
        Reason::DuplicateRow,
        Reason::MissingPhone,
        Reason::InvalidPhone,
        Reason::Landline,
        Reason::FraudFlag,
        Reason::RecentChange,
        Reason::SharedPhone,
        Reason::UnknownMember,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MalformedRow => "malformed_row",
            Reason::DuplicateRow => "duplicate_row",
            Reason::MissingPhone => "missing_phone",
            Reason::InvalidPhone => "invalid_phone",
            Reason::Landline => "landline",
            Reason::FraudFlag => "fraud_flag",
            Reason::RecentChange => "recent_change",
            Reason::SharedPhone => "shared_phone",
            Reason::UnknownMember => "unknown_member",
        }
    }
}

/// The facts of a well-formed, first-occurrence upsert row that the reasons look at.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// The mobile number, classified; `None` when the row has none.
    pub mobile: Option<PhoneClass>,
    pub phone_type: PhoneType,
    pub fraud_flag: bool,
    pub profile_changed_at: Option<NaiveDateTime>,
    /// Another member (in the file, or enrolled and not in it) claims the mobile number.
    pub shared: bool,
}

/// Whether a profile changed at `changed` is `recent_change`: within `recent_days` before
/// `now`, or dated in the future (as untrustworthy as a recent change). The edge, exactly
/// `recent_days` ago, is past the window.
pub fn changed_recently(
    changed: Option<NaiveDateTime>,
    now: NaiveDateTime,
    recent_days: u32,
) -> bool {
    changed.is_some_and(|t| t > now - Duration::days(i64::from(recent_days)))
}

/// The first reason that applies, or `None` when the row may be applied.
pub fn reason(c: &Candidate, now: NaiveDateTime, recent_days: u32) -> Option<Reason> {
    let mobile = match c.mobile {
        None => return Some(Reason::MissingPhone),
        Some(PhoneClass::Invalid | PhoneClass::Service(_)) => return Some(Reason::InvalidPhone),
        Some(m) => m,
    };
    if c.phone_type == PhoneType::Landline || matches!(mobile, PhoneClass::FixedLine(_)) {
        return Some(Reason::Landline);
    }
    if c.fraud_flag {
        return Some(Reason::FraudFlag);
    }
    if changed_recently(c.profile_changed_at, now, recent_days) {
        return Some(Reason::RecentChange);
    }
    if c.shared {
        return Some(Reason::SharedPhone);
    }
    None
}

/// The detail the results file gives for a row `reason` (from [`reason`]) keeps out: what in
/// the row to look at. `mobile_text` is the row's `mobile_phone` as written. Never quotes the
/// number.
pub fn explain(
    reason: Reason,
    c: &Candidate,
    mobile_text: &str,
    now: NaiveDateTime,
    recent_days: u32,
) -> String {
    match reason {
        Reason::MissingPhone => "an upsert needs mobile_phone".into(),
        Reason::InvalidPhone => crate::member::phone::why_not_a_phone(
            mobile_text,
            c.mobile.unwrap_or(PhoneClass::Invalid),
        ),
        Reason::Landline if c.phone_type == PhoneType::Landline => "phone_type is landline".into(),
        Reason::Landline => "the numbering plan lists the mobile number as a fixed line".into(),
        Reason::FraudFlag => "fraud_flag is set".into(),
        Reason::RecentChange => match c.profile_changed_at {
            Some(t) if t > now => format!("profile_changed_at {} is in the future", t.date()),
            Some(t) => format!(
                "profile changed on {}, within the last {recent_days} days",
                t.date()
            ),
            None => String::new(),
        },
        Reason::SharedPhone => "the mobile number is also another member's".into(),
        Reason::MalformedRow | Reason::DuplicateRow | Reason::UnknownMember => String::new(),
    }
}

#[cfg(test)]
mod tests;
