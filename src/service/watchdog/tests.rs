use super::*;

#[test]
fn the_period_is_systemd_s_for_this_process_only() {
    let ours = std::process::id().to_string();
    let other = (std::process::id() + 1).to_string();
    // (WATCHDOG_USEC, WATCHDOG_PID, period)
    let cases: [(Option<&str>, Option<&str>, Option<Duration>); 8] = [
        (None, None, None),
        (Some("30000000"), None, Some(Duration::from_secs(30))),
        (Some("30000000"), Some(&ours), Some(Duration::from_secs(30))),
        (Some("30000000"), Some(&other), None),
        (Some("30000000"), Some("init"), None),
        (Some("0"), None, None),
        (Some("thirty"), None, None),
        (None, Some(&ours), None),
    ];
    for (usec, pid, want) in cases {
        assert_eq!(period(usec, pid), want, "{usec:?} {pid:?}");
    }
}

#[test]
fn the_longest_silence_over_the_limit_names_its_worker() {
    let s = Duration::from_secs;
    let limit = s(15);
    let cases: [(&[Duration], Verdict); 6] = [
        (&[], Verdict::Alive),
        (&[s(0), s(1)], Verdict::Alive),
        // at the limit is still alive; past it is not
        (&[s(15)], Verdict::Alive),
        (
            &[s(1), Duration::from_millis(15_001)],
            Verdict::Stuck {
                index: 2,
                silent: Duration::from_millis(15_001),
            },
        ),
        (
            &[s(20), s(1), s(40)],
            Verdict::Stuck {
                index: 3,
                silent: s(40),
            },
        ),
        (
            &[s(40), s(20)],
            Verdict::Stuck {
                index: 1,
                silent: s(40),
            },
        ),
    ];
    for (silences, want) in cases {
        assert_eq!(verdict(silences, limit), want, "{silences:?}");
    }
}

#[test]
fn pings_go_thrice_a_period_and_a_worker_may_be_silent_for_half_of_one() {
    let ms = Duration::from_millis;
    // (period, look every, longest silence)
    let cases = [
        (ms(30_000), ms(10_000), ms(15_000)),
        (ms(900), ms(300), ms(450)),
        // a period too short to keep: looked at every 50 ms, not spun on
        (ms(30), ms(50), ms(15)),
    ];
    for (period, every, limit) in cases {
        assert_eq!(pacing(period), (every, limit), "{period:?}");
    }
}

#[test]
fn a_beat_ends_its_worker_s_silence() {
    let beats = Heartbeats {
        start: Instant::now() - Duration::from_secs(10),
        slots: Mutex::default(),
    };
    let beat = beats.join();
    // as if its last beat were at the start, ten seconds ago
    beat.last.store(0, Ordering::Relaxed);
    assert!(beats.silences(Instant::now())[0] >= Duration::from_secs(10));
    beat.now();
    assert!(beats.silences(Instant::now())[0] < Duration::from_secs(1));
}

#[test]
fn a_worker_s_silence_runs_from_its_last_beat_and_an_ended_one_is_forgotten() {
    let beats = Heartbeats::default();
    let first = beats.join();
    let second = beats.join();
    let later = beats.start + Duration::from_secs(10);
    let silences = beats.silences(later);
    assert_eq!(silences.len(), 2);
    assert!(
        silences.iter().all(|s| *s >= Duration::from_secs(9)),
        "{silences:?}"
    );
    // a beat now: that worker's silence is (about) none
    second.now();
    let silences = beats.silences(Instant::now());
    assert!(silences[1] < Duration::from_secs(1), "{silences:?}");
    // the first worker ends: its slot goes with it, and a new worker takes the next
    drop(first);
    assert_eq!(beats.silences(later).len(), 1);
    let _third = beats.join();
    assert_eq!(
        beats.slots.lock().unwrap().len(),
        2,
        "the ended slot was kept"
    );
}

/// A look pings while every worker runs, says once that it runs again after a stuck one,
/// and says a stuck worker once, when found, not at every look while it stays stuck.
#[test]
fn a_stuck_worker_is_said_once_and_its_return_once() {
    let stuck = Verdict::Stuck {
        index: 2,
        silent: Duration::from_secs(20),
    };
    let cases = [
        (false, Verdict::Alive, Look::Ping { again: false }),
        (true, Verdict::Alive, Look::Ping { again: true }),
        (
            false,
            stuck,
            Look::Stuck {
                index: 2,
                silent: Duration::from_secs(20),
            },
        ),
        (true, stuck, Look::StillStuck),
    ];
    for (was_stuck, now, want) in cases {
        assert_eq!(look(was_stuck, now), want, "{was_stuck} {now:?}");
    }
}
