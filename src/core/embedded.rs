//! The `embedded` core: members held in callvault's own store, fed by pre-enrollment. Phone
//! and account indexes make every lookup one index read. The write side (used by enrollment)
//! keeps the indexes in step with the records.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::{CoreAdapter, CoreError, IdentifierKind, PhoneMatch};
use crate::member::phone::{Region, normalize_ani};
use crate::member::{Member, MemberRecord};
use crate::store::{Store, StoreError, tables};

pub struct EmbeddedCore {
    store: Arc<Store>,
    region: Region,
}

impl EmbeddedCore {
    pub fn new(store: Arc<Store>, region: Region) -> Self {
        EmbeddedCore { store, region }
    }

    /// The synchronous lookup behind `find_by_phone` (a few microseconds).
    pub fn phone_matches(&self, e164: &str) -> Result<Vec<PhoneMatch>, StoreError> {
        Ok(self
            .members_by_phone(e164)?
            .into_iter()
            .map(|m| PhoneMatch::of(m, e164))
            .collect())
    }

    /// The members a number identifies, read in one transaction.
    fn members_by_phone(&self, e164: &str) -> Result<Vec<Member>, StoreError> {
        identified_by(&self.store.begin_read()?, e164)
    }
}

/// The members a number identifies. The index holds every claimed number. One withdrawn
/// from any member (because members share it) identifies no one, including members who list
/// it only among their other numbers: otherwise a call from one member's shared mobile
/// would identify another member who has that number on file.
fn identified_by(txn: &ReadTransaction, e164: &str) -> Result<Vec<Member>, StoreError> {
    let ids = lookup(txn, tables::PHONE_INDEX, e164)?;
    let mut members = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(record) = get(txn, &id)? {
            if record.member.withdrawn_phones.iter().any(|w| w == e164) {
                return Ok(Vec::new());
            }
            if record.member.identifying_phones().any(|(p, _)| p == e164) {
                members.push(record.member);
            }
        }
    }
    Ok(members)
}

/// The member ids an index holds under `value`.
fn lookup(
    txn: &ReadTransaction,
    index: redb::TableDefinition<&str, &str>,
    value: &str,
) -> Result<Vec<String>, StoreError> {
    tables::index_ids(&txn.open_table(index)?, value)
}

/// The members `find` gives for a keyed member or account number: for `value` as keyed, or,
/// when that finds none and `value` is a number, for the same number written with fewer or
/// more leading zeros (every match, so two make it ambiguous). A core's export pads its
/// numbers to a width (`0000123456`), while the member knows `123456`, or the other way
/// round; the keypad can say neither. A REST core's answers are matched the same way.
fn find_keyed(
    value: &str,
    mut find: impl FnMut(&str) -> Result<Vec<String>, StoreError>,
) -> Result<Vec<String>, StoreError> {
    let exact = find(value)?;
    if !exact.is_empty() {
        return Ok(exact);
    }
    let mut found: Vec<String> = Vec::new();
    for other in zero_padded(value) {
        for id in find(&other)? {
            if !found.contains(&id) {
                found.push(id);
            }
        }
    }
    Ok(found)
}

/// `value`'s other spellings with leading zeros: none, and each padding up to
/// [`crate::member::MEMBER_ID_MAX_CHARS`] digits. Nothing for a value that is not all
/// digits, or is all zeros.
fn zero_padded(value: &str) -> Vec<String> {
    let bare = value.trim_start_matches('0');
    if bare.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    (bare.len()..=crate::member::MEMBER_ID_MAX_CHARS)
        .map(|width| format!("{bare:0>width$}"))
        .filter(|other| other != value)
        .collect()
}

/// A stored member record, or `Corrupt` naming the member.
pub(crate) fn decode(id: &str, bytes: &[u8]) -> Result<MemberRecord, StoreError> {
    MemberRecord::decode(bytes).map_err(|e| StoreError::Corrupt(format!("member {id}: {e}")))
}

/// One member's record.
pub fn get(txn: &ReadTransaction, member_id: &str) -> Result<Option<MemberRecord>, StoreError> {
    let table = txn.open_table(tables::MEMBERS)?;
    let value = table.get(member_id)?;
    value.map(|v| decode(member_id, v.value())).transpose()
}

