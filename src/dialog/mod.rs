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
mod step;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{EventKind, Outcome};
use crate::config::PinPolicyConfig;
use crate::lockout::{self, Counter};
use crate::member::Member;
use crate::pin::{self, ActivationScenario, Rejection, Situation, Verdict};
use crate::profile::{Method, Profile, Question, SharedProfile, Step as ProfileStep};

pub use caller_id::CallerIdCheck;
pub use checklist::ChecklistState;
#[cfg(test)]
use step::step_name;
pub use step::{StepView, step_view};

/// How far the channel is trusted (seed 004's three scenarios).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// Announced by the member's signed-in app.
    AppIntent,
    /// From the member's verified phone.
    KnownNumber,
    /// From any other number, or none.
    UnknownNumber,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::AppIntent => "app_intent",
            Trust::KnownNumber => "known_number",
            Trust::UnknownNumber => "unknown_number",
        }
    }

    /// The profile's IVR requirement for this trust level.
    pub fn ivr_step(self, p: &Profile) -> &ProfileStep {
        match self {
            Trust::AppIntent => &p.ivr.app_intent,
            Trust::KnownNumber => &p.ivr.known_number,
            Trust::UnknownNumber => &p.ivr.unknown_number,
        }
    }

    /// The profile's agent checklist for this trust level.
    pub fn checklist(self, p: &Profile) -> &crate::profile::Checklist {
        match self {
            Trust::AppIntent => &p.checklist.app_intent,
            Trust::KnownNumber => &p.checklist.known_number,
            Trust::UnknownNumber => &p.checklist.unknown_number,
        }
    }
}

/// `status` of a STEP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Identifying,
    Verifying,
    Activating,
    ChangingPin,
    Authenticated,
    Transferred,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Identifying => "identifying",
            Status::Verifying => "verifying",
            Status::Activating => "activating",
            Status::ChangingPin => "changing_pin",
            Status::Authenticated => "authenticated",
            Status::Transferred => "transferred",
        }
    }
}

/// `field` of a collect STEP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Identifier,
    Pin,
    Question,
    NewPin,
    ConfirmPin,
    /// A one-time code the member was just sent (an `otp` step).
    Code,
}

/// Why a call went to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Identifiers were keyed and none named one member; or the member the call identified
    /// is no longer known to the core (removed mid-call).
    IdentificationFailed,
    /// The trust level's proof was not given.
    VerificationFailed,
    /// The member is locked (wrong PINs, or wrong answers, across calls).
    Locked,
    /// The core did not answer within `core.timeout_ms`, or failed.
    CoreUnavailable,
    /// The caller asked for an agent.
    OptOut,
    /// No caller ID identified them and they keyed no identifier.
    NoIdentifier,
    /// Activation's checks, or choosing the first PIN, failed.
    ActivationFailed,
    /// Choosing a new PIN (force-PIN-change) failed.
    PinChangeFailed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::IdentificationFailed => "identification_failed",
            Reason::VerificationFailed => "verification_failed",
            Reason::Locked => "locked",
            Reason::CoreUnavailable => "core_unavailable",
            Reason::OptOut => "opt_out",
            Reason::NoIdentifier => "no_identifier",
            Reason::ActivationFailed => "activation_failed",
            Reason::PinChangeFailed => "pin_change_failed",
        }
    }
}

/// What proved the caller's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    AppIntent,
    Pin,
    Questions,
    Otp,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Authenticated,
    Transfer,
}

/// Why a new PIN is being chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Activation,
    Change,
}

/// A walk through an ordered list of methods, `min_correct` of which must pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Walk {
    pub methods: Vec<Method>,
    pub min_correct: u32,
    pub attempts: u32,
    /// The method being asked.
    pub index: usize,
    pub correct: u32,
    /// Wrong tries on the current method.
    pub tries: u32,
}

enum WalkNext {
    Ask(Method),
    Passed,
    Failed,
}

impl Walk {
    fn new(methods: &[Method], min_correct: u32, attempts: u32) -> Walk {
        Walk {
            methods: methods.to_vec(),
            min_correct,
            attempts: attempts.max(1),
            index: 0,
            correct: 0,
            tries: 0,
        }
    }

    fn next(&self) -> WalkNext {
        if self.correct >= self.min_correct {
            return WalkNext::Passed;
        }
        let left = self.methods.len().saturating_sub(self.index) as u32;
        match self.methods.get(self.index) {
            Some(m) if self.correct + left >= self.min_correct => WalkNext::Ask(*m),
            _ => WalkNext::Failed,
        }
    }

    fn pass(&mut self) {
        self.correct += 1;
        self.index += 1;
        self.tries = 0;
    }

    fn skip(&mut self) {
        self.index += 1;
        self.tries = 0;
    }

