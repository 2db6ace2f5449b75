use super::*;

#[test]
fn json_errors_never_echo_values() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        digits: u32,
    }
    let cases = [
        (
            r#"{"digits": "482913"}"#,
            "invalid_field",
            "a field has the wrong type or value: expected a whole number, 0 or more (line 1, column 19)",
        ),
        (
            r#"{"digits": 1, "pin": "482913"}"#,
            "unknown_field",
            "unknown field `pin` (line 1, column 19); the fields are `digits`",
        ),
        (
            r#"{"digit": 1}"#,
            "unknown_field",
            "unknown field `digit` (line 1, column 8); did you mean `digits`?",
        ),
        (
            r#"{"digits": "#,
            "invalid_json",
            "the body ends before its JSON does (line 1, column 11): a closing }, ] or \" is \
             missing, or the body was cut short",
        ),
        (
            r#"{"digits": 482913"#,
            "invalid_json",
            "the body ends before its JSON does (line 1, column 17): a closing }, ] or \" is \
             missing, or the body was cut short",
        ),
        (
            r#"{"digits" 482913}"#,
            "invalid_json",
            "the body is not valid JSON (line 1, column 11)",
        ),
        (
            r#"{}"#,
            "missing_field",
            "missing field `digits` (line 1, column 2)",
        ),
        // as a form's field given twice is said
        (
            r#"{"digits": 1, "digits": 482913}"#,
            "duplicate_field",
            "`digits` is given more than once (line 1, column 22)",
        ),
    ];
    for (body, code, message) in cases {
        let err = serde_json::from_str::<Body>(body).unwrap_err();
        let api = describe_json_error(&err, None, At::Position);
        assert_eq!((api.code, api.message.as_str()), (code, message), "{body}");
        assert!(!api.message.contains("482913"), "{body}: {}", api.message);
        // as actix-web hands it over
        let api = ApiError::from_json(&JsonPayloadError::Deserialize(
            serde_json::from_str::<Body>(body).unwrap_err(),
        ));
        assert_eq!((api.status, api.code), (StatusCode::BAD_REQUEST, code));
    }
}

