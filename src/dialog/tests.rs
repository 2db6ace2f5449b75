use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use super::*;
use crate::config::PinPolicyConfig;
use crate::pin::{ActivationScenario, ChangeReason, ForceChangeScenario, Rejection};
use crate::profile::Step as ProfileStep;

const MOBILE: &str = "+15551230001";
const OTHER: &str = "+15551230002";

fn member() -> Member {
    Member {
        member_id: "1001".into(),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        mobile_phone: Some(MOBILE.into()),
        other_phones: vec![OTHER.into()],
        dob: NaiveDate::from_ymd_opt(1984, 3, 12),
        zip: Some("55401".into()),
        ssn_last4: Some("6789".into()),
        place_of_birth: Some("Zagreb".into()),
        savings_balance_cents: Some(123_456),
        last_txn_amount_cents: Some(-45_00),
        last_txn_date: NaiveDate::from_ymd_opt(2026, 11, 20),
        ..Member::default()
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn policy() -> PinPolicyConfig {
    PinPolicyConfig::default()
}

fn rules(p: &PinPolicyConfig) -> Rules<'_> {
    Rules {
        pin_policy: p,
        answer_lockout: lockout::Policy {
            max_wrong: 4,
            lock_for: Some(Duration::hours(1)),
            reset_after: None,
        },
        new_pin_attempts: 3,
        now: now(),
    }
}

fn pin_profile() -> Profile {
    let mut p = Profile::default();
    p.ivr.known_number = ProfileStep {
        methods: vec![Method::Pin],
        min_correct: 1,
        attempts: 3,
    };
    p
}

#[derive(Debug, Clone, Copy)]
enum Arrive {
    Intent,
    Ani(&'static str),
    Anonymous,
    Shared,
    CoreDown,
    /// The member found by caller id has no PIN.
    AniNoPin(&'static str),
}

/// One caller action; the driver resolves it the way the service would.
#[derive(Debug, Clone, Copy)]
enum Do {
    /// Keyed digits: an identifier (`1001` is the member) or a question's answer.
    Key(&'static str),
    /// An identifier keyed while the core cannot be asked who it names.
    KeyCoreDown,
    NoInput,
    OptOut,
    CoreDown,
    /// The core no longer knows the call's member.
    MemberGone,
    PinRight,
    PinRightThen(Verdict),
    PinWrong(u32),
    PinLocked,
    NewPin(Option<Rejection>),
    Confirm(Option<Rejection>),
    /// The new PIN to confirm could not be read back (a vault key rotation).
    NewPinLost,
    /// An answer while the member's wrong-answer counter already has this many.
    KeyWithWrong(&'static str, u32),
    /// The service sent the `otp` step's code (`None`) or could not (why).
    Sent(Option<&'static str>),
    /// The keyed code, as its challenge judged it.
    Code(CodeOutcome),
}

fn arrive(a: Arrive, profile: Profile, m: &Member, r: &Rules<'_>) -> Transition {
    let ani = match a {
        Arrive::Ani(n) | Arrive::AniNoPin(n) => Some(n.to_string()),
        Arrive::Shared => Some(OTHER.to_string()),
        _ => None,
    };
    let new = NewCall {
        call_id: "c1".into(),
        ani,
        caller_id_check: None,
        dnis: None,
        profile_name: "members".into(),
        profile: profile.into(),
    };
    let arrival = match a {
        Arrive::Intent => Arrival::Intent {
            member: m,
            has_pin: true,
        },
        Arrive::Ani(_) => Arrival::Ani(Found::One {
            member: m,
            has_pin: true,
        }),
        Arrive::AniNoPin(_) => Arrival::Ani(Found::One {
            member: m,
            has_pin: false,
        }),
        Arrive::Shared => Arrival::Ani(Found::NoneOrMany),
        Arrive::Anonymous => Arrival::NoCallerId,
        Arrive::CoreDown => Arrival::Ani(Found::CoreUnavailable),
    };
    start(new, arrival, r)
}

/// A call from Ada's mobile under the built-in profile (the carrier's verdict on the caller
/// ID as given), arriving as `found`.
fn from_mobile(check: Option<CallerIdCheck>, found: Found<'_>, r: &Rules<'_>) -> Transition {
    let new = NewCall {
        call_id: "c".into(),
        ani: Some(MOBILE.into()),
        caller_id_check: check,
        dnis: None,
        profile_name: "x".into(),
        profile: Profile::default().into(),
    };
    start(new, Arrival::Ani(found), r)
}

fn counter(wrong: u32) -> Counter {
    Counter {
        wrong,
        last_wrong_at: (wrong > 0).then(|| now().timestamp()),
        locked_at: None,
    }
}

/// Run a call; returns every STEP (the first is the start's) and every event kind.
fn run(
    profile: Profile,
    a: Arrive,
    script: &[Do],
) -> (Vec<StepView>, Vec<DialogEvent>, Call, Option<Counter>) {
    let p = policy();
    let r = rules(&p);
    let m = member();
    let t = arrive(a, profile, &m, &r);
    let mut steps = vec![step_view(&t.call, &r)];
    let mut events = t.events;
    let mut call = t.call;
    let mut last_counter = None;
    for action in script {
        let input = match *action {
            Do::Key(d) | Do::KeyWithWrong(d, _) => match expects(&call) {
                Expect::Identifier => Input::Identifier(if d == "1001" {
                    Found::One {
                        member: &m,
                        has_pin: true,
                    }
                } else {
                    Found::NoneOrMany
                }),
                Expect::Question(_) => Input::Answer {
                    digits: d,
                    member: &m,
                    counter: match *action {
                        Do::KeyWithWrong(_, n) => counter(n),
                        _ => last_counter.unwrap_or_default(),
                    },
                },
                other => panic!("keyed digits while the call expects {other:?}"),
            },
            Do::KeyCoreDown => Input::Identifier(Found::CoreUnavailable),
            Do::NoInput => Input::NoInput,
            Do::OptOut => Input::OptOut,
            Do::CoreDown => Input::CoreUnavailable,
            Do::MemberGone => Input::MemberGone,
            Do::PinRight => Input::Pin(PinResult::Correct {
                verdict: Verdict::Proceed,
                current: None,
            }),
            Do::PinRightThen(v) => Input::Pin(PinResult::Correct {
                verdict: v,
                current: Some(vec![1, 2, 3]),
            }),
            Do::PinWrong(left) => Input::Pin(PinResult::Wrong { tries_left: left }),
            Do::PinLocked => Input::Pin(PinResult::Locked),
            Do::NewPin(None) => Input::NewPin(Ok(vec![9, 9])),
            Do::NewPin(Some(r)) => Input::NewPin(Err(r)),
            Do::Confirm(None) => Input::Confirm(Ok(())),
            Do::Confirm(Some(r)) => Input::Confirm(Err(r)),
            Do::NewPinLost => Input::NewPinLost,
            Do::Sent(None) => Input::CodeSent(Ok(OtpPending {
                challenge_id: "ch_test".into(),
                checks_left: 3,
            })),
            Do::Sent(Some(why)) => Input::CodeSent(Err(why)),
            Do::Code(o) => Input::Code(o),
        };
        // a code sent is the service's own step; everything else is the IVR's input
        let ivr = !matches!(input, Input::CodeSent(_));
        let t = if ivr {
            answer(&call, input, Some(&m), &r)
        } else {
            advance(&call, input, Some(&m), &r)
        };
        assert_eq!(
            t.call.version,
            call.version + 1,
            "every step bumps the version"
        );
        assert_eq!(
            t.call.inputs,
            call.inputs + u64::from(ivr),
            "only the IVR's inputs are counted"
        );
        if t.answer_counter.is_some() {
            last_counter = t.answer_counter;
        }
        events.extend(t.events);
        call = t.call;
        steps.push(step_view(&call, &r));
    }
    (steps, events, call, last_counter)
}

fn end(s: &StepView) -> (Status, Option<Reason>, Option<Level>) {
    (s.status, s.reason, s.level)
}

fn last(steps: &[StepView]) -> &StepView {
    steps.last().unwrap()
}

/// A scripted call and the end it must reach.
type Case<'a> = (&'a str, &'a [Do], End);
type End = (S, Option<R>, Option<L>);
/// An identification script and the status and reason it must reach.
type IdCase = (&'static str, Arrive, &'static [Do], S, Option<R>);

use Do::*;
use Level as L;
use Reason as R;
use Status as S;

#[test]
fn seed_004_acceptance_app_intent_is_authenticated_at_once() {
    let (steps, events, call, _) = run(Profile::default(), Arrive::Intent, &[]);
    let s = &steps[0];
    assert_eq!(end(s), (S::Authenticated, None, Some(L::AppIntent)));
    assert_eq!(s.kind, "done");
    assert_eq!(s.trust, Some(Trust::AppIntent));
    assert_eq!(s.first_name.as_deref(), Some("Ada"));
    assert_eq!(call.verified, Some(true));
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::CallAuthenticated)
    );
}

/// No input at a verification step uses one of its tries, says `no_input`, and is audited
/// as the method's failed check. It is not a wrong PIN or answer: the member's
/// wrong-answer counter is not touched.
#[test]
fn no_input_at_a_verification_step_uses_a_try_and_counts_nothing_against_the_member() {
    let mut questions = Profile::default();
    questions.ivr.known_number = ProfileStep {
        methods: vec![Method::Dob, Method::Zip],
        min_correct: 1,
        attempts: 2,
    };
    // (name, profile, script, the last STEP's field, its attempts_left, the failed checks)
    type Case = (
        &'static str,
        Profile,
        &'static [Do],
        Field,
        u32,
        &'static [&'static str],
    );
    let cases: [Case; 3] = [
        (
            "pin, once",
            pin_profile(),
            &[NoInput],
            Field::Pin,
            2,
            &["pin: no input"],
        ),
        (
            "pin, then a wrong one",
            pin_profile(),
            &[NoInput, PinWrong(3)],
            Field::Pin,
            1,
            &["pin: no input"],
        ),
        (
            "a question's two tries, then the next question",
            questions,
            &[NoInput, NoInput],
            Field::Question,
            2,
            &["question:dob: no input", "question:dob: no input"],
        ),
    ];
    for (name, profile, script, field, left, failed) in cases {
        let (steps, events, _, counter) = run(profile, Arrive::Ani(MOBILE), script);
        let s = last(&steps);
        assert_eq!(s.status, S::Verifying, "{name}");
        assert_eq!(
            (s.field, s.attempts_left),
            (Some(field), Some(left)),
            "{name}"
        );
        let no_input: Vec<&str> = events
            .iter()
            .filter(|e| e.kind == EventKind::MethodChecked && e.outcome == Outcome::Failed)
            .map(|e| e.detail.as_str())
            .filter(|d| d.ends_with("no input"))
            .collect();
        assert_eq!(no_input, failed, "{name}");
        assert!(counter.is_none_or(|c| c.wrong == 0), "{name}: {counter:?}");
        if matches!(script.last(), Some(NoInput)) {
            assert_eq!(s.error.as_deref(), Some("no_input"), "{name}");
        }
    }
}

#[test]
fn a_known_number_that_needs_nothing_is_authenticated_with_no_level() {
    // A profile may take a verified phone's caller ID alone (config check warns of it).
    // That proves nothing a level names: the STEP's level is null, not app_intent.
    let mut p = Profile::default();
    p.ivr.known_number = crate::profile::Step {
        methods: vec![],
        min_correct: 0,
        attempts: 1,
    };
    let (steps, events, call, _) = run(p, Arrive::Ani(MOBILE), &[]);
    let s = &steps[0];
    assert_eq!(end(s), (S::Authenticated, None, None));
    assert_eq!(s.trust, Some(Trust::KnownNumber));
    assert_eq!(call.verified, Some(true));
    let auth: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::CallAuthenticated)
        .collect();
    assert_eq!(auth.len(), 1, "{events:?}");
    assert_eq!(auth[0].detail, "caller ID alone");
    // the call keeps the keypad questions the record answers: place of birth, which the
    // record has, is the agent's alone
    let answerable = call.member.unwrap().answerable;
    assert!(answerable.contains(&Question::Dob), "{answerable:?}");
    assert!(
        !answerable.contains(&Question::PlaceOfBirth),
        "{answerable:?}"
    );
}

#[test]
fn seed_004_acceptance_verified_number_needs_2_of_3() {
    // known_number default: dob, zip, ssn_last4, 2 correct
    let cases: &[Case] = &[
        (
            "first two right",
            &[Key("03121984"), Key("55401")],
            (S::Authenticated, None, Some(L::Questions)),
        ),
        (
            "one wrong, then two right",
            &[Key("01011990"), Key("55401"), Key("6789")],
            (S::Authenticated, None, Some(L::Questions)),
        ),
        (
            "two wrong: 2 can no longer be reached",
            &[Key("01011990"), Key("99999")],
            (S::Transferred, Some(R::VerificationFailed), None),
        ),
    ];
    for (name, script, want) in cases {
        let (steps, _, _, _) = run(Profile::default(), Arrive::Ani(MOBILE), script);
        assert_eq!(steps[0].trust, Some(Trust::KnownNumber), "{name}");
        assert_eq!(steps[0].question, Some(Question::Dob), "{name}");
        assert_eq!(end(last(&steps)), *want, "{name}");
        assert_eq!(steps.len(), script.len() + 1, "{name}: no extra steps");
    }
}

#[test]
fn seed_004_acceptance_unverified_number_needs_3_of_5() {
    // unknown_number default: dob, zip, ssn_last4, last_txn_amount, savings_balance; 3 correct
    let cases: &[Case] = &[
        (
            "three right",
            &[Key("03121984"), Key("55401"), Key("6789")],
            (S::Authenticated, None, Some(L::Questions)),
        ),
        (
            "two wrong then three right (amounts as whole dollars and dollars*cents)",
            &[
                Key("01011990"),
                Key("11111"),
                Key("6789"),
                Key("45"),
                Key("1234*56"),
            ],
            (S::Authenticated, None, Some(L::Questions)),
        ),
        (
            "three wrong: below the threshold",
            &[Key("01011990"), Key("11111"), Key("0000")],
            (S::Transferred, Some(R::VerificationFailed), None),
        ),
    ];
    for (name, script, want) in cases {
        // the other phone on file identifies the member but is not their verified number
        let (steps, _, call, _) = run(Profile::default(), Arrive::Ani(OTHER), script);
        assert_eq!(steps[0].trust, Some(Trust::UnknownNumber), "{name}");
        assert_eq!(end(last(&steps)), *want, "{name}");
        let failed = want.1 == Some(R::VerificationFailed);
        assert_eq!(call.verified, Some(!failed), "{name}");
    }
}

#[test]
fn seed_002_identification_flow() {
    let p = Profile::default;
    let cases: &[IdCase] = &[
        ("ANI found", Arrive::Ani(MOBILE), &[], S::Verifying, None),
        (
            "ANI missing: identifier asked, then found",
            Arrive::Anonymous,
            &[Key("1001")],
            S::Verifying,
            None,
        ),
        (
            "three failed identifiers",
            Arrive::Anonymous,
            &[Key("2222"), Key("3333"), Key("4444")],
            S::Transferred,
            Some(R::IdentificationFailed),
        ),
        (
            "no identifier ever keyed",
            Arrive::Anonymous,
            &[NoInput, NoInput, NoInput],
            S::Transferred,
            Some(R::NoIdentifier),
        ),
        (
            "one keyed, then silence",
            Arrive::Anonymous,
            &[Key("2222"), NoInput, NoInput],
            S::Transferred,
            Some(R::IdentificationFailed),
        ),
        (
            "opt out while identifying",
            Arrive::Anonymous,
            &[OptOut],
            S::Transferred,
            Some(R::OptOut),
        ),
        (
            "opt out while verifying",
            Arrive::Ani(MOBILE),
            &[OptOut],
            S::Transferred,
            Some(R::OptOut),
        ),
        (
            "core down at start",
            Arrive::CoreDown,
            &[],
            S::Transferred,
            Some(R::CoreUnavailable),
        ),
        (
            "core down mid-call",
            Arrive::Anonymous,
            &[CoreDown],
            S::Transferred,
            Some(R::CoreUnavailable),
        ),
        (
            "core down when a keyed identifier is looked up",
            Arrive::Anonymous,
            &[Key("2222"), KeyCoreDown],
            S::Transferred,
            Some(R::CoreUnavailable),
        ),
        // the core is up and says the member is gone: not an outage the IVR should announce
        (
            "the member removed from the core mid-call",
            Arrive::Ani(MOBILE),
            &[Key("03121984"), MemberGone],
            S::Transferred,
            Some(R::IdentificationFailed),
        ),
    ];
    for (name, a, script, status, reason) in cases {
        let (steps, events, call, _) = run(p(), *a, script);
        let s = last(&steps);
        assert_eq!((s.status, s.reason), (*status, *reason), "{name}");
        // none of these endings is a verdict on the member
        assert_eq!(call.verified, None, "{name}");
        if script.iter().any(|d| matches!(d, MemberGone)) {
            assert!(
                events.iter().any(|e| e.detail == "member_not_enrolled"),
                "{name}: {events:?}"
            );
        }
    }
    // the identifier step counts down and says why the last try failed
    let (steps, _, _, _) = run(p(), Arrive::Anonymous, &[Key("2222")]);
    assert_eq!(steps[0].field, Some(Field::Identifier));
    assert_eq!(steps[0].prompt.as_deref(), Some("enter_member_number"));
    assert_eq!(
        (steps[0].attempts_left, steps[1].attempts_left),
        (Some(3), Some(2))
    );
    assert_eq!(steps[1].error.as_deref(), Some("not_found"));
}

#[test]
fn identify_attempts_come_from_the_profile_and_identifiers_can_be_off() {
    let p = Profile {
        identify_attempts: 1,
        ..Profile::default()
    };
    let (steps, _, _, _) = run(p, Arrive::Anonymous, &[Key("2222")]);
    assert_eq!(end(last(&steps)).1, Some(R::IdentificationFailed));

    let mut p = Profile::default();
    p.identifiers.clear();
    let (steps, _, _, _) = run(p, Arrive::Anonymous, &[]);
    assert_eq!(end(&steps[0]).1, Some(R::NoIdentifier));

    let p = Profile {
        identify_by_ani: false,
        ..Profile::default()
    };
    let (steps, _, _, _) = run(p, Arrive::Ani(MOBILE), &[]);
    assert_eq!(steps[0].status, S::Identifying, "ANI identification off");
}

#[test]
fn a_shared_number_asks_for_an_identifier_and_keeps_the_trust_it_earns() {
    // several members share OTHER: the caller keys a member number; OTHER is not the
    // member's verified number, so the trust is unknown_number.
    let (steps, events, _, _) = run(Profile::default(), Arrive::Shared, &[Key("1001")]);
    assert_eq!(steps[0].status, S::Identifying);
    assert_eq!(steps[0].member_id, None);
    assert_eq!(steps[1].member_id.as_deref(), Some("1001"));
    assert_eq!(steps[1].trust, Some(Trust::UnknownNumber));
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::CallIdentified && e.detail.contains("keyed"))
    );
    // keyed from the member's verified mobile: known_number
    let m = member();
    assert_eq!(trust_for(Some(MOBILE), &m), Trust::KnownNumber);
    assert_eq!(trust_for(Some(OTHER), &m), Trust::UnknownNumber);
    assert_eq!(trust_for(None, &m), Trust::UnknownNumber);
    let mut withdrawn = m.clone();
    withdrawn.withdrawn_phones = vec![MOBILE.into()];
    assert_eq!(trust_for(Some(MOBILE), &withdrawn), Trust::UnknownNumber);
}

