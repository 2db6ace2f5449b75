use super::*;

#[test]
fn verstat_is_read_as_carriers_and_platforms_write_it() {
    use CallerIdCheck::*;
    let cases = [
        ("TN-Validation-Passed", Some(Passed)),
        ("tn-validation-passed", Some(Passed)),
        (" TN-Validation-Passed-A ", Some(Passed)),
        ("TN-Validation-Passed-C", Some(Passed)),
        ("TN-Validation-Failed", Some(Failed)),
        ("TN-Validation-Failed-B", Some(Failed)),
        ("No-TN-Validation", Some(NoValidation)),
        ("NO-TN-VALIDATION", Some(NoValidation)),
        ("TN-Validation-Passed-D", None),
        ("TN-Validation-PassedX", None),
        ("TN-Validation", None),
        ("passed", None),
        ("A", None),
        ("{{Call.Verstat}}", None),
        ("", None),
    ];
    for (given, want) in cases {
        assert_eq!(CallerIdCheck::read(given), want, "{given:?}");
    }
}

#[test]
fn the_worse_of_the_field_and_the_uri_counts_and_an_unreadable_value_is_set_apart() {
    use CallerIdCheck::*;
    // (the request's field, the URI's parameter) -> (what counts, what was unreadable)
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Option<CallerIdCheck>,
        Option<&'a str>,
    );
    let long = "x".repeat(300);
    let cases: [Case; 11] = [
        (None, None, None, None),
        (Some(""), Some("  "), None, None),
        (Some("TN-Validation-Passed"), None, Some(Passed), None),
        (None, Some("TN-Validation-Failed"), Some(Failed), None),
        (
            Some("TN-Validation-Passed-A"),
            Some("TN-Validation-Failed"),
            Some(Failed),
            None,
        ),
        (
            Some("TN-Validation-Failed"),
            Some("TN-Validation-Passed"),
            Some(Failed),
            None,
        ),
        (
            Some("TN-Validation-Passed"),
            Some("No-TN-Validation"),
            Some(NoValidation),
            None,
        ),
        (
            Some("No-TN-Validation"),
            Some("TN-Validation-Passed"),
            Some(NoValidation),
            None,
        ),
        // an unreadable field does not hide what the URI says
        (
            Some("bogus"),
            Some("TN-Validation-Failed"),
            Some(Failed),
            Some("bogus"),
        ),
        (Some(&long), None, None, Some(&long[..40])),
        // digits are never shown: they may be what the caller keyed
        (Some("pin 4829"), None, None, Some("pin ####")),
    ];
    for (field, in_ani, check, unreadable) in cases {
        assert_eq!(
            of_call(field, in_ani),
            (check, unreadable.map(str::to_string)),
            "{field:?} {in_ani:?}"
        );
    }
}

/// `as_str` is what the agent's view and `/metrics` say: the serialized name.
#[test]
fn each_verdict_is_named_as_it_is_serialized() {
    for c in [
        CallerIdCheck::Passed,
        CallerIdCheck::Failed,
        CallerIdCheck::NoValidation,
    ] {
        assert_eq!(serde_json::to_value(c).unwrap(), c.as_str(), "{c:?}");
    }
    assert_eq!(CallerIdCheck::NoValidation.as_str(), "no_validation");
}
