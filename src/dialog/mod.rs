//! The call dialog: pure functions of (call state, facts, input, now) -> (next state, events).
//!
//! No HTTP and no redb types live here. The service (`src/calls/`) does the I/O a step
//! needs first: it looks a keyed identifier up in the core, has the vault check a PIN, checks
//! and seals a new PIN. It hands the dialog what it found as an [`Input`]. The dialog decides
//! everything else: who the caller is, the trust of the channel, which method to ask next,
//! what the attempts allow, when activation or a PIN change comes first, and how the call
//! ends. Every [`Transition`] carries the audit events for its step (never any digits).
//!
//! A trust level's methods are asked in order; the walk stops as soon as `min_correct` have
//! passed (authenticated) or can no longer be reached (transfer, `verification_failed`).

pub mod agent;
pub mod answer;
pub mod caller_id;
pub mod checklist;
mod state;
mod step;

use crate::audit::{EventKind, Outcome};
use crate::lockout::{self, Counter};
use crate::member::Member;
use crate::pin::{self, ActivationScenario, Situation, Verdict};
use crate::profile::{Method, Profile, Question};

pub use caller_id::CallerIdCheck;
pub use checklist::ChecklistState;
use state::WalkNext;
pub use state::{
    Arrival, Call, CallMember, CodeOutcome, DialogEvent, Ending, Expect, Field, Found, Input,
    Level, Lock, NewCall, OtpPending, Phase, PinResult, Purpose, Reason, Rules, Status, Transition,
    Trust, Walk,
};
#[cfg(test)]
use step::step_name;
pub use step::{StepView, step_view};

/// The trust level a member identified on this call gets.
pub fn trust_for(ani: Option<&str>, member: &Member) -> Trust {
    let verified = ani.is_some_and(|a| member.identifying_phones().any(|(p, v)| v && p == a));
    if verified {
        Trust::KnownNumber
    } else {
        Trust::UnknownNumber
    }
}

/// The IVR's own verdict on the member, from how its dialog ended: authenticated is
/// verified; a transfer because verification failed or the member is locked is not. Any
/// other ending (the caller opted out, the core was down, no one was identified) is no
/// verdict at all, and leaves an agent's standing.
pub fn ivr_verdict(ending: Ending, reason: Option<Reason>) -> Option<bool> {
    match (ending, reason) {
        (Ending::Authenticated, _) => Some(true),
        (Ending::Transfer, Some(Reason::VerificationFailed | Reason::Locked)) => Some(false),
        (Ending::Transfer, _) => None,
    }
}

/// Seed 003 for a member without a PIN: activation, or nothing.
pub fn no_pin_verdict(profile: &Profile, member: &Member, rules: &Rules<'_>) -> Verdict {
    pin::assess(&Situation {
        keyed: None,
        stored: None,
        member,
        activation: profile.activation.active_scenarios(),
        force_change: &[],
        on_conflict: pin::ConflictRule::ActivationList,
        policy: rules.pin_policy,
        now: rules.now,
    })
}

struct Tx<'r> {
    call: Call,
    events: Vec<DialogEvent>,
    answer_counter: Option<Counter>,
    locked: Option<Lock>,
    rules: &'r Rules<'r>,
}