    /// A wrong answer; returns whether the method is used up.
    fn wrong(&mut self) -> bool {
        self.tries += 1;
        if self.tries >= self.attempts {
            self.skip();
            true
        } else {
            false
        }
    }

    fn current(&self) -> Option<Method> {
        self.methods.get(self.index).copied()
    }
}

/// Where the dialog is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Identifying {
        attempts_used: u32,
        keyed_any: bool,
    },
    /// Walking the trust level's methods (the call's `walk`).
    Verifying,
    /// Activation's extra identity checks (seed 003), before a new PIN.
    Activating {
        scenario: String,
        walk: Walk,
    },
    NewPin {
        purpose: Purpose,
        why: String,
        attempts_used: u32,
    },
    ConfirmPin {
        purpose: Purpose,
        why: String,
        attempts_used: u32,
        /// The new PIN, sealed by the vault to this call (never in the clear).
        pending: Vec<u8>,
    },
    Done {
        ending: Ending,
        reason: Option<Reason>,
        level: Option<Level>,
    },
}

/// An `otp` step's code, sent and waiting to be keyed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpPending {
    pub challenge_id: String,
    pub checks_left: u32,
}

/// What checking a keyed code against its challenge came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    Approved,
    Wrong {
        checks_left: u32,
    },
    /// The challenge is over: `wrong_code` (the last check) or `code_expired`.
    Failed(&'static str),
}

/// The member a call identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallMember {
    pub member_id: String,
    pub first_name: Option<String>,
    pub name: Option<String>,
    pub has_pin: bool,
    /// The keypad questions this member's record can answer.
    pub answerable: Vec<Question>,
}

impl CallMember {
    /// The member as the call keeps it.
    pub fn of(member: &Member, has_pin: bool) -> CallMember {
        CallMember {
            member_id: member.member_id.clone(),
            first_name: member.first_name.clone(),
            name: member.display_name(),
            has_pin,
            // the keypad questions the record answers
            answerable: Question::ALL
                .into_iter()
                .filter(|q| q.keypad() && answer::answerable(*q, member))
                .collect(),
        }
    }
}

/// A call: everything the dialog remembers between steps. Persisted by the service as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub call_id: String,
    pub ani: Option<String>,
    /// What the carrier's STIR/SHAKEN check said of the caller ID, when the IVR passed it
    /// on. One that failed gives no `known_number` trust ([`Call::trusted_ani`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id_check: Option<CallerIdCheck>,
    pub dnis: Option<String>,
    pub profile_name: String,
    /// The profile as it was when the call started: a reload does not change a live call.
    #[serde(
        serialize_with = "SharedProfile::serialize_json",
        deserialize_with = "SharedProfile::deserialize_json"
    )]
    pub profile: SharedProfile,
    pub member: Option<CallMember>,
    /// The member was named by an agent after the IVR handed the call over without one
    /// ([`agent::name_member`]), not found by the IVR.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub named_by_agent: bool,
    pub trust: Option<Trust>,
    pub phase: Phase,
    /// The trust level's walk, kept while activation or a PIN change interrupts it.
    pub walk: Option<Walk>,
    pub methods_passed: Vec<String>,
    pub methods_failed: Vec<String>,
    pub pin_verified: bool,
    /// The member's wrong-PIN tries left, as the vault last said.
    pub pin_tries_left: Option<u32>,
    /// Why the last input was not accepted (`wrong_answer`, `not_found`, a PIN rule, ...).
    pub error: Option<String>,
    /// The PIN being replaced, sealed to this call, for the "not the same PIN" rule.
    pub current_pin: Option<Vec<u8>>,
    /// The last verdict: the IVR's, then any agent's (checklist, challenge).
    pub verified: Option<bool>,
    pub checklist: Option<ChecklistState>,
    /// The `otp` step's code, once sent.
    #[serde(default)]
    pub otp: Option<OtpPending>,
    /// Keypad questions answered right on this call, in either walk. None is asked twice.
    #[serde(default)]
    pub answered: Vec<Question>,
    /// Questions activation proved that no earlier answer had: what backs the PIN method
    /// when activation stands in for it.
    #[serde(default)]
    pub activation_proofs: u32,
    /// Activation's proofs the trust level's walk may still count for its own questions
    /// without asking again. Each fact counts once (see [`Tx::advance_walk`]).
    #[serde(default)]
    pub reusable: u32,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the IVR reports the hang-up, or the call expires.
    pub ended_at: Option<DateTime<Utc>>,
    /// Bumped by every change; the service refuses a change made against an older version.
    pub version: u64,
    /// The IVR's inputs this call has taken (`POST .../input` answers that moved the
    /// dialog). A STEP's `step` is this plus one, so that an IVR can tell a retried input
    /// from a new one (see [`StepView::step`]).
    #[serde(default)]
    pub inputs: u64,
}

