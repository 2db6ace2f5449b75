//! Properties of the dialog over generated calls: any profile (even one `config check`
//! would refuse), any set of facts on the member's record, any arrival, and any sequence of
//! the inputs the service can resolve. The tables above check chosen paths; these check that
//! no path, however odd, lets a caller through with less proof than the trust level asks,
//! leaves a call stuck, or puts keyed digits in an audit event or a STEP.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::profile::{Activation, IvrSteps, Step as ProfileStep};

const METHODS: [Method; 8] = [
    Method::Pin,
    Method::Otp,
    Method::Dob,
    Method::Zip,
    Method::SsnLast4,
    Method::LastTxnAmount,
    Method::LastTxnDate,
    Method::SavingsBalance,
];
const KEYPAD: [Method; 6] = [
    Method::Dob,
    Method::Zip,
    Method::SsnLast4,
    Method::LastTxnAmount,
    Method::LastTxnDate,
    Method::SavingsBalance,
];
/// Inputs a generated call may take before it must have ended (the longest legitimate
/// dialog here is well under 60: 3 identifier tries, 8 methods of 3 tries, activation,
/// 3 new PINs of 2 steps).
const MAX_INPUTS: usize = 200;

fn step(from: &'static [Method]) -> impl Strategy<Value = ProfileStep> {
    (
        proptest::sample::subsequence(from, 0..=from.len().min(5)).prop_shuffle(),
        0u32..8,
        1u32..=3,
    )
        .prop_map(|(methods, k, attempts)| {
            let offered = methods.len() as u32;
            ProfileStep {
                // mostly what config check allows (seldom nothing), sometimes one more than
                // the methods offer
                min_correct: match k {
                    0 => 0,
                    7 => offered + 1,
                    k => (k - 1) % offered.max(1) + offered.min(1),
                },
                methods,
                attempts,
            }
        })
}

fn profile() -> impl Strategy<Value = Profile> {
    (
        any::<bool>(),
        prop_oneof![4 => Just(true), 1 => Just(false)],
        1u32..=3,
        (step(&METHODS), step(&METHODS), step(&METHODS)),
        any::<bool>(),
        proptest::sample::subsequence(&KEYPAD[..], 0..=3).prop_shuffle(),
        0u32..=3,
    )
        .prop_map(
            |(by_ani, identifiers, tries, (app, known, unknown), act_on, act, act_min)| {
                let d = Profile::default();
                Profile {
                    identify_by_ani: by_ani,
                    identifiers: if identifiers {
                        d.identifiers.clone()
                    } else {
                        vec![]
                    },
                    identify_attempts: tries,
                    ivr: IvrSteps {
                        app_intent: app,
                        known_number: known,
                        unknown_number: unknown,
                    },
                    activation: Activation {
                        enabled: act_on,
                        min_correct: act_min % (act.len() as u32 + 1),
                        methods: act,
                        ..d.activation.clone()
                    },
                    ..d
                }
            },
        )
}

/// The member's record with some of its facts left out (bit i of `missing` drops fact i:
/// dob, zip, ssn_last4, last_txn_amount, last_txn_date, savings_balance, mobile phone).
fn member_without(missing: u8) -> Member {
    let mut m = member();
    let gone = |i: u8| missing & (1 << i) != 0;
    if gone(0) {
        m.dob = None;
    }
    if gone(1) {
        m.zip = None;
    }
    if gone(2) {
        m.ssn_last4 = None;
    }
    if gone(3) {
        m.last_txn_amount_cents = None;
    }
    if gone(4) {
        m.last_txn_date = None;
    }
    if gone(5) {
        m.savings_balance_cents = None;
    }
    if gone(6) {
        m.mobile_phone = None;
    }
    m
}