/// The write side of the directory: its tables opened once for a whole transaction (an
/// enrollment run touches them millions of times).
///
/// In bulk mode (an enrollment run) index changes are collected and written sorted when the
/// run finishes: keys arriving in order are appended to the B-tree instead of shifted into the
/// middle of its leaves, several times faster for a million members. Lookups during the run
/// read the index as it was before the run; the run only looks up members it does not itself
/// change, so that is what it needs.
pub struct Directory<'txn> {
    members: redb::Table<'txn, &'static str, &'static [u8]>,
    phones: redb::Table<'txn, &'static str, &'static str>,
    accounts: redb::Table<'txn, &'static str, &'static str>,
    pending: Option<IndexChanges>,
    /// A staged run's: the live members it has not copied, and those it removed.
    fallback: Option<&'txn mut Fallback>,
}

/// What a directory on an enrollment's staging tables reads besides them: the live members,
/// which are copied in only once the rows are applied (a file that rewrites every member
/// need not copy them first), and the ids the run removed, which the live table still holds.
pub struct Fallback {
    live: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    removed: rustc_hash::FxHashSet<String>,
}

impl Fallback {
    /// The live members as of `txn`, which no one else writes while the run lasts.
    pub fn open(txn: &ReadTransaction) -> Result<Fallback, StoreError> {
        Ok(Fallback {
            live: txn.open_table(tables::MEMBERS)?,
            removed: Default::default(),
        })
    }

    /// Whether the run removed `member_id`.
    pub fn removed(&self, member_id: &str) -> bool {
        self.removed.contains(member_id)
    }
}

/// Index keys waiting to be written: removals, then additions, for each index. A run that
/// spans several transactions carries them from one [`Directory`] to the next.
#[derive(Default)]
pub struct IndexChanges {
    phone_del: KeyArena,
    phone_add: KeyArena,
    account_del: KeyArena,
    account_add: KeyArena,
}

/// Writes [`IndexChanges`] bucket by bucket in key order, the phone index then the account
/// index, in one go or over several transactions. Only one index's changes are sorted at a
/// time (a million members' sorted changes take tens of MB).
pub struct ChangesWriter<'a> {
    changes: &'a IndexChanges,
    index: Index,
    sorted: Sorted<'a>,
    /// How far into `sorted`: (removals, additions).
    at: (usize, usize),
}

/// Removals and additions, sorted by bucket.
type Sorted<'a> = (Vec<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>);

impl<'a> ChangesWriter<'a> {
    pub fn new(changes: &'a IndexChanges) -> Self {
        ChangesWriter {
            changes,
            index: Index::Phone,
            sorted: (changes.phone_del.entries(), changes.phone_add.entries()),
            at: (0, 0),
        }
    }

    /// Write at most `max_buckets` more buckets into `dir`; returns whether all are written.
    pub fn write(
        &mut self,
        dir: &mut Directory<'_>,
        max_buckets: usize,
    ) -> Result<bool, StoreError> {
        let mut left = max_buckets;
        loop {
            let table = match self.index {
                Index::Phone => &mut dir.phones,
                Index::Account => &mut dir.accounts,
            };
            left -= write_buckets(table, &self.sorted, &mut self.at, left)?;
            if self.at != (self.sorted.0.len(), self.sorted.1.len()) {
                return Ok(false);
            }
            match self.index {
                Index::Phone => {
                    // the phone index's sorted changes go before the account index's are made
                    self.sorted = (Vec::new(), Vec::new());
                    self.sorted = (
                        self.changes.account_del.entries(),
                        self.changes.account_add.entries(),
                    );
                    self.index = Index::Account;
                    self.at = (0, 0);
                }
                Index::Account => return Ok(true),
            }
        }
    }
}

/// Many short keys in one allocation.
#[derive(Default)]
struct KeyArena {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl KeyArena {
    fn push(&mut self, value: &str, member_id: &str) {
        self.bytes.extend_from_slice(value.as_bytes());
        self.bytes.push(0);
        self.bytes.extend_from_slice(member_id.as_bytes());
        self.ends.push(self.bytes.len() as u32);
    }

    /// The `(value, member id)` pairs, sorted by bucket.
    fn entries(&self) -> Vec<(&str, &str)> {
        let mut entries = Vec::with_capacity(self.ends.len());
        let mut start = 0usize;
        for end in &self.ends {
            let end = *end as usize;
            if let Some(e) = self
                .bytes
                .get(start..end)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|k| k.split_once('\0'))
            {
                entries.push(e);
            }
            start = end;
        }
        entries.sort_unstable_by(|a, b| tables::bucket_of(a.0).cmp(tables::bucket_of(b.0)));
        entries
    }
}

