use super::*;
use crate::config::VaultConfig;
use crate::core::embedded::Directory;
use crate::enroll::progress::Silent;
use chrono::Duration;
use std::os::unix::fs::PermissionsExt;

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<Store>,
    vault: Arc<Vault>,
}

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn settings(mode: VaultMode) -> Settings {
    let c = Config {
        vault: VaultConfig {
            mode,
            bcrypt_cost: 4,
            ..VaultConfig::default()
        },
        ..Config::default()
    };
    Settings::from_config(&c)
}

/// An import that does not ask whether members are enrolled.
fn import_options(established: bool, dry_run: bool) -> import::Options {
    import::Options {
        established,
        dry_run,
        require_member: false,
        separator: Default::default(),
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("etc/vault.key");
    create_key_file(&key).unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state")).unwrap());
    let vault = Arc::new(Vault::open(store.clone(), &key, 2).unwrap());
    Fixture { dir, store, vault }
}

impl Fixture {
    /// `pins import --dry-run` of `rows` (after a `member_id,pin` header) for enrolled
    /// members: the summary.
    fn dry_import(&self, rows: &str) -> import::Summary {
        let file = self.dir.path().join("pins.csv");
        std::fs::write(&file, format!("member_id,pin\n{rows}")).unwrap();
        let options = import::Options {
            established: false,
            dry_run: true,
            require_member: true,
            separator: Default::default(),
        };
        let outbox = self.dir.path().join("outbox");
        import::run(&self.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap()
    }

    fn key_file(&self) -> PathBuf {
        self.dir.path().join("etc/vault.key")
    }

    fn reopen(&self) -> Vault {
        Vault::open(self.store.clone(), &self.key_file(), 1).unwrap()
    }

    fn record(&self, member: &str) -> Option<Vec<u8>> {
        let txn = self.store.begin_read().unwrap();
        let pins = txn.open_table(tables::PINS).unwrap();
        pins.get(member).unwrap().map(|v| v.value().to_vec())
    }

    /// A `member_id,pin` file of `rows` members P00000, P00001, ... (no member enrolled),
    /// its outbox, and options to import it.
    fn pins_file(&self, rows: usize) -> (PathBuf, PathBuf, import::Options) {
        let mut text = String::from("member_id,pin\n");
        for i in 0..rows {
            text.push_str(&format!("P{i:05},{:04}\n", (i * 7919) % 10_000));
        }
        let file = self.dir.path().join("pins.csv");
        std::fs::write(&file, text).unwrap();
        let options = import_options(false, false);
        (file, self.dir.path().join("outbox"), options)
    }

    fn put_record(&self, member: &str, bytes: &[u8]) {
        let txn = self.store.begin_write().unwrap();
        txn.open_table(tables::PINS)
            .unwrap()
            .insert(member, bytes)
            .unwrap();
        txn.commit().unwrap();
    }

    fn enroll(&self, ids: &[&str]) {
        let txn = self.store.begin_write().unwrap();
        {
            let mut dir = Directory::open(&txn).unwrap();
            for id in ids {
                let m = Member {
                    member_id: id.to_string(),
                    ..Member::default()
                };
                dir.put(None, m, t(0)).unwrap();
            }
        }
        txn.commit().unwrap();
    }
}

#[test]
fn a_record_opens_only_for_its_member_and_unaltered() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    f.vault.store_pin_now("M1", "2749", true, &s, t(0)).unwrap();
    f.vault.store_pin_now("M2", "5902", true, &s, t(0)).unwrap();
    let m1 = f.record("M1").unwrap();
    let ring = f.vault.keyring.load_full();
    assert!(ring.open("M1", &m1).is_ok());
    assert!(matches!(
        ring.open("M2", &m1),
        Err(SealError::Tampered { .. })
    ));

    // copied onto another member: the check reports it instead of accepting it
    f.put_record("M2", &m1);
    let err = f.vault.check_pin_now("M2", "2749", &s, t(1)).unwrap_err();
    assert!(
        matches!(err, VaultError::Seal(SealError::Tampered { .. })),
        "{err}"
    );

    // every single byte flipped in turn: nothing opens
    for i in 0..m1.len() {
        let mut bad = m1.clone();
        bad[i] ^= 0x01;
        assert!(
            ring.open("M1", &bad).is_err(),
            "byte {i} flipped still opens"
        );
    }
    // a flag cleared in the header (the header is bound too)
    f.vault.flag_force_change("M1", false).unwrap();
    let flagged = f.record("M1").unwrap();
    let h = seal::peek("M1", &flagged).unwrap();
    assert!(h.flagged);
    let plain = f
        .vault
        .keyring
        .load()
        .seal(
            "M1",
            Header {
                flagged: false,
                ..h
            },
            b"x",
        )
        .unwrap();
    let mut forged = flagged.clone();
    let hl = usize::from(flagged[1]);
    forged[2..2 + hl].copy_from_slice(&plain[2..2 + hl]);
    assert!(matches!(
        ring.open("M1", &forged),
        Err(SealError::Tampered { .. })
    ));
}

#[test]
fn hashed_mode_stores_a_bcrypt_hash_never_the_pin() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    f.vault
        .store_pin_now("M1", "918273645012", true, &s, t(0))
        .unwrap();
    let opened = f
        .vault
        .keyring
        .load()
        .open("M1", &f.record("M1").unwrap())
        .unwrap();
    assert_eq!(opened.header.kind, SecretKind::Bcrypt);
    assert!(opened.secret.starts_with(b"$2"));
    assert!(!String::from_utf8_lossy(&opened.secret).contains("918273645012"));
    drop(f.vault);
    let db = std::fs::read(f.store.path()).unwrap();
    assert!(!db.windows(12).any(|w| w == b"918273645012"));
}

#[test]
fn wrong_pins_lock_across_calls_and_restarts_and_unlock_clears() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    f.vault.store_pin_now("M1", "2749", true, &s, t(0)).unwrap();
    for left in (1..=4).rev() {
        assert_eq!(
            f.vault.check_pin_now("M1", "0000", &s, t(1)).unwrap(),
            PinCheck::Wrong { tries_left: left }
        );
    }
    // "hang up and call again": a fresh vault over the same store sees the same count
    let again = f.reopen();
    assert_eq!(
        again.check_pin_now("M1", "1111", &s, t(2)).unwrap(),
        PinCheck::Wrong { tries_left: 0 }
    );
    // locked: even the right PIN is not compared
    assert_eq!(
        again.check_pin_now("M1", "2749", &s, t(3)).unwrap(),
        PinCheck::Locked {
            until: Some(t(2) + Duration::minutes(1440))
        }
    );
    let status = again.pin_status("M1", &s, t(3)).unwrap();
    assert!(status.locked);
    assert_eq!(status.wrong_pins, 5);
    // `vault status` counts the locked member; M2, with wrong PINs short of a lock, is not
    f.vault.store_pin_now("M2", "5902", true, &s, t(0)).unwrap();
    f.vault.check_pin_now("M2", "0000", &s, t(1)).unwrap();
    assert_eq!(f.vault.status(&s, t(3)).unwrap().locked_members, 1);
    assert!(f.vault.has_pin("M1").unwrap() && !f.vault.has_pin("M3").unwrap());
    let pins_only = Cleared {
        pins: true,
        answers: false,
    };
    assert_eq!(f.vault.unlock("M1").unwrap(), pins_only);
    assert_eq!(f.vault.status(&s, t(3)).unwrap().locked_members, 0);
    assert_eq!(f.vault.unlock("M1").unwrap(), Cleared::default());
    assert!(matches!(
        f.vault.check_pin_now("M1", "2749", &s, t(4)).unwrap(),
        PinCheck::Correct { .. }
    ));
    // the lock also ends by itself after lock_minutes
    for _ in 0..5 {
        f.vault.check_pin_now("M1", "0000", &s, t(10)).unwrap();
    }
    assert!(matches!(
        f.vault
            .check_pin_now("M1", "2749", &s, t(10 + 1439))
            .unwrap(),
        PinCheck::Locked { .. }
    ));
    assert!(matches!(
        f.vault
            .check_pin_now("M1", "2749", &s, t(10 + 1440))
            .unwrap(),
        PinCheck::Correct { .. }
    ));
}

#[test]
fn a_correct_pin_resets_the_count() {
    let f = fixture();
    let s = settings(VaultMode::Encrypted);
    f.vault.store_pin_now("M1", "2749", true, &s, t(0)).unwrap();
    for _ in 0..4 {
        f.vault.check_pin_now("M1", "0000", &s, t(1)).unwrap();
    }
    assert!(matches!(
        f.vault.check_pin_now("M1", "2749", &s, t(2)).unwrap(),
        PinCheck::Correct { .. }
    ));
    assert_eq!(
        f.vault.check_pin_now("M1", "0000", &s, t(3)).unwrap(),
        PinCheck::Wrong { tries_left: 4 }
    );
    assert_eq!(
        f.vault.check_pin_now("NOBODY", "2749", &s, t(3)).unwrap(),
        PinCheck::NoPin
    );
}

/// PINs the core checks (the vault holds none for the member) count in the same wrong-PIN
/// run: wrong ones lock the member, whose next PIN is then not compared (nor sent to the
/// core: `check_pin` says `Locked` before `NoPin`); a right one clears the run. With `keep`
/// a right one becomes the vault's, but never over a PIN the vault holds by then.
#[tokio::test]
async fn pins_the_core_checks_count_in_the_lockout_and_may_be_kept() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    let count = |correct: bool, at: i64| {
        f.vault
            .count_core_check("C1".into(), correct, s.clone(), t(at))
    };
    for left in (1..=3).rev() {
        assert_eq!(
            count(false, 1).await.unwrap(),
            PinCheck::Wrong {
                tries_left: left + 1
            }
        );
    }
    // a right one clears the run, and is the member's own PIN, set (for all callvault knows) now
    assert_eq!(
        count(true, 2).await.unwrap(),
        PinCheck::Correct {
            stored: StoredPin {
                established: true,
                set_at: t(2),
                flagged: false
            }
        }
    );
    for left in (0..=4).rev() {
        assert_eq!(
            count(false, 3).await.unwrap(),
            PinCheck::Wrong { tries_left: left }
        );
    }
    assert!(matches!(
        f.vault.check_pin_now("C1", "2749", &s, t(4)).unwrap(),
        PinCheck::Locked { .. }
    ));
    assert!(!f.vault.has_pin("C1").unwrap());
    // kept: the vault checks it from then on, and a kept PIN clears the run
    f.vault.unlock("C1").unwrap();
    count(false, 5).await.unwrap();
    let pin = Zeroizing::new("2749".to_string());
    assert!(
        f.vault
            .keep_core_pin("C1".into(), pin.clone(), s.clone(), t(5))
            .await
            .unwrap()
    );
    assert!(matches!(
        f.vault.check_pin_now("C1", "2749", &s, t(6)).unwrap(),
        PinCheck::Correct { stored } if stored.established
    ));
    assert_eq!(f.vault.pin_status("C1", &s, t(6)).unwrap().wrong_pins, 0);
    // a PIN the vault holds by then (set by another call) stays
    let other = Zeroizing::new("5902".to_string());
    assert!(
        !f.vault
            .keep_core_pin("C1".into(), other, s.clone(), t(7))
            .await
            .unwrap()
    );
    assert!(matches!(
        f.vault.check_pin_now("C1", "2749", &s, t(8)).unwrap(),
        PinCheck::Correct { .. }
    ));
}

