use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::core::{CoreAdapter, EmbeddedCore, IdentifierKind};
use crate::enroll::lines::NotCsv;
use crate::enroll::progress::Silent;
use crate::store::tables;

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<Store>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("state")).unwrap());
        Fixture { dir, store }
    }

    fn file(&self, name: &str, body: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    }

    fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    /// Enroll the file at `path`, incrementally.
    fn enroll_file(&self, path: &Path) -> Result<Report, EnrollError> {
        let options = options(Mode::Incremental);
        run(&self.store, path, &self.outbox(), &options, "test", &Silent)
    }

    fn enroll_with(
        &self,
        name: &str,
        body: &str,
        mode: Mode,
        dry_run: bool,
    ) -> Result<Report, EnrollError> {
        let path = self.file(name, body.as_bytes());
        let options = Options {
            dry_run,
            ..options(mode)
        };
        run(
            &self.store,
            &path,
            &self.outbox(),
            &options,
            "test",
            &Silent,
        )
    }

    /// Run `path` staged, however few rows change, in `slices`.
    fn staged(
        &self,
        path: &Path,
        options: &Options,
        progress: &dyn Progress,
        slices: staged::Slices,
    ) -> Result<Report, EnrollError> {
        let outbox = self.outbox();
        run_with(
            &self.store,
            path,
            &outbox,
            options,
            "test",
            progress,
            WHOLE_ONLY,
            slices,
        )
    }

    /// The file's results, once the summary's counts are found to agree with them.
    fn enroll(&self, body: &str) -> Vec<(String, String, String)> {
        let report = self
            .enroll_with("members.csv", body, Mode::Incremental, false)
            .unwrap();
        let got = self.results(&report);
        let (mut results, mut reasons) = (BTreeMap::new(), BTreeMap::new());
        for (_, result, reason) in &got {
            *results.entry(result.clone()).or_insert(0) += 1;
            if !reason.is_empty() {
                *reasons.entry(reason.clone()).or_insert(0) += 1;
            }
        }
        let summary = &report.summary;
        assert_eq!((&summary.results, &summary.reasons), (&results, &reasons));
        assert_eq!(summary.rows, got.len() as u64);
        got
    }

    /// (member_id, result, reason) of every row of the results file.
    fn results(&self, report: &Report) -> Vec<(String, String, String)> {
        let mut reader = csv::Reader::from_path(&report.summary.results_file).unwrap();
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[1].to_string(), r[2].to_string(), r[3].to_string())
            })
            .collect()
    }

    fn enrolled(&self) -> Vec<String> {
        let txn = self.store.begin_write().unwrap();
        let mut ids = embedded::Directory::open(&txn).unwrap().all_ids().unwrap();
        ids.sort();
        ids
    }

    fn by_phone(&self, e164: &str) -> Vec<String> {
        let core = EmbeddedCore::new(self.store.clone(), Region::default());
        core.phone_matches(e164)
            .unwrap()
            .into_iter()
            .map(|m| m.member_id)
            .collect()
    }
}

const HEADER: &str = "member_id,action,mobile_phone,phone_type,other_phones,fraud_flag,profile_changed_at,dob,first_name\n";

fn row(id: &str, phone: &str) -> String {
    format!("{id},,{phone},mobile,,n,2020-01-01,1980-05-17,Ana\n")
}

/// `count` rows, members M00, M01, ... on numbers (202) 555-XXNN, XX = `exchange`.
fn members(count: u32, exchange: &str) -> String {
    (0..count)
        .map(|n| row(&format!("M{n:02}"), &format!("202555{exchange}{n:02}")))
        .collect()
}

/// A run in `mode` with the defaults, and no limit on full mode's removals.
fn options(mode: Mode) -> Options {
    Options {
        mode,
        dry_run: false,
        region_code: "US".into(),
        recent_change_days: 30,
        slash_dates: None,
        encoding: lines::Encoding::Utf8,
        separator: lines::Separator::Comma,
        max_removed_percent: 100,
        min_free_mb: 0,
        forget_removed: true,
        asked_columns: Vec::new(),
    }
}

/// Never deciding against a snapshot: every run is staged.
const WHOLE_ONLY: PreviewLimits = PreviewLimits {
    max_rows: 0,
    min_seen: 0,
    one_in: 1,
};

/// A staged run in the thinnest slices there are.
const THIN_SLICES: staged::Slices = staged::Slices {
    rows: 1,
    copied: 1,
    buckets: 1,
    pause: std::time::Duration::ZERO,
};

fn triple(id: &str, result: &str, reason: &str) -> (String, String, String) {
    (id.to_string(), result.to_string(), reason.to_string())
}

#[test]
fn every_reason_in_its_order_of_precedence() {
    let f = Fixture::new();
    let recent = (Utc::now() - chrono::Duration::days(3)).date_naive();
    let body = format!(
        "{HEADER}\
         M01,,(202) 555-0101,mobile,,n,2020-01-01,1980-05-17,Ana\n\
         M02,,202-555-0102,mobile,,n,2020-01-01,05/17/1980,Ana\n\
         M03,,202-555-0103,mobile,,n,2020-01-01,1980-05-17\n\
         M01,,202-555-0104,mobile,,n,2020-01-01,1980-05-17,Ana\n\
         M04,,,mobile,,y,2020-01-01,1980-05-17,Ana\n\
         M05,,202-555-CALL,landline,,y,2020-01-01,1980-05-17,Ana\n\
         M06,,800-555-0106,mobile,,n,2020-01-01,1980-05-17,Ana\n\
         M07,,202-555-0107,landline,,y,2020-01-01,1980-05-17,Ana\n\
         M08,,+44 20 7946 0958,unknown,,n,2020-01-01,1980-05-17,Ana\n\
         M09,,202-555-0109,mobile,,yes,{recent},1980-05-17,Ana\n\
         M10,,202-555-0110,mobile,,n,{recent},1980-05-17,Ana\n\
         M11,,202-555-0111,mobile,,n,2020-01-01,1980-05-17,Ana\n\
         M12,,+12025550111,mobile,,n,2020-01-01,1980-05-17,Ana\n\
         M13,delete,,,,,,,\n\
         M14,,202-555-0114,mobile,,n,2020-01-01,1980-05-17,Ana\n"
    );
    let got = f.enroll(&body);
    let want = vec![
        triple("M01", "created", ""),
        triple("M02", "rejected", "malformed_row"),
        triple("M03", "rejected", "malformed_row"),
        triple("M01", "rejected", "duplicate_row"),
        triple("M04", "rejected", "missing_phone"),
        triple("M05", "rejected", "invalid_phone"),
        triple("M06", "rejected", "invalid_phone"),
        triple("M07", "rejected", "landline"),
        triple("M08", "rejected", "landline"),
        triple("M09", "rejected", "fraud_flag"),
        triple("M10", "rejected", "recent_change"),
        triple("M11", "rejected", "shared_phone"),
        triple("M12", "rejected", "shared_phone"),
        triple("M13", "rejected", "unknown_member"),
        triple("M14", "created", ""),
    ];
    assert_eq!(got, want);
    assert_eq!(f.enrolled(), vec!["M01".to_string(), "M14".to_string()]);
    assert_eq!(f.by_phone("+12025550101"), vec!["M01".to_string()]);
    assert!(
        f.by_phone("+12025550111").is_empty(),
        "a shared number identifies no one"
    );
}

#[test]
fn a_rerun_changes_nothing_and_says_so() {
    let f = Fixture::new();
    let body = format!(
        "{HEADER}{}{}M3,,bad,mobile,,n,2020-01-01,1980-05-17,Ana\n",
        row("M1", "2025550101"),
        row("M2", "2025550102")
    );
    assert_eq!(
        f.enroll(&body)[..2],
        [triple("M1", "created", ""), triple("M2", "created", "")]
    );
    let again = f.enroll(&body);
    assert_eq!(
        again,
        vec![
            triple("M1", "unchanged", ""),
            triple("M2", "unchanged", ""),
            triple("M3", "rejected", "invalid_phone")
        ]
    );
    let changed = body.replace(
        "M2,,2025550102,mobile,,n,2020-01-01,1980-05-17,Ana",
        "M2,,2025550102,mobile,,n,2020-01-01,1980-05-17,Anna",
    );
    assert_eq!(f.enroll(&changed)[1], triple("M2", "updated", ""));
}

#[test]
fn deletes_and_full_mode_remove_members() {
    let f = Fixture::new();
    f.enroll(&format!(
        "{HEADER}{}{}{}",
        row("A", "2025550101"),
        row("B", "2025550102"),
        row("C", "2025550103")
    ));
    let got = f.enroll(&format!("{HEADER}B,delete,,,,,,,\nZ,delete,,,,,,,\n"));
    assert_eq!(
        got,
        vec![
            triple("B", "deleted", ""),
            triple("Z", "rejected", "unknown_member")
        ]
    );
    assert_eq!(f.enrolled(), vec!["A".to_string(), "C".to_string()]);
    assert!(f.by_phone("+12025550102").is_empty());

    let report = f
        .enroll_with(
            "full.csv",
            &format!(
                "{HEADER}{}{}",
                row("A", "2025550101"),
                row("D", "2025550104")
            ),
            Mode::Full,
            false,
        )
        .unwrap();
    let got = f.results(&report);
    assert_eq!(
        got,
        vec![
            triple("A", "unchanged", ""),
            triple("D", "created", ""),
            triple("C", "deleted", "")
        ]
    );
    assert_eq!(report.summary.members_enrolled, 2);
    assert_eq!(f.enrolled(), vec!["A".to_string(), "D".to_string()]);
}

#[test]
fn a_number_shared_with_an_enrolled_member_identifies_neither() {
    let f = Fixture::new();
    f.enroll(&format!("{HEADER}{}", row("A", "2025550101")));
    assert_eq!(f.by_phone("+12025550101"), vec!["A".to_string()]);
    let body = format!("{HEADER}{}", row("B", "202.555.0101"));
    assert_eq!(
        f.enroll(&body),
        vec![triple("B", "rejected", "shared_phone")]
    );
    assert!(
        f.by_phone("+12025550101").is_empty(),
        "A no longer identified by the shared number"
    );
    assert_eq!(
        f.enrolled(),
        vec!["A".to_string()],
        "A stays a member, reachable by identifier"
    );
    // Idempotent: the same file again changes nothing.
    assert_eq!(
        f.enroll(&body),
        vec![triple("B", "rejected", "shared_phone")]
    );
    assert!(f.by_phone("+12025550101").is_empty());
    // In full mode A is not in the file, so it is removed and claims nothing: B may enroll.
    let report = f.enroll_with("full.csv", &body, Mode::Full, false).unwrap();
    assert_eq!(
        f.results(&report),
        vec![triple("B", "created", ""), triple("A", "deleted", "")]
    );
    assert_eq!(f.by_phone("+12025550101"), vec!["B".to_string()]);
}

/// A number a row lists among its other phones is claimed as surely as its mobile: the
/// enrolled member whose verified mobile it is stops being identified by it, once. A number
/// that is only another phone of the enrolled member is not their mobile to withdraw.
#[test]
fn another_phone_in_the_file_withdraws_an_enrolled_mobile_once() {
    let f = Fixture::new();
    let withdrawn = |body: &str| {
        let report = f
            .enroll_with("m.csv", body, Mode::Incremental, false)
            .unwrap();
        (f.results(&report), report.summary.phones_withdrawn)
    };
    f.enroll(&format!("{HEADER}{}", row("A", "2025550101")));
    let c = format!("{HEADER}C,,2025550104,mobile,2025550101,n,2020-01-01,1980-05-17,Ana\n");
    assert_eq!(withdrawn(&c), (vec![triple("C", "created", "")], 1));
    assert!(f.by_phone("+12025550101").is_empty());
    assert_eq!(f.by_phone("+12025550104"), vec!["C".to_string()]);
    // the same file again: already withdrawn, not counted again
    assert_eq!(withdrawn(&c), (vec![triple("C", "unchanged", "")], 0));

    // D lists 0105 as another phone; E's mobile is 0105: D's own mobile stays D's
    f.enroll(&format!(
        "{HEADER}D,,2025550106,mobile,2025550105,n,2020-01-01,1980-05-17,Ana\n"
    ));
    let (_, count) = withdrawn(&format!("{HEADER}{}", row("E", "2025550105")));
    assert_eq!(count, 0);
    assert_eq!(f.by_phone("+12025550106"), vec!["D".to_string()]);
    let txn = f.store.begin_read().unwrap();
    let d = embedded::get(&txn, "D").unwrap().unwrap().member;
    assert!(d.withdrawn_phones.is_empty(), "{:?}", d.withdrawn_phones);
}

/// A's mobile is withdrawn because B claimed it too. C lists it among their other numbers
/// (a spouse's phone, say). A call from it must identify no one, not C: the number is
/// known to be shared. Found by the random file sequences' check.
#[tokio::test]
async fn a_withdrawn_number_identifies_no_one_who_lists_it_as_another_number() {
    let f = Fixture::new();
    f.enroll(&format!("{HEADER}{}", row("A", "2025550101")));
    f.enroll(&format!("{HEADER}{}", row("B", "2025550101")));
    f.enroll(&format!(
        "{HEADER}C,,2025550104,mobile,2025550101,n,2020-01-01,1980-05-17,Ana\n"
    ));
    assert_eq!(f.enrolled(), vec!["A".to_string(), "C".to_string()]);
    assert!(
        f.by_phone("+12025550101").is_empty(),
        "the shared number identifies no one"
    );
    let core = EmbeddedCore::new(f.store.clone(), Region::default());
    let keyed = core
        .find_by_identifier(IdentifierKind::Phone, "2025550101")
        .await
        .unwrap();
    assert!(keyed.is_empty(), "nor when keyed: {keyed:?}");
    // C's own mobile still identifies C
    assert_eq!(f.by_phone("+12025550104"), vec!["C".to_string()]);
}

#[test]
fn a_member_whose_row_now_fails_a_check_is_no_longer_enrolled() {
    let f = Fixture::new();
    // each reason keeps its own detail before the removal's
    for (fields, reason, detail) in [
        (
            "mobile,,y",
            "fraud_flag",
            "fraud_flag is set; was enrolled, removed",
        ),
        (
            "landline,,n",
            "landline",
            "phone_type is landline; was enrolled, removed",
        ),
    ] {
        f.enroll(&format!("{HEADER}{}", row("A", "2025550101")));
        assert_eq!(f.enrolled(), ["A"]);
        let body = format!("{HEADER}A,,2025550101,{fields},2020-01-01,1980-05-17,Ana\n");
        let report = f
            .enroll_with("m.csv", &body, Mode::Incremental, false)
            .unwrap();
        let mut reader = csv::Reader::from_path(&report.summary.results_file).unwrap();
        let r = reader.records().next().unwrap().unwrap();
        assert_eq!((&r[2], &r[3], &r[4]), ("rejected", reason, detail));
        assert!(f.enrolled().is_empty());
    }
    // A malformed row says nothing reliable, so it leaves the member as it was.
    f.enroll(&format!("{HEADER}{}", row("A", "2025550101")));
    f.enroll(&format!(
        "{HEADER}A,,2025550101,mobile,,n,2020-01-01,17/05/1980,Ana\n"
    ));
    assert_eq!(f.enrolled(), vec!["A".to_string()]);
}

#[test]
fn a_dry_run_writes_results_and_changes_nothing() {
    let f = Fixture::new();
    let report = f
        .enroll_with(
            "m.csv",
            &format!("{HEADER}{}", row("A", "2025550101")),
            Mode::Incremental,
            true,
        )
        .unwrap();
    assert!(report.summary.dry_run);
    assert_eq!(f.results(&report), vec![triple("A", "created", "")]);
    assert!(f.enrolled().is_empty());
    let txn = f.store.begin_read().unwrap();
    let mut out = Vec::new();
    crate::audit::export(&txn, None, &mut out).unwrap();
    assert!(out.is_empty(), "a dry run leaves no trace in the store");
}

