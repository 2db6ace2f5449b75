use super::*;

#[test]
fn opens_after_the_threshold_and_recovers_through_one_trial() {
    let t0 = Instant::now();
    let secs = Duration::from_secs;
    let mut b = Breaker::new(3, secs(30));
    // Failures below the threshold keep it closed; a success resets the count.
    for _ in 0..2 {
        assert!(b.allow(t0));
        b.record(false, t0);
    }
    b.record(true, t0);
    assert_eq!(b.state(), State::Closed { failures: 0 });
    for _ in 0..3 {
        assert!(b.allow(t0));
        b.record(false, t0);
    }
    assert_eq!(
        b.state(),
        State::Open {
            until: t0 + secs(30)
        }
    );
    assert!(!b.allow(t0 + secs(29)), "open: calls fail fast");
    assert!(b.allow(t0 + secs(30)), "after the wait, one trial");
    assert!(!b.allow(t0 + secs(30)), "only one trial at a time");
    b.record(false, t0 + secs(31));
    assert_eq!(
        b.state(),
        State::Open {
            until: t0 + secs(61)
        }
    );
    assert!(b.allow(t0 + secs(61)));
    b.record(true, t0 + secs(61));
    assert!(b.allow(t0 + secs(61)));
    assert_eq!(b.state(), State::Closed { failures: 0 });
}

#[test]
fn a_threshold_of_one_opens_on_the_first_failure() {
    let t0 = Instant::now();
    let mut b = Breaker::new(1, Duration::from_secs(5));
    assert!(b.allow(t0));
    b.record(false, t0);
    assert!(!b.allow(t0));
}