#[test]
fn anonymous_callers_are_asked_for_an_identifier() {
    let (steps, _, call, _) = run(Profile::default(), Arrive::Anonymous, &[]);
    assert_eq!(steps[0].field, Some(Field::Identifier));
    assert_eq!(call.ani, None);
    assert_eq!(steps[0].trust, None);
}

#[test]
fn pin_steps() {
    const CHANGE: Verdict = Verdict::ChangePin(ChangeReason::Forced(ForceChangeScenario::Aged));
    const ACTIVATE: Verdict = Verdict::Activate(ActivationScenario::PinIsSsnLast4);
    let change = CHANGE;
    let cases: &[Case] = &[
        (
            "right PIN",
            &[PinRight],
            (S::Authenticated, None, Some(L::Pin)),
        ),
        (
            "wrong then right",
            &[PinWrong(4), PinRight],
            (S::Authenticated, None, Some(L::Pin)),
        ),
        (
            "three wrong in this call: the step fails",
            &[PinWrong(4), PinWrong(3), PinWrong(2)],
            (S::Transferred, Some(R::VerificationFailed), None),
        ),
        (
            "the wrong PIN that locks",
            &[PinWrong(0)],
            (S::Transferred, Some(R::Locked), None),
        ),
        (
            "already locked",
            &[PinLocked],
            (S::Transferred, Some(R::Locked), None),
        ),
        (
            "forced change",
            &[PinRightThen(CHANGE), NewPin(None), Confirm(None)],
            (S::Authenticated, None, Some(L::Pin)),
        ),
        (
            "forced change: refused, mismatched, then good",
            &[
                PinRightThen(CHANGE),
                NewPin(Some(Rejection::CommonPin)),
                NewPin(None),
                Confirm(None),
            ],
            (S::Authenticated, None, Some(L::Pin)),
        ),
        (
            "forced change fails after three refusals",
            &[
                PinRightThen(CHANGE),
                NewPin(Some(Rejection::Sequence)),
                NewPin(None),
                Confirm(Some(Rejection::ConfirmMismatch)),
                NewPin(Some(Rejection::CommonPin)),
            ],
            (S::Transferred, Some(R::PinChangeFailed), None),
        ),
        (
            "forced change: no input at the new PIN, then at its confirmation, then good",
            &[
                PinRightThen(CHANGE),
                NoInput,
                NewPin(None),
                NoInput,
                NewPin(None),
                Confirm(None),
            ],
            (S::Authenticated, None, Some(L::Pin)),
        ),
        (
            // three losses use no try: after them, and two refusals, the third try succeeds
            "forced change: the new PIN lost to a key rotation is asked again, no try used",
            &[
                PinRightThen(CHANGE),
                NewPin(None),
                NewPinLost,
                NewPin(None),
                NewPinLost,
                NewPin(None),
                NewPinLost,
                NewPin(Some(Rejection::Sequence)),
                NewPin(Some(Rejection::CommonPin)),
                NewPin(None),
                Confirm(None),
            ],
            (S::Authenticated, None, Some(L::Pin)),
        ),
        (
            "forced change: no input three times",
            &[PinRightThen(CHANGE), NoInput, NoInput, NoInput],
            (S::Transferred, Some(R::PinChangeFailed), None),
        ),
        (
            "forced change: no input at each confirmation",
            &[
                PinRightThen(CHANGE),
                NewPin(None),
                NoInput,
                NewPin(None),
                NoInput,
                NewPin(None),
                NoInput,
            ],
            (S::Transferred, Some(R::PinChangeFailed), None),
        ),
        (
            "activation after a correct placeholder PIN",
            &[
                PinRightThen(ACTIVATE),
                Key("03121984"),
                Key("6789"),
                NewPin(None),
                Confirm(None),
            ],
            (S::Authenticated, None, Some(L::Pin)),
        ),
        (
            "activation checks failed",
            &[PinRightThen(ACTIVATE), Key("03121984"), Key("0000")],
            (S::Transferred, Some(R::ActivationFailed), None),
        ),
        (
            "the member removed from the core while choosing a new PIN",
            &[PinRightThen(CHANGE), NewPin(None), MemberGone],
            (S::Transferred, Some(R::IdentificationFailed), None),
        ),
    ];
    for (name, script, want) in cases {
        let (steps, _, _, _) = run(pin_profile(), Arrive::Ani(MOBILE), script);
        assert_eq!(steps[0].field, Some(Field::Pin), "{name}");
        assert_eq!(end(last(&steps)), *want, "{name}");
    }
    // the STEP walks through the statuses and fields of a change
    let (steps, events, _, _) = run(
        pin_profile(),
        Arrive::Ani(MOBILE),
        &[PinRightThen(change), NewPin(Some(Rejection::CommonPin))],
    );
    assert_eq!(steps[1].status, S::ChangingPin);
    assert_eq!(steps[1].field, Some(Field::NewPin));
    assert_eq!(steps[2].error.as_deref(), Some("common_pin"));
    assert_eq!(steps[2].attempts_left, Some(2));
    // the audit says why, by the scenario's name
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::PinChangeStarted && e.detail == "aged"),
        "{events:?}"
    );
    // no input at the confirmation: back to a new PIN, one try used, said as no_input
    let (steps, events, _, _) = run(
        pin_profile(),
        Arrive::Ani(MOBILE),
        &[PinRightThen(change), NewPin(None), NoInput],
    );
    let s = last(&steps);
    assert_eq!((s.field, s.attempts_left), (Some(Field::NewPin), Some(2)));
    assert_eq!(s.error.as_deref(), Some("no_input"));
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::PinRefused && e.detail == "new pin: no_input")
    );
    // attempts_left on the PIN step follows the member's tries left when fewer
    let (steps, _, _, _) = run(pin_profile(), Arrive::Ani(MOBILE), &[PinWrong(1)]);
    assert_eq!(steps[0].attempts_left, Some(3));
    assert_eq!(steps[1].attempts_left, Some(1));
    assert_eq!(steps[1].error.as_deref(), Some("wrong_pin"));
}