/// Rewrite one bucket.
fn apply_bucket(
    table: &mut redb::Table<'_, &'static str, &'static str>,
    bucket: &str,
    remove: &[(&str, &str)],
    add: &[(&str, &str)],
) -> Result<(), StoreError> {
    let merged = {
        let existing = table.get(bucket)?;
        tables::bucket_merge(existing.as_ref().map(|v| v.value()), remove, add)
    };
    match merged {
        Some(value) => {
            table.insert(bucket, value.as_str())?;
        }
        None => {
            table.remove(bucket)?;
        }
    }
    Ok(())
}

/// Apply sorted removals and additions, one bucket at a time, in key order, from `at` on
/// and for at most `max_buckets` buckets; `at` moves past what was written. Returns how many
/// buckets were written: fewer than `max_buckets` once all are.
fn write_buckets(
    table: &mut redb::Table<'_, &'static str, &'static str>,
    (del, add): &Sorted<'_>,
    at: &mut (usize, usize),
    max_buckets: usize,
) -> Result<usize, StoreError> {
    let (mut d, mut a) = *at;
    let mut written = 0;
    while (d < del.len() || a < add.len()) && written < max_buckets {
        let bucket = match (del.get(d), add.get(a)) {
            (Some(x), Some(y)) => tables::bucket_of(x.0).min(tables::bucket_of(y.0)),
            (Some(x), None) => tables::bucket_of(x.0),
            (None, Some(y)) => tables::bucket_of(y.0),
            (None, None) => break,
        };
        let d_end = d + del[d..]
            .iter()
            .take_while(|e| tables::bucket_of(e.0) == bucket)
            .count();
        let a_end = a + add[a..]
            .iter()
            .take_while(|e| tables::bucket_of(e.0) == bucket)
            .count();
        apply_bucket(table, bucket, &del[d..d_end], &add[a..a_end])?;
        d = d_end;
        a = a_end;
        *at = (d, a);
        written += 1;
    }
    Ok(written)
}

/// The index keys of a member: `(phones, accounts)`.
fn keys_of(m: &Member) -> (Vec<&str>, Vec<&str>) {
    (
        m.all_phones().collect(),
        m.account_numbers.iter().map(String::as_str).collect(),
    )
}

