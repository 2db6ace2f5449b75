//! How calls, their caller-id index and members' verification verdicts sit in the store.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::index::{CallIndex, CallNumber};
use super::{ANSWER_ATTEMPTS, Swept, intents};
use crate::audit::{AuditEvent, EventKind, Outcome};
use crate::dialog::{self, Call, Ending, Phase, Transition};
use crate::store::{Store, StoreError, tables};

/// A member's last verification verdict: the IVR's or an agent's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Verification {
    pub verified: bool,
    pub at: DateTime<Utc>,
    pub call_id: String,
    /// `key:NAME` of the IVR or agent.
    pub by: String,
    /// `ivr:<level>`, `ivr:<reason>`, `checklist`, ...
    pub how: String,
}

fn decode(id: &str, bytes: &[u8]) -> Result<Call, StoreError> {
    decode_as(id, bytes)
}

/// A stored call, or the part of it `T` names.
fn decode_as<T: serde::de::DeserializeOwned>(id: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("call {id}: {e}")))
}

/// A call as last stored.
pub fn read_call(
    store: &Store,
    index: &CallIndex,
    call_id: &str,
) -> Result<Option<Call>, StoreError> {
    if index.number(call_id).is_none() {
        return Ok(None); // no read transaction for a call that does not exist
    }
    read_call_at(&store.begin_read()?, index, call_id)
}

/// As [`read_call`], in `txn`: for a view that reads more of the same snapshot.
pub fn read_call_at(
    txn: &ReadTransaction,
    index: &CallIndex,
    call_id: &str,
) -> Result<Option<Call>, StoreError> {
    if index.number(call_id).is_none() {
        return Ok(None);
    }
    read_from(&txn.open_table(tables::CALLS)?, index, call_id)
}

/// A call as last stored, with the row it was decoded from.
pub struct Seen {
    pub call: Call,
    pub(super) row: Vec<u8>,
}

/// As [`read_call`], keeping the row: a step that read the call on the request's thread
/// gives it to [`reread_in`] inside the write transaction.
pub fn read_seen(
    store: &Store,
    index: &CallIndex,
    call_id: &str,
) -> Result<Option<Seen>, StoreError> {
    let Some(number) = index.number(call_id) else {
        return Ok(None);
    };
    let txn = store.begin_read()?;
    let table = txn.open_table(tables::CALLS)?;
    let Some(value) = table.get(number)? else {
        return Ok(None);
    };
    let row = value.value().to_vec();
    Ok(Some(Seen {
        call: decode(call_id, &row)?,
        row,
    }))
}

/// The call as stored so far in the writer's transaction: `seen`'s call itself when the row
/// is still the one it was decoded from (compared byte for byte), so that the one writer does
/// not decode it a second time; otherwise the row decoded afresh.
pub fn reread_in(
    txn: &WriteTransaction,
    index: &CallIndex,
    call_id: &str,
    seen: Seen,
) -> Result<Option<Call>, StoreError> {
    let Some(number) = index.number(call_id) else {
        return Ok(None);
    };
    let table = txn.open_table(tables::CALLS)?;
    let Some(value) = table.get(number)? else {
        return Ok(None);
    };
    if value.value() == seen.row.as_slice() {
        return Ok(Some(seen.call));
    }
    decode(call_id, value.value()).map(Some)
}

/// A call as stored so far in the writer's transaction.
pub fn read_call_in(
    txn: &WriteTransaction,
    index: &CallIndex,
    call_id: &str,
) -> Result<Option<Call>, StoreError> {
    read_from(&txn.open_table(tables::CALLS)?, index, call_id)
}

fn read_from(
    table: &impl ReadableTable<CallNumber, &'static [u8]>,
    index: &CallIndex,
    call_id: &str,
) -> Result<Option<Call>, StoreError> {
    let Some(number) = index.number(call_id) else {
        return Ok(None);
    };
    let value = table.get(number)?;
    value.map(|v| decode(call_id, v.value())).transpose()
}