#[test]
fn a_member_without_a_pin_goes_through_activation() {
    let (steps, events, call, _) = run(
        pin_profile(),
        Arrive::AniNoPin(MOBILE),
        &[Key("03121984"), Key("6789"), NewPin(None), Confirm(None)],
    );
    assert_eq!(steps[0].status, S::Activating);
    assert_eq!(steps[0].question, Some(Question::Dob));
    assert_eq!(steps[2].field, Some(Field::NewPin));
    assert_eq!(steps[3].field, Some(Field::ConfirmPin));
    assert_eq!(steps[3].status, S::Activating);
    // proved by activation's questions, not by a PIN
    assert_eq!(
        end(last(&steps)),
        (S::Authenticated, None, Some(L::Questions))
    );
    assert!(call.member.unwrap().has_pin);
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::ActivationStarted));
    assert!(kinds.contains(&EventKind::PinSet));

    // activation switched off: the PIN method cannot pass, and nothing else is listed
    let mut p = pin_profile();
    p.activation.enabled = false;
    let (steps, _, _, _) = run(p, Arrive::AniNoPin(MOBILE), &[]);
    assert_eq!(end(&steps[0]).1, Some(R::VerificationFailed));
}

/// A question answered right during activation is never asked again, and each fact counts
/// once: activation's answers back the PIN method they stand in for (one of them), and only
/// the rest may count for the walk's own questions. Member 1001: dob 03121984, zip 55401,
/// SSN last 4 6789.
#[test]
fn activation_answers_are_not_asked_again_and_count_once() {
    use Method::{Dob, Pin, SsnLast4, Zip};
    type FactCase = (
        &'static str,
        (&'static [Method], u32),
        (&'static [Method], u32),
        &'static [Do],
        // the questions asked, in order
        &'static [Question],
        End,
        &'static [&'static str],
    );
    let cases: &[FactCase] = &[
        (
            "DESIGN.md's profile: dob and ssn in activation, then dob counts without asking",
            (&[Pin, Dob, Zip], 2),
            (&[Dob, SsnLast4], 2),
            &[Key("03121984"), Key("6789"), NewPin(None), Confirm(None)],
            &[Question::Dob, Question::SsnLast4],
            (S::Authenticated, None, Some(L::Questions)),
            &["activation", "question:dob"],
        ),
        (
            "activation proved only zip: it backs the PIN, and zip cannot count again",
            (&[Pin, Zip], 2),
            (&[Zip], 1),
            &[Key("55401"), NewPin(None), Confirm(None)],
            &[Question::Zip],
            (S::Transferred, Some(R::VerificationFailed), None),
            &["activation"],
        ),
        (
            "zip counted once, the walk asks what is left",
            (&[Pin, Zip, Dob], 2),
            (&[Zip], 1),
            &[Key("55401"), NewPin(None), Confirm(None), Key("03121984")],
            &[Question::Zip, Question::Dob],
            (S::Authenticated, None, Some(L::Questions)),
            &["activation", "question:dob"],
        ),
        (
            "activation proved dob and zip: one backs the PIN, dob counts, zip was counted there",
            (&[Pin, Dob, Zip, SsnLast4], 3),
            (&[Dob, Zip], 2),
            &[
                Key("03121984"),
                Key("55401"),
                NewPin(None),
                Confirm(None),
                Key("6789"),
            ],
            &[Question::Dob, Question::Zip, Question::SsnLast4],
            (S::Authenticated, None, Some(L::Questions)),
            &["activation", "question:dob", "question:ssn_last4"],
        ),
        (
            "dob answered before the PIN is not asked again in activation; ssn is new",
            (&[Dob, Pin], 2),
            (&[Dob, SsnLast4], 2),
            &[Key("03121984"), Key("6789"), NewPin(None), Confirm(None)],
            &[Question::Dob, Question::SsnLast4],
            (S::Authenticated, None, Some(L::Questions)),
            &["question:dob", "activation"],
        ),
        (
            "activation whose only check was answered before proves nothing new",
            (&[Dob, Pin], 2),
            (&[Dob], 1),
            &[Key("03121984"), NewPin(None), Confirm(None)],
            &[Question::Dob],
            (S::Transferred, Some(R::VerificationFailed), None),
            &["question:dob"],
        ),
    ];
    for (name, (methods, min), (checks, need), script, asked, want, passed) in cases {
        let mut p = Profile::default();
        p.ivr.unknown_number = ProfileStep {
            methods: methods.to_vec(),
            min_correct: *min,
            attempts: 1,
        };
        p.activation.methods = checks.to_vec();
        p.activation.min_correct = *need;
        let (steps, events, call, _) = run(p, Arrive::AniNoPin(OTHER), script);
        assert_eq!(end(last(&steps)), *want, "{name}");
        let questions: Vec<Question> = steps.iter().filter_map(|s| s.question).collect();
        assert_eq!(questions, *asked, "{name}: the questions asked");
        assert_eq!(call.methods_passed, *passed, "{name}: methods passed");
        assert!(
            events.iter().any(|e| e.kind == EventKind::PinSet),
            "{name}: activation set the PIN either way"
        );
    }
}

/// A right PIN that must be replaced (it is the SSN's last 4): the PIN itself counts, and
/// activation's answers need not back it, so each may count for the walk's own questions.
#[test]
fn activation_after_a_right_pin_counts_the_pin_and_every_check() {
    use Method::{Dob, Pin, SsnLast4, Zip};
    const ACTIVATE: Verdict = Verdict::Activate(ActivationScenario::PinIsSsnLast4);
    let mut p = Profile::default();
    p.ivr.unknown_number = ProfileStep {
        methods: vec![Pin, Dob, Zip],
        min_correct: 3,
        attempts: 1,
    };
    p.activation.methods = vec![Dob, SsnLast4];
    p.activation.min_correct = 2;
    let script = [
        PinRightThen(ACTIVATE),
        Key("03121984"),
        Key("6789"),
        NewPin(None),
        Confirm(None),
        Key("55401"),
    ];
    let (steps, _, call, _) = run(p, Arrive::Ani(OTHER), &script);
    assert_eq!(end(last(&steps)), (S::Authenticated, None, Some(L::Pin)));
    let questions: Vec<Question> = steps.iter().filter_map(|s| s.question).collect();
    assert_eq!(
        questions,
        [Question::Dob, Question::SsnLast4, Question::Zip],
        "dob, proved in activation, is not asked again"
    );
    assert_eq!(call.methods_passed, ["pin", "question:dob", "question:zip"]);
}

#[test]
fn wrong_answers_count_per_member_and_lock() {
    // the member already has 3 wrong answers from earlier calls; the limit is 4
    let (steps, events, _, counter) = run(
        Profile::default(),
        Arrive::Ani(MOBILE),
        &[KeyWithWrong("01011990", 3)],
    );
    assert_eq!(end(last(&steps)), (S::Transferred, Some(R::Locked), None));
    assert_eq!(counter.unwrap().wrong, 4);
    assert!(events.iter().any(|e| e.kind == EventKind::MemberLocked));
    // a locked member's answers are not even compared
    let locked = Counter {
        wrong: 4,
        last_wrong_at: Some(now().timestamp()),
        locked_at: Some(now().timestamp()),
    };
    let p = policy();
    let r = rules(&p);
    let m = member();
    let t = arrive(Arrive::Ani(MOBILE), Profile::default(), &m, &r);
    let t = advance(
        &t.call,
        Input::Answer {
            digits: "03121984",
            member: &m,
            counter: locked,
        },
        Some(&m),
        &r,
    );
    assert_eq!(end(&step_view(&t.call, &r)).1, Some(R::Locked));
    assert!(t.answer_counter.is_none(), "nothing counted while locked");
}

/// The step that puts a lock on says which run did (`callvault_members_locked_total`'s
/// `by`); a step short of the limit, or one refused because the member was locked
/// already, puts none on.
#[test]
fn the_step_that_locks_a_member_says_by_which_run() {
    let p = policy();
    let r = rules(&p);
    let m = member();
    let asked = arrive(Arrive::Ani(MOBILE), Profile::default(), &m, &r);
    let answer = |wrong_before: u32| {
        let input = Input::Answer {
            digits: "01011990",
            member: &m,
            counter: counter(wrong_before),
        };
        advance(&asked.call, input, Some(&m), &r)
    };
    let pin_asked = arrive(Arrive::Ani(MOBILE), pin_profile(), &m, &r);
    let pin = |result: PinResult| advance(&pin_asked.call, Input::Pin(result), Some(&m), &r);
    let cases: [(&str, Transition, Option<Lock>); 5] = [
        (
            "the answer that reaches the limit",
            answer(3),
            Some(Lock::Answers),
        ),
        ("an answer short of it", answer(2), None),
        (
            "the PIN that reaches the limit",
            pin(PinResult::Wrong { tries_left: 0 }),
            Some(Lock::Pins),
        ),
        (
            "a PIN short of it",
            pin(PinResult::Wrong { tries_left: 1 }),
            None,
        ),
        (
            "a PIN of a member locked already",
            pin(PinResult::Locked),
            None,
        ),
    ];
    for (what, t, want) in cases {
        assert_eq!(t.locked, want, "{what}");
        let event = t.events.iter().any(|e| e.kind == EventKind::MemberLocked);
        assert_eq!(event, want.is_some(), "{what}: its member_locked event");
    }
    assert_eq!(
        (Lock::Pins.as_str(), Lock::Answers.as_str()),
        ("pins", "answers")
    );
}

/// A caller ID the carrier's STIR/SHAKEN check failed finds its member but vouches for no
/// one: the caller proves what `unknown_number` asks, as from any other number. One that
/// passed, or came unsigned, is trusted as before; so is an agent's naming on such a call.
#[test]
fn a_caller_id_that_failed_its_carrier_s_check_gives_no_known_number_trust() {
    let p = policy();
    let r = rules(&p);
    let m = member();
    let cases = [
        (None, Trust::KnownNumber),
        (Some(CallerIdCheck::Passed), Trust::KnownNumber),
        (Some(CallerIdCheck::NoValidation), Trust::KnownNumber),
        (Some(CallerIdCheck::Failed), Trust::UnknownNumber),
    ];
    let found = Found::One {
        member: &m,
        has_pin: true,
    };
    for (check, trust) in cases {
        let by_ani = from_mobile(check, found, &r);
        assert_eq!(by_ani.call.trust, Some(trust), "{check:?}");
        assert_eq!(
            by_ani.call.member.as_ref().map(|c| c.member_id.as_str()),
            Some("1001"),
            "{check:?}: identified all the same"
        );
        let said = &by_ani.events[0].detail;
        assert_eq!(
            said.contains("verstat failed"),
            check == Some(CallerIdCheck::Failed),
            "{said}"
        );
        // keyed in after an anonymous-looking start, and named by an agent
        let unknown = from_mobile(check, Found::NoneOrMany, &r).call;
        let keyed = advance(&unknown, Input::Identifier(found), None, &r);
        assert_eq!(keyed.call.trust, Some(trust), "keyed, {check:?}");
        let mut handed_over = unknown;
        handed_over.phase = Phase::Done {
            ending: Ending::Transfer,
            reason: Some(Reason::IdentificationFailed),
            level: None,
        };
        let named = agent::name_member(&handed_over, &m, true, now())
            .unwrap()
            .unwrap();
        assert_eq!(named.call.trust, Some(trust), "named, {check:?}");
    }
}

#[test]
fn questions_the_record_cannot_answer_are_skipped() {
    let p = policy();
    let r = rules(&p);
    let mut m = member();
    m.dob = None;
    let found = Found::One {
        member: &m,
        has_pin: true,
    };
    let t = from_mobile(None, found, &r);
    let s = step_view(&t.call, &r);
    assert_eq!(s.question, Some(Question::Zip), "dob skipped");
    assert_eq!(t.call.methods_failed, vec!["question:dob".to_string()]);
}

#[test]
fn a_finished_call_ignores_further_input_and_events_never_hold_digits() {
    let (steps, events, call, _) = run(
        Profile::default(),
        Arrive::Ani(MOBILE),
        &[Key("03121984"), Key("55401")],
    );
    let p = policy();
    let r = rules(&p);
    let t = advance(&call, Input::NoInput, None, &r);
    assert_eq!(step_view(&t.call, &r), {
        let mut s = last(&steps).clone();
        s.error = None;
        s
    });
    for e in &events {
        for secret in ["03121984", "55401", "6789", "1984"] {
            assert!(!e.detail.contains(secret), "{e:?}");
        }
    }
}

#[test]
fn step_answers_keep_a_stable_key_set() {
    let (steps, _, _, _) = run(
        Profile::default(),
        Arrive::Anonymous,
        &[Key("1001"), OptOut],
    );
    let keys = |s: &StepView| -> Vec<String> {
        serde_json::to_value(s)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let first = keys(&steps[0]);
    assert_eq!(first.len(), 17);
    for s in &steps {
        assert_eq!(keys(s), first);
        assert!(serde_json::to_string(s).unwrap().len() < 2048);
    }
}

#[test]
fn keypad_answers_match_robustly() {
    let m = member();
    let cases: &[(Question, &str, i64, Option<bool>)] = &[
        (Question::Dob, "03121984", 0, Some(true)),
        (Question::Dob, "12031984", 0, Some(false)),
        (Question::Dob, "0312198", 0, Some(false)),
        (Question::Dob, "13451984", 0, Some(false)),
        // eight digits and nothing else: a ninth (a year keyed as 01984) or a separator
        // is not read leniently into the same date
        (Question::Dob, "031201984", 0, Some(false)),
        (Question::Dob, "3/12/1984", 0, Some(false)),
        (Question::Dob, "0312198*", 0, Some(false)),
        (Question::Dob, " 3121984", 0, Some(false)),
        (Question::Dob, "+3121984", 0, Some(false)),
        // six digits, as many callers key a birth date: MMDDYY
        (Question::Dob, "031284", 0, Some(true)),
        (Question::Dob, "031285", 0, Some(false)),
        (Question::Dob, "031219", 0, Some(false)),
        (Question::Dob, "120384", 0, Some(false)),
        (Question::Dob, "31284", 0, Some(false)),
        (Question::Dob, "3/1284", 0, Some(false)),
        (Question::Dob, "+31284", 0, Some(false)),
        (Question::Dob, "0312984", 0, Some(false)),
        (Question::Zip, "55401", 0, Some(true)),
        (Question::Zip, "554011234", 0, Some(false)),
        (Question::SsnLast4, "6789", 0, Some(true)),
        (Question::SsnLast4, "678", 0, Some(false)),
        // savings $1,234.56
        (Question::SavingsBalance, "123456", 0, Some(true)),
        (Question::SavingsBalance, "1234*56", 0, Some(true)),
        (Question::SavingsBalance, "1234*5", 0, Some(false)),
        // one digit after the star is tens of cents: $1,234.50, within 6 cents
        (Question::SavingsBalance, "1234*5", 6, Some(true)),
        (Question::SavingsBalance, "1234", 0, Some(true)),
        (Question::SavingsBalance, "1235", 0, Some(true)),
        (Question::SavingsBalance, "1236", 0, Some(false)),
        (Question::SavingsBalance, "1233", 0, Some(false)),
        (Question::SavingsBalance, "1241", 500, Some(false)),
        (Question::SavingsBalance, "1239", 500, Some(true)),
        (Question::SavingsBalance, "123450", 100, Some(true)),
        (Question::SavingsBalance, "12*3*4", 0, Some(false)),
        (Question::SavingsBalance, "", 0, Some(false)),
        // last transaction: a $45.00 withdrawal
        (Question::LastTxnAmount, "45", 0, Some(true)),
        (Question::LastTxnAmount, "4500", 0, Some(true)),
        (Question::LastTxnAmount, "45*0", 0, Some(true)),
        (Question::LastTxnAmount, "46", 0, Some(false)),
        // keypad digits only, at most 12 of them: no sign, no padding past the IVR's bound
        (Question::LastTxnAmount, "+45", 0, Some(false)),
        (Question::LastTxnAmount, "+45*00", 0, Some(false)),
        (Question::LastTxnAmount, "000000000045", 0, Some(true)),
        (Question::LastTxnAmount, "0000000000045", 0, Some(false)),
        (Question::LastTxnDate, "11202026", 0, Some(true)),
        (Question::LastTxnDate, "11212026", 0, Some(false)),
        (Question::LastTxnDate, "112026", 0, Some(true)),
        (Question::LastTxnDate, "112126", 0, Some(false)),
        (Question::PlaceOfBirth, "1", 0, Some(false)),
    ];
    for (q, digits, tol, want) in cases {
        assert_eq!(
            answer::matches(*q, digits, &m, *tol),
            *want,
            "{q:?} {digits:?} tol {tol}"
        );
    }
    // MMDDYY across centuries: the year's last two digits, zero-padded
    for (date, six, eight) in [
        ((1925, 7, 4), "070425", "07041925"),
        ((2000, 2, 29), "022900", "02292000"),
        ((2005, 1, 9), "010905", "01092005"),
    ] {
        let d = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
        assert!(answer::date_matches(six, d), "{six}");
        assert!(answer::date_matches(eight, d), "{eight}");
        assert!(!answer::date_matches(&six[..5], d), "{six}");
    }
    // eight characters that are not eight digits are no date, though chrono's `%m%d%Y`
    // alone reads each (a one-digit month, a signed or short year)
    for keyed in ["3 121984", "031+1984", "0312-984", "0312+984"] {
        assert_eq!(answer::keyed_date(keyed), None, "{keyed:?}");
    }
    assert_eq!(
        answer::keyed_date("03121984"),
        NaiveDate::from_ymd_opt(1984, 3, 12)
    );
    let empty = Member::default();
    assert_eq!(answer::matches(Question::Dob, "03121984", &empty, 0), None);
    assert_eq!(
        answer::expected_text(Question::SavingsBalance, &m).as_deref(),
        Some("$1,234.56")
    );
    // amounts as an agent reads them out, thousands grouped
    for (cents, shown) in [
        (5, "$0.05"),
        (99_999, "$999.99"),
        (100_000, "$1,000.00"),
        (-123_456_789, "-$1,234,567.89"),
        (10_000_000_000, "$100,000,000.00"),
        (i64::MIN, "-$92,233,720,368,547,758.08"),
    ] {
        let rich = Member {
            savings_balance_cents: Some(cents),
            ..member()
        };
        assert_eq!(
            answer::expected_text(Question::SavingsBalance, &rich).as_deref(),
            Some(shown),
            "{cents}"
        );
    }
    assert_eq!(
        answer::expected_text(Question::Dob, &m).as_deref(),
        Some("March 12, 1984")
    );
    // what the agent asks, question by question (a profile's agent_texts may say it
    // otherwise)
    for (q, words) in [
        (Question::Dob, "birth date"),
        (Question::Zip, "ZIP code"),
        (Question::SsnLast4, "Social Security"),
        (
            Question::LastTxnAmount,
            "How much was your last transaction",
        ),
        (Question::LastTxnDate, "When was your last transaction"),
        (Question::SavingsBalance, "savings"),
        (Question::PlaceOfBirth, "born"),
    ] {
        let text = answer::question_text(q);
        assert!(text.contains(words) && text.ends_with('?'), "{q:?}: {text}");
    }
    let broke = Member {
        savings_balance_cents: Some(0),
        ..member()
    };
    assert_eq!(
        answer::expected_text(Question::SavingsBalance, &broke).as_deref(),
        Some("$0.00")
    );
    // the agent reads a withdrawal with its sign
    assert_eq!(
        answer::expected_text(Question::LastTxnAmount, &m).as_deref(),
        Some("-$45.00")
    );
}

/// A whole taxpayer number a core holds is its "unknown" when no one is issued it: its
/// last four then are not asked. An EIN's digits have no area, group or serial, and an
/// ITIN (area 9xx) is issued.
#[test]
fn a_taxpayer_number_never_issued_is_a_placeholder() {
    // (as the core writes it, whether it is a placeholder)
    let cases: &[(&str, bool)] = &[
        ("212-34-5678", false),
        ("212345678", false),
        (" 212 34 5678 ", false),
        ("000-00-0000", true),
        ("000000000", true),
        ("999-99-9999", true),
        ("111111111", true),
        ("123-45-6789", true),
        ("123456789", true),
        ("000-12-3456", true),
        ("666-12-3456", true),
        ("665-12-3456", false),
        ("667-12-3456", false),
        ("212-00-3456", true),
        ("212-01-3456", false),
        ("212-34-0000", true),
        ("212-34-0001", false),
        ("078-05-1120", true),
        ("078-05-1121", false),
        ("219-09-9999", true),
        ("987-65-4320", true),
        ("987-65-4329", true),
        ("987-65-4330", false),
        // an ITIN
        ("912-70-1234", false),
        // an EIN: only nine of one digit and 123456789
        ("66-6123456", false),
        ("10-0012345", false),
        ("12-3450000", false),
        ("12-3456789", true),
        ("00-0000000", true),
        // ten characters, but not an EIN's shape: an SSN's rules
        ("666 123456", true),
        ("6661-23456", true),
        // not nine digits: last four, not a whole number
        ("6789", false),
        ("0000", false),
        ("12345678", false),
        ("1234567890", false),
        ("", false),
    ];
    for &(written, placeholder) in cases {
        assert_eq!(answer::placeholder_tin(written), placeholder, "{written:?}");
    }
}

/// What cores write for "unknown" is no fact of the member's: the question is not asked
/// (nor put on a checklist), so that a caller who keys 01011900, 00000 or 0000 proves
/// nothing, and a member whose record holds it is not failed for keying their own.
#[test]
fn a_core_s_placeholder_for_unknown_is_not_asked() {
    use Question::*;
    // (the question, the record's value for it, whether it is asked)
    let cases: &[(Question, &str, bool)] = &[
        (Dob, "1984-03-12", true),
        (Dob, "1900-01-01", false),
        (Dob, "1899-12-30", false),
        (Dob, "1753-01-01", false),
        (Dob, "9999-12-31", false),
        (Dob, "1901-01-01", true),
        (Dob, "2099-12-31", true),
        (LastTxnDate, "1900-01-01", false),
        (LastTxnDate, "2026-11-20", true),
        (Zip, "00000", false),
        (Zip, "99999", false),
        (Zip, "00501", true),
        (SsnLast4, "0000", false),
        (SsnLast4, "0001", true),
        (PlaceOfBirth, "UNKNOWN", false),
        (PlaceOfBirth, " N/A ", false),
        (PlaceOfBirth, "  ", false),
        (PlaceOfBirth, "Nashville", true),
    ];
    let p = policy();
    let r = rules(&p);
    for &(q, value, asked) in cases {
        let mut m = member();
        let date = || NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
        match q {
            Dob => m.dob = date(),
            LastTxnDate => m.last_txn_date = date(),
            Zip => m.zip = Some(value.into()),
            SsnLast4 => m.ssn_last4 = Some(value.into()),
            _ => m.place_of_birth = Some(value.into()),
        }
        assert_eq!(answer::answerable(q, &m), asked, "{q:?} {value}");
        let on_checklist = answer::expected_text(q, &m).is_some();
        assert_eq!(on_checklist, asked, "{q:?} {value}: checklist");
        // and `member show` names it
        let named = answer::placeholders(&m).contains(&q);
        assert_eq!(named, !asked, "{q:?} {value}: placeholders");
        if q.keypad() {
            let judged = answer::matches(q, "01011900", &m, 0).is_some();
            assert_eq!(judged, asked, "{q:?} {value}");
        }
    }
    // nor is a first name cores write for "unknown" read out in the IVR's greeting
    for (first_name, greeted) in [("FNU", None), ("nfn", None), ("Ada", Some("Ada"))] {
        let mut m = member();
        m.first_name = Some(first_name.into());
        let found = Found::One {
            member: &m,
            has_pin: true,
        };
        let t = from_mobile(None, found, &r);
        assert_eq!(step_view(&t.call, &r).first_name.as_deref(), greeted);
    }
    // a known number's walk skips a placeholder birth date, as a missing one
    let mut m = member();
    m.dob = NaiveDate::from_ymd_opt(1900, 1, 1);
    let found = Found::One {
        member: &m,
        has_pin: true,
    };
    let t = from_mobile(None, found, &r);
    assert_eq!(step_view(&t.call, &r).question, Some(Question::Zip));
}

#[test]
fn checklists_decide_as_soon_as_they_are_certain() {
    use Question::*;
    use checklist::{ChecklistState, TickError, Verdict as V};
    let p = Profile::default();
    let m = member();
    let known = ChecklistState::start(Trust::KnownNumber.checklist(&p), |q| {
        answer::answerable(q, &m)
    });
    assert_eq!(
        known.questions,
        vec![LastTxnAmount, PlaceOfBirth, SavingsBalance]
    );
    assert_eq!(known.required, 2);
    let cases: &[(&[(Question, bool)], V)] = &[
        (&[(LastTxnAmount, true)], V::Pending),
        (&[(LastTxnAmount, true), (PlaceOfBirth, true)], V::Verified),
        (
            &[(LastTxnAmount, false), (PlaceOfBirth, false)],
            V::NotVerified,
        ),
        (
            &[
                (LastTxnAmount, false),
                (PlaceOfBirth, true),
                (SavingsBalance, true),
            ],
            V::Verified,
        ),
        (
            &[
                (LastTxnAmount, true),
                (PlaceOfBirth, false),
                (SavingsBalance, false),
            ],
            V::NotVerified,
        ),
    ];
    for (ticks, want) in cases {
        let mut s = known.clone();
        for (q, c) in *ticks {
            s = s.tick(*q, *c).unwrap();
        }
        assert_eq!(s.verdict(), *want, "{ticks:?}");
    }
    let one = known.tick(LastTxnAmount, true).unwrap();
    assert_eq!(
        one.tick(LastTxnAmount, false),
        Err(TickError::AlreadyAnswered(LastTxnAmount))
    );
    let not_on = one.tick(Dob, true).unwrap_err();
    assert_eq!(
        not_on.to_string(),
        "dob is not on this call's checklist, which asks last_txn_amount, place_of_birth, savings_balance"
    );
    let done = one.tick(PlaceOfBirth, true).unwrap();
    assert_eq!(
        done.tick(SavingsBalance, true),
        Err(TickError::Decided(V::Verified, SavingsBalance))
    );
    let failed = one
        .tick(PlaceOfBirth, false)
        .and_then(|s| s.tick(SavingsBalance, false))
        .unwrap();
    assert_eq!(
        failed.tick(Dob, true).unwrap_err().to_string(),
        "the checklist already has its verdict (not_verified), so dob is not ticked"
    );
    for verdict in [V::Pending, V::Verified, V::NotVerified] {
        assert_eq!(
            serde_json::to_value(verdict).unwrap(),
            serde_json::json!(verdict.as_str())
        );
    }

    let unknown = ChecklistState::start(Trust::UnknownNumber.checklist(&p), |q| {
        answer::answerable(q, &m)
    });
    assert_eq!((unknown.questions.len(), unknown.required), (5, 3));
    // a record that cannot answer enough questions can never be verified this way
    let sparse = ChecklistState::start(Trust::UnknownNumber.checklist(&p), |q| q == Dob);
    assert_eq!(sparse.verdict(), V::NotVerified);
    // app intent: nothing to ask
    let app = ChecklistState::start(Trust::AppIntent.checklist(&p), |_| true);
    assert_eq!(app.verdict(), V::Verified);
}

#[test]
fn prompts_come_from_the_profile() {
    let mut p = Profile::default();
    p.prompts
        .insert("identifier".into(), "say_card_number".into());
    assert_eq!(p.prompt("identifier"), "say_card_number");
    assert_eq!(p.prompt("dob"), "enter_dob_mmddyyyy");
    let (steps, _, _, _) = run(p, Arrive::Anonymous, &[]);
    assert_eq!(steps[0].prompt.as_deref(), Some("say_card_number"));
}

#[test]
fn otp_steps_send_then_ask_for_the_code() {
    let mut profile = Profile::default();
    profile.ivr.known_number = ProfileStep {
        methods: vec![Method::Otp, Method::Dob],
        min_correct: 1,
        attempts: 3,
    };
    let approved = CodeOutcome::Approved;
    let wrong = CodeOutcome::Wrong { checks_left: 2 };
    let cases: &[Case] = &[
        (
            "sent, right code",
            &[Sent(None), Code(approved)],
            (S::Authenticated, None, Some(L::Otp)),
        ),
        (
            "a wrong code, then the right one",
            &[Sent(None), Code(wrong), Code(approved)],
            (S::Authenticated, None, Some(L::Otp)),
        ),
        (
            "the last wrong code moves on to the next method",
            &[
                Sent(None),
                Code(CodeOutcome::Failed("wrong_code")),
                Key("03121984"),
            ],
            (S::Authenticated, None, Some(L::Questions)),
        ),
        (
            "an expired code moves on too",
            &[
                Sent(None),
                Code(CodeOutcome::Failed("code_expired")),
                Key("01011990"),
            ],
            (S::Verifying, None, None),
        ),
        (
            "nowhere to send: the next method",
            &[Sent(Some("no_destination")), Key("03121984")],
            (S::Authenticated, None, Some(L::Questions)),
        ),
    ];
    for (name, script, want) in cases {
        let (steps, events, call, _) = run(profile.clone(), Arrive::Ani(MOBILE), script);
        assert_eq!(end(last(&steps)), *want, "{name}");
        assert_eq!(call.otp, None, "{name}: no code left pending at the end");
        for e in &events {
            assert!(!e.detail.contains("ch_test"), "{name}: {e:?}");
        }
    }

    // before the send the IVR is asked nothing; after it, a six-digit code
    let p = policy();
    let r = rules(&p);
    let m = member();
    let t = arrive(Arrive::Ani(MOBILE), profile.clone(), &m, &r);
    assert_eq!(expects(&t.call), Expect::SendCode);
    // an agent's screen pop of a call whose send was cut short: verifying, nothing to key
    let v = step_view(&t.call, &r);
    assert_eq!(
        (v.status, v.kind.as_str(), v.field),
        (Status::Verifying, "collect", None)
    );
    let sent = advance(
        &t.call,
        Input::CodeSent(Ok(OtpPending {
            challenge_id: "ch_test".into(),
            checks_left: 3,
        })),
        Some(&m),
        &r,
    );
    assert_eq!(expects(&sent.call), Expect::Code);
    let v = step_view(&sent.call, &r);
    assert_eq!(
        (
            v.field,
            v.prompt.as_deref(),
            v.min_digits,
            v.max_digits,
            v.attempts_left
        ),
        (
            Some(Field::Code),
            Some("enter_code_sent"),
            Some(6),
            Some(6),
            Some(3)
        )
    );
    let again = advance(&sent.call, Input::Code(wrong), Some(&m), &r);
    let v = step_view(&again.call, &r);
    assert_eq!(
        (v.field, v.attempts_left, v.error.as_deref()),
        (Some(Field::Code), Some(2), Some("wrong_code"))
    );
    let methods: Vec<&str> = again.events.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(methods, ["otp: wrong code"]);
}

#[test]
fn a_step_carries_at_most_64_characters_and_128_bytes_of_a_first_name() {
    let cases: &[(&str, String, String)] = &[
        ("plain", "Ada".into(), "Ada".into()),
        (
            "control characters dropped",
            "A\u{7}da\n".into(),
            "Ada".into(),
        ),
        ("64 characters", "a".repeat(100), "a".repeat(64)),
        (
            "128 bytes, whole characters",
            "é".repeat(100),
            "é".repeat(64),
        ),
        (
            "four-byte characters",
            "\u{1F600}".repeat(50),
            "\u{1F600}".repeat(32),
        ),
        (
            "a character never cut",
            format!("{}\u{e9}\u{e9}\u{1F600}", "\u{1F600}".repeat(31)),
            format!("{}\u{e9}\u{e9}", "\u{1F600}".repeat(31)),
        ),
    ];
    for (name, given, want) in cases {
        assert_eq!(step_name(given), *want, "{name}");
    }
}

#[test]
fn steps_are_numbered_by_the_inputs_the_call_took() {
    // anonymous: identifier (wrong, then right), then the unknown-number walk
    let (steps, _, call, _) = run(
        Profile::default(),
        Arrive::Anonymous,
        &[Key("9999"), Key("1001"), Key("03121984"), OptOut],
    );
    let numbers: Vec<u64> = steps.iter().map(|s| s.step).collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5]);
    assert_eq!(call.inputs, 4);
    // a code sent between two inputs does not move the number
    let mut otp = Profile::default();
    otp.ivr.known_number = ProfileStep {
        methods: vec![Method::Otp, Method::Dob],
        min_correct: 1,
        attempts: 3,
    };
    let (steps, _, _, _) = run(
        otp,
        Arrive::Ani(MOBILE),
        &[Sent(None), Code(CodeOutcome::Approved)],
    );
    let numbers: Vec<u64> = steps.iter().map(|s| s.step).collect();
    assert_eq!(numbers, vec![1, 1, 2]);
}

