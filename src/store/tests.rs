use super::*;
use crate::audit::{AuditEvent, EventKind, Outcome, append_in};
use crate::shared_tests::logged;

fn store_in(dir: &Path) -> Store {
    Store::open(dir).unwrap()
}

fn add_audit(store: &Store, n: usize) {
    let txn = store.begin_write().unwrap();
    let events = (0..n).map(|i| {
        AuditEvent::new("test", EventKind::ServiceStarted, Outcome::Ok).detail(format!("{i}"))
    });
    append_in(&txn, chrono::Utc::now(), events).unwrap();
    txn.commit().unwrap();
}

/// A store in `dir/state` with `records` audit records, backed up to `dir/b.redb`, then
/// `after` records more: the state directory and the backup.
fn backed_up(dir: &Path, records: usize, after: usize) -> (PathBuf, PathBuf) {
    let (state, backup) = (dir.join("state"), dir.join("b.redb"));
    let store = store_in(&state);
    add_audit(&store, records);
    store.backup_to(&backup, 0).unwrap();
    add_audit(&store, after);
    (state, backup)
}

/// After a refused restore: no staged copy left, and the live store as it was, with
/// `records` audit records and its chain intact.
fn live_store_kept(state: &Path, records: u64) {
    assert!(!state.join(format!("{DB_FILE_NAME}.restoring")).exists());
    let live = store_in(state).check().unwrap();
    assert_eq!(
        (live.audit_records, live.audit_chain.first_bad),
        (records, None)
    );
}

/// Write `version` as the schema version of the store file at `path` (not open elsewhere).
fn set_schema_version(path: &Path, version: u32) {
    let db = Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(tables::META)
        .unwrap()
        .insert(SCHEMA_KEY, version.to_le_bytes().as_slice())
        .unwrap();
    txn.commit().unwrap();
}

#[test]
fn new_store_records_the_schema_and_is_private() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir.path().join("state"));
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(fs::metadata(store.path()).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        fs::metadata(dir.path().join("state")).unwrap().mode() & 0o777,
        0o700
    );
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    drop(store_in(dir.path()));
    set_schema_version(&dir.path().join(DB_FILE_NAME), SCHEMA_VERSION + 1);
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1));
    assert!(
        err.to_string()
            .contains("newer than this callvault supports"),
        "{err}"
    );
}

/// The calls table of schemas 1 and 2: by the IVR's call id.
const OLD_CALLS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("calls");

/// A stored call as schemas 1 and 2 wrote it, reduced to what the migration reads.
fn old_call(id: &str, ani: Option<&str>, started_at: &str) -> Vec<u8> {
    serde_json::json!({"call_id": id, "ani": ani, "started_at": started_at, "phase": "x"})
        .to_string()
        .into_bytes()
}

/// A store as schema `version` wrote it, holding these calls.
fn old_store(path: &Path, version: u32, calls: &[(&str, Option<&str>, &str)]) {
    let db = redb::Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(tables::META)
        .unwrap()
        .insert(SCHEMA_KEY, version.to_le_bytes().as_slice())
        .unwrap();
    let mut table = txn.open_table(OLD_CALLS).unwrap();
    for (id, ani, at) in calls {
        table
            .insert(*id, old_call(id, *ani, at).as_slice())
            .unwrap();
    }
    drop(table);
    txn.commit().unwrap();
}

fn table_names(store: &Store) -> Vec<String> {
    store
        .begin_read()
        .unwrap()
        .list_tables()
        .unwrap()
        .map(|t| redb::TableHandle::name(&t).to_string())
        .collect()
}

