//! `POST /v1/calls/{call_id}/member`: an agent names the caller's member on a call the IVR
//! handed over without one (the decision is [`dialog::agent::name_member`]'s). The checklist
//! and one-time codes then work on the call as on any other.

use super::{CallError, CallService, CallView, records};
use crate::dialog;

impl CallService {
    /// Name `member_id` as the caller of `call_id`; the call's screen pop after it. The member
    /// is looked up in the core (within `core.timeout_ms`) by that id, or else as the IVR
    /// finds a keyed member number ([`CallService::member_named`]).
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
        // refused before the core is asked while the IVR has the call; another member on it
        // is judged once the core says whom the id names (`123456` may be its `0000123456`)
        if let Err(e @ dialog::agent::NamingError::AtIvr(_)) =
            dialog::agent::may_name(&call, member_id)
        {
            return Err(CallError::Naming(e));
        }
        let timeout = self.config.load().core.timeout_ms;
        let (member, has_pin) = self
            .core_call(timeout, self.member_named(call.ani.as_deref(), member_id))
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

    /// The member `member_id` names, as the agent typed it, or else as the IVR finds that
    /// member number keyed: a core's export pads its numbers (`0000123456`) where the caller
    /// says `123456`, or the other way round. Only a number that names one member.
    async fn member_named(
        &self,
        ani: Option<&str>,
        member_id: &str,
    ) -> Result<Option<(crate::member::Member, bool)>, crate::core::CoreError> {
        if let Some(found) = self.member_on_number(ani, member_id).await? {
            return Ok(Some(found));
        }
        let kind = crate::core::IdentifierKind::MemberNumber;
        match self
            .core
            .find_by_identifier(kind, member_id)
            .await?
            .as_slice()
        {
            [one] if one != member_id => self.member_on_number(ani, one).await,
            _ => Ok(None),
        }
    }
}
