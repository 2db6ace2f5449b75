use super::*;

#[test]
fn an_inputs_step_is_a_whole_number_however_it_is_written() {
    let cases: &[(&str, Option<Option<u64>>)] = &[
        (r#"{"digits": "1"}"#, Some(None)),
        (r#"{"digits": "1", "step": null}"#, Some(None)),
        (r#"{"digits": "1", "step": 3}"#, Some(Some(3))),
        (r#"{"digits": "1", "step": 3.0}"#, Some(Some(3))),
        (r#"{"digits": "1", "step": 0}"#, Some(Some(0))),
        (r#"{"digits": "1", "step": 1e3}"#, Some(Some(1000))),
        (r#"{"digits": "1", "step": 3.5}"#, None),
        (r#"{"digits": "1", "step": -1}"#, None),
        (r#"{"digits": "1", "step": -1.0}"#, None),
        (r#"{"digits": "1", "step": "3"}"#, None),
        (r#"{"digits": "1", "step": 1e30}"#, None),
        // 2^64, one past the largest step: refused, not taken as u64::MAX
        (r#"{"digits": "1", "step": 18446744073709551616.0}"#, None),
        (
            r#"{"digits": "1", "step": 9007199254740992.0}"#,
            Some(Some(1 << 53)),
        ),
    ];
    for (body, want) in cases {
        let got = serde_json::from_str::<CallInput>(body).ok().map(|i| i.step);
        assert_eq!(&got, want, "{body}");
    }
}

#[test]
fn digits_are_trimmed_of_ascii_spaces_and_trailing_hashes_only() {
    let cases: &[(&str, Result<Option<&str>, &str>)] = &[
        ("1234", Ok(Some("1234"))),
        (" 1234#\r\n", Ok(Some("1234"))),
        ("12*50##", Ok(Some("12*50"))),
        ("##", Ok(None)),
        ("", Ok(None)),
        ("12#34", Err("bad_digits")),
        ("\u{a0}1234", Err("bad_digits")),
        ("\u{b}1234", Err("bad_digits")),
        (&"1".repeat(32), Ok(Some(&"1".repeat(32)))),
        (&"1".repeat(33), Err("bad_digits")),
    ];
    for (digits, want) in cases {
        let body = CallInput {
            digits: Some(digits.to_string()),
            event: None,
            step: None,
        };
        let got = match caller_input(body) {
            Ok(CallerInput::Digits(d)) => Ok(Some(d.to_string())),
            Ok(CallerInput::NoInput) => Ok(None),
            Ok(CallerInput::OptOut) => Err("opt_out".to_string()),
            Err(e) => Err(e.code.to_string()),
        };
        let want = want.map(|d| d.map(str::to_string)).map_err(str::to_string);
        assert_eq!(got, want, "{digits:?}");
    }
}
