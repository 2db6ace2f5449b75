use super::args::{parse_key_id, parse_time_at};
use super::*;

#[test]
fn since_and_before_take_a_date_a_time_rfc_3339_or_a_span_back() {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    for (given, meant) in [
        ("2026-12-05", Some("2026-12-05T00:00:00Z")),
        ("2026-12-05T08:17:00Z", Some("2026-12-05T08:17:00Z")),
        ("2026-12-05T08:17:00-05:00", Some("2026-12-05T13:17:00Z")),
        ("2026-12-05 08:17:30+01:00", Some("2026-12-05T07:17:30Z")),
        ("2026-12-05 08:17", Some("2026-12-05T08:17:00Z")),
        ("2026-12-05T08:17", Some("2026-12-05T08:17:00Z")),
        ("2026-12-05 08:17:09", Some("2026-12-05T08:17:09Z")),
        ("2026-12-05T08:17:09", Some("2026-12-05T08:17:09Z")),
        ("2026-13-01", None),
        ("2026-12-05 25:00", None),
        ("12/05/2026", None),
        ("1h", Some("2026-12-05T23:30:00Z")),
        ("30m", Some("2026-12-06T00:00:00Z")),
        ("7d", Some("2026-11-29T00:30:00Z")),
        ("0d", Some("2026-12-06T00:30:00Z")),
        ("90d", Some("2026-09-07T00:30:00Z")),
        ("-1h", None),
        ("+1h", None),
        ("1.5h", None),
        ("1 h", None),
        ("h", None),
        ("1w", None),
        ("1H", None),
        ("99999999999999d", None),
        ("1h ago", None),
        ("yesterday", None),
        ("", None),
    ] {
        let utc = crate::civil::Zone::utc();
        match (
            parse_time_at(given, at("2026-12-06T00:30:00Z"), &utc),
            meant,
        ) {
            (Ok(t), Some(m)) => assert_eq!(t, at(m), "{given}"),
            (Err(e), None) => {
                assert!(e.contains("give a date (2026-12-05"), "{given}: {e}");
                assert!(e.starts_with(&format!("{given:?}")), "{given}: {e}");
            }
            (got, _) => panic!("{given}: {got:?}, meant {meant:?}"),
        }
    }
}

/// A date or a time without an offset is read on the machine's clock, as journalctl reads
/// it; one with an offset, and a span, mean the same anywhere.
#[test]
fn times_without_an_offset_are_read_on_the_machine_s_clock() {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let chicago = crate::civil::Zone::named("America/Chicago").unwrap();
    let now = at("2026-12-06T00:30:00Z");
    for (given, meant) in [
        // winter: UTC-6
        ("2026-12-05", "2026-12-05T06:00:00Z"),
        ("2026-12-05 08:17", "2026-12-05T14:17:00Z"),
        ("2026-12-05T08:17:09.5", "2026-12-05T14:17:09.5Z"),
        // summer: UTC-5
        ("2026-07-01", "2026-07-01T05:00:00Z"),
        // the hour clocks skipped (March 8, 2026, 02:00 to 03:00): as read an hour on
        ("2026-03-08 02:30", "2026-03-08T08:30:00Z"),
        // the hour clocks showed twice (November 1, 2026): its first time, still summer's
        ("2026-11-01 01:30", "2026-11-01T06:30:00Z"),
        // an offset says its own
        ("2026-12-05T08:17:00Z", "2026-12-05T08:17:00Z"),
        ("2026-12-05T08:17:00-05:00", "2026-12-05T13:17:00Z"),
        ("2026-12-05 08:17:00 UTC", "2026-12-05T08:17:00Z"),
        // a span is back from now, wherever the clock is
        ("1h", "2026-12-05T23:30:00Z"),
    ] {
        assert_eq!(
            parse_time_at(given, now, &chicago),
            Ok(at(meant)),
            "{given}"
        );
    }
    let e = parse_time_at("yesterday", now, &chicago).unwrap_err();
    assert!(
        e.contains("on this machine's clock (America/Chicago)"),
        "{e}"
    );
}