#[test]
fn a_file_with_a_fatal_problem_half_way_applies_nothing() {
    let f = Fixture::new();
    let mut body = format!("{HEADER}{}", row("A", "2025550101")).into_bytes();
    body.extend_from_slice(b"B,,2025550102,mobile,,n,2020-01-01,1980-05-17,Ana\xff\n");
    body.extend_from_slice(row("C", "2025550103").as_bytes());
    let path = f.file("bad.csv", &body);
    let options = options(Mode::Incremental);
    let err = run(&f.store, &path, &f.outbox(), &options, "test", &Silent).unwrap_err();
    assert!(matches!(err, EnrollError::NotUtf8 { line: 3, .. }), "{err}");
    // and it says how to mend it: Windows' own encoding is what a spreadsheet often writes
    assert!(err.to_string().contains("CSV UTF-8"), "{err}");
    assert!(f.enrolled().is_empty());
    assert!(!f.outbox().join("bad.results.csv").exists());
}

/// A file of `header`, then a row a member: its id, a phone of its own, and the rest of
/// the row as `names` writes it (in whatever encoding), each line ended by `end`.
fn names_file<'a>(
    header: &str,
    rows: impl Iterator<Item = (&'a str, &'a [u8])>,
    end: &[u8],
) -> Vec<u8> {
    let mut body = header.as_bytes().to_vec();
    for (n, (id, names)) in rows.enumerate() {
        body.extend_from_slice(format!("{id},20255501{n:02},").as_bytes());
        body.extend_from_slice(names);
        body.extend_from_slice(end);
    }
    body
}

/// The error of a file read with the defaults (UTF-8) that is not UTF-8 from its line 2 on,
/// once nothing of it is found enrolled.
fn refused_at_line_2(f: &Fixture, path: &Path) -> String {
    let defaults = options(Mode::Incremental);
    let err = run(&f.store, path, &f.outbox(), &defaults, "test", &Silent).unwrap_err();
    assert!(matches!(err, EnrollError::NotUtf8 { line: 2, .. }), "{err}");
    assert!(f.enrolled().is_empty());
    err.to_string()
}

/// `[enroll] encoding = "windows-1252"`: a file Excel saved as "CSV (Comma delimited)" (or
/// a core exported as "ANSI") reads with its letters, and a line in it that is UTF-8 still
/// reads as UTF-8. Each row's name as enrolled, by how the file wrote it.
#[test]
fn a_windows_1252_file_reads_when_the_setting_says_so_and_utf_8_lines_stay_utf_8() {
    let f = Fixture::new();
    let header = "member_id,mobile_phone,first_name,last_name\n";
    let rows: [(&str, &[u8], &str); 6] = [
        // José Muñoz, as Windows-1252 writes é and ñ
        ("A", b"Jos\xE9,Mu\xF1oz", "José Muñoz"),
        // ’ (a typographic apostrophe, as Word and Excel put in) and Zoë
        ("B", b"Zo\xEB,O\x92Brien", "Zoë O\u{2019}Brien"),
        // the same names written as UTF-8
        ("C", "José,Muñoz".as_bytes(), "José Muñoz"),
        ("D", "Zoë,O\u{2019}Brien".as_bytes(), "Zoë O\u{2019}Brien"),
        // ASCII is the same in both
        ("E", b"Ana,Smith", "Ana Smith"),
        // a quoted field with a comma, the quote and the comma being ASCII in both
        (
            "F",
            b"\"Fran\xE7ois, Jr.\",L\xE9vesque",
            "François, Jr. Lévesque",
        ),
    ];
    let names = rows.iter().map(|(id, names, _)| (*id, *names));
    let path = f.file("ansi.csv", &names_file(header, names, b"\r\n"));

    // unset: refused whole, saying how to mend it either way
    let err = refused_at_line_2(&f, &path);
    assert!(
        err.contains("CSV UTF-8") && err.contains("[enroll] encoding = \"windows-1252\""),
        "{err}"
    );

    let options = Options {
        encoding: lines::Encoding::Windows1252,
        ..options(Mode::Incremental)
    };
    let report = run(&f.store, &path, &f.outbox(), &options, "test", &Silent).unwrap();
    assert_eq!(report.summary.rows, rows.len() as u64);
    // A, B and F; and the admin is told, in the summary file too
    assert_eq!(report.summary.rows_not_utf8, 3);
    assert_eq!(
        report.summary.not_utf8_line().as_deref(),
        Some(
            "rows read as Windows-1252, not being UTF-8: 3 of 6 (check a few of their names \
             in member show)"
        )
    );
    let summary = std::fs::read_to_string(f.outbox().join("ansi.summary.json")).unwrap();
    let written: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(written["encoding"], "windows-1252", "{summary}");
    assert_eq!(written["rows_not_utf8"], 3, "{summary}");
    let txn = f.store.begin_read().unwrap();
    for (id, _, want) in rows {
        let member = embedded::get(&txn, id).unwrap().unwrap();
        let name = format!(
            "{} {}",
            member.member.first_name.unwrap_or_default(),
            member.member.last_name.unwrap_or_default()
        );
        assert_eq!(name, want, "{id}");
    }
}

/// The same, for the header: a column name in Windows-1252 is read, and the file's own
/// checks (the separator line, the header's names) see it as text.
#[test]
fn a_windows_1252_header_reads_too() {
    let f = Fixture::new();
    // a column a person added and named in their language: reported as unknown, as written
    let body = b"sep=,\nmember_id,mobile_phone,pr\xE9nom\nA,2025550101,Andr\xE9\n";
    let path = f.file("ansi-header.csv", body);
    let options = Options {
        encoding: lines::Encoding::Windows1252,
        ..options(Mode::Incremental)
    };
    let report = run(&f.store, &path, &f.outbox(), &options, "test", &Silent).unwrap();
    assert_eq!(report.summary.unknown_columns, vec!["prénom".to_string()]);
    assert_eq!(f.enrolled(), vec!["A".to_string()]);
}

/// `[enroll] encoding = "macintosh"`: a file Excel for Mac saved as "Comma Separated
/// Values" (Mac Roman) reads with its letters, where Windows-1252 would read other ones
/// (Mac Roman's é is Windows-1252's Ž), and the admin is told which encoding the rows not
/// UTF-8 were read in. A summary from a service before Mac Roman was read (its count named
/// `rows_windows_1252`, no `encoding`) reads as Windows-1252's.
#[test]
fn a_mac_roman_file_reads_when_the_setting_says_so() {
    let f = Fixture::new();
    let header = "member_id,mobile_phone,first_name,last_name\r";
    // José Muñoz, Zoë O’Brien and François Lévesque as Mac Roman writes them, and the
    // names Windows-1252 reads in the same bytes; then one UTF-8 line, and ASCII
    let rows: [(&str, &[u8], &str, &str); 5] = [
        ("A", b"Jos\x8E,Mu\x96oz", "José Muñoz", "JosŽ Mu–oz"),
        (
            "B",
            b"Zo\x91,O\xD5Brien",
            "Zoë O\u{2019}Brien",
            "Zo\u{2018} OÕBrien",
        ),
        (
            "C",
            b"Fran\x8Dois,L\x8Evesque",
            "François Lévesque",
            "Fran\u{8D}ois LŽvesque",
        ),
        ("D", "Zoë,Muñoz".as_bytes(), "Zoë Muñoz", "Zoë Muñoz"),
        ("E", b"Ana,Smith", "Ana Smith", "Ana Smith"),
    ];
    // Excel for Mac's "CSV (Macintosh)" ends its lines with a lone CR
    let names = rows.iter().map(|(id, names, _, _)| (*id, *names));
    let body = names_file(header, names, b"\r");

    // unset: refused whole, the error naming the setting for a Mac's file
    let err = refused_at_line_2(&f, &f.file("mac.csv", &body));
    assert!(err.contains("encoding = \"macintosh\""), "{err}");

    let mut summaries = vec![];
    for (encoding, label) in [
        (lines::Encoding::Macintosh, "Mac Roman"),
        (lines::Encoding::Windows1252, "Windows-1252"),
    ] {
        let f = Fixture::new();
        let path = f.file("mac.csv", &body);
        let options = Options {
            encoding,
            ..options(Mode::Incremental)
        };
        let report = run(&f.store, &path, &f.outbox(), &options, "test", &Silent).unwrap();
        assert_eq!(report.summary.encoding, encoding);
        assert_eq!(report.summary.rows_not_utf8, 3, "{encoding:?}");
        assert_eq!(
            report.summary.not_utf8_line(),
            Some(format!(
                "rows read as {label}, not being UTF-8: 3 of 5 (check a few of their names in \
                 member show)"
            ))
        );
        let txn = f.store.begin_read().unwrap();
        for (id, _, mac, windows) in rows {
            let want = match encoding {
                lines::Encoding::Macintosh => mac,
                _ => windows,
            };
            let Some(member) = embedded::get(&txn, id).unwrap() else {
                // Mac Roman's ç is a control character in Windows-1252: no name holds one
                assert!(
                    want.contains('\u{8D}'),
                    "{id} read as {label}: not enrolled"
                );
                continue;
            };
            let name = format!(
                "{} {}",
                member.member.first_name.unwrap_or_default(),
                member.member.last_name.unwrap_or_default()
            );
            assert_eq!(name, want, "{id} read as {label}");
        }
        summaries.push(std::fs::read_to_string(f.outbox().join("mac.summary.json")).unwrap());
    }

    // an older service's summary, read by this CLI through the admin socket
    let mut older: serde_json::Value = serde_json::from_str(&summaries[0]).unwrap();
    let fields = older.as_object_mut().unwrap();
    fields.remove("encoding");
    let count = fields.remove("rows_not_utf8").unwrap();
    fields.insert("rows_windows_1252".to_string(), count);
    let older: Summary = serde_json::from_value(older).unwrap();
    assert_eq!(older.rows_not_utf8, 3);
    assert!(
        (older.not_utf8_line().unwrap()).starts_with("rows read as Windows-1252, not being UTF-8"),
        "{older:?}"
    );
}

/// `[enroll] separator`: a core's tab-, pipe- or semicolon-delimited export reads as CSV
/// does, quotes, blank rows, Excel's separator line and the checks for a quote never closed
/// included, with the separator named; and a file whose header has another separator than
/// the one named is refused, saying which it has.
#[test]
fn a_file_with_another_separator_reads_when_named_and_is_refused_otherwise() {
    use lines::Separator::{Comma, Pipe, Semicolon, Tab};
    let f = Fixture::new();
    let read = |name: &str, body: &str, separator: lines::Separator| {
        let path = f.file(name, body.as_bytes());
        let options = Options {
            separator,
            dry_run: true,
            ..options(Mode::Incremental)
        };
        run(&f.store, &path, &f.outbox(), &options, "test", &Silent)
    };
    // tabs: a quoted field holding a tab and a comma, a blank row, a list separated by `;`
    let report = read(
        "tabs.txt",
        "member_id\tmobile_phone\tfirst_name\tother_phones\r\n\
         A\t2025550101\t\"Ana\tMaria, Jr.\"\t2025550111;2025550112\r\n\
         \t\t\t\r\n\
         B\tnot a phone\tBo\t\r\n",
        Tab,
    )
    .unwrap();
    assert_eq!(
        f.results(&report),
        [
            triple("A", "created", ""),
            triple("B", "rejected", "invalid_phone")
        ]
    );
    // UTF-8 throughout: nothing said of Windows-1252
    assert_eq!(report.summary.rows_not_utf8, 0);
    assert_eq!(report.summary.not_utf8_line(), None);
    // pipes, after an Excel separator line naming them; the lines count from the file's first
    let report = read(
        "pipes.txt",
        "sep=|\nmember_id|mobile_phone\nA|2025550101\nB|2025550102|extra\nC|2025550103||\n",
        Pipe,
    )
    .unwrap();
    let results = std::fs::read_to_string(&report.summary.results_file).unwrap();
    // a field past the header's is a value out of place, unless it is empty (C's)
    assert!(
        results.contains("4,B,rejected,malformed_row,3 fields where the header has 2\n")
            && results.contains("5,C,created,,\n"),
        "{results}"
    );
    // semicolons: a short row whose field holds the separator suspects a quote never
    // closed, and its id is not shown
    let report = read(
        "semicolons.csv",
        "member_id;mobile_phone;first_name\nA;2025550101;Ana\n\"C;2025550103;Cy\n",
        Semicolon,
    )
    .unwrap();
    let results = std::fs::read_to_string(&report.summary.results_file).unwrap();
    assert!(
        results.contains(
            "3,,rejected,malformed_row,\"1 field where the header has 3: a quote opens a \
             field and is never closed"
        ),
        "{results}"
    );
    // ... and one that runs on over later rows is refused whole, as in CSV
    let e = read(
        "swallowed.csv",
        "member_id;mobile_phone\n\"A;2025550101\nB;2025550102\nC;2025550103\n",
        Semicolon,
    )
    .unwrap_err();
    assert!(
        matches!(e, EnrollError::UnclosedQuote { line: 2, .. }),
        "{e}"
    );
    // another separator than the one named: said, with what to set
    for (name, body, separator, said) in [
        (
            "commas.csv",
            "member_id,mobile_phone\nA,2025550101\n",
            Tab,
            "separated by ',', and the file was read with '\\t' between them: name its \
             separator in [enroll] separator = \",\"",
        ),
        (
            "tabs.csv",
            "member_id\tmobile_phone\nA\t2025550101\n",
            Semicolon,
            "separated by '\\t', and the file was read with ';' between them: name its \
             separator in [enroll] separator = \"tab\" (for this file alone, `callvault \
             enroll --separator tab`)",
        ),
        (
            "sepline.csv",
            "sep=;\nmember_id;mobile_phone\n",
            Comma,
            "separated by ';', and the file was read with ','",
        ),
        (
            "sepx.csv",
            "sep=x\nmember_idxmobile_phone\n",
            Pipe,
            "separated by 'x', which callvault does not read",
        ),
    ] {
        let e = read(name, body, separator).unwrap_err();
        assert!(e.to_string().contains(said), "{name}: {e}");
    }
    assert!(f.enrolled().is_empty(), "dry runs only");
}

/// A file saved as UTF-16 (Excel's "Unicode Text", PowerShell 5's `>`) is known by its
/// byte-order mark; read as bytes, its header would read as no header at all
/// ([`a_utf_16_file_reads_as_its_utf_8_would`] reads it).
#[test]
fn a_file_saved_as_utf_16_is_known_by_its_byte_order_mark() {
    for (start, utf16) in [
        (&b"\xFF\xFEm\0"[..], true),
        (b"\xFE\xFF\0m", true),
        (b"\xEF\xBB\xBFmember_id", false),
        (b"member_id", false),
        (b"\xFF", false),
        (b"", false),
    ] {
        assert_eq!(
            crate::enroll::lines::opens_as_utf16(start),
            utf16,
            "{start:?}"
        );
    }
}