/// A forced PIN change for a member whose PIN the core holds (the vault has no record to
/// flag) is a mark: refused without a core that holds PINs; the next PIN the core finds
/// right says "flagged", a wrong one does not clear it, `member show` says it; the PIN the
/// member then chooses takes it away, and a PIN kept from the core carries it as the
/// record's flag.
#[tokio::test]
async fn a_forced_change_for_a_pin_the_core_holds_is_marked_until_a_pin_is_set() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    assert!(matches!(
        f.vault.flag_force_change("C1", false),
        Err(VaultError::NoPin(_))
    ));
    let flagged = |check: PinCheck| match check {
        PinCheck::Correct { stored } => Some(stored.flagged),
        _ => None,
    };
    let count = |id: &str, correct: bool| {
        f.vault
            .count_core_check(id.into(), correct, s.clone(), t(1))
    };
    assert_eq!(flagged(count("C1", true).await.unwrap()), Some(false));
    f.vault.flag_force_change("C1", true).unwrap();
    assert!(!f.vault.has_pin("C1").unwrap(), "no record made");
    assert!(f.vault.pin_status("C1", &s, t(1)).unwrap().force_change);
    assert_eq!(
        count("C1", false).await.unwrap(),
        PinCheck::Wrong { tries_left: 4 }
    );
    assert_eq!(flagged(count("C1", true).await.unwrap()), Some(true));
    assert_eq!(
        flagged(count("C1", true).await.unwrap()),
        Some(true),
        "kept until a PIN is set"
    );
    assert_eq!(
        flagged(count("C2", true).await.unwrap()),
        Some(false),
        "one member's"
    );
    // the member's new PIN answers it
    f.vault.store_pin_now("C1", "5902", true, &s, t(2)).unwrap();
    let status = f.vault.pin_status("C1", &s, t(2)).unwrap();
    assert!(status.has_pin && !status.force_change);
    assert_eq!(
        flagged(f.vault.check_pin_now("C1", "5902", &s, t(3)).unwrap()),
        Some(false)
    );
    // a PIN kept from the core is flagged, and the vault asks for the change from then on
    f.vault.flag_force_change("C3", true).unwrap();
    let pin = Zeroizing::new("2749".to_string());
    assert!(
        f.vault
            .keep_core_pin("C3".into(), pin, s.clone(), t(4))
            .await
            .unwrap()
    );
    assert_eq!(
        flagged(f.vault.check_pin_now("C3", "2749", &s, t(5)).unwrap()),
        Some(true)
    );
    assert!(f.vault.pin_status("C3", &s, t(5)).unwrap().force_change);
    // with a record, the record is flagged (whether the core holds PINs or not)
    f.vault.store_pin_now("C4", "5902", true, &s, t(6)).unwrap();
    f.vault.flag_force_change("C4", true).unwrap();
    assert_eq!(
        flagged(f.vault.check_pin_now("C4", "5902", &s, t(7)).unwrap()),
        Some(true)
    );
}

#[test]
fn encrypted_mode_seals_the_pin_and_hashed_mode_upgrades_it_on_use() {
    let f = fixture();
    let enc = settings(VaultMode::Encrypted);
    f.vault
        .store_pin_now("M1", "2749", true, &enc, t(0))
        .unwrap();
    let h = seal::peek("M1", &f.record("M1").unwrap()).unwrap();
    assert_eq!(h.kind, SecretKind::Pin);
    assert!(matches!(
        f.vault.check_pin_now("M1", "2749", &enc, t(1)).unwrap(),
        PinCheck::Correct { .. }
    ));
    assert_eq!(
        seal::peek("M1", &f.record("M1").unwrap()).unwrap().kind,
        SecretKind::Pin
    );
    // switched to hashed: a wrong PIN does not upgrade, the first correct one does
    let hashed = settings(VaultMode::Hashed);
    f.vault.check_pin_now("M1", "0000", &hashed, t(2)).unwrap();
    assert_eq!(
        seal::peek("M1", &f.record("M1").unwrap()).unwrap().kind,
        SecretKind::Pin
    );
    assert!(matches!(
        f.vault.check_pin_now("M1", "2749", &hashed, t(3)).unwrap(),
        PinCheck::Correct { .. }
    ));
    let after = seal::peek("M1", &f.record("M1").unwrap()).unwrap();
    assert_eq!(after.kind, SecretKind::Bcrypt);
    assert_eq!(
        after.set_at,
        t(0).timestamp(),
        "the upgrade keeps the PIN's age"
    );
    assert!(matches!(
        f.vault.check_pin_now("M1", "2749", &hashed, t(4)).unwrap(),
        PinCheck::Correct { .. }
    ));
}

#[tokio::test]
async fn set_pin_applies_policy_and_confirmation_and_clears_flags() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    let member = Member {
        member_id: "M1".into(),
        ssn_last4: Some("4821".into()),
        zip: Some("30599".into()),
        ..Member::default()
    };
    f.vault
        .store_pin_now("M1", "4821", false, &s, t(0))
        .unwrap();
    f.vault.flag_force_change("M1", false).unwrap();
    f.vault.check_pin_now("M1", "0000", &s, t(0)).unwrap();
    let z = |s: &str| Zeroizing::new(s.to_string());
    let set = |new: &str, confirm: &str| {
        f.vault.set_pin(
            member.clone(),
            z(new),
            z(confirm),
            Some(z("4821")),
            s.clone(),
            t(60),
        )
    };
    for (new, confirm, want) in [
        ("1234", "1234", Rejection::Sequence),
        ("4821", "4821", Rejection::SameAsCurrent),
        ("3059", "3059", Rejection::MatchesZip),
        ("12", "12", Rejection::TooShort),
        ("2749", "2794", Rejection::ConfirmMismatch),
    ] {
        match set(new, confirm).await {
            Err(e @ VaultError::Rejected(r)) => {
                assert_eq!(r, want, "{new}/{confirm}");
                // the reason by its code, never the PIN
                assert_eq!(
                    e.to_string(),
                    format!("the new PIN is refused: {}", want.as_str())
                );
            }
            other => panic!("{new}/{confirm}: {other:?}"),
        }
    }
    set("2749", "2749").await.unwrap();
    let status = f.vault.pin_status("M1", &s, t(61)).unwrap();
    assert!(status.established && !status.force_change);
    assert_eq!(status.set_at, Some(t(60)));
    assert_eq!(status.wrong_pins, 0);
    assert_eq!(status.storage.as_deref(), Some("bcrypt"));
    match f
        .vault
        .check_pin("M1".into(), z("2749"), s.clone(), t(62))
        .await
        .unwrap()
    {
        PinCheck::Correct { stored } => {
            assert!(stored.established && !stored.flagged);
            assert_eq!(stored.set_at, t(60));
        }
        other => panic!("{other:?}"),
    }
}

/// An export meant for Excel writes `="0042"` to keep a PIN's leading zeros: the PIN (and
/// the id) is read as its text, quoted as CSV or not.
#[test]
fn an_import_reads_values_wrapped_for_excel_as_their_text() {
    let f = fixture();
    f.enroll(&["M1", "M2"]);
    let file = f.dir.path().join("pins.csv");
    std::fs::write(
        &file,
        "member_id,pin\n=\"M1\",=\"0042\"\nM2,\"=\"\"0917\"\"\"\n",
    )
    .unwrap();
    let options = import::Options {
        established: false,
        dry_run: false,
        require_member: true,
        separator: Default::default(),
    };
    let outbox = f.dir.path().join("outbox");
    let summary = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap();
    let results = std::fs::read_to_string(&summary.results_file).unwrap();
    assert_eq!(
        results,
        "line,member_id,result,detail\n2,M1,imported,\n3,M2,imported,\n"
    );
    let s = settings(VaultMode::Hashed);
    for (id, pin) in [("M1", "0042"), ("M2", "0917")] {
        assert!(
            matches!(
                f.vault.check_pin_now(id, pin, &s, t(2)).unwrap(),
                PinCheck::Correct { .. }
            ),
            "{id}"
        );
    }
}

/// A PIN file that ends with a core's trailer (`TRAILER,2`): the trailer is no member's PIN
/// (before, `TRAILER` was given the PIN `2` by a core other than the embedded one), and a
/// count that is not the rows above it refuses the file, nothing imported.
#[test]
fn an_imports_trailer_is_no_pin_and_its_count_is_checked() {
    let f = fixture();
    let options = import::Options {
        established: false,
        dry_run: false,
        require_member: false,
        separator: Default::default(),
    };
    let outbox = f.dir.path().join("outbox");
    let file = f.dir.path().join("pins.csv");
    let rows = "member_id,pin\nM1,590237\nM2,731546\n";
    std::fs::write(&file, format!("{rows}TRAILER,5\n")).unwrap();
    let err = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pins.csv: line 4 is a trailer whose count is not the 2 rows between the header and \
         it (nor them with the header, or the header and the trailer): the file may have been \
         cut short (or joined to another); nothing was applied. Export it again"
    );
    assert!(!f.vault.has_pin("M1").unwrap(), "nothing imported");
    for trailer in ["TRAILER,2", "TRL,0000000004"] {
        std::fs::write(&file, format!("{rows}{trailer}\n\n")).unwrap();
        let summary =
            import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap();
        let results = std::fs::read_to_string(&summary.results_file).unwrap();
        let ids: Vec<&str> = (results.lines().skip(1))
            .map(|l| l.split(',').nth(1).unwrap())
            .collect();
        assert_eq!(ids, ["M1", "M2"], "{trailer}: {results}");
        assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
        assert!(!f.vault.has_pin("TRAILER").unwrap() && !f.vault.has_pin("TRL").unwrap());
    }
    // the header again (two files joined) is a row that says so
    std::fs::write(&file, "member_id,pin\nM1,590237\nmember_id,pin\n").unwrap();
    let summary = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap();
    let results = std::fs::read_to_string(&summary.results_file).unwrap();
    assert!(
        results.contains("\n3,member_id,malformed_row,\"this row names the columns"),
        "{results}"
    );
    // a row shaped so that is not the last is a row, and not the last one's duplicate
    std::fs::write(&file, "member_id,pin\nEOF,3\nM1,590237\nEOF\n").unwrap();
    let summary = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap();
    let results = std::fs::read_to_string(&summary.results_file).unwrap();
    assert!(results.contains("\n2,EOF,imported,"), "{results}");
    assert_eq!(results.lines().count(), 3, "{results}");
}

