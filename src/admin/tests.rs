use super::*;

/// A `member forget` answer from a service older than `held` (the CLI upgraded first) reads
/// as before: something was forgotten. A newer one says whether anything was held.
#[test]
fn a_forgotten_answer_without_held_reads_as_held() {
    let old = r#"{"result":"forgotten","member_id":"5001","pins":0}"#;
    let new = r#"{"result":"forgotten","member_id":"5001","pins":0,"held":false}"#;
    for (text, held) in [(old, true), (new, false)] {
        assert_eq!(
            serde_json::from_str::<Response>(text).unwrap(),
            Response::Forgotten {
                member_id: "5001".into(),
                pins: 0,
                held
            },
            "{text}"
        );
    }
}

/// Progress through the admin socket goes out line by line as the work goes, not gathered
/// into the bulk output's chunks until the command ends (a remote `callvault enroll` showed
/// every line at once, at the end).
#[test]
fn progress_lines_go_out_as_they_are_said() {
    #[derive(Default)]
    struct Seen {
        written: Vec<u8>,
        sent: Vec<u8>,
    }
    impl Write for Seen {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.written.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.sent.append(&mut self.written);
            Ok(())
        }
    }
    let mut seen = Seen::default();
    let path = std::path::Path::new("members.csv");
    progress_to(false, path, &mut seen, |p| p.phase("applying", 10));
    assert_eq!(
        String::from_utf8(seen.sent).unwrap(),
        "members.csv: applying: 10 rows\n"
    );
    assert!(seen.written.is_empty(), "nothing left unsent");
}

/// A request goes to the service as one JSON line; a file name that is not UTF-8 cannot,
/// and the command says so and what to do, rather than `path contains invalid UTF-8`.
#[test]
fn a_file_name_that_is_not_text_is_told_what_to_do() {
    use std::os::unix::ffi::OsStrExt;
    let enroll = |path: &std::ffi::OsStr| Request::Enroll {
        path: PathBuf::from(path),
        mode: enroll::Mode::Incremental,
        dry_run: false,
        max_removed_percent: None,
        encoding: None,
        separator: None,
    };
    let line = super::client::request_line(&enroll("/tmp/members.csv".as_ref())).unwrap();
    assert!(line.ends_with(b"}\n") && !line[..line.len() - 1].contains(&b'\n'));
    let e = super::client::request_line(&enroll(std::ffi::OsStr::from_bytes(b"/tmp/m\xff.csv")))
        .unwrap_err();
    assert_eq!(e.code(), "refused");
    assert!(
        e.to_string().starts_with("a file name that is not UTF-8 cannot be handed to the running service: rename the file, or stop the service"),
        "{e}"
    );
}

/// `member show` of an id that cannot be one says what an id is, after the sentence.
#[test]
fn a_member_not_enrolled_is_named_as_the_id_allows() {
    for (id, says) in [
        ("1001".to_string(), "no member \"1001\" is enrolled"),
        (
            "1".repeat(65),
            "no member is enrolled with that id: a member_id is 1 to 64 characters, none of \
             them control characters",
        ),
    ] {
        assert_eq!(
            AdminError::NoSuchMember(id.clone()).to_string(),
            says,
            "{id}"
        );
    }
}

/// With no service running, a command opens the store itself: a state directory with no
/// store is told to run `init`; one that cannot be looked into (here a file where the
/// folder goes) is said as what it is, not as a store to create.
#[test]
fn a_store_missing_is_told_from_one_that_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::config::Config::default();
    config.storage.state_dir = dir.path().join("empty");
    std::fs::create_dir(&config.storage.state_dir).unwrap();
    let missing = client::open_local(&config).err().unwrap().to_string();
    assert!(
        missing.contains("(run `callvault init` first)"),
        "{missing}"
    );
    config.storage.state_dir = dir.path().join("a-file");
    std::fs::write(&config.storage.state_dir, "not a folder").unwrap();
    let unopened = client::open_local(&config).err().unwrap().to_string();
    assert!(unopened.contains("cannot open the store"), "{unopened}");
    assert!(!unopened.contains("callvault init"), "{unopened}");
}

/// A `pins force-change` list reads as enrollment reads a file: saved as UTF-16 too
/// (PowerShell 5's `>`), either byte order, a byte-order mark passed over; a workbook is
/// refused, saying what it is, and so is an id that is not UTF-8 (the columns after it
/// may be in any encoding).
#[test]
fn a_force_change_list_reads_utf_16_and_names_a_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.txt");
    let text = "member_id\r\n1001\r\n# the branch's\r\n1002\r\n";
    type Listed<'a> = Result<[&'a str; 2], &'a str>;
    let cases: [(Vec<u8>, Listed); 6] = [
        (text.as_bytes().to_vec(), Ok(["1001", "1002"])),
        // a report's names after the ids, in Windows-1252 (José): only the ids count
        (
            b"1001,Jos\xE9\r\n1002,Ana\r\n".to_vec(),
            Ok(["1001", "1002"]),
        ),
        (
            [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat(),
            Ok(["1001", "1002"]),
        ),
        (crate::shared_tests::utf16(text, true), Ok(["1001", "1002"])),
        (
            crate::shared_tests::utf16(text, false),
            Ok(["1001", "1002"]),
        ),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x001001\n".to_vec(),
            Err("the file is an Excel 97-2003 workbook (.xls), not CSV text"),
        ),
    ];
    for (n, (body, want)) in cases.into_iter().enumerate() {
        std::fs::write(&list, body).unwrap();
        match (force_change_list(&list), want) {
            (Ok(ids), Ok(want)) => assert_eq!(ids, want, "case {n}"),
            (Err(e), Err(said)) => {
                let e = e.to_string();
                assert!(e.contains(said) && e.ends_with("nothing changed"), "{e}");
            }
            (got, want) => panic!("case {n}: {got:?}, wanted {want:?}"),
        }
    }
    std::fs::write(&list, b"member_id\n10\xE901\n").unwrap();
    let e = force_change_list(&list).unwrap_err().to_string();
    assert!(
        e.contains("line 2: the member id is not UTF-8") && e.ends_with("nothing changed"),
        "{e}"
    );
    // bad lines: the first ten named, then how many more
    for (bad, more) in [(10, None), (12, Some("; and 2 more; nothing changed"))] {
        let body: String = (0..bad).map(|n| format!("=10{n}\n")).collect();
        std::fs::write(&list, format!("1001\n{body}")).unwrap();
        let e = force_change_list(&list).unwrap_err().to_string();
        assert_eq!(e.matches("line ").count(), 10, "{e}");
        assert_eq!(e.contains("more"), more.is_some(), "{e}");
        if let Some(more) = more {
            assert!(e.ends_with(more), "{e}");
        }
    }
}