/// A file saved as UTF-16 reads as the same file in UTF-8 does, either byte order: Excel's
/// "Unicode Text" (tab-separated, CRLF) with the tab named, and PowerShell 5's `>` of
/// `ConvertTo-Csv` (commas, quoted fields). Names keep their letters, a refused row's line
/// is the line an editor shows, and a header with another separator is refused as in UTF-8.
#[test]
fn a_utf_16_file_reads_as_its_utf_8_would() {
    use crate::shared_tests::utf16;
    use lines::Separator::{Comma, Tab};
    let f = Fixture::new();
    let read = |name: &str, body: Vec<u8>, separator: lines::Separator| {
        let path = f.file(name, &body);
        let options = Options {
            separator,
            dry_run: true,
            ..options(Mode::Incremental)
        };
        run(&f.store, &path, &f.outbox(), &options, "test", &Silent)
    };
    let excel = "member_id\tmobile_phone\tfirst_name\tlast_name\r\n\
                 A\t2025550101\tJosé\tMuñoz\r\n\
                 B\tnot a phone\tZoë\tO\u{2019}Brien\r\n\
                 C\t2025550103\t李\t\u{1F600}\r\n";
    let powershell = "\"member_id\",\"mobile_phone\",\"first_name\"\r\n\
                      \"A\",\"2025550101\",\"José\"\r\n\
                      \"B\",\"not a phone\",\"Zoë\"\r\n\
                      \"C\",\"2025550103\",\"李\"\r\n";
    for (name, text, separator) in [("unicode.txt", excel, Tab), ("ps.csv", powershell, Comma)] {
        for little_endian in [true, false] {
            let report = read(name, utf16(text, little_endian), separator).unwrap();
            assert_eq!(
                f.results(&report),
                [
                    triple("A", "created", ""),
                    triple("B", "rejected", "invalid_phone"),
                    triple("C", "created", ""),
                ],
                "{name} {little_endian}"
            );
            let results = std::fs::read_to_string(&report.summary.results_file).unwrap();
            assert!(results.contains("\n3,B,rejected,"), "{results}");
            assert_eq!(report.summary.rows_not_utf8, 0);
        }
    }
    // applied: the names as written
    let path = f.file("apply.txt", &utf16(excel, true));
    let options = Options {
        separator: Tab,
        ..options(Mode::Incremental)
    };
    run(&f.store, &path, &f.outbox(), &options, "test", &Silent).unwrap();
    let txn = f.store.begin_read().unwrap();
    for (id, first, last) in [("A", "José", "Muñoz"), ("C", "李", "\u{1F600}")] {
        let member = embedded::get(&txn, id).unwrap().unwrap().member;
        assert_eq!(member.first_name.as_deref(), Some(first));
        assert_eq!(member.last_name.as_deref(), Some(last));
    }
    // Excel's tabs, read with the comma: the header says what to set
    let err = read("tabs.txt", utf16(excel, true), Comma).unwrap_err();
    assert!(err.to_string().contains("tab"), "{err}");
}

/// The start of a ZIP archive whose first entry is `name` (a local file header).
fn zip_opening(name: &str) -> Vec<u8> {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend([0u8; 22]);
    bytes.extend(u16::try_from(name.len()).unwrap().to_le_bytes());
    bytes.extend([0u8; 2]);
    bytes.extend(name.as_bytes());
    bytes.extend(b"\x00compressed bytes\n,\n");
    bytes
}

#[test]
fn a_workbook_or_an_archive_handed_over_as_csv_is_named_with_what_to_do() {
    let f = Fixture::new();
    let ole2 = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0member_id\n".to_vec();
    let gzip = b"\x1F\x8B\x08\x00\0\0\0\0\x00\x03member_id,\n".to_vec();
    // OpenPGP messages as GnuPG 2.2 writes them (their first bytes, then anything): to an
    // RSA key, to a Curve25519 key, to a passphrase (-c), signed (-s, compressed data),
    // and armored (-a) or clear-signed, whose text holds the CSV between PGP's lines
    let pgp = |start: &[u8]| [start, b"\x00\xFFmember_id\n"].concat();
    let pgp_said = "the file is an OpenPGP message (PGP or GnuPG: encrypted, or signed), not CSV \
                    text: decrypt it (gpg --decrypt FILE > NAME.csv) and hand over the \
                    CSV file";
    let openpgp = [
        ("rsa.pgp", pgp(b"\x85\x01\x0c\x03\x18\xd1")),
        ("ecc.pgp", pgp(b"\x84\x5e\x03\xa7\xd1\xb1")),
        ("passphrase.gpg", pgp(b"\x8c\x0d\x04\x09\x03\x02")),
        ("signed.gpg", pgp(b"\xa3\x01\x9b\xc0\xcb\xcc")),
        // the legacy format's 4-octet length, as older PGP versions wrote long packets
        ("pgp6.pgp", pgp(b"\x86\x00\x00\x01\x0c\x03")),
        // the current packet format (OpenPGP v6, Sequoia): 1-, 2- and 5-octet lengths
        ("v6.pgp", pgp(b"\xc1\x5e\x06\x15")),
        ("v6-long.pgp", pgp(b"\xc1\xc0\x10\x03\x00")),
        ("v6-5.pgp", pgp(b"\xc3\xff\0\0\x01\x00\x04")),
        (
            "members.csv.asc",
            b"-----BEGIN PGP MESSAGE-----\n\nhQEMAxjR\n".to_vec(),
        ),
        (
            "members.asc",
            b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nmember_id,mobile_phone\n"
                .to_vec(),
        ),
    ]
    .map(|(name, body)| (name, body, NotCsv::OpenPgp, pgp_said));
    for (name, body, kind, said) in [
        (
            "members.xlsx",
            zip_opening("[Content_Types].xml"),
            NotCsv::Workbook,
            "members.xlsx: the file is a spreadsheet workbook (.xlsx or .ods), not CSV text; in \
             the spreadsheet, save it as \"CSV UTF-8 (Comma delimited)\" and hand over that file",
        ),
        (
            "members.ods",
            zip_opening("mimetype"),
            NotCsv::Workbook,
            "members.ods: the file is a spreadsheet workbook",
        ),
        (
            "members.csv",
            zip_opening("xl/workbook.xml"),
            NotCsv::Workbook,
            "members.csv: the file is a spreadsheet workbook",
        ),
        (
            "members.xls",
            ole2,
            NotCsv::OldWorkbook,
            "members.xls: the file is an Excel 97-2003 workbook (.xls), not CSV text; in the \
             spreadsheet",
        ),
        (
            "members.zip",
            zip_opening("members.csv"),
            NotCsv::Zip,
            "members.zip: the file is a ZIP archive, not CSV text: unzip it and hand over the \
             CSV file inside",
        ),
        (
            "members.csv.gz",
            gzip,
            NotCsv::Gzip,
            "members.csv.gz: the file is gzip-compressed, not CSV text: decompress it (gunzip)",
        ),
    ]
    .into_iter()
    .chain(openpgp)
    {
        let path = f.file(name, &body);
        let err = f.enroll_file(&path).unwrap_err();
        assert!(
            matches!(err, EnrollError::NotCsv { kind: k, .. } if k == kind),
            "{name}: {err}"
        );
        // the OpenPGP cases say it all, without the file's name
        let said = match said.starts_with(name) {
            true => said.to_string(),
            false => format!("{name}: {said}"),
        };
        assert!(err.to_string().starts_with(&said), "{name}: {err}");
        assert!(f.enrolled().is_empty());
    }
    // a file that only opens with the letters of one is a CSV file
    for start in [
        &b"PK,member_id\n"[..],
        b"PK\x03",
        b"\x1F",
        b"member_id,mobile_phone\n",
        b"\xEF\xBB\xBFmember_id",
        b"",
        // a packet's first octet, then text: a header in Windows-1252 (Á, „, Œ, £)
        b"\xC1lvarez,member_id\n",
        b"\x84member_id\n",
        b"\x8Cmember_id\n",
        b"\xA3member_id\n",
        b"\x85\x01",
        b"-----BEGIN",
    ] {
        assert_eq!(NotCsv::of(start), None, "{start:?}");
    }
    // a ZIP archive cut short before its first name is an archive still
    assert_eq!(NotCsv::of(b"PK\x03\x04\0\0"), Some(NotCsv::Zip));
}

#[test]
fn a_quote_never_closed_stops_the_file_instead_of_losing_the_rows_it_swallows() {
    let rows = |ids: std::ops::Range<u32>| -> String {
        ids.map(|n| row(&format!("Q{n}"), &format!("20255501{n:02}")))
            .collect()
    };
    // a first name opened with a quote on line 4 (row Q2), and nothing to close it
    let open = |n: u32| format!("Q{n},,20255501{n:02},mobile,,n,2020-01-01,1980-05-17,\"Ana\n");
    let closed_later = format!(
        "{HEADER}{}{}{}Q9,,2025550109,mobile,,n,2020-01-01,1980-05-17,\"Ana, Jr\"\n{}",
        rows(0..2),
        open(2),
        rows(3..9),
        rows(10..12)
    );
    #[derive(Debug)]
    enum Want {
        /// Refused, naming the quote's first line and the last line it ran on to.
        Refused(u64, u64),
        /// Read, with this many members created.
        Created(u64),
    }
    let cases = [
        // to the end of the file: lines 5 to 11 are the quoted field's text
        (
            format!("{HEADER}{}{}{}", rows(0..2), open(2), rows(3..10)),
            Want::Refused(4, 11),
        ),
        // to the next quote, in row Q9's first name: the rows between vanish
        (closed_later, Want::Refused(4, 11)),
        // the same with CRLF line ends
        (
            format!("{HEADER}{}{}{}", rows(0..2), open(2), rows(3..6)).replace('\n', "\r\n"),
            Want::Refused(4, 7),
        ),
        // a value written on two lines is no such thing
        (
            format!(
                "{HEADER}{}Q7,,2025550107,mobile,,n,2020-01-01,1980-05-17,\"Ana,\nMaria\"\n{}",
                rows(0..2),
                rows(3..5)
            ),
            Want::Created(5),
        ),
        // the last row's own quote takes no row with it (its value ends at the file's end)
        (
            format!("{HEADER}{}{}", rows(0..3), open(3)),
            Want::Created(4),
        ),
    ];
    for (n, (body, want)) in cases.into_iter().enumerate() {
        let f = Fixture::new();
        let path = f.file(&format!("q{n}.csv"), body.as_bytes());
        let got = f.enroll_file(&path);
        match (got, want) {
            (Err(EnrollError::UnclosedQuote { line, last, .. }), Want::Refused(first, end)) => {
                assert_eq!((line, last), (first, end), "case {n}");
                assert!(f.enrolled().is_empty(), "case {n}: nothing is applied");
                assert!(!f.outbox().join(format!("q{n}.results.csv")).exists());
            }
            (Ok(report), Want::Created(created)) => {
                assert_eq!(
                    report.summary.results.get("created").copied(),
                    Some(created),
                    "case {n}"
                );
            }
            (got, want) => panic!(
                "case {n}: {:?} where {want:?} was wanted",
                got.map(|r| r.summary)
            ),
        }
    }
    let e = EnrollError::UnclosedQuote {
        file: "m.csv".into(),
        line: 4,
        last: 12,
    };
    assert_eq!(
        e.to_string(),
        "m.csv: line 4: a quote opens a field that runs on to line 12, so the rows between were \
         read as its text (a quote that is never closed); nothing was applied. Close the quote, \
         or write a quote that is part of a value twice (\"\")"
    );
    assert!(e.is_file_problem(), "an inbox file with it goes to failed/");
}

#[test]
fn file_level_problems_are_named() {
    let f = Fixture::new();
    // `above` lines of a report's title, then the header
    let titled = |above: usize| {
        format!(
            "Member export\n{}member_id,mobile_phone\nA,2025550101\n",
            "Run on 2026-12-07,,\n".repeat(above - 1)
        )
    };
    let (ten_below, eleven_below) = (titled(10), titled(11));
    let cases: [(&str, &str, &str); 21] = [
        ("empty.csv", "", "empty"),
        ("seponly.csv", "sep=,\r\n", "empty"),
        // a spreadsheet's empty rows are blank lines, whatever the separators
        ("blankrows.csv", ",,\n , \n\n", "empty"),
        // a report's title above the header: the header's line named
        (
            "title.csv",
            "Member export 2026-12-07,,\nmember_id,mobile_phone\nA,2025550101\n",
            "no header row: line 1 names no column callvault knows, and line 2 names the \
             columns: delete the lines above line 2 (a report's title, say)",
        ),
        // blank rows between are passed over; a header lacking a column is still the header
        (
            "titles.csv",
            "Members\n\nRun on,2026-12-07\n,,\nmember_id,first_name\nA,Ana\n",
            "line 1 names no column callvault knows, and line 5 names the columns",
        ),
        (
            "titlesemi.csv",
            "Members\nmember_id;mobile_phone\nA;2025550101\n",
            "line 1 names no column callvault knows, and line 2 names the columns",
        ),
        (
            "septitle.csv",
            "sep=,\nMembers\nmember_id,mobile_phone\n",
            "line 2 names no column callvault knows, and line 3 names the columns",
        ),
        // looked for in the 10 records after the first, no further
        (
            "tenbelow.csv",
            &ten_below,
            "line 1 names no column callvault knows, and line 11 names the columns",
        ),
        (
            "elevenbelow.csv",
            &eleven_below,
            "no header row: the first line must name the columns",
        ),
        // a column of PINs: refused whole, saying where PINs go
        (
            "withpins.csv",
            "member_id,mobile_phone,PIN Number\nA,2025550101,2749\n",
            "the header names a column of PINs (\"PIN Number\"): callvault takes no PIN from \
             an enrollment file (and did not apply this one); import them with `callvault pins \
             import FILE`",
        ),
        // a file of PINs dropped in the inbox: no "did you mean zip?" for its PIN column
        (
            "pinsonly.csv",
            "Member Number,PIN\n1001,2749\n",
            "a column of PINs (\"PIN\")",
        ),
        // data without a header is no title
        (
            "noheaders.csv",
            "100001,2025550101\n100002,2025550102\n100003,2025550103\n",
            "no header row: the first line must name the columns",
        ),
        // Excel's separator line naming another separator
        (
            "sepsemi.csv",
            "sep=;\nmember_id;mobile_phone\nA;2025550101\n",
            "separated by ';'",
        ),
        (
            "septab.csv",
            "SEP=\t\nmember_id\tmobile_phone\n",
            "separated by '\\t'",
        ),
        ("blank.csv", "\n\n", "empty"),
        ("noheader.csv", "100001,2025550101\n", "no header row"),
        (
            "semicolons.csv",
            "Member_ID;mobile_phone\nA;2025550101\n",
            "separated by ';', and the file was read with ',' between them: name its \
             separator in [enroll] separator = \";\"",
        ),
        (
            "tabs.csv",
            "member_id\tmobile_phone\nA\t2025550101\n",
            "separated by '\\t'",
        ),
        (
            "pipes.csv",
            "dob|member_id\n1990-01-01|A\n",
            "separated by '|'",
        ),
        // one column, no separator: no header, not a separator problem
        ("onecolumn.csv", "shoe_size;x\n44\n", "no header row"),
        (
            "nocolumn.csv",
            "member_id,first_name\nA,Ana\n",
            "missing required column mobile_phone",
        ),
    ];
    for (name, body, want) in cases {
        let err = f
            .enroll_with(name, body, Mode::Incremental, false)
            .unwrap_err();
        assert!(err.is_file_problem());
        assert!(err.to_string().contains(want), "{name}: {err}");
        assert!(
            err.to_string().contains(name),
            "{name}: the error names the file"
        );
    }
}

#[test]
fn the_summary_names_the_asked_facts_a_file_has_no_column_for() {
    let f = Fixture::new();
    let options = Options {
        asked_columns: ["dob", "ssn_last4", "place_of_birth"]
            .map(String::from)
            .to_vec(),
        ..options(Mode::Incremental)
    };
    let enroll = |name: &str, body: &str| {
        let path = f.file(name, body.as_bytes());
        run(&f.store, &path, &f.outbox(), &options, "test", &Silent)
            .unwrap()
            .summary
    };
    // HEADER has dob, and neither of the others
    let s = enroll("a.csv", &format!("{HEADER}{}", row("A1", "2025550101")));
    assert_eq!(s.asked_columns_missing, ["ssn_last4", "place_of_birth"]);
    assert_eq!(
        s.asked_missing_line().as_deref(),
        Some(
            "no column for member facts the profiles use: ssn_last4, place_of_birth (the \
             members this file creates or updates are without them)"
        )
    );
    // updated members count as much as new ones; the header's case does not matter
    let header = "MEMBER_ID,Mobile_Phone,DOB,ssn_last4,Place_Of_Birth\n";
    let s = enroll(
        "b.csv",
        &format!("{header}A1,2025550101,1980-05-17,1234,Zagreb\n"),
    );
    assert_eq!(s.results.get("updated"), Some(&1));
    assert!(s.asked_columns_missing.is_empty(), "{s:?}");
    let s = enroll("c.csv", "member_id,mobile_phone\nA1,2025550101\n");
    assert_eq!(
        s.asked_columns_missing,
        ["dob", "ssn_last4", "place_of_birth"]
    );
    // a file that creates and updates no one leaves no member short of an answer
    let s = enroll("d.csv", "member_id,action\nA1,delete\n");
    assert_eq!(s.results.get("deleted"), Some(&1), "{s:?}");
    assert!(s.asked_columns_missing.is_empty(), "{s:?}");
    assert_eq!(s.asked_missing_line(), None);
    let s = enroll("e.csv", "member_id,mobile_phone\nA2,not a number\n");
    assert!(s.asked_columns_missing.is_empty(), "{s:?}");
}

