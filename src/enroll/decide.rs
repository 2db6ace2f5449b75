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

    /// Reasons that say the member should not be identifiable by caller ID: a member enrolled
    /// earlier whose row now fails one of them is removed. (A malformed or duplicate row says
    /// nothing reliable about the member, so it leaves an enrolled member as it was.)
    pub fn withdraws_enrollment(self) -> bool {
        !matches!(
            self,
            Reason::MalformedRow | Reason::DuplicateRow | Reason::UnknownMember
        )
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

/// The first reason that applies, or `None` when the row may be applied.
pub fn reason(c: &Candidate, now: NaiveDateTime, recent_days: u32) -> Option<Reason> {
    let mobile = match c.mobile {
        None => return Some(Reason::MissingPhone),
        Some(PhoneClass::Invalid | PhoneClass::Service) => return Some(Reason::InvalidPhone),
        Some(m) => m,
    };
    if c.phone_type == PhoneType::Landline || matches!(mobile, PhoneClass::FixedLine(_)) {
        return Some(Reason::Landline);
    }
    if c.fraud_flag {
        return Some(Reason::FraudFlag);
    }
    // A change dated in the future is as untrustworthy as a recent one.
    if c.profile_changed_at
        .is_some_and(|t| t > now - Duration::days(i64::from(recent_days)))
    {
        return Some(Reason::RecentChange);
    }
    if c.shared {
        return Some(Reason::SharedPhone);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    const OK: PhoneClass = PhoneClass::Personal(12025550143);

    fn clean() -> Candidate {
        Candidate {
            mobile: Some(OK),
            phone_type: PhoneType::Mobile,
            fraud_flag: false,
            profile_changed_at: Some(at(2026, 1, 1)),
            shared: false,
        }
    }

    #[test]
    fn each_reason_and_its_precedence() {
        let now = at(2026, 11, 22);
        type Edit = fn(&mut Candidate);
        let cases: [(&str, Edit, Option<Reason>); 13] = [
            ("clean", |_| {}, None),
            ("no mobile", |c| c.mobile = None, Some(Reason::MissingPhone)),
            (
                "invalid",
                |c| c.mobile = Some(PhoneClass::Invalid),
                Some(Reason::InvalidPhone),
            ),
            (
                "toll-free",
                |c| c.mobile = Some(PhoneClass::Service),
                Some(Reason::InvalidPhone),
            ),
            (
                "said landline",
                |c| c.phone_type = PhoneType::Landline,
                Some(Reason::Landline),
            ),
            (
                "known fixed line",
                |c| c.mobile = Some(PhoneClass::FixedLine(442079460958)),
                Some(Reason::Landline),
            ),
            ("fraud", |c| c.fraud_flag = true, Some(Reason::FraudFlag)),
            (
                "changed 10 days ago",
                |c| c.profile_changed_at = Some(at(2026, 11, 12)),
                Some(Reason::RecentChange),
            ),
            (
                "changed in the future",
                |c| c.profile_changed_at = Some(at(2027, 1, 1)),
                Some(Reason::RecentChange),
            ),
            (
                "changed 31 days ago",
                |c| c.profile_changed_at = Some(at(2026, 10, 22)),
                None,
            ),
            ("shared", |c| c.shared = true, Some(Reason::SharedPhone)),
            // Precedence: the earlier reason wins when several apply.
            (
                "everything",
                |c| {
                    c.mobile = None;
                    c.phone_type = PhoneType::Landline;
                    c.fraud_flag = true;
                    c.shared = true;
                },
                Some(Reason::MissingPhone),
            ),
            (
                "landline, fraud, recent, shared",
                |c| {
                    c.phone_type = PhoneType::Landline;
                    c.fraud_flag = true;
                    c.profile_changed_at = Some(at(2026, 11, 20));
                    c.shared = true;
                },
                Some(Reason::Landline),
            ),
        ];
        for (name, edit, want) in cases {
            let mut c = clean();
            edit(&mut c);
            assert_eq!(reason(&c, now, 30), want, "{name}");
        }
        let mut c = clean();
        c.fraud_flag = true;
        c.profile_changed_at = Some(at(2026, 11, 20));
        c.shared = true;
        assert_eq!(reason(&c, now, 30), Some(Reason::FraudFlag));
        c.fraud_flag = false;
        assert_eq!(reason(&c, now, 30), Some(Reason::RecentChange));
        assert_eq!(
            reason(&c, now, 0),
            Some(Reason::SharedPhone),
            "a zero window turns the check off"
        );
    }

    #[test]
    fn reasons_are_listed_in_their_order() {
        let mut sorted = Reason::ALL;
        sorted.sort();
        assert_eq!(sorted, Reason::ALL);
        assert_eq!(Reason::ALL.map(Reason::as_str)[0], "malformed_row");
    }
}