/// (number, call id, caller ID, the row's own call id) of every stored call.
fn numbered(store: &Store) -> Vec<(u64, String, String, String)> {
    let txn = store.begin_read().unwrap();
    let rows = txn.open_table(tables::CALLS).unwrap();
    txn.open_table(tables::CALL_IDS)
        .unwrap()
        .iter()
        .unwrap()
        .map(|r| {
            let (k, v) = r.unwrap();
            let (id, ani) = v.value();
            let row: serde_json::Value =
                serde_json::from_slice(rows.get(k.value()).unwrap().unwrap().value()).unwrap();
            (
                k.value(),
                id.to_string(),
                ani.to_string(),
                row["call_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_version_1_store_loses_its_caller_id_index_and_keeps_its_calls() {
    const CALLS_BY_ANI: redb::TableDefinition<(&str, &str), i64> =
        redb::TableDefinition::new("calls_by_ani");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    old_store(
        &path,
        1,
        &[("c1", Some("+16122030101"), "2026-11-20T10:00:00Z")],
    );
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(CALLS_BY_ANI)
            .unwrap()
            .insert(("+16122030101", "c1"), 0)
            .unwrap();
        txn.commit().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let names = table_names(&store);
    assert!(!names.iter().any(|n| n == "calls_by_ani"), "{names:?}");
    assert_eq!(
        numbered(&store),
        [(1, "c1".into(), "+16122030101".into(), "c1".into())]
    );
}

#[test]
fn a_version_2_store_numbers_its_calls_in_the_order_they_started() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    // by id the order is a, b, c, d; by start time it is c, a, d, b
    old_store(
        &path,
        2,
        &[
            ("a", Some("+16122030101"), "2026-11-20T10:00:01Z"),
            ("b", None, "2026-11-20T10:00:09Z"),
            ("c", Some("+16122030102"), "2026-11-20T09:59:00Z"),
            ("d", Some("+16122030101"), "2026-11-20T10:00:05.5Z"),
        ],
    );
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let want: Vec<(u64, String, String, String)> = [
        (1, "c", "+16122030102"),
        (2, "a", "+16122030101"),
        (3, "d", "+16122030101"),
        (4, "b", ""),
    ]
    .iter()
    .map(|(n, id, ani)| (*n, id.to_string(), ani.to_string(), id.to_string()))
    .collect();
    assert_eq!(numbered(&store), want);
    let names = table_names(&store);
    assert!(!names.iter().any(|n| n == "calls"), "{names:?}");
    drop(store);
    // opening again changes nothing
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(numbered(&store), want);
}

#[test]
fn a_version_3_store_lists_the_challenges_it_holds_under_their_calls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(tables::META)
            .unwrap()
            .insert(SCHEMA_KEY, 3u32.to_le_bytes().as_slice())
            .unwrap();
        let mut challenges = txn.open_table(tables::CHALLENGES).unwrap();
        for (id, call) in [("ch_b", "c1"), ("ch_a", "c2"), ("ch_c", "c1")] {
            let row = serde_json::json!({"challenge_id": id, "call_id": call, "state": "x"});
            challenges.insert(id, row.to_string().as_bytes()).unwrap();
        }
        drop(challenges);
        txn.commit().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let listed = call_challenges_listed(&store.begin_read().unwrap());
    let want = [("c1", "ch_b"), ("c1", "ch_c"), ("c2", "ch_a")];
    assert_eq!(listed, want.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn a_version_2_store_with_an_unreadable_call_is_not_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    old_store(&path, 2, &[("a", None, "2026-11-20T10:00:01Z")]);
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(OLD_CALLS)
            .unwrap()
            .insert("broken", b"not json".as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let err = Store::open(dir.path()).err().unwrap();
    assert!(err.to_string().contains("call broken"), "{err}");
    // nothing was changed: the file is still at schema 2, its calls where they were
    let db = redb::Database::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    assert_eq!(txn.open_table(OLD_CALLS).unwrap().len().unwrap(), 2);
    let v = txn
        .open_table(tables::META)
        .unwrap()
        .get(SCHEMA_KEY)
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    assert_eq!(v, 2u32.to_le_bytes());
}

#[test]
fn a_second_opener_is_told_the_store_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _held = store_in(dir.path());
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::InUse { .. })
    ));
}

#[test]
fn backup_carries_every_table_and_restore_brings_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let backup = dir.path().join("backup.redb");
    let backed_up = {
        let store = store_in(&state);
        crate::keys::create(
            &store,
            "ivr1",
            crate::keys::Role::Ivr,
            "test",
            chrono::Utc::now(),
        )
        .unwrap();
        add_audit(&store, 3);
        let report = store.backup_to(&backup, 0).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the backup holds members' facts");
        // A backup never overwrites.
        let refused = store.backup_to(&backup, 0).unwrap_err().to_string();
        assert_eq!(
            refused,
            format!(
                "refusing to overwrite {}: the file exists (name a new file, or remove this one first)",
                backup.display()
            )
        );
        // Work after the backup is what a restore rolls back.
        add_audit(&store, 2);
        assert_eq!(store.check().unwrap().audit_records, 6);
        report.rows
    };
    {
        let db = Database::open(&backup).unwrap();
        let txn = db.begin_read().unwrap();
        let handles: Vec<_> = txn.list_tables().unwrap().collect();
        let mut rows = 0;
        for handle in &handles {
            use redb::ReadableTableMetadata;
            rows += txn
                .open_untyped_table(handle.clone())
                .unwrap()
                .len()
                .unwrap();
        }
        assert_eq!(
            backed_up, rows,
            "the report counts every row the backup holds"
        );
        let mut names: Vec<String> = handles
            .iter()
            .map(|t| redb::TableHandle::name(t).to_string())
            .collect();
        names.sort();
        let mut all: Vec<String> = tables::ALL.iter().map(|s| s.to_string()).collect();
        all.sort();
        assert_eq!(
            names, all,
            "a table is missing from tables::ALL or copy_all"
        );
    }
    let report = restore(&state, &backup).unwrap();
    // One record for the key's creation, three added: what existed when the backup was made.
    assert_eq!(report.audit_records, 4);
    assert_eq!(report.api_keys, 1);
    assert!(
        state
            .join(format!("{DB_FILE_NAME}.before-restore"))
            .exists()
    );
    let store = store_in(&state);
    let check = store.check().unwrap();
    assert_eq!(check.audit_records, 4);
    assert!(check.ok());
}

