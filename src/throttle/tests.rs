use super::*;

#[test]
fn the_first_line_passes_then_one_per_interval_with_the_count_left_out() {
    let t = Throttle::new(Duration::from_secs(10));
    let start = Instant::now();
    let at = |s: u64| start + Duration::from_millis(s);
    for (ms, admitted) in [
        (0, Some(0)),
        (1, None),
        (5_000, None),
        (9_999, None),
        (10_000, Some(3)),
        (10_001, None),
        (25_000, Some(1)),
        (40_000, Some(0)),
    ] {
        assert_eq!(t.admit(at(ms)), admitted, "at {ms} ms");
    }
}