/// A file whose facts are a core's placeholders for "unknown" (which are not asked) says
/// so: the summary counts the members per fact, the results file names each one's, and
/// only for the facts the profiles use.
#[test]
fn the_summary_counts_members_whose_asked_facts_are_placeholders() {
    let f = Fixture::new();
    let options = Options {
        asked_columns: ["dob", "zip", "ssn_last4"].map(String::from).to_vec(),
        ..options(Mode::Incremental)
    };
    let enroll = |name: &str, body: &str| {
        let path = f.file(name, body.as_bytes());
        run(&f.store, &path, &f.outbox(), &options, "test", &Silent).unwrap()
    };
    let header = "member_id,mobile_phone,other_phones,dob,zip,ssn_last4,place_of_birth\n";
    let body = format!(
        "{header}\
         A1,2025550101,,1900-01-01,00000,1234,Zagreb\n\
         A2,2025550102,12,1980-05-17,55401,0000,UNKNOWN\n\
         A3,2025550103,,1981-06-18,55401,4321,unknown\n\
         A4,2025550104,,1899-12-30,,,\n\
         A5,not a number,,1900-01-01,,,\n\
         A6,2025550106,,1900-01-01,K1A 0B6,,\n"
    );
    let report = enroll("a.csv", &body);
    let s = &report.summary;
    assert_eq!(s.results.get("created"), Some(&5), "{s:?}");
    // A5 is rejected, so not counted; place_of_birth is no question the profiles ask
    let want: BTreeMap<String, u64> = [("dob", 3), ("ssn_last4", 1), ("zip", 1)]
        .map(|(c, n)| (c.to_string(), n))
        .into_iter()
        .collect();
    assert_eq!(s.placeholders, want);
    assert_eq!(
        s.placeholders_line().as_deref(),
        Some(
            "members not asked a fact their row holds as a placeholder for unknown \
             (1900-01-01, 00000, 0000, UNKNOWN...): dob 3, ssn_last4 1, zip 1 (the results \
             file's detail names them)"
        )
    );
    let mut reader = csv::Reader::from_path(&s.results_file).unwrap();
    let details: Vec<(String, String)> = (reader.records())
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_string(), r[4].to_string())
        })
        .collect();
    let detail = |id: &str| {
        (details.iter())
            .find(|(m, _)| m == id)
            .map(|(_, d)| d.as_str())
            .unwrap()
    };
    assert_eq!(
        detail("A1"),
        "not asked, a placeholder for unknown: dob, zip"
    );
    assert_eq!(
        detail("A2"),
        "1 other phone(s) not valid, ignored; not asked, a placeholder for unknown: ssn_last4"
    );
    assert_eq!(detail("A3"), "");
    assert_eq!(detail("A4"), "not asked, a placeholder for unknown: dob");
    // a Canadian postal code is no zip at all: said after the placeholders
    assert_eq!(
        detail("A6"),
        "not asked, a placeholder for unknown: dob; zip not kept: a Canadian postal code, \
         which a caller cannot key (the zip question is not asked)"
    );
    // the same file again: unchanged members still hold them
    let again = enroll("b.csv", &body);
    assert_eq!(again.summary.results.get("unchanged"), Some(&5));
    assert_eq!(again.summary.placeholders, want);
    // another core's facts come from the core: the file's are not judged
    let elsewhere = Options {
        asked_columns: Vec::new(),
        ..options.clone()
    };
    let path = f.file("c.csv", body.as_bytes());
    let s = run(&f.store, &path, &f.outbox(), &elsewhere, "test", &Silent)
        .unwrap()
        .summary;
    assert!(s.placeholders.is_empty(), "{s:?}");
    assert_eq!(s.placeholders_line(), None);
    let mut reader = csv::Reader::from_path(&s.results_file).unwrap();
    let a6 = (reader.records().map(Result::unwrap))
        .find(|r| &r[1] == "A6")
        .unwrap();
    assert_eq!(&a6[4], "");
}

/// What a spreadsheet leaves around its data: columns without a name, and rows of empty
/// cells below the data (cells formatted but left empty). Neither is reported, and the
/// blank rows are not rows; a row after them is read with its own line.
#[test]
fn a_spreadsheet_s_unnamed_columns_and_blank_rows_are_passed_over() {
    let f = Fixture::new();
    let body = "member_id,mobile_phone,,,\r\nA,2025550101,,,\r\n,,,,\r\n , ,,,\r\nB,2025550102,,,\r\n,,,,\r\n";
    let report = f
        .enroll_with("m.csv", body, Mode::Incremental, false)
        .unwrap();
    assert_eq!(report.summary.rows, 2);
    assert!(
        report.summary.unknown_columns.is_empty(),
        "{:?}",
        report.summary.unknown_columns
    );
    assert_eq!(
        f.results(&report),
        vec![triple("A", "created", ""), triple("B", "created", "")]
    );
    let results = std::fs::read_to_string(f.outbox().join("m.results.csv")).unwrap();
    assert!(results.contains("\n5,B,created"), "{results}");
}

#[test]
fn bom_crlf_quotes_and_unknown_columns_are_read() {
    let f = Fixture::new();
    let body = "\u{feff}Member_ID,MOBILE_PHONE,place_of_birth,shoe_size,account_numbers,Frist_Name\r\n\
                A,2025550101,\"Split,\r\nDalmatia \"\"old town\"\"\",44,11-22;33,Ana\r\n";
    let report = f
        .enroll_with("m.csv", body, Mode::Incremental, false)
        .unwrap();
    assert_eq!(f.results(&report), vec![triple("A", "created", "")]);
    assert_eq!(report.summary.unknown_columns, ["shoe_size", "Frist_Name"]);
    let meant = &report.summary.columns_meant;
    assert_eq!(meant.len(), 1, "{meant:?}");
    assert_eq!(meant["Frist_Name"], "first_name");
    // the summary file says it too
    let text = std::fs::read_to_string(f.outbox().join("m.summary.json")).unwrap();
    let written: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        written["columns_meant"],
        serde_json::json!({"Frist_Name": "first_name"})
    );
    // a summary from a service older than columns_meant (the CLI reads the running
    // service's through the admin socket) reads as none meant
    let mut older = written;
    older.as_object_mut().unwrap().remove("columns_meant");
    let older: Summary = serde_json::from_value(older).unwrap();
    assert!(older.columns_meant.is_empty());
    assert_eq!(older.unknown_columns, report.summary.unknown_columns);
    let txn = f.store.begin_read().unwrap();
    let m = embedded::get(&txn, "A").unwrap().unwrap().member;
    assert_eq!(
        m.place_of_birth.as_deref(),
        Some("Split,\r\nDalmatia \"old town\"")
    );
    assert_eq!(
        m.account_numbers,
        vec!["11-22".to_string(), "33".to_string()]
    );
}

#[test]
fn other_phones_that_are_no_phones_are_ignored_and_counted() {
    let f = Fixture::new();
    let report = f
        .enroll_with(
            "m.csv",
            "member_id,mobile_phone,other_phones\n\
             A,2025550101,2025550198;12;2025550197;abc\n\
             B,2025550102,2025550196\n",
            Mode::Incremental,
            false,
        )
        .unwrap();
    let mut reader = csv::Reader::from_path(&report.summary.results_file).unwrap();
    let details: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[2].to_string(), r[4].to_string())
        })
        .collect();
    assert_eq!(
        details,
        [
            (
                "created".into(),
                "2 other phone(s) not valid, ignored".into()
            ),
            ("created".into(), String::new()),
        ]
    );
    assert_eq!(f.by_phone("+12025550197"), vec!["A".to_string()]);
}

#[tokio::test]
async fn the_embedded_core_finds_members_by_every_identifier() {
    let f = Fixture::new();
    let body = "member_id,mobile_phone,other_phones,account_numbers,first_name\n\
                A,2025550101,2025550199,4400123,Ana\n\
                B,2025550102,2025550199,,Ivan\n";
    f.enroll_with("m.csv", body, Mode::Incremental, false)
        .unwrap();
    let core = EmbeddedCore::new(f.store.clone(), Region::default());
    let a = core.find_by_phone("+12025550101").await.unwrap();
    assert_eq!(a.len(), 1);
    assert!(a[0].verified, "the mobile is the verified number");
    assert_eq!(a[0].first_name.as_deref(), Some("Ana"));
    let shared_other = core.find_by_phone("+12025550199").await.unwrap();
    assert_eq!(
        shared_other.len(),
        2,
        "a number on two records identifies both: ask for an identifier"
    );
    assert!(shared_other.iter().all(|m| !m.verified));
    // identification by ANI names a member only when the number identifies exactly one
    let ana = core.member_by_phone("+12025550101").await.unwrap().unwrap();
    assert_eq!(
        (ana.member_id.as_str(), ana.account_numbers.clone()),
        ("A", vec!["4400123".to_string()])
    );
    for (number, why) in [
        ("+12025550199", "shared by two members"),
        ("+12025550100", "nobody's"),
    ] {
        assert_eq!(core.member_by_phone(number).await.unwrap(), None, "{why}");
    }
    // A newcomer claims Ana's mobile: the row is refused, and the number, now disputed, is
    // withdrawn from Ana, so it identifies no one (the index still lists her claim).
    let report = f
        .enroll_with(
            "c.csv",
            "member_id,mobile_phone\nC,2025550101\n",
            Mode::Incremental,
            false,
        )
        .unwrap();
    assert_eq!(report.summary.phones_withdrawn, 1);
    assert!(core.find_by_phone("+12025550101").await.unwrap().is_empty());
    assert_eq!(core.member_by_phone("+12025550101").await.unwrap(), None);
    let cases: HashMap<(IdentifierKind, &str), Vec<String>> = HashMap::from([
        ((IdentifierKind::MemberNumber, "A"), vec!["A".to_string()]),
        ((IdentifierKind::MemberNumber, "Q"), vec![]),
        (
            (IdentifierKind::AccountNumber, "4400123"),
            vec!["A".to_string()],
        ),
        (
            (IdentifierKind::Phone, "202 555 0102"),
            vec!["B".to_string()],
        ),
        ((IdentifierKind::Phone, "12"), vec![]),
    ]);
    for ((kind, value), want) in cases {
        assert_eq!(
            core.find_by_identifier(kind, value).await.unwrap(),
            want,
            "{kind:?} {value}"
        );
    }
    assert_eq!(
        core.member("B")
            .await
            .unwrap()
            .unwrap()
            .first_name
            .as_deref(),
        Some("Ivan")
    );
}

/// A reader that hands over one byte a read, so that every line end falls on a read's edge.
struct ByteAtATime<'a>(&'a [u8]);