/// What `audit export` says it exported: the window in UTC, as the records write times.
#[test]
fn an_export_says_its_window_in_utc() {
    let at = |s: &str| Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
    for (since, until, said) in [
        (None, None, ""),
        (
            at("2026-12-05T06:00:00-00:00"),
            None,
            " (at or after 2026-12-05T06:00:00Z)",
        ),
        (
            None,
            at("2026-12-06T06:00:00.25Z"),
            " (before 2026-12-06T06:00:00.250Z)",
        ),
        (
            at("2026-11-01T05:00:00Z"),
            at("2026-12-01T06:00:00Z"),
            " (at or after 2026-11-01T05:00:00Z, before 2026-12-01T06:00:00Z)",
        ),
    ] {
        assert_eq!(window(since, until), said);
    }
}

/// `db backup` takes a FILE or `--into DIR` (with `--keep N`, at least 1), never both.
#[test]
fn a_backup_names_a_file_or_a_folder() {
    use clap::Parser;
    let parse = |args: &[&str]| {
        let mut all = vec!["callvault", "db", "backup"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|cli| match cli.command {
            Command::Db {
                command: DbCommand::Backup { file, into, keep },
            } => (file, into, keep),
            other => panic!("{other:?}"),
        })
    };
    let p = |s: &str| Some(PathBuf::from(s));
    assert_eq!(parse(&["b.redb"]).unwrap(), (p("b.redb"), None, None));
    assert_eq!(parse(&["--into", "d"]).unwrap(), (None, p("d"), None));
    assert_eq!(
        parse(&["--into", "d", "--keep", "3"]).unwrap(),
        (None, p("d"), Some(3))
    );
    for refused in [
        &["b.redb", "--into", "d"][..],
        &["--keep", "3", "b.redb"],
        &["--keep", "3"],
        &["--into", "d", "--keep", "0"],
    ] {
        assert!(parse(refused).is_err(), "{refused:?}");
    }
}

/// `member show|unlock|force-pin-change|forget` take the id without the blanks around it, as
/// enrollment stores it.
#[test]
fn a_member_id_is_taken_without_blanks_around_it() {
    use clap::Parser;
    for command in ["show", "unlock", "force-pin-change", "forget"] {
        let parse = |id: &str| {
            Cli::try_parse_from(["callvault", "member", command, id]).map(|cli| match cli.command {
                Command::Member {
                    command:
                        MemberCommand::Show { member_id }
                        | MemberCommand::Unlock { member_id }
                        | MemberCommand::ForcePinChange { member_id }
                        | MemberCommand::Forget { member_id },
                } => member_id,
                other => panic!("{other:?}"),
            })
        };
        for (given, want) in [("1001", "1001"), (" 1001\t", "1001"), ("A 7", "A 7")] {
            assert_eq!(parse(given).unwrap(), want, "{command} {given:?}");
        }
        let e = parse("  ").unwrap_err().to_string();
        assert!(
            e.contains("a member id is needed, not a blank"),
            "{command}: {e}"
        );
    }
}

/// `vault forget-key` takes a key id as `vault status` shows it: 8 hex digits, any case,
/// kept in lower case; anything else is refused before the store is opened.
#[test]
fn a_vault_key_id_is_eight_hex_digits() {
    let cases: [(&str, Option<&str>); 7] = [
        ("df858691", Some("df858691")),
        ("DF85869A", Some("df85869a")),
        ("df85869", None),
        ("df8586912", None),
        ("df85869g", None),
        ("", None),
        ("df85 691", None),
    ];
    for (given, want) in cases {
        assert_eq!(parse_key_id(given).ok().as_deref(), want, "{given:?}");
    }
}

/// A backup is said written only when this command finds it where the service said, whole:
/// through the service the path is the service's, which may be a /tmp of its own.
#[test]
fn a_backup_is_said_written_only_where_this_command_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().join("here.redb");
    std::fs::write(&here, [0u8; 100]).unwrap();
    let report = |path: &Path, bytes: u64| store::BackupReport {
        path: path.to_path_buf(),
        rows: 3,
        bytes,
    };
    assert!(say_written(&report(&here, 100)).is_ok());
    for (path, bytes, found) in [
        (dir.path().join("gone.redb"), 100, "finds no file ("),
        (here.clone(), 4096, "finds a file of 100 bytes there"),
    ] {
        let e = say_written(&report(&path, bytes)).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "the service wrote the backup {} ({bytes} bytes), but this command {found}",
                path.display()
            )) && e.contains("a /tmp of its own"),
            "{e}"
        );
    }
}