impl<'txn> Directory<'txn> {
    /// The live directory, the one lookups read.
    pub fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Self::open_in(txn, tables::LIVE_MEMBERS)
    }

    /// The directory in `tables`: the live ones, or an enrollment's staging copy.
    pub fn open_in(
        txn: &'txn WriteTransaction,
        tables: tables::MemberTables,
    ) -> Result<Self, StoreError> {
        Ok(Directory {
            members: txn.open_table(tables.members)?,
            phones: txn.open_table(tables.phones)?,
            accounts: txn.open_table(tables.accounts)?,
            pending: None,
            fallback: None,
        })
    }

    /// Members this directory does not hold are read from `fallback`, unless removed.
    pub fn with_fallback(mut self, fallback: &'txn mut Fallback) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Collect index changes until [`Directory::finish_bulk`].
    pub fn begin_bulk(&mut self) {
        self.pending.get_or_insert_with(IndexChanges::default);
    }

    /// Go on collecting index changes that an earlier transaction's directory collected.
    pub fn resume_bulk(&mut self, changes: IndexChanges) {
        self.pending = Some(changes);
    }

    /// The index changes collected so far, to carry to the next transaction's directory
    /// or write with a [`ChangesWriter`]; this directory stops collecting.
    pub fn take_bulk(&mut self) -> IndexChanges {
        self.pending.take().unwrap_or_default()
    }

    /// Write the collected index changes, bucket by bucket, in key order.
    pub fn finish_bulk(&mut self) -> Result<(), StoreError> {
        let changes = self.take_bulk();
        ChangesWriter::new(&changes).write(self, usize::MAX)?;
        Ok(())
    }

    /// One member's record.
    pub fn get(&self, member_id: &str) -> Result<Option<MemberRecord>, StoreError> {
        if let Some(v) = self.members.get(member_id)? {
            return decode(member_id, v.value()).map(Some);
        }
        match &self.fallback {
            Some(f) if !f.removed(member_id) => {
                let value = f.live.get(member_id)?;
                value.map(|v| decode(member_id, v.value())).transpose()
            }
            _ => Ok(None),
        }
    }

    /// Whether this staged run removed `member_id`.
    pub fn removed(&self, member_id: &str) -> bool {
        self.fallback.as_ref().is_some_and(|f| f.removed(member_id))
    }

    /// Write a stored record as it is (a staged run copying a live member in).
    pub fn put_record(&mut self, member_id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.members.insert(member_id, bytes)?;
        Ok(())
    }

    /// Member ids that claim an E.164 number (withdrawn claims included).
    pub fn phone_ids(&self, e164: &str) -> Result<Vec<String>, StoreError> {
        tables::index_ids(&self.phones, e164)
    }

    /// Write a member; index entries change only where its numbers or accounts changed.
    /// `old` is the stored record, if any.
    pub fn put(
        &mut self,
        old: Option<&MemberRecord>,
        member: Member,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let id = member.member_id.as_str();
        let (new_phones, new_accounts) = keys_of(&member);
        let (old_phones, old_accounts) = old.map(|o| keys_of(&o.member)).unwrap_or_default();
        for p in old_phones.iter().filter(|p| !new_phones.contains(p)) {
            self.index_change(Index::Phone, false, p, id)?;
        }
        for a in old_accounts.iter().filter(|a| !new_accounts.contains(a)) {
            self.index_change(Index::Account, false, a, id)?;
        }
        for p in new_phones.iter().filter(|p| !old_phones.contains(p)) {
            self.index_change(Index::Phone, true, p, id)?;
        }
        for a in new_accounts.iter().filter(|a| !old_accounts.contains(a)) {
            self.index_change(Index::Account, true, a, id)?;
        }
        let record = MemberRecord {
            enrolled_at: old.map_or(now, |o| o.enrolled_at),
            updated_at: now,
            member,
        };
        let bytes = record
            .encode()
            .map_err(|e| StoreError::Corrupt(format!("member encode: {e}")))?;
        self.members
            .insert(record.member.member_id.as_str(), bytes.as_slice())?;
        Ok(())
    }

    /// Remove a member and its index entries.
    pub fn remove(&mut self, old: &MemberRecord) -> Result<(), StoreError> {
        let id = old.member.member_id.as_str();
        let (phones, accounts) = keys_of(&old.member);
        for p in phones {
            self.index_change(Index::Phone, false, p, id)?;
        }
        for a in accounts {
            self.index_change(Index::Account, false, a, id)?;
        }
        self.members.remove(id)?;
        if let Some(f) = &mut self.fallback {
            f.removed.insert(id.to_string());
        }
        Ok(())
    }

    fn index_change(
        &mut self,
        index: Index,
        add: bool,
        value: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        if let Some(p) = &mut self.pending {
            let arena = match (index, add) {
                (Index::Phone, true) => &mut p.phone_add,
                (Index::Phone, false) => &mut p.phone_del,
                (Index::Account, true) => &mut p.account_add,
                (Index::Account, false) => &mut p.account_del,
            };
            arena.push(value, id);
            return Ok(());
        }
        let table = match index {
            Index::Phone => &mut self.phones,
            Index::Account => &mut self.accounts,
        };
        let (remove, add) = if add {
            (Vec::new(), vec![(value, id)])
        } else {
            (vec![(value, id)], Vec::new())
        };
        apply_bucket(table, tables::bucket_of(value), &remove, &add)
    }

    /// Every enrolled member id (for full-mode runs).
    pub fn all_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.members.iter()? {
            ids.push(entry?.0.value().to_string());
        }
        Ok(ids)
    }

    /// How many members are enrolled.
    pub fn count(&self) -> Result<u64, StoreError> {
        use redb::ReadableTableMetadata;
        Ok(self.members.len()?)
    }
}

#[derive(Clone, Copy)]
enum Index {
    Phone,
    Account,
}