/// What a call needs resolved before its next input can be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Nothing,
    Identifier,
    Pin,
    Question(Question),
    NewPin(Purpose),
    ConfirmPin,
    /// An `otp` step needs its code sent before anything is asked.
    SendCode,
    /// The code sent for the `otp` step.
    Code,
}

/// The result of looking a caller up.
#[derive(Debug, Clone, Copy)]
pub enum Found<'a> {
    One {
        member: &'a Member,
        has_pin: bool,
    },
    /// Nobody, several members, or digits that are no identifier.
    NoneOrMany,
    CoreUnavailable,
}

/// How a call arrives.
#[derive(Debug, Clone, Copy)]
pub enum Arrival<'a> {
    /// An app intent (token, or the announced phone within its TTL) names the member.
    Intent { member: &'a Member, has_pin: bool },
    /// The caller ID and what it found.
    Ani(Found<'a>),
    /// No caller ID (anonymous, restricted, ...) or the profile does not identify by ANI.
    NoCallerId,
}

/// The vault's answer to a keyed PIN, with the activation / PIN-change verdict.
#[derive(Debug, Clone)]
pub enum PinResult {
    /// `current`: the keyed PIN sealed to the call, when a PIN change follows.
    Correct {
        verdict: Verdict,
        current: Option<Vec<u8>>,
    },
    Wrong {
        tries_left: u32,
    },
    Locked,
    /// The member has no PIN; the verdict says whether activation covers that.
    NoPin {
        verdict: Verdict,
    },
}

/// One input, resolved by the service.
#[derive(Debug, Clone)]
pub enum Input<'a> {
    NoInput,
    OptOut,
    Identifier(Found<'a>),
    Pin(PinResult),
    /// A keyed answer to the current question, with the member's facts and their
    /// wrong-answer counter (shared by every call).
    Answer {
        digits: &'a str,
        member: &'a Member,
        counter: Counter,
    },
    /// The new PIN passed the policy and was sealed to the call, or why not.
    NewPin(Result<Vec<u8>, Rejection>),
    /// The confirmation matched and the PIN was stored, or why not.
    Confirm(Result<(), Rejection>),
    /// The new PIN keyed before the confirmation cannot be read back (the vault key it was
    /// sealed under was rotated away since): it is asked for again, and no try is used.
    NewPinLost,
    /// The `otp` step's code went out, or why it could not (`no_destination`,
    /// `no_channel`, `send_failed`, `too_many_codes`).
    CodeSent(Result<OtpPending, &'static str>),
    /// The keyed code, checked against its challenge.
    Code(CodeOutcome),
    CoreUnavailable,
    /// The core no longer knows the call's member: removed (an enrollment's delete, or a
    /// full file that left them out) since the call identified them.
    MemberGone,
}

/// What the dialog needs from the configuration besides the call's profile.
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    pub pin_policy: &'a PinPolicyConfig,
    /// Wrong keypad answers per member, across calls.
    pub answer_lockout: lockout::Policy,
    /// Tries at choosing a new PIN (policy refusals and confirmation mismatches).
    pub new_pin_attempts: u32,
    pub now: DateTime<Utc>,
}

/// One audit-worthy thing that happened (never digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogEvent {
    pub kind: EventKind,
    pub outcome: Outcome,
    pub detail: String,
}

/// The result of a step.
#[derive(Debug, Clone)]
pub struct Transition {
    pub call: Call,
    pub events: Vec<DialogEvent>,
    /// The member's wrong-answer counter after this step, when it changed.
    pub answer_counter: Option<Counter>,
    /// The run of wrong answers that locked the member on this very step (its
    /// `member_locked` event), for `callvault_members_locked_total`.
    pub locked: Option<Lock>,
}

/// Which run of wrong answers locked a member out: PINs (`lockout.max_wrong_pins`) or
/// keypad answers (`lockout.max_wrong_answers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Pins,
    Answers,
}

impl Lock {
    /// The metric's `by` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Lock::Pins => "pins",
            Lock::Answers => "answers",
        }
    }
}

impl Call {
    /// The caller ID, as far as it may vouch for the caller: none when the carrier's
    /// STIR/SHAKEN check failed it (a spoofed number's call is signed by no one who may
    /// use the number). The member it names is still found, and proves who they are as
    /// from any other number.
    pub fn trusted_ani(&self) -> Option<&str> {
        self.ani
            .as_deref()
            .filter(|_| self.caller_id_check != Some(CallerIdCheck::Failed))
    }
}

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

/// A new call's identity fields, as the service normalized them.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub call_id: String,
    pub ani: Option<String>,
    pub caller_id_check: Option<CallerIdCheck>,
    pub dnis: Option<String>,
    pub profile_name: String,
    pub profile: SharedProfile,
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
