//! A run that changes many rows, applied without holding the store's one writer for long.
//!
//! IVR steps commit through the same writer, so a run applied in one transaction made every
//! call wait for all of it (a daily file changing 1,000,000 balances: 7.3 s, past IVR
//! platforms' timeouts). Instead the live indexes are copied into staging tables, the rows
//! are decided and applied there (reading a member the staging tables do not hold yet from
//! the live table), the members the rows left alone are copied in after them, and the
//! staging tables are swapped in for the live ones in one short transaction that also
//! carries the run's audit record. Each step is a short write transaction with a pause
//! after it, so the group committer gets in (redb's writer lock is not fair).
//!
//! All or nothing still holds: lookups read the live tables until the swap, and a run that
//! fails or crashes before it leaves the live tables as they were. Its staging tables are
//! dropped by the next run or when the store opens. Every staging commit is durable like any
//! other: one that a crash or a reopened file lost would leave a hole in what is swapped
//! in. Runs take turns, and only enrollment writes the member tables, so the copy stays
//! true until the swap.

use std::time::Duration;

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};

use super::{EnrollError, Progress};
use crate::core::embedded::{Directory, Fallback};
use crate::store::tables::{self, LIVE_MEMBERS, MemberTables, STAGED_MEMBERS};
use crate::store::{Store, StoreError};

/// How a staged run slices its work.
#[derive(Clone, Copy, Debug)]
pub struct Slices {
    /// Rows decided, or members removed, per transaction.
    pub rows: usize,
    /// Records copied per transaction (a copy costs a fraction of a decided row).
    pub copied: usize,
    /// Index buckets written per transaction.
    pub buckets: usize,
    /// The pause after each transaction, for the group committer to take the writer.
    pub pause: Duration,
}

/// 30–50 ms of the writer each on the 2-core build machine (a commit included).
pub const SLICES: Slices = Slices {
    rows: 4_096,
    copied: 16_384,
    buckets: 4_096,
    pause: Duration::from_millis(2),
};

/// The staging tables of the run under way. Dropped before they are swapped in or
/// discarded (the run failed), they are dropped from the store at once: they hold disk
/// space that IVR steps may need.
pub struct Staging<'s> {
    store: &'s Store,
    /// Asked before each transaction whether the run goes on.
    progress: &'s dyn Progress,
    slices: Slices,
    /// Transactions so far.
    writes: usize,
    /// Swapped in or discarded.
    done: bool,
    /// The live members, read until they are copied in (see [`Staging::copy_the_rest`]).
    fallback: Fallback,
    /// The snapshot `fallback` reads.
    live: redb::ReadTransaction,
}