/// A PIN file saved as UTF-16 (PowerShell 5's `>`, Excel's "Unicode Text") is read as its
/// UTF-8 would be, either byte order; a workbook is refused, saying what it is.
#[test]
fn an_import_of_a_utf_16_file_reads_it_and_of_a_workbook_says_what_it_is() {
    let f = fixture();
    f.enroll(&["M1", "M2"]);
    let options = import::Options {
        established: false,
        dry_run: true,
        require_member: true,
        separator: Default::default(),
    };
    let outbox = f.dir.path().join("outbox");
    for little_endian in [true, false] {
        let file = f.dir.path().join("pins.csv");
        let text = "\"member_id\",\"pin\"\r\n\"M1\",\"4821\"\r\n\"M2\",\"48a1\"\r\n";
        std::fs::write(&file, crate::shared_tests::utf16(text, little_endian)).unwrap();
        let summary =
            import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap();
        let results = std::fs::read_to_string(&summary.results_file).unwrap();
        assert_eq!(
            results,
            "line,member_id,result,detail\n2,M1,imported,\n3,M2,invalid_pin,pin is not 1 to 12 \
             digits\n",
            "{little_endian}"
        );
    }
    // the workbook rather than its CSV export: named so, and nothing of it read
    let file = f.dir.path().join("pins.xls");
    std::fs::write(&file, b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0M1,4821\n").unwrap();
    let err = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("pins.xls: the file is an Excel 97-2003 workbook (.xls), not CSV text"),
        "{err}"
    );
    assert!(!err.to_string().contains("4821"));
}

/// A file that passed through a spreadsheet: PINs that lost their leading zeros, and PINs
/// written back as numbers, are counted in the summary's warnings, with what to do; which
/// members, and any digit, are not said.
#[test]
fn a_pin_file_that_passed_through_a_spreadsheet_is_warned_of() {
    let f = fixture();
    let ids: Vec<String> = (0..12).map(|n| format!("S{n}")).collect();
    f.enroll(&ids.iter().map(String::as_str).collect::<Vec<_>>());
    let pins = [
        "4821", "8042", "7713", "9120", "5555", // the usual four digits, none with a 0 first
        "42", "7", // leading zeros lost
        "4321.0", "4.32E+03", "4e3", "812.",  // written back as numbers
        "1.2.3", // neither: refused, not counted
    ];
    let rows: String = ids
        .iter()
        .zip(pins)
        .map(|(id, pin)| format!("{id},{pin}\n"))
        .collect();
    let summary = f.dry_import(&rows);
    assert_eq!(
        summary.warnings,
        [
            "2 PINs have fewer digits than most PINs in the file (4): a spreadsheet drops a \
             number's leading zeros (0042 becomes 42), and such a PIN never matches what the \
             member keys; if the file passed through one, export the pin column as text and \
             import the file again",
            "4 PINs are written as a spreadsheet writes a number (4321.0, 4.3E+03) and \
             refused: export the pin column as text, with its leading zeros, and import the \
             file again",
        ]
    );
    // in the summary file too, and no PIN of the file's in either
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary.summary_file).unwrap()).unwrap();
    assert_eq!(written["warnings"], serde_json::json!(summary.warnings));
    let said = summary.warnings.join(" ");
    for pin in ["4821", "7713", "9120", "5555", "812", "4.32", "4e3"] {
        assert!(!said.contains(pin), "{pin} in {said}");
    }
    // one of each: said in the singular
    let summary = f.dry_import("S0,1234\nS1,5678\nS2,99\nS3,12.0\n");
    assert!(
        summary.warnings[0].starts_with("1 PIN has fewer digits than most PINs in the file (4)")
    );
    assert!(summary.warnings[1].starts_with("1 PIN is written as a spreadsheet writes a number"));
    // a PIN that begins with a zero: the column kept them, and a shorter PIN is the core's
    let summary = f.dry_import("S0,0234\nS1,5678\nS2,99\n");
    assert_eq!(summary.warnings, Vec::<String>::new());
}

/// A core's export of the hashes it keeps, rather than of the PINs: refused row by row as
/// any PIN that is not digits, and said once in the warnings with what to do instead; no
/// hash is repeated.
#[test]
fn a_pin_file_of_password_hashes_is_warned_of() {
    let f = fixture();
    f.enroll(&["H1", "H2", "H3", "H4", "H5"]);
    let bcrypt = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    let sha1 = "7c4a8d09ca3762af61e59520943dc26494f8941b";
    let summary = f.dry_import(&format!(
        "H1,{bcrypt}\nH2,{sha1}\nH3,4821\nH4,x$1$\nH5,{{SSHA}}abcd\n"
    ));
    assert_eq!(summary.results.get("invalid_pin"), Some(&4), "{summary:?}");
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    let said = &summary.warnings[0];
    assert!(
        said.starts_with(
            "3 PINs are written as a password hash ($2b$..., a hex digest) and refused"
        ) && said.contains("[core.rest.pin]"),
        "{said}"
    );
    let results = std::fs::read_to_string(&summary.results_file).unwrap();
    for hash in [bcrypt, sha1, "N9qo8u", "abcd"] {
        assert!(!said.contains(hash) && !results.contains(hash), "{hash}");
    }
}

#[test]
fn import_reports_every_row_and_never_writes_a_pin() {
    let f = fixture();
    f.enroll(&["M1", "M2", "M3", "M4", "M6"]);
    let s = settings(VaultMode::Hashed);
    // M4 chose a PIN through callvault: an import never overwrites it
    f.vault.store_pin_now("M4", "5902", true, &s, t(0)).unwrap();
    let file = f.dir.path().join("pins.csv");
    // M2's row ends with an empty field past the header's (a report writer's last comma)
    std::fs::write(
        &file,
        "\u{feff}member_id,PIN\r\nM1,918273645012\r\nM2,0042,\r\nM3,12a4\r\nM4,7777\r\n\
         M5,1234\r\nM6,1111\r\nM6,2222\r\n,1234\r\nM2x,\r\nM7,48,21\r\nM8\r\n1001.0,1234\r\n\
         =HYPERLINK(\"http://x\"),1234\r\n\"M9,4321\r\n",
    )
    .unwrap();
    let outbox = f.dir.path().join("outbox");
    let options = import::Options {
        established: false,
        dry_run: false,
        require_member: true,
        separator: Default::default(),
    };
    let summary = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap();
    assert_eq!(summary.rows, 14);
    let results = std::fs::read_to_string(&summary.results_file).unwrap();
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(
        lines,
        [
            "line,member_id,result,detail",
            "2,M1,imported,",
            "3,M2,imported,",
            "4,M3,invalid_pin,pin is not 1 to 12 digits",
            "5,M4,kept_member_pin,the member chose a PIN through callvault since; an import \
             never overwrites it",
            "6,M5,unknown_member,no member with this id is enrolled",
            "7,M6,duplicate_member,\"the member_id is on lines 7, 8\"",
            "8,M6,duplicate_member,\"the member_id is on lines 7, 8\"",
            "9,,invalid_member_id,member_id is empty",
            "10,M2x,invalid_pin,pin is empty",
            // a stray comma splits the PIN: neither half is taken for it
            "11,M7,malformed_row,3 fields where the header has 2",
            "12,M8,malformed_row,1 field where the header has 2",
            // pandas' float id: no member's, whatever the members are
            "13,1001.0,invalid_member_id,\"member_id written as a decimal number (ending .0), \
             as a script writes a column of numbers that has blanks (pandas' to_csv): write \
             the column as text, with any leading zeros\"",
            // a formula: not written back into a file opened in a spreadsheet
            "14,,invalid_member_id,\"member_id begins with = + - or @, as a spreadsheet \
             formula does: a member number does not, and a spreadsheet opening the results \
             would run it\"",
            // a quote never closed: the id field holds the PIN too, so no id is written
            "15,,malformed_row,\"1 field where the header has 2: a quote opens a field and is \
             never closed, so the rest of the row was read as its text (write a quote that is \
             part of a value twice, \"\"\"\")\"",
        ]
    );
    assert!(!results.contains("4321"), "{results}");
    assert_eq!(summary.vault_records, 3);
    // PINs longer than most, and refused ones that are no number: nothing to warn of
    assert_eq!(summary.warnings, Vec::<String>::new());
    // an id on many rows: its first lines, then how many more
    let many = f.dir.path().join("many.csv");
    let rows: String = (0..8).map(|n| format!("M9,{n}{n}{n}{n}\n")).collect();
    std::fs::write(&many, format!("member_id,pin\n{rows}")).unwrap();
    let dup = import::run(&f.vault, &many, &outbox, &options, "test", t(1), &Silent).unwrap();
    let dup = std::fs::read_to_string(&dup.results_file).unwrap();
    assert_eq!(
        dup.lines().nth(8),
        Some("9,M9,duplicate_member,\"the member_id is on lines 2, 3, 4, 5, 6 and 3 more\"")
    );
    // an id in Latin-1 (a spreadsheet's export): refused, even where no member list is
    // checked (another core), rather than stored under the wrong id
    let latin1 = f.dir.path().join("latin1.csv");
    std::fs::write(&latin1, b"member_id,pin\nJos\xe9,1234\n").unwrap();
    let unchecked = import::Options {
        require_member: false,
        ..options.clone()
    };
    let r = import::run(
        &f.vault,
        &latin1,
        &outbox,
        &unchecked,
        "test",
        t(1),
        &Silent,
    )
    .unwrap();
    assert_eq!(
        r.results.get("invalid_member_id"),
        Some(&1),
        "{:?}",
        r.results
    );
    // the summary's times and the test folder's random name are digits a PIN may match by
    // chance (this check failed once on a finished_at ending in ...0042...): left out
    let mut summary_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary.summary_file).unwrap()).unwrap();
    let fields = summary_json.as_object_mut().unwrap();
    assert!(fields.remove("started_at").is_some() && fields.remove("finished_at").is_some());
    let summary_text = summary_json
        .to_string()
        .replace(&f.dir.path().display().to_string(), "DIR");
    for text in [&results, &summary_text] {
        assert!(!text.contains("918273645012") && !text.contains("0042"));
    }
    // imported PINs are sealed, not yet hashed, and work at once
    let st = f.vault.status(&s, t(2)).unwrap();
    assert_eq!(
        (st.records, st.sealed_pin_records, st.bcrypt_records),
        (3, 2, 1)
    );
    assert!(matches!(
        f.vault.check_pin_now("M2", "0042", &s, t(2)).unwrap(),
        PinCheck::Correct { stored } if !stored.established
    ));
    // the same file again: nothing new
    let again = import::run(&f.vault, &file, &outbox, &options, "test", t(3), &Silent).unwrap();
    assert_eq!(
        again.results.get("unchanged"),
        Some(&1),
        "{:?}",
        again.results
    );
    assert_eq!(
        again.results.get("replaced"),
        Some(&1),
        "M2 was upgraded to bcrypt"
    );
    drop(f.vault);
    let db = std::fs::read(f.store.path()).unwrap();
    assert!(!db.windows(12).any(|w| w == b"918273645012"));
}

