//! Forgetting the members a run deleted: each one's PIN record, wrong-answer counters and
//! last verdict. A member id that comes back later, or is given to someone else, must not
//! bring the old member's PIN along, and a member who left must not keep one.
//!
//! Forgetting 90,000 members took 0.6 s of the store's one writer, so it is not done in the
//! run's last transaction. That transaction only queues the deleted ids (one value in the
//! meta table), and they are forgotten after it in slices, a pause after each, like the rest
//! of a staged run. A crash between leaves the queue: lookups cannot reach those records
//! (their members are gone), and the next run drains it before it reads its file, so a
//! member it adds again starts without the old PIN. Runs take turns, and only runs add
//! members, so nothing can bring a queued member back first.

use chrono::Utc;
use redb::{ReadableTable, WriteTransaction};

use super::Progress;
use super::staged::Slices;
use crate::audit::{AuditEvent, EventKind, Outcome, append_in};
use crate::store::{Store, StoreError, tables};

/// The ids still to forget, a postcard `Vec<String>` in the meta table.
const QUEUE_KEY: &str = "enroll_forget_queue";

/// What a drain forgot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// Queued members that were not enrolled, whatever records they had.
    pub members: u64,
    /// Of those, the ones that had a PIN record.
    pub pins: u64,
}

fn decode(bytes: &[u8]) -> Result<Vec<String>, StoreError> {
    postcard::from_bytes(bytes)
        .map_err(|e| StoreError::Corrupt(format!("the queue of members to forget: {e}")))
}

fn read_queue(txn: &WriteTransaction) -> Result<Vec<String>, StoreError> {
    let meta = txn.open_table(tables::META)?;
    let value = meta.get(QUEUE_KEY)?;
    Ok(value
        .map(|v| decode(v.value()))
        .transpose()?
        .unwrap_or_default())
}

fn write_queue(txn: &WriteTransaction, ids: &[String]) -> Result<(), StoreError> {
    let mut meta = txn.open_table(tables::META)?;
    if ids.is_empty() {
        meta.remove(QUEUE_KEY)?;
        return Ok(());
    }
    let bytes = postcard::to_allocvec(ids)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode the members to forget: {e}")))?;
    meta.insert(QUEUE_KEY, bytes.as_slice())?;
    Ok(())
}

/// Queue `deleted` to be forgotten, in the run's last transaction.
pub fn queue(txn: &WriteTransaction, deleted: &[String]) -> Result<(), StoreError> {
    if deleted.is_empty() {
        return Ok(());
    }
    let mut ids = read_queue(txn)?;
    ids.extend_from_slice(deleted);
    write_queue(txn, &ids)
}

/// Forget the queued members, `slices.rows` per transaction, each in the transaction that
/// takes it off the queue. A queued member who is enrolled again is left alone. The last slice
/// carries a `members_forgotten` audit record when there was anything to forget.
pub fn drain(
    store: &Store,
    slices: Slices,
    actor: &str,
    progress: &dyn Progress,
) -> Result<Forgotten, StoreError> {
    let mut total = Forgotten::default();
    let queued = {
        let txn = store.begin_read()?;
        let meta = txn.open_table(tables::META)?;
        let value = meta.get(QUEUE_KEY)?;
        value
            .map(|v| decode(v.value()))
            .transpose()?
            .map_or(0, |ids| ids.len())
    };
    if queued == 0 {
        return Ok(total);
    }
    progress.phase("forgetting", queued as u64);
    loop {
        let txn = store.begin_write()?;
        let step = (|| {
            let mut ids = read_queue(&txn)?;
            if ids.is_empty() {
                return Ok(None);
            }
            let rest = ids.split_off(ids.len().min(slices.rows.max(1)));
            let forgotten = forget(&txn, &ids)?;
            write_queue(&txn, &rest)?;
            let done = rest.is_empty();
            if done {
                let sum = Forgotten {
                    members: total.members + forgotten.members,
                    pins: total.pins + forgotten.pins,
                };
                let detail = format!("members={} pins={}", sum.members, sum.pins);
                let event = AuditEvent::new(actor, EventKind::MembersForgotten, Outcome::Ok);
                append_in(&txn, Utc::now(), [event.detail(detail)])?;
            }
            Ok(Some((forgotten, done)))
        })();
        match step {
            Ok(None) => {
                drop(txn);
                return Ok(total);
            }
            Ok(Some((forgotten, done))) => {
                txn.commit()?;
                total.members += forgotten.members;
                total.pins += forgotten.pins;
                progress.advance_to(total.members);
                if done {
                    return Ok(total);
                }
                std::thread::sleep(slices.pause);
            }
            Err(e) => {
                txn.failed(&e);
                return Err(e);
            }
        }
    }
}

/// Forget those of `ids` who are not enrolled, in `txn`.
fn forget(txn: &WriteTransaction, ids: &[String]) -> Result<Forgotten, StoreError> {
    let gone: Vec<&str> = {
        let members = txn.open_table(tables::LIVE_MEMBERS.members)?;
        let mut gone = Vec::with_capacity(ids.len());
        for id in ids {
            if members.get(id.as_str())?.is_none() {
                gone.push(id.as_str());
            }
        }
        gone
    };
    let pins = crate::vault::forget_members(txn, gone.iter().copied())?;
    crate::calls::forget_verifications(txn, gone.iter().copied())?;
    Ok(Forgotten {
        members: gone.len() as u64,
        pins,
    })
}

/// How many of `members` have a PIN record (what a dry run would forget).
pub fn pins_of(store: &Store, members: &[String]) -> Result<u64, StoreError> {
    let txn = store.begin_read()?;
    let pins = txn.open_table(tables::PINS)?;
    let mut n = 0;
    for id in members {
        n += u64::from(pins.get(id.as_str())?.is_some());
    }
    Ok(n)
}
