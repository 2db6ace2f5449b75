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
        (r#"{"digits": "482913"}"#, "invalid_field"),
        (r#"{"digits": 1, "pin": "482913"}"#, "unknown_field"),
        (r#"{"digits": "#, "invalid_json"),
        (r#"{}"#, "missing_field"),
    ];
    for (body, code) in cases {
        let err = serde_json::from_str::<Body>(body).unwrap_err();
        let api = describe_json_error(&err);
        assert_eq!(api.code, code, "{body}");
        assert!(!api.message.contains("482913"), "{body}: {}", api.message);
    }
}
