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
        ("800-555-1234", PhoneClass::Service(18005551234)),
        ("900-555-1234", PhoneClass::Service(19005551234)),
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
fn remembered_answers_match_libphonenumber_across_north_american_prefixes() {
    let us = Region::default();
    let mut memo = Classifier::default();
    let mut checked = 0;
    // Every area code 200-999, many exchanges, and two lines under each remembered prefix
    // (area code, exchange and the line's first digit), so each prefix is asked again with
    // other trailing digits. That second ask of classify_shared skips parsing (`+1` and ten
    // digits, prefix remembered).
    for npa in 200..1000u64 {
        for nxx in (200..1000u64).step_by(37) {
            for line in [0u64, 999, 1111, 1234, 2999, 2000, 5001, 5998, 9999, 9000] {
                let text = format!("+1{npa}{nxx}{line:04}");
                let want = classify(&text, us);
                assert_eq!(memo.classify(&text, us), want, "{text}");
                assert_eq!(classify_shared(&text, us), want, "{text}");
                checked += 1;
            }
        }
    }
    for text in [
        "+1 876 555 1234",
        "+1 787 555 1234",
        "+44 20 7946 0958",
        "+385 91 234 5678",
        "5231234567",
    ] {
        assert_eq!(memo.classify(text, us), classify(text, us), "{text}");
        assert_eq!(classify_shared(text, us), classify(text, us), "{text}");
    }
    assert!(checked > 20_000);
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

#[test]
fn only_plain_north_american_e164_skips_parsing() {
    let cases = [
        ("+12025550143", Some(2025550143)),
        ("+19995550143", Some(9995550143)),
        ("+11025550143", None),
        ("+10025550143", None),
        ("+1202555014", None),
        ("+120255501430", None),
        ("+1 202 555 0143", None),
        ("+1202555014x", None),
        ("12025550143", None),
        ("2025550143", None),
        ("+442079460958", None),
        ("", None),
    ];
    for (text, want) in cases {
        assert_eq!(nanp_e164(text), want, "{text:?}");
    }
}

#[test]
fn dialed_numbers_normalize_toll_free_lines_included() {
    let us = Region::default();
    let cases = [
        ("+18005550123", Some("+18005550123")),
        ("8005550123", Some("+18005550123")),
        ("(800) 555-0123", Some("+18005550123")),
        ("1-800-555-0123", Some("+18005550123")),
        ("888.555.0199", Some("+18885550199")),
        ("6122030100", Some("+16122030100")),
        ("+44 20 7946 0958", Some("+442079460958")),
        // ANIs reject these; a DNIS keeps them
        ("900-555-1234", Some("+19005551234")),
        ("5000", None),
        ("(555) 555-1234", None),
        ("800-555-CALL", None),
        ("", None),
    ];
    for (text, want) in cases {
        assert_eq!(normalize_dnis(text, us).as_deref(), want, "{text:?}");
    }
    assert_eq!(
        normalize_ani("8005550123", us),
        None,
        "not a caller's number"
    );
}
