use chrono::TimeZone;

use super::*;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
}

#[test]
fn names_sort_by_time_and_only_our_own_are_read() {
    assert_eq!(file_name(at(5, 2)), "callvault-20261205T020000Z.redb");
    assert!(file_name(at(4, 23)) < file_name(at(5, 2)));
    assert_eq!(
        parse("callvault-20261205T020000Z.redb"),
        Some((at(5, 2), true))
    );
    assert_eq!(
        parse("callvault-20261205T020000Z.partial"),
        Some((at(5, 2), false))
    );
    for other in [
        "callvault.redb",
        "callvault-20261205T020000Z.redb.bak",
        "callvault-20261205T020000Z.REDB",
        "callvault-2026-12-05.redb",
        "callvault-20261205T020000.redb",
        "callvault-20261305T020000Z.redb",
        "xcallvault-20261205T020000Z.redb",
        "backup.redb",
    ] {
        assert_eq!(parse(other), None, "{other}");
    }
}

/// (folder, keep, taken at) -> removed, as a table.
#[test]
fn the_newest_are_kept_and_nothing_else_is_touched() {
    let copy = |d, h| file_name(at(d, h));
    let partial = |d, h| copy(d, h).replace(".redb", ".partial");
    type Case = (&'static str, Vec<String>, usize, DateTime<Utc>, Vec<String>);
    let cases: Vec<Case> = vec![
        (
            "fewer than keep",
            vec![copy(4, 2), copy(5, 2)],
            7,
            at(5, 2),
            vec![],
        ),
        (
            "the oldest beyond keep, whatever order they are listed in",
            vec![copy(5, 2), copy(2, 2), copy(4, 2), copy(3, 2)],
            2,
            at(5, 2),
            vec![copy(2, 2), copy(3, 2)],
        ),
        (
            "keep 0 is read as 1: the copy just made stays",
            vec![copy(4, 2), copy(5, 2)],
            0,
            at(5, 2),
            vec![copy(4, 2)],
        ),
        (
            "other files are neither counted nor removed",
            vec![
                "callvault.redb".into(),
                "notes.txt".into(),
                "callvault-20261201.redb".into(),
                copy(4, 2),
                copy(5, 2),
            ],
            2,
            at(5, 2),
            vec![],
        ),
        (
            "a half-written copy from an earlier run goes; one from a run under way stays",
            vec![partial(4, 2), partial(5, 1), copy(5, 2)],
            7,
            at(5, 2),
            vec![partial(4, 2)],
        ),
    ];
    for (name, names, keep, now, want) in cases {
        assert_eq!(to_remove(&names, keep, now), want, "{name}");
    }
}

#[test]
fn a_backup_into_a_folder_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state")).unwrap();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).ok();
    std::fs::write(backups.join("notes.txt"), "kept").unwrap();
    assert_eq!(last_backup(&store).unwrap(), None);
    let mut made = Vec::new();
    for day in 1..=4 {
        let kept = store.backup_into(&backups, 2, 0, at(day, 2)).unwrap();
        assert_eq!(kept.report.path, backups.join(file_name(at(day, 2))));
        made.push(kept);
    }
    // noted in the store when written (for /metrics), by the wall clock
    let noted = last_backup(&store).unwrap().unwrap();
    assert!((Utc::now() - noted).num_seconds().abs() < 60, "{noted}");
    assert_eq!(made[0].removed, Vec::<PathBuf>::new());
    assert_eq!(made[2].removed, [backups.join(file_name(at(1, 2)))]);
    let mut left: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [file_name(at(3, 2)), file_name(at(4, 2)), "notes.txt".into()]
    );
    // each copy opens as a store
    let copy = backups.join(file_name(at(4, 2)));
    assert!(super::super::check_offline(&copy).is_ok());

    // a folder that does not exist is made, private
    let fresh = dir.path().join("new").join("backups");
    store.backup_into(&fresh, 7, 0, at(5, 2)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    // a second copy in the same second is refused, and removes nothing (the copy's
    // folder made above is the store's owner's: `ownership_follows_the_store` as root)
    let again = store.backup_into(&fresh, 1, 0, at(5, 2));
    assert!(again.is_err());
    assert!(fresh.join(file_name(at(5, 2))).exists());
}

/// root running `db backup --into` with the service stopped: a folder it makes is the
/// store's owner's, and so is each copy in a folder that user owns, so the nightly
/// timer (the service's user) can write the next one and remove the old ones.
#[test]
fn ownership_follows_the_store() {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        eprintln!("not root: cannot make files another user owns; skipped");
        return;
    }
    let owner = |p: &Path| {
        let m = fs::metadata(p).unwrap();
        (m.uid(), m.gid())
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let store = Store::open(&state).unwrap();
    std::os::unix::fs::chown(&state, Some(65534), Some(65533)).unwrap();
    let backups = dir.path().join("backups");
    let kept = store.backup_into(&backups, 7, 0, at(5, 2)).unwrap();
    assert_eq!(owner(&backups), (65534, 65533));
    assert_eq!(owner(&kept.report.path), (65534, 65533));
    // a folder the admin made and owns stays theirs, with its copies
    let own = dir.path().join("own");
    fs::create_dir(&own).unwrap();
    let kept = store.backup_into(&own, 7, 0, at(5, 2)).unwrap();
    assert_eq!((owner(&own), owner(&kept.report.path)), ((0, 0), (0, 0)));
}
