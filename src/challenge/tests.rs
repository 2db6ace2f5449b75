use chrono::TimeZone;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
}

fn secs(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

fn challenge(channel: OtpChannel, with_code: bool) -> Challenge {
    Challenge {
        challenge_id: new_id(),
        call_id: "call-1".into(),
        member_id: "1001".into(),
        channel,
        fallback_from: None,
        with_code,
        sent_to: "+1******4567".into(),
        code_mac: with_code.then(|| "00".into()),
        state: State::Waiting,
        checks_left: 3,
        member_response: None,
        for_ivr: false,
        created_at: t0(),
        expires_at: secs(60),
        decided_at: None,
        decided_by: None,
        how: None,
    }
}

#[test]
fn codes_are_six_digits_and_vary() {
    let codes: Vec<String> = (0..50).map(|_| new_code().to_string()).collect();
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
    );
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert!(unique.len() > 45, "{unique:?}");
    let id = new_id();
    assert!(valid_id(&id), "{id}");
    assert!(!valid_id("ch_short") && !valid_id(&format!("{}!", &id[..24])));
}

/// Code checks, as a table: (wrong tries before, then right?, at second) -> results.
#[test]
fn checks_approve_count_down_and_fail() {
    struct Case {
        name: &'static str,
        keys: &'static [bool],
        at: i64,
        want: &'static [Result<CheckResult, ChallengeError>],
        state: State,
    }
    use CheckResult::*;
    let cases = [
        Case {
            name: "right code approves",
            keys: &[true],
            at: 10,
            want: &[Ok(Approved)],
            state: State::Approved,
        },
        Case {
            name: "wrong then right",
            keys: &[false, true],
            at: 10,
            want: &[Ok(WrongCode), Ok(Approved)],
            state: State::Approved,
        },
        Case {
            name: "three wrong codes deny",
            keys: &[false, false, false],
            at: 10,
            want: &[Ok(WrongCode), Ok(WrongCode), Ok(Denied)],
            state: State::Denied,
        },
        Case {
            name: "a used code does not work twice",
            keys: &[true, true],
            at: 10,
            want: &[Ok(Approved), Err(ChallengeError::Decided(State::Approved))],
            state: State::Approved,
        },
        Case {
            name: "nothing works after a denial",
            keys: &[false, false, false, true],
            at: 10,
            want: &[
                Ok(WrongCode),
                Ok(WrongCode),
                Ok(Denied),
                Err(ChallengeError::Decided(State::Denied)),
            ],
            state: State::Denied,
        },
        Case {
            name: "the right code after the lifetime is expired",
            keys: &[true, true],
            at: 60,
            want: &[Ok(Expired), Err(ChallengeError::Decided(State::Expired))],
            state: State::Expired,
        },
    ];
    for case in cases {
        let mut c = challenge(OtpChannel::Sms, true);
        for (i, (right, want)) in case.keys.iter().zip(case.want).enumerate() {
            match (c.check(*right, "key:agent", secs(case.at)), want) {
                (Ok((next, got)), Ok(w)) => {
                    assert_eq!(got, *w, "{}: check {i}", case.name);
                    c = next;
                }
                (Err(e), Err(w)) => assert_eq!(e, *w, "{}: check {i}", case.name),
                (got, w) => panic!("{}: check {i}: {got:?} vs {w:?}", case.name),
            }
        }
        assert_eq!(c.state, case.state, "{}", case.name);
    }
}

#[test]
fn countdown_runs_to_zero_then_expires() {
    let c = challenge(OtpChannel::Sms, true);
    assert_eq!(c.expires_in(t0()), 60);
    assert_eq!(c.expires_in(secs(58) + Duration::milliseconds(500)), 2);
    assert_eq!(c.expires_in(secs(59) + Duration::milliseconds(500)), 1);
    assert_eq!(c.state_at(secs(59)), State::Waiting);
    assert_eq!(c.state_at(secs(60)), State::Expired);
    // a clock that went back past its sending by more than a second ends it too: it would
    // otherwise wait for as long again
    assert_eq!(c.state_at(secs(-1)), State::Waiting);
    assert_eq!(
        c.state_at(secs(-1) - Duration::milliseconds(1)),
        State::Expired
    );
    assert_eq!(c.expires_in(secs(-3600)), 0);
    assert_eq!(c.expires_in(secs(61)), 0);
    let mut settled = c.clone();
    assert!(settled.settle(secs(61)));
    assert_eq!(settled.how.as_deref(), Some("expired"));
    assert!(!settled.settle(secs(62)), "settles once");
}