#[test]
fn an_import_replaces_a_placeholder_with_another_pin_and_takes_ids_as_enrollment_does() {
    let f = fixture();
    let outbox = f.dir.path().join("outbox");
    let options = import_options(false, false);
    // ids up to 64 characters, however many bytes they take, as pre-enrollment takes them
    let wide = "é".repeat(64);
    let too_long = "7".repeat(65);
    let import = |name: &str, rows: &str| {
        let file = f.dir.path().join(name);
        std::fs::write(&file, format!("member_id,pin\n{rows}")).unwrap();
        let summary =
            import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap();
        let results = std::fs::read_to_string(&summary.results_file).unwrap();
        results
            .lines()
            .skip(1)
            .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
    };
    let first = import(
        "first.csv",
        &format!("M1,1111\n{wide},2222\n{too_long},3333\nM\u{7}2,4444\n"),
    );
    assert_eq!(
        first,
        [
            "2,M1,imported".to_string(),
            format!("3,{wide},imported"),
            format!("4,{too_long},invalid_member_id"),
            // control characters are not written: a line break there would be a quoted
            // field's, which may hold the row's PIN
            "5,,invalid_member_id".to_string(),
        ]
    );
    // another placeholder PIN for M1: replaced; the same file again: unchanged
    assert_eq!(import("second.csv", "M1,5555\n"), ["2,M1,replaced"]);
    assert_eq!(import("second.csv", "M1,5555\n"), ["2,M1,unchanged"]);
    let s = settings(VaultMode::Encrypted);
    assert!(matches!(
        f.vault.check_pin_now("M1", "5555", &s, t(2)).unwrap(),
        PinCheck::Correct { .. }
    ));
}

#[test]
fn an_import_names_the_columns_it_did_not_read() {
    let f = fixture();
    let outbox = f.dir.path().join("outbox");
    let options = import_options(false, true);
    // (header, a row of it, the columns said to be ignored)
    let cases: [(&str, &str, &[&str]); 6] = [
        ("member_id,pin", "M1,2749", &[]),
        (
            "PIN,changed_at,Member_ID,,Notes",
            "2749,2026-01-02,M1,,x",
            &["changed_at", "Notes"],
        ),
        (" pin , member_id ,branch", "2749,M1,7", &["branch"]),
        // a spreadsheet's unnamed columns and blank rows below the data
        ("member_id,pin,,", "M1,2749,,\n,,,\n , ,,", &[]),
        // as a core's report or a spreadsheet names them
        ("Member ID,PIN,Branch Code", "M1,2749,7", &["Branch Code"]),
        ("MEMBER-ID,pin", "M1,2749", &[]),
    ];
    for (header, row, ignored) in cases {
        let file = f.dir.path().join("cols.csv");
        std::fs::write(&file, format!("{header}\n{row}")).unwrap();
        let s = import::run(&f.vault, &file, &outbox, &options, "t", t(0), &Silent).unwrap();
        assert_eq!(s.unknown_columns, ignored, "{header}");
        assert_eq!(s.results.get("imported"), Some(&1), "{header}: {s:?}");
        assert_eq!(s.rows, 1, "{header}: {s:?}");
    }
}

/// `pins import --separator`: a core's tab-, pipe- or semicolon-delimited export of PINs
/// reads as its CSV does, its separator line included; the ids and results are the same.
#[test]
fn an_import_reads_the_separator_it_is_told() {
    use crate::enroll::lines::Separator;
    let f = fixture();
    let outbox = f.dir.path().join("outbox");
    for (separator, body) in [
        (Separator::Tab, "member_id\tpin\r\nM1\t1234\r\nM2\t12a4\r\n"),
        (Separator::Pipe, "sep=|\nPIN|Member ID\n1234|M1\n12a4|M2\n"),
        (
            Separator::Semicolon,
            "member_id;pin\n\"M1\";1234\nM2;12a4\n",
        ),
    ] {
        let file = f.dir.path().join("pins.txt");
        std::fs::write(&file, body).unwrap();
        let options = import::Options {
            separator,
            ..import_options(false, true)
        };
        let summary = import::run(&f.vault, &file, &outbox, &options, "t", t(0), &Silent).unwrap();
        let results: Vec<(&str, u64)> = (summary.results.iter())
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            results,
            [("imported", 1), ("invalid_pin", 1)],
            "{separator:?}"
        );
    }
    // told one separator, holding another: said, with the flag for it
    std::fs::write(f.dir.path().join("pins.txt"), "member_id,pin\nM1,1234\n").unwrap();
    let options = import::Options {
        separator: Separator::Tab,
        ..import_options(false, true)
    };
    let file = f.dir.path().join("pins.txt");
    let e = import::run(&f.vault, &file, &outbox, &options, "t", t(0), &Silent).unwrap_err();
    assert!(
        e.to_string().contains(
            "separated by ',', and the file was read with '\\t' between them (expected the \
             columns member_id and pin): for such a file, `callvault pins import FILE \
             --separator comma`"
        ),
        "{e}"
    );
}

