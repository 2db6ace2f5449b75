use super::*;
use std::fs::{File, FileTimes};

const DAY: Duration = Duration::from_secs(86_400);

/// Files' ages as the tests set them (an old ctime cannot be made).
fn by_mtime(dirs: &EnrollDirs, keep: Duration, now: SystemTime) -> Removed {
    remove_old_files_by(dirs, keep, now, |m| m.modified().ok())
}

fn file_aged(path: &Path, now: SystemTime, age: Duration) {
    std::fs::write(path, "member_id,mobile_phone\n").unwrap();
    let when = now - age;
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(when).set_accessed(when))
        .unwrap();
}

fn dirs(root: &Path) -> EnrollDirs {
    let dirs = EnrollDirs {
        inbox: root.join("inbox"),
        outbox: root.join("outbox"),
        processed: root.join("processed"),
        failed: root.join("failed"),
    };
    for d in [&dirs.inbox, &dirs.outbox, &dirs.processed, &dirs.failed] {
        std::fs::create_dir_all(d).unwrap();
    }
    dirs
}

#[test]
fn files_older_than_the_kept_days_go_from_every_folder_but_the_inbox() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dirs(tmp.path());
    // whole seconds, so that a file exactly `keep` old is that old on any filesystem
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs());
    let keep = 30 * DAY;
    // (file, age, removed?)
    let cases = [
        (d.processed.join("old.csv"), 31 * DAY, true),
        (d.processed.join("exactly.csv"), keep, false),
        (d.processed.join("new.csv"), 29 * DAY, false),
        (
            d.processed.join("edge.csv"),
            keep - Duration::from_secs(60),
            false,
        ),
        (d.failed.join("bad.csv"), 40 * DAY, true),
        (d.failed.join("bad.csv.error.txt"), 40 * DAY, true),
        (d.outbox.join("old.results.csv"), 31 * DAY, true),
        (d.outbox.join("old.summary.json"), 31 * DAY, true),
        (d.outbox.join("today.results.csv"), Duration::ZERO, false),
        (d.outbox.join(".old.results.csv.partial"), 99 * DAY, false),
        (d.inbox.join("waiting.csv"), 99 * DAY, false),
    ];
    for (path, age, _) in &cases {
        file_aged(path, now, *age);
    }
    // a folder and a link are never removed, however old
    std::fs::create_dir(d.processed.join("sub")).unwrap();
    std::os::unix::fs::symlink(d.inbox.join("waiting.csv"), d.outbox.join("link.csv")).unwrap();

    let removed = by_mtime(&d, keep, now);
    for (path, _, gone) in &cases {
        assert_eq!(!path.exists(), *gone, "{}", path.display());
    }
    assert!(d.processed.join("sub").is_dir());
    assert!(d.outbox.join("link.csv").symlink_metadata().is_ok());
    assert_eq!(removed.total(), 5);
    assert_eq!(
        removed.folders,
        vec![
            (d.processed.clone(), 1),
            (d.failed.clone(), 2),
            (d.outbox.clone(), 2)
        ]
    );
    assert!(removed.failures.is_empty(), "{:?}", removed.failures);
    assert_eq!(
        removed.describe(),
        format!(
            "{} 1, {} 2, {} 2",
            d.processed.display(),
            d.failed.display(),
            d.outbox.display()
        )
    );
    // a second pass finds nothing, and names no folder
    let again = by_mtime(&d, keep, now);
    assert_eq!(again.total(), 0);
    assert_eq!(again.describe(), "");
}

#[test]
fn a_file_moved_in_with_an_old_time_is_as_old_as_its_move() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dirs(tmp.path());
    let now = SystemTime::now();
    // an upload that kept its time (`sftp put -p`), then moved to processed/
    let upload = d.inbox.join("kept-time.csv");
    file_aged(&upload, now, 99 * DAY);
    let moved = d.processed.join("kept-time.csv");
    std::fs::rename(&upload, &moved).unwrap();
    assert_eq!(remove_old_files(&d, DAY, now).total(), 0);
    assert!(moved.exists());
    // one from a machine whose clock is ten days ahead is no younger than its move
    let ahead = d.processed.join("ahead.csv");
    std::fs::File::create(&ahead)
        .unwrap()
        .set_modified(now + 10 * DAY)
        .unwrap();
    // ...and both go once the move itself is older than the days kept
    let later = now + 2 * DAY;
    assert_eq!(remove_old_files(&d, DAY, later).total(), 2);
    assert!(!moved.exists() && !ahead.exists());
}

#[test]
fn a_folder_shared_with_the_inbox_is_left_alone_and_a_missing_one_is_no_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = dirs(tmp.path());
    let now = SystemTime::now();
    d.processed = d.inbox.clone();
    d.failed = tmp.path().join("not-made-yet");
    let waiting = d.inbox.join("waiting.csv");
    file_aged(&waiting, now, 99 * DAY);
    let removed = by_mtime(&d, DAY, now);
    assert!(waiting.exists());
    assert_eq!(removed.total(), 0);
    assert!(removed.failures.is_empty(), "{:?}", removed.failures);
    assert!(!removed.folders.iter().any(|(dir, _)| *dir == d.inbox));
}

#[test]
fn a_pass_is_due_at_the_first_poll_then_hourly_and_never_when_files_are_kept_forever() {
    let start = Instant::now();
    let hour = EVERY;
    let second = Duration::from_secs(1);
    // (keep_days, seconds since the last pass or None for none yet, due)
    let cases: &[(u32, Option<Duration>, bool)] = &[
        (0, None, false),
        (0, Some(hour), false),
        (0, Some(hour * 48), false),
        (1, None, true),
        (90, None, true),
        (90, Some(Duration::ZERO), false),
        (90, Some(hour - second), false),
        (90, Some(hour), true),
        (90, Some(hour + second), true),
        (3650, Some(hour * 24), true),
    ];
    for &(keep_days, since, want) in cases {
        let now = start + hour * 100;
        let last = since.map(|s| now - s);
        assert_eq!(due(keep_days, last, now), want, "{keep_days} {since:?}");
    }
    // a clock read before the last pass (not monotonic across threads) is not a pass due
    assert!(!due(90, Some(start + hour), start));
}