/// The right keypad answer from the record, as a caller keys it.
fn right_digits(q: Question, m: &Member) -> Option<String> {
    let cents = |c: i64| format!("{}*{:02}", c.unsigned_abs() / 100, c.unsigned_abs() % 100);
    match q {
        Question::Dob => m.dob.map(|d| d.format("%m%d%Y").to_string()),
        Question::LastTxnDate => m.last_txn_date.map(|d| d.format("%m%d%Y").to_string()),
        Question::Zip => m.zip.clone(),
        Question::SsnLast4 => m.ssn_last4.clone(),
        Question::LastTxnAmount => m.last_txn_amount_cents.map(cents),
        Question::SavingsBalance => m.savings_balance_cents.map(cents),
        Question::PlaceOfBirth => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Arrive {
    Intent,
    /// The member found by caller ID: their mobile (verified) or their other phone.
    Mobile,
    Other,
    NoneOrMany,
    NoCallerId,
    CoreDown,
}

/// The service's side of a generated call: the vault, the challenge, the member's
/// wrong-answer counter, and what the caller has proved.
struct Caller<'a> {
    m: &'a Member,
    has_pin: bool,
    r: &'a Rules<'a>,
    counter: Counter,
    pin_tries: u32,
    pin_locked: bool,
    checks_left: u32,
    identified: bool,
    /// Distinct facts proved: the questions answered right, `pin`, `otp`.
    proved: BTreeSet<&'static str>,
    /// Every digit string keyed as an answer.
    keyed: Vec<String>,
    events: Vec<DialogEvent>,
}

impl Caller<'_> {
    /// The input for what the call expects, picked by `c`; `None` once the call ended.
    fn input(&mut self, call: &Call, c: u8) -> Option<(Input<'_>, bool)> {
        let m = self.m;
        // one input in 32 hangs the call up or finds the core down
        if c % 32 == 31 && !is_done(call) {
            return Some((
                if c % 64 == 63 {
                    Input::OptOut
                } else {
                    Input::CoreUnavailable
                },
                true,
            ));
        }
        let pick = c % 8;
        let input = match expects(call) {
            Expect::Nothing => return None,
            Expect::Identifier => match pick {
                0..=3 => {
                    self.identified = true;
                    Input::Identifier(Found::One {
                        member: m,
                        has_pin: self.has_pin,
                    })
                }
                4..=6 => Input::Identifier(Found::NoneOrMany),
                _ => Input::NoInput,
            },
            Expect::Pin if self.pin_locked => Input::Pin(PinResult::Locked),
            Expect::Pin => match pick {
                0..=2 => {
                    self.proved.insert("pin");
                    self.pin_tries = 3;
                    Input::Pin(PinResult::Correct {
                        verdict: match c % 5 {
                            0 => Verdict::Activate(ActivationScenario::PinIsSsnLast4),
                            1 => {
                                Verdict::ChangePin(ChangeReason::Forced(ForceChangeScenario::Aged))
                            }
                            _ => Verdict::Proceed,
                        },
                        current: Some(vec![1, 2, 3]),
                    })
                }
                3..=5 => {
                    self.pin_tries -= 1;
                    self.pin_locked = self.pin_tries == 0;
                    Input::Pin(PinResult::Wrong {
                        tries_left: self.pin_tries,
                    })
                }
                6 => Input::Pin(PinResult::NoPin {
                    verdict: if c.is_multiple_of(3) {
                        Verdict::NoPin
                    } else {
                        Verdict::Activate(ActivationScenario::ALL[0])
                    },
                }),
                _ => Input::NoInput,
            },
            Expect::Question(q) => match pick {
                0..=5 => {
                    // right four times in six
                    let right = pick <= 3;
                    let digits = match right_digits(q, m) {
                        Some(d) if right => {
                            self.proved.insert(q.as_str());
                            d
                        }
                        _ => "1".to_string(),
                    };
                    self.keyed.push(digits);
                    let digits = self.keyed.last().map_or("", String::as_str);
                    Input::Answer {
                        digits,
                        member: m,
                        counter: self.counter,
                    }
                }
                _ => Input::NoInput,
            },
            Expect::NewPin(_) => match pick {
                0..=4 => Input::NewPin(Ok(vec![9, 9])),
                5..=6 => Input::NewPin(Err(Rejection::CommonPin)),
                _ => Input::NoInput,
            },
            Expect::ConfirmPin => match pick {
                0..=4 => Input::Confirm(Ok(())),
                5..=6 => Input::Confirm(Err(Rejection::ConfirmMismatch)),
                _ => Input::NoInput,
            },
            // the service's own step, not the IVR's
            Expect::SendCode => {
                let sent = if pick < 6 {
                    self.checks_left = 3;
                    Ok(OtpPending {
                        challenge_id: "ch_prop".into(),
                        checks_left: 3,
                    })
                } else {
                    Err("send_failed")
                };
                return Some((Input::CodeSent(sent), false));
            }
            Expect::Code => match pick {
                0..=2 => {
                    self.proved.insert("otp");
                    Input::Code(CodeOutcome::Approved)
                }
                3..=5 => {
                    self.checks_left = self.checks_left.saturating_sub(1);
                    if self.checks_left == 0 {
                        Input::Code(CodeOutcome::Failed("wrong_code"))
                    } else {
                        Input::Code(CodeOutcome::Wrong {
                            checks_left: self.checks_left,
                        })
                    }
                }
                6 => Input::Code(CodeOutcome::Failed("code_expired")),
                _ => Input::NoInput,
            },
        };
        Some((input, true))
    }
}

