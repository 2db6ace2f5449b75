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
