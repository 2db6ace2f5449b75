//! An agent naming the caller's member on a call the IVR handed over without one: the caller
//! opted out, keyed nothing that matched, called from a number that names no one (or several
//! members), or the core was down. The agent identifies them by talking, as seed 004's agent
//! opens the customer's profile; the checklist and one-time codes then work on the call as
//! on any other. Pure: the service looks the member up and records what this returns.

use chrono::{DateTime, Utc};

use super::{Call, CallMember, DialogEvent, Phase, Transition, trust_for};
use crate::audit::{EventKind, Outcome};
use crate::member::Member;

/// Why an agent may not name a member on a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    /// The IVR's dialog is still running: the member is its to find.
    #[error(
        "call {0:?} is still at the IVR; name its member once the IVR has transferred the caller"
    )]
    AtIvr(String),
    /// The call has a member already, another one.
    #[error(
        "call {call_id:?} is member {on_call:?}'s (identified by {by}); another member cannot \
         be named on it: start the checklist or a code for {on_call:?}, or have the caller call \
         again"
    )]
    OtherMember {
        call_id: String,
        on_call: String,
        by: &'static str,
    },
}

/// Whether an agent may name `member_id` on `call`: `Ok(true)` when the call has that member
/// already (nothing to change), `Ok(false)` when it has none and the IVR is done with it.
pub fn may_name(call: &Call, member_id: &str) -> Result<bool, NamingError> {
    if !matches!(call.phase, Phase::Done { .. }) {
        return Err(NamingError::AtIvr(call.call_id.clone()));
    }
    match &call.member {
        None => Ok(false),
        Some(on_call) if on_call.member_id == member_id => Ok(true),
        Some(on_call) => Err(NamingError::OtherMember {
            call_id: call.call_id.clone(),
            on_call: on_call.member_id.clone(),
            by: if call.named_by_agent {
                "an agent"
            } else {
                "the IVR"
            },
        }),
    }
}

/// Name `member` as the caller of `call`, at `now`. The trust is what the call's number is
/// for that member, as when a caller keys an identifier: `known_number` from their verified
/// mobile (and `withdrawn_phones` left out), `unknown_number` otherwise. Naming the member the
/// call already has changes nothing (`Ok(None)`).
pub fn name_member(
    call: &Call,
    member: &Member,
    has_pin: bool,
    now: DateTime<Utc>,
) -> Result<Option<Transition>, NamingError> {
    if may_name(call, &member.member_id)? {
        return Ok(None);
    }
    let trust = trust_for(call.trusted_ani(), member);
    let mut next = call.clone();
    next.member = Some(CallMember::of(member, has_pin));
    next.trust = Some(trust);
    next.named_by_agent = true;
    next.updated_at = now;
    next.version += 1;
    Ok(Some(Transition {
        call: next,
        events: vec![DialogEvent {
            kind: EventKind::CallIdentified,
            outcome: Outcome::Ok,
            detail: format!("by an agent; trust {}", trust.as_str()),
        }],
        answer_counter: None,
        locked: None,
    }))
}
