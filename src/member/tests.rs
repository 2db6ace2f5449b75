use super::*;

#[test]
fn masks_keep_only_what_a_person_needs() {
    let cases = [
        (mask_phone("+15551234567"), "+1******4567"),
        (mask_phone("+385912345678"), "+38******5678"),
        (mask_phone("+1234"), "****"),
        (mask_email("jane.doe@cu.example"), "j***@cu.example"),
        (mask_email("nonsense"), "***"),
        (mask_tail("00123456789", 4), "*******6789"),
        (mask_tail("12", 4), "**"),
        (mask_after("55401", 3), "554**"),
        (mask_after("55", 3), "**"),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn a_masked_member_never_shows_the_secret_parts() {
    let m = Member {
        member_id: "100234".into(),
        mobile_phone: Some("+12025550143".into()),
        dob: NaiveDate::from_ymd_opt(1987, 3, 14),
        ssn_last4: Some("6789".into()),
        account_numbers: vec!["4400123456".into()],
        place_of_birth: Some("Zagreb".into()),
        savings_balance_cents: Some(123456),
        zip: Some("55401".into()),
        last_txn_date: NaiveDate::from_ymd_opt(2026, 11, 20),
        last_txn_amount_cents: Some(-4517),
        ..Member::default()
    };
    let shown = serde_json::to_string(&m.masked()).unwrap();
    for secret in [
        "6789",
        "03-14",
        "2025550143",
        "4400123456",
        "Zagreb",
        "123456",
        "55401",
        "11-20",
        "4517",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    for shown_part in ["1987-**-**", "+1******0143", "554**", "2026-11-**"] {
        assert!(shown.contains(shown_part), "{shown_part} not in {shown}");
    }
}

#[test]
fn withdrawn_phones_do_not_identify() {
    let m = Member {
        mobile_phone: Some("+12025550143".into()),
        other_phones: vec!["+12025550199".into()],
        withdrawn_phones: vec!["+12025550143".into()],
        ..Member::default()
    };
    let phones: Vec<_> = m.identifying_phones().collect();
    assert_eq!(phones, vec![("+12025550199", false)]);
}

#[test]
fn records_round_trip_and_unknown_formats_are_refused() {
    let record = MemberRecord {
        member: Member {
            member_id: "100234".into(),
            first_name: Some("Ana".into()),
            mobile_phone: Some("+12025550143".into()),
            other_phones: vec!["+12025550199".into()],
            dob: NaiveDate::from_ymd_opt(1980, 5, 17),
            fraud_flag: true,
            savings_balance_cents: Some(-5),
            ..Member::default()
        },
        enrolled_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    };
    let bytes = record.encode().unwrap();
    assert_eq!(MemberRecord::decode(&bytes).unwrap(), record);
    let mut other = bytes.clone();
    other[0] = 9;
    assert!(MemberRecord::decode(&other).is_err());
    assert!(MemberRecord::decode(&[]).is_err());
    assert!(
        MemberRecord::decode(&bytes[..bytes.len() / 2]).is_err(),
        "a cut record is refused"
    );
}
