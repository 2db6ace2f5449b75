//! Every table of the redb file, in one place. A new table is added here and to
//! [`copy_all`], so that backups carry it (a test checks that no table is left out).

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::StoreError;

/// Small records about the file itself: `schema_version`, `created_at`, the audit head.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new(META_NAME);
const META_NAME: &str = "meta";
/// API keys by key id; the value is a JSON [`crate::keys::StoredKey`] (hash only, never the key).
pub const API_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new(API_KEYS_NAME);
const API_KEYS_NAME: &str = "api_keys";
/// The hash-chained audit log by sequence number; the value is a JSON [`crate::audit::AuditRecord`].
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new(AUDIT_NAME);
const AUDIT_NAME: &str = "audit";

/// Enrolled members by member id; the value is a JSON [`crate::member::MemberRecord`].
pub const MEMBERS: TableDefinition<&str, &[u8]> = TableDefinition::new(MEMBERS_NAME);
const MEMBERS_NAME: &str = "members";
/// `E.164 phone \0 member id` for every member that claims the number (mobile and other
/// phones; lookups skip the numbers a member has had withdrawn). A lookup is one range read.
/// (Plain composite keys: a redb multimap insert costs several times more, and enrollment
/// writes millions of them.)
pub const PHONE_INDEX: TableDefinition<&str, ()> = TableDefinition::new(PHONE_INDEX_NAME);
const PHONE_INDEX_NAME: &str = "phone_index";
/// `account number \0 member id`.
pub const ACCOUNT_INDEX: TableDefinition<&str, ()> = TableDefinition::new(ACCOUNT_INDEX_NAME);
const ACCOUNT_INDEX_NAME: &str = "account_index";

/// The names of every table, for checks and backups.
pub const ALL: [&str; 6] = [
    META_NAME,
    API_KEYS_NAME,
    AUDIT_NAME,
    MEMBERS_NAME,
    PHONE_INDEX_NAME,
    ACCOUNT_INDEX_NAME,
];

/// Create any table that does not exist yet, so read transactions never miss one.
pub fn create_all(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META)?;
    txn.open_table(API_KEYS)?;
    txn.open_table(AUDIT)?;
    txn.open_table(MEMBERS)?;
    txn.open_table(PHONE_INDEX)?;
    txn.open_table(ACCOUNT_INDEX)?;
    Ok(())
}

/// Copy every table from one snapshot into another file's write transaction.
/// Returns the number of rows copied.
pub fn copy_all(src: &ReadTransaction, dst: &WriteTransaction) -> Result<u64, StoreError> {
    Ok(copy_table(src, dst, META)?
        + copy_table(src, dst, API_KEYS)?
        + copy_table(src, dst, AUDIT)?
        + copy_table(src, dst, MEMBERS)?
        + copy_table(src, dst, PHONE_INDEX)?
        + copy_table(src, dst, ACCOUNT_INDEX)?)
}

fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    src: &ReadTransaction,
    dst: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let from = src.open_table(def)?;
    let mut to = dst.open_table(def)?;
    let mut rows = 0;
    for entry in from.iter()? {
        let (k, v) = entry?;
        to.insert(k.value(), v.value())?;
        rows += 1;
    }
    Ok(rows)
}

/// The key of an index entry: `value \0 member id`. Member ids and indexed values never
/// hold control characters, so the separator is unambiguous.
pub fn index_key(value: &str, member_id: &str) -> String {
    let mut key = String::with_capacity(value.len() + 1 + member_id.len());
    key.push_str(value);
    key.push('\0');
    key.push_str(member_id);
    key
}

/// The member ids indexed under `value`: one range read.
pub fn index_ids(
    table: &impl ReadableTable<&'static str, ()>,
    value: &str,
) -> Result<Vec<String>, StoreError> {
    let start = format!("{value}\0");
    let end = format!("{value}\u{1}");
    let mut ids = Vec::new();
    for entry in table.range::<&str>(start.as_str()..end.as_str())? {
        let (k, _) = entry?;
        if let Some((_, id)) = k.value().split_once('\0') {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}