/// What enrollment reads and writes of the member directory: the store itself
/// ([`Directory`]), or a [`Preview`] that reads a snapshot and only counts writes.
pub trait MemberDir {
    fn get(&self, member_id: &str) -> Result<Option<MemberRecord>, StoreError>;
    fn phone_ids(&self, e164: &str) -> Result<Vec<String>, StoreError>;
    fn put(
        &mut self,
        old: Option<&MemberRecord>,
        member: Member,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    fn remove(&mut self, old: &MemberRecord) -> Result<(), StoreError>;
}

impl MemberDir for Directory<'_> {
    fn get(&self, member_id: &str) -> Result<Option<MemberRecord>, StoreError> {
        Directory::get(self, member_id)
    }
    fn phone_ids(&self, e164: &str) -> Result<Vec<String>, StoreError> {
        Directory::phone_ids(self, e164)
    }
    fn put(
        &mut self,
        old: Option<&MemberRecord>,
        member: Member,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Directory::put(self, old, member, now)
    }
    fn remove(&mut self, old: &MemberRecord) -> Result<(), StoreError> {
        Directory::remove(self, old)
    }
}

/// The directory as of a read snapshot, for deciding rows without holding the store's
/// writer: reads answer from the snapshot, writes are only counted.
pub struct Preview {
    members: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    phones: redb::ReadOnlyTable<&'static str, &'static str>,
    /// Writes the rows decided so far would have made.
    pub writes: u64,
}

impl Preview {
    pub fn open(txn: &ReadTransaction) -> Result<Self, StoreError> {
        Ok(Preview {
            members: txn.open_table(tables::MEMBERS)?,
            phones: txn.open_table(tables::PHONE_INDEX)?,
            writes: 0,
        })
    }

    /// Every enrolled member id.
    pub fn all_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.members.iter()? {
            ids.push(entry?.0.value().to_string());
        }
        Ok(ids)
    }

    /// How many enrolled members `kept` leaves out, and how many are enrolled.
    pub fn missing(&self, kept: impl Fn(&str) -> bool) -> Result<(u64, u64), StoreError> {
        let (mut missing, mut enrolled) = (0, 0);
        for entry in self.members.iter()? {
            enrolled += 1;
            if !kept(entry?.0.value()) {
                missing += 1;
            }
        }
        Ok((missing, enrolled))
    }
}

impl MemberDir for Preview {
    fn get(&self, member_id: &str) -> Result<Option<MemberRecord>, StoreError> {
        let value = self.members.get(member_id)?;
        value.map(|v| decode(member_id, v.value())).transpose()
    }
    fn phone_ids(&self, e164: &str) -> Result<Vec<String>, StoreError> {
        tables::index_ids(&self.phones, e164)
    }
    fn put(
        &mut self,
        _: Option<&MemberRecord>,
        _: Member,
        _: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writes += 1;
        Ok(())
    }
    fn remove(&mut self, _: &MemberRecord) -> Result<(), StoreError> {
        self.writes += 1;
        Ok(())
    }
}

#[async_trait]
impl CoreAdapter for EmbeddedCore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn find_by_phone(&self, e164: &str) -> Result<Vec<PhoneMatch>, CoreError> {
        Ok(self.phone_matches(e164)?)
    }

    async fn find_by_identifier(
        &self,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Vec<String>, CoreError> {
        let txn = self.store.begin_read()?;
        let value = value.trim();
        Ok(match kind {
            IdentifierKind::MemberNumber => {
                let members = txn.open_table(tables::MEMBERS).map_err(StoreError::from)?;
                find_keyed(value, |v| {
                    Ok(members.get(v)?.map(|_| v.to_string()).into_iter().collect())
                })?
            }
            IdentifierKind::AccountNumber => {
                let accounts = txn
                    .open_table(tables::ACCOUNT_INDEX)
                    .map_err(StoreError::from)?;
                find_keyed(value, |v| tables::index_ids(&accounts, v))?
            }
            IdentifierKind::Phone => match normalize_ani(value, self.region) {
                Some(e164) => identified_by(&txn, &e164)?
                    .into_iter()
                    .map(|m| m.member_id)
                    .collect(),
                None => Vec::new(),
            },
        })
    }

    async fn member(&self, member_id: &str) -> Result<Option<Member>, CoreError> {
        let txn = self.store.begin_read()?;
        Ok(get(&txn, member_id)?.map(|r| r.member))
    }

    async fn member_by_phone(&self, e164: &str) -> Result<Option<Member>, CoreError> {
        let mut members = self.members_by_phone(e164)?;
        Ok(match members.len() {
            1 => members.pop(),
            _ => None,
        })
    }

    async fn check(&self) -> Result<(), CoreError> {
        self.store.schema_version()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