/// An unknown field is told the field it was likely meant to be, or the fields there are:
/// names from the type, whatever the body holds.
#[test]
fn an_unknown_field_is_told_the_fields_there_are() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Start {
        call_id: String,
        ani: Option<String>,
        dnis: Option<String>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Two {
        digits: Option<String>,
        step: Option<u32>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Empty {}
    let message = |e: serde_json::Error| describe_json_error(&e, None, At::Position).message;
    for (got, want) in [
        (
            message(serde_json::from_str::<Start>(r#"{"callid": "c1"}"#).unwrap_err()),
            "unknown field `callid` (line 1, column 9); did you mean `call_id`?",
        ),
        (
            message(serde_json::from_str::<Start>(r#"{"call_id": "c", "DNIS": "1"}"#).unwrap_err()),
            "unknown field `DNIS` (line 1, column 23); did you mean `dnis`?",
        ),
        (
            message(
                serde_json::from_str::<Start>(r#"{"call_id": "c", "pin": "4821"}"#).unwrap_err(),
            ),
            "unknown field `pin` (line 1, column 22); the fields are `call_id`, `ani`, `dnis`",
        ),
        (
            message(serde_json::from_str::<Two>(r#"{"stp": 2}"#).unwrap_err()),
            "unknown field `stp` (line 1, column 6); did you mean `step`?",
        ),
        (
            message(serde_json::from_str::<Two>(r#"{"x": 2}"#).unwrap_err()),
            "unknown field `x` (line 1, column 4); the fields are `digits`, `step`",
        ),
        // a field named like a field list is still the body's, not the type's
        (
            message(serde_json::from_str::<Empty>(r#"{"a`, expected `b": 2}"#).unwrap_err()),
            "unknown field `a` (line 1, column 18)",
        ),
        (
            message(serde_json::from_str::<Two>(r#"{"a`, expected `b": 2}"#).unwrap_err()),
            "unknown field `a` (line 1, column 18); the fields are `digits`, `step`",
        ),
        // a name that is none is not repeated: the body's whole text, a key of digits
        (
            message(serde_json::from_str::<Two>(r#"{"{\"digits\":\"4821\"}": ""}"#).unwrap_err()),
            "unknown field (its name left out: not a name) (line 1, column 24); the fields are \
             `digits`, `step`",
        ),
        (
            message(serde_json::from_str::<Empty>(r#"{"4821": 1}"#).unwrap_err()),
            "unknown field (its name left out: not a name) (line 1, column 7)",
        ),
        (
            message(serde_json::from_str::<Two>(r#"{"my pin": 1}"#).unwrap_err()),
            "unknown field (its name left out: not a name) (line 1, column 9); the fields are \
             `digits`, `step`",
        ),
        (
            message(
                serde_json::from_str::<Two>(&format!(r#"{{"{}": 1}}"#, "a".repeat(65)))
                    .unwrap_err(),
            ),
            "unknown field (its name left out: not a name) (line 1, column 68); the fields are \
             `digits`, `step`",
        ),
        (
            message(serde_json::from_str::<Two>(r#"{"_x.y-z9": 1}"#).unwrap_err()),
            "unknown field `_x.y-z9` (line 1, column 10); the fields are `digits`, `step`",
        ),
    ] {
        assert_eq!(got, want);
    }
}

/// The other errors actix-web's JSON reading can give: too large, the wrong type, a body
/// that could not be read.
#[test]
fn a_json_payload_error_keeps_its_status() {
    let cases = [
        (
            JsonPayloadError::Overflow { limit: 65_536 },
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            JsonPayloadError::OverflowKnownLength {
                length: 70_000,
                limit: 65_536,
            },
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            JsonPayloadError::ContentType,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            JsonPayloadError::Payload(actix_web::error::PayloadError::Incomplete(None)),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
    ];
    for (err, status, code) in cases {
        let api = ApiError::from_json(&err);
        assert_eq!((api.status, api.code), (status, code), "{err}");
    }
}

/// A field path too long to be worth quoting (serde_path_to_error's, from a deep or odd
/// body) is "a field".
#[test]
fn a_long_field_path_is_not_quoted() {
    let err = serde_json::from_str::<u32>(r#""482913""#).unwrap_err();
    for (path, field) in [
        ("a".repeat(64), format!("`{}`", "a".repeat(64))),
        ("a".repeat(65), "a field".to_string()),
    ] {
        let api = ApiError::from_json_at(&err, &path);
        assert!(
            api.message.starts_with(&format!("{field} has")),
            "{}",
            api.message
        );
    }
}

#[test]
fn a_wrong_value_names_its_field_and_what_it_expects_but_never_the_value() {
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Event {
        NoInput,
        OptOut,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Tick {
        correct: bool,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        digits: Option<String>,
        event: Option<Event>,
        step: Option<u32>,
        ticks: Option<Vec<Tick>>,
    }
    let cases = [
        (
            r#"{"digits": 482913}"#,
            "`digits` has the wrong type or value: expected a string (line 1, column 17); send \
             it in quotes (\"0042\"): as a number its leading zeros are lost",
        ),
        (
            r#"{"digits": 4829.5}"#,
            "`digits` has the wrong type or value: expected a string (line 1, column 17); send \
             it in quotes (\"0042\"): as a number its leading zeros are lost",
        ),
        (
            r#"{"digits": true}"#,
            "`digits` has the wrong type or value: expected a string (line 1, column 15)",
        ),
        (
            r#"{"step": "x"}"#,
            "`step` has the wrong type or value: expected a whole number, 0 or more (line 1, column 12)",
        ),
        (
            r#"{"event": "482913"}"#,
            "`event` has the wrong type or value: expected `no_input` or `opt_out` (line 1, column 18)",
        ),
        (
            r#"{"step": -482913}"#,
            "`step` has the wrong type or value: expected a whole number, 0 or more (line 1, column 16)",
        ),
        (
            r#"{"ticks": [{"correct": true}, {"correct": "482913"}]}"#,
            "`ticks[1].correct` has the wrong type or value: expected a boolean (line 1, column 50)",
        ),
        (
            r#"["482913"]"#,
            "the body has the wrong type or value: expected an object (line 1, column 10)",
        ),
    ];
    for (body, message) in cases {
        let mut de = serde_json::Deserializer::from_str(body);
        let err = serde_path_to_error::deserialize::<_, Body>(&mut de).unwrap_err();
        let api = ApiError::from_json_at(err.inner(), &err.path().to_string());
        assert_eq!(
            (api.code, api.message.as_str()),
            ("invalid_field", message),
            "{body}"
        );
    }
}

#[test]
fn only_a_types_own_expectation_is_passed_on() {
    let cases = [
        (
            "invalid type: integer `1`, expected a string at line 1 column 3",
            Some("a string"),
        ),
        // the body's text comes before the type's expectation, so the last one is the type's
        (
            "unknown variant `a, expected 4829`, expected `x` or `y` at line 1 column 9",
            Some("`x` or `y`"),
        ),
        (
            "invalid type: sequence, expected struct StartCall at line 1 column 1",
            Some("an object"),
        ),
        ("time out of range at line 1 column 9", None),
        // a field's own deserializer says what it expects first (`step`'s)
        (
            "expected a whole number, or its digits as a string at line 1 column 12",
            Some("a whole number, or its digits as a string"),
        ),
        (
            "invalid length 3, expected a whole number",
            Some("a whole number"),
        ),
        ("invalid value: string \"4829\", expected \"a PIN\"", None),
    ];
    for (text, want) in cases {
        assert_eq!(expected(text), want, "{text}");
    }
}

/// The body given to a status that came from outside the handlers (the router, a payload
/// limit, a timeout): each status its own code, a 5xx never a client's fault, and the status
/// kept as it was.
#[test]
fn a_status_from_outside_the_handlers_gets_its_own_code() {
    let cases = [
        (400, "bad_request"),
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not_found"),
        (405, "method_not_allowed"),
        (406, "not_acceptable"),
        (408, "request_timeout"),
        (413, "payload_too_large"),
        (415, "unsupported_media_type"),
        (429, "too_many_requests"),
        (503, "unavailable"),
        (500, "internal_error"),
        (502, "internal_error"),
        (499, "bad_request"),
        (409, "bad_request"),
    ];
    for (status, code) in cases {
        let status = StatusCode::from_u16(status).unwrap();
        let error = ApiError::from_status(status);
        assert_eq!((error.status, error.code), (status, code), "{status}");
        assert!(!error.message.is_empty(), "{status}");
    }
}