/// Drive a generated call to its end; returns it, failing the case on a broken property
/// along the way.
fn drive<'a>(
    profile: &Profile,
    m: &'a Member,
    has_pin: bool,
    r: &'a Rules<'a>,
    arrive: Arrive,
    choices: &[u8],
) -> Result<(Call, Caller<'a>), TestCaseError> {
    let ani = match arrive {
        Arrive::Mobile => Some(MOBILE.to_string()),
        Arrive::Other => Some(OTHER.to_string()),
        Arrive::NoneOrMany => Some("+15550009999".to_string()),
        _ => None,
    };
    let found = Found::One { member: m, has_pin };
    let arrival = match arrive {
        Arrive::Intent => Arrival::Intent { member: m, has_pin },
        // a withdrawn or absent mobile finds nobody
        Arrive::Mobile if m.mobile_phone.is_none() => Arrival::Ani(Found::NoneOrMany),
        Arrive::Mobile | Arrive::Other => Arrival::Ani(found),
        Arrive::NoneOrMany => Arrival::Ani(Found::NoneOrMany),
        Arrive::NoCallerId => Arrival::NoCallerId,
        Arrive::CoreDown => Arrival::Ani(Found::CoreUnavailable),
    };
    let mut caller = Caller {
        m,
        has_pin,
        r,
        counter: Counter::default(),
        pin_tries: 3,
        pin_locked: false,
        checks_left: 0,
        identified: matches!(arrival, Arrival::Intent { .. })
            || (profile.identify_by_ani && matches!(arrival, Arrival::Ani(Found::One { .. }))),
        proved: BTreeSet::new(),
        keyed: vec![],
        events: vec![],
    };
    let new = NewCall {
        call_id: "prop".into(),
        ani,
        dnis: None,
        profile_name: "generated".into(),
        profile: profile.clone().into(),
    };
    let t = start(new, arrival, r);
    caller.events.extend(t.events);
    let mut call = t.call;
    // the generated choices, then the caller keeps giving no input
    let more = std::iter::repeat(7u8);
    for (n, c) in choices.iter().copied().chain(more).enumerate() {
        prop_assert!(
            is_done(&call) || expects(&call) != Expect::Nothing,
            "a call that has not ended expects nothing: {:?}",
            call.phase
        );
        prop_assert!(
            n < MAX_INPUTS,
            "no end after {MAX_INPUTS} inputs: {:?}",
            call.phase
        );
        let Some((input, ivr)) = caller.input(&call, c) else {
            break;
        };
        let t = if ivr {
            answer(&call, input, Some(m), r)
        } else {
            advance(&call, input, Some(m), r)
        };
        if let Some(after) = t.answer_counter {
            caller.counter = after;
        }
        caller.events.extend(t.events);
        call = t.call;
    }
    // an ended call takes no more input
    let after = answer(&call, Input::NoInput, Some(m), r);
    prop_assert_eq!(&after.call.phase, &call.phase);
    prop_assert_eq!(after.call.verified, call.verified);
    prop_assert!(after.events.is_empty());
    Ok((call, caller))
}

