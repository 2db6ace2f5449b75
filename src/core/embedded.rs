//! The `embedded` core: members held in callvault's own store, fed by pre-enrollment. Phone
//! and account indexes make every lookup one index read. The write side (used by enrollment)
//! keeps the indexes in step with the records.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableMultimapTable, ReadableTable, WriteTransaction};

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
        let txn = self.store.begin_read()?;
        let ids = ids_for(&txn, tables::PHONE_INDEX, e164)?;
        let mut matches = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = get(&txn, &id)? {
                let m = record.member;
                // The index holds every claimed number; a withdrawn one identifies no one.
                if !m.identifying_phones().any(|(p, _)| p == e164) {
                    continue;
                }
                matches.push(PhoneMatch {
                    verified: m.mobile_phone.as_deref() == Some(e164),
                    first_name: m.first_name,
                    member_id: m.member_id,
                });
            }
        }
        Ok(matches)
    }
}

fn ids_for(
    txn: &ReadTransaction,
    def: redb::MultimapTableDefinition<&str, &str>,
    key: &str,
) -> Result<Vec<String>, StoreError> {
    let table = txn.open_multimap_table(def)?;
    let mut ids = Vec::new();
    for v in table.get(key)? {
        ids.push(v?.value().to_string());
    }
    Ok(ids)
}

fn decode(id: &str, bytes: &[u8]) -> Result<MemberRecord, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("member {id}: {e}")))
}

/// One member's record.
pub fn get(txn: &ReadTransaction, member_id: &str) -> Result<Option<MemberRecord>, StoreError> {
    let table = txn.open_table(tables::MEMBERS)?;
    let value = table.get(member_id)?;
    value.map(|v| decode(member_id, v.value())).transpose()
}

/// One member's record, inside a write transaction.
pub fn get_for_update(
    txn: &WriteTransaction,
    member_id: &str,
) -> Result<Option<MemberRecord>, StoreError> {
    let table = txn.open_table(tables::MEMBERS)?;
    let value = table.get(member_id)?;
    value.map(|v| decode(member_id, v.value())).transpose()
}

/// Member ids that claim an E.164 number (withdrawn claims included), inside a write
/// transaction.
pub fn phone_ids_for_update(txn: &WriteTransaction, e164: &str) -> Result<Vec<String>, StoreError> {
    let table = txn.open_multimap_table(tables::PHONE_INDEX)?;
    let mut ids = Vec::new();
    for v in table.get(e164)? {
        ids.push(v?.value().to_string());
    }
    Ok(ids)
}

/// Write a member and re-point its index entries. `old` is the stored record, if any.
pub fn put(
    txn: &WriteTransaction,
    old: Option<&MemberRecord>,
    member: Member,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some(old) = old {
        unindex(txn, &old.member)?;
    }
    let record = MemberRecord {
        enrolled_at: old.map_or(now, |o| o.enrolled_at),
        updated_at: now,
        member,
    };
    index(txn, &record.member)?;
    let bytes = serde_json::to_vec(&record)
        .map_err(|e| StoreError::Corrupt(format!("member encode: {e}")))?;
    txn.open_table(tables::MEMBERS)?
        .insert(record.member.member_id.as_str(), bytes.as_slice())?;
    Ok(())
}

/// Remove a member and its index entries.
pub fn remove(txn: &WriteTransaction, old: &MemberRecord) -> Result<(), StoreError> {
    unindex(txn, &old.member)?;
    txn.open_table(tables::MEMBERS)?
        .remove(old.member.member_id.as_str())?;
    Ok(())
}

fn index(txn: &WriteTransaction, m: &Member) -> Result<(), StoreError> {
    let mut phones = txn.open_multimap_table(tables::PHONE_INDEX)?;
    for phone in m.all_phones() {
        phones.insert(phone, m.member_id.as_str())?;
    }
    let mut accounts = txn.open_multimap_table(tables::ACCOUNT_INDEX)?;
    for account in &m.account_numbers {
        accounts.insert(account.as_str(), m.member_id.as_str())?;
    }
    Ok(())
}

fn unindex(txn: &WriteTransaction, m: &Member) -> Result<(), StoreError> {
    let mut phones = txn.open_multimap_table(tables::PHONE_INDEX)?;
    for phone in m.all_phones() {
        phones.remove(phone, m.member_id.as_str())?;
    }
    let mut accounts = txn.open_multimap_table(tables::ACCOUNT_INDEX)?;
    for account in &m.account_numbers {
        accounts.remove(account.as_str(), m.member_id.as_str())?;
    }
    Ok(())
}

/// Every enrolled member id (for full-mode runs).
pub fn all_ids(txn: &WriteTransaction) -> Result<Vec<String>, StoreError> {
    let table = txn.open_table(tables::MEMBERS)?;
    let mut ids = Vec::new();
    for entry in table.iter()? {
        ids.push(entry?.0.value().to_string());
    }
    Ok(ids)
}

/// How many members are enrolled.
pub fn count(txn: &WriteTransaction) -> Result<u64, StoreError> {
    use redb::ReadableTableMetadata;
    Ok(txn.open_table(tables::MEMBERS)?.len()?)
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
            IdentifierKind::MemberNumber => get(&txn, value)?
                .map(|r| vec![r.member.member_id])
                .unwrap_or_default(),
            IdentifierKind::AccountNumber => ids_for(&txn, tables::ACCOUNT_INDEX, value)?,
            IdentifierKind::Phone => match normalize_ani(value, self.region) {
                Some(e164) => ids_for(&txn, tables::PHONE_INDEX, &e164)?,
                None => Vec::new(),
            },
        })
    }

    async fn member(&self, member_id: &str) -> Result<Option<Member>, CoreError> {
        let txn = self.store.begin_read()?;
        Ok(get(&txn, member_id)?.map(|r| r.member))
    }

    async fn check(&self) -> Result<(), CoreError> {
        self.store.schema_version()?;
        Ok(())
    }
}