/// A backup that would leave less than `storage.min_free_mb` on its disk is the store's
/// refusal, said with the setting (code `store`), and audited as failed: not a place the
/// service may not write (`file_unwritable`). With nothing to keep free, the same backup is
/// written.
#[test]
fn a_backup_that_would_leave_too_little_room_is_refused_by_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let context = |min_free_mb: u64| {
        let mut config = Config::default();
        config.storage.state_dir = dir.path().to_path_buf();
        config.storage.min_free_mb = min_free_mb;
        without_vault(&store, config)
    };
    let backup = |ctx: &Context, name: &str| {
        let request = Request::DbBackup {
            path: dir.path().join(name),
        };
        execute(ctx, "t", request, &mut Vec::new(), &mut Vec::new())
    };
    // 1 TiB to keep free
    let e = backup(&context(1 << 20), "refused.redb").unwrap_err();
    assert_eq!(e.code(), "store", "{e}");
    assert!(
        e.to_string().contains("storage.min_free_mb (1048576 MiB)"),
        "{e}"
    );
    assert!(!dir.path().join("refused.redb").exists());
    match backup(&context(0), "written.redb") {
        Ok(Response::Backup { report }) => assert_eq!(report.path, dir.path().join("written.redb")),
        other => panic!("{other:?}"),
    }
    let mut audit = Vec::new();
    crate::audit::export(&store.begin_read().unwrap(), None, &mut audit).unwrap();
    let outcomes: Vec<&str> = std::str::from_utf8(&audit)
        .unwrap()
        .lines()
        .filter(|line| line.contains(r#""kind":"db_backup""#))
        .map(|line| match line.contains(r#""outcome":"ok""#) {
            true => "ok",
            false => "not ok",
        })
        .collect();
    assert_eq!(outcomes, ["not ok", "ok"]);
}

/// The operations' context over `store` as `config` has it, without a vault (for those
/// that touch no PIN).
fn without_vault(store: &Arc<Store>, config: Config) -> Context {
    let clock: Arc<dyn Clock> = Arc::new(crate::clock::SystemClock);
    Context {
        store: store.clone(),
        audit: AuditLog::start(store.clone(), clock.clone(), 64),
        clock,
        config: Arc::new(ArcSwap::from_pointee(config)),
        vault: Err("not needed".into()),
        terminal: false,
        client_gone: Default::default(),
        keys: None,
    }
}

/// `callvault enroll` of a file the service's inbox scan takes is refused, saying why: the
/// service enrolls it by itself, and a run by hand would enroll it twice (and race for its
/// answer in the outbox). Whatever path names the inbox; a dry run too. A file the scan
/// passes over, or one beside the inbox, is enrolled.
#[test]
fn a_file_in_the_inbox_is_left_to_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut config = Config::default();
    config.storage.state_dir = dir.path().to_path_buf();
    let dirs = config.enroll_dirs();
    std::fs::create_dir_all(&dirs.inbox).unwrap();
    let ctx = without_vault(&store, config);
    let file = "member_id,mobile_phone\n5001,6125550101\n";
    let enroll = |path: PathBuf, dry_run: bool| {
        std::fs::write(&path, file).unwrap();
        let request = Request::Enroll {
            path,
            mode: enroll::Mode::Incremental,
            dry_run,
            max_removed_percent: None,
            encoding: None,
            separator: None,
        };
        execute(&ctx, "t", request, &mut Vec::new(), &mut Vec::new())
    };
    let inbox = &dirs.inbox;
    let other_way = dir.path().join("state-link");
    std::os::unix::fs::symlink(dir.path(), &other_way).unwrap();
    for (path, dry_run) in [
        (inbox.join("members.csv"), false),
        (inbox.join("MEMBERS.CSV"), true),
        (other_way.join("inbox/./members.csv"), false),
    ] {
        let e = enroll(path.clone(), dry_run).unwrap_err();
        assert_eq!(e.code(), "refused", "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "{} is in the enrollment inbox, which the service enrolls by itself once a file \
                 has settled, answering in {}: leave it there, or copy it out of the inbox to \
                 enroll it (or try it, --dry-run) by hand; nothing was applied",
                path.display(),
                dirs.outbox.display()
            )
        );
    }
    assert!(!dirs.outbox.join("members.results.csv").exists());
    for path in [
        // an upload not yet whole, which the scan passes over
        inbox.join("members.csv.part"),
        dir.path().join("members.csv"),
        inbox.join("sub").join("members.csv"),
    ] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        match enroll(path.clone(), false) {
            Ok(Response::Enrolled { .. }) => {}
            other => panic!("{}: {other:?}", path.display()),
        }
    }
}