/// Record a starting call's number (from [`CallIndex::reserve`]) with its id and caller ID,
/// before its row is written.
pub fn number_call(
    txn: &WriteTransaction,
    number: CallNumber,
    call: &Call,
) -> Result<(), StoreError> {
    txn.open_table(tables::CALL_IDS)?.insert(
        number,
        (call.call_id.as_str(), call.ani.as_deref().unwrap_or("")),
    )?;
    Ok(())
}

/// A call as the store keeps it.
pub fn encode_call(call: &Call) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(call)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode call {}: {e}", call.call_id)))
}

pub fn write_call(
    txn: &WriteTransaction,
    index: &CallIndex,
    call: &Call,
) -> Result<(), StoreError> {
    write_encoded(txn, index, call, &encode_call(call)?)
}

/// Store `row`, the encoded `call`, under the call's number, and tell the index how the call
/// stands.
fn write_encoded(
    txn: &WriteTransaction,
    index: &CallIndex,
    call: &Call,
    row: &[u8],
) -> Result<(), StoreError> {
    let number = index
        .number(&call.call_id)
        .ok_or_else(|| StoreError::Corrupt(format!("call {} has no number", call.call_id)))?;
    txn.open_table(tables::CALLS)?.insert(number, row)?;
    index.touched(number, call.updated_at, call.ended_at.is_some());
    Ok(())
}

/// An audit event about a call, with its id and member.
pub fn event_for(call: &Call, actor: &str, kind: EventKind, outcome: Outcome) -> AuditEvent {
    let mut e = AuditEvent::new(actor, kind, outcome).call(call.call_id.clone());
    if let Some(m) = &call.member {
        e = e.member(m.member_id.clone());
    }
    e
}

/// The member's last verdict, in `txn`: read in the same snapshot as the call it is shown
/// with, so that a screen pop never pairs a call with a verdict from before or after it.
pub fn verification(
    txn: &ReadTransaction,
    member_id: &str,
) -> Result<Option<Verification>, StoreError> {
    let table = txn.open_table(tables::VERIFICATIONS)?;
    let value = table.get(member_id)?;
    value
        .map(|v| {
            serde_json::from_slice(v.value())
                .map_err(|e| StoreError::Corrupt(format!("verification of {member_id}: {e}")))
        })
        .transpose()
}

pub fn set_verification(
    txn: &WriteTransaction,
    member_id: &str,
    v: &Verification,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(v)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode a verification: {e}")))?;
    txn.open_table(tables::VERIFICATIONS)?
        .insert(member_id, bytes.as_slice())?;
    Ok(())
}

/// Forget the last verdicts of members callvault no longer holds, in the caller's
/// transaction (see `crate::vault::forget_members`).
pub(crate) fn forget_verifications<'a>(
    txn: &WriteTransaction,
    member_ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::VERIFICATIONS)?;
    for id in member_ids {
        table.remove(id)?;
    }
    Ok(())
}