#[test]
fn an_inputs_step_says_whether_to_take_it() {
    use Answering::*;
    // (step sent, inputs taken, what the input is)
    let cases: &[(Option<u64>, u64, Answering)] = &[
        (None, 0, Current),
        (None, 7, Current),
        (Some(1), 0, Current),
        (Some(4), 3, Current),
        // the input that answered STEP 3 sent again once the call is at STEP 4
        (Some(3), 3, Taken),
        // nothing was taken yet, so nothing can be sent again
        (
            Some(0),
            0,
            Other {
                sent: 0,
                current: 1,
            },
        ),
        (
            Some(2),
            0,
            Other {
                sent: 2,
                current: 1,
            },
        ),
        // two behind, or ahead
        (
            Some(2),
            3,
            Other {
                sent: 2,
                current: 4,
            },
        ),
        (
            Some(5),
            3,
            Other {
                sent: 5,
                current: 4,
            },
        ),
    ];
    for &(sent, inputs, want) in cases {
        assert_eq!(
            answering(sent, inputs),
            want,
            "step {sent:?}, inputs {inputs}"
        );
    }
}

/// Each keypad question tells the IVR how many digits to collect, in the IVR's walk and in
/// activation's: a date's eight, a ZIP's five, the SSN's last four, an amount's one to 12.
#[test]
fn each_keypad_question_asks_for_its_own_number_of_digits() {
    let cases: [(Method, Question, (u32, u32)); 6] = [
        // MMDDYYYY, or MMDDYY
        (Method::Dob, Question::Dob, (6, 8)),
        (Method::LastTxnDate, Question::LastTxnDate, (6, 8)),
        (Method::Zip, Question::Zip, (5, 5)),
        (Method::SsnLast4, Question::SsnLast4, (4, 4)),
        (Method::LastTxnAmount, Question::LastTxnAmount, (1, 12)),
        (Method::SavingsBalance, Question::SavingsBalance, (1, 12)),
    ];
    let p = policy();
    let r = rules(&p);
    let m = member();
    for (method, question, (min, max)) in cases {
        let mut profile = Profile::default();
        profile.ivr.known_number = ProfileStep {
            methods: vec![method],
            min_correct: 1,
            attempts: 2,
        };
        profile.activation.methods = vec![method];
        profile.activation.min_correct = 1;
        for (walk, arrival) in [
            ("ivr", Arrive::Ani(MOBILE)),
            ("activation", Arrive::AniNoPin(MOBILE)),
        ] {
            let t = arrive(arrival, profile.clone(), &m, &r);
            let v = step_view(&t.call, &r);
            assert_eq!(
                (v.field, v.question, v.min_digits, v.max_digits),
                (Some(Field::Question), Some(question), Some(min), Some(max)),
                "{walk}: {method:?}"
            );
        }
    }
}

