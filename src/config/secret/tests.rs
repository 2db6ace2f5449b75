use super::*;

#[test]
fn never_prints_its_value() {
    let s = Secret::new("hunter2-token");
    assert_eq!(format!("{s:?}"), "***");
    assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
    assert_eq!(s.expose(), "hunter2-token");
    let back: Secret = serde_json::from_str("\"other\"").unwrap();
    assert_eq!(back.expose(), "other");
    assert_ne!(back, s);
    let numeric: Secret = serde_json::from_str("4821").unwrap();
    assert_eq!(numeric.expose(), "4821");
}

/// Two secrets are equal when their text is (a reload compares the old configuration with
/// the new one), whatever their lengths.
#[test]
fn secrets_are_equal_by_their_text() {
    for (a, b, equal) in [
        ("token-1", "token-1", true),
        ("", "", true),
        ("token-1", "token-2", false),
        ("token", "token-1", false),
        ("token-1", "", false),
    ] {
        assert_eq!(Secret::new(a) == Secret::new(b), equal, "{a:?} {b:?}");
    }
}

/// A table or a list where a secret goes is refused by what a secret is, and the refusal
/// holds nothing of what was written.
#[test]
fn a_secret_that_is_no_scalar_is_refused_without_its_value() {
    for text in [r#"{"value": "hunter2"}"#, r#"["hunter2"]"#, "null"] {
        let err = serde_json::from_str::<Secret>(text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a secret value"), "{text}: {err}");
        assert!(!err.contains("hunter2"), "{text}: {err}");
    }
}
