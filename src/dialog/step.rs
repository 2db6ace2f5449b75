//! The STEP: the one next thing the IVR must do, as API.md fixes it (a flat object with a
//! stable key set), made from a call's state.

use serde::{Deserialize, Serialize};

use super::{
    Call, Ending, Field, Level, Phase, Reason, Rules, Status, Trust, Walk, answer, status,
};
use crate::profile::{Method, Question};

/// The flat STEP answer the IVR executes: the same keys every time, `null` where a key does
/// not apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepView {
    pub call_id: String,
    pub status: Status,
    /// `collect` or `done`.
    pub kind: String,
    pub field: Option<Field>,
    pub question: Option<Question>,
    /// A stable prompt key the IVR maps to audio.
    pub prompt: Option<String>,
    pub min_digits: Option<u32>,
    pub max_digits: Option<u32>,
    pub attempts_left: Option<u32>,
    pub outcome: Option<Ending>,
    pub reason: Option<Reason>,
    /// The proof an authenticated call gave. Null while the dialog goes on, on a transfer,
    /// and for a call a profile authenticates on a verified phone's caller ID alone
    /// (`known_number` with no methods), which proves nothing a level names.
    pub level: Option<Level>,
    pub member_id: Option<String>,
    pub first_name: Option<String>,
    pub trust: Option<Trust>,
    /// Why the previous input was not accepted: `not_found`, `wrong_pin`, `wrong_answer`,
    /// `no_input`, `wrong_code`, `code_expired`, a new-PIN rule (`common_pin`,
    /// `confirm_mismatch`, ...), or `new_pin_not_kept` (asked again after a vault key
    /// rotation). An addition to
    /// the contract: IVRs may ignore it.
    pub error: Option<String>,
    /// This STEP's number in the call: 1 for the answer to the start, one more for every
    /// input the call has taken. An input that sends it back (`"step": n`) is taken only if
    /// the call is still at STEP n; sent again after it was taken (a retry after a lost
    /// answer), it gets the call's current STEP and counts nothing twice. An addition to
    /// the contract: IVRs may ignore it.
    pub step: u64,
}

/// The keypad length bounds for a PIN the caller keys (the current one may predate the
/// policy, so the bounds are wider than the policy's).
const PIN_KEYED_BOUNDS: (u32, u32) = (4, 12);
const IDENTIFIER_BOUNDS: (u32, u32) = (4, 19);

/// The most of a first name a STEP carries (an IVR greets with it; a core's field may hold
/// anything): 64 characters and 128 bytes of UTF-8, so that a STEP stays under API.md's
/// 2 KiB even as `k=v` pairs, where every byte of a non-ASCII character takes three.
const STEP_NAME_CHARS: usize = 64;
const STEP_NAME_BYTES: usize = 128;

/// `name` as a STEP carries it: no control characters, whole characters only, within
/// [`STEP_NAME_CHARS`] and [`STEP_NAME_BYTES`].
pub(super) fn step_name(name: &str) -> String {
    let mut out = String::new();
    for c in name
        .chars()
        .filter(|c| !c.is_control())
        .take(STEP_NAME_CHARS)
    {
        if out.len() + c.len_utf8() > STEP_NAME_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

/// The STEP for a call's current state.
pub fn step_view(call: &Call, rules: &Rules<'_>) -> StepView {
    let policy = rules.pin_policy;
    let member_id = call.member.as_ref().map(|m| m.member_id.clone());
    // a core's "first name unknown" (FNU) is not read out in a greeting
    let first_name = call
        .member
        .as_ref()
        .and_then(|m| m.first_name.as_deref())
        .filter(|n| !super::answer::unknown_word(n))
        .map(step_name);
    let mut v = StepView {
        call_id: call.call_id.clone(),
        status: status(call),
        kind: "collect".into(),
        field: None,
        question: None,
        prompt: None,
        min_digits: None,
        max_digits: None,
        attempts_left: None,
        outcome: None,
        reason: None,
        level: None,
        member_id,
        first_name,
        trust: call.trust,
        error: call.error.clone(),
        step: call.inputs.saturating_add(1),
    };
    let prompt = |key: &str| call.profile.prompt(key);
    let collect = |v: &mut StepView,
                   field,
                   question: Option<Question>,
                   key: &str,
                   (lo, hi): (u32, u32),
                   left: u32| {
        v.field = Some(field);
        v.question = question;
        v.prompt = Some(prompt(key));
        v.min_digits = Some(lo);
        v.max_digits = Some(hi);
        v.attempts_left = Some(left);
    };
    match &call.phase {
        Phase::Identifying { attempts_used, .. } => collect(
            &mut v,
            Field::Identifier,
            None,
            "identifier",
            IDENTIFIER_BOUNDS,
            call.profile
                .identify_attempts
                .saturating_sub(*attempts_used),
        ),
        Phase::Verifying => {
            let walk = call.walk.as_ref();
            let left = walk.map_or(0, |w| w.attempts.saturating_sub(w.tries));
            match walk.and_then(Walk::current) {
                Some(Method::Pin) => {
                    let left = call.pin_tries_left.map_or(left, |t| t.min(left));
                    collect(&mut v, Field::Pin, None, "pin", PIN_KEYED_BOUNDS, left)
                }
                Some(Method::Otp) => {
                    if let Some(p) = &call.otp {
                        let digits = crate::challenge::CODE_DIGITS;
                        collect(
                            &mut v,
                            Field::Code,
                            None,
                            "otp",
                            (digits, digits),
                            p.checks_left,
                        )
                    }
                }
                Some(m) => {
                    if let Some(q) = m.question() {
                        collect(
                            &mut v,
                            Field::Question,
                            Some(q),
                            q.as_str(),
                            answer::digit_bounds(q),
                            left,
                        )
                    }
                }
                None => {}
            }
        }
        Phase::Activating { walk, .. } => {
            if let Some(q) = walk.current().and_then(Method::question) {
                collect(
                    &mut v,
                    Field::Question,
                    Some(q),
                    q.as_str(),
                    answer::digit_bounds(q),
                    walk.attempts.saturating_sub(walk.tries),
                )
            }
        }
        Phase::NewPin { attempts_used, .. } | Phase::ConfirmPin { attempts_used, .. } => {
            let (field, key) = match call.phase {
                Phase::NewPin { .. } => (Field::NewPin, "new_pin"),
                _ => (Field::ConfirmPin, "confirm_pin"),
            };
            collect(
                &mut v,
                field,
                None,
                key,
                (policy.min_length, policy.max_length),
                rules.new_pin_attempts.max(1).saturating_sub(*attempts_used),
            )
        }
        Phase::Done {
            ending,
            reason,
            level,
        } => {
            v.kind = "done".into();
            v.outcome = Some(*ending);
            v.reason = *reason;
            v.level = *level;
        }
    }
    v
}