impl Tx<'_> {
    fn event(&mut self, kind: EventKind, outcome: Outcome, detail: impl Into<String>) {
        self.events.push(DialogEvent {
            kind,
            outcome,
            detail: detail.into(),
        });
    }

    fn done(mut self) -> Transition {
        self.call.updated_at = self.rules.now;
        self.call.version += 1;
        Transition {
            call: self.call,
            events: self.events,
            answer_counter: self.answer_counter,
            locked: self.locked,
        }
    }

    /// The member has just been locked out by `by`: its audit event, then the transfer.
    fn lock(&mut self, by: Lock) {
        let detail = match by {
            Lock::Pins => "too many wrong PINs",
            Lock::Answers => "too many wrong answers",
        };
        self.event(EventKind::MemberLocked, Outcome::Denied, detail);
        self.locked = Some(by);
        self.transfer(Reason::Locked);
    }

    fn transfer(&mut self, reason: Reason) {
        self.call.phase = Phase::Done {
            ending: Ending::Transfer,
            reason: Some(reason),
            level: None,
        };
        if let Some(verdict) = ivr_verdict(Ending::Transfer, Some(reason)) {
            self.call.verified = Some(verdict);
        }
        self.call.current_pin = None;
        self.event(EventKind::CallTransferred, Outcome::Denied, reason.as_str());
    }

    fn identified(&mut self, member: &Member, has_pin: bool, trust: Trust, how: &str) {
        self.call.member = Some(CallMember::of(member, has_pin));
        self.call.trust = Some(trust);
        self.call.error = None;
        self.event(
            EventKind::CallIdentified,
            Outcome::Ok,
            format!("by {how}; trust {}", trust.as_str()),
        );
        let step = trust.ivr_step(&self.call.profile);
        self.call.walk = Some(Walk::new(&step.methods, step.min_correct, step.attempts));
        self.call.phase = Phase::Verifying;
        self.advance_walk(member);
    }

    /// Move the trust level's walk on until it asks something or ends.
    fn advance_walk(&mut self, member: &Member) {
        loop {
            let Some(walk) = self.call.walk.as_mut() else {
                self.transfer(Reason::VerificationFailed);
                return;
            };
            match walk.next() {
                WalkNext::Passed => return self.authenticated(),
                WalkNext::Failed => return self.transfer(Reason::VerificationFailed),
                WalkNext::Ask(Method::Pin) => {
                    let has_pin = self.call.member.as_ref().is_some_and(|m| m.has_pin);
                    if has_pin {
                        self.call.phase = Phase::Verifying;
                        return;
                    }
                    let verdict = no_pin_verdict(&self.call.profile, member, self.rules);
                    if self.no_pin(verdict) {
                        return;
                    }
                }
                WalkNext::Ask(Method::Otp) => {
                    // The service sends the code (`Expect::SendCode`), then asks for it.
                    self.call.phase = Phase::Verifying;
                    return;
                }
                WalkNext::Ask(m) => {
                    let q = m.question();
                    let name = method_name(m);
                    // Answered right during activation: never asked twice. It counts while
                    // activation proved more than the PIN method it stood in for took.
                    if q.is_some_and(|q| self.call.answered.contains(&q)) {
                        if self.call.reusable > 0 {
                            self.call.reusable -= 1;
                            walk.pass();
                            self.call.methods_passed.push(name.clone());
                            self.event(
                                EventKind::MethodChecked,
                                Outcome::Ok,
                                format!("{name}: answered in activation"),
                            );
                        } else {
                            walk.skip();
                            self.event(
                                EventKind::MethodChecked,
                                Outcome::Failed,
                                format!("{name}: answered in activation, counted there"),
                            );
                        }
                        continue;
                    }
                    let can = q.is_some_and(|q| {
                        self.call
                            .member
                            .as_ref()
                            .is_some_and(|cm| cm.answerable.contains(&q))
                    });
                    if can {
                        self.call.phase = Phase::Verifying;
                        return;
                    }
                    walk.skip();
                    self.call.methods_failed.push(name.clone());
                    self.event(
                        EventKind::MethodChecked,
                        Outcome::Failed,
                        format!("{name}: not on the member's record"),
                    );
                }
            }
        }
    }

    /// The member has no PIN: activation when a scenario covers it, else the PIN method
    /// fails. Returns whether the dialog now waits for input (or ended).
    fn no_pin(&mut self, verdict: Verdict) -> bool {
        match verdict {
            Verdict::Activate(s) => {
                self.start_activation(s);
                true
            }
            _ => {
                if let Some(w) = self.call.walk.as_mut() {
                    w.skip();
                }
                self.call.methods_failed.push("pin".into());
                self.event(EventKind::MethodChecked, Outcome::Failed, "pin: no PIN set");
                false
            }
        }
    }

    fn start_activation(&mut self, scenario: ActivationScenario) {
        self.event(EventKind::ActivationStarted, Outcome::Ok, scenario.as_str());
        self.call.activation_proofs = 0;
        let a = &self.call.profile.activation;
        let walk = Walk::new(&a.methods, a.min_correct, 1);
        self.call.phase = Phase::Activating {
            scenario: scenario.as_str().into(),
            walk,
        };
        self.advance_activation();
    }

    fn advance_activation(&mut self) {
        loop {
            let Phase::Activating { scenario, walk } = &mut self.call.phase else {
                return;
            };
            let why = scenario.clone();
            match walk.next() {
                WalkNext::Passed => {
                    self.call.phase = Phase::NewPin {
                        purpose: Purpose::Activation,
                        why,
                        attempts_used: 0,
                    };
                    return;
                }
                WalkNext::Failed => return self.transfer(Reason::ActivationFailed),
                WalkNext::Ask(m) => {
                    // answered right earlier on this call: not asked again
                    if m.question()
                        .is_some_and(|q| self.call.answered.contains(&q))
                    {
                        walk.pass();
                        continue;
                    }
                    let can = m.question().is_some_and(|q| {
                        self.call
                            .member
                            .as_ref()
                            .is_some_and(|cm| cm.answerable.contains(&q))
                    });
                    if can {
                        return;
                    }
                    walk.skip();
                }
            }
        }
    }

    fn authenticated(&mut self) {
        let level = if self.call.methods_passed.is_empty() {
            // Nothing asked: the trust level alone was enough. The app's intent is a proof
            // and names the level; a caller ID alone (a profile whose `known_number` lists
            // no methods) proves nothing the STEP could name, so its level is null.
            (self.call.trust == Some(Trust::AppIntent)).then_some(Level::AppIntent)
        } else if self.call.pin_verified {
            Some(Level::Pin)
        } else if self.call.methods_passed.iter().any(|m| m == "otp") {
            Some(Level::Otp)
        } else {
            Some(Level::Questions)
        };
        self.call.phase = Phase::Done {
            ending: Ending::Authenticated,
            reason: None,
            level,
        };
        self.call.verified = ivr_verdict(Ending::Authenticated, None);
        self.call.current_pin = None;
        self.event(
            EventKind::CallAuthenticated,
            Outcome::Ok,
            match level {
                Some(l) => format!("level {}", level_name(l)),
                None => "caller ID alone".to_string(),
            },
        );
    }

    fn pin_method_passed(&mut self, member: &Member) {
        if let Some(w) = self.call.walk.as_mut() {
            w.pass();
        }
        self.call.methods_passed.push("pin".into());
        self.call.phase = Phase::Verifying;
        self.advance_walk(member);
    }
}

