//! The agent's checklist (seed 004): the questions for the call's trust level, with the
//! answers on record shown to the agent (each reveal audited), the agent's ticks, and the
//! verdict that marks the call and the member Verified / Not Verified.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::records::{self, Verification};
use super::{CallError, CallService, tally};
use crate::audit::{AuditEvent, EventKind, Outcome};
use crate::dialog::{self, Call, ChecklistState, Trust, checklist};
use crate::member::Member;
use crate::profile::{Profile, Question};
use crate::store::StoreError;

/// One row of an agent's checklist.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChecklistQuestion {
    pub id: Question,
    pub text: String,
    /// The answer on record; shown to the `agent` role only (every reveal is audited).
    pub expected: Option<String>,
    /// `null` until ticked.
    pub correct: Option<bool>,
}

/// The checklist as the agent's screen shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChecklistView {
    pub questions: Vec<ChecklistQuestion>,
    pub required: u32,
    pub correct: u32,
    pub answered: u32,
    pub total: u32,
    pub result: checklist::Verdict,
    /// What the agent's screen says of the verdict (seed 004's "Congratulations - Customer
    /// is fully authenticated", or its "Unfortunately we cannot proceed ..."; the profile's
    /// `agent_texts` may reword both); null while pending.
    pub message: Option<String>,
}

impl CallService {
    /// `POST /v1/calls/{call_id}/checklist`: the questions for the call's trust level. With
    /// `reveal`, each expected answer is shown and its reveal audited. A call the caller has
    /// hung up (or that expired) is `Ended`: its screen pop still shows the checklist as it
    /// stood, without the answers.
    pub async fn checklist(
        &self,
        call_id: &str,
        reveal: bool,
        actor: &str,
    ) -> Result<ChecklistView, CallError> {
        // it may change the call: after an IVR input in hand on it
        let _turn = self.turns.take(call_id).await;
        let call = records::read_call(&self.store, &self.index, call_id)?
            .ok_or_else(|| CallError::NotFound(call_id.to_string()))?;
        // the caller has hung up: no one to ask, so no answers to show
        if call.ended_at.is_some() {
            return Err(CallError::Ended(call_id.to_string()));
        }
        let Some(cm) = call.member.clone() else {
            return Err(CallError::NoMember(call_id.to_string()));
        };
        let timeout = self.config.load().core.timeout_ms;
        let member = self
            .core_call(timeout, self.core.member(&cm.member_id))
            .await
            .map_err(|e| CallError::CoreUnavailable(e.to_string()))?
            .ok_or_else(|| CallError::NoSuchMember(cm.member_id.clone()))?;
        let id = call_id.to_string();
        let index = self.index.clone();
        let actor = actor.to_string();
        let now = self.clock.now();
        let m2 = member.clone();
        let state = self
            .audit
            .transact(move |txn| {
                let Some(mut call) = records::read_call_in(txn, &index, &id)? else {
                    return Ok((Err(CallError::NotFound(id.clone())), vec![]));
                };
                if call.ended_at.is_some() {
                    // hung up since it was read above
                    return Ok((Err(CallError::Ended(id.clone())), vec![]));
                }
                let trust = call.trust.unwrap_or(Trust::UnknownNumber);
                let mut events = Vec::new();
                let mut decided = false;
                let state = match &call.checklist {
                    Some(s) => s.clone(),
                    None => {
                        let list = trust.checklist(&call.profile);
                        let s = ChecklistState::start(list, |q| dialog::answer::answerable(q, &m2));
                        // decided before a question: nothing to ask at this trust level, or
                        // a record that cannot answer enough questions
                        let why = if s.questions.is_empty() && s.required == 0 {
                            format!(" (nothing to ask at trust {})", trust.as_str())
                        } else {
                            format!(
                                " (the member's record answers {} of the {} questions, {} needed)",
                                s.questions.len(),
                                list.questions.len(),
                                s.required
                            )
                        };
                        let verdict = checklist_verdict(txn, &mut call, &s, &actor, now, &why)?;
                        decided = !verdict.is_empty();
                        events.extend(verdict);
                        call.checklist = Some(s.clone());
                        call.version += 1;
                        call.updated_at = now;
                        records::write_call(txn, &index, &call)?;
                        s
                    }
                };
                if reveal {
                    for q in &state.questions {
                        events.push(
                            records::event_for(
                                &call,
                                &actor,
                                EventKind::AnswerRevealed,
                                Outcome::Ok,
                            )
                            .detail(format!(
                                "checklist {}: {}",
                                trust.as_str(),
                                q.as_str()
                            )),
                        );
                    }
                }
                Ok((Ok((state, decided, call.profile.clone())), events))
            })
            .await
            .map_err(CallError::Audit)?
            .0?;
        let (state, decided, profile) = state;
        if decided {
            tally::record_verdict(
                "checklist",
                "",
                state.verdict() == checklist::Verdict::Verified,
            );
        }
        Ok(checklist_view(&state, &profile, reveal.then_some(&member)))
    }