/// What a staged run needs of the disk: room for its copy, and `min_free_mb` beside it.
pub struct Room<'a> {
    /// The file, for the error.
    pub file: &'a str,
    pub min_free_mb: u64,
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        match drop_leftovers(self.store) {
            Ok(_) => tracing::debug!("enroll: the failed run's staging tables were dropped"),
            Err(e) => tracing::warn!(
                error = %e,
                "enroll: the failed run's staging tables are left for the next run or start-up to drop"
            ),
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Tests: fail a run's staging transactions after this many (a crash half-way).
    pub static FAIL_AFTER: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

impl<'s> Staging<'s> {
    /// Fresh staging tables holding a copy of the live indexes (the members come later:
    /// [`Staging::copy_the_rest`]).
    pub fn begin(
        store: &'s Store,
        slices: Slices,
        room: Room<'_>,
        progress: &'s dyn Progress,
    ) -> Result<Staging<'s>, EnrollError> {
        drop_leftovers(store)?;
        let snapshot = store.begin_read()?;
        let (entries, needed) = {
            let members = snapshot.open_table(LIVE_MEMBERS.members)?;
            let phones = snapshot.open_table(LIVE_MEMBERS.phones)?;
            let accounts = snapshot.open_table(LIVE_MEMBERS.accounts)?;
            let bytes =
                |s: redb::TableStats| s.stored_bytes() + s.metadata_bytes() + s.fragmented_bytes();
            let needed =
                bytes(members.stats()?) + bytes(phones.stats()?) + bytes(accounts.stats()?);
            (phones.len()? + accounts.len()?, needed)
        };
        check_room(store, needed, &room)?;
        let mut staging = Staging {
            store,
            progress,
            slices,
            writes: 0,
            done: false,
            fallback: Fallback::open(&snapshot)?,
            live: snapshot,
        };
        // The indexes now; the members once the rows are applied, those the rows left alone.
        // The tables exist even when nothing is copied into them: the swap renames them.
        staging.write(|_| Ok(()))?;
        if entries > 0 {
            // shown a slice at a time, as the other phases are (1,000,000 members: about
            // 64,000 index buckets, 4 slices)
            progress.phase("indexes", entries);
            let live = store.begin_read()?;
            let phones = staging.copy(
                &live,
                LIVE_MEMBERS.phones,
                STAGED_MEMBERS.phones,
                0,
                progress,
            )?;
            let accounts = staging.copy(
                &live,
                LIVE_MEMBERS.accounts,
                STAGED_MEMBERS.accounts,
                phones,
                progress,
            )?;
            tracing::debug!(
                buckets = phones + accounts,
                transactions = staging.writes,
                "enroll: indexes copied to staging"
            );
        }
        Ok(staging)
    }

    /// Copy one table, a slice of rows per transaction; returns the rows copied. The phase's
    /// progress is `before` (rows of the tables copied earlier) and this table's so far.
    fn copy<V: redb::Value + 'static>(
        &mut self,
        snapshot: &redb::ReadTransaction,
        from: TableDefinition<&'static str, V>,
        to: TableDefinition<&'static str, V>,
        before: u64,
        progress: &dyn Progress,
    ) -> Result<u64, EnrollError> {
        let source = snapshot.open_table(from)?;
        let mut rows = source.iter()?;
        let mut copied = 0u64;
        loop {
            let slice = self.slices.copied;
            let n = self.transact(|txn| {
                let mut dest = txn.open_table(to)?;
                let mut n = 0;
                while n < slice {
                    let Some(entry) = rows.next() else { break };
                    let (k, v) = entry?;
                    dest.insert(k.value(), v.value())?;
                    n += 1;
                }
                Ok(n)
            })?;
            copied += n as u64;
            if n > 0 {
                progress.advance_to(before + copied);
            }
            if n < slice {
                return Ok(copied);
            }
        }
    }

    /// One short write transaction on the staging directory, which reads the live members
    /// it does not hold yet.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&mut Directory<'_>) -> Result<T, EnrollError>,
    ) -> Result<T, EnrollError> {
        let fallback = &mut self.fallback;
        transact(
            self.store,
            self.progress,
            self.slices,
            &mut self.writes,
            |txn| f(&mut Directory::open_in(txn, STAGED_MEMBERS)?.with_fallback(fallback)),
        )
    }

    /// One short write transaction, then a pause.
    fn transact<T>(
        &mut self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, EnrollError>,
    ) -> Result<T, EnrollError> {
        transact(self.store, self.progress, self.slices, &mut self.writes, f)
    }

    /// Once the rows are applied: copy in the live members the run neither wrote nor
    /// removed, those `keep` keeps (full mode: those in the file; the others are removed
    /// next), a slice at a time.
    pub fn copy_the_rest(
        &mut self,
        keep: impl Fn(&str) -> bool,
        progress: &dyn Progress,
    ) -> Result<(), EnrollError> {
        let live = self.live.open_table(LIVE_MEMBERS.members)?;
        if live.is_empty()? {
            // the first run into an empty store: no phase of nothing to say
            return Ok(());
        }
        progress.phase("copying", live.len()?);
        let staged = self.store.begin_read()?;
        let staged = staged.open_table(STAGED_MEMBERS.members)?;
        let mut rows = live.iter()?;
        // Both tables are in key order: whether a live member is staged is found by walking
        // the staged ids alongside, not by a lookup per member.
        let mut staged_ids = staged.iter()?;
        let mut staged_at = staged_ids.next().transpose()?;
        let mut seen = 0u64;
        let slice = self.slices.copied;
        loop {
            // a slice of rows looked at, not of rows copied: a file that rewrote every
            // member copies none, and must not look at them all in one transaction
            let more = self.write(|dir| {
                for _ in 0..slice {
                    let Some(entry) = rows.next() else {
                        return Ok(false);
                    };
                    let (id, record) = entry?;
                    let id = id.value();
                    seen += 1;
                    while let Some((at, _)) = &staged_at
                        && at.value() < id
                    {
                        staged_at = staged_ids.next().transpose()?;
                    }
                    let is_staged = staged_at.as_ref().is_some_and(|(at, _)| at.value() == id);
                    if keep(id) && !dir.removed(id) && !is_staged {
                        dir.put_record(id, record.value())?;
                    }
                }
                Ok(true)
            })?;
            progress.advance_to(seen);
            if !more {
                tracing::debug!(seen, "enroll: the members the rows left alone copied in");
                return Ok(());
            }
        }
    }

    /// The member ids, staged or live, that `keep` does not keep (full mode: those not in
    /// the file), sorted; read outside the writer.
    pub fn ids_not(&self, keep: impl Fn(&str) -> bool) -> Result<Vec<String>, EnrollError> {
        let snapshot = self.store.begin_read()?;
        let staged = snapshot.open_table(STAGED_MEMBERS.members)?;
        let live = self.live.open_table(LIVE_MEMBERS.members)?;
        let mut ids = Vec::new();
        for entry in staged.iter()? {
            let (id, _) = entry?;
            if !keep(id.value()) {
                ids.push(id.value().to_string());
            }
        }
        for entry in live.iter()? {
            let (id, _) = entry?;
            let id = id.value();
            if !keep(id) && !self.fallback.removed(id) && staged.get(id)?.is_none() {
                ids.push(id.to_string());
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// How many write transactions the run has made so far.
    pub fn transactions(&self) -> usize {
        self.writes
    }

    /// How many members the staging tables hold.
    pub fn count(&self) -> Result<u64, EnrollError> {
        let snapshot = self.store.begin_read()?;
        Ok(snapshot.open_table(STAGED_MEMBERS.members)?.len()?)
    }

    /// Swap the staging tables in for the live ones, then run `also` (the run's last
    /// writes: its audit record) in the same durable transaction; returns what it returned.
    pub fn swap_in<T>(
        mut self,
        also: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<T, EnrollError> {
        let clock = std::time::Instant::now();
        let txn = self.store.begin_write()?;
        let swapped = swap(&txn, STAGED_MEMBERS, LIVE_MEMBERS).and_then(|()| also(&txn));
        let value = match swapped {
            Ok(value) => value,
            Err(e) => {
                txn.failed(&e);
                return Err(e.into());
            }
        };
        txn.commit()?;
        self.done = true;
        tracing::debug!(elapsed = ?clock.elapsed(), "enroll: staging swapped in");
        Ok(value)
    }

    /// Drop the staging tables (a dry run).
    pub fn discard(mut self) -> Result<(), EnrollError> {
        drop_leftovers(self.store)?;
        self.done = true;
        Ok(())
    }
}

/// One short write transaction, then a pause.
fn transact<T>(
    store: &Store,
    progress: &dyn Progress,
    slices: Slices,
    writes: &mut usize,
    f: impl FnOnce(&WriteTransaction) -> Result<T, EnrollError>,
) -> Result<T, EnrollError> {
    *writes += 1;
    #[cfg(test)]
    if FAIL_AFTER.with(|n| n.get()).is_some_and(|n| *writes > n) {
        return Err(EnrollError::Config("injected failure".into()));
    }
    // the service is stopping: the run ends here, its staging tables are dropped, and its
    // file stays in the inbox for the next start (a run from the CLI stops so on Ctrl-C, and
    // one through the service when its client has gone)
    store.go_on().and_then(|()| progress.go_on())?;
    let txn = store.begin_write()?;
    match f(&txn) {
        Ok(value) => {
            txn.commit()?;
            std::thread::sleep(slices.pause);
            Ok(value)
        }
        Err(EnrollError::Store(e)) => {
            txn.failed(&e);
            Err(EnrollError::Store(e))
        }
        Err(e) => Err(e),
    }
}

/// Refuse a run whose copy of `needed` bytes would leave less than `room.min_free_mb` free.
/// The copy may reuse free pages inside the store's file, so this errs on the safe side.
fn check_room(store: &Store, needed: u64, room: &Room<'_>) -> Result<(), EnrollError> {
    match store.free_bytes() {
        Some(free) => room_for(needed, free, room),
        // a file system that does not say: the run goes ahead
        None => Ok(()),
    }
}

/// [`check_room`] with the disk's `free` bytes known. Nothing to copy needs no room.
fn room_for(needed: u64, free: u64, room: &Room<'_>) -> Result<(), EnrollError> {
    const MIB: u64 = 1024 * 1024;
    let keep_free = room.min_free_mb.saturating_mul(MIB);
    match needed > 0 && !crate::store::leaves_room(free, needed, keep_free) {
        false => Ok(()),
        true => Err(EnrollError::NoRoom {
            file: room.file.to_string(),
            needed_mb: needed.div_ceil(MIB),
            free_mb: free / MIB,
            min_free_mb: room.min_free_mb,
        }),
    }
}

/// Replace the tables of `to` with those of `from`.
fn swap(txn: &WriteTransaction, from: MemberTables, to: MemberTables) -> Result<(), StoreError> {
    txn.delete_table(to.members)?;
    txn.delete_table(to.phones)?;
    txn.delete_table(to.accounts)?;
    txn.rename_table(from.members, to.members)?;
    txn.rename_table(from.phones, to.phones)?;
    txn.rename_table(from.accounts, to.accounts)?;
    Ok(())
}

/// Drop staging tables a run that failed or crashed left; returns whether there were any.
pub fn drop_leftovers(store: &Store) -> Result<bool, StoreError> {
    let txn = store.begin_write()?;
    match tables::drop_staging(&txn) {
        Ok(dropped) => {
            txn.commit()?;
            Ok(dropped)
        }
        Err(e) => {
            txn.failed(&e);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{EnrollError, Room, room_for};

    const MIB: u64 = 1024 * 1024;

    /// (bytes the copy needs, bytes free, MiB to keep free) -> refused with (needed MiB, free
    /// MiB), or allowed.
    #[test]
    fn a_copy_goes_ahead_only_with_room_for_it_and_the_margin_besides() {
        let cases = [
            // exactly enough: the copy and the margin
            (10 * MIB, 74 * MIB, 64, None),
            (10 * MIB, 74 * MIB - 1, 64, Some((10, 73))),
            // part of a MiB needed counts as a whole one; part of one free does not
            (10 * MIB + 1, 73 * MIB + MIB / 2, 64, Some((11, 73))),
            (10 * MIB + 1, 74 * MIB + 5, 0, None),
            (1, 0, 0, Some((1, 0))),
            // nothing to copy (a first run into an empty store) needs no room, even on a
            // disk short of the margin
            (0, 0, 64, None),
            (0, 10 * MIB, 64, None),
            // a margin too large to count in bytes is just too large
            (MIB, u64::MAX - 1, u64::MAX, Some((1, (u64::MAX - 1) / MIB))),
        ];
        for (needed, free, min_free_mb, refused) in cases {
            let room = Room {
                file: "members.csv",
                min_free_mb,
            };
            let got = match room_for(needed, free, &room) {
                Ok(()) => None,
                Err(EnrollError::NoRoom {
                    file,
                    needed_mb,
                    free_mb,
                    min_free_mb: said,
                }) => {
                    assert_eq!((file.as_str(), said), ("members.csv", min_free_mb));
                    Some((needed_mb, free_mb))
                }
                Err(other) => panic!("{other}"),
            };
            assert_eq!(
                got, refused,
                "needed {needed}, free {free}, margin {min_free_mb} MiB"
            );
        }
    }
}