impl std::io::Read for ByteAtATime<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((b, rest)), Some(out)) => {
                *out = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn lines_are_right_for_lf_crlf_cr_and_quoted_newlines() {
    let cases: [(&str, &[u64]); 12] = [
        ("a,b\nM1,1\nM2,2\n", &[1, 2, 3]),
        ("a,b\r\nM1,1\r\nM2,2\r\n", &[1, 2, 3]),
        ("a,b\r\nM1,\"x\r\ny\"\r\nM2,2", &[1, 2, 4]),
        ("a,b\n\"q\nq\",1\nM2,2\n", &[1, 2, 4]),
        // Excel's "CSV (Macintosh)": a CR alone ends each line
        ("a,b\rM1,1\rM2,2\r", &[1, 2, 3]),
        ("a,b\rM1,\"x\ry\"\rM2,2", &[1, 2, 4]),
        // a blank line of each kind, and the kinds mixed
        ("a,b\r\rM1,1\n\nM2,2\r\n\r\nM3,3", &[1, 3, 5, 7]),
        ("a,b\n\rM1,1", &[1, 3]),
        ("a,b\n\n\nM1,1", &[1, 4]),
        ("a,b\r\n\r\n\r\nM1,1", &[1, 4]),
        ("a,b\r\r\rM1,1", &[1, 4]),
        // a lone CR, then a blank CRLF line: the record starts at that CRLF's CR
        ("a,b\r\r\nM1,1", &[1, 3]),
    ];
    for (text, want) in cases {
        let by_reads: [Box<dyn std::io::Read>; 2] = [
            Box::new(text.as_bytes()),
            Box::new(ByteAtATime(text.as_bytes())),
        ];
        for reader in by_reads {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(lines::LineCounter::new(reader));
            let mut rec = csv::ByteRecord::new();
            let mut got = Vec::new();
            while r.read_byte_record(&mut rec).unwrap() {
                got.push(lines::line_of(&r, &rec));
            }
            assert_eq!(got, want, "{text:?}");
        }
    }
}

/// Everything a run leaves: each result file (all columns), the summaries' counts, and
/// every member with the numbers that identify them.
fn runs_through(
    limits: PreviewLimits,
    slices: staged::Slices,
    files: &[(&str, Mode)],
) -> (Vec<String>, u32) {
    let f = Fixture::new();
    let before = CHANGES_ONLY_RUNS.with(|n| n.get());
    let mut seen = Vec::new();
    for (n, (body, mode)) in files.iter().enumerate() {
        let path = f.file(&format!("f{n}.csv"), body.as_bytes());
        let options = options(*mode);
        let report = run_with(
            &f.store,
            &path,
            &f.outbox(),
            &options,
            "test",
            &Silent,
            limits,
            slices,
        )
        .unwrap();
        seen.push(std::fs::read_to_string(&report.summary.results_file).unwrap());
        let s = &report.summary;
        seen.push(format!(
            "{:?} {:?} withdrawn={} enrolled={}",
            s.results, s.reasons, s.phones_withdrawn, s.members_enrolled
        ));
        let txn = f.store.begin_read().unwrap();
        let mut claims: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in f.enrolled() {
            let m = embedded::get(&txn, &id).unwrap().unwrap().member;
            let phones: Vec<_> = m
                .all_phones()
                .map(|p| (p.to_string(), f.by_phone(p)))
                .collect();
            for p in m.all_phones() {
                claims.entry(p.to_string()).or_default().push(id.clone());
            }
            seen.push(format!("{m:?} {phones:?}"));
        }
        // A caller ID identifies a member (one match) only if that member is the one
        // enrolled member who claims the number. Several matches identify no one (the
        // caller keys an identifier).
        for (phone, claimants) in &claims {
            let found = f.by_phone(phone);
            assert!(
                found.len() != 1 || found == *claimants,
                "after file {n}: {phone} identifies {found:?}, claimed by {claimants:?}\n{files:#?}\n{}",
                claimants
                    .iter()
                    .map(|id| format!("{:?}", embedded::get(&txn, id).unwrap().unwrap().member))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    (seen, CHANGES_ONLY_RUNS.with(|n| n.get()) - before)
}

#[test]
fn applying_only_the_changing_rows_ends_exactly_as_applying_the_whole_file() {
    let files = [
        (
            format!(
                "{HEADER}{}{}{}{}{}{}{}A5,,2025550105,landline,,n,2020-01-01,1980-05-17,Ana\n\
                 A6,,2025550106,mobile,,y,2020-01-01,1980-05-17,Ana\n",
                row("A1", "2025550101"),
                row("A2", "2025550102"),
                row("A3", "2025550103"),
                row("A4", "2025550104"),
                row("A7", "2025550107"),
                row("A8", "2025550107"),
                row("A9", "2025550109"),
            ),
            Mode::Incremental,
        ),
        (
            // an update, an unchanged row, a delete, a newcomer claiming A4's number (A4 is
            // withdrawn from it), a member now flagged for fraud (removed), a malformed row
            // and a duplicate
            format!(
                "{HEADER}{}{}A3,delete,,,,,,,\n{}A9,,2025550109,mobile,,y,2020-01-01,1980-05-17,Ana\n\
                 broken,\n{}",
                row("A1", "2025550111"),
                row("A2", "2025550102"),
                row("B1", "2025550104"),
                row("A2", "2025550102"),
            ),
            Mode::Incremental,
        ),
        (
            format!(
                "{HEADER}{}{}",
                row("A1", "2025550111"),
                row("C1", "2025550121")
            ),
            Mode::Full,
        ),
    ];
    let files: Vec<(&str, Mode)> = files.iter().map(|(b, m)| (b.as_str(), *m)).collect();
    let (changes_only, previewed) = runs_through(PREVIEW_LIMITS, staged::SLICES, &files);
    let (whole, not_previewed) = runs_through(WHOLE_ONLY, staged::SLICES, &files);
    assert_eq!((previewed, not_previewed), (3, 0), "each path was taken");
    assert_eq!(changes_only, whole);
    // Staged a row, a record and an index bucket per transaction: the same again.
    let (sliced, _) = runs_through(WHOLE_ONLY, THIN_SLICES, &files);
    assert_eq!(sliced, whole);
    // Other members' claims looked up row by row, not read up front: the same again.
    let (by_row, _) = claims_row_by_row(|| runs_through(WHOLE_ONLY, staged::SLICES, &files));
    assert_eq!(by_row, whole);
    assert!(
        whole.iter().any(|s| s.contains("withdrawn=1")),
        "{whole:#?}"
    );
}

#[test]
fn a_run_stops_previewing_once_too_many_rows_change() {
    let limits = PreviewLimits {
        max_rows: 100,
        min_seen: 10,
        one_in: 4,
    };
    let cases = [
        (2, 10, false),
        (3, 10, true),
        (5, 9, false),
        (101, 100_000, true),
        (100, 100_000, false),
    ];
    for (changing, seen, exceeded) in cases {
        assert_eq!(
            limits.exceeded(changing, seen),
            exceeded,
            "{changing} of {seen}"
        );
    }
}

#[test]
fn a_failing_inbox_file_is_tried_less_often_and_at_once_when_it_changes() {
    use super::inbox::{MAX_RETRY_WAIT, Retries};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("members.csv");
    std::fs::write(&file, "member_id,mobile_phone\n1,+16125550101\n").unwrap();
    let mut retries = Retries::default();
    let t0 = Instant::now();
    assert!(retries.due(&file, t0), "a new file is due");

    let secs = |n: u64| Duration::from_secs(n);
    let mut now = t0;
    let mut waits = Vec::new();
    for _ in 0..7 {
        let wait = retries.failed(&file, now, None);
        assert!(
            !retries.due(&file, now + wait - secs(1)),
            "not before {wait:?}"
        );
        assert!(retries.due(&file, now + wait));
        waits.push(wait.as_secs());
        now += wait;
    }
    assert_eq!(waits, [30, 60, 120, 240, 480, 600, 600]);
    assert_eq!(MAX_RETRY_WAIT, secs(600));

    // a new copy of the file is a new file: due at once, and its count starts again
    std::fs::write(
        &file,
        "member_id,mobile_phone\n1,+16125550101\n2,+16125550102\n",
    )
    .unwrap();
    assert!(retries.due(&file, now + secs(1)));
    assert_eq!(retries.failed(&file, now, None), secs(30));

    // handled: forgotten
    retries.done(&file);
    assert!(retries.due(&file, now));
}

/// A store, its audit log and the four folders, with members.csv (one row) in the inbox.
struct Inbox {
    f: Fixture,
    audit: crate::audit::AuditLog,
    dirs: crate::config::EnrollDirs,
    file: PathBuf,
    options: Options,
    retries: super::inbox::Retries,
}

impl Inbox {
    fn new(processed: &str) -> Inbox {
        let f = Fixture::new();
        let audit =
            crate::audit::AuditLog::start(f.store.clone(), Arc::new(crate::clock::SystemClock), 64);
        let root = f.dir.path();
        let dirs = crate::config::EnrollDirs {
            inbox: root.join("inbox"),
            outbox: root.join("outbox"),
            processed: root.join(processed),
            failed: root.join("failed"),
        };
        std::fs::create_dir_all(&dirs.inbox).unwrap();
        let file = dirs.inbox.join("members.csv");
        std::fs::write(&file, format!("{HEADER}{}", row("1001", "+16125550101"))).unwrap();
        let options = options(Mode::Incremental);
        Inbox {
            f,
            audit,
            dirs,
            file,
            options,
            retries: Default::default(),
        }
    }

    /// One look at the inbox, as the service's poll does (files settle at once here).
    fn poll(&mut self) -> Vec<super::inbox::Handled> {
        let settle = std::time::Duration::ZERO;
        let (store, audit) = (&self.f.store, &self.audit);
        super::inbox::process_ready(
            store,
            audit,
            &self.dirs,
            &self.options,
            settle,
            &mut self.retries,
        )
    }
}

/// The service is stopping: a look at the inbox takes no new file, and the file waits.
#[test]
fn a_stopping_service_takes_no_file_from_the_inbox() {
    let mut t = Inbox::new("processed");
    t.f.store.stop_scans();
    assert!(t.poll().is_empty());
    assert!(t.file.exists(), "the file waits in the inbox");
    assert!(!t.dirs.outbox.exists() || std::fs::read_dir(&t.dirs.outbox).unwrap().count() == 0);
}

#[test]
fn an_answer_that_cannot_be_written_keeps_the_file_in_the_inbox_and_retries_later() {
    use super::inbox::Handled;
    let mut t = Inbox::new("processed");
    let (dirs, file) = (t.dirs.clone(), t.file.clone());
    let body = std::fs::read_to_string(&file).unwrap();
    // the results file cannot be made (its name is taken by a directory): callvault's
    // problem, as a full disk would be, not the file's
    let blocker = dirs.outbox.join(".members.results.csv.partial");
    std::fs::create_dir_all(&blocker).unwrap();
    let handled = t.poll();
    assert!(
        matches!(handled.as_slice(), [Handled::Retry { error, .. }] if error.contains("outbox")),
        "{handled:?}"
    );
    assert!(file.exists(), "the file stays in the inbox");
    assert!(!dirs.failed.exists(), "nothing is called the file's fault");

    // not tried again at the next poll, even once the outbox is fixed...
    std::fs::remove_dir(&blocker).unwrap();
    let handled = t.poll();
    assert!(handled.is_empty(), "{handled:?}");
    // ...but at once when a new copy of the file arrives
    std::fs::write(&file, format!("{body}{}", row("1002", "+16125550102"))).unwrap();
    let handled = t.poll();
    assert!(
        matches!(handled.as_slice(), [Handled::Processed { .. }]),
        "{handled:?}"
    );
    assert!(dirs.processed.join("members.csv").exists());
    let results = std::fs::read_to_string(dirs.outbox.join("members.results.csv")).unwrap();
    assert_eq!(results.matches(",created,").count(), 2, "{results}");
    // the answer under its names only: no partial file left beside it
    let mut outbox: Vec<_> = std::fs::read_dir(&dirs.outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    outbox.sort();
    assert_eq!(outbox, ["members.results.csv", "members.summary.json"]);
}

#[test]
fn a_file_gone_from_the_inbox_before_it_is_read_is_passed_over_without_a_trace() {
    use super::inbox::Handled;
    let t = Inbox::new("processed");
    let dirs = t.dirs.clone();
    // listed, then removed by hand before it was opened
    std::fs::remove_file(&t.file).unwrap();
    let audited = || {
        let mut out = Vec::new();
        crate::audit::export(&t.f.store.begin_read().unwrap(), None, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let before = audited();
    let handled = super::inbox::handle(&t.f.store, &t.audit, &dirs, &t.options, t.file.clone());
    assert!(
        matches!(&handled, Handled::Gone { file } if *file == t.file),
        "{handled:?}"
    );
    assert_eq!(audited(), before, "no enrollment_failed record");
    assert!(!dirs.failed.exists(), "nothing in failed/");
    assert!(
        std::fs::read_dir(&dirs.outbox).map_or(true, |mut d| d.next().is_none()),
        "no answer"
    );

    // A file that cannot be opened for another reason is still refused, and audited.
    std::fs::create_dir(&t.file).unwrap();
    let handled = super::inbox::handle(&t.f.store, &t.audit, &dirs, &t.options, t.file.clone());
    assert!(matches!(handled, Handled::Failed { .. }), "{handled:?}");
    assert!(audited().contains("enrollment_failed"), "{}", audited());
}

#[test]
fn an_inbox_file_moves_to_a_folder_on_another_filesystem() {
    use std::os::unix::fs::MetadataExt;
    let here = tempfile::tempdir().unwrap();
    // /dev/shm is a tmpfs on Linux, apart from the temporary directory's disk
    let there = tempfile::tempdir_in("/dev/shm").unwrap();
    assert_ne!(
        std::fs::metadata(here.path()).unwrap().dev(),
        std::fs::metadata(there.path()).unwrap().dev(),
        "the test needs two filesystems"
    );
    let from = here.path().join("members.csv");
    std::fs::write(&from, "member_id,mobile_phone\n1,+16125550101\n").unwrap();
    let to = there.path().join("members.csv");
    assert_eq!(
        std::fs::rename(&from, &to).unwrap_err().kind(),
        std::io::ErrorKind::CrossesDevices
    );
    super::inbox::move_file(&from, &to).unwrap();
    assert!(!from.exists());
    assert_eq!(
        std::fs::read_to_string(&to).unwrap(),
        "member_id,mobile_phone\n1,+16125550101\n"
    );
    let left: Vec<_> = std::fs::read_dir(there.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no partial copy left behind");
}

/// A move that fails for another reason than two filesystems is that failure: no copy is
/// tried, so none is left half made, and the file stays where it was.
#[test]
fn an_inbox_file_that_cannot_be_moved_stays_and_leaves_no_copy() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("members.csv");
    std::fs::write(&from, "member_id\n").unwrap();
    let processed = dir.path().join("processed");
    // the name is taken by a folder that is not empty: rename cannot replace it
    let to = processed.join("members.csv");
    std::fs::create_dir_all(to.join("inside")).unwrap();
    let refused = super::inbox::move_file(&from, &to).unwrap_err();
    assert_ne!(refused.kind(), std::io::ErrorKind::CrossesDevices);
    assert_eq!(std::fs::read_to_string(&from).unwrap(), "member_id\n");
    let mut left: Vec<_> = std::fs::read_dir(&processed)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["members.csv"], "no partial copy beside it");
}

#[test]
fn a_file_applied_but_not_moved_is_only_moved_on_the_next_try() {
    use super::inbox::Handled;
    // processed/ cannot be made: a file holds the name of its parent
    let mut t = Inbox::new("archive/processed");
    let root = t.f.dir.path().to_path_buf();
    std::fs::write(root.join("archive"), "").unwrap();
    let (dirs, file) = (t.dirs.clone(), t.file.clone());
    let handled = t.poll();
    assert!(
        matches!(
            handled.as_slice(),
            [Handled::Retry {
                applied: Some(_),
                ..
            }]
        ),
        "{handled:?}"
    );
    let results = dirs.outbox.join("members.results.csv");
    let answer = std::fs::read_to_string(&results).unwrap();
    assert!(answer.contains(",created,"), "{answer}");

    // fixed, and due: the file is moved, not enrolled again (which would answer `unchanged`)
    std::fs::remove_file(root.join("archive")).unwrap();
    t.retries.all_due();
    let handled = t.poll();
    assert!(
        matches!(handled.as_slice(), [Handled::Processed { .. }]),
        "{handled:?}"
    );
    assert_eq!(std::fs::read_to_string(&results).unwrap(), answer);
    assert!(dirs.processed.join("members.csv").exists() && !file.exists());
}

#[test]
fn the_share_of_members_a_full_file_may_leave_out() {
    // (missing, enrolled, limit %, allowed, limit needed, as shown)
    let cases: &[(u64, u64, u8, bool, u64, &str)] = &[
        (0, 0, 0, true, 0, "0%"),
        (0, 1_000, 0, true, 0, "0%"),
        (1, 1_000_000, 0, false, 1, "under 0.1%"),
        (5, 1_000, 0, false, 1, "0.5%"),
        (100, 1_000, 10, true, 10, "10%"),
        (101, 1_000, 10, false, 11, "10.1%"),
        (3, 20, 10, false, 15, "15%"),
        (2, 20, 10, true, 10, "10%"),
        (999, 1_000, 99, false, 100, "99.9%"),
        (1_001, 10_000, 10, false, 11, "10.1%"),
        (1, 1_000, 0, false, 1, "0.1%"),
        (1_000, 1_000, 99, false, 100, "100%"),
        (1_000, 1_000, 100, true, 100, "100%"),
        (7, 7, 100, true, 100, "100%"),
    ];
    for &(missing, enrolled, limit, allowed, needed, shown) in cases {
        let case = format!("{missing} of {enrolled} at {limit}%");
        assert_eq!(
            removals_allowed(missing, enrolled, limit),
            allowed,
            "{case}"
        );
        assert_eq!(percent_needed(missing, enrolled), needed, "{case}");
        assert_eq!(percent_text(missing, enrolled), shown, "{case}");
        if needed <= 100 && enrolled > 0 {
            assert!(
                removals_allowed(missing, enrolled, needed as u8),
                "the limit the error names lets {case} go"
            );
        }
    }
}

#[test]
fn a_full_file_that_leaves_out_too_many_members_is_refused_whole() {
    let f = Fixture::new();
    let everyone = members(20, "01");
    f.enroll(&format!("{HEADER}{everyone}"));
    let all = f.enrolled();
    assert_eq!(all.len(), 20);
    let at = |limit: u8, body: &str, dry_run: bool| {
        let path = f.file("full.csv", body.as_bytes());
        let options = Options {
            dry_run,
            max_removed_percent: limit,
            ..options(Mode::Full)
        };
        run(&f.store, &path, &f.outbox(), &options, "test", &Silent)
    };
    let results = f.outbox().join("full.results.csv");

    // A truncated export: the header alone, or the first 17 of 20 rows.
    let header_only = HEADER.to_string();
    let seventeen: String = everyone
        .lines()
        .take(17)
        .map(|l| format!("{l}\n"))
        .collect();
    for (body, missing, needed) in [
        (&header_only, 20, 100),
        (&format!("{HEADER}{seventeen}"), 3, 15),
    ] {
        for dry_run in [false, true] {
            let err = at(10, body, dry_run).unwrap_err();
            match &err {
                EnrollError::TooManyRemovals {
                    missing: m,
                    enrolled: 20,
                    limit: 10,
                    ..
                } => assert_eq!(*m, missing),
                other => panic!("{other}"),
            }
            assert!(err.is_file_problem());
            let text = err.to_string();
            assert!(
                text.contains(&format!("remove {missing} of the 20"))
                    && text.contains(&format!("--max-removed-percent {needed}"))
                    && text.contains("nothing was applied"),
                "{text}"
            );
            assert_eq!(f.enrolled(), all, "nothing removed");
            assert!(!results.exists(), "no answer for a refused file");
        }
    }

    // Explicit deletes and rejected rows are in the file: they do not count as left out.
    let mut body = format!("{HEADER}{seventeen}");
    body.push_str("M17,delete,,,,,,,\n");
    body.push_str("M18,,2025550118,mobile,,y,2020-01-01,1980-05-17,Ana\n");
    let report = at(10, &body, false).unwrap();
    assert_eq!(
        report.summary.results["deleted"], 2,
        "M17 deleted, M19 left out"
    );
    assert_eq!(f.enrolled().len(), 17);

    // 3 of the 17 left out is 17.65%: over 15%, and the error names 18, which lets it go.
    let fourteen: String = seventeen
        .lines()
        .take(14)
        .map(|l| format!("{l}\n"))
        .collect();
    let body = format!("{HEADER}{fourteen}");
    let err = at(15, &body, false).unwrap_err();
    assert!(err.to_string().contains("(17.7%)"), "{err}");
    assert!(
        err.to_string().contains("--max-removed-percent 18"),
        "{err}"
    );
    assert_eq!(f.enrolled().len(), 17);
    let report = at(18, &body, false).unwrap();
    assert_eq!(report.summary.results["deleted"], 3);
    assert_eq!(f.enrolled().len(), 14);
}

/// Six members enrolled (their ids), and a file `moved.csv` that gives each a new number:
/// every row changes, so a run of it is staged.
fn six_members_moving() -> (Fixture, Vec<String>, PathBuf) {
    let f = Fixture::new();
    f.enroll(&format!("{HEADER}{}", members(6, "01")));
    let enrolled = f.enrolled();
    let path = f.file(
        "moved.csv",
        format!("{HEADER}{}", members(6, "02")).as_bytes(),
    );
    (f, enrolled, path)
}

/// Whether the store holds an enrollment's staging tables.
fn staging_exists(store: &Store) -> bool {
    use redb::TableHandle;
    let txn = store.begin_read().unwrap();
    let names: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect();
    names.iter().any(|n| n.starts_with("staged_"))
}

/// The service is stopping: a staged run from its inbox ends at its next transaction, drops
/// its staging tables and leaves the live members as they were (its file waits in the inbox
/// for the next start), so that the stop is prompt and nothing is written after it.
#[test]
fn a_staged_run_ends_at_its_next_transaction_when_the_service_stops() {
    let (f, enrolled, path) = six_members_moving();
    f.store.stop_scans();
    let err = f
        .staged(&path, &options(Mode::Full), &Silent, THIN_SLICES)
        .unwrap_err();
    assert!(
        matches!(err, EnrollError::Store(StoreError::Stopping)),
        "{err}"
    );
    assert!(!err.is_file_problem(), "not the file's fault");
    assert!(!staging_exists(&f.store));
    assert_eq!(f.enrolled(), enrolled);
    assert_eq!(f.by_phone("+12025550103"), vec!["M03".to_string()]);
    assert!(f.by_phone("+12025550203").is_empty());
}

#[test]
fn a_staged_run_that_fails_half_way_leaves_the_live_members_as_they_were() {
    let f = Fixture::new();
    let before = members(6, "01");
    f.enroll(&format!("{HEADER}{before}"));
    let enrolled = f.enrolled();
    // Every member on a new number: every row changes, so the run is staged.
    let after = members(6, "02");
    let path = f.file("moved.csv", format!("{HEADER}{after}").as_bytes());
    let back = f.file("back.csv", format!("{HEADER}{before}").as_bytes());
    let go_with = |path: &Path| f.staged(path, &options(Mode::Full), &Silent, THIN_SLICES);
    let go = || go_with(&path);
    // Fail after the copy and a few rows: some rows applied to the staging tables, which
    // the failed run drops at once (they hold disk room IVR steps may need).
    staged::FAIL_AFTER.with(|n| n.set(Some(10)));
    let err = go().unwrap_err();
    staged::FAIL_AFTER.with(|n| n.set(None));
    assert!(err.to_string().contains("injected"), "{err}");
    assert!(!err.is_file_problem());
    assert!(!staging_exists(&f.store));
    assert_eq!(f.enrolled(), enrolled);
    assert_eq!(f.by_phone("+12025550103"), vec!["M03".to_string()]);
    assert!(f.by_phone("+12025550203").is_empty());

    // The next run applies the file whole.
    let report = go().unwrap();
    assert_eq!(report.summary.results["updated"], 6);
    assert!(!staging_exists(&f.store));
    assert_eq!(f.enrolled(), enrolled);
    assert!(f.by_phone("+12025550103").is_empty());
    assert_eq!(f.by_phone("+12025550203"), vec!["M03".to_string()]);

    // A crash leaves them: the next run drops them, and so does opening the store.
    let crash = |store: &Store| {
        let txn = store.begin_write().unwrap();
        let mut staged = txn
            .open_table(crate::store::tables::STAGED_MEMBERS.members)
            .unwrap();
        staged.insert("X", b"half-way".as_slice()).unwrap();
        drop(staged);
        txn.commit().unwrap();
        assert!(staging_exists(store));
    };
    crash(&f.store);
    go_with(&back).unwrap();
    assert!(!staging_exists(&f.store));
    assert_eq!(f.by_phone("+12025550103"), vec!["M03".to_string()]);
    crash(&f.store);
    let state = f.dir.path().join("state");
    let Fixture { dir, store } = f;
    drop(store);
    let store = Store::open(&state).unwrap();
    assert!(!staging_exists(&store));
    drop(dir);
}

#[test]
fn a_run_that_must_be_staged_is_refused_when_the_disk_lacks_room_for_the_copy() {
    let (f, enrolled, path) = six_members_moving();
    let at = |min_free_mb: u64| {
        let options = Options {
            min_free_mb,
            ..options(Mode::Incremental)
        };
        f.staged(&path, &options, &Silent, THIN_SLICES)
    };
    // 1 TiB to keep free: no test machine has it.
    let err = at(1 << 20).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, EnrollError::NoRoom { .. }), "{text}");
    assert!(!err.is_file_problem(), "the inbox tries it again");
    assert!(
        text.contains("storage.min_free_mb") && text.contains("nothing was applied"),
        "{text}"
    );
    assert!(!staging_exists(&f.store));
    assert_eq!(f.enrolled(), enrolled);
    assert_eq!(f.by_phone("+12025550103"), vec!["M03".to_string()]);
    let report = at(0).unwrap();
    assert_eq!(report.summary.results["updated"], 6);
}

/// A staged dry run says what the file would do, and drops its staging tables: nothing of
/// its copy stays in the store's file.
#[test]
fn a_staged_dry_run_leaves_no_staging_tables() {
    let (f, enrolled, path) = six_members_moving();
    let options = Options {
        dry_run: true,
        ..options(Mode::Incremental)
    };
    let report = f.staged(&path, &options, &Silent, THIN_SLICES).unwrap();
    assert_eq!(report.summary.results["updated"], 6);
    assert!(!staging_exists(&f.store));
    assert_eq!(f.enrolled(), enrolled);
    assert_eq!(f.by_phone("+12025550103"), vec!["M03".to_string()]);
}

#[test]
fn other_writers_get_in_while_a_run_that_changes_every_row_applies() {
    let f = Fixture::new();
    f.enroll(&format!("{HEADER}{}", members(40, "01")));
    let path = f.file(
        "moved.csv",
        format!("{HEADER}{}", members(40, "02")).as_bytes(),
    );
    let progress = progress::OtherWriter::new(f.store.clone());
    let report = f
        .staged(
            &path,
            &options(Mode::Incremental),
            &progress,
            staged::SLICES,
        )
        .unwrap();
    assert_eq!(report.summary.results["updated"], 40);
    assert!(progress.times() >= 3, "copying, applying, finishing");
    assert_eq!(f.by_phone("+12025550207"), vec!["M07".to_string()]);

    // In slices of one, the pass that copies in the members the rows left alone reports
    // after each member it looks at: a file that rewrote all 40 copies none, and must
    // still not look at them all in one transaction.
    let back = f.file(
        "back.csv",
        format!("{HEADER}{}", members(40, "01")).as_bytes(),
    );
    let progress = progress::OtherWriter::new(f.store.clone());
    f.staged(&back, &options(Mode::Incremental), &progress, THIN_SLICES)
        .unwrap();
    assert!(progress.times() >= 40, "{} steps", progress.times());
    assert_eq!(f.by_phone("+12025550107"), vec!["M07".to_string()]);
}

/// A staged run first copies the caller-ID and account indexes, a slice per transaction,
/// showing how far it has come (a daily file against a million members copies for seconds)
/// and letting other writers in after each slice. Members the file leaves alone are still
/// found by their numbers afterwards.
#[test]
fn a_staged_run_copies_the_indexes_in_slices_and_shows_it() {
    let f = Fixture::new();
    // four numbers and three accounts, each in an index bucket of its own (a bucket is a
    // value less its last two characters)
    let accounts = "member_id,mobile_phone,account_numbers\n\
                    M00,2025550100,A100\nM01,2025550200,B200;C300\n\
                    M02,2025550300,\nM03,2025550400,\n";
    f.enroll(accounts);
    let path = f.file(
        "one.csv",
        format!("{HEADER}{}", row("M00", "2025550900")).as_bytes(),
    );
    let progress = progress::OtherWriter::new(f.store.clone());
    f.staged(&path, &options(Mode::Incremental), &progress, THIN_SLICES)
        .unwrap();
    let told = progress.told.lock().unwrap().clone();
    let at = told.iter().position(|t| t.starts_with("indexes"));
    let copying: Vec<&str> = told[at.unwrap_or(0)..]
        .iter()
        .take(9)
        .map(String::as_str)
        .collect();
    // a bucket per transaction
    assert_eq!(
        copying,
        [
            "indexes 7",
            "at 0",
            "at 1",
            "at 2",
            "at 3",
            "at 4",
            "at 5",
            "at 6",
            "at 7"
        ],
        "{told:#?}"
    );
    // then, once the row is applied, the members it left alone: each one looked at is a step
    let at = told.iter().position(|t| t.starts_with("copying"));
    assert_eq!(
        told[at.unwrap_or(0)..],
        ["copying 4", "at 0", "at 1", "at 2", "at 3", "at 4", "at 4"],
        "{told:#?}"
    );
    for (phone, id) in [
        ("+12025550900", "M00"),
        ("+12025550200", "M01"),
        ("+12025550400", "M03"),
    ] {
        assert_eq!(f.by_phone(phone), vec![id.to_string()], "{phone}");
    }
    assert!(f.by_phone("+12025550100").is_empty(), "M00's old number");

    // Nothing to copy on the first run into an empty store: no such phase.
    let fresh = Fixture::new();
    let path = fresh.file("first.csv", accounts.as_bytes());
    let progress = progress::OtherWriter::new(fresh.store.clone());
    fresh
        .staged(&path, &options(Mode::Incremental), &progress, THIN_SLICES)
        .unwrap();
    let told = progress.told.lock().unwrap().clone();
    assert!(told.iter().all(|t| !t.starts_with("indexes")), "{told:#?}");
}

/// What a person watching is told: a dry run tries its rows on a copy it drops, and says
/// so ("trying"), where the same file applied says "applying".
#[test]
fn a_dry_run_says_it_tries_its_rows_where_a_run_applies_them() {
    use progress::Told;
    let f = Fixture::new();
    let path = f.file("m.csv", format!("{HEADER}{}", members(3, "01")).as_bytes());
    // each run staged, as a dry run always is and a run that changes many rows is
    let phases = |dry_run: bool| {
        let told = Told::default();
        let options = Options {
            dry_run,
            ..options(Mode::Incremental)
        };
        f.staged(&path, &options, &told, staged::SLICES).unwrap();
        let told = told.0.lock().unwrap().clone();
        (told.into_iter())
            .filter(|(name, _)| !matches!(name.as_str(), "at" | "finish" | "checking"))
            .collect::<Vec<_>>()
    };
    let phase = |name: &str, total| (name.to_string(), total);
    // (no copying: there are no members to copy)
    assert_eq!(phases(true), [phase("trying", 3)]);
    assert!(f.enrolled().is_empty());
    // (deciding found too many changing to apply at once)
    assert_eq!(phases(false), [phase("deciding", 3), phase("applying", 3)]);
    assert_eq!(f.enrolled().len(), 3);
    // once there are members, a dry run copies them too (the rows rewrote them all: none)
    let told = phases(true);
    assert_eq!(
        told[told.len() - 2..],
        [phase("trying", 3), phase("copying", 3)]
    );
}

#[test]
fn random_file_sequences_end_the_same_staged_or_applied_in_place() {
    use rand::{Rng, SeedableRng};
    for seed in 0..48u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let files: Vec<(String, Mode)> = (0..4)
            .map(|_| {
                let mut body = HEADER.to_string();
                for _ in 0..rng.gen_range(0..14) {
                    let id = format!("M{}", rng.gen_range(0..10));
                    let phone = format!("20255501{:02}", rng.gen_range(0..7));
                    body.push_str(&match rng.gen_range(0..10) {
                        0 => format!("{id},delete,,,,,,,\n"),
                        1 => format!("{id},,{phone},mobile,,y,2020-01-01,1980-05-17,Ana\n"),
                        2 => {
                            format!("{id},,{phone},mobile,2025550199,n,2020-01-01,1980-05-17,Ana\n")
                        }
                        // another member's mobile may be this one's other number
                        3 => {
                            let other = format!("20255501{:02}", rng.gen_range(0..7));
                            format!("{id},,{phone},mobile,{other},n,2020-01-01,1980-05-17,Ana\n")
                        }
                        _ => row(&id, &phone),
                    });
                }
                let mode = match rng.gen_range(0..4) {
                    0 => Mode::Full,
                    _ => Mode::Incremental,
                };
                (body, mode)
            })
            .collect();
        let files: Vec<(&str, Mode)> = files.iter().map(|(b, m)| (b.as_str(), *m)).collect();
        let (in_place, _) = runs_through(PREVIEW_LIMITS, staged::SLICES, &files);
        let (staged, _) = runs_through(WHOLE_ONLY, staged::SLICES, &files);
        let (thin, _) = runs_through(WHOLE_ONLY, THIN_SLICES, &files);
        assert_eq!(in_place, staged, "seed {seed}: {files:#?}");
        assert_eq!(staged, thin, "seed {seed}");
        // claims looked up row by row instead of read up front
        let (in_place_by_row, _) =
            claims_row_by_row(|| runs_through(PREVIEW_LIMITS, staged::SLICES, &files));
        let (staged_by_row, _) =
            claims_row_by_row(|| runs_through(WHOLE_ONLY, staged::SLICES, &files));
        assert_eq!(in_place_by_row, in_place, "seed {seed}: {files:#?}");
        assert_eq!(staged_by_row, staged, "seed {seed}: {files:#?}");
    }
}

fn claims_row_by_row<T>(f: impl FnOnce() -> T) -> T {
    CLAIMS_ROW_BY_ROW.with(|c| c.set(true));
    let out = f();
    CLAIMS_ROW_BY_ROW.with(|c| c.set(false));
    out
}

/// What the store holds about a member besides the member record: (a PIN record, a
/// wrong-PIN counter, a wrong-answer counter, a last verdict).
fn secrets(store: &Store, id: &str) -> (bool, bool, bool, bool) {
    let txn = store.begin_read().unwrap();
    let pins = txn.open_table(tables::PINS).unwrap();
    let attempts = txn.open_table(tables::ATTEMPTS).unwrap();
    let verdicts = txn.open_table(tables::VERIFICATIONS).unwrap();
    (
        pins.get(id).unwrap().is_some(),
        attempts
            .get((id, crate::vault::PIN_ATTEMPTS))
            .unwrap()
            .is_some(),
        attempts
            .get((id, crate::calls::ANSWER_ATTEMPTS))
            .unwrap()
            .is_some(),
        verdicts.get(id).unwrap().is_some(),
    )
}

/// Give each member a PIN record, both counters and a verdict (the bytes do not matter:
/// forgetting never reads them).
fn plant_secrets(store: &Store, ids: &[&str]) {
    let txn = store.begin_write().unwrap();
    {
        let mut pins = txn.open_table(tables::PINS).unwrap();
        let mut attempts = txn.open_table(tables::ATTEMPTS).unwrap();
        let mut verdicts = txn.open_table(tables::VERIFICATIONS).unwrap();
        for id in ids {
            pins.insert(*id, b"sealed".as_slice()).unwrap();
            for kind in [crate::vault::PIN_ATTEMPTS, crate::calls::ANSWER_ATTEMPTS] {
                attempts.insert((*id, kind), b"counter".as_slice()).unwrap();
            }
            verdicts.insert(*id, b"{}".as_slice()).unwrap();
        }
    }
    txn.commit().unwrap();
}

/// `callvault member forget ID` says whether callvault held anything about the member: any
/// one of the four records counts, and a neighbour's (`70` beside `7`) does not.
#[test]
fn forgetting_one_by_hand_says_whether_anything_was_held() {
    use forget::ForgotOne;
    let f = Fixture::new();
    plant_secrets(&f.store, &["70"]);
    let plant = |id: &str, which: usize| {
        let txn = f.store.begin_write().unwrap();
        match which {
            0 => {
                txn.open_table(tables::PINS)
                    .unwrap()
                    .insert(id, b"sealed".as_slice())
                    .unwrap();
            }
            1 | 2 => {
                let kind = [crate::vault::PIN_ATTEMPTS, crate::calls::ANSWER_ATTEMPTS][which - 1];
                txn.open_table(tables::ATTEMPTS)
                    .unwrap()
                    .insert((id, kind), b"counter".as_slice())
                    .unwrap();
            }
            _ => {
                txn.open_table(tables::VERIFICATIONS)
                    .unwrap()
                    .insert(id, b"{}".as_slice())
                    .unwrap();
            }
        };
        txn.commit().unwrap();
    };
    let cases = [
        (
            None,
            ForgotOne {
                pin: false,
                held: false,
            },
        ),
        (
            Some(0),
            ForgotOne {
                pin: true,
                held: true,
            },
        ),
        (
            Some(1),
            ForgotOne {
                pin: false,
                held: true,
            },
        ),
        (
            Some(2),
            ForgotOne {
                pin: false,
                held: true,
            },
        ),
        (
            Some(3),
            ForgotOne {
                pin: false,
                held: true,
            },
        ),
    ];
    for (which, want) in cases {
        if let Some(which) = which {
            plant("7", which);
        }
        let got = forget::forget_one(&f.store, "7", true, "test").unwrap();
        assert_eq!(got, Some(want), "{which:?}");
        assert_eq!(secrets(&f.store, "7"), (false, false, false, false));
        assert_eq!(
            forget::forget_one(&f.store, "7", true, "test").unwrap(),
            Some(ForgotOne {
                pin: false,
                held: false
            }),
            "{which:?}: a second time, nothing is left"
        );
    }
    assert_eq!(secrets(&f.store, "70"), (true, true, true, true));
    let audit = audit_text(&f.store);
    let details: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("members_forgotten"))
        .map(|l| {
            if l.contains("nothing held") {
                "-"
            } else if l.contains("pins=1") {
                "P"
            } else {
                "h"
            }
        })
        .collect();
    assert_eq!(details.concat(), "--P-h-h-h-");
}

#[test]
fn a_deleted_member_takes_their_pin_counters_and_verdict_along() {
    const ALL: (bool, bool, bool, bool) = (true, true, true, true);
    const NONE: (bool, bool, bool, bool) = (false, false, false, false);
    let ids = ["10", "100", "20", "30", "40", "50", "60"];
    let everyone: String = ids
        .iter()
        .enumerate()
        .map(|(n, id)| row(id, &format!("2025550{n:03}")))
        .collect();
    let kept_rows = |leave_out: &[&str]| -> String {
        everyone
            .lines()
            .filter(|l| !leave_out.iter().any(|id| l.starts_with(&format!("{id},"))))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let fraud = "20,,202-555-0002,mobile,,y,2020-01-01,1980-05-17,Ana\n";
    // (how a run applies, the path it must take)
    for staged in [false, true] {
        let f = Fixture::new();
        f.enroll(&format!("{HEADER}{everyone}"));
        plant_secrets(&f.store, &ids);
        let runs_before = CHANGES_ONLY_RUNS.with(|n| n.get());
        let run = |body: String, options: Options| {
            let path = f.file("daily.csv", body.as_bytes());
            match staged {
                true => f.staged(&path, &options, &Silent, THIN_SLICES),
                false => run(&f.store, &path, &f.outbox(), &options, "test", &Silent),
            }
            .unwrap()
        };

        // A dry run forgets nothing.
        let dry = Options {
            dry_run: true,
            ..options(Mode::Incremental)
        };
        let report = run(format!("{HEADER}10,delete,,,,,,,\n"), dry);
        assert_eq!(
            report.summary.pins_forgotten, 1,
            "it says what it would forget"
        );
        assert_eq!(secrets(&f.store, "10"), ALL, "staged={staged}");

        // A delete row forgets that member, not one whose id starts the same; a row
        // that rejects and removes an enrolled member (a fraud flag) forgets nothing.
        let report = run(
            format!("{HEADER}10,delete,,,,,,,\n{fraud}"),
            options(Mode::Incremental),
        );
        assert_eq!(report.summary.pins_forgotten, 1, "staged={staged}");
        assert_eq!(secrets(&f.store, "10"), NONE, "staged={staged}");
        assert_eq!(secrets(&f.store, "100"), ALL, "staged={staged}");
        assert_eq!(
            secrets(&f.store, "20"),
            ALL,
            "a flagged member keeps it all"
        );
        assert!(!f.enrolled().contains(&"20".to_string()));

        // Full mode forgets the members it leaves out.
        let report = run(
            format!("{HEADER}{}", kept_rows(&["10", "20", "50"])),
            options(Mode::Full),
        );
        assert_eq!(report.summary.pins_forgotten, 1, "staged={staged}");
        assert_eq!(secrets(&f.store, "50"), NONE, "staged={staged}");
        for id in ["100", "30", "40", "60"] {
            assert_eq!(secrets(&f.store, id), ALL, "{id} staged={staged}");
        }

        // Another core still knows the member: nothing is forgotten.
        let other_core = Options {
            forget_removed: false,
            ..options(Mode::Incremental)
        };
        let report = run(format!("{HEADER}40,delete,,,,,,,\n"), other_core);
        assert_eq!(report.summary.pins_forgotten, 0);
        assert_eq!(secrets(&f.store, "40"), ALL, "staged={staged}");
        assert!(!f.enrolled().contains(&"40".to_string()));

        // Back in the file, the member starts without a PIN.
        run(
            format!("{HEADER}{}", everyone.lines().next().unwrap()),
            options(Mode::Incremental),
        );
        assert!(f.enrolled().contains(&"10".to_string()));
        assert_eq!(secrets(&f.store, "10"), NONE, "staged={staged}");

        let in_place = CHANGES_ONLY_RUNS.with(|n| n.get()) - runs_before;
        assert_eq!(in_place, if staged { 0 } else { 4 }, "staged={staged}");
        let audit = audit_text(&f.store);
        let forgotten: Vec<&str> = audit
            .lines()
            .filter(|l| l.contains("members_forgotten"))
            .collect();
        assert_eq!(forgotten.len(), 2, "{audit}");
        assert!(
            forgotten.iter().all(|l| l.contains("members=1 pins=1")),
            "{audit}"
        );
    }
}

#[test]
fn a_queue_of_members_to_forget_is_drained_in_slices_and_spares_those_enrolled_again() {
    let f = Fixture::new();
    f.enroll(&format!("{HEADER}{}", members(2, "01")));
    let gone = ["g1", "g2", "g3", "g4", "g5"];
    plant_secrets(&f.store, &["M00", "M01"]);
    plant_secrets(&f.store, &gone);
    let slices = staged::Slices {
        rows: 2,
        ..THIN_SLICES
    };
    // Two runs' deletions (a crash after the first), the second one's with an enrolled
    // member in it: chunks of 2, 1, 2 and 1 ids.
    for ids in [&gone[..3], &["M00", "g4", "g5"][..]] {
        let txn = f.store.begin_write().unwrap();
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        forget::queue(&txn, &ids, slices).unwrap();
        txn.commit().unwrap();
    }
    let other = crate::enroll::progress::OtherWriter::new(f.store.clone());
    let forgotten = forget::drain(&f.store, slices, "test", &other).unwrap();
    assert_eq!(
        forgotten,
        forget::Forgotten {
            members: 5,
            pins: 5
        }
    );
    assert!(
        other.times() >= 5,
        "another writer got in at the start and after each of the 4 chunks"
    );
    // the progress shown: six ids in all, then where each chunk of 2, 1, 2 and 1 left it
    assert_eq!(
        *other.told.lock().unwrap(),
        ["forgetting 6", "at 0", "at 2", "at 3", "at 5", "at 6"]
    );
    for id in gone {
        assert_eq!(secrets(&f.store, id), (false, false, false, false), "{id}");
    }
    for id in ["M00", "M01"] {
        assert_eq!(secrets(&f.store, id), (true, true, true, true), "{id}");
    }
    let audit = audit_text(&f.store);
    let events: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("members_forgotten"))
        .collect();
    assert_eq!(events.len(), 1, "{audit}");
    assert!(events[0].contains("members=5 pins=5"), "{audit}");
    assert_eq!(
        forget::drain(&f.store, slices, "test", &Silent).unwrap(),
        forget::Forgotten::default(),
        "the queue is gone"
    );
}

#[test]
fn a_run_forgets_what_a_crash_left_queued_before_it_enrolls_anyone_again() {
    let f = Fixture::new();
    let body = format!("{HEADER}{}", members(3, "01"));
    f.enroll(&body);
    plant_secrets(&f.store, &["M00", "M01", "M02"]);
    // A run deleted M01 and crashed after its last transaction, before forgetting.
    {
        let txn = f.store.begin_write().unwrap();
        let mut dir = embedded::Directory::open(&txn).unwrap();
        let old = dir.get("M01").unwrap().unwrap();
        dir.remove(&old).unwrap();
        drop(dir);
        forget::queue(&txn, &["M01".to_string()], staged::SLICES).unwrap();
        txn.commit().unwrap();
    }
    assert_eq!(secrets(&f.store, "M01"), (true, true, true, true));
    assert_eq!(
        f.store.check().unwrap().members_to_forget,
        1,
        "db check tells"
    );
    // The next run brings M01 back; it must come without the old PIN.
    let report = f
        .enroll_with("again.csv", &body, Mode::Incremental, false)
        .unwrap();
    assert!(f.enrolled().contains(&"M01".to_string()));
    assert_eq!(secrets(&f.store, "M01"), (false, false, false, false));
    assert_eq!(secrets(&f.store, "M00"), (true, true, true, true));
    assert_eq!(report.summary.pins_forgotten, 0, "this run deleted no one");
    assert_eq!(f.store.check().unwrap().members_to_forget, 0);
}

/// The service is stopping: forgetting stops between chunks, and what is left stays queued
/// for the next run (never half a member forgotten).
#[test]
fn forgetting_stops_between_chunks_when_the_service_stops_and_the_queue_waits() {
    let f = Fixture::new();
    f.enroll(&format!("{HEADER}{}", members(3, "01")));
    plant_secrets(&f.store, &["M01"]);
    {
        let txn = f.store.begin_write().unwrap();
        forget::queue(&txn, &["M01".to_string()], staged::SLICES).unwrap();
        txn.commit().unwrap();
    }
    f.store.stop_scans();
    let err = forget::drain(&f.store, staged::SLICES, "test", &Silent).unwrap_err();
    assert!(matches!(err, StoreError::Stopping), "{err}");
    assert_eq!(secrets(&f.store, "M01"), (true, true, true, true));
    assert_eq!(
        f.store.check().unwrap().members_to_forget,
        1,
        "still queued"
    );
}

fn audit_text(store: &Store) -> String {
    let mut audit = Vec::new();
    crate::audit::export(&store.begin_read().unwrap(), None, &mut audit).unwrap();
    String::from_utf8(audit).unwrap()
}

/// What a scan of the inbox takes: settled regular files, by name; never an upload still being
/// written (hidden, or with an upload's temporary ending), a folder, or a file that changed
/// within the settle time.
#[test]
fn the_inbox_takes_settled_files_and_passes_over_uploads_and_folders() {
    use std::time::{Duration, SystemTime};
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path();
    let settle = Duration::from_secs(60);
    let now = SystemTime::now();
    let cases = [
        ("b.csv", true),
        ("a.csv", true),
        ("members", true),
        (".b.csv", false),
        (".hidden", false),
        ("c.csv.tmp", false),
        ("c.csv.part", false),
        ("c.csv.partial", false),
        ("c.csv.filepart", false),
        ("D.CSV.TMP", false),
        ("d.csv.Part", false),
        ("c.tmp.csv", true),
        ("part", true),
        ("c.csv.crdownload", false),
        // what desktops leave on a shared inbox: Excel's owner file of an open file, an
        // editor's backup, Explorer's
        ("~$b.csv", false),
        ("b.csv~", false),
        ("Thumbs.db", false),
        ("desktop.ini", false),
        ("~b.csv", true),
        ("b~.csv", true),
        ("$b.csv", true),
        // a managed transfer's marker, checksum and signature beside its file
        ("b.csv.done", false),
        ("B.CSV.OK", false),
        ("b.ready", false),
        ("b.csv.trg", false),
        ("b.csv.sha256", false),
        ("b.csv.md5", false),
        ("b.csv.sig", false),
        ("done.csv", true),
        ("textbook", true),
    ];
    for (name, _) in cases {
        std::fs::File::create(inbox.join(name)).unwrap();
    }
    // uploaded with its source's time kept: from two days back, and from a machine whose
    // clock is a day ahead; what counts is when the file last changed here
    for (name, modified) in [
        ("kept.csv", now - Duration::from_secs(2 * 86_400)),
        ("ahead.csv", now + Duration::from_secs(86_400)),
    ] {
        let file = std::fs::File::create(inbox.join(name)).unwrap();
        file.set_modified(modified).unwrap();
    }
    std::fs::create_dir(inbox.join("folder.csv")).unwrap();
    std::fs::create_dir(inbox.join(".hidden-folder")).unwrap();
    std::os::unix::fs::symlink(inbox.join("a.csv"), inbox.join("link.csv")).unwrap();
    std::os::unix::fs::symlink(inbox.join("a.csv"), inbox.join("link.csv.part")).unwrap();
    let mut want: Vec<_> = cases
        .iter()
        .filter(|(_, taken)| *taken)
        .map(|(name, _)| name)
        .chain(&["kept.csv", "ahead.csv"])
        .map(|name| inbox.join(name))
        .collect();
    want.sort();
    // every file just changed: none is taken until `settle` has passed
    let listing = super::inbox::list(inbox, settle, now).unwrap();
    assert_eq!(listing.files, Vec::<std::path::PathBuf>::new());
    let later = now + 2 * settle;
    let listing = super::inbox::list(inbox, settle, later).unwrap();
    assert_eq!(listing.files, want);
    // with no settle time, at once
    let at_once = super::inbox::list(inbox, Duration::ZERO, SystemTime::now()).unwrap();
    assert_eq!(at_once.files, want);
    // what is never taken, but for what is left alone anyway (hidden, an upload's name)
    let passed_over: Vec<(String, &str)> = listing
        .passed_over
        .iter()
        .map(|(path, why)| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, why.split(':').next().unwrap())
        })
        .collect();
    assert_eq!(
        passed_over,
        [
            (
                "folder.csv".to_string(),
                "a folder in the inbox is not looked into"
            ),
            (
                "link.csv".to_string(),
                "a link in the inbox is not followed"
            ),
        ]
    );
}