pub fn method_name(m: Method) -> String {
    match m.question() {
        Some(q) => format!("question:{}", q.as_str()),
        None if m == Method::Pin => "pin".into(),
        None => "otp".into(),
    }
}

pub fn level_name(l: Level) -> &'static str {
    match l {
        Level::AppIntent => "app_intent",
        Level::Pin => "pin",
        Level::Questions => "questions",
        Level::Otp => "otp",
    }
}

/// Start a call.
pub fn start(new: NewCall, arrival: Arrival<'_>, rules: &Rules<'_>) -> Transition {
    let call = Call {
        call_id: new.call_id,
        ani: new.ani,
        caller_id_check: new.caller_id_check,
        dnis: new.dnis,
        profile_name: new.profile_name,
        profile: new.profile,
        member: None,
        named_by_agent: false,
        trust: None,
        phase: Phase::Identifying {
            attempts_used: 0,
            keyed_any: false,
        },
        walk: None,
        methods_passed: vec![],
        methods_failed: vec![],
        pin_verified: false,
        pin_tries_left: None,
        error: None,
        current_pin: None,
        verified: None,
        checklist: None,
        otp: None,
        answered: vec![],
        activation_proofs: 0,
        reusable: 0,
        started_at: rules.now,
        updated_at: rules.now,
        ended_at: None,
        version: 0,
        inputs: 0,
    };
    let mut tx = Tx {
        call,
        events: vec![],
        answer_counter: None,
        locked: None,
        rules,
    };
    tx.event(
        EventKind::CallStarted,
        Outcome::Ok,
        format!(
            "profile {}; caller id {}{}",
            tx.call.profile_name,
            if tx.call.ani.is_some() {
                "present"
            } else {
                "absent"
            },
            match tx.call.caller_id_check {
                None => "",
                Some(CallerIdCheck::Passed) => "; verstat passed",
                Some(CallerIdCheck::NoValidation) => "; verstat no_validation",
                Some(CallerIdCheck::Failed) => {
                    "; verstat failed: the caller id gives no known_number trust"
                }
            }
        ),
    );
    match arrival {
        Arrival::Intent { member, has_pin } => {
            tx.identified(member, has_pin, Trust::AppIntent, "app intent")
        }
        Arrival::Ani(Found::One { member, has_pin }) if tx.call.profile.identify_by_ani => {
            let trust = trust_for(tx.call.trusted_ani(), member);
            tx.identified(member, has_pin, trust, "caller id")
        }
        Arrival::Ani(Found::CoreUnavailable) => tx.transfer(Reason::CoreUnavailable),
        Arrival::Ani(_) | Arrival::NoCallerId => {
            if tx.call.profile.identifiers.is_empty() {
                tx.transfer(Reason::NoIdentifier);
            }
        }
    }
    tx.done()
}

