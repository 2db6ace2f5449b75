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