#[test]
fn import_file_problems_stop_everything() {
    let f = fixture();
    let outbox = f.dir.path().join("outbox");
    let options = import_options(true, false);
    let cases: [(&str, &str); 17] = [
        ("", "empty"),
        // a quote never closed would read the rows after it as one row's PIN
        (
            "member_id,pin\nM1,1234\nM2,\"2749\nM3,5831\nM4,6620\n",
            ": line 3: a quote opens a field that runs on to line 5, so the rows between were \
             read as its text",
        ),
        (
            "member_id,pin\r\n\"M1,1234\r\nM2,2749\r\nM3,\"5831\r\n",
            ": line 2: a quote opens a field that runs on to line 4,",
        ),
        (
            "member_id,code\nM1,1234\n",
            ": the header has no \"pin\" column (expected member_id,pin)",
        ),
        ("id,pin\nM1,1234\n", "\"member_id\""),
        // a name likely meant as the missing column is said with it
        (
            "member_id, PINs \nM1,1234\n",
            ": the header has no \"pin\" column (expected member_id,pin; \"PINs\": did you \
             mean pin?)",
        ),
        (
            "pin,MemberID\n1234,M1\n",
            ": the header has no \"member_id\" column (expected member_id,pin; \"MemberID\": \
             did you mean member_id?)",
        ),
        (
            "Member Number,PIN\nM1,1234\n",
            "no \"member_id\" column (expected member_id,pin; \"Member Number\": did you mean \
             member_id?)",
        ),
        ("Member_ID;PIN\nM1;1234\n", "separated by ';'"),
        (
            "pin\tmember_id\n1234\tM1\n",
            "separated by '\\t', and the file was read with ',' between them (expected the \
             columns member_id and pin): for such a file, `callvault pins import FILE \
             --separator tab`",
        ),
        ("sep=;\nmember_id;pin\nM1;1234\n", "separated by ';'"),
        ("sep=,\n", "empty"),
        // one column that names neither: the missing column, not a separator
        ("code;x\nM1;1234\n", "no \"member_id\" column"),
        // a report's title above the header: the header's line named
        (
            "PIN export 2026-12-07,\nmember_id,pin\nM1,1234\n",
            "bad.csv: no header row: line 1 names no column callvault knows, and line 2 \
             names the columns: delete the lines above line 2",
        ),
        (
            "PINs\n\nRun on,2026-12-07\n,\nMember ID,PIN\nM1,1234\n",
            "line 1 names no column callvault knows, and line 5 names the columns",
        ),
        ("sep=,\nPINs\npin,member_id\n", "line 2 names no column"),
        // a spreadsheet's empty rows alone
        (",,\n , \n", "empty"),
    ];
    for (text, says) in cases {
        let file = f.dir.path().join("bad.csv");
        std::fs::write(&file, text).unwrap();
        let err = import::run(&f.vault, &file, &outbox, &options, "t", t(0), &Silent).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
    assert_eq!(
        f.vault
            .status(&settings(VaultMode::Hashed), t(0))
            .unwrap()
            .records,
        0
    );
    // a dry run writes the report and changes nothing
    let file = f.dir.path().join("ok.csv");
    std::fs::write(&file, "member_id,pin\nM1,2749\n").unwrap();
    let dry = import::Options {
        dry_run: true,
        ..options
    };
    let audit_records = || {
        let txn = f.store.begin_read().unwrap();
        redb::ReadableTableMetadata::len(&txn.open_table(tables::AUDIT).unwrap()).unwrap()
    };
    let before = audit_records();
    let s = import::run(&f.vault, &file, &outbox, &dry, "t", t(0), &Silent).unwrap();
    assert_eq!(s.results.get("imported"), Some(&1));
    assert!(f.record("M1").is_none());
    // an Excel separator line before the header is skipped, its line still counted
    std::fs::write(&file, "sep=,\r\nmember_id,pin\r\nM1,2749\r\n").unwrap();
    let s = import::run(&f.vault, &file, &outbox, &dry, "t", t(0), &Silent).unwrap();
    assert_eq!(s.results.get("imported"), Some(&1));
    let results = std::fs::read_to_string(&s.results_file).unwrap();
    assert!(results.contains("\n3,M1,imported"), "{results}");
    // so are a spreadsheet's empty rows before it
    std::fs::write(&file, ",,\r\n\r\n,\r\nmember_id,pin\r\nM1,2749\r\n").unwrap();
    let s = import::run(&f.vault, &file, &outbox, &dry, "t", t(0), &Silent).unwrap();
    assert_eq!(s.results.get("imported"), Some(&1));
    let results = std::fs::read_to_string(&s.results_file).unwrap();
    assert!(results.contains("\n5,M1,imported"), "{results}");
    assert_eq!(audit_records(), before, "a dry run is not audited");
}

#[tokio::test]
async fn background_upgrade_hashes_sealed_pins_and_keeps_them_working() {
    let f = fixture();
    let enc = settings(VaultMode::Encrypted);
    for (i, m) in ["A", "B", "C"].iter().enumerate() {
        f.vault
            .store_pin_now(m, &format!("274{i}"), false, &enc, t(0))
            .unwrap();
    }
    let hashed = settings(VaultMode::Hashed);
    assert_eq!(
        f.vault.upgrade_sealed(None, 64, &enc).await.unwrap(),
        (0, None)
    );
    let (done, cursor) = f.vault.upgrade_sealed(None, 2, &hashed).await.unwrap();
    assert_eq!((done, cursor.as_deref()), (2, Some("B")));
    let (done, cursor) = f.vault.upgrade_sealed(cursor, 2, &hashed).await.unwrap();
    assert_eq!((done, cursor), (1, None));
    let st = f.vault.status(&hashed, t(1)).unwrap();
    assert_eq!((st.bcrypt_records, st.sealed_pin_records), (3, 0));
    assert!(matches!(
        f.vault.check_pin_now("C", "2742", &hashed, t(1)).unwrap(),
        PinCheck::Correct { .. }
    ));
}

/// The background upgrade waits while the pool has other work (a PIN check of a call): it
/// takes a thread only when the pool is idle, so calls never queue behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_upgrade_waits_for_the_pool_to_be_idle() {
    let f = fixture();
    let enc = settings(VaultMode::Encrypted);
    f.vault
        .store_pin_now("A", "2740", false, &enc, t(0))
        .unwrap();
    let hashed = settings(VaultMode::Hashed);
    let sealed = |v: &Vault| v.status(&hashed, t(1)).unwrap().sealed_pin_records;
    // a call's work holds one of the pool's two threads until it is let go
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let vault = f.vault.clone();
    let call = tokio::spawn(async move { vault.pool().run(move || wait.recv()).await });
    while f.vault.pool().busy() == 0 {
        tokio::task::yield_now().await;
    }
    let vault = f.vault.clone();
    let upgrade_settings = hashed.clone();
    let upgrade =
        tokio::spawn(async move { vault.upgrade_sealed(None, 64, &upgrade_settings).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sealed(&f.vault), 1, "upgraded while the pool was busy");
    go.send(()).unwrap();
    call.await.unwrap().unwrap().unwrap();
    assert_eq!(upgrade.await.unwrap().unwrap(), (1, None));
    assert_eq!(sealed(&f.vault), 0);
}

#[test]
fn rotation_reseals_everything_and_replaces_the_key_file() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    for m in ["M1", "M2", "M3"] {
        f.vault.store_pin_now(m, "2749", true, &s, t(0)).unwrap();
    }
    let old_key = std::fs::read(f.key_file()).unwrap();
    let old_id = f.vault.key_id();
    let report = f
        .vault
        .rotate_key(&crate::enroll::progress::Silent)
        .unwrap();
    assert_eq!(report.old_key_id, old_id);
    assert_ne!(report.new_key_id, old_id);
    assert_eq!((report.resealed, report.resumed), (3, false));
    assert_ne!(std::fs::read(f.key_file()).unwrap(), old_key);
    let mode = std::fs::metadata(f.key_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!next_key_path(&f.key_file()).exists());
    let st = f.vault.status(&s, t(1)).unwrap();
    assert_eq!(st.by_key, vec![(report.new_key_id.clone(), 3)]);
    assert_eq!(st.loaded_key_ids, vec![report.new_key_id.clone()]);
    // a fresh start with the new key file opens every record
    let fresh = f.reopen();
    for m in ["M1", "M2", "M3"] {
        assert!(matches!(
            fresh.check_pin_now(m, "2749", &s, t(2)).unwrap(),
            PinCheck::Correct { .. }
        ));
    }
}

/// root rotating with the service stopped must leave a key the service's user can read:
/// the new key (and the `.next` file an interrupted rotation leaves) owned as the old one.
#[test]
fn a_rotation_keeps_the_owner_of_the_key_file() {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot make a key another user owns; skipped");
        return;
    }
    let f = fixture();
    std::os::unix::fs::chown(f.key_file(), Some(65534), Some(65533)).unwrap();
    f.vault
        .rotate_key(&crate::enroll::progress::Silent)
        .unwrap();
    let m = std::fs::metadata(f.key_file()).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (65534, 65533, 0o600));
}

#[test]
fn an_interrupted_rotation_still_opens_and_finishes_when_run_again() {
    let f = fixture();
    let s = settings(VaultMode::Encrypted);
    f.vault.store_pin_now("M1", "2749", true, &s, t(0)).unwrap();
    // the crash came after the new key was written, before anything was resealed
    create_key_file(&next_key_path(&f.key_file())).unwrap();
    let restarted = Arc::new(f.reopen());
    let st = restarted.status(&s, t(1)).unwrap();
    assert!(st.rotation_pending);
    assert_eq!(st.loaded_key_ids.len(), 2);
    // old records open; new ones are sealed under the next key
    assert!(matches!(
        restarted.check_pin_now("M1", "2749", &s, t(1)).unwrap(),
        PinCheck::Correct { .. }
    ));
    restarted
        .store_pin_now("M2", "5902", true, &s, t(1))
        .unwrap();
    let report = restarted
        .rotate_key(&crate::enroll::progress::Silent)
        .unwrap();
    assert!(report.resumed);
    assert_eq!(report.resealed, 1, "only M1 was under the old key");
    let fresh = f.reopen();
    for (m, pin) in [("M1", "2749"), ("M2", "5902")] {
        assert!(matches!(
            fresh.check_pin_now(m, pin, &s, t(2)).unwrap(),
            PinCheck::Correct { .. }
        ));
    }
}

/// The service is stopping: a rotation through it ends between batches, with the old key in
/// place and the new one beside it, so the next start loads both and running it again
/// finishes it. A PIN import ends the same way, before its next slice.
#[test]
fn a_stopping_service_ends_a_rotation_or_an_import_between_transactions() {
    let f = fixture();
    let s = settings(VaultMode::Encrypted);
    f.vault.store_pin_now("M1", "2749", true, &s, t(0)).unwrap();
    let old_key = std::fs::read(f.key_file()).unwrap();
    let (file, outbox, options) = f.pins_file(3);
    f.store.stop_scans();
    let err = f
        .vault
        .rotate_key(&crate::enroll::progress::Silent)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("run `callvault vault rotate-key` again"),
        "{err}"
    );
    assert_eq!(std::fs::read(f.key_file()).unwrap(), old_key);
    assert!(next_key_path(&f.key_file()).exists());
    let restarted = f.reopen();
    assert_eq!(restarted.status(&s, t(1)).unwrap().loaded_key_ids.len(), 2);
    assert!(matches!(
        restarted.check_pin_now("M1", "2749", &s, t(1)).unwrap(),
        PinCheck::Correct { .. }
    ));

    let err = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap_err();
    assert!(err.to_string().contains("the service is stopping"), "{err}");
    assert!(f.record("P00000").is_none(), "nothing imported");
}

/// Ctrl-C on an offline command: a rotation ends between batches as when the service stops,
/// and says to run it again (not "once it has started"); a PIN import still checking its
/// file ends at its next 4,096 rows, with nothing imported.
#[test]
fn an_interrupted_rotation_or_import_says_so_and_how_to_finish() {
    // the store interrupted (Ctrl-C offline), or the progress saying stop (the command's
    // client gone, through the service)
    let gone = crate::enroll::progress::Stoppable::new(&Silent, || {
        Err(crate::store::StoreError::Interrupted)
    });
    for (interrupt, progress) in [
        (true, &Silent as &dyn crate::enroll::Progress),
        (false, &gone),
    ] {
        let f = fixture();
        let s = settings(VaultMode::Encrypted);
        f.vault.store_pin_now("M1", "2749", true, &s, t(0)).unwrap();
        if interrupt {
            f.store.interrupt();
        }
        let err = f.vault.rotate_key(progress).unwrap_err().to_string();
        assert!(
            err.starts_with("interrupted: ")
                && err.ends_with("run `callvault vault rotate-key` again, to finish"),
            "{err}"
        );
    }

    let f = fixture();
    let (file, outbox, options) = f.pins_file(5000);
    let asked = std::cell::Cell::new(0);
    let progress = crate::enroll::progress::Stoppable::new(&Silent, || {
        asked.set(asked.get() + 1);
        Err(crate::store::StoreError::Interrupted)
    });
    let err = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &progress)
        .unwrap_err()
        .to_string();
    assert!(err.contains("interrupted before the end"), "{err}");
    assert_eq!(asked.get(), 1);
    assert!(f.record("P00000").is_none(), "nothing imported");
}

#[test]
fn a_record_under_an_unknown_key_is_reported() {
    let f = fixture();
    let s = settings(VaultMode::Encrypted);
    f.vault.store_pin_now("M1", "2749", true, &s, t(0)).unwrap();
    let other = tempfile::tempdir().unwrap();
    let key = other.path().join("k");
    create_key_file(&key).unwrap();
    let stranger = Vault::open(f.store.clone(), &key, 1).unwrap();
    let err = stranger.check_pin_now("M1", "2749", &s, t(1)).unwrap_err();
    assert!(err.to_string().contains("not loaded"), "{err}");
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_lockout() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    f.vault.store_pin_now("M1", "2749", true, &s, t(0)).unwrap();
    let guesses: Vec<_> = (0..20)
        .map(|i| {
            f.vault.check_pin(
                "M1".into(),
                Zeroizing::new(format!("{:04}", 3000 + i)),
                s.clone(),
                t(1),
            )
        })
        .collect();
    let answers = futures_util::future::join_all(guesses).await;
    let compared = answers
        .iter()
        .filter(|a| matches!(a, Ok(PinCheck::Wrong { .. })))
        .count();
    assert_eq!(compared, 5, "{answers:?}");
}