/// What the service must resolve for the next input.
pub fn expects(call: &Call) -> Expect {
    match &call.phase {
        Phase::Identifying { .. } => Expect::Identifier,
        Phase::Verifying => match call.walk.as_ref().and_then(Walk::current) {
            Some(Method::Pin) => Expect::Pin,
            Some(Method::Otp) if call.otp.is_some() => Expect::Code,
            Some(Method::Otp) => Expect::SendCode,
            Some(m) => m.question().map_or(Expect::Nothing, Expect::Question),
            None => Expect::Nothing,
        },
        Phase::Activating { walk, .. } => walk
            .current()
            .and_then(Method::question)
            .map_or(Expect::Nothing, Expect::Question),
        Phase::NewPin { purpose, .. } => Expect::NewPin(*purpose),
        Phase::ConfirmPin { .. } => Expect::ConfirmPin,
        Phase::Done { .. } => Expect::Nothing,
    }
}

/// The STEP's `status` for where the call's dialog is.
pub fn status(call: &Call) -> Status {
    match &call.phase {
        Phase::Identifying { .. } => Status::Identifying,
        Phase::Verifying => Status::Verifying,
        Phase::Activating { .. } => Status::Activating,
        Phase::NewPin { purpose, .. } | Phase::ConfirmPin { purpose, .. } => match purpose {
            Purpose::Activation => Status::Activating,
            Purpose::Change => Status::ChangingPin,
        },
        Phase::Done { ending, .. } => match ending {
            Ending::Authenticated => Status::Authenticated,
            Ending::Transfer => Status::Transferred,
        },
    }
}

/// Whether the dialog is over (authenticated or transferred).
pub fn is_done(call: &Call) -> bool {
    matches!(call.phase, Phase::Done { .. })
}

/// The IVR's input to the call's current STEP: [`advance`], counted in [`Call::inputs`]
/// (what the service does for `POST /v1/calls/{id}/input`; its own steps, such as a code
/// sent, are not the IVR's and call [`advance`]).
pub fn answer(
    call: &Call,
    input: Input<'_>,
    member: Option<&Member>,
    rules: &Rules<'_>,
) -> Transition {
    let mut t = advance(call, input, member, rules);
    t.call.inputs = call.inputs.saturating_add(1);
    t
}

/// What an input's `step` says about it, given the inputs its call has taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answering {
    /// No `step`, or the current STEP's: take the input.
    Current,
    /// The STEP before the current one: this input was taken already (a retry).
    Taken,
    /// Any other STEP.
    Other { sent: u64, current: u64 },
}

/// See [`Answering`]. The call is at STEP `inputs + 1`.
pub fn answering(step: Option<u64>, inputs: u64) -> Answering {
    let current = inputs.saturating_add(1);
    match step {
        None => Answering::Current,
        Some(s) if s == current => Answering::Current,
        Some(s) if inputs > 0 && s == inputs => Answering::Taken,
        Some(sent) => Answering::Other { sent, current },
    }
}

/// Answer the current step. `member` is the identified member's facts (needed to move the
/// walk past questions the record cannot answer).
pub fn advance(
    call: &Call,
    input: Input<'_>,
    member: Option<&Member>,
    rules: &Rules<'_>,
) -> Transition {
    let mut tx = Tx {
        call: call.clone(),
        events: vec![],
        answer_counter: None,
        locked: None,
        rules,
    };
    tx.call.error = None;
    if is_done(call) {
        return tx.done();
    }
    match input {
        Input::OptOut => tx.transfer(Reason::OptOut),
        Input::CoreUnavailable => tx.transfer(Reason::CoreUnavailable),
        Input::MemberGone => {
            tx.event(
                EventKind::IdentificationFailed,
                Outcome::Failed,
                "member_not_enrolled",
            );
            tx.transfer(Reason::IdentificationFailed)
        }
        input => match call.phase.clone() {
            Phase::Identifying {
                attempts_used,
                keyed_any,
            } => identify(&mut tx, input, attempts_used, keyed_any),
            Phase::Verifying => verify(&mut tx, input, member),
            Phase::Activating { .. } => activate(&mut tx, input),
            Phase::NewPin {
                purpose,
                why,
                attempts_used,
            } => new_pin(&mut tx, input, purpose, why, attempts_used),
            Phase::ConfirmPin {
                purpose,
                why,
                attempts_used,
                ..
            } => confirm_pin(&mut tx, input, purpose, why, attempts_used, member),
            Phase::Done { .. } => {}
        },
    }
    tx.done()
}

