use super::*;
use chrono::TimeZone;

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn policy(max_wrong: u32, lock: Option<i64>, reset: Option<i64>) -> Policy {
    Policy {
        max_wrong,
        lock_for: lock.map(Duration::minutes),
        reset_after: reset.map(Duration::minutes),
    }
}

fn wrong_n(p: &Policy, n: u32, at: DateTime<Utc>) -> Counter {
    (0..n).fold(Counter::default(), |c, _| c.wrong(p, at))
}

#[test]
fn each_threshold_locks_on_exactly_its_wrong_answer() {
    for max in [1, 2, 3, 5, 10] {
        let p = policy(max, Some(1440), None);
        let before = wrong_n(&p, max - 1, t(0));
        assert_eq!(
            before.state(&p, t(0)),
            State::Open { tries_left: 1 },
            "max {max}"
        );
        let after = before.wrong(&p, t(0));
        assert_eq!(
            after.state(&p, t(0)),
            State::Locked {
                until: Some(t(1440))
            },
            "max {max}"
        );
    }
}

#[test]
fn tries_left_counts_down() {
    let p = policy(5, Some(1440), None);
    let mut c = Counter::default();
    for left in (1..=5).rev() {
        assert_eq!(c.state(&p, t(0)), State::Open { tries_left: left });
        c = c.wrong(&p, t(0));
    }
    assert!(matches!(c.state(&p, t(0)), State::Locked { .. }));
}

#[test]
fn a_timed_lock_ends_exactly_at_its_time_and_starts_afresh() {
    let p = policy(3, Some(60), None);
    let locked = wrong_n(&p, 3, t(0));
    assert!(matches!(locked.state(&p, t(59)), State::Locked { .. }));
    assert_eq!(locked.state(&p, t(60)), State::Open { tries_left: 3 });
    // a wrong answer after the lock expired starts a new run
    assert_eq!(
        locked.wrong(&p, t(61)).state(&p, t(61)),
        State::Open { tries_left: 2 }
    );
}

#[test]
fn an_indefinite_lock_holds_until_cleared() {
    let p = policy(2, None, None);
    let locked = wrong_n(&p, 2, t(0));
    assert_eq!(
        locked.state(&p, t(60 * 24 * 365)),
        State::Locked { until: None }
    );
    assert_eq!(
        Counter::default().state(&p, t(0)),
        State::Open { tries_left: 2 }
    );
}

#[test]
fn more_tries_while_locked_do_not_extend_the_lock() {
    let p = policy(2, Some(60), None);
    let locked = wrong_n(&p, 2, t(0));
    let hammered = locked.wrong(&p, t(30)).wrong(&p, t(50));
    assert_eq!(hammered, locked);
    assert_eq!(hammered.state(&p, t(60)), State::Open { tries_left: 2 });
}

#[test]
fn a_correct_answer_clears_the_run() {
    let p = policy(3, Some(60), None);
    let two = wrong_n(&p, 2, t(0));
    assert!(!two.is_clear());
    let cleared = two.correct();
    assert!(cleared.is_clear());
    assert_eq!(
        cleared.wrong(&p, t(1)).state(&p, t(1)),
        State::Open { tries_left: 2 }
    );
}

#[test]
fn the_reset_window_forgets_an_old_run_but_not_a_lock() {
    let p = policy(3, Some(600), Some(30));
    let two = wrong_n(&p, 2, t(0));
    assert_eq!(two.state(&p, t(29)), State::Open { tries_left: 1 });
    assert_eq!(two.state(&p, t(30)), State::Open { tries_left: 3 });
    assert_eq!(
        two.wrong(&p, t(31)).state(&p, t(31)),
        State::Open { tries_left: 2 }
    );
    let locked = wrong_n(&p, 3, t(0));
    assert!(matches!(locked.state(&p, t(31)), State::Locked { .. }));
}

#[test]
fn config_maps_zero_to_no_limit() {
    let c = crate::config::LockoutConfig {
        max_wrong_pins: 5,
        lock_minutes: 0,
        reset_minutes: 0,
        max_wrong_answers: 7,
    };
    assert_eq!(Policy::pins(&c), policy(5, None, None));
    assert_eq!(Policy::answers(&c), policy(7, None, None));
    let d = crate::config::LockoutConfig::default();
    assert_eq!(Policy::pins(&d), policy(5, Some(1440), None));
}

/// `member show`'s reading of a run: its wrong answers, and the lock's end while locked; a
/// run forgotten or a lock ended reads as nothing.
#[test]
fn a_standing_reads_the_run_as_it_stands_then() {
    let timed = policy(3, Some(60), Some(30));
    let forever = policy(3, None, None);
    let open = |wrong| Standing {
        wrong,
        locked: false,
        locked_until: None,
    };
    let cases: &[(&str, &Policy, Counter, i64, Standing)] = &[
        ("no run", &timed, Counter::default(), 0, open(0)),
        ("two wrong", &timed, wrong_n(&timed, 2, t(0)), 10, open(2)),
        (
            "a run forgotten",
            &timed,
            wrong_n(&timed, 2, t(0)),
            30,
            open(0),
        ),
        (
            "locked for an hour",
            &timed,
            wrong_n(&timed, 3, t(0)),
            59,
            Standing {
                wrong: 3,
                locked: true,
                locked_until: Some(t(60)),
            },
        ),
        (
            "a lock ended",
            &timed,
            wrong_n(&timed, 3, t(0)),
            60,
            open(0),
        ),
        (
            "locked until unlocked",
            &forever,
            wrong_n(&forever, 3, t(0)),
            60 * 24 * 365,
            Standing {
                wrong: 3,
                locked: true,
                locked_until: None,
            },
        ),
    ];
    for (what, p, c, at, want) in cases {
        assert_eq!(c.standing(p, t(*at)), *want, "{what}");
    }
}