    /// `POST /v1/calls/{call_id}/checklist/{question_id}`: the agent's tick. A verdict marks
    /// the call and the member Verified / Not Verified. None on a call that has ended.
    pub async fn tick(
        &self,
        call_id: &str,
        question: Question,
        correct: bool,
        actor: &str,
    ) -> Result<ChecklistView, CallError> {
        // it changes the call: after an IVR input in hand on it
        let _turn = self.turns.take(call_id).await;
        let id = call_id.to_string();
        let index = self.index.clone();
        let actor = actor.to_string();
        let now = self.clock.now();
        let state = self
            .audit
            .transact(move |txn| {
                let Some(mut call) = records::read_call_in(txn, &index, &id)? else {
                    return Ok((Err(CallError::NotFound(id.clone())), vec![]));
                };
                if call.ended_at.is_some() {
                    return Ok((Err(CallError::Ended(id.clone())), vec![]));
                }
                let Some(state) = &call.checklist else {
                    return Ok((Err(CallError::NoChecklist(id.clone())), vec![]));
                };
                let next = match state.tick(question, correct) {
                    Ok(n) => n,
                    Err(e) => return Ok((Err(e.into()), vec![])),
                };
                let mut events = vec![
                    records::event_for(
                        &call,
                        &actor,
                        EventKind::ChecklistAnswered,
                        if correct {
                            Outcome::Ok
                        } else {
                            Outcome::Failed
                        },
                    )
                    .detail(format!(
                        "{}: {}",
                        question.as_str(),
                        if correct { "correct" } else { "wrong" }
                    )),
                ];
                events.extend(checklist_verdict(txn, &mut call, &next, &actor, now, "")?);
                call.checklist = Some(next.clone());
                call.version += 1;
                call.updated_at = now;
                records::write_call(txn, &index, &call)?;
                Ok((Ok((next, call.profile.clone())), events))
            })
            .await
            .map_err(CallError::Audit)?
            .0?;
        let (state, profile) = state;
        // a tick on a decided checklist is refused, so a verdict here is a new one
        if state.verdict() != checklist::Verdict::Pending {
            tally::record_verdict(
                "checklist",
                "",
                state.verdict() == checklist::Verdict::Verified,
            );
        }
        Ok(checklist_view(&state, &profile, None))
    }
}

/// A checklist that has its verdict marks the call and the member Verified / Not Verified
/// (seed 004) and says so in the audit log; a pending one changes nothing. `why` is added
/// to the event's detail.
fn checklist_verdict(
    txn: &redb::WriteTransaction,
    call: &mut Call,
    state: &ChecklistState,
    actor: &str,
    now: DateTime<Utc>,
    why: &str,
) -> Result<Vec<AuditEvent>, StoreError> {
    let verdict = state.verdict();
    if verdict == checklist::Verdict::Pending {
        return Ok(vec![]);
    }
    let verified = verdict == checklist::Verdict::Verified;
    call.verified = Some(verified);
    if let Some(m) = &call.member {
        records::set_verification(
            txn,
            &m.member_id,
            &Verification {
                verified,
                at: now,
                call_id: call.call_id.clone(),
                by: actor.to_string(),
                how: "checklist".into(),
            },
        )?;
    }
    let (outcome, said) = match verified {
        true => (Outcome::Ok, "checklist: verified"),
        false => (Outcome::Denied, "checklist: not verified"),
    };
    Ok(vec![
        records::event_for(call, actor, EventKind::MemberVerified, outcome)
            .detail(format!("{said}{why}")),
    ])
}

/// The checklist as the agent's screen shows it, in the words of the call's profile.
pub(super) fn checklist_view(
    state: &ChecklistState,
    profile: &Profile,
    reveal: Option<&Member>,
) -> ChecklistView {
    let result = state.verdict();
    let message = match result {
        checklist::Verdict::Pending => None,
        checklist::Verdict::Verified => Some(profile.agent_text("verified", "")),
        checklist::Verdict::NotVerified => Some(profile.agent_text("not_verified", "")),
    };
    ChecklistView {
        questions: state
            .questions
            .iter()
            .zip(&state.answers)
            .map(|(q, a)| ChecklistQuestion {
                id: *q,
                text: profile.agent_text(q.as_str(), dialog::answer::question_text(*q)),
                expected: reveal.and_then(|m| dialog::answer::expected_text(*q, m)),
                correct: *a,
            })
            .collect(),
        required: state.required,
        correct: state.correct(),
        answered: state.answered(),
        total: state.questions.len() as u32,
        result,
        message,
    }
}