fn scenario() -> impl Strategy<Value = (Profile, u8, bool, Arrive, Vec<u8>)> {
    (
        profile(),
        // each fact is on the record four times in five
        proptest::collection::vec(proptest::bool::weighted(0.2), 7).prop_map(|gone| {
            gone.iter()
                .enumerate()
                .map(|(i, g)| u8::from(*g) << i)
                .sum()
        }),
        any::<bool>(),
        prop_oneof![
            2 => Just(Arrive::Intent),
            4 => Just(Arrive::Mobile),
            3 => Just(Arrive::Other),
            3 => Just(Arrive::NoneOrMany),
            2 => Just(Arrive::NoCallerId),
            1 => Just(Arrive::CoreDown),
        ],
        proptest::collection::vec(any::<u8>(), 0..60),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4_000, ..ProptestConfig::default() })]

    #[test]
    fn no_call_is_authenticated_on_less_proof_than_its_trust_level_asks(
        (profile, missing, has_pin, arrive, choices) in scenario()
    ) {
        let (m, p) = (member_without(missing), policy());
        let r = rules(&p);
        let (call, caller) = drive(&profile, &m, has_pin, &r, arrive, &choices)?;
        let Phase::Done { ending, reason, level } = &call.phase else {
            return Err(TestCaseError::fail("the call did not end"));
        };
        match ending {
            Ending::Authenticated => {
                prop_assert!(caller.identified, "authenticated without being identified");
                let member = call.member.as_ref().map(|c| c.member_id.as_str());
                prop_assert_eq!(member, Some(caller.m.member_id.as_str()));
                let trust = call.trust.ok_or_else(|| TestCaseError::fail("no trust level"))?;
                let asked = trust.ivr_step(&profile).min_correct as usize;
                prop_assert!(
                    caller.proved.len() >= asked,
                    "authenticated at {:?} with {:?} proved, {} asked; passed {:?}",
                    trust, caller.proved, asked, call.methods_passed
                );
                match level {
                    Some(Level::Pin) => prop_assert!(caller.proved.contains("pin")),
                    Some(Level::Otp) => prop_assert!(caller.proved.contains("otp")),
                    Some(Level::AppIntent) => prop_assert_eq!(asked, 0),
                    Some(Level::Questions) => prop_assert!(!caller.proved.is_empty()),
                    None => prop_assert!(false, "authenticated without a level"),
                }
                prop_assert_eq!(call.verified, Some(true));
                prop_assert!(reason.is_none());
            }
            Ending::Transfer => {
                prop_assert!(reason.is_some(), "a transfer without a reason");
                prop_assert!(level.is_none());
                prop_assert_ne!(call.verified, Some(true));
                if *reason == Some(Reason::Locked) {
                    let answers_locked = matches!(
                        caller.counter.state(&caller.r.answer_lockout, caller.r.now),
                        lockout::State::Locked { .. }
                    );
                    prop_assert!(caller.pin_locked || answers_locked, "locked with no lock");
                }
            }
        }
        prop_assert!(call.current_pin.is_none(), "an ended call keeps a sealed PIN");
    }

    #[test]
    fn the_trust_level_follows_how_the_caller_was_found(
        (profile, missing, has_pin, arrive, choices) in scenario()
    ) {
        let (m, p) = (member_without(missing), policy());
        let r = rules(&p);
        let (call, caller) = drive(&profile, &m, has_pin, &r, arrive, &choices)?;
        if let Some(trust) = call.trust {
            let expected = match arrive {
                Arrive::Intent => Trust::AppIntent,
                _ => trust_for(call.ani.as_deref(), caller.m),
            };
            prop_assert_eq!(trust, expected);
            // only the member's own verified mobile is a known number
            prop_assert_eq!(
                trust == Trust::KnownNumber,
                matches!(arrive, Arrive::Mobile) && caller.m.mobile_phone.is_some()
            );
        }
    }

    #[test]
    fn keyed_answers_never_reach_events_or_steps(
        (profile, missing, has_pin, arrive, choices) in scenario()
    ) {
        let (m, p) = (member_without(missing), policy());
        let r = rules(&p);
        let (call, caller) = drive(&profile, &m, has_pin, &r, arrive, &choices)?;
        let step = serde_json::to_string(&step_view(&call, caller.r))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for digits in caller.keyed.iter().filter(|d| d.len() >= 4) {
            for e in &caller.events {
                prop_assert!(!e.detail.contains(digits.as_str()), "{:?} holds {}", e, digits);
            }
            prop_assert!(!step.contains(digits.as_str()), "the STEP holds {}", digits);
        }
    }
}

/// The properties above mean something only if the generated calls go everywhere: every
/// ending, every level, every transfer reason, activation and a PIN change.
#[test]
fn generated_calls_reach_every_ending() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..4_000 {
        let (profile, missing, has_pin, arrive, choices) = scenario()
            .new_tree(&mut runner)
            .expect("a generated call")
            .current();
        let (m, p) = (member_without(missing), policy());
        let r = rules(&p);
        let (call, caller) = drive(&profile, &m, has_pin, &r, arrive, &choices).expect("a call");
        if let Phase::Done { level, reason, .. } = call.phase {
            seen.insert(format!("{level:?} {reason:?}"));
        }
        for e in &caller.events {
            seen.insert(format!("{:?}", e.kind));
        }
    }
    let levels = [Level::AppIntent, Level::Pin, Level::Questions, Level::Otp];
    let reasons = [
        Reason::IdentificationFailed,
        Reason::VerificationFailed,
        Reason::Locked,
        Reason::CoreUnavailable,
        Reason::OptOut,
        Reason::NoIdentifier,
        Reason::ActivationFailed,
        Reason::PinChangeFailed,
    ];
    let wanted = levels
        .iter()
        .map(|l| format!("{:?} None", Some(l)))
        .chain(reasons.iter().map(|r| format!("None {:?}", Some(r))))
        .chain(
            [
                "ActivationStarted",
                "PinChangeStarted",
                "PinSet",
                "MemberLocked",
            ]
            .map(String::from),
        );
    for w in wanted {
        assert!(seen.contains(&w), "no generated call reached {w}: {seen:?}");
    }
}
