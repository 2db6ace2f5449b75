use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::{LAG_TICK, lag_probe, remove_old_enrollment_files};

/// The probe sees a blocked event loop: a task that holds the thread for 60 ms makes a tick
/// that late, and what is recorded is the lateness, not the tick.
#[test]
fn the_lag_probe_sees_an_event_loop_blocked() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let seen = Rc::new(RefCell::new(Vec::<Duration>::new()));
    let local = tokio::task::LocalSet::new();
    let record = seen.clone();
    rt.block_on(local.run_until(async move {
        tokio::task::spawn_local(lag_probe(move |late| record.borrow_mut().push(late)));
        tokio::task::spawn_local(async {
            tokio::time::sleep(LAG_TICK * 5).await;
            // a synchronous call that does not yield, as a blocked worker would make
            std::thread::sleep(Duration::from_millis(60));
        });
        tokio::time::sleep(LAG_TICK * 15).await;
    }));
    let seen = seen.borrow();
    assert!(seen.len() >= 5, "{seen:?}");
    let late = seen
        .iter()
        .filter(|d| **d >= Duration::from_millis(45))
        .count();
    assert!(late >= 1, "a tick waited for the blocked thread: {seen:?}");
    // what is recorded is the lateness, not the tick itself
    let least = seen.iter().min().unwrap();
    assert!(*least < LAG_TICK, "{seen:?}");
}

/// Old pre-enrollment files go, and their removal is audited with the counts (never a name
/// of a member's file's contents); a pass that finds nothing records nothing.
#[test]
fn old_enrollment_files_are_removed_and_the_removal_audited() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(crate::store::Store::open(&dir.path().join("state")).unwrap());
    let audit = crate::audit::AuditLog::start(
        store.clone(),
        std::sync::Arc::new(crate::clock::SystemClock),
        64,
    );
    let dirs = crate::config::EnrollDirs {
        inbox: dir.path().join("inbox"),
        outbox: dir.path().join("outbox"),
        processed: dir.path().join("processed"),
        failed: dir.path().join("failed"),
    };
    for (folder, name) in [
        (&dirs.inbox, "waiting.csv"),
        (&dirs.processed, "members.csv"),
        (&dirs.outbox, "members.results.csv"),
        (&dirs.outbox, "members.summary.json"),
    ] {
        std::fs::create_dir_all(folder).unwrap();
        std::fs::write(folder.join(name), "member_id\n").unwrap();
    }
    let exported = || {
        let mut out = Vec::new();
        crate::audit::export(&store.begin_read().unwrap(), None, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let now = std::time::SystemTime::now();
    // 30 days kept, 29 gone by: nothing to remove, nothing audited
    remove_old_enrollment_files(&audit, &dirs, 30, now + Duration::from_secs(29 * 86_400));
    assert!(dirs.processed.join("members.csv").exists());
    assert!(!exported().contains("enrollment_files_removed"));
    // 31 days on
    remove_old_enrollment_files(&audit, &dirs, 30, now + Duration::from_secs(31 * 86_400));
    assert!(!dirs.processed.join("members.csv").exists());
    assert!(!dirs.outbox.join("members.results.csv").exists());
    assert!(
        dirs.inbox.join("waiting.csv").exists(),
        "the inbox is never touched"
    );
    let records = exported();
    let line = records
        .lines()
        .find(|l| l.contains("\"enrollment_files_removed\""))
        .unwrap_or_else(|| panic!("{records}"));
    let record: serde_json::Value = serde_json::from_str(line).unwrap();
    let detail = record["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("3 files older than 30 days (enroll.keep_days): ")
            && detail.contains(&format!("{} 1", dirs.processed.display()))
            && detail.contains(&format!("{} 2", dirs.outbox.display())),
        "{detail}"
    );
    assert!(!detail.contains("members.csv"), "{detail}");
}
