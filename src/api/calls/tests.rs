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
        // its digits as a string, as a data action that holds every field as one sends it
        (r#"{"digits": "1", "step": "3"}"#, Some(Some(3))),
        (r#"{"digits": "1", "step": "0"}"#, Some(Some(0))),
        (r#"{"digits": "1", "step": ""}"#, Some(None)),
        (
            r#"{"digits": "1", "step": "9999999999999999999"}"#,
            Some(Some(9_999_999_999_999_999_999)),
        ),
        (r#"{"digits": "1", "step": "18446744073709551615"}"#, None),
        (r#"{"digits": "1", "step": " 3"}"#, None),
        (r#"{"digits": "1", "step": "3.0"}"#, None),
        (r#"{"digits": "1", "step": "-1"}"#, None),
        (r#"{"digits": "1", "step": "+3"}"#, None),
        (r#"{"digits": "1", "step": "three"}"#, None),
        (r#"{"digits": "1", "step": "٣"}"#, None),
        (r#"{"digits": "1", "step": true}"#, None),
        (r#"{"digits": "1", "step": [3]}"#, None),
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

#[test]
fn the_step_goes_as_k_v_pairs_only_when_accept_prefers_the_form() {
    // (Accept headers, k=v pairs wanted)
    let cases: [(&[&str], bool); 14] = [
        (&[], false),
        (&["application/x-www-form-urlencoded"], true),
        (&["Application/X-WWW-Form-Urlencoded"], true),
        (&["application/x-www-form-urlencoded; charset=utf-8"], true),
        (&["application/json"], false),
        (&["*/*"], false),
        (&["application/*"], false),
        (&["application/x-www-form-urlencoded;q=0"], false),
        (
            &["application/json, application/x-www-form-urlencoded;q=0.5"],
            false,
        ),
        (
            &["application/json;q=0.5, application/x-www-form-urlencoded"],
            true,
        ),
        (
            &["application/json, application/x-www-form-urlencoded"],
            true,
        ),
        (
            &["*/*;q=0.1, application/x-www-form-urlencoded;q=0.2"],
            true,
        ),
        // two header lines are read as one list
        (
            &[
                "application/json;q=0.9",
                "application/x-www-form-urlencoded",
            ],
            true,
        ),
        // an item that cannot be read is passed over
        (
            &["not a media type, application/x-www-form-urlencoded"],
            true,
        ),
    ];
    for (accept, want) in cases {
        let mut req = actix_web::test::TestRequest::default();
        for value in accept {
            req = req.append_header((header::ACCEPT, *value));
        }
        assert_eq!(wants_form(&req.to_http_request()), want, "{accept:?}");
    }
    // a header that is not text is taken as absent
    let not_text = HeaderValue::from_bytes(b"application/x-www-form-urlencoded; x=\xff").unwrap();
    let req = actix_web::test::TestRequest::default()
        .insert_header((header::ACCEPT, not_text))
        .to_http_request();
    assert!(!wants_form(&req));
}

#[test]
fn a_ticks_question_is_named_exactly_or_told_the_one_meant() {
    let cases: &[(&str, Result<Question, &str>)] = &[
        ("place_of_birth", Ok(Question::PlaceOfBirth)),
        ("ssn_last4", Ok(Question::SsnLast4)),
        ("dobb", Err("\"dobb\" is not a question; did you mean dob?")),
        (
            "place",
            Err("\"place\" is not a question; did you mean place_of_birth?"),
        ),
        (
            "Savings-Balance",
            Err("\"Savings-Balance\" is not a question; did you mean savings_balance?"),
        ),
        // two questions begin so: no guess, the list
        (
            "last_txn",
            Err(
                "\"last_txn\" is not a question; the questions are dob, zip, ssn_last4, \
                 last_txn_amount, last_txn_date, savings_balance, place_of_birth",
            ),
        ),
    ];
    for (id, want) in cases {
        let got = question_in_path(id).map_err(|e| {
            assert_eq!(e.code, "bad_question");
            e.message
        });
        assert_eq!(got, want.map_err(str::to_string), "{id}");
    }
    let long = "x".repeat(500);
    let message = question_in_path(&long).unwrap_err().message;
    assert!(message.len() < 200, "{message}");
}
