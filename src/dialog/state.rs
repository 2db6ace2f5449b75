//! The dialog's types: a call's state as it is stored ([`Call`]), what the service hands a
//! step ([`Input`], [`Arrival`], [`Rules`]) and what a step gives back ([`Transition`], its
//! [`DialogEvent`]s). The engine that moves a call from one state to the next is the
//! module above.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::answer;
use super::caller_id::CallerIdCheck;
use super::checklist::ChecklistState;
use crate::audit::{EventKind, Outcome};
use crate::config::PinPolicyConfig;
use crate::lockout::{self, Counter};
use crate::member::Member;
use crate::pin::{Rejection, Verdict};
use crate::profile::{Method, Profile, Question, SharedProfile, Step as ProfileStep};

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

pub(super) enum WalkNext {
    Ask(Method),
    Passed,
    Failed,
}

impl Walk {
    pub(super) fn new(methods: &[Method], min_correct: u32, attempts: u32) -> Walk {
        Walk {
            methods: methods.to_vec(),
            min_correct,
            attempts: attempts.max(1),
            index: 0,
            correct: 0,
            tries: 0,
        }
    }

    pub(super) fn next(&self) -> WalkNext {
        if self.correct >= self.min_correct {
            return WalkNext::Passed;
        }
        let left = self.methods.len().saturating_sub(self.index) as u32;
        match self.methods.get(self.index) {
            Some(m) if self.correct + left >= self.min_correct => WalkNext::Ask(*m),
            _ => WalkNext::Failed,
        }
    }

    pub(super) fn pass(&mut self) {
        self.correct += 1;
        self.index += 1;
        self.tries = 0;
    }

    pub(super) fn skip(&mut self) {
        self.index += 1;
        self.tries = 0;
    }

    /// A wrong answer; returns whether the method is used up.
    pub(super) fn wrong(&mut self) -> bool {
        self.tries += 1;
        if self.tries >= self.attempts {
            self.skip();
            true
        } else {
            false
        }
    }

    pub(super) fn current(&self) -> Option<Method> {
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
    /// ([`agent::name_member`](super::agent::name_member)), not found by the IVR.
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
    /// without asking again. Each fact counts once (see [`Tx::advance_walk`](super::Tx::advance_walk)).
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
    /// from a new one (see [`StepView::step`](super::StepView::step)).
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