/// Remembers what a long operation reported.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<String>>);

impl crate::enroll::Progress for Recorded {
    fn phase(&self, name: &str, total: u64) {
        self.0.lock().unwrap().push(format!("{name} {total}"));
    }
    fn advance_to(&self, done: u64) {
        self.0.lock().unwrap().push(done.to_string());
    }
    fn finish(&self) {
        self.0.lock().unwrap().push("finished".into());
    }
}

#[test]
fn rotation_reseals_in_batches_and_reports_its_progress() {
    let f = fixture();
    let s = settings(VaultMode::Encrypted);
    let members = ["M1", "M2", "M3", "M4", "M5"];
    for m in members {
        f.vault.store_pin_now(m, "2749", true, &s, t(0)).unwrap();
    }
    let progress = Recorded::default();
    let report = f.vault.rotate_key_in_batches(&progress, 2).unwrap();
    assert_eq!(report.resealed, 5);
    assert_eq!(
        *progress.0.lock().unwrap(),
        ["resealing 5", "2", "4", "5", "finished"]
    );
    let st = f.vault.status(&s, t(1)).unwrap();
    assert_eq!(st.by_key, vec![(report.new_key_id.clone(), 5)]);
    let fresh = f.reopen();
    for m in members {
        assert!(matches!(
            fresh.check_pin_now(m, "2749", &s, t(2)).unwrap(),
            PinCheck::Correct { .. }
        ));
    }
    // a batch of exactly the records left ends as well
    let again = fresh
        .rotate_key_in_batches(&Recorded::default(), 5)
        .unwrap();
    assert_eq!(again.resealed, 5);
}

#[test]
fn a_pin_import_that_overlaps_a_rotation_leaves_no_record_under_the_old_key() {
    let f = fixture();
    let s = settings(VaultMode::Encrypted);
    f.vault.store_pin_now("A0", "2749", true, &s, t(0)).unwrap();
    let (file, outbox, options) = f.pins_file(10_000);
    let vault = f.vault.clone();
    let importer = std::thread::spawn(move || {
        import::run(&vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap()
    });
    // the rotation starts after the import has begun sealing, and is quick
    std::thread::sleep(std::time::Duration::from_millis(20));
    f.vault.rotate_key(&Silent).unwrap();
    assert_eq!(importer.join().unwrap().rows, 10_000);
    let fresh = f.reopen();
    let st = fresh.status(&s, t(2)).unwrap();
    assert_eq!(st.by_key.len(), 1, "records by key: {:?}", st.by_key);
    assert_eq!(st.records, 10_001);
}

#[test]
fn a_pin_import_goes_in_slices_and_one_interrupted_finishes_when_run_again() {
    let f = fixture();
    let rows = 2 * import::IMPORT_SLICE + 10;
    let (file, outbox, options) = f.pins_file(rows);
    // A record that cannot be opened in the first slice: nothing was applied, so the error
    // is that record's alone, with no word of a run to finish.
    f.put_record("P00003", b"not a sealed record");
    let err = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &Silent).unwrap_err();
    assert!(
        !matches!(err, import::ImportError::Interrupted { .. }),
        "{err}"
    );
    assert!(f.record("P00000").is_none(), "nothing is applied");
    let txn = f.store.begin_write().unwrap();
    txn.open_table(tables::PINS)
        .unwrap()
        .remove("P00003")
        .unwrap();
    txn.commit().unwrap();
    // A record that cannot be opened, in the second slice: the import stops there.
    let broken = format!("P{:05}", import::IMPORT_SLICE + 5);
    f.put_record(&broken, b"not a sealed record");
    let progress = crate::enroll::progress::OtherWriter::new(f.store.clone());
    let err = import::run(&f.vault, &file, &outbox, &options, "test", t(1), &progress).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "stopped after {} of {rows} rows",
            import::IMPORT_SLICE
        )) && text.contains("Run the file again"),
        "{text}"
    );
    assert!(
        progress.times() >= 2,
        "the other writer got in between slices"
    );
    assert!(f.record("P00000").is_some(), "the first slice is applied");
    assert!(f.record(&format!("P{:05}", rows - 1)).is_none());
    let mut audit = Vec::new();
    crate::audit::export(&f.store.begin_read().unwrap(), None, &mut audit).unwrap();
    let audit = String::from_utf8(audit).unwrap();
    assert!(audit.contains("pins_import_started") && !audit.contains("\"pins_imported\""));

    // Mended (the broken record removed), the same file again finishes it.
    let txn = f.store.begin_write().unwrap();
    txn.open_table(tables::PINS)
        .unwrap()
        .remove(broken.as_str())
        .unwrap();
    txn.commit().unwrap();
    let progress = Recorded::default();
    let summary = import::run(&f.vault, &file, &outbox, &options, "test", t(2), &progress).unwrap();
    assert_eq!(summary.results["unchanged"], import::IMPORT_SLICE as u64);
    // the rows applied, a slice at a time
    let told = progress.0.lock().unwrap().clone();
    let applying = told.iter().position(|t| *t == format!("applying {rows}"));
    let slices = [import::IMPORT_SLICE, 2 * import::IMPORT_SLICE, rows];
    let expected: Vec<String> = slices.iter().map(usize::to_string).collect();
    assert_eq!(
        applying.map(|at| told[at + 1..].to_vec()),
        Some([expected, vec!["finished".into()]].concat()),
        "{told:?}"
    );
    assert_eq!(summary.vault_records, rows as u64);
    // a dry run of it says it tries the rows, not that it applies them
    let progress = Recorded::default();
    let dry = import::Options {
        dry_run: true,
        ..options.clone()
    };
    import::run(&f.vault, &file, &outbox, &dry, "test", t(2), &progress).unwrap();
    let told = progress.0.lock().unwrap().clone();
    assert!(told.contains(&format!("trying {rows}")), "{told:?}");
    assert!(!told.iter().any(|t| t.starts_with("applying")), "{told:?}");
    // one start a run that applied anything, however many slices it took
    let mut audit = Vec::new();
    crate::audit::export(&f.store.begin_read().unwrap(), None, &mut audit).unwrap();
    let audit = String::from_utf8(audit).unwrap();
    assert_eq!(audit.matches("pins_import_started").count(), 2);
    assert_eq!(
        audit.matches("\"pins_imported\"").count(),
        1,
        "the run that finished"
    );
}

/// A PIN a call holds between steps opens for that call only: not for another call, and
/// not as the PIN record of a member whose id is the call's.
#[test]
fn a_pin_sealed_for_a_call_opens_for_that_call_only() {
    let f = fixture();
    let sealed = f.vault.seal_for_call("c-1", "4821").unwrap();
    assert!(
        !sealed.windows(4).any(|w| w == b"4821"),
        "sealed in the clear"
    );
    assert_eq!(
        f.vault.open_for_call("c-1", &sealed).unwrap().as_str(),
        "4821"
    );
    assert!(f.vault.open_for_call("c-2", &sealed).is_err());
    assert!(f.vault.keyring.load().open("c-1", &sealed).is_err());
    // and a member's record does not open as a call's
    let as_member = f
        .vault
        .keyring
        .load()
        .seal(
            "c-1",
            Header {
                key_id: [0; 4],
                kind: SecretKind::Pin,
                set_at: 0,
                established: false,
                flagged: false,
            },
            b"4821",
        )
        .unwrap();
    assert!(f.vault.open_for_call("c-1", &as_member).is_err());
}

/// A one-time code's MAC matches that code for that challenge only, and holds neither.
#[test]
fn a_code_mac_matches_its_code_for_its_challenge_only() {
    let f = fixture();
    let mac = f.vault.code_mac("ch-1", "482913").unwrap();
    assert!(!mac.contains("482913"), "{mac}");
    assert!(f.vault.code_matches("ch-1", "482913", &mac));
    for (challenge, code) in [
        ("ch-1", "482914"),
        ("ch-1", ""),
        ("ch-2", "482913"),
        // the challenge and the code are kept apart, not run together
        ("ch-14", "82913"),
    ] {
        assert!(
            !f.vault.code_matches(challenge, code, &mac),
            "{challenge} {code}"
        );
    }
    // the same code for another challenge has another MAC
    assert_ne!(f.vault.code_mac("ch-2", "482913").unwrap(), mac);
    assert!(f.vault.code_key_loaded(&mac));
    // a MAC cut short, or not hex, or under a key id not loaded, matches nothing
    let (id, hex) = mac.split_once(':').unwrap();
    for stored in [
        format!("{id}:{}", &hex[2..]),
        format!("{id}:zz{}", &hex[2..]),
        format!("00000000:{hex}"),
        hex.to_string(),
    ] {
        assert!(!f.vault.code_matches("ch-1", "482913", &stored), "{stored}");
    }
    for stored in [
        format!("00000000:{hex}"),
        hex.to_string(),
        format!("zz:{hex}"),
    ] {
        assert!(!f.vault.code_key_loaded(&stored), "{stored}");
    }
    // once the key is rotated away, its MACs' key is no longer loaded
    f.vault
        .rotate_key(&crate::enroll::progress::Silent)
        .unwrap();
    assert!(!f.vault.code_key_loaded(&mac));
    assert!(
        f.vault
            .code_key_loaded(&f.vault.code_mac("ch-1", "482913").unwrap())
    );
}

