//! Which number each stored call has, held in memory: the IVR's call id and the caller ID
//! lead to it.
//!
//! The store keeps calls by a number given in the order they started (`tables::CALLS`).
//! IVR platforms send random call ids (Genesys, Amazon Connect and Twilio all send UUIDs or
//! the like), and a table keyed by them puts each new call on a different B-tree leaf: in
//! the one writer's commit that cost a third of the call starts a second (BENCHMARKS.md,
//! "Calls in the order they start"). Numbered, new calls go to the table's end. The small
//! `tables::CALL_IDS` rows (number -> call id, caller ID) are read whole when the service
//! starts, before it answers, so the index is complete from the first request.
//!
//! A call start takes its number inside the writer's transaction ([`CallIndex::reserve`]):
//! from then on a second start with the same id is refused, and a read that finds the
//! number before the commit finds no row yet, as if the call had not started. A start whose
//! commit fails gives its number back ([`CallIndex::release`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};
use redb::ReadableTable;

use crate::store::{Store, StoreError, tables};

/// A stored call's key in `tables::CALLS`.
pub type CallNumber = u64;

#[derive(Debug, Default)]
pub struct CallIndex {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<Box<str>, CallNumber>,
    /// E.164 -> the numbers of the calls from it.
    by_ani: HashMap<Box<str>, Vec<CallNumber>>,
    /// The number the next call start takes.
    next: CallNumber,
    /// Calls not known to be closed, with the time of their last step as last written: where
    /// the sweep looks for idle calls, without reading every stored call. It may name a call
    /// that is closed (the sweep checks each row and drops those), never miss an open one,
    /// once `open_complete`.
    open: BTreeMap<CallNumber, DateTime<Utc>>,
    /// Whether `open` covers the calls stored before the service started: the first sweep
    /// reads every stored call and fills it in ([`CallIndex::merge_open`]).
    open_complete: bool,
}

impl CallIndex {
    /// Every stored call's number, by its id and caller ID.
    pub fn load(store: &Store) -> Result<CallIndex, StoreError> {
        let began = std::time::Instant::now();
        let txn = store.begin_read()?;
        let table = txn.open_table(tables::CALL_IDS)?;
        let mut inner = Inner {
            next: 1,
            ..Inner::default()
        };
        for row in table.iter()? {
            let (number, ids) = row?;
            let (number, (id, ani)) = (number.value(), ids.value());
            inner.add(number, id, ani);
        }
        // a row written without its id entry (never by this code) must not be overwritten
        if let Some((last, _)) = txn.open_table(tables::CALLS)?.last()? {
            inner.next = inner.next.max(last.value() + 1);
        }
        tracing::info!(
            calls = inner.by_id.len(),
            ms = began.elapsed().as_millis() as u64,
            "indexed the stored calls"
        );
        Ok(CallIndex {
            inner: RwLock::new(inner),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of the call with this id, stored or being started.
    pub fn number(&self, call_id: &str) -> Option<CallNumber> {
        self.read().by_id.get(call_id).copied()
    }

    /// A number for a call being started, or `None` when the id is in use. Called inside
    /// the writer's transaction that stores the call, which must write its
    /// `tables::CALL_IDS` row too ([`super::records::save_encoded_step`] does).
    pub fn reserve(
        &self,
        call_id: &str,
        ani: Option<&str>,
        started_at: DateTime<Utc>,
    ) -> Option<CallNumber> {
        let mut inner = self.write();
        if inner.by_id.contains_key(call_id) {
            return None;
        }
        let number = inner.next;
        // moves `next` past the number
        inner.add(number, call_id, ani.unwrap_or(""));
        inner.open.insert(number, started_at);
        Some(number)
    }

    /// A call's row was written: its last step's time, or that it is closed. Called inside
    /// the writer's transaction; should the commit then fail, the call looks busier or more
    /// closed than it is until its next step (an idle call closed late, or by the sweep's
    /// pass over calls older than `calls.keep_hours`).
    pub fn touched(&self, number: CallNumber, updated_at: DateTime<Utc>, ended: bool) {
        let mut inner = self.write();
        if ended {
            inner.open.remove(&number);
        } else {
            inner.open.insert(number, updated_at);
        }
    }

    /// Calls the sweep found closed or gone.
    pub fn closed(&self, numbers: &[CallNumber]) {
        let mut inner = self.write();
        for n in numbers {
            inner.open.remove(n);
        }
    }

    /// What the first sweep's full read found open (number, last step), for calls stored
    /// before the service started. A call written since keeps what its write said.
    pub fn merge_open(&self, found: &[(CallNumber, DateTime<Utc>)]) {
        let mut inner = self.write();
        for (n, at) in found {
            inner.open.entry(*n).or_insert(*at);
        }
        inner.open_complete = true;
    }

    /// Whether the calls stored before the start are known open or closed; until then the
    /// sweep reads every stored call.
    pub fn open_complete(&self) -> bool {
        self.read().open_complete
    }

    /// Whether the call may still be going on: `false` only for a call known closed.
    pub fn maybe_open(&self, number: CallNumber) -> bool {
        let inner = self.read();
        !inner.open_complete || inner.open.contains_key(&number)
    }

    /// The calls not known closed, the newest first; `None` until the first sweep has
    /// told the calls stored before the start apart ([`CallIndex::merge_open`]).
    pub fn open_newest_first(&self) -> Option<Vec<CallNumber>> {
        let inner = self.read();
        inner
            .open_complete
            .then(|| inner.open.keys().rev().copied().collect())
    }

    /// The calls not known closed whose last step was before `idle_before`.
    pub fn idle(&self, idle_before: DateTime<Utc>) -> Vec<CallNumber> {
        let inner = self.read();
        inner
            .open
            .iter()
            .filter(|(_, at)| **at < idle_before)
            .map(|(n, _)| *n)
            .collect()
    }

    /// Forget a call: its start was not committed, or it was deleted. Only the entry with
    /// this number goes, so a newer call that took the id since is kept.
    pub fn release(&self, call_id: &str, ani: Option<&str>, number: CallNumber) {
        let mut inner = self.write();
        if inner.by_id.get(call_id) != Some(&number) {
            return;
        }
        inner.by_id.remove(call_id);
        inner.open.remove(&number);
        if let Some(ani) = ani
            && let Some(numbers) = inner.by_ani.get_mut(ani)
        {
            numbers.retain(|n| *n != number);
            if numbers.is_empty() {
                inner.by_ani.remove(ani);
            }
        }
    }

    /// The numbers of the calls from `e164`, oldest first.
    pub fn from_ani(&self, e164: &str) -> Vec<CallNumber> {
        self.read().by_ani.get(e164).cloned().unwrap_or_default()
    }

    /// How many calls, how many numbers with calls, and how many calls not known closed.
    #[cfg(test)]
    pub fn sizes(&self) -> (usize, usize, usize) {
        let inner = self.read();
        (inner.by_id.len(), inner.by_ani.len(), inner.open.len())
    }
}

impl Inner {
    fn add(&mut self, number: CallNumber, call_id: &str, ani: &str) {
        self.by_id.insert(call_id.into(), number);
        if !ani.is_empty() {
            self.by_ani.entry(ani.into()).or_default().push(number);
        }
        self.next = self.next.max(number + 1);
    }
}