#[test]
fn a_store_the_user_may_not_open_says_whose_it_must_be() {
    let path = Path::new("/var/lib/callvault/callvault.redb");
    let denied = redb::StorageError::Io(io::Error::from(io::ErrorKind::PermissionDenied));
    let text = open_error(path, redb::DatabaseError::Storage(denied)).to_string();
    assert!(
        text.starts_with("cannot open the store /var/lib/callvault/callvault.redb: ")
            && text.ends_with(
                "it must belong to the user callvault runs as \
                 (`chown callvault: /var/lib/callvault/callvault.redb` when installed)"
            ),
        "{text}"
    );
    // a read-only file system says how it comes to be, and how to read the store meanwhile
    let erofs = redb::StorageError::Io(io::Error::from_raw_os_error(30));
    let text = open_error(path, redb::DatabaseError::Storage(erofs)).to_string();
    for says in [
        "cannot open the store /var/lib/callvault/callvault.redb for writing: its file system \
         is read-only, as the kernel makes one after an error on its disk: see `dmesg`",
        "copy callvault.redb to another disk",
        "`CALLVAULT__STORAGE__STATE_DIR=DIR callvault db check`",
    ] {
        assert!(text.contains(says), "{says}: {text}");
    }
    // other I/O errors are told as redb words them
    let missing = redb::StorageError::Io(io::Error::from(io::ErrorKind::NotFound));
    let other = open_error(path, redb::DatabaseError::Storage(missing));
    assert!(matches!(other, StoreError::Redb(_)), "{other}");
}

/// The stop waits for long work on the store (an inbox run, an admin command) to end, for
/// as long as it is told to.
#[test]
fn a_stop_waits_for_the_work_under_way() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(store_in(dir.path()));
    assert!(store.wait_for_work(Duration::ZERO), "nothing under way");
    let (one, two) = (store.work(), store.work());
    assert!(!store.wait_for_work(Duration::from_millis(20)));
    drop(one);
    assert!(!store.wait_for_work(Duration::from_millis(20)), "one left");
    let waiting = store.clone();
    let timeout = Duration::from_secs(30);
    let waiter = std::thread::spawn(move || {
        let since = std::time::Instant::now();
        (waiting.wait_for_work(timeout), since.elapsed())
    });
    std::thread::sleep(Duration::from_millis(50));
    drop(two);
    let (ended, waited) = waiter.join().unwrap();
    assert!(ended, "all of it ended");
    assert!(
        waited < timeout,
        "woken when the last one ends, not at the timeout"
    );
}

/// root restoring with the service stopped (as README's `systemctl stop ... && callvault db
/// restore FILE` does) must leave a store the service's user can open: owned as the store it
/// replaces, or as the state directory for a first one.
#[test]
fn a_restore_keeps_the_owner_of_the_store_it_replaces() {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot make a store another user owns; skipped");
        return;
    }
    let owner = |p: &Path| {
        let m = fs::metadata(p).unwrap();
        (m.uid(), m.gid(), m.mode() & 0o777)
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let backup = dir.path().join("b.redb");
    drop(store_in(&state).backup_to(&backup, 0));
    let live = state.join(DB_FILE_NAME);
    std::os::unix::fs::chown(&live, Some(65534), Some(65533)).unwrap();
    restore(&state, &backup).unwrap();
    assert_eq!(owner(&live), (65534, 65533, 0o600));
    assert_eq!(owner(&backup).0, 0, "the backup itself is left alone");

    // no store yet: the state directory's owner
    let fresh = dir.path().join("fresh");
    fs::create_dir(&fresh).unwrap();
    std::os::unix::fs::chown(&fresh, Some(65532), Some(65531)).unwrap();
    restore(&fresh, &backup).unwrap();
    assert_eq!(owner(&fresh.join(DB_FILE_NAME)), (65532, 65531, 0o600));
}

#[test]
fn restore_refuses_while_the_store_is_open_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let backup = dir.path().join("b.redb");
    let store = store_in(&state);
    store.backup_to(&backup, 0).unwrap();
    assert!(matches!(
        restore(&state, &backup),
        Err(StoreError::InUse { .. })
    ));
    assert!(store.check().unwrap().ok());
}

