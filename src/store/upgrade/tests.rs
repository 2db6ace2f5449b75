use super::*;
use crate::store::{Store, tables};
use redb::{ReadableTable, ReadableTableMetadata};
use std::io::Read;

/// The fixture: a store written by the last build on redb 2 (see its README).
fn format_2_store(dir: &Path) -> PathBuf {
    let gz = include_bytes!("../../../tests/fixtures/format-2-store/callvault.redb.gz");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut bytes)
        .unwrap();
    let path = dir.join(super::super::DB_FILE_NAME);
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_store_written_on_redb_2_opens_with_every_record_and_the_old_file_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = format_2_store(dir.path());
    let before = fs::read(&path).unwrap();
    assert!(needs_upgrade(&redb::Database::open(&path).unwrap_err()));

    let store = Store::open_file(&path).unwrap();
    let kept = dir.path().join("callvault.redb.format-2");
    assert_eq!(
        fs::read(&kept).unwrap(),
        before,
        "the old file is kept as it was"
    );
    assert!(!dir.path().join("callvault.redb.upgrading").exists());
    assert_eq!(
        store.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );

    let report = store.check().unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.members, 3);
    assert_eq!(report.api_keys, 3);
    assert_eq!(report.audit_records, 14);

    let txn = store.begin_read().unwrap();
    // the one tuple-keyed table, whose encoding changed in redb 3
    let attempts = txn.open_table(tables::ATTEMPTS).unwrap();
    let counter = attempts
        .get(("70001", crate::calls::ANSWER_ATTEMPTS))
        .unwrap()
        .expect("70001's wrong-answer counter");
    let counter: crate::lockout::Counter = postcard::from_bytes(counter.value()).unwrap();
    assert_eq!(counter.wrong, 1);
    assert_eq!(attempts.len().unwrap(), 1);
    let phones = txn.open_table(tables::PHONE_INDEX).unwrap();
    assert!(phones.iter().unwrap().count() > 0);
    // the calls, numbered by the schema 2 -> 3 migration in the order they started
    let calls = txn.open_table(tables::CALLS).unwrap();
    let mut ids: Vec<String> = Vec::new();
    for entry in txn.open_table(tables::CALL_IDS).unwrap().iter().unwrap() {
        let (number, id) = entry.unwrap();
        let row = calls
            .get(number.value())
            .unwrap()
            .expect("a row per number");
        let call: crate::dialog::Call = serde_json::from_slice(row.value()).unwrap();
        assert_eq!(call.call_id, id.value().0);
        ids.push(call.call_id);
    }
    ids.sort();
    assert_eq!(ids, ["fx-ended", "fx-known"]);
    let pins = txn.open_table(tables::PINS).unwrap();
    assert!(pins.get("70003").unwrap().is_some());
    drop((attempts, phones, calls, pins, txn, store));

    // opened again: nothing left to upgrade, and the kept file is not touched again
    let kept_at = fs::metadata(&kept).unwrap().modified().unwrap();
    let store = Store::open_file(&path).unwrap();
    assert_eq!(store.check().unwrap().audit_records, 14);
    assert_eq!(fs::metadata(&kept).unwrap().modified().unwrap(), kept_at);
}

/// A format-2 file with a row in a table of every shape, as redb 2 wrote them, including
/// the staged enrollment tables and schema 1's `calls_by_ani`.
fn every_shape(path: &Path, extra_table: Option<&str>) {
    let db = redb2::Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn
            .open_table(redb2::TableDefinition::<&str, &[u8]>::new("meta"))
            .unwrap();
        meta.insert("schema_version", &1u32.to_le_bytes()[..])
            .unwrap();
        let mut staged = txn
            .open_table(redb2::TableDefinition::<&str, &str>::new(
                "staged_phone_index",
            ))
            .unwrap();
        staged.insert("+1612555", "+16125550101\u{0}70001").unwrap();
        let mut audit = txn
            .open_table(redb2::TableDefinition::<u64, &[u8]>::new("audit"))
            .unwrap();
        audit.insert(7, &b"seven"[..]).unwrap();
        let mut attempts = txn
            .open_table(redb2::TableDefinition::<(&str, &str), &[u8]>::new(
                "attempts",
            ))
            .unwrap();
        attempts
            .insert(("a-long-member-id", "pin"), &[1u8, 2][..])
            .unwrap();
        attempts.insert(("b", "answers"), &[3u8][..]).unwrap();
        let mut by_ani = txn
            .open_table(redb2::TableDefinition::<(&str, &str), i64>::new(
                "calls_by_ani",
            ))
            .unwrap();
        by_ani.insert(("+16125550101", "c1"), 5).unwrap();
        if let Some(name) = extra_table {
            txn.open_table(redb2::TableDefinition::<&str, &str>::new(name))
                .unwrap()
                .insert("k", "v")
                .unwrap();
        }
    }
    txn.commit().unwrap();
}

