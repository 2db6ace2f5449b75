use super::*;

#[test]
fn numbers_are_classified_as_libphonenumber_knows_them() {
    let us = Region::default();
    let cases = [
        ("(202) 555-0143", PhoneClass::Personal(12025550143)),
        ("202.555.0143", PhoneClass::Personal(12025550143)),
        ("1-202-555-0143", PhoneClass::Personal(12025550143)),
        ("+1 202 555 0143", PhoneClass::Personal(12025550143)),
        // libphonenumber alone refuses this one (it reads 1202 as the country code)
        ("+1202-555-0143", PhoneClass::Personal(12025550143)),
        ("+44 20 7946 0958", PhoneClass::FixedLine(442079460958)),
        ("+385 91 234 5678", PhoneClass::Personal(385912345678)),
        ("800-555-1234", PhoneClass::Service(18005551234)),
        ("900-555-1234", PhoneClass::Service(19005551234)),
        ("(555) 555-1234", PhoneClass::Invalid),
        ("+1 011 555 1234", PhoneClass::Invalid),
        ("202555014x", PhoneClass::Invalid),
        // a float's `.0` is not the number's last digit (202-555-0140)
        ("202555014.0", PhoneClass::Invalid),
        ("2025550143.0", PhoneClass::Invalid),
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
fn a_number_that_is_no_phone_says_why_without_quoting_it() {
    let us = Region::default();
    let cases = [
        ("800-555-1234", "a service number"),
        ("900-555-1234", "a service number"),
        ("202-555-CALL", "letters or other characters"),
        ("202-555-0143 x12", "letters or other characters"),
        ("202_555_0143", "letters or other characters"),
        (
            "1.61222E+10",
            "written in scientific notation (n.nnE+nn), as a spreadsheet shows",
        ),
        ("6.12203e09", "written in scientific notation (n.nnE+nn)"),
        ("1.6E+", "letters or other characters"),
        // pandas' integer column with a blank: floats, never read as a longer number
        ("6125550101.0", "written as a decimal number (ending .0)"),
        ("447911123456.0", "written as a decimal number (ending .0)"),
        ("+16125550101.00", "not a valid number"),
        ("E+10", "letters or other characters"),
        ("555-12", "5 digits: a phone number has 7 to 15"),
        ("", "0 digits: a phone number has 7 to 15"),
        (
            "+1 202 555 0143 0143 01",
            "17 digits: a phone number has 7 to 15",
        ),
        ("(555) 555-1234", "not a valid number"),
        ("+1 011 555 1234", "not a valid number"),
        (" 555-0100 ", "not a valid number"),
        // a core's "phones" field: several numbers in one
        ("6125550101;6125550102", "more than one number"),
        ("(612) 555-0101, (612) 555-0102", "more than one number"),
        ("6125550101 / 6125550102", "more than one number"),
        (
            "612-555-0101 & 612-555-0102 | 612-555-0103",
            "more than one number",
        ),
        // an area code set apart by a slash, or a part too short to be a number: not a list
        ("202/555-01434", "not a valid number"),
        ("6125550101;12", "letters or other characters"),
        ("6125550101;", "letters or other characters"),
    ];
    for (text, want) in cases {
        let class = classify(text, us);
        assert!(class.digits().is_none(), "{text:?} is a phone: {class:?}");
        let why = why_not_a_phone(text, class);
        assert!(why.starts_with(want), "{text:?}: {why}");
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        assert!(
            digits.len() < 4 || !why.contains(&digits[digits.len() - 4..]),
            "{text:?} quoted: {why}"
        );
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
fn only_north_american_numbers_are_remembered_by_their_prefix() {
    let us = Region::default();
    // A UK mobile whose ten national digits open as an invalid North American number does
    // (exchange 112): the memo, keyed by seven national digits, must not mix them up, in
    // either order.
    let (uk, na) = ("+447911123456", "+17911123456");
    assert!(matches!(
        classify(uk, us),
        PhoneClass::Personal(447_911_123_456)
    ));
    assert_eq!(classify(na, us), PhoneClass::Invalid);
    for order in [[uk, na], [na, uk]] {
        let mut memo = Classifier::default();
        for text in order {
            assert_eq!(
                memo.classify(text, us),
                classify(text, us),
                "{order:?}: {text}"
            );
        }
    }
    // one entry per seven national digits (area code, exchange, one more): lines under one
    // prefix share it, which is what keeps the shared memo small
    let mut memo = Classifier::default();
    for text in ["+1 202 555 0143", "+1 202 555 0199", "+1 202 556 0143", uk] {
        memo.classify(text, us);
    }
    assert_eq!(memo.memo.len(), 2);
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
fn only_plainly_written_north_american_numbers_skip_parsing() {
    let us = Region::default();
    let gb = Region::parse("GB").unwrap();
    let cases = [
        ("+12025550143", us, Some(2025550143)),
        ("+12025550143", gb, Some(2025550143)),
        ("+19995550143", us, Some(9995550143)),
        ("+1 202 555 0143", us, Some(2025550143)),
        ("+1 (202) 555-0143", us, Some(2025550143)),
        ("(202) 555-0143", us, Some(2025550143)),
        ("202.555.0143", us, Some(2025550143)),
        ("1-202-555-0143", us, Some(2025550143)),
        ("1 (202) 555 0143", us, Some(2025550143)),
        ("2025550143", us, Some(2025550143)),
        ("12025550143", us, Some(2025550143)),
        ("2025550143", Region::parse("CA").unwrap(), Some(2025550143)),
        // not North American where written without +1
        ("2025550143", gb, None),
        ("(202) 555-0143", gb, None),
        // not plainly written, or not ten digits after the country code
        ("+11025550143", us, None),
        ("+10025550143", us, None),
        ("1025550143", us, None),
        ("22025550143", us, None),
        ("+1202555014", us, None),
        ("+120255501430", us, None),
        ("+1202555014x", us, None),
        ("202/555/0143", us, None),
        ("(202)) 555-0143", us, None),
        ("(202 555-0143", us, None),
        ("202) 555-0143", us, None),
        ("20(2) 555-0143", us, None),
        ("+ 12025550143", us, Some(2025550143)),
        ("1+2025550143", us, None),
        ("+442079460958", us, None),
        ("", us, None),
    ];
    for (text, region, want) in cases {
        assert_eq!(nanp_national(text, region), want, "{text:?} in {region:?}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4_000))]

    /// Texts a file or an IVR may carry, North American numbers written every which way:
    /// the fast path and the memos agree with libphonenumber on each.
    #[test]
    fn numbers_written_any_way_classify_as_libphonenumber_says(
        prefix in proptest::sample::select(vec!["", "+1", "+1 ", "1", "1-", "1 ", "+", "+ 1", "01", "11"]),
        area in 0u64..1000,
        exchange in 0u64..1000,
        line in 0u64..10000,
        extra in proptest::option::of(0u64..10),
        separators in proptest::collection::vec(
            proptest::sample::select(vec!["", "", " ", "-", ".", "(", ")", "/", "  ", ") ", "-("]),
            3,
        ),
        wrap in proptest::bool::ANY,
        region in proptest::sample::select(vec!["US", "CA", "PR", "GB", "DE", "HR"]),
    ) {
        let region = Region::parse(region).unwrap();
        let (open, close) = if wrap { ("(", ") ") } else { ("", "") };
        let tail = extra.map(|d| d.to_string()).unwrap_or_default();
        let text = format!(
            "{prefix}{}{open}{area:03}{close}{}{exchange:03}{}{line:04}{tail}",
            separators[0], separators[1], separators[2],
        );
        let want = classify(&text, region);
        // twice each: the second time the prefix is remembered
        let mut memo = Classifier::default();
        proptest::prop_assert_eq!(memo.classify(&text, region), want, "{}", text);
        proptest::prop_assert_eq!(memo.classify(&text, region), want, "{}", text);
        proptest::prop_assert_eq!(classify_shared(&text, region), want, "{}", text);
        proptest::prop_assert_eq!(classify_shared(&text, region), want, "{}", text);
        // The fast path reads the number libphonenumber reads, where libphonenumber reads one
        // (it refuses some, `+1202-555-0143`, that callvault takes).
        if let Some(national) = nanp_national(text.trim(), region)
            && let Ok(parsed) = phonenumber::parse(Some(region.0), text.trim())
        {
            let parsed = (parsed.code().value(), parsed.national().value());
            proptest::prop_assert_eq!(parsed, (1, national), "{}", text);
        }
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

/// `verstat` where SIP platforms pass it: in the user part of a From or
/// P-Asserted-Identity URI (ATIS-1000074), or among the URI's parameters after the host.
#[test]
fn a_uri_parameter_is_found_wherever_the_uri_carries_it() {
    let cases: &[(&str, Option<&str>)] = &[
        (
            "sip:+16122030101;verstat=TN-Validation-Passed@10.0.0.90;user=phone",
            Some("TN-Validation-Passed"),
        ),
        (
            "\"Ada\" <sip:+16122030101;VERSTAT=TN-Validation-Failed@gw.example;user=phone>;tag=9",
            Some("TN-Validation-Failed"),
        ),
        (
            "<tel:+16122030101;verstat=No-TN-Validation>",
            Some("No-TN-Validation"),
        ),
        (
            "sip:+16122030101@10.0.0.90;user=phone;verstat=TN-Validation-Passed-A",
            Some("TN-Validation-Passed-A"),
        ),
        // a header parameter outside the URI is not the URI's
        ("<sip:+16122030101@gw>;verstat=TN-Validation-Passed", None),
        ("sip:+16122030101@10.0.0.90;user=phone", None),
        ("+16122030101", None),
        ("tel:+16122030101;verstatx=1", None),
        ("", None),
    ];
    for (text, want) in cases {
        assert_eq!(uri_param(text, "verstat"), *want, "{text}");
    }
    // and the number is read as before
    assert_eq!(
        uri_number("sip:+16122030101;verstat=TN-Validation-Passed@10.0.0.90;user=phone"),
        "+16122030101"
    );
}

#[test]
fn numbers_sent_as_tel_or_sip_uris_count_as_their_number() {
    let us = Region::default();
    let ada = Some("+16122030101");
    let cases: &[(&str, Option<&str>)] = &[
        // Genesys Cloud's Call.Ani and Call.Dnis
        ("tel:+16122030101", ada),
        ("TEL:+1-612-203-0101", ada),
        ("tel:+16122030101;ext=105", ada),
        ("tel:6122030101;phone-context=+1", ada),
        // SIP platforms: a request URI, or a From header's name-addr
        ("sip:+16122030101@10.0.0.90;user=phone", ada),
        ("sips:+16122030101;ext=105@pbx.cu.example", ada),
        (
            "\"Ada Lovelace\" <sip:+16122030101@10.0.0.90>;tag=1928301774",
            ada,
        ),
        ("<tel:+16122030101>", ada),
        ("  sip:6122030101@gw  ", ada),
        // no caller ID, in URI form (RFC 3323's anonymous URI among them)
        ("sip:anonymous@anonymous.invalid", None),
        ("\"Anonymous\" <sip:anonymous@anonymous.invalid>", None),
        ("tel:", None),
        ("sip:", None),
        ("sip:pbx.cu.example", None),
        ("sip:ada@cu.example", None),
        ("tel:+1612", None),
        // Twilio's stand-ins for a withheld caller ID (ANONYMOUS, UNAVAILABLE, RESTRICTED,
        // BLOCKED spelled on a keypad): no valid number, so no caller ID
        ("+266696687", None),
        ("+86282452253", None),
        ("+7378742833", None),
        ("+2562533", None),
        // not URIs: unchanged
        ("mailto:+16122030101", None),
        ("telephone:+16122030101", None),
    ];
    for (text, want) in cases {
        assert_eq!(normalize_ani(text, us).as_deref(), *want, "{text:?}");
    }
    // which of those say the caller ID is withheld, rather than being no number
    let withheld_ones = [
        "",
        "  ",
        "ANONYMOUS",
        "restricted",
        "Unknown",
        "private",
        "Unavailable",
        "BLOCKED",
        "withheld",
        "Out of Area",
        "OUT_OF_AREA",
        "sip:unavailable@pbx.cu.example",
        "sip:anonymous@anonymous.invalid",
        "\"Anonymous\" <sip:anonymous@anonymous.invalid>",
        "tel:",
        "+266696687",
        "+86282452253",
        "+7378742833",
        "+2562533",
    ];
    for text in withheld_ones {
        assert!(withheld(text), "{text:?}");
        assert_eq!(normalize_ani(text, us), None, "{text:?}");
    }
    for text in [
        "+16122030101",
        "tel:+1612",
        "sip:ada@cu.example",
        "anonymously",
        "+2665696687",
    ] {
        assert!(!withheld(text), "{text:?}");
    }
    assert_eq!(
        normalize_dnis("tel:+18005550100", us).as_deref(),
        Some("+18005550100")
    );
    assert_eq!(
        normalize_dnis("sip:+18005550100@10.0.0.90;user=phone", us).as_deref(),
        Some("+18005550100")
    );
    assert_eq!(uri_number(" 4000 "), "4000", "other text: trimmed only");
}

/// The shared memo of callers' prefixes stops growing at its bound: past it, numbers are
/// classified uncached rather than held without end.
#[test]
fn the_shared_memo_holds_at_most_its_bound() {
    let mut memo = std::collections::HashMap::new();
    for prefix in [201_200, 201_201, 201_202, 201_203] {
        remember(&mut memo, prefix, Type::Mobile, 3);
    }
    assert_eq!(memo.len(), 3);
    assert!(memo.contains_key(&201_202) && !memo.contains_key(&201_203));
    // the shared one itself answers as a fresh classifier does
    let us = Region::default();
    for text in [
        "+1 (202) 555-0143",
        "202-555-0143",
        "(555) 555-1234",
        "+44 7911 123456",
    ] {
        assert_eq!(
            classify_shared(text, us),
            Classifier::default().classify(text, us),
            "{text}"
        );
    }
}