/// Space freed inside the file (here a table of 40,000 rows dropped) is given back to the
/// disk; what is kept stays as it was; an open store is not compacted.
#[test]
fn compact_gives_freed_space_back_and_keeps_every_record() {
    const SCRATCH: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("scratch");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let path = state.join(DB_FILE_NAME);
    let store = store_in(&state);
    add_audit(&store, 100);
    {
        let txn = store.begin_write().unwrap();
        {
            let mut t = txn.open_table(SCRATCH).unwrap();
            for n in 0..40_000u64 {
                t.insert(n, [7u8; 512].as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
        let txn = store.begin_write().unwrap();
        txn.delete_table(SCRATCH).unwrap();
        txn.commit().unwrap();
    }
    assert!(
        matches!(compact(&path), Err(StoreError::InUse { .. })),
        "the store is open"
    );
    let kept = store.check().unwrap();
    drop(store);
    let grown = fs::metadata(&path).unwrap().len();
    let done = compact(&path).unwrap();
    assert_eq!(done.before, grown);
    assert_eq!(done.after, fs::metadata(&path).unwrap().len());
    assert!(
        done.after * 10 < done.before,
        "{} bytes to {}",
        done.before,
        done.after
    );
    let store = Store::open(&state).unwrap();
    let after = store.check().unwrap();
    assert!(after.ok(), "{after:?}");
    assert_eq!(after.audit_records, kept.audit_records);
    assert_eq!(after.audit_chain, kept.audit_chain);
}

/// A backup is compacted: smaller than the store it copies (rows copied in key order once
/// left redb's pages half full: a copy of 1,000,000 records was 1.6 times the store).
#[test]
fn a_backup_is_compacted_smaller_than_the_store_it_copies() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir.path().join("state"));
    for _ in 0..10 {
        add_audit(&store, 5_000);
    }
    let backup = dir.path().join("b.redb");
    let report = store.backup_to(&backup, 0).unwrap();
    let live = fs::metadata(store.path()).unwrap().len();
    assert_eq!(report.bytes, fs::metadata(&backup).unwrap().len());
    // 17.4 MB against 17.8 here; uncompacted, the copy was the store's size exactly
    assert!(
        report.bytes < live,
        "backup {} bytes, store {live}",
        report.bytes
    );
}

#[test]
fn restore_refuses_a_file_that_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    drop(store_in(&state));
    let junk = dir.path().join("junk.redb");
    let empty = dir.path().join("empty.redb");
    fs::write(&empty, b"").unwrap();
    for (file, bytes) in [(&junk, vec![7u8; 8192]), (&empty, Vec::new())] {
        fs::write(file, bytes).unwrap();
        let refused = restore(&state, file).unwrap_err();
        assert_eq!(
            refused.to_string(),
            format!(
                "{} is not a callvault store (not a redb file)",
                file.display()
            )
        );
        assert!(!state.join(format!("{DB_FILE_NAME}.restoring")).exists());
        assert!(store_in(&state).check().unwrap().ok());
    }
}

#[test]
fn restore_refuses_a_folder_and_a_backup_whose_audit_chain_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let (state, backup) = backed_up(dir.path(), 3, 1);
    let refused = restore(&state, dir.path()).unwrap_err().to_string();
    assert_eq!(
        refused,
        format!(
            "cannot read the backup {}: it is not a file",
            dir.path().display()
        )
    );
    {
        let db = Database::open(&backup).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut audit = txn.open_table(tables::AUDIT).unwrap();
            let record = audit.get(2).unwrap().unwrap().value().to_vec();
            let mut edited = record.clone();
            let at = edited.len() / 2;
            edited[at] = if edited[at] == b'x' { b'y' } else { b'x' };
            audit.insert(2, edited.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let refused = restore(&state, &backup).unwrap_err().to_string();
    assert!(
        refused.starts_with(&format!(
            "{} is damaged: its audit chain is broken at record 2 (",
            backup.display()
        )),
        "{refused}"
    );
    // the live store is the one from before, its records all there
    live_store_kept(&state, 4);
}

#[test]
fn a_backup_to_a_folder_or_into_a_missing_one_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir.path().join("state"));
    let cases = [
        (
            dir.path().to_path_buf(),
            "it is a folder (name a new file in it)".to_string(),
        ),
        (
            dir.path().join("no/such/b.redb"),
            format!(
                "the folder {} does not exist",
                dir.path().join("no/such").display()
            ),
        ),
    ];
    for (dest, why) in cases {
        let refused = store.backup_to(&dest, 0).unwrap_err().to_string();
        assert_eq!(
            refused,
            format!("cannot write the backup to {}: {why}", dest.display())
        );
    }
    assert!(
        !dir.path().join("no").exists(),
        "nothing is created on the way"
    );
}

#[test]
fn offline_check_runs_the_page_level_check() {
    let dir = tempfile::tempdir().unwrap();
    drop(store_in(dir.path()));
    let report = check_offline(&dir.path().join(DB_FILE_NAME)).unwrap();
    assert!(report.integrity_checked);
    assert!(report.ok());
}

#[test]
fn check_decodes_every_member_record_and_names_one_that_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let put = |id: &str, bytes: &[u8]| {
        let txn = store.begin_write().unwrap();
        txn.open_table(tables::MEMBERS)
            .unwrap()
            .insert(id, bytes)
            .unwrap();
        txn.commit().unwrap();
    };
    let record = crate::member::MemberRecord {
        member: crate::member::Member {
            member_id: "M1".into(),
            ..Default::default()
        },
        enrolled_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    };
    put("M1", &record.encode().unwrap());
    put("M2", &record.encode().unwrap());
    assert_eq!(store.check().unwrap().members, 2);
    put("M3", &[9, 1, 2]);
    let err = store.check().unwrap_err().to_string();
    assert!(
        err.contains("member M3") && err.contains("format 9"),
        "{err}"
    );
}

use redb::BackendError;
use std::ops::Bound;

