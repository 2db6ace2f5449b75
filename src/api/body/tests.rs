use super::*;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Find {
    ani: String,
    #[serde(default)]
    active: bool,
    #[serde(default)]
    limit: Option<u32>,
}

#[test]
fn query_refusals_name_the_parameter() {
    let cases = [
        (
            "ani=1&active=maybe",
            ": `active`: provided string was not `true` or `false`",
        ),
        (
            "ani=1&limit=ten",
            ": `limit`: invalid digit found in string",
        ),
        // serde names a missing or unknown parameter itself: no path before it
        ("active=true", ": missing parameter `ani`"),
        (
            "ani=1&colour=red",
            ": unknown parameter `colour`; the parameters are `ani`, `active`, `limit`",
        ),
        (
            "ani=1&actve=true",
            ": unknown parameter `actve`; did you mean `active`?",
        ),
    ];
    for (text, says) in cases {
        let refused = Query::<Find> {
            text: text.into(),
            _of: PhantomData,
        }
        .parse()
        .expect_err("a refusal")
        .body();
        assert_eq!(refused.code, "bad_query");
        assert_eq!(
            refused.message,
            format!("the query string is malformed{says}"),
            "{text}"
        );
    }
    let fine = Query::<Find> {
        text: "ani=%2B16122030101&active=true".into(),
        _of: PhantomData,
    }
    .parse()
    .expect("a good query");
    assert_eq!(
        (fine.ani.as_str(), fine.active, fine.limit),
        ("+16122030101", true, None)
    );
}

fn form<T>(text: &str) -> Body<T> {
    Body {
        bytes: web::Bytes::copy_from_slice(text.as_bytes()),
        json: false,
        form: true,
        untyped: false,
        from_form: false,
        _of: PhantomData,
    }
}

#[test]
fn step_route_bodies_may_come_as_forms_with_the_json_checks() {
    use crate::api::calls::{CallInput, InputEvent};
    // (form, digits, event, step)
    let fine = [
        ("digits=1234", Some("1234"), None, None),
        ("digits=1234%23&step=3", Some("1234#"), None, Some(3)),
        ("step=3.0&event=no_input", None, Some("no_input"), Some(3)),
        // what a dialplan sends when the caller keyed nothing
        ("digits=&step=", Some(""), None, None),
        ("event=opt_out", None, Some("opt_out"), None),
        // a null as OpenAPI tools write it into a form
        ("digits=&event=null&step=null", Some(""), None, None),
        ("digits=null&event=no_input", None, Some("no_input"), None),
    ];
    for (text, digits, event, step) in fine {
        let got = form::<CallInput>(text)
            .parse_json_or_form()
            .unwrap_or_else(|e| panic!("{text}: {:?}", e.body()));
        let got_event = got.event.map(|e| match e {
            InputEvent::NoInput => "no_input",
            InputEvent::OptOut => "opt_out",
        });
        assert_eq!(
            (got.digits.as_deref(), got_event, got.step),
            (digits, event, step),
            "{text}"
        );
    }
    // (form, code); none of the messages may quote a value
    let refused = [
        // `null` only where JSON takes a null
        ("digits=1&step=nul", "invalid_field", "nul"),
        ("step=9876x&digits=1", "invalid_field", "9876x"),
        ("step=-1&digits=1", "invalid_field", "-1"),
        ("step=2.5&digits=1", "invalid_field", "2.5"),
        ("digits=4321&digits=1234", "duplicate_field", "4321"),
        ("digits=4321&colour=red", "unknown_field", "red"),
        ("event=hang_4321", "invalid_field", "hang_4321"),
        // a key that is no name is not repeated: it may be anything the caller keyed
        ("4321=1", "unknown_field", "4321"),
        ("%7B%22digits%22:4321=", "unknown_field", "4321"),
    ];
    for (text, code, secret) in refused {
        let body = form::<CallInput>(text)
            .parse_json_or_form()
            .expect_err("a refusal")
            .body();
        assert_eq!(body.code, code, "{text}: {}", body.message);
        assert!(!body.message.contains(secret), "{text}: {}", body.message);
        // nor a position: it would be one in the JSON made of the form, not in the form
        assert!(!body.message.contains("column"), "{text}: {}", body.message);
    }
    // VoiceXML's name for the event, as a form: what is expected, and no more
    let e = form::<CallInput>("event=noinput")
        .parse_json_or_form()
        .expect_err("not an event of ours")
        .body();
    assert_eq!(
        e.message,
        "`event` has the wrong type or value: expected `no_input` or `opt_out`"
    );

    let start = form::<crate::calls::StartCall>(
        "call_id=CA0123&ani=%2B16122030101&dnis=tel:%2B18005550100&app_token=null",
    )
    .parse_json_or_form()
    .unwrap_or_else(|e| panic!("{:?}", e.body()));
    assert_eq!(
        (
            start.call_id.as_str(),
            start.ani.as_deref(),
            start.dnis.as_deref(),
            start.app_token.as_deref()
        ),
        (
            "CA0123",
            Some("+16122030101"),
            Some("tel:+18005550100"),
            None
        )
    );

    // JSON as before; any other type is refused, naming both.
    let mut json = form::<CallInput>(r#"{"digits": "1", "step": 2}"#);
    (json.json, json.form) = (true, false);
    assert_eq!(json.parse_json_or_form().unwrap().step, Some(2));
    // JSON sent as a form (`curl -d '{...}'`, whose Content-Type says form) is read as JSON,
    // not as a form whose one key is the whole body (which an error would then repeat)
    let as_form = form::<CallInput>(" {\"digits\": \"4321\", \"step\": 3}");
    let got = as_form.parse_json_or_form().unwrap();
    assert_eq!((got.digits.as_deref(), got.step), (Some("4321"), Some(3)));
    let e = form::<CallInput>(r#"{"digits": "4321", "pin": "4321"}"#)
        .parse_json_or_form()
        .expect_err("an unknown field")
        .body();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "unknown_field",
            "unknown field `pin` (line 1, column 24); the fields are `digits`, `event`, `step`"
        )
    );
    // no Content-Type at all: JSON when it opens with `{`, else a form
    for (body, step) in [
        (" {\"digits\": \"1\", \"step\": 4}", 4),
        ("digits=1&step=5", 5),
    ] {
        let mut untyped = form::<CallInput>(body);
        (untyped.form, untyped.untyped) = (false, true);
        assert_eq!(
            untyped.parse_json_or_form().unwrap().step,
            Some(step),
            "{body}"
        );
    }
    let mut text = form::<CallInput>("digits=1");
    text.form = false;
    let e = text.parse_json_or_form().expect_err("415");
    assert_eq!(
        (e.status, e.body().message.as_str()),
        (
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as application/json or application/x-www-form-urlencoded"
        )
    );
}

