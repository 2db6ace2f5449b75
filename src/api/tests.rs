use super::shown;

/// A refusal repeats a path or a method whole up to 100 characters, and a longer one by its
/// first 80 and its length.
#[test]
fn a_long_path_is_repeated_by_its_start_and_length() {
    let a = |n: usize| "a".repeat(n);
    for (sent, said) in [
        ("/v1/calls".to_string(), "/v1/calls".to_string()),
        (a(100), a(100)),
        (a(101), format!("{}... (101 characters)", a(80))),
        (a(30_000), format!("{}... (30000 characters)", a(80))),
        (
            "é".repeat(120),
            format!("{}... (120 characters)", "é".repeat(80)),
        ),
        (String::new(), String::new()),
    ] {
        assert_eq!(shown(&sent), said, "{}", sent.len());
    }
}