#[test]
fn every_table_shape_is_copied_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    every_shape(&path, None);
    let done = upgrade_file(&path, false).unwrap();
    assert_eq!((done.tables, done.rows, done.kept), (4, 5, None));
    let db = redb::Database::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let attempts = txn.open_table(tables::ATTEMPTS).unwrap();
    let rows: Vec<((String, String), Vec<u8>)> = attempts
        .iter()
        .unwrap()
        .map(|e| {
            let (k, v) = e.unwrap();
            let (a, b) = k.value();
            ((a.to_string(), b.to_string()), v.value().to_vec())
        })
        .collect();
    assert_eq!(
        rows,
        [
            (("a-long-member-id".into(), "pin".into()), vec![1, 2]),
            (("b".into(), "answers".into()), vec![3])
        ]
    );
    let staged = txn.open_table(tables::STAGED_MEMBERS.phones).unwrap();
    assert_eq!(
        staged.get("+1612555").unwrap().unwrap().value(),
        "+16125550101\u{0}70001"
    );
    let audit = txn.open_table(tables::AUDIT).unwrap();
    assert_eq!(audit.get(7).unwrap().unwrap().value(), b"seven");
    // schema 1's index is left behind: the 1 -> 2 migration would drop it anyway
    let names: Vec<String> = redb::ReadTransaction::list_tables(&txn)
        .unwrap()
        .map(|t| redb::TableHandle::name(&t).to_string())
        .collect();
    assert!(!names.contains(&"calls_by_ani".to_string()), "{names:?}");
    drop((attempts, staged, audit, txn, db));
    // and the store opens, migrating schema 1 to 2
    let store = Store::open_file(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
}

#[test]
fn a_copy_left_by_an_interrupted_upgrade_is_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    every_shape(&path, None);
    // a crash during the copy: a partial file beside the untouched store
    fs::write(dir.path().join("s.redb.upgrading"), b"half a copy").unwrap();
    let store = Store::open_file(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
    assert!(!dir.path().join("s.redb.upgrading").exists());
    assert!(dir.path().join("s.redb.format-2").is_file());
}

#[test]
fn the_copy_keeps_the_stores_owner() {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot make a store another user owns; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    every_shape(&path, None);
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    upgrade_file(&path, true).unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (65534, 65534, 0o600)
    );
}

#[test]
fn a_table_it_does_not_know_stops_the_upgrade_and_leaves_the_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    every_shape(&path, Some("someone_elses"));
    let before = fs::read(&path).unwrap();
    let err = Store::open_file(&path).err().expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("someone_elses") && text.contains("format 2"),
        "{text}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    assert!(!dir.path().join("s.redb.upgrading").exists());
    assert!(!dir.path().join("s.redb.format-2").exists());
}

#[test]
fn a_format_2_store_in_use_is_not_upgraded_under_its_user() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    every_shape(&path, None);
    let held = redb2::Database::open(&path).unwrap();
    let err = Store::open_file(&path).err().expect("refused");
    assert!(matches!(err, StoreError::InUse { .. }), "{err}");
    drop(held);
    Store::open_file(&path).unwrap();
}

#[test]
fn an_offline_check_upgrades_a_format_2_store_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = format_2_store(dir.path());
    let before = fs::read(&path).unwrap();
    let report = crate::store::check_offline(&path).unwrap();
    assert!(report.ok() && report.integrity_checked, "{report:?}");
    assert_eq!((report.members, report.audit_records), (3, 14));
    let kept = dir.path().join("callvault.redb.format-2");
    assert_eq!(fs::read(&kept).unwrap(), before);
}

#[test]
fn a_restore_over_a_format_2_store_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    fs::create_dir(&state).unwrap();
    format_2_store(&state);
    let backup = dir.path().join("b.redb");
    {
        let fresh = Store::open(&dir.path().join("fresh")).unwrap();
        fresh.backup_to(&backup, 0).unwrap();
    }
    let report = crate::store::restore(&state, &backup).unwrap();
    assert_eq!((report.members, report.audit_records), (0, 0));
    let store = Store::open(&state).unwrap();
    assert_eq!(store.check().unwrap().members, 0);
    assert!(
        state
            .join(format!("{}.before-restore", crate::store::DB_FILE_NAME))
            .exists()
    );
}

/// A restore over a live store still in redb's file format 2 (restoring before the first
/// start of this version) replaces it and keeps it beside, as it was; the keys it held are
/// not read, and the restore says so (the CLI asks the admin to check `key list`).
#[test]
fn a_restore_over_a_store_still_in_format_2_replaces_it_and_says_its_keys_were_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    fs::create_dir_all(&state).unwrap();
    let live = format_2_store(&state);
    let before = fs::read(&live).unwrap();
    let backup = dir.path().join("b.redb");
    Store::open(&dir.path().join("other"))
        .unwrap()
        .backup_to(&backup, 0)
        .unwrap();

    let restored =
        crate::store::restore_with(&state, &backup, &crate::enroll::progress::Silent).unwrap();
    assert_eq!(
        restored.keys,
        Err("it is in redb's file format 2".to_string())
    );
    assert_eq!(
        fs::read(state.join("callvault.redb.before-restore")).unwrap(),
        before,
        "the replaced store is kept as it was"
    );
    assert!(Store::open(&state).unwrap().check().unwrap().ok());
}