#[test]
fn an_operation_without_fields_takes_no_body_or_an_empty_object_only() {
    let body = |text: &str, json: bool| Body::<NoFields> {
        bytes: web::Bytes::from(text.to_string()),
        json,
        form: !json,
        untyped: false,
        from_form: false,
        _of: PhantomData,
    };
    for (text, json) in [("", false), (" \r\n", true), ("{}", true), (" { } ", false)] {
        assert!(body(text, json).parse_none().is_ok(), "{text:?}");
    }
    for (text, code, says) in [
        (
            r#"{"reason": "called in"}"#,
            "unknown_field",
            "unknown field `reason` (line 1, column 9); this operation takes no fields",
        ),
        (
            "reason=called+in",
            "invalid_json",
            "this operation takes no body (or an empty JSON object, {})",
        ),
        (
            r#""1234""#,
            "invalid_field",
            "this operation takes no body (or an empty JSON object, {})",
        ),
    ] {
        let refused = body(text, false).parse_none().expect_err(text);
        assert_eq!(
            (refused.code, refused.message.as_str()),
            (code, says),
            "{text}"
        );
        assert!(!refused.message.contains("called") && !refused.message.contains("1234"));
    }
}

/// A body that opens with UTF-8's byte-order mark is read as if it had none: JSON, a form,
/// and one sent with no `Content-Type` (JSON by its `{`); a mark elsewhere is the body's.
#[actix_web::test]
async fn a_byte_order_mark_before_a_body_is_passed_over() {
    use crate::api::calls::CallInput;
    let bom = "\u{feff}";
    let read = |content_type: Option<&str>, text: String| {
        let mut req = actix_web::test::TestRequest::post().set_payload(text);
        if let Some(content_type) = content_type {
            req = req.insert_header(("content-type", content_type));
        }
        let (req, mut payload) = req.to_http_parts();
        async move {
            Body::<CallInput>::from_request(&req, &mut payload)
                .await
                .unwrap()
                .parse_json_or_form()
                .map(|input| (input.digits, input.step))
                .map_err(|e| e.code)
        }
    };
    let want = Ok((Some("1234".to_string()), Some(3)));
    let json = r#"{"digits": "1234", "step": 3}"#;
    let form = "digits=1234&step=3";
    let cases = [
        (
            Some("application/json"),
            format!("{bom}{json}"),
            want.clone(),
        ),
        (
            Some("application/json; charset=utf-8"),
            format!("{bom}{json}"),
            want.clone(),
        ),
        (
            Some("application/x-www-form-urlencoded"),
            format!("{bom}{form}"),
            want.clone(),
        ),
        (None, format!("{bom}{json}"), want.clone()),
        (None, format!("{bom}{form}"), want.clone()),
        (Some("application/json"), json.to_string(), want.clone()),
        // one mark only, and only at the start
        (
            Some("application/json"),
            format!("{bom}{bom}{json}"),
            Err("invalid_json"),
        ),
        (
            Some("application/json"),
            format!(" {bom}{json}"),
            Err("invalid_json"),
        ),
    ];
    for (content_type, text, want) in cases {
        assert_eq!(
            read(content_type, text.clone()).await,
            want,
            "{content_type:?} {text:?}"
        );
    }
}

/// A JSON body that is not there (`curl -X POST` with no `-d`) is told as empty, and one cut
/// short as ending early, rather than as JSON in error at column 0.
#[test]
fn an_empty_body_is_named_as_empty() {
    let json = |text: &str| Body::<crate::api::calls::CallInput> {
        bytes: web::Bytes::from(text.to_string()),
        json: true,
        form: false,
        untyped: false,
        from_form: false,
        _of: PhantomData,
    };
    for (text, says) in [
        ("", "the body is empty: this operation takes a JSON object"),
        (
            " \r\n\t",
            "the body is empty: this operation takes a JSON object",
        ),
        (
            r#"{"digits": "12"#,
            "the body ends before its JSON does (line 1, column 14): a closing }, ] or \" is \
             missing, or the body was cut short",
        ),
        ("{digits}", "the body is not valid JSON (line 1, column 2)"),
    ] {
        let body = json(text).parse().expect_err("a refusal").body();
        assert_eq!(
            (body.code.as_str(), body.message.as_str()),
            ("invalid_json", says),
            "{text:?}"
        );
    }
}