#[test]
fn push_without_a_code_is_decided_by_the_app() {
    let c = challenge(OtpChannel::Push, false);
    let approved = c.push_response(true, "key:app", secs(5)).unwrap();
    assert_eq!(
        (approved.state, approved.how.as_deref()),
        (State::Approved, Some("app"))
    );
    let denied = c.push_response(false, "key:app", secs(5)).unwrap();
    assert_eq!(denied.state, State::Denied);
    assert_eq!(
        approved.push_response(false, "key:app", secs(6)),
        Err(ChallengeError::Decided(State::Approved))
    );
    assert_eq!(
        c.check(true, "key:agent", secs(5)).unwrap_err(),
        ChallengeError::NoCode
    );
    let late = c.push_response(true, "key:app", secs(61)).unwrap();
    assert_eq!(
        late.state,
        State::Expired,
        "an approval after the countdown is too late"
    );
}

#[test]
fn push_with_a_code_needs_the_app_then_the_code() {
    let c = challenge(OtpChannel::Push, true);
    assert_eq!(
        c.check(true, "key:agent", secs(5)).unwrap_err(),
        ChallengeError::AwaitingMember
    );
    assert_eq!(
        c.agent_decision(true, "key:agent", secs(5)).unwrap_err(),
        ChallengeError::ProofMissing
    );
    let member_ok = c.push_response(true, "key:app", secs(5)).unwrap();
    assert_eq!(member_ok.state, State::Waiting);
    assert_eq!(
        member_ok
            .push_response(true, "key:app", secs(6))
            .unwrap_err(),
        ChallengeError::AlreadyAnswered
    );
    let (done, result) = member_ok.check(true, "key:agent", secs(8)).unwrap();
    assert_eq!(
        (done.state, result),
        (State::Approved, CheckResult::Approved)
    );
    let by_agent = member_ok
        .agent_decision(true, "key:agent", secs(8))
        .unwrap();
    assert_eq!(
        (by_agent.state, by_agent.how.as_deref()),
        (State::Approved, Some("agent"))
    );
}

#[test]
fn the_agent_may_deny_anything_waiting_but_approve_only_with_proof() {
    let sms = challenge(OtpChannel::Sms, true);
    assert_eq!(
        sms.agent_decision(true, "key:agent", secs(5)).unwrap_err(),
        ChallengeError::ProofMissing
    );
    let denied = sms.agent_decision(false, "key:agent", secs(5)).unwrap();
    assert_eq!(
        (denied.state, denied.decided_by.as_deref()),
        (State::Denied, Some("key:agent"))
    );
    assert_eq!(
        denied
            .agent_decision(false, "key:agent", secs(6))
            .unwrap_err(),
        ChallengeError::Decided(State::Denied)
    );
    assert_eq!(
        sms.push_response(true, "key:app", secs(5)).unwrap_err(),
        ChallengeError::NotPush
    );
}

#[test]
fn a_state_is_named_as_the_api_writes_it() {
    // the audit detail and a refusal's message name a state as the JSON answer does
    for state in [
        State::Waiting,
        State::Approved,
        State::Denied,
        State::Expired,
    ] {
        assert_eq!(
            serde_json::to_value(state).unwrap(),
            serde_json::Value::from(state.as_str())
        );
    }
    assert_eq!(
        ChallengeError::Decided(State::Expired).to_string(),
        "the challenge is already expired"
    );
}