fn identify(tx: &mut Tx<'_>, input: Input<'_>, attempts_used: u32, keyed_any: bool) {
    let (keyed, error) = match input {
        Input::Identifier(Found::One { member, has_pin }) => {
            let trust = trust_for(tx.call.trusted_ani(), member);
            return tx.identified(member, has_pin, trust, "keyed identifier");
        }
        Input::Identifier(Found::CoreUnavailable) => return tx.transfer(Reason::CoreUnavailable),
        Input::Identifier(Found::NoneOrMany) => (true, "not_found"),
        Input::NoInput => (false, "no_input"),
        _ => return,
    };
    let used = attempts_used + 1;
    let keyed_any = keyed_any || keyed;
    tx.event(EventKind::IdentificationFailed, Outcome::Failed, error);
    if used >= tx.call.profile.identify_attempts {
        tx.transfer(if keyed_any {
            Reason::IdentificationFailed
        } else {
            Reason::NoIdentifier
        });
    } else {
        tx.call.error = Some(error.into());
        tx.call.phase = Phase::Identifying {
            attempts_used: used,
            keyed_any,
        };
    }
}

fn verify(tx: &mut Tx<'_>, input: Input<'_>, member: Option<&Member>) {
    let Some(member) = member else {
        return tx.transfer(Reason::CoreUnavailable);
    };
    let Some(current) = tx.call.walk.as_ref().and_then(Walk::current) else {
        return;
    };
    match (current, input) {
        (Method::Otp, Input::CodeSent(sent)) => code_sent(tx, sent, member),
        (Method::Otp, Input::Code(outcome)) => code_checked(tx, outcome, member),
        (Method::Pin, Input::Pin(result)) => pin_result(tx, result, member),
        (
            m,
            Input::Answer {
                digits,
                member,
                counter,
            },
        ) => {
            let Some(q) = m.question() else { return };
            if let Some(right) = keyed_answer(tx, q, digits, member, counter) {
                let name = method_name(m);
                match right {
                    true => {
                        if let Some(w) = tx.call.walk.as_mut() {
                            w.pass();
                        }
                        tx.call.answered.push(q);
                        tx.call.methods_passed.push(name);
                        tx.advance_walk(member);
                    }
                    false => wrong_try(tx, &name, member),
                }
            }
        }
        (m, Input::NoInput) => {
            tx.call.error = Some("no_input".into());
            let name = method_name(m);
            tx.event(
                EventKind::MethodChecked,
                Outcome::Failed,
                format!("{name}: no input"),
            );
            wrong_try(tx, &name, member);
        }
        _ => {}
    }
}

/// A wrong try on the walk's current method.
fn wrong_try(tx: &mut Tx<'_>, name: &str, member: &Member) {
    let used_up = tx.call.walk.as_mut().is_some_and(Walk::wrong);
    if used_up {
        tx.call.methods_failed.push(name.to_string());
        tx.call.otp = None;
    }
    tx.advance_walk(member);
}

/// The `otp` method is over without passing: the walk moves on.
fn otp_failed(tx: &mut Tx<'_>, why: &str, member: &Member) {
    tx.call.otp = None;
    tx.call.methods_failed.push("otp".into());
    tx.event(
        EventKind::MethodChecked,
        Outcome::Failed,
        format!("otp: {why}"),
    );
    if let Some(w) = tx.call.walk.as_mut() {
        w.skip();
    }
    tx.advance_walk(member);
}

fn code_sent(tx: &mut Tx<'_>, sent: Result<OtpPending, &'static str>, member: &Member) {
    match sent {
        Ok(pending) => tx.call.otp = Some(pending),
        Err(why) => otp_failed(tx, why, member),
    }
}