/// What a full disk answers a write.
const ENOSPC: i32 = 28;
/// What a file system the kernel made read-only answers.
const EROFS: i32 = 30;

/// A file that fails every write and sync with the OS error in `fails` while it is not 0, as
/// a full disk ([`ENOSPC`]) or a read-only file system ([`EROFS`]) does.
#[derive(Debug)]
struct Disk {
    file: redb::backends::FileBackend,
    fails: std::sync::Arc<std::sync::atomic::AtomicI32>,
}

impl Disk {
    fn check(&self) -> Result<(), io::Error> {
        match self.fails.load(std::sync::atomic::Ordering::SeqCst) {
            0 => Ok(()),
            errno => Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

impl redb::StorageBackend for Disk {
    fn len(&self) -> Result<u64, io::Error> {
        self.file.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.file.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.check()?;
        self.file.set_len(len)
    }
    fn sync_data(&self) -> Result<(), io::Error> {
        self.check()?;
        self.file.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.check()?;
        self.file.write(offset, data)
    }
    // the file's lock, as the plain file backend takes it: a reopen must find it released
    fn close(&self) -> Result<(), io::Error> {
        self.file.close()
    }
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }
    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }
    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }
    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }
    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}

/// A store on `Disk`, reopened on it too.
fn store_on_disk(path: &Path, fails: std::sync::Arc<std::sync::atomic::AtomicI32>) -> Store {
    let file = path.to_path_buf();
    let open = move || {
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&file)?;
        builder().create_with_backend(Disk {
            file: redb::backends::FileBackend::new(f)?,
            fails: fails.clone(),
        })
    };
    let store = Store::with_opener(open().unwrap(), path, Box::new(open));
    store.prepare_schema().unwrap();
    store
}

fn audit_count(store: &Store) -> u64 {
    let txn = store.begin_read().unwrap();
    let report = crate::audit::verify(&txn).unwrap();
    assert_eq!(report.first_bad, None);
    txn.open_table(tables::AUDIT).unwrap().len().unwrap()
}

