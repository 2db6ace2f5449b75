//! `POST /v1/calls/{call_id}/member`: an agent names the caller's member on a call the IVR
//! handed over without one (the decision is [`dialog::agent::name_member`]'s). The checklist
//! and one-time codes then work on the call as on any other.

use super::{CallError, CallService, CallView, records};
use crate::dialog;

impl CallService {
    /// Name `member_id` as the caller of `call_id`; the call's screen pop after it. The member
    /// is looked up in the core as a keyed identifier is (within `core.timeout_ms`).
    pub async fn name_member(
        &self,
        call_id: &str,
        member_id: &str,
        actor: &str,
    ) -> Result<CallView, CallError> {
        // it changes the call: after an IVR input in hand on it
        let _turn = self.turns.take(call_id).await;
        let call = records::read_call(&self.store, &self.index, call_id)?
            .ok_or_else(|| CallError::NotFound(call_id.to_string()))?;
        if call.ended_at.is_some() {
            return Err(CallError::Ended(call_id.to_string()));
        }
        // refused before the core is asked when its answer cannot change that
        dialog::agent::may_name(&call, member_id).map_err(CallError::Naming)?;
        let timeout = self.config.load().core.timeout_ms;
        let (member, has_pin) = self
            .core_call(
                timeout,
                self.member_on_number(call.ani.as_deref(), member_id),
            )
            .await
            .map_err(|e| CallError::CoreUnavailable(e.to_string()))?
            .ok_or_else(|| CallError::NoSuchMember(member_id.to_string()))?;
        let id = call_id.to_string();
        let index = self.index.clone();
        let actor = actor.to_string();
        let now = self.clock.now();
        self.audit
            .transact(move |txn| {
                let Some(call) = records::read_call_in(txn, &index, &id)? else {
                    return Ok((Err(CallError::NotFound(id.clone())), vec![]));
                };
                if call.ended_at.is_some() {
                    return Ok((Err(CallError::Ended(id.clone())), vec![]));
                }
                let named = match dialog::agent::name_member(&call, &member, has_pin, now) {
                    Ok(Some(t)) => t,
                    Ok(None) => return Ok((Ok(()), vec![])),
                    Err(e) => return Ok((Err(CallError::Naming(e)), vec![])),
                };
                records::write_call(txn, &index, &named.call)?;
                let events = named
                    .events
                    .into_iter()
                    .map(|e| {
                        records::event_for(&named.call, &actor, e.kind, e.outcome).detail(e.detail)
                    })
                    .collect();
                Ok((Ok(()), events))
            })
            .await
            .map_err(CallError::Audit)?
            .0?;
        self.view(call_id)
    }
}