#[test]
fn sends_are_limited_per_rolling_hour() {
    let mut s = Sends::default();
    for i in 0..3 {
        assert_eq!(s.wait(3, secs(i * 60)), None);
        s = s.record(secs(i * 60));
    }
    // the fourth within the hour waits until the first send is an hour old
    assert_eq!(s.wait(3, secs(600)), Some(3000));
    assert_eq!(s.wait(3, secs(3599)), Some(1));
    // an hour to the second after it, the first send is out of the window
    assert_eq!(s.wait(3, secs(3600)), None);
    assert_eq!(
        s.recent(secs(3600)).at,
        vec![60, 120]
            .into_iter()
            .map(|t| secs(t).timestamp())
            .collect::<Vec<_>>()
    );
    assert_eq!(s.wait(3, secs(3601)), None);
    assert_eq!(s.record(secs(3601)).at.len(), 3, "old sends drop out");
}

/// Random sequences of everything that can happen to a challenge, against a model of what
/// proves the member: a right code keyed while it waits, or (for a push) the member's own
/// approval in the app. Whatever the order, a challenge is approved only with that proof,
/// never after its time, takes at most its checks of wrong codes, and once decided stays so.
mod model {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone, Copy)]
    enum Act {
        Check {
            right: bool,
        },
        App {
            approve: bool,
        },
        Agent {
            approve: bool,
        },
        /// Seconds pass.
        Wait(i64),
    }

    fn act() -> impl Strategy<Value = Act> {
        prop_oneof![
            any::<bool>().prop_map(|right| Act::Check { right }),
            any::<bool>().prop_map(|approve| Act::App { approve }),
            any::<bool>().prop_map(|approve| Act::Agent { approve }),
            (0..40i64).prop_map(Act::Wait),
        ]
    }

    fn channel() -> impl Strategy<Value = OtpChannel> {
        prop_oneof![
            Just(OtpChannel::Sms),
            Just(OtpChannel::Email),
            Just(OtpChannel::Push)
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

        #[test]
        fn a_challenge_is_approved_only_with_the_members_proof(
            ch in channel(),
            with_code in any::<bool>(),
            checks in 1..=5u32,
            acts in proptest::collection::vec(act(), 0..30),
        ) {
            // a push may go without a code; SMS and e-mail always carry one
            let with_code = with_code || ch != OtpChannel::Push;
            let mut c = challenge(ch, with_code);
            c.checks_left = checks;
            let mut now = t0();
            let (mut proof, mut wrong, mut decided): (bool, u32, Option<State>) =
                (false, 0, None);
            for a in acts {
                let waiting = c.state_at(now) == State::Waiting;
                let before = c.clone();
                let next = match a {
                    Act::Wait(s) => {
                        now += Duration::seconds(s);
                        continue;
                    }
                    Act::Check { right } => c.check(right, "key:agent", now).map(|(n, _)| {
                        if waiting && n.state != State::Expired {
                            if right {
                                proof = true;
                            } else {
                                wrong += 1;
                            }
                        }
                        n
                    }),
                    Act::App { approve } => c.push_response(approve, "key:app", now).inspect(|_| {
                        if waiting && approve && !with_code {
                            proof = true;
                        }
                    }),
                    Act::Agent { approve } => c.agent_decision(approve, "key:agent", now),
                };
                let Ok(next) = next else {
                    prop_assert_eq!(&c, &before, "a refused action changed the challenge");
                    continue;
                };
                if let Some(s) = decided {
                    prop_assert_eq!(next.state, s, "a decided challenge changed: {:?}", a);
                }
                if next.state != State::Waiting {
                    decided.get_or_insert(next.state);
                }
                if next.state == State::Approved && before.state != State::Approved {
                    // the member's proof: a right code, or their approval of a code-less push;
                    // or an agent vouching for the code of a push the member approved
                    let vouched = matches!(a, Act::Agent { approve: true })
                        && before.member_response == Some(true);
                    prop_assert!(proof || vouched, "approved without proof by {:?}", a);
                    prop_assert!(now < c.expires_at, "approved after its time");
                }
                prop_assert!(wrong <= checks, "{wrong} wrong codes taken of {checks}");
                c = next;
            }
        }
    }
}