/// An upload renamed or removed while the inbox is listed (SFTP clients write `NAME.part`,
/// then rename it) is passed over, not an error that skips the whole scan.
#[test]
fn files_renamed_while_the_inbox_is_listed_do_not_fail_the_scan() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().to_path_buf();
    std::fs::write(inbox.join("settled.csv"), "member_id\n").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let (inbox, stop) = (inbox.clone(), stop.clone());
        std::thread::spawn(move || {
            for n in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let part = inbox.join(format!("up-{n}.csv.part"));
                let done = inbox.join(format!("up-{n}.csv"));
                std::fs::write(&part, "member_id\n").unwrap();
                std::fs::rename(&part, &done).unwrap();
                std::fs::remove_file(&done).unwrap();
            }
        })
    };
    let settle = std::time::Duration::ZERO;
    let mut scans = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        let files = super::inbox::list(&inbox, settle, std::time::SystemTime::now())
            .map(|listing| listing.files);
        let files = files.unwrap_or_else(|e| panic!("scan {scans}: {e}"));
        assert!(files.contains(&inbox.join("settled.csv")), "{files:?}");
        scans += 1;
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    assert!(scans > 100, "{scans} scans");
}

#[test]
fn counts_read_as_english() {
    use progress::counted;
    let cases = [
        (0, "rows", "0 rows"),
        (1, "rows", "1 row"),
        (2, "rows", "2 rows"),
        (1, "bytes", "1 byte"),
        (1_000_000, "members", "1000000 members"),
    ];
    for (n, unit, want) in cases {
        assert_eq!(counted(n, unit), want);
    }
}