/// The names `methods_passed` and the audit events give methods, as API.md spells them.
#[test]
fn methods_are_named_as_the_agent_screen_shows_them() {
    let cases = [
        (Method::Pin, "pin"),
        (Method::Otp, "otp"),
        (Method::Dob, "question:dob"),
        (Method::SsnLast4, "question:ssn_last4"),
        (Method::LastTxnAmount, "question:last_txn_amount"),
    ];
    for (method, want) in cases {
        assert_eq!(method_name(method), want, "{method:?}");
    }
}

#[test]
fn names_in_metrics_and_audit_details_are_the_api_s() {
    // as_str feeds metrics labels and audit details; the JSON answers use serde's names
    fn same<T: Serialize + Copy + std::fmt::Debug>(all: &[T], name: fn(T) -> &'static str) {
        for v in all {
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::Value::from(name(*v)),
                "{v:?}"
            );
        }
    }
    use Status::*;
    same(
        &[
            Identifying,
            Verifying,
            Activating,
            ChangingPin,
            Authenticated,
            Transferred,
        ],
        Status::as_str,
    );
    same(
        &[Trust::AppIntent, Trust::KnownNumber, Trust::UnknownNumber],
        Trust::as_str,
    );
    use Reason::*;
    same(
        &[
            IdentificationFailed,
            VerificationFailed,
            Locked,
            CoreUnavailable,
            OptOut,
            NoIdentifier,
            ActivationFailed,
            PinChangeFailed,
        ],
        Reason::as_str,
    );
}