fn code_checked(tx: &mut Tx<'_>, outcome: CodeOutcome, member: &Member) {
    match outcome {
        CodeOutcome::Approved => {
            tx.call.otp = None;
            tx.event(EventKind::MethodChecked, Outcome::Ok, "otp");
            if let Some(w) = tx.call.walk.as_mut() {
                w.pass();
            }
            tx.call.methods_passed.push("otp".into());
            tx.advance_walk(member);
        }
        CodeOutcome::Wrong { checks_left } => {
            tx.call.error = Some("wrong_code".into());
            tx.event(EventKind::MethodChecked, Outcome::Failed, "otp: wrong code");
            if let Some(p) = tx.call.otp.as_mut() {
                p.checks_left = checks_left;
            }
        }
        CodeOutcome::Failed(why) => {
            tx.call.error = Some(why.into());
            otp_failed(tx, why, member);
        }
    }
}

/// Check a keyed answer against the member's record and their wrong-answer counter.
/// `Some(true)`: right; `Some(false)`: wrong (counted); `None`: the call ended (locked).
fn keyed_answer(
    tx: &mut Tx<'_>,
    q: Question,
    digits: &str,
    member: &Member,
    counter: Counter,
) -> Option<bool> {
    let policy = tx.rules.answer_lockout;
    let now = tx.rules.now;
    if let lockout::State::Locked { .. } = counter.state(&policy, now) {
        tx.event(
            EventKind::MethodChecked,
            Outcome::Denied,
            format!("question:{}: member locked for questions", q.as_str()),
        );
        tx.transfer(Reason::Locked);
        return None;
    }
    let tolerance = tx.call.profile.amount_tolerance_cents;
    let right = answer::matches(q, digits, member, tolerance).unwrap_or(false);
    let name = format!("question:{}", q.as_str());
    if right {
        tx.event(EventKind::MethodChecked, Outcome::Ok, name);
        return Some(true);
    }
    let after = counter.wrong(&policy, now);
    tx.answer_counter = Some(after);
    tx.call.error = Some("wrong_answer".into());
    tx.event(EventKind::MethodChecked, Outcome::Failed, name);
    if let lockout::State::Locked { .. } = after.state(&policy, now) {
        tx.lock(Lock::Answers);
        return None;
    }
    Some(false)
}

fn pin_result(tx: &mut Tx<'_>, result: PinResult, member: &Member) {
    match result {
        PinResult::Correct { verdict, current } => {
            tx.call.pin_verified = true;
            tx.call.pin_tries_left = None;
            tx.event(EventKind::PinChecked, Outcome::Ok, "pin: correct");
            match verdict {
                Verdict::Proceed | Verdict::NoPin => tx.pin_method_passed(member),
                Verdict::Activate(s) => {
                    tx.call.current_pin = current;
                    tx.start_activation(s);
                }
                Verdict::ChangePin(reason) => {
                    tx.call.current_pin = current;
                    let why = reason.as_str();
                    tx.event(EventKind::PinChangeStarted, Outcome::Ok, why);
                    tx.call.phase = Phase::NewPin {
                        purpose: Purpose::Change,
                        why: why.into(),
                        attempts_used: 0,
                    };
                }
            }
        }
        PinResult::Wrong { tries_left } => {
            tx.call.pin_tries_left = Some(tries_left);
            tx.call.error = Some("wrong_pin".into());
            tx.event(EventKind::PinChecked, Outcome::Failed, "pin: wrong");
            if tries_left == 0 {
                return tx.lock(Lock::Pins);
            }
            wrong_try(tx, "pin", member);
        }
        PinResult::Locked => {
            tx.event(EventKind::PinChecked, Outcome::Denied, "pin: member locked");
            tx.transfer(Reason::Locked);
        }
        PinResult::NoPin { verdict } => {
            if let Some(cm) = tx.call.member.as_mut() {
                cm.has_pin = false;
            }
            if !tx.no_pin(verdict) {
                tx.advance_walk(member);
            }
        }
    }
}