/// With the embedded core, a listed id the vault holds no PIN for and no member is enrolled
/// under (a list of account numbers, a report's title line) is counted apart from a member
/// without a PIN; a PIN record under an id no member has is flagged as any other.
#[test]
fn a_listed_id_of_no_enrolled_member_is_counted_apart() {
    use super::force::{ForceOptions, ForceReport, Whom};
    let f = fixture();
    let s = settings(VaultMode::Encrypted);
    f.enroll(&["M1", "M2"]);
    for id in ["M1", "X1"] {
        f.vault.store_pin_now(id, "5902", true, &s, t(0)).unwrap();
    }
    let ids = ["M1", "M2", "X1", "Members to re-PIN"];
    let whom = Whom::Listed(ids.iter().map(|i| i.to_string()).collect());
    let known = ForceOptions {
        members_known: true,
        ..ForceOptions::default()
    };
    let report = f
        .vault
        .force_change_in_batches(&whom, known, &Silent, 3)
        .unwrap();
    assert_eq!(
        report,
        ForceReport {
            flagged: 2,
            already: 0,
            marked: 0,
            without_pin: 1,
            not_enrolled: 1,
        }
    );
    // the store not knowing the members (a core's), every id is taken as a member's
    let unknown = ForceOptions::default();
    let report = f
        .vault
        .force_change_in_batches(&whom, unknown, &Silent, 3)
        .unwrap();
    assert_eq!(
        (report.already, report.without_pin, report.not_enrolled),
        (2, 2, 0)
    );
}

/// `vault status` counts the PIN records of no enrolled member.
#[test]
fn pin_records_of_no_enrolled_member_are_counted() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    f.enroll(&["M1"]);
    assert_eq!(pins_not_enrolled(&f.store).unwrap(), 0);
    for member in ["M1", "X1", "X2"] {
        f.vault
            .store_pin_now(member, "5902", true, &s, t(0))
            .unwrap();
    }
    assert_eq!(pins_not_enrolled(&f.store).unwrap(), 2);
    f.enroll(&["X1"]);
    assert_eq!(pins_not_enrolled(&f.store).unwrap(), 1);
}