/// An agent names the member on a call the IVR handed over without one; the trust is the
/// call's number's for that member. Refused while the IVR still has the call, and for a call
/// with another member; the same member again changes nothing.
#[test]
fn an_agent_names_the_member_of_a_call_the_ivr_handed_over_without_one() {
    use agent::{NamingError, name_member};
    let other = Member {
        member_id: "2002".into(),
        ..member()
    };
    let ada = member();
    let withdrawn = Member {
        withdrawn_phones: vec![MOBILE.into()],
        ..member()
    };
    let opted_out = || run(Profile::default(), Arrive::Anonymous, &[OptOut]).2;
    let with_ani = |ani: &str| Call {
        ani: Some(ani.into()),
        ..opted_out()
    };
    let not_found = run(
        Profile::default(),
        Arrive::Shared,
        &[Key("9"), Key("9"), Key("9")],
    )
    .2;
    let core_down = run(Profile::default(), Arrive::CoreDown, &[]).2;
    let at_ivr = run(Profile::default(), Arrive::Anonymous, &[]).2;
    let ivr_found = run(pin_profile(), Arrive::Ani(MOBILE), &[PinRight]).2;
    let named = name_member(&opted_out(), &member(), true, now())
        .unwrap()
        .unwrap()
        .call;
    type Named = Result<Option<Trust>, &'static str>;
    let cases: Vec<(&str, Call, &Member, Named)> = vec![
        (
            "no caller id, opted out",
            opted_out(),
            &ada,
            Ok(Some(Trust::UnknownNumber)),
        ),
        (
            "a shared number, identifiers not found",
            not_found,
            &ada,
            Ok(Some(Trust::UnknownNumber)),
        ),
        (
            "the core was down",
            core_down,
            &ada,
            Ok(Some(Trust::UnknownNumber)),
        ),
        // a profile that does not identify by caller id: the verified mobile still counts
        (
            "from their verified mobile",
            with_ani(MOBILE),
            &ada,
            Ok(Some(Trust::KnownNumber)),
        ),
        (
            "from another phone on file",
            with_ani(OTHER),
            &ada,
            Ok(Some(Trust::UnknownNumber)),
        ),
        (
            "from a mobile withdrawn as shared",
            with_ani(MOBILE),
            &withdrawn,
            Ok(Some(Trust::UnknownNumber)),
        ),
        ("still at the IVR", at_ivr, &ada, Err("at_ivr")),
        ("the IVR's member again", ivr_found.clone(), &ada, Ok(None)),
        (
            "another than the IVR's",
            ivr_found,
            &other,
            Err("by the IVR"),
        ),
        ("the agent's member again", named.clone(), &ada, Ok(None)),
        ("another than an agent's", named, &other, Err("by an agent")),
    ];
    for (name, call, m, want) in cases {
        let got = name_member(&call, m, false, now());
        match (got, want) {
            (Ok(Some(t)), Ok(Some(trust))) => {
                let cm = t.call.member.as_ref().unwrap();
                assert_eq!(cm.member_id, m.member_id, "{name}");
                assert!(!cm.has_pin, "{name}");
                assert_eq!(t.call.trust, Some(trust), "{name}");
                assert!(t.call.named_by_agent, "{name}");
                assert_eq!(t.call.version, call.version + 1, "{name}");
                assert_eq!(t.call.inputs, call.inputs, "{name}: not an IVR input");
                assert_eq!(t.call.phase, call.phase, "{name}: the IVR's ending stays");
                assert_eq!(t.call.verified, call.verified, "{name}: no verdict yet");
                assert_eq!(t.events.len(), 1, "{name}");
                assert_eq!(t.events[0].kind, EventKind::CallIdentified, "{name}");
                let detail = format!("by an agent; trust {}", trust.as_str());
                assert_eq!(t.events[0].detail, detail, "{name}");
            }
            (Ok(None), Ok(None)) => {}
            (Err(NamingError::AtIvr(id)), Err("at_ivr")) => assert_eq!(id, "c1", "{name}"),
            (Err(e @ NamingError::OtherMember { .. }), Err(by)) => {
                let text = e.to_string();
                assert!(
                    text.contains(by) && text.contains("\"1001\""),
                    "{name}: {text}"
                );
            }
            (got, want) => panic!("{name}: {got:?}, want {want:?}"),
        }
    }
}