/// A challenge whose code can no longer be checked (the vault key its MAC was made under was
/// rotated away) ends as if its time had run out, whatever was keyed; a decided one stays
/// decided, and one past its time is expired by the clock.
#[test]
fn a_challenge_whose_key_is_gone_expires_and_counts_no_wrong_code() {
    let c = challenge(OtpChannel::Sms, true);
    let (next, result) = c.key_gone(secs(10)).unwrap();
    assert_eq!(result, CheckResult::Expired);
    assert_eq!(
        (next.state, next.how.as_deref(), next.checks_left),
        (State::Expired, Some("key_rotated"), 3)
    );
    let (late, result) = c.key_gone(secs(60)).unwrap();
    assert_eq!(
        (result, late.how.as_deref()),
        (CheckResult::Expired, Some("expired"))
    );
    let (approved, _) = c.check(true, "agent", secs(5)).unwrap();
    assert!(matches!(
        approved.key_gone(secs(10)),
        Err(ChallengeError::Decided(State::Approved))
    ));
}

/// Another challenge sent on the call ends one still waiting, whatever its channel or how far
/// it got; one decided, or past its time, stays as it was.
#[test]
fn a_newer_challenge_replaces_only_one_still_waiting() {
    let sms = challenge(OtpChannel::Sms, true);
    let push = challenge(OtpChannel::Push, true);
    let (approved, _) = sms.check(true, "key:desk", secs(5)).unwrap();
    let (one_wrong, _) = sms.check(false, "key:desk", secs(5)).unwrap();
    let denied = sms.agent_decision(false, "key:desk", secs(5)).unwrap();
    let app_said_yes = push.push_response(true, "key:app", secs(5)).unwrap();
    let cases: [(&str, &Challenge, i64, bool); 7] = [
        ("a text waiting", &sms, 10, true),
        ("a text with a wrong code keyed", &one_wrong, 10, true),
        (
            "a push the app approved, its code not yet heard",
            &app_said_yes,
            10,
            true,
        ),
        ("a push not yet answered", &push, 59, true),
        ("past its time", &sms, 60, false),
        ("approved", &approved, 10, false),
        ("denied", &denied, 10, false),
    ];
    for (name, c, at, ends) in cases {
        let next = c.replaced("key:desk", secs(at));
        assert_eq!(next.is_some(), ends, "{name}");
        let Some(next) = next else { continue };
        assert_eq!(
            (
                next.state,
                next.how.as_deref(),
                next.decided_by.as_deref(),
                next.decided_at
            ),
            (
                State::Expired,
                Some("replaced"),
                Some("key:desk"),
                Some(secs(at))
            ),
            "{name}"
        );
        assert_eq!(next.expires_in(secs(at)), 0, "{name}");
        assert!(
            matches!(
                next.check(true, "key:desk", secs(at)),
                Err(ChallengeError::Decided(State::Expired))
            ),
            "{name}: its code no longer works"
        );
    }
}

/// A challenge id: `ch_` and 22 characters of URL-safe base64 (letters, digits, `-`, `_`),
/// whichever of them the random bytes gave.
#[test]
fn an_id_is_ch_and_22_url_safe_base64_characters() {
    for (id, valid) in [
        ("ch_AAAAAAAAAAAAAAAAAAAAAA", true),
        ("ch_Az09-_Az09-_Az09-_Az09", true),
        ("ch_----------------------", true),
        ("ch_______________________", true),
        ("ch_AAAAAAAAAAAAAAAAAAAAA!", false),
        ("ch_AAAAAAAAAAAAAAAAAAAAA+", false),
        ("ch_AAAAAAAAAAAAAAAAAAAAA/", false),
        ("cx_AAAAAAAAAAAAAAAAAAAAAA", false),
        ("ch_AAAAAAAAAAAAAAAAAAAAA", false),
        ("ch_AAAAAAAAAAAAAAAAAAAAAAA", false),
        ("ch_AAAAAAAAAAAAAAAAAAAAé", false),
        ("", false),
    ] {
        assert_eq!(valid_id(id), valid, "{id}");
    }
}
