//! Forgetting the members a run deleted: each one's PIN record, wrong-answer counters and
//! last verdict. A member id that comes back later, or is given to someone else, must not
//! bring the old member's PIN along, and a member who left must not keep one.
//!
//! Forgetting 90,000 members took 0.6 s of the store's one writer, so it is not done in the
//! run's last transaction. That transaction only queues the deleted ids (a few values in
//! the meta table, a slice of ids each), and they are forgotten after it a slice per
//! transaction, a pause after each, like the rest of a staged run. A crash between leaves
//! the queue: lookups cannot reach those records (their members are gone), and the next run
//! drains it before it reads its file, so a member it adds again starts without the old
//! PIN. Runs take turns, and only runs add members, so nothing can bring a queued member
//! back first.

use chrono::Utc;
use redb::{ReadableTable, WriteTransaction};

use super::Progress;
use super::staged::Slices;
use crate::audit::{AuditEvent, EventKind, Outcome, append_in};
use crate::store::{Store, StoreError, tables};

/// The ids still to forget: postcard `Vec<String>` chunks in the meta table, under this
/// prefix and a 10-digit number, taken off in key order.
const QUEUE_PREFIX: &str = "enroll_forget_queue:";
/// The key just past every chunk's (`;` follows `:`).
const QUEUE_END: &str = "enroll_forget_queue;";

fn chunk_key(n: u64) -> String {
    format!("{QUEUE_PREFIX}{n:010}")
}

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

/// Queue `deleted` to be forgotten, in the run's last transaction, `slices.rows` ids a
/// chunk (what a drain forgets per transaction), after any chunks a crash left.
pub fn queue(txn: &WriteTransaction, deleted: &[String], slices: Slices) -> Result<(), StoreError> {
    if deleted.is_empty() {
        return Ok(());
    }
    let mut meta = txn.open_table(tables::META)?;
    let next = match meta
        .range(QUEUE_PREFIX..QUEUE_END)?
        .next_back()
        .transpose()?
    {
        Some((k, _)) => k.value()[QUEUE_PREFIX.len()..]
            .parse::<u64>()
            .map(|n| n + 1),
        None => Ok(0),
    };
    let next =
        next.map_err(|e| StoreError::Corrupt(format!("the queue of members to forget: {e}")))?;
    for (n, chunk) in (next..).zip(deleted.chunks(slices.rows.max(1))) {
        let bytes = postcard::to_allocvec(chunk).map_err(|e| {
            StoreError::Corrupt(format!("cannot encode the members to forget: {e}"))
        })?;
        meta.insert(chunk_key(n).as_str(), bytes.as_slice())?;
    }
    Ok(())
}