#[test]
fn a_run_takes_its_settings_from_the_configuration() {
    let mut config = crate::config::Config::default();
    config.enroll.default_region = "CA".into();
    config.enroll.recent_change_days = 7;
    config.enroll.full_max_removed_percent = 25;
    config.storage.min_free_mb = 512;
    config.enroll.slash_dates = Some(crate::civil::SlashDates::DayFirst);
    config.enroll.encoding = lines::Encoding::Windows1252;
    config.enroll.separator = lines::Separator::Tab;
    let o = Options::from_config(&config, Mode::Full, true);
    assert_eq!(
        (o.mode, o.dry_run, o.region_code.as_str()),
        (Mode::Full, true, "CA")
    );
    assert_eq!(
        (o.recent_change_days, o.max_removed_percent, o.min_free_mb),
        (7, 25, 512)
    );
    assert_eq!(o.slash_dates, Some(crate::civil::SlashDates::DayFirst));
    assert_eq!(o.encoding, lines::Encoding::Windows1252);
    assert_eq!(o.separator, lines::Separator::Tab);
    // the embedded core's members are the credit union's: a deleted one's secrets go too
    assert!(o.forget_removed);
    // no profile configured: the built-in one's questions (IVR, activation, checklists), and
    // its identifiers take account numbers
    assert_eq!(
        o.asked_columns,
        [
            "dob",
            "zip",
            "ssn_last4",
            "last_txn_amount",
            "last_txn_date",
            "savings_balance",
            "place_of_birth",
            "account_numbers"
        ]
    );
    // the configured profiles' questions, wherever they are asked; activation's only while
    // on; e-mail when an IVR code goes by e-mail; account numbers when a caller may key one
    let profiles = |channel: &str, b_identifiers: &str| {
        format!(
            "[otp]\nivr_channel = \"{channel}\"\n\
            [profiles.a]\ndefault = true\nidentifiers = [\"member_number\"]\n\
            [profiles.a.ivr.known_number]\nmethods = [\"pin\"]\nmin_correct = 1\n\
            [profiles.a.ivr.unknown_number]\nmethods = [\"pin\", \"zip\"]\nmin_correct = 2\n\
            [profiles.a.checklist.unknown_number]\nquestions = [\"place_of_birth\"]\nmin_correct = 1\n\
            [profiles.a.checklist.known_number]\nquestions = []\nmin_correct = 0\n\
            [profiles.a.activation]\nenabled = false\n\
            [profiles.b]\nidentifiers = {b_identifiers}\n\
            [profiles.b.ivr.known_number]\nmethods = [\"last_txn_date\"]\nmin_correct = 1\n\
            [profiles.b.ivr.unknown_number]\nmethods = [\"otp\", \"pin\"]\nmin_correct = 1\n\
            [profiles.b.checklist.known_number]\nquestions = []\nmin_correct = 0\n\
            [profiles.b.checklist.unknown_number]\nquestions = [\"zip\"]\nmin_correct = 1\n\
            [profiles.b.activation]\nmethods = [\"ssn_last4\"]\nmin_correct = 1\n\
            [notify.sms]\nurl = \"https://sms.cu.example/send\"\n\
            [notify.email]\nhost = \"relay.cu.example\"\nfrom = \"v@cu.example\"\n"
        )
    };
    let questions = ["zip", "ssn_last4", "last_txn_date", "place_of_birth"];
    let cases: [(&str, &str, &[&str]); 3] = [
        ("sms", "[\"phone\"]", &[]),
        ("email", "[\"phone\"]", &["email"]),
        (
            "sms",
            "[\"phone\", \"account_number\"]",
            &["account_numbers"],
        ),
    ];
    for (channel, identifiers, more) in cases {
        let configured = crate::config::parse(&profiles(channel, identifiers), Vec::new()).unwrap();
        let o = Options::from_config(&configured, Mode::Incremental, false);
        let want: Vec<&str> = questions.iter().chain(more).copied().collect();
        assert_eq!(o.asked_columns, want, "{channel} {identifiers}");
    }
    // another core still knows the member, and callvault keeps what it holds of them; the
    // facts come from that core, so no column is asked of the file
    config.core.kind = crate::config::CoreKind::Rest;
    let o = Options::from_config(&config, Mode::Incremental, false);
    assert!(!o.forget_removed);
    assert!(o.asked_columns.is_empty());
    assert_eq!((o.mode, o.dry_run), (Mode::Incremental, false));
}