/// Store a dialog step: the call, the member's wrong-answer counter, and (when the dialog
/// just ended) the member's verdict. Returns the step's audit events.
pub fn save_step(
    txn: &WriteTransaction,
    index: &CallIndex,
    t: &Transition,
    before: Option<&Call>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<AuditEvent>, StoreError> {
    save_encoded_step(txn, index, t, &encode_call(&t.call)?, before, actor, now)
}

/// As [`save_step`], with the call already encoded by [`encode_call`]: a step known before
/// the write transaction (a call start) is encoded on the request's thread, not the one
/// writer's.
pub fn save_encoded_step(
    txn: &WriteTransaction,
    index: &CallIndex,
    t: &Transition,
    row: &[u8],
    before: Option<&Call>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<AuditEvent>, StoreError> {
    write_encoded(txn, index, &t.call, row)?;
    let member_id = t.call.member.as_ref().map(|m| m.member_id.as_str());
    if let (Some(m), Some(counter)) = (member_id, t.answer_counter) {
        let mut attempts = txn.open_table(tables::ATTEMPTS)?;
        crate::vault::write_counter(&mut attempts, m, ANSWER_ATTEMPTS, counter)?;
    }
    let was_done = before.is_some_and(dialog::is_done);
    if let (
        Some(m),
        false,
        Phase::Done {
            ending,
            reason,
            level,
        },
    ) = (member_id, was_done, &t.call.phase)
    {
        if *ending == Ending::Authenticated {
            // a verified caller starts afresh on questions
            txn.open_table(tables::ATTEMPTS)?
                .remove((m, ANSWER_ATTEMPTS))?;
        }
        // the IVR's own verdict only: an ending that is none (an opt-out, the core down)
        // leaves the verdict an agent gave on this call as the agent recorded it
        if let Some(verified) = dialog::ivr_verdict(*ending, *reason) {
            let how = match (level, reason) {
                (Some(l), _) => format!("ivr:{}", dialog::level_name(*l)),
                (_, Some(r)) => format!("ivr:{}", r.as_str()),
                _ => "ivr:caller_id".into(),
            };
            set_verification(
                txn,
                m,
                &Verification {
                    verified,
                    at: now,
                    call_id: t.call.call_id.clone(),
                    by: actor.to_string(),
                    how,
                },
            )?;
        }
    }
    Ok(t.events
        .iter()
        .map(|e| event_for(&t.call, actor, e.kind, e.outcome).detail(e.detail.clone()))
        .collect())
}

/// The first `limit` stored calls of `numbers` that `keep` takes, in that order; the rest
/// are not read.
pub fn calls_in(
    txn: &ReadTransaction,
    numbers: impl IntoIterator<Item = CallNumber>,
    limit: usize,
    keep: impl Fn(&Call) -> bool,
) -> Result<Vec<Call>, StoreError> {
    let calls = txn.open_table(tables::CALLS)?;
    let mut out = Vec::new();
    for number in numbers {
        if out.len() >= limit {
            break;
        }
        if let Some(v) = calls.get(number)? {
            let call = decode(&format!("number {number}"), v.value())?;
            if keep(&call) {
                out.push(call);
            }
        }
    }
    Ok(out)
}

/// The first `limit` stored calls that `keep` takes, the newest first (numbers follow the
/// order calls start in); the older ones are not read.
pub fn newest_calls(
    txn: &ReadTransaction,
    limit: usize,
    keep: impl Fn(&Call) -> bool,
) -> Result<Vec<Call>, StoreError> {
    let calls = txn.open_table(tables::CALLS)?;
    let mut out = Vec::new();
    for row in calls.iter()?.rev() {
        if out.len() >= limit {
            break;
        }
        let (number, v) = row?;
        let call = decode(&format!("number {}", number.value()), v.value())?;
        if keep(&call) {
            out.push(call);
        }
    }
    Ok(out)
}

/// What a sweep's write did to the calls, for the in-memory index: the id, caller ID and
/// number of each call deleted, and the numbers of the calls it closed or found closed.
#[derive(Debug, Default)]
pub struct Deleted {
    pub deleted: Vec<(String, Option<String>, CallNumber)>,
    pub closed: Vec<CallNumber>,
    /// How the calls it closed before their dialog ended count in `/metrics`.
    pub unfinished: Vec<super::tally::Finish>,
}

/// The times a sweep looks at; the rest of a stored call is skipped unread.
#[derive(Deserialize)]
struct Times {
    started_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

/// What a sweep does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    /// Live, but without a step since `idle_before`: close it.
    Expire,
    /// Closed before `keep_after`: delete it.
    Delete,
}

pub(super) fn due_now(
    updated_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    idle_before: DateTime<Utc>,
    keep_after: DateTime<Utc>,
) -> Option<Due> {
    match ended_at {
        None if updated_at < idle_before => Some(Due::Expire),
        Some(ended) if ended < keep_after => Some(Due::Delete),
        _ => None,
    }
}

/// What a sweep's read of the stored calls found: the calls it would close or delete, and
/// the calls still open, with their last step.
#[derive(Debug, Default)]
pub struct Scan {
    pub due: Vec<CallNumber>,
    pub open: Vec<(CallNumber, DateTime<Utc>)>,
    /// Rows read.
    pub read: u64,
}

/// How much of the stored calls a sweep reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every call: the first sweep after a start, which also learns which calls are open.
    All,
    /// The calls started before `keep_after`. Calls are numbered in the order they start,
    /// so these are the first rows, and the read stops at the first call started since: no
    /// call started after `keep_after` can have ended before it. (Idle calls among the later
    /// ones are found in memory: [`CallIndex::idle`].)
    Oldest,
}

/// The stored calls a sweep would close or delete, and with [`Reach::All`] those open; the
/// rest of each row is skipped unread. In a read transaction, so that the scan never holds
/// up the one writer (a step may still change a call before [`sweep`] gets to it; `sweep`
/// checks again).
pub fn scan(
    store: &Store,
    reach: Reach,
    idle_before: DateTime<Utc>,
    keep_after: DateTime<Utc>,
) -> Result<Scan, StoreError> {
    let mut scan = Scan::default();
    let txn = store.begin_read()?;
    let table = txn.open_table(tables::CALLS)?;
    for row in table.iter()? {
        if scan.read % 1024 == 1023 && store.scans_stopped() {
            return Err(store.stop_error());
        }
        let (k, v) = row?;
        let number = k.value();
        let t: Times = decode_as(&format!("number {number}"), v.value())?;
        scan.read += 1;
        if reach == Reach::Oldest && t.started_at >= keep_after {
            break;
        }
        if due_now(t.updated_at, t.ended_at, idle_before, keep_after).is_some() {
            scan.due.push(number);
        }
        if reach == Reach::All && t.ended_at.is_none() {
            scan.open.push((number, t.updated_at));
        }
    }
    Ok(scan)
}

/// Close the calls of these numbers that are still idle and delete those closed before
/// `keep_after`; a call that took a step since a scan found it, or is already gone, is
/// left alone. With `intents`, expired app intents are dropped too, and so are challenges
/// created before `keep_after` (and the send counts of members with no send in the last
/// hour). Also says which calls it deleted and which it closed or found closed.
pub fn sweep(
    txn: &WriteTransaction,
    numbers: &[CallNumber],
    intents: bool,
    now: DateTime<Utc>,
    idle_before: DateTime<Utc>,
    keep_after: DateTime<Utc>,
) -> Result<((Swept, Deleted), Vec<AuditEvent>), StoreError> {
    let mut swept = Swept::default();
    let mut deleted = Deleted::default();
    let mut events = Vec::new();
    let mut calls = txn.open_table(tables::CALLS)?;
    let mut ids = txn.open_table(tables::CALL_IDS)?;
    for &number in numbers {
        let Some(mut call) = calls
            .get(number)?
            .map(|v| decode(&format!("number {number}"), v.value()))
            .transpose()?
        else {
            deleted.closed.push(number);
            continue;
        };
        if call.ended_at.is_some() {
            deleted.closed.push(number);
        }
        match due_now(call.updated_at, call.ended_at, idle_before, keep_after) {
            Some(Due::Expire) => {
                deleted
                    .unfinished
                    .extend(super::tally::closed(&call, super::tally::Close::Expired));
                call.ended_at = Some(now);
                call.current_pin = None;
                call.version += 1;
                calls.insert(number, encode_call(&call)?.as_slice())?;
                deleted.closed.push(number);
                events.push(
                    event_for(&call, "system", EventKind::CallExpired, Outcome::Ok)
                        .detail("no step for calls.idle_minutes"),
                );
                swept.expired += 1;
            }
            Some(Due::Delete) => {
                calls.remove(number)?;
                ids.remove(number)?;
                deleted.deleted.push((call.call_id, call.ani, number));
                swept.deleted += 1;
            }
            None => {}
        }
    }
    drop((calls, ids));
    if intents {
        swept.intents_deleted = intents::sweep(txn, now)?;
        swept.challenges_deleted = super::challenges::sweep(txn, now, keep_after)?;
    }
    Ok(((swept, deleted), events))
}