#[test]
fn after_a_full_disk_the_store_reopens_by_itself_and_keeps_every_commit_before_it() {
    use std::sync::atomic::{AtomicI32, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let full = std::sync::Arc::new(AtomicI32::new(0));
    let store = store_on_disk(&dir.path().join(DB_FILE_NAME), full.clone());
    add_audit(&store, 3);
    assert_eq!(store.fault(), None);

    // the disk fills: a commit fails (here redb's own, which the store does not see), and
    // redb then refuses every write; the next writer closes the file
    full.store(ENOSPC, Ordering::SeqCst);
    let WriteTxn { txn, .. } = one_event(&store);
    assert!(txn.commit().is_err(), "the commit on a full disk fails");
    assert_eq!(store.fault(), None, "not seen yet");
    let refused = store.begin_write().map(|_| ()).unwrap_err();
    assert!(matches!(refused, StoreError::Closed { .. }), "{refused}");
    assert!(store.fault().is_some());
    // reads fail fast, and the store keeps trying while the disk is full
    assert!(matches!(
        store.begin_read().map(|_| ()),
        Err(StoreError::Closed { .. })
    ));
    std::thread::sleep(Duration::from_millis(1500));
    let fault = store.fault().expect("still closed while the disk is full");
    assert!(fault.contains("os error 28"), "{fault}");

    // room again: it reopens with no restart, with the three committed records and the
    // chain whole, and takes writes
    full.store(0, Ordering::SeqCst);
    wait_open(&store);
    assert_eq!(audit_count(&store), 3);
    assert!(store.fault().is_some(), "no write has succeeded yet");
    store.probe().unwrap();
    assert_eq!(store.fault(), None, "an empty write clears it");
    add_audit(&store, 2);
    assert_eq!(store.fault(), None);
    assert_eq!(audit_count(&store), 5);

    // a failed commit closes the store at once, before any other write
    full.store(ENOSPC, Ordering::SeqCst);
    let txn = one_event(&store);
    let failed = txn.commit().unwrap_err();
    assert!(failed.to_string().contains("os error 28"), "{failed}");
    assert!(store.fault().is_some(), "closed by the failed commit");
    full.store(0, Ordering::SeqCst);
    wait_open(&store);
    assert_eq!(audit_count(&store), 5);
    add_audit(&store, 1);
    assert_eq!(store.fault(), None);
}

/// After writes failed (a full disk), the log says once, at the first write that succeeds
/// again, that the store is back: the reopen's own lines are thinned while the disk is full.
#[test]
fn the_log_says_once_that_writes_succeed_again_after_a_full_disk() {
    use std::sync::atomic::{AtomicI32, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let full = std::sync::Arc::new(AtomicI32::new(0));
    let store = store_on_disk(&dir.path().join(DB_FILE_NAME), full.clone());
    let back = "a write to the store succeeded again";

    let quiet = logged(|| add_audit(&store, 2));
    assert!(!quiet.contains(back), "{quiet}");

    let failing = logged(|| {
        full.store(ENOSPC, Ordering::SeqCst);
        assert!(one_event(&store).commit().is_err());
        assert!(store.begin_write().is_err());
    });
    assert!(!failing.contains(back), "{failing}");

    full.store(0, Ordering::SeqCst);
    wait_open(&store);
    let recovered = logged(|| {
        add_audit(&store, 3);
        add_audit(&store, 1);
    });
    assert_eq!(recovered.matches(back).count(), 1, "{recovered}");
    assert_eq!(audit_count(&store), 6);
}

/// A failed write is reported with what the disk said: a read-only file system (which the
/// kernel makes of one whose disk erred) is not a full disk, and the admin reading "is the
/// disk full?" would look in the wrong place. The cause goes with the fault once a write
/// succeeds again.
#[test]
fn a_failed_write_says_whether_the_file_system_went_read_only_or_the_disk_filled() {
    use std::sync::atomic::{AtomicI32, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let fails = std::sync::Arc::new(AtomicI32::new(0));
    let store = store_on_disk(&dir.path().join(DB_FILE_NAME), fails.clone());
    add_audit(&store, 1);
    for (errno, says) in [
        (EROFS, "its file system is read-only"),
        (ENOSPC, "its disk is full"),
    ] {
        fails.store(errno, Ordering::SeqCst);
        // (the log line that says so is thinned across the tests, so the fault is read)
        assert!(one_event(&store).commit().is_err());
        let fault = store.fault().expect("closed");
        assert!(
            fault.contains(&format!("failed write ({says}")),
            "{errno}: {fault}"
        );
        assert_eq!(
            store.write_failure_cause(),
            failure_cause(Some(io::Error::from_raw_os_error(errno).kind()), None, None)
        );
        let refused = store.begin_read().map(|_| ()).unwrap_err();
        assert!(refused.to_string().contains(says), "{errno}: {refused}");
        fails.store(0, Ordering::SeqCst);
        wait_open(&store);
        store.probe().unwrap();
        assert_eq!(store.fault(), None);
    }
    // nothing left over from the last failure
    assert_eq!(
        store.write_failure_cause(),
        failure_cause(None, Some(false), store.free_bytes())
    );
}

#[test]
fn the_cause_of_a_failed_write_comes_from_the_error_then_the_file_system() {
    use io::ErrorKind::{Other, QuotaExceeded, ReadOnlyFilesystem, StorageFull};
    const READ_ONLY_SAYS: &str = "its file system is read-only";
    const FULL: &str = "its disk is full";
    const UNKNOWN: &str = "a full or failing disk?";
    let mib = 1024 * 1024;
    // the last error's kind; whether statvfs says read-only; bytes free; what is said
    type Case = (
        Option<io::ErrorKind>,
        Option<bool>,
        Option<u64>,
        &'static str,
    );
    let cases: &[Case] = &[
        // the error's kind first: ext4's emergency_ro leaves statvfs saying read-write
        (
            Some(ReadOnlyFilesystem),
            Some(false),
            Some(100 * mib),
            READ_ONLY_SAYS,
        ),
        (Some(StorageFull), Some(false), Some(100 * mib), FULL),
        (Some(QuotaExceeded), None, None, FULL),
        // then the file system: mounted read-only, or with under 1 MiB free
        (None, Some(true), Some(100 * mib), READ_ONLY_SAYS),
        (Some(Other), Some(true), None, READ_ONLY_SAYS),
        (None, Some(false), Some(mib - 1), FULL),
        (Some(Other), None, Some(0), FULL),
        // else nothing is claimed
        (None, Some(false), Some(mib), UNKNOWN),
        (Some(Other), Some(false), Some(100 * mib), UNKNOWN),
        (None, None, None, UNKNOWN),
    ];
    for (kind, read_only, free, says) in cases {
        let cause = failure_cause(*kind, *read_only, *free);
        assert!(
            cause.starts_with(says),
            "{kind:?} {read_only:?} {free:?}: {cause}"
        );
    }
}

/// A write transaction holding one new audit event, not yet committed.
fn one_event(store: &Store) -> WriteTxn {
    let txn = store.begin_write().unwrap();
    let event = AuditEvent::new("test", EventKind::ServiceStarted, Outcome::Ok);
    append_in(&txn, chrono::Utc::now(), [event]).unwrap();
    txn
}

fn wait_open(store: &Store) {
    let since = std::time::Instant::now();
    while store.begin_read().is_err() {
        assert!(since.elapsed() < Duration::from_secs(10), "not reopened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A backup from a newer callvault is refused in the words `serve` would use, naming the
/// backup (not the copy being checked), and the copy is removed.
#[test]
fn restore_refuses_a_backup_from_a_newer_callvault_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let (state, backup) = backed_up(dir.path(), 1, 0);
    set_schema_version(&backup, SCHEMA_VERSION + 1);
    let refused = restore(&state, &backup).unwrap_err();
    assert!(
        matches!(&refused, StoreError::SchemaTooNew { path, found, .. }
            if *path == backup && *found == SCHEMA_VERSION + 1),
        "{refused}"
    );
    live_store_kept(&state, 1);
}

/// A backup damaged on its way (a bad disk, a truncated copy) is refused, named as the admin
/// gave it, and the live store stays. Damage to a record's bytes fails redb's checksum; the
/// first bytes of some pages make redb 4.6 panic (`unreachable!()`), which the restore catches.
#[test]
fn restore_refuses_a_damaged_backup_whatever_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (state, backup) = backed_up(dir.path(), 30, 0);
    let good = fs::read(&backup).unwrap();
    let damaged = dir.path().join("damaged.redb");
    let refusal = |bytes: &[u8]| {
        fs::write(&damaged, bytes).unwrap();
        let refused = restore(&state, &damaged).err();
        live_store_kept(&state, 30);
        refused
    };

    // one bit of an audit record (its source, "test")
    let record = good.windows(6).position(|w| w == b"\"test\"").unwrap();
    let mut bad = good.clone();
    bad[record + 2] ^= 1;
    let refused = refusal(&bad).unwrap().to_string();
    assert_eq!(
        refused,
        format!(
            "{} is damaged: redb found a damaged page (Primary is corrupted despite 2-phase commit)",
            damaged.display()
        )
    );

    // the head of each page in turn: refused, or (a page the store does not use) restored
    let (mut caught, mut checksummed) = (0, 0);
    for page in (0..good.len()).step_by(4096) {
        let mut bad = good.clone();
        bad[page..page + 64].iter_mut().for_each(|b| *b ^= 0x5a);
        match refusal(&bad) {
            None => {}
            Some(StoreError::NotAStore { path }) => {
                assert_eq!((page, path), (0, damaged.clone()));
            }
            Some(StoreError::Damaged { path, reason }) => {
                assert_eq!(path, damaged);
                if reason.starts_with("redb stopped on a damaged page (") {
                    caught += 1;
                } else {
                    assert!(
                        reason.starts_with("redb found a damaged page ("),
                        "{reason}"
                    );
                    checksummed += 1;
                }
            }
            Some(other) => panic!("page at {page}: {other}"),
        }
    }
    // if a newer redb returns errors for all of these, the guard may go
    assert!(caught > 0, "no damage made redb panic");
    assert!(checksummed > 0, "no damage failed a checksum");
}

/// Every row of [`tables::CALL_CHALLENGES`], in key order: what tests compare.
pub(crate) fn call_challenges_listed(txn: &redb::ReadTransaction) -> Vec<(String, String)> {
    let table = txn.open_table(tables::CALL_CHALLENGES).unwrap();
    let rows = table.iter().unwrap().map(|r| {
        let row = r.unwrap();
        let (call, id) = row.0.value();
        (call.to_string(), id.to_string())
    });
    rows.collect()
}

/// A backup leaves `storage.min_free_mb` on its disk, counting the copy as large as the
/// store file (it is no larger): a nightly copy on the store's own disk must not be what
/// fills it.
#[test]
fn a_backup_that_could_fill_its_disk_is_refused() {
    const MIB: u64 = 1024 * 1024;
    for (free, copy, keep, fits) in [
        (300 * MIB, 100 * MIB, 100 * MIB, true),
        (200 * MIB, 100 * MIB, 100 * MIB, true),
        (200 * MIB - 1, 100 * MIB, 100 * MIB, false),
        (50 * MIB, 100 * MIB, 0, false),
        (0, 0, 0, true),
        (u64::MAX - 1, u64::MAX, 1, false),
    ] {
        assert_eq!(
            super::room_for_copy(free, copy, keep).is_ok(),
            fits,
            "{free} free, {copy} to copy, {keep} to keep"
        );
    }
    let why = super::room_for_copy(150 * MIB, 100 * MIB + 1, 100 * MIB).unwrap_err();
    assert_eq!(
        why,
        "its disk has 150 MiB free, and a copy of the store (up to 101 MiB) could leave less \
         than storage.min_free_mb (100 MiB), which the service keeps for its own writes; free \
         some space or write to another disk"
    );

    assert_eq!(
        super::room_for_copy(50 * MIB, 100 * MIB, 0).unwrap_err(),
        "its disk has 50 MiB free, less than a copy of the store may take (up to 100 MiB)"
    );

    // and a real one, on the store's disk: none here has an exbibyte free
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state")).unwrap();
    let dest = dir.path().join("b.redb");
    let refused = store.backup_to(&dest, 1 << 60).unwrap_err().to_string();
    assert!(
        refused.starts_with(&format!(
            "cannot write the backup to {}: its disk has",
            dest.display()
        )),
        "{refused}"
    );
    assert!(!dest.exists() && !dest.with_extension("partial").exists());
    store.backup_to(&dest, 0).unwrap();

    // on another disk the reserve is not the copy's to keep: only room for the copy counts
    use std::os::unix::fs::MetadataExt;
    let shm = Path::new("/dev/shm");
    let device = |p: &Path| fs::metadata(p).map(|m| m.dev()).ok();
    if device(shm).is_some() && device(shm) != device(dir.path()) {
        let other = tempfile::tempdir_in(shm).unwrap();
        let dest = other.path().join("b.redb");
        store.backup_to(&dest, 1 << 60).unwrap();
        assert!(dest.exists());
    } else {
        eprintln!("no second file system at /dev/shm: the other-disk case is not checked");
    }
}

/// A bare file name goes in the working directory; anything else in its parent.
#[test]
fn a_file_s_folder_is_its_parent_or_the_working_directory() {
    for (file, folder) in [
        ("/var/lib/callvault/b.redb", "/var/lib/callvault"),
        ("backups/b.redb", "backups"),
        ("b.redb", "."),
        ("/b.redb", "/"),
    ] {
        assert_eq!(
            super::folder_of(Path::new(file)),
            Path::new(folder),
            "{file}"
        );
    }
}

/// A store damaged past opening (its header gone, cut short, emptied: what a failed disk
/// leaves) is the usual reason for a restore: it is replaced all the same and kept beside,
/// and the restore says that its keys could not be read. Before 2026-12-05 such a store
/// refused the restore that was meant to replace it.
#[test]
fn a_store_damaged_past_opening_is_replaced_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let backup = dir.path().join("b.redb");
    store_in(&state).backup_to(&backup, 0).unwrap();
    let live = state.join(DB_FILE_NAME);
    let whole = fs::read(&live).unwrap();
    let damaged: [(&str, Vec<u8>); 3] = [
        (
            "garbage",
            (0..40_000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("empty", Vec::new()),
        ("cut short", whole[..whole.len() / 3].to_vec()),
    ];
    for (what, bytes) in damaged {
        fs::write(&live, &bytes).unwrap();
        let restored = restore_with(&state, &backup, &crate::enroll::progress::Silent)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(restored.check.ok(), "{what}");
        assert!(restored.keys.is_err(), "{what}: {:?}", restored.keys);
        assert_eq!(
            fs::read(state.join(format!("{DB_FILE_NAME}.before-restore"))).unwrap(),
            bytes,
            "{what}"
        );
        assert!(Store::open(&state).unwrap().check().unwrap().ok(), "{what}");
    }
}

/// Why long work stops: nothing asked it to, the service is stopping, or the offline command
/// was interrupted (which wins, being the one the admin did).
#[test]
fn long_work_is_told_to_stop_and_why() {
    type Calls<'a> = &'a [fn(&Store)];
    let cases: [(Calls, Option<&str>); 4] = [
        (&[], None),
        (&[Store::stop_scans], Some("the service is stopping")),
        (&[Store::interrupt], Some("interrupted before the end")),
        (
            &[Store::stop_scans, Store::interrupt],
            Some("interrupted before the end"),
        ),
    ];
    for (calls, stopped) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        for call in calls {
            call(&store);
        }
        assert_eq!(store.scans_stopped(), stopped.is_some());
        let said = store.go_on().err().map(|e| e.to_string());
        assert_eq!(said.as_deref(), stopped);
    }
}

/// A backup stopped part way (Ctrl-C, the service stopping) leaves neither the backup nor
/// its partial copy, and says why. A store too small for the copy to ask is copied whole.
#[test]
fn a_backup_stopped_part_way_leaves_no_file_and_says_why() {
    for (records, stop, said) in [
        (100, Store::interrupt as fn(&Store), None),
        (20_000, Store::interrupt, Some("interrupted before the end")),
        (20_000, Store::stop_scans, Some("the service is stopping")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(&dir.path().join("state"));
        add_audit(&store, records);
        stop(&store);
        let backup = dir.path().join("b.redb");
        let written = store.backup_to(&backup, 0);
        assert_eq!(
            written.as_ref().err().map(|e| e.to_string()).as_deref(),
            said
        );
        assert_eq!(backup.exists(), said.is_none());
        assert!(!backup.with_extension("partial").exists());
    }
}

/// A restore whose check of the backup is stopped (Ctrl-C) restores nothing: no staged copy
/// is left, and the live store is as it was.
#[test]
fn a_restore_stopped_while_it_checks_the_backup_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (state, backup) = backed_up(dir.path(), 20_000, 5);
    let stopped = crate::enroll::progress::Stoppable::new(&crate::enroll::progress::Silent, || {
        Err(StoreError::Interrupted)
    });
    let restored = restore_with(&state, &backup, &stopped);
    assert!(
        matches!(restored, Err(StoreError::Interrupted)),
        "{restored:?}"
    );
    live_store_kept(&state, 20_005);
}

/// A backup tells its progress: the rows of every table it copies (its total is the rows it
/// then says it wrote), every 16,384 rows.
#[test]
fn a_backup_tells_how_far_its_copy_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir.path().join("state"));
    add_audit(&store, 40_000);
    let told = crate::enroll::progress::Told::default();
    let report = store
        .backup_to_with(&dir.path().join("b.redb"), 0, &told)
        .unwrap();
    assert!(report.rows > 40_000, "{report:?}");
    assert_eq!(
        *told.0.lock().unwrap(),
        [
            ("backing up".to_string(), report.rows),
            ("at".to_string(), 16_384),
            ("at".to_string(), 32_768),
        ]
    );
}