/// The results are written out before the run commits: a disk that fills under the answer
/// stops the run unapplied, whether it applies in place or staged, rather than leaving
/// members enrolled with no answer to say so.
#[test]
fn a_full_disk_under_the_answer_stops_the_run_before_anything_applies() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.outbox()).unwrap();
    // the results file's bytes go to a device that is always full
    std::os::unix::fs::symlink("/dev/full", f.outbox().join(".members.results.csv.partial"))
        .unwrap();
    let body = format!("{HEADER}{}", row("M1", "+12025550101"));
    let err = f
        .enroll_with("members.csv", &body, Mode::Incremental, false)
        .unwrap_err();
    assert!(matches!(err, EnrollError::Answer { .. }), "{err}");
    assert!(
        !err.is_file_problem(),
        "a full disk is not the file's fault"
    );
    assert!(
        f.enrolled().is_empty(),
        "applied in place: {:?}",
        f.enrolled()
    );

    let path = f.file("members.csv", body.as_bytes());
    let err = f
        .staged(&path, &options(Mode::Incremental), &Silent, THIN_SLICES)
        .unwrap_err();
    assert!(matches!(err, EnrollError::Answer { .. }), "{err}");
    assert!(
        f.enrolled().is_empty(),
        "applied staged: {:?}",
        f.enrolled()
    );
}

/// root running `callvault enroll` with the service stopped: the answer files are the
/// outbox's owner's (the service's user), as the service's own answers are.
#[test]
fn answers_root_writes_are_the_outbox_owners() {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        eprintln!("not root: cannot make files another user owns; skipped");
        return;
    }
    let f = Fixture::new();
    std::fs::create_dir_all(f.outbox()).unwrap();
    std::os::unix::fs::chown(f.outbox(), Some(65534), Some(65533)).unwrap();
    let report = f
        .enroll_with(
            "members.csv",
            &format!("{HEADER}B,delete,,,,,,,\n"),
            Mode::Incremental,
            false,
        )
        .unwrap();
    for file in [&report.summary_file, &report.summary.results_file] {
        let m = std::fs::metadata(file).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65533), "{}", file.display());
    }
}

/// Ctrl-C (or the service stopping) while a run reads its file: it ends at the next
/// question its progress is asked, at any phase (checking, applying), applies nothing and
/// leaves no staging tables.
#[test]
fn a_run_told_to_stop_at_any_question_applies_nothing() {
    let before = format!("{HEADER}{}", members(6, "01"));
    let after = format!("{HEADER}{}", members(6, "02"));
    let asked = std::cell::Cell::new(0u32);
    let stop_at = std::cell::Cell::new(0u32);
    let go_on = || {
        asked.set(asked.get() + 1);
        match asked.get() == stop_at.get() {
            true => Err(StoreError::Interrupted),
            false => Ok(()),
        }
    };
    let progress = crate::enroll::progress::Stoppable::new(&Silent, go_on);
    let run = |f: &Fixture| {
        let path = f.file("moved.csv", after.as_bytes());
        f.staged(&path, &options(Mode::Full), &progress, THIN_SLICES)
    };
    // a whole run counts the questions
    let f = Fixture::new();
    f.enroll(&before);
    run(&f).unwrap();
    let questions = asked.get();
    assert!(questions >= 2, "asked {questions} times");
    for n in 1..=questions {
        let f = Fixture::new();
        f.enroll(&before);
        let enrolled = f.enrolled();
        asked.set(0);
        stop_at.set(n);
        let err = run(&f).unwrap_err();
        assert!(
            matches!(err, EnrollError::Store(StoreError::Interrupted)),
            "question {n}: {err}"
        );
        assert_eq!(asked.get(), n, "asked on after it said no");
        assert!(!staging_exists(&f.store));
        assert_eq!(f.enrolled(), enrolled, "question {n}");
    }
}

/// An answer written under the service's umask (0077 as installed) is its owner's alone,
/// and its group's too when the outbox lets its group read: an outbox a core's SFTP account
/// fetches answers from. Nothing else is given, and nothing taken away.
#[test]
fn answers_are_readable_by_the_outboxs_group_when_the_outbox_is() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let set =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for (folder, file, then) in [
        (0o2750, 0o600, 0o640),
        (0o770, 0o600, 0o640),
        (0o700, 0o600, 0o600),
        (0o711, 0o600, 0o600),
        (0o750, 0o644, 0o644),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        std::fs::create_dir(&outbox).unwrap();
        let answer = outbox.join("members.summary.json");
        std::fs::write(&answer, b"{}").unwrap();
        set(&answer, file);
        set(&outbox, folder);
        readable_as_the_folder_says(&outbox, &answer).unwrap();
        assert_eq!(mode(&answer), then, "folder {folder:o}, file {file:o}");
    }
}

/// A core's export with US dates: read in the order `[enroll] slash_dates` names, in the
/// store as the day meant; without it, the file's rows are refused, nothing enrolled.
#[test]
fn a_file_of_slash_dates_is_read_in_the_order_the_configuration_names() {
    use crate::civil::SlashDates::{DayFirst, MonthFirst};
    let body = "member_id,mobile_phone,dob,last_txn_date\n\
                S1,2025550171,3/12/1984,12/1/2026\n\
                S2,2025550172,12/25/1984,1/2/2026 4:05 PM\n";
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
    let cases = [
        (None, None, None, "malformed_row"),
        (Some(MonthFirst), day(1984, 3, 12), day(2026, 12, 1), ""),
        // day first, S1 is 3 December and 12 January; S2's 25th month refuses its row
        (
            Some(DayFirst),
            day(1984, 12, 3),
            day(2026, 1, 12),
            "malformed_row",
        ),
    ];
    for (order, dob, last_txn, s2) in cases {
        let f = Fixture::new();
        let path = f.file("slashes.csv", body.as_bytes());
        let options = Options {
            slash_dates: order,
            ..options(Mode::Incremental)
        };
        let report = run(&f.store, &path, &f.outbox(), &options, "test", &Silent).unwrap();
        let results = f.results(&report);
        assert_eq!(results[1].2, s2, "{order:?}");
        let txn = f.store.begin_read().unwrap();
        let s1 = embedded::get(&txn, "S1").unwrap().map(|r| r.member);
        assert_eq!(s1.as_ref().and_then(|m| m.dob), dob, "{order:?}");
        assert_eq!(s1.and_then(|m| m.last_txn_date), last_txn, "{order:?}");
    }
}

/// A spreadsheet's empty first rows, saved as `,,` (or as empty lines): skipped, the header
/// read after them, and the rows' lines still counted from the file's first.
#[test]
fn blank_rows_above_the_header_are_skipped() {
    let f = Fixture::new();
    let report = f
        .enroll_with(
            "blank-first.csv",
            ",,\r\n\r\n , ,\r\nmember_id,mobile_phone,zip\r\nA,2025550101,55401\r\n",
            Mode::Incremental,
            false,
        )
        .unwrap();
    assert_eq!(report.summary.results.get("created"), Some(&1));
    let results = std::fs::read_to_string(&report.summary.results_file).unwrap();
    assert_eq!(
        results.lines().nth(1).map(|l| &l[..2]),
        Some("5,"),
        "{results}"
    );
}

/// A core's export that ends with a trailer (`TRAILER,2`): the trailer is no member's row,
/// and a count that is not the rows above it (with the header, or the header and the
/// trailer, as some count) refuses the file before anything is applied: it was cut short.
/// A row shaped as a trailer that is not the last is a row like any other.
#[test]
fn a_trailer_row_is_no_member_and_its_count_is_checked() {
    let f = Fixture::new();
    let rows = "member_id,mobile_phone\nA,2025550101\nB,2025550102\n";
    for (n, trailer) in [
        "TRAILER,2",
        "TRAILER,3",
        "TRL|4",
        "Total Records: 2",
        "EOF,",
    ]
    .into_iter()
    .enumerate()
    {
        let trailer = trailer.replace('|', ",");
        let report = f
            .enroll_with(
                &format!("ok{n}.csv"),
                &format!("{rows}{trailer}\r\n\r\n"),
                Mode::Incremental,
                true,
            )
            .unwrap();
        assert_eq!(report.summary.rows, 2, "{trailer}");
        assert_eq!(report.summary.reasons, BTreeMap::new(), "{trailer}");
    }
    for trailer in ["TRAILER,1", "TRAILER,5", "RECORD COUNT,0"] {
        let err = f
            .enroll_with("cut.csv", &format!("{rows}{trailer}\n"), Mode::Full, false)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cut.csv: line 4 is a trailer whose count is not the 2 rows between the header \
             and it (nor them with the header, or the header and the trailer): the file may \
             have been cut short (or joined to another); nothing was applied. Export it again"
        );
    }
    // a member whose id is such a word, with only an SSN's last four, is taken for one: the
    // refusal never says the number
    let err = f
        .enroll_with(
            "end.csv",
            "member_id,ssn_last4,mobile_phone\nA,1111,2025550101\nEND,6789,\n",
            Mode::Incremental,
            true,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("line 3 is a trailer") && !err.to_string().contains("6789"),
        "{err}"
    );
    assert!(f.enrolled().is_empty(), "nothing applied");
    // not the last row: a member's (rejected, having no phone), and the trailer after it
    let got = f.enroll(&format!("{rows}EOF,\nC,2025550103\nTRAILER,4\n"));
    assert_eq!(
        got,
        [
            triple("A", "created", ""),
            triple("B", "created", ""),
            triple("EOF", "rejected", "missing_phone"),
            triple("C", "created", ""),
        ]
    );
}

/// Two files joined into one (`cat a.csv b.csv`): the second header is a row that says
/// what it is, and the rows around it are members.
#[test]
fn a_header_again_below_the_first_line_says_so() {
    let f = Fixture::new();
    let got =
        f.enroll("member_id,mobile_phone\nA,2025550101\nMember ID,Mobile Phone\nB,2025550102\n");
    assert_eq!(
        got,
        [
            triple("A", "created", ""),
            triple("Member ID", "rejected", "malformed_row"),
            triple("B", "created", ""),
        ]
    );
    let report = f
        .enroll_with(
            "again.csv",
            "member_id,mobile_phone\nmember_id,mobile_phone\n",
            Mode::Incremental,
            true,
        )
        .unwrap();
    let results = std::fs::read_to_string(&report.summary.results_file).unwrap();
    assert!(
        results.contains("this row names the columns, as the header does: two files joined"),
        "{results}"
    );
}

/// A file written for Excel, with its separator line first (`sep=,`): the line is skipped,
/// the header read after it, and the rows' lines still counted from the file's first.
#[test]
fn an_excel_separator_line_before_the_header_is_skipped() {
    let f = Fixture::new();
    let got = f.enroll("sep=,\r\nmember_id,mobile_phone\r\nA,2025550101\r\nB,not a phone\r\n");
    assert_eq!(
        got,
        [
            triple("A", "created", ""),
            triple("B", "rejected", "invalid_phone")
        ]
    );
    let report = f
        .enroll_with(
            "again.csv",
            "Sep=,\nmember_id,mobile_phone\nA,2025550101\nB,not a phone\n",
            Mode::Incremental,
            true,
        )
        .unwrap();
    let results = std::fs::read_to_string(&report.summary.results_file).unwrap();
    let lines: Vec<&str> = results
        .lines()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(lines, ["line", "3", "4"], "{results}");
    // a first field that only starts so is a header like any other
    let err = f
        .enroll_with(
            "sepx.csv",
            "sep=x,y\nA,2025550101\n",
            Mode::Incremental,
            false,
        )
        .unwrap_err();
    assert!(err.to_string().contains("no header row"), "{err}");
}
