use super::*;

#[test]
fn since_and_before_take_a_date_a_utc_time_or_rfc_3339() {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    for (given, meant) in [
        ("2026-12-05", Some("2026-12-05T00:00:00Z")),
        ("2026-12-05T08:17:00Z", Some("2026-12-05T08:17:00Z")),
        ("2026-12-05T08:17:00-05:00", Some("2026-12-05T13:17:00Z")),
        ("2026-12-05 08:17:30+01:00", Some("2026-12-05T07:17:30Z")),
        ("2026-12-05 08:17", Some("2026-12-05T08:17:00Z")),
        ("2026-12-05T08:17", Some("2026-12-05T08:17:00Z")),
        ("2026-12-05 08:17:09", Some("2026-12-05T08:17:09Z")),
        ("2026-12-05T08:17:09", Some("2026-12-05T08:17:09Z")),
        ("2026-13-01", None),
        ("2026-12-05 25:00", None),
        ("12/05/2026", None),
        ("1h", None),
        ("yesterday", None),
        ("", None),
    ] {
        match (parse_since(given), meant) {
            (Ok(t), Some(m)) => assert_eq!(t, at(m), "{given}"),
            (Err(e), None) => {
                assert!(e.contains("give a date (2026-12-05"), "{given}: {e}");
                assert!(e.starts_with(&format!("{given:?}")), "{given}: {e}");
            }
            (got, _) => panic!("{given}: {got:?}, meant {meant:?}"),
        }
    }
}