/// Records sealed under a key the vault does not hold are found from either end of the
/// table, and `forget_key` removes those of the key it is given only, never a loaded key's,
/// with its audit record.
#[test]
fn records_under_a_key_not_held_are_found_and_forgotten_by_key() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    assert_eq!(
        lost::key_outside(&f.store, &[]).unwrap(),
        None,
        "no records"
    );
    // "1" sealed under the fixture's key, "2" under another key file's
    f.vault.store_pin_now("1", "4821", true, &s, t(0)).unwrap();
    let other_file = f.dir.path().join("etc/other.key");
    create_key_file(&other_file).unwrap();
    let other = Vault::open(f.store.clone(), &other_file, 1).unwrap();
    other.store_pin_now("2", "7302", true, &s, t(0)).unwrap();
    let (a, b) = (f.vault.key_id(), other.key_id());
    let outside = |keys: &[&String]| {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        lost::key_outside(&f.store, &keys).unwrap()
    };
    assert_eq!(outside(&[&a]), Some(b.clone()), "the last record's");
    assert_eq!(outside(&[&b]), Some(a.clone()), "the first record's");
    assert_eq!(outside(&[&a, &b]), None);
    assert_eq!(
        lost::unloaded_key_in_use(&f.vault).unwrap(),
        Some(b.clone())
    );
    // a record whose header does not read names no key (db check reports it), first or last
    for damaged in ["0", "3"] {
        let txn = f.store.begin_write().unwrap();
        (txn.open_table(tables::PINS).unwrap())
            .insert(damaged, b"\xff".as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    assert_eq!(outside(&[&a]), None, "only damaged records at the ends");

    // "2" is locked out by wrong PINs; "1" has a wrong one against it
    let lockout = settings(VaultMode::Hashed).lockout;
    for (member, wrong) in [("2", 5), ("1", 1)] {
        let txn = f.store.begin_write().unwrap();
        let mut attempts = txn.open_table(tables::ATTEMPTS).unwrap();
        let counter = (0..wrong).fold(Counter::default(), |c, _| c.wrong(&lockout, t(0)));
        write_counter(&mut attempts, member, PIN_ATTEMPTS, counter).unwrap();
        drop(attempts);
        txn.commit().unwrap();
    }
    let pin_counter = |member: &str| {
        let txn = f.store.begin_read().unwrap();
        let attempts = txn.open_table(tables::ATTEMPTS).unwrap();
        read_counter(&attempts, member, PIN_ATTEMPTS).unwrap()
    };
    assert!(!pin_counter("2").is_clear());

    let loaded = [a.clone()];
    let forget = |key: &str| lost::forget_key(&f.store, key, &loaded, "cli").unwrap();
    assert_eq!(forget(&a), lost::Forgot::Loaded);
    assert!(f.record("1").is_some());
    assert_eq!(forget("0badc0de"), lost::Forgot::Removed(0));
    assert_eq!(forget(&b.to_uppercase()), lost::Forgot::Removed(1));
    assert!(f.record("2").is_none() && f.record("1").is_some());
    assert!(
        f.record("0").is_some() && f.record("3").is_some(),
        "damaged ones kept"
    );
    assert!(
        pin_counter("2").is_clear(),
        "the forgotten PIN's wrong-PIN count stays"
    );
    assert!(!pin_counter("1").is_clear(), "a kept PIN's count went");
    assert_eq!(lost::unloaded_key_in_use(&f.vault).unwrap(), None);
    let mut audit = Vec::new();
    crate::audit::export(&f.store.begin_read().unwrap(), None, &mut audit).unwrap();
    let audit = String::from_utf8(audit).unwrap();
    assert!(
        audit.contains(&format!(
            "\"detail\":\"key {b}: 1 PIN record sealed under it removed\""
        )),
        "{audit}"
    );
}

/// A bulk forced change, in batches: `All` flags every record (a flagged one is counted as
/// such, and a run again flags nothing new), and each member so asked changes their PIN
/// after their next correct one; `Listed` asks only those listed, marks members the vault
/// holds no PIN for when the core checks PINs, and counts them apart otherwise. Progress
/// is told per batch.
#[test]
fn many_members_are_asked_for_a_new_pin_at_once_in_batches() {
    use super::force::{ForceOptions, ForceReport, Whom};
    use crate::enroll::progress::Told;
    let opts = |core_holds, dry_run| ForceOptions {
        core_holds,
        members_known: false,
        dry_run,
    };
    let f = fixture();
    let s = settings(VaultMode::Encrypted);
    for id in ["A1", "A2", "A3", "A4", "A5"] {
        f.vault.store_pin_now(id, "5902", true, &s, t(0)).unwrap();
    }
    f.vault.flag_force_change("A2", false).unwrap();
    let flagged = |id: &str| match f.vault.check_pin_now(id, "5902", &s, t(1)).unwrap() {
        PinCheck::Correct { stored } => stored.flagged,
        other => panic!("{id}: {other:?}"),
    };
    let told = Told::default();
    let listed = |ids: &[&str]| Whom::Listed(ids.iter().map(|i| i.to_string()).collect());
    assert_eq!(
        f.vault
            .force_change_in_batches(&listed(&["A1", "A2", "N1"]), opts(false, false), &told, 2)
            .unwrap(),
        ForceReport {
            flagged: 1,
            already: 1,
            marked: 0,
            without_pin: 1,
            not_enrolled: 0,
        }
    );
    assert_eq!(
        told.0.lock().unwrap().clone(),
        [
            ("flagging".to_string(), 3),
            ("at".to_string(), 2),
            ("at".to_string(), 3),
            ("finish".to_string(), 0)
        ]
    );
    assert!(flagged("A1") && flagged("A2") && !flagged("A3"));
    let pending = || f.vault.status(&s, t(1)).unwrap().force_change_pending;
    assert_eq!(pending(), 2);
    assert!(!f.vault.pin_status("N1", &s, t(1)).unwrap().force_change);
    // with a core that checks PINs, one the vault holds none for is marked (once)
    let core = listed(&["N1", "N1b"]);
    let marked = f
        .vault
        .force_change_in_batches(&core, opts(true, false), &Silent, 2)
        .unwrap();
    assert_eq!((marked.marked, marked.already), (2, 0));
    let again = f
        .vault
        .force_change_in_batches(&core, opts(true, false), &Silent, 2)
        .unwrap();
    assert_eq!((again.marked, again.already), (0, 2));
    assert!(f.vault.pin_status("N1", &s, t(1)).unwrap().force_change);
    assert_eq!(pending(), 4, "two records, two marks");
    // every record, in batches of two: the two asked before are counted so
    // a dry run counts as the run would, and changes nothing
    let dry = f
        .vault
        .force_change_in_batches(&Whom::All, opts(true, true), &Silent, 2)
        .unwrap();
    let dry_listed = (f.vault)
        .force_change_in_batches(&listed(&["A3", "N2"]), opts(true, true), &Silent, 2)
        .unwrap();
    assert_eq!((dry_listed.flagged, dry_listed.marked), (1, 1));
    assert_eq!(pending(), 4, "nothing changed");
    assert!(!f.vault.pin_status("N2", &s, t(1)).unwrap().force_change);
    let all = f
        .vault
        .force_change_in_batches(&Whom::All, opts(true, false), &Silent, 2)
        .unwrap();
    assert_eq!(all, dry);
    assert_eq!(
        all,
        ForceReport {
            flagged: 3,
            already: 2,
            marked: 0,
            without_pin: 0,
            not_enrolled: 0,
        }
    );
    for id in ["A1", "A2", "A3", "A4", "A5"] {
        assert!(flagged(id), "{id}");
    }
    assert!(!f.vault.has_pin("N1").unwrap(), "All makes no record");
    let none_new = f
        .vault
        .force_change_many(&Whom::All, opts(false, false), &Silent)
        .unwrap();
    assert_eq!((none_new.flagged, none_new.already), (0, 5));
    assert_eq!(pending(), 7);
    // the PIN the member chooses then is not flagged, and a PIN set for a marked member
    // takes the mark
    f.vault.store_pin_now("A4", "7315", true, &s, t(2)).unwrap();
    assert!(!f.vault.pin_status("A4", &s, t(2)).unwrap().force_change);
    f.vault.store_pin_now("N1", "7315", true, &s, t(2)).unwrap();
    assert_eq!(pending(), 5);
}

/// A force-change file: one member id per line (a CSV's first column), blank lines and
/// comments skipped, a header taken as one, each id once; any line that is no member id
/// refuses the file, naming the line.
#[test]
fn a_force_change_file_lists_member_ids_and_a_bad_line_is_named() {
    use super::force::listed_ids;
    assert_eq!(
        listed_ids(
            "\u{feff}member_id\n1001\n\n# the branch's\n 1002 ,Ada\n\"1003\"\n1001\n=\"01004\"\n"
        ),
        Ok(vec![
            "1001".into(),
            "1002".into(),
            "1003".into(),
            "01004".into()
        ])
    );
    // a header as a report or a core names the column
    for header in [
        "Member ID",
        "MEMBER_ID",
        "Member Number",
        "Mbr No",
        "MemberNum",
    ] {
        assert_eq!(
            listed_ids(&format!("{header},Name\n1001,Ada\n")),
            Ok(vec!["1001".into()]),
            "{header}"
        );
    }
    // a header below the first line: under a report's title, which was taken for an id
    for (text, line) in [
        ("1001\nmember_id\n", 2),
        ("Members to re-PIN (Dec 2026)\n\nMember Number\n1001\n", 3),
    ] {
        assert_eq!(
            listed_ids(text),
            Err(vec![format!(
                "line {line}: \"{}\" names the column of member ids, as a header does: a \
                 header goes on the first line; delete the lines above it (a report's title, \
                 say)",
                text.lines().nth(line - 1).unwrap()
            )]),
            "{text}"
        );
    }
    // a core's trailer on the last line: no id, its count checked; before the last, an error
    for text in [
        "member_id\n1001\n1002\n1001\nTRAILER,3\n",
        "member_id\n1001\n1002\n1001\nTRAILER,4\n\n",
        "1001;Ada\n1002;Al\nTotal Records: 2\r\n",
        "1001\n1002\nEOF\n",
    ] {
        assert_eq!(
            listed_ids(text),
            Ok(vec!["1001".into(), "1002".into()]),
            "{text}"
        );
    }
    assert_eq!(
        listed_ids("member_id\n1001\n1002\nTRAILER,9\n"),
        Err(vec![
            "line 4: a trailer whose count is not the 2 member ids above it: the list may have \
             been cut short; export it again"
                .to_string()
        ])
    );
    assert_eq!(
        listed_ids("1001\nEOF\n1002\nEOF\nTOTAL,3\n"),
        Err(vec![
            "line 2: a trailer's row (as a core's export ends), not on the last line".to_string(),
            "line 4: a trailer's row (as a core's export ends), not on the last line".to_string(),
        ])
    );
    // a list of something else than member ids
    assert_eq!(
        listed_ids("Account Number,Name\n55501,Ada\n"),
        Err(vec![
            "line 1: the first column is \"Account Number\" (account_numbers), not the member \
             id: a force-change list's first column holds the member ids"
                .to_string()
        ])
    );
    assert_eq!(
        listed_ids("mobile_phone\n5551234567\n").unwrap_err()[0],
        "line 1: the first column is \"mobile_phone\" (mobile_phone), not the member id: a \
         force-change list's first column holds the member ids"
    );
    // a core's tab-, semicolon- or pipe-delimited export: its first column, header and all
    // (before, `1002;Ada` was taken for an id, which no member has)
    assert_eq!(
        listed_ids("member_id\tname\n1001\tAda\n1002;Ada\n1003|Ada\n"),
        Ok(vec!["1001".into(), "1002".into(), "1003".into()]),
    );
    // lines ended as Windows and Excel for Mac end them; a bad line's number counts them
    assert_eq!(
        listed_ids("member_id\r\n1001\r\n\r\n1002\r1003\r"),
        Ok(vec!["1001".into(), "1002".into(), "1003".into()]),
    );
    let bad = listed_ids("1001\r\n\r\n1002\r=1\r").unwrap_err();
    assert!(bad[0].starts_with("line 4: "), "{bad:?}");
    // read as the admin command reads a file, lossily: a name in Windows-1252 after the id
    // is no matter, an id that was not UTF-8 is named
    let file = String::from_utf8_lossy(b"1001,Jos\xE9\n10\xE902,Ana\n");
    assert_eq!(
        listed_ids(&file),
        Err(vec![
            "line 2: the member id is not UTF-8 text (save the list as UTF-8)".to_string()
        ])
    );
    let file = String::from_utf8_lossy(b"1001,Jos\xE9\n");
    assert_eq!(listed_ids(&file), Ok(vec!["1001".to_string()]));
    assert_eq!(listed_ids(""), Ok(vec![]));
    let long = "9".repeat(crate::member::MEMBER_ID_MAX_CHARS + 1);
    let bad = listed_ids(&format!("1001\n{long}\n1002\nA\u{7}B\n1003.0\n=1+2\n")).unwrap_err();
    assert_eq!(bad.len(), 4, "{bad:?}");
    assert!(bad[0].starts_with("line 2: not a member id"), "{bad:?}");
    assert!(bad[1].starts_with("line 4: "), "{bad:?}");
    // pandas' 1003.0 is no member's id, nor the 1003 it was: said, not guessed at
    assert!(
        bad[2].starts_with("line 5: member_id written as a decimal number"),
        "{bad:?}"
    );
    assert!(
        bad[3].starts_with("line 6: member_id begins with ="),
        "{bad:?}"
    );
}

/// Wrong keypad answers in the store as the dialog's calls leave them.
fn answer_wrong(f: &Fixture, member_id: &str, n: u32, s: &Settings, at: DateTime<Utc>) {
    let txn = f.store.begin_write().unwrap();
    {
        let mut attempts = txn.open_table(tables::ATTEMPTS).unwrap();
        let mut c = read_counter(&attempts, member_id, ANSWER_ATTEMPTS).unwrap();
        for _ in 0..n {
            c = c.wrong(&s.answer_lockout, at);
        }
        write_counter(&mut attempts, member_id, ANSWER_ATTEMPTS, c).unwrap();
    }
    txn.commit().unwrap();
}

/// A member locked out of questions by wrong answers is shown (`member show`), counted
/// (`vault status`) and unlocked as one locked by wrong PINs is: an agent's unlock clears
/// both runs, and says which there were.
#[test]
fn an_unlock_clears_wrong_answers_as_it_clears_wrong_pins() {
    let f = fixture();
    let s = settings(VaultMode::Hashed);
    assert_eq!(s.answer_lockout.max_wrong, 10, "lockout.max_wrong_answers");
    answer_wrong(&f, "Q1", 10, &s, t(0));
    answer_wrong(&f, "Q2", 9, &s, t(0));
    let q1 = f.vault.answer_status("Q1", &s, t(1)).unwrap();
    assert_eq!(
        q1,
        AnswerStatus {
            wrong_answers: 10,
            locked: true,
            locked_until: Some(t(1440)),
        }
    );
    assert_eq!(
        f.vault.answer_status("Q2", &s, t(1)).unwrap(),
        AnswerStatus {
            wrong_answers: 9,
            locked: false,
            locked_until: None,
        }
    );
    // a PIN lock is another matter: Q1's PIN standing is clear
    assert!(!f.vault.pin_status("Q1", &s, t(1)).unwrap().locked);
    let status = f.vault.status(&s, t(1)).unwrap();
    assert_eq!((status.locked_members, status.locked_for_questions), (0, 1));
    // a run of answers is no forced PIN change, though neither member has a PIN record
    assert_eq!(status.force_change_pending, 0);
    // the lock ends by itself after lock_minutes
    assert_eq!(f.vault.status(&s, t(1440)).unwrap().locked_for_questions, 0);
    assert!(!f.vault.answer_status("Q1", &s, t(1440)).unwrap().locked);
    let answers_only = Cleared {
        pins: false,
        answers: true,
    };
    assert_eq!(f.vault.unlock("Q1").unwrap(), answers_only);
    assert_eq!(
        f.vault.answer_status("Q1", &s, t(1)).unwrap().wrong_answers,
        0
    );
    assert_eq!(f.vault.status(&s, t(1)).unwrap().locked_for_questions, 0);
    // both runs at once; Q2's wrong PIN and answers short of a lock are cleared as well
    f.vault.store_pin_now("Q2", "5902", true, &s, t(0)).unwrap();
    f.vault.check_pin_now("Q2", "0000", &s, t(1)).unwrap();
    let both = Cleared {
        pins: true,
        answers: true,
    };
    assert_eq!(f.vault.unlock("Q2").unwrap(), both);
    assert_eq!(f.vault.unlock("Q2").unwrap(), Cleared::default());
    // the words the audit log and the CLI use
    for (c, words, any) in [
        (both, "wrong-PIN and wrong-answer counts cleared", true),
        (
            Cleared {
                pins: true,
                answers: false,
            },
            "wrong-PIN count cleared",
            true,
        ),
        (answers_only, "wrong-answer count cleared", true),
        (Cleared::default(), "nothing to clear", false),
    ] {
        assert_eq!((c.describe(), c.any()), (words, any), "{c:?}");
    }
}

/// What a refused PIN field looks like, told apart as the import's warnings need: a
/// password hash (crypt's `$id$`, LDAP's `{SCHEME}`, a hex digest), or a number as a
/// spreadsheet writes one back.
#[test]
fn a_refused_pin_is_told_as_a_hash_or_a_spreadsheets_number() {
    use super::import::{written_as_hash, written_as_number};
    let sixteen = "a".repeat(16);
    let hashes = [
        (
            "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            true,
        ),
        ("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", true),
        (&format!("$2b${sixteen}a"), true),
        (&format!("$2b${sixteen}"), false),
        (&format!("x2b${sixteen}aaaa"), false),
        (&format!("$$2b{sixteen}aaaa"), false),
        (&format!("$2!b${sixteen}aaaa"), false),
        (&format!("${sixteen}{sixteen}"), false),
        ("{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", true),
        ("{S}x", true),
        ("{}abc", false),
        ("{S!A}abc", false),
        ("SSHA}abc", false),
        ("{SSHA abc", false),
        ("5f4dcc3b5aa765d61d8327deb882cf99", true),
        ("5f4dcc3b5aa765d61d8327deb882cf9", false),
        ("5f4dcc3b5aa765d61d8327deb882cf9g", false),
        ("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", true),
        (&"ab".repeat(32), true),
        (&"ab".repeat(64), true),
        (&"ab".repeat(48), false),
        ("1234", false),
        ("12a4", false),
    ];
    for (field, hash) in hashes {
        assert_eq!(written_as_hash(field.as_bytes()), hash, "{field}");
    }
    let numbers = [
        ("4321.0", true),
        ("4321.", true),
        ("4.3E+03", true),
        ("4.3e-3", true),
        ("43E2", true),
        ("4321", false),
        (".5", false),
        ("4.3E", false),
        ("4.3.2", false),
        ("E5", false),
        ("12a.0", false),
        ("4.3E+", false),
        ("", false),
    ];
    for (field, number) in numbers {
        assert_eq!(written_as_number(field.as_bytes()), number, "{field}");
    }
}