/// Forget the queued members, a chunk per transaction, each in the transaction that takes
/// it off the queue, with `slices.pause` after each. A queued member who is enrolled again
/// is left alone. The last chunk's transaction carries a `members_forgotten` audit record.
pub fn drain(
    store: &Store,
    slices: Slices,
    actor: &str,
    progress: &dyn Progress,
) -> Result<Forgotten, StoreError> {
    let mut total = Forgotten::default();
    let queued = queued(&store.begin_read()?)?;
    if queued == 0 {
        return Ok(total);
    }
    progress.phase("forgetting", queued);
    let mut taken = 0u64;
    loop {
        // the service is stopping (or Ctrl-C, or the client gone): what is left stays queued
        // for the next run
        store.go_on()?;
        progress.go_on()?;
        let txn = store.begin_write()?;
        let step = (|| {
            let (key, ids, more) = {
                let meta = txn.open_table(tables::META)?;
                let mut chunks = meta.range(QUEUE_PREFIX..QUEUE_END)?;
                let Some(first) = chunks.next().transpose()? else {
                    return Ok(None);
                };
                let more = chunks.next().transpose()?.is_some();
                (first.0.value().to_string(), decode(first.1.value())?, more)
            };
            let forgotten = forget(&txn, &ids)?;
            txn.open_table(tables::META)?.remove(key.as_str())?;
            if !more {
                let detail = format!(
                    "members={} pins={}",
                    total.members + forgotten.members,
                    total.pins + forgotten.pins
                );
                let event = AuditEvent::new(actor, EventKind::MembersForgotten, Outcome::Ok);
                append_in(&txn, Utc::now(), [event.detail(detail)])?;
            }
            Ok(Some((forgotten, ids.len() as u64, more)))
        })();
        match step {
            Ok(None) => {
                drop(txn);
                return Ok(total);
            }
            Ok(Some((forgotten, ids, more))) => {
                txn.commit()?;
                total.members += forgotten.members;
                total.pins += forgotten.pins;
                taken += ids;
                progress.advance_to(taken);
                if !more {
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

/// What forgetting one member by hand found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForgotOne {
    /// They had a PIN record.
    pub pin: bool,
    /// callvault held anything about them: a PIN record, a wrong-answer counter, a verdict.
    pub held: bool,
}

/// Whether the store holds anything [`erase`] would remove for `id`.
fn holds_records(txn: &WriteTransaction, id: &str) -> Result<bool, StoreError> {
    if txn.open_table(tables::PINS)?.get(id)?.is_some()
        || txn.open_table(tables::VERIFICATIONS)?.get(id)?.is_some()
    {
        return Ok(true);
    }
    crate::vault::has_counters(&txn.open_table(tables::ATTEMPTS)?, id)
}

/// Forget one member who is not enrolled, by hand (`callvault member forget`), in one
/// transaction with its audit record. Refused for an enrolled member when `enrolled_only`
/// (the embedded core, whose members are the credit union's): delete them with a file.
pub fn forget_one(
    store: &Store,
    member_id: &str,
    enrolled_only: bool,
    actor: &str,
) -> Result<Option<ForgotOne>, StoreError> {
    let txn = store.begin_write()?;
    let step = (|| {
        let enrolled = txn
            .open_table(tables::LIVE_MEMBERS.members)?
            .get(member_id)?
            .is_some();
        if enrolled && enrolled_only {
            return Ok(None);
        }
        let held = holds_records(&txn, member_id)?;
        let pin = erase(&txn, &[member_id])? > 0;
        let detail = if held {
            format!("members=1 pins={} by hand", u8::from(pin))
        } else {
            "members=0 pins=0 by hand (nothing held)".to_string()
        };
        let event = AuditEvent::new(actor, EventKind::MembersForgotten, Outcome::Ok)
            .member(member_id.to_string())
            .detail(detail);
        append_in(&txn, Utc::now(), [event])?;
        Ok(Some(ForgotOne { pin, held }))
    })();
    match step {
        Ok(Some(forgotten)) => {
            txn.commit()?;
            Ok(Some(forgotten))
        }
        Ok(None) => {
            txn.abort()?;
            Ok(None)
        }
        Err(e) => {
            txn.failed(&e);
            Err(e)
        }
    }
}

/// How many deleted members are queued to be forgotten (a crash's leftovers: `db check`).
pub fn queued(txn: &redb::ReadTransaction) -> Result<u64, StoreError> {
    let meta = txn.open_table(tables::META)?;
    let mut queued = 0u64;
    for entry in meta.range(QUEUE_PREFIX..QUEUE_END)? {
        queued += decode(entry?.1.value())?.len() as u64;
    }
    Ok(queued)
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
    Ok(Forgotten {
        members: gone.len() as u64,
        pins: erase(txn, &gone)?,
    })
}

/// Remove what the store holds about `ids` besides their member records; returns how many
/// had a PIN record.
fn erase(txn: &WriteTransaction, ids: &[&str]) -> Result<u64, StoreError> {
    let pins = crate::vault::forget_members(txn, ids.iter().copied())?;
    crate::calls::forget_verifications(txn, ids.iter().copied())?;
    Ok(pins)
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
