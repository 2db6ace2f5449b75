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

/// The names of every table, for checks and backups.
pub const ALL: [&str; 3] = [META_NAME, API_KEYS_NAME, AUDIT_NAME];

/// Create any table that does not exist yet, so read transactions never miss one.
pub fn create_all(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META)?;
    txn.open_table(API_KEYS)?;
    txn.open_table(AUDIT)?;
    Ok(())
}

/// Copy every table from one snapshot into another file's write transaction.
/// Returns the number of rows copied.
pub fn copy_all(src: &ReadTransaction, dst: &WriteTransaction) -> Result<u64, StoreError> {
    Ok(
        copy_table(src, dst, META)?
            + copy_table(src, dst, API_KEYS)?
            + copy_table(src, dst, AUDIT)?,
    )
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
