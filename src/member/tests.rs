use super::*;

#[test]
fn masks_keep_only_what_a_person_needs() {
    let cases = [
        (mask_phone("+15551234567"), "+1******4567"),
        (mask_phone("+447911123456"), "+44******3456"),
        // the country code whole, however long
        (mask_phone("+385912345678"), "+385*****5678"),
        (mask_phone("+79161234567"), "+7******4567"),
        // not a number the plan knows: a guess at its code
        (mask_phone("+99912345678"), "+99*****5678"),
        (mask_phone("+123456"), "+1***56"),
        // a short number: still its whole country code (+385), and at most half of the
        // digits after it
        (mask_phone("+38591234"), "+385***34"),
        (mask_phone("+385123"), "+385**3"),
        (mask_phone("+6834002"), "+683**02"),
        (mask_phone("+29022001"), "+290***01"),
        (mask_phone("+3851234567"), "+385****567"),
        (mask_phone("+38512345"), "+385***45"),
        (mask_phone("+1234"), "****"),
        (mask_phone("+123"), "***"),
        (mask_email("jane.doe@cu.example"), "j***@cu.example"),
        (mask_email("x@y.z"), "x***@y.z"),
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
fn addresses_in_what_another_system_wrote_are_masked() {
    let cases = [
        // Postfix refusing a recipient, as lettre words it
        (
            "permanent error (550): 5.1.1 <jane.doe@cu.example>: Recipient address rejected: \
             User unknown in virtual mailbox table",
            "permanent error (550): 5.1.1 <j***@cu.example>: Recipient address rejected: \
             User unknown in virtual mailbox table",
        ),
        // sendmail's form, the address bare and followed by dots
        (
            "550 5.7.1 jane@cu.example... Relaying denied",
            "550 5.7.1 j***@cu.example... Relaying denied",
        ),
        // two addresses, one quoted, one in brackets
        (
            "from \"a@b.c\" to [x.y@z.org], refused",
            "from \"a***@b.c\" to [x***@z.org], refused",
        ),
        // at the start and at the end, after a colon
        ("bob@cu.example:rejected", "b***@cu.example:rejected"),
        ("rejected:bob@cu.example", "rejected:b***@cu.example"),
        // after white space that is not ASCII
        ("to\u{a0}é@cu.example", "to\u{a0}é***@cu.example"),
        // nothing to mask
        (
            "421 4.3.2 Service not available",
            "421 4.3.2 Service not available",
        ),
        ("", ""),
        // an @ alone, or with nothing before it
        ("a @ b", "a ***@ b"),
        ("<@cu.example>", "<***@cu.example>"),
    ];
    for (text, want) in cases {
        assert_eq!(mask_emails_in(text), want, "{text}");
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

/// A record as format 1 wrote it (dates as text), from the build before format 2: stores
/// written until 2026-12-01 hold these.
const V1_RECORD: &str = "01063130303233340103416e6101044469617a010c2b313230323535353031343300010c2b3132303235353530313939010f616e61406578616d706c652e6f7267010a313938302d30352d3137010532303030310104363738390107353535303030310117323032302d30312d30315431303a32303a33302e353030010105506f6e6365010901f2c001010a323032362d31312d333001010c2b31323032353535303138381e323032352d31312d30325430333a30343a30352e3132333435363738395a14323032352d31322d30315430303a30303a30305a";

#[test]
fn format_1_records_are_still_read_and_rewritten_in_format_2() {
    let bytes: Vec<u8> = (0..V1_RECORD.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&V1_RECORD[i..i + 2], 16).unwrap())
        .collect();
    let record = MemberRecord::decode(&bytes).unwrap();
    assert_eq!(record, v1_sample());
    let again = record.encode().unwrap();
    assert_eq!(again[0], 2);
    assert!(
        again.len() < bytes.len(),
        "{} bytes, format 1 {}",
        again.len(),
        bytes.len()
    );
    assert_eq!(MemberRecord::decode(&again).unwrap(), record);
    // A cut format-1 record is refused too.
    assert!(MemberRecord::decode(&bytes[..bytes.len() - 3]).is_err());
}

#[test]
fn dates_stay_text_for_people_and_numbers_in_the_store() {
    let record = v1_sample();
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["member"]["dob"], "1980-05-17");
    assert_eq!(json["member"]["last_txn_date"], "2026-11-30");
    assert_eq!(
        json["member"]["profile_changed_at"],
        "2020-01-01T10:20:30.500"
    );
    assert_eq!(json["enrolled_at"], "2025-11-02T03:04:05.123456789Z");
    let back: MemberRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, record);
    // the store's encoding holds no date as text
    let bytes = record.encode().unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for date in ["1980-05-17", "2026-11-30", "2020-01-01", "2025-11-02"] {
        assert!(!text.contains(date), "{date} in {text:?}");
    }
    // the edges of what chrono holds survive the trip
    let mut edges = record.clone();
    edges.member.dob = Some(NaiveDate::MIN);
    edges.member.last_txn_date = Some(NaiveDate::MAX);
    edges.member.profile_changed_at = Some(chrono::NaiveDateTime::MIN);
    edges.updated_at = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    edges.enrolled_at = chrono::DateTime::<chrono::Utc>::MIN_UTC;
    assert_eq!(
        MemberRecord::decode(&edges.encode().unwrap()).unwrap(),
        edges
    );
}

/// What a core says of the PIN it holds is the call's to use, never the store's: the
/// record's bytes are the same with it or without, and it does not come back.
#[test]
fn whether_the_core_holds_a_pin_is_never_stored() {
    let record = v1_sample();
    for said in [Some(true), Some(false)] {
        let mut told = record.clone();
        told.member.core_has_pin = said;
        let bytes = told.encode().unwrap();
        assert_eq!(bytes, record.encode().unwrap(), "{said:?}");
        assert_eq!(
            MemberRecord::decode(&bytes).unwrap().member.core_has_pin,
            None
        );
    }
}

fn v1_sample() -> MemberRecord {
    MemberRecord {
        member: Member {
            member_id: "100234".into(),
            first_name: Some("Ana".into()),
            last_name: Some("Diaz".into()),
            mobile_phone: Some("+12025550143".into()),
            phone_type: PhoneType::Mobile,
            other_phones: vec!["+12025550199".into()],
            email: Some("ana@example.org".into()),
            dob: NaiveDate::from_ymd_opt(1980, 5, 17),
            zip: Some("20001".into()),
            ssn_last4: Some("6789".into()),
            account_numbers: vec!["5550001".into()],
            profile_changed_at: NaiveDate::from_ymd_opt(2020, 1, 1)
                .and_then(|d| d.and_hms_nano_opt(10, 20, 30, 500_000_000)),
            fraud_flag: true,
            place_of_birth: Some("Ponce".into()),
            savings_balance_cents: Some(-5),
            last_txn_amount_cents: Some(12_345),
            last_txn_date: NaiveDate::from_ymd_opt(2026, 11, 30),
            needs_activation: true,
            withdrawn_phones: vec!["+12025550188".into()],
            core_has_pin: None,
        },
        enrolled_at: chrono::DateTime::from_timestamp(1_762_052_645, 123_456_789).unwrap(),
        updated_at: chrono::DateTime::from_timestamp(1_764_547_200, 0).unwrap(),
    }
}

#[test]
fn a_phone_type_is_read_in_the_words_files_and_cores_use() {
    let cases: [(&str, Option<PhoneType>); 22] = [
        ("mobile", Some(PhoneType::Mobile)),
        ("Mobile Phone", Some(PhoneType::Mobile)),
        ("cell-phone", Some(PhoneType::Mobile)),
        ("Cellular", Some(PhoneType::Mobile)),
        ("fixed line", Some(PhoneType::Landline)),
        // the kinds of line a core files a number under that are fixed ones
        ("Home", Some(PhoneType::Landline)),
        ("Work Phone", Some(PhoneType::Landline)),
        ("business", Some(PhoneType::Landline)),
        ("FAX", Some(PhoneType::Landline)),
        ("Cell", Some(PhoneType::Mobile)),
        (" WIRELESS ", Some(PhoneType::Mobile)),
        ("landline", Some(PhoneType::Landline)),
        ("fixed", Some(PhoneType::Landline)),
        ("Fixed_Line", Some(PhoneType::Landline)),
        ("voip", Some(PhoneType::Voip)),
        ("VoIP", Some(PhoneType::Voip)),
        ("unknown", Some(PhoneType::Unknown)),
        ("", Some(PhoneType::Unknown)),
        ("  ", Some(PhoneType::Unknown)),
        ("pager", None),
        ("phone", None),
        ("mobile phone number", None),
    ];
    for (text, want) in cases {
        assert_eq!(PhoneType::parse(text), want, "{text:?}");
    }
}

#[test]
fn a_member_is_named_by_what_the_record_holds() {
    let named = |first: Option<&str>, last: Option<&str>| Member {
        first_name: first.map(str::to_string),
        last_name: last.map(str::to_string),
        ..Member::default()
    };
    let cases = [
        (Some("Jane"), Some("Doe"), Some("Jane Doe")),
        (Some("Jane"), None, Some("Jane")),
        (None, Some("Doe"), Some("Doe")),
        (None, None, None),
    ];
    for (first, last, want) in cases {
        assert_eq!(
            named(first, last).display_name().as_deref(),
            want,
            "{first:?} {last:?}"
        );
    }
}

/// A message names an id that could be a member's quoted, and one that cannot by what a
/// member id is, whatever its length.
#[test]
fn an_id_is_named_quoted_only_when_it_could_be_one() {
    let none = "with that id: a member_id is 1 to 64 characters, none of them control characters";
    for (id, named_as) in [
        ("1001".to_string(), "\"1001\"".to_string()),
        ("9".repeat(64), format!("\"{}\"", "9".repeat(64))),
        ("Zoë-7".to_string(), "\"Zoë-7\"".to_string()),
        ("9".repeat(65), none.to_string()),
        ("1\n2".to_string(), none.to_string()),
        (String::new(), none.to_string()),
    ] {
        assert_eq!(named(&id), named_as, "{id:?}");
    }
}

#[test]
fn an_e_mail_address_is_read_as_codes_are_sent_to_it() {
    const NOT: &str = "is not an e-mail address";
    const TWO: &str = "holds more than one address: one-time codes go to one; keep that one";
    const NO_DOT: &str = "is not an e-mail address: its domain has no dot";
    let cases: [(&str, Result<&str, &str>); 20] = [
        ("ana@cu.example", Ok("ana@cu.example")),
        (
            "  ana.lee+codes@mail.cu.example ",
            Ok("ana.lee+codes@mail.cu.example"),
        ),
        // as Outlook copies one, and as a spreadsheet's hyperlink exports one
        ("Ana Lee <ana@cu.example>", Ok("ana@cu.example")),
        ("\"Lee, Ana\" <ana@cu.example>", Ok("ana@cu.example")),
        ("mailto:ana@cu.example", Ok("ana@cu.example")),
        ("MailTo:ana@cu.example", Ok("ana@cu.example")),
        ("ANA@CU.EXAMPLE", Ok("ANA@CU.EXAMPLE")),
        // more than one: which would get the code?
        ("ana@cu.example;bob@cu.example", Err(TWO)),
        ("ana@cu.example, bob@cu.example", Err(TWO)),
        ("ana@@cu.example", Err(TWO)),
        // not one address as the mail sender reads it
        ("ana", Err(NOT)),
        ("ana@", Err(NOT)),
        ("@cu.example", Err(NOT)),
        ("ana lee@cu.example", Err(NOT)),
        ("ana@cu example.com", Err(NOT)),
        ("mailto:", Err(NOT)),
        ("mail", Err(NOT)),
        ("", Err(NOT)),
        // a domain no member's mail is on
        ("ana@gmail", Err(NO_DOT)),
        ("Ana <ana@localhost>", Err(NO_DOT)),
    ];
    for (written, read) in cases {
        assert_eq!(
            email_address(written).as_deref().map_err(|e| *e),
            read,
            "{written:?}"
        );
    }
}

/// A member id a script or a spreadsheet rewrote as a number, or one that begins as a
/// spreadsheet formula, is told apart from ids that merely hold digits, dots, an E or a
/// dash.
#[test]
fn ids_rewritten_as_numbers_or_formulas_are_told_from_ids() {
    let decimal = Some(phone::DECIMAL);
    let scientific = Some(
        "written in scientific notation (n.nnE+nn), as a spreadsheet shows a long number: \
         its digits are lost; export the column as text",
    );
    let formula = Some(
        "begins with = + - or @, as a spreadsheet formula does: a member number does not, \
         and a spreadsheet opening the results would run it",
    );
    let cases = [
        ("1001.0", decimal),
        ("000123.00", decimal),
        ("1.23457E+11", scientific),
        ("9.99E+15", scientific),
        ("1001", None),
        ("1001.5", None),
        ("1001.", None),
        (".0", None),
        ("A1001.0", None),
        ("12E4", None),
        ("12E+4", None),
        ("1.2E4", None),
        ("1.2E-4", None),
        ("1.2E+", None),
        (".2E+11", None),
        ("1.E+11", None),
        ("1.2E+1A", None),
        ("1.2e+11", None),
        ("M-1001", None),
        ("1001-", None),
        ("=1+2", formula),
        ("=HYPERLINK(\"http://x\",\"y\")", formula),
        ("+1001", formula),
        ("-1001", formula),
        ("@SUM(A1)", formula),
    ];
    for (id, want) in cases {
        assert_eq!(id_in_file_problem(id), want, "{id:?}");
    }
}