fn activate(tx: &mut Tx<'_>, input: Input<'_>) {
    let Phase::Activating { walk, .. } = &tx.call.phase else {
        return;
    };
    let Some(q) = walk.current().and_then(Method::question) else {
        return;
    };
    let right = match input {
        Input::Answer {
            digits,
            member,
            counter,
        } => match keyed_answer(tx, q, digits, member, counter) {
            Some(r) => r,
            None => return,
        },
        Input::NoInput => {
            tx.call.error = Some("no_input".into());
            false
        }
        _ => return,
    };
    if let Phase::Activating { walk, .. } = &mut tx.call.phase {
        if right {
            walk.pass();
        } else {
            walk.wrong();
        }
    }
    if right {
        tx.call.answered.push(q);
        tx.call.activation_proofs += 1;
    }
    tx.advance_activation();
}

fn failed_reason(purpose: Purpose) -> Reason {
    match purpose {
        Purpose::Activation => Reason::ActivationFailed,
        Purpose::Change => Reason::PinChangeFailed,
    }
}

fn new_pin(tx: &mut Tx<'_>, input: Input<'_>, purpose: Purpose, why: String, attempts_used: u32) {
    let rejection = match input {
        Input::NewPin(Ok(pending)) => {
            tx.call.phase = Phase::ConfirmPin {
                purpose,
                why,
                attempts_used,
                pending,
            };
            return;
        }
        Input::NewPin(Err(r)) => r.as_str(),
        Input::NoInput => "no_input",
        _ => return,
    };
    refuse_new_pin(tx, purpose, why, attempts_used, rejection);
}

fn refuse_new_pin(tx: &mut Tx<'_>, purpose: Purpose, why: String, used: u32, rejection: &str) {
    let used = used + 1;
    tx.event(
        EventKind::PinRefused,
        Outcome::Failed,
        format!("new pin: {rejection}"),
    );
    if used >= tx.rules.new_pin_attempts.max(1) {
        return tx.transfer(failed_reason(purpose));
    }
    tx.call.error = Some(rejection.to_string());
    tx.call.phase = Phase::NewPin {
        purpose,
        why,
        attempts_used: used,
    };
}

fn confirm_pin(
    tx: &mut Tx<'_>,
    input: Input<'_>,
    purpose: Purpose,
    why: String,
    attempts_used: u32,
    member: Option<&Member>,
) {
    match input {
        Input::Confirm(Ok(())) => {
            tx.event(
                EventKind::PinSet,
                Outcome::Ok,
                match purpose {
                    Purpose::Activation => format!("activation ({why})"),
                    Purpose::Change => format!("pin change ({why})"),
                },
            );
            tx.call.current_pin = None;
            if let Some(cm) = tx.call.member.as_mut() {
                cm.has_pin = true;
            }
            // Each fact counts once. Activation's proofs back the PIN method when they stand
            // in for it (one of them), and the rest may count for the walk's own questions.
            let proofs = std::mem::take(&mut tx.call.activation_proofs);
            match member {
                Some(m) if purpose == Purpose::Activation && !tx.call.pin_verified => {
                    tx.call.reusable = proofs.saturating_sub(1);
                    if let Some(w) = tx.call.walk.as_mut() {
                        // Activation proved identity by its own checks: the PIN method
                        // counts as passed, but the level says questions, not pin. Checks
                        // that were all answered earlier in the call prove nothing new.
                        if proofs > 0 {
                            w.pass();
                        } else {
                            w.skip();
                        }
                    }
                    if proofs > 0 {
                        tx.call.methods_passed.push("activation".into());
                    } else {
                        tx.call.methods_failed.push("pin".into());
                        tx.event(
                            EventKind::MethodChecked,
                            Outcome::Failed,
                            "pin: activation proved nothing not already counted",
                        );
                    }
                    tx.call.phase = Phase::Verifying;
                    tx.advance_walk(m);
                }
                Some(m) => {
                    tx.call.reusable = proofs;
                    tx.pin_method_passed(m)
                }
                None => tx.transfer(Reason::CoreUnavailable),
            }
        }
        Input::Confirm(Err(r)) => refuse_new_pin(tx, purpose, why, attempts_used, r.as_str()),
        Input::NewPinLost => {
            tx.event(
                EventKind::PinRefused,
                Outcome::Failed,
                "new pin: not kept (the vault key was rotated); asked again",
            );
            tx.call.error = Some("new_pin_not_kept".into());
            tx.call.phase = Phase::NewPin {
                purpose,
                why,
                attempts_used,
            };
        }
        Input::NoInput => refuse_new_pin(tx, purpose, why, attempts_used, "no_input"),
        _ => {}
    }
}

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;
