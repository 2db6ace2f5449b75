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
    let cases: [(&str, Edit, Option<Reason>); 15] = [
        ("clean", |_| {}, None),
        ("no mobile", |c| c.mobile = None, Some(Reason::MissingPhone)),
        (
            "invalid",
            |c| c.mobile = Some(PhoneClass::Invalid),
            Some(Reason::InvalidPhone),
        ),
        (
            "toll-free",
            |c| c.mobile = Some(PhoneClass::Service(18005551234)),
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
        // the window's edge: 30 days ago to the second is outside it, a second later inside
        (
            "changed 30 days ago to the second",
            |c| c.profile_changed_at = Some(at(2026, 10, 23)),
            None,
        ),
        (
            "changed 30 days less a second ago",
            |c| c.profile_changed_at = Some(at(2026, 10, 23) + Duration::seconds(1)),
            Some(Reason::RecentChange),
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

#[test]
fn each_reason_says_what_in_the_row_to_look_at() {
    let now = at(2026, 11, 22);
    type Edit = fn(&mut Candidate);
    let cases: [(&str, Edit, &str, &str); 10] = [
        (
            "no mobile",
            |c| c.mobile = None,
            "",
            "an upsert needs mobile_phone",
        ),
        (
            "letters",
            |c| c.mobile = Some(PhoneClass::Invalid),
            "202-555-CALL",
            "letters or other characters: a number is digits, spaces and + ( ) - . / only",
        ),
        (
            "toll-free",
            |c| c.mobile = Some(PhoneClass::Service(18005551234)),
            "800-555-1234",
            "a service number (toll-free, premium rate or the like), not a member's own",
        ),
        (
            "said landline",
            |c| c.phone_type = PhoneType::Landline,
            "",
            "phone_type is landline",
        ),
        (
            "known fixed line",
            |c| c.mobile = Some(PhoneClass::FixedLine(442079460958)),
            "",
            "the numbering plan lists the mobile number as a fixed line",
        ),
        ("fraud", |c| c.fraud_flag = true, "", "fraud_flag is set"),
        (
            "changed 10 days ago",
            |c| c.profile_changed_at = Some(at(2026, 11, 12)),
            "",
            "profile changed on 2026-11-12, within the last 30 days",
        ),
        (
            "changed in the future",
            |c| c.profile_changed_at = Some(at(2027, 1, 1)),
            "",
            "profile_changed_at 2027-01-01 is in the future",
        ),
        (
            "changed this very moment",
            |c| c.profile_changed_at = Some(at(2026, 11, 22)),
            "",
            "profile changed on 2026-11-22, within the last 30 days",
        ),
        (
            "shared",
            |c| c.shared = true,
            "",
            "the mobile number is also another member's",
        ),
    ];
    for (name, edit, text, want) in cases {
        let mut c = clean();
        edit(&mut c);
        let why = reason(&c, now, 30).unwrap_or_else(|| panic!("{name}: no reason"));
        assert_eq!(explain(why, &c, text, now, 30), want, "{name}");
    }
}
