//! Pre-enrollment with the service running: the inbox, the CLI through the service, members.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Instance, text};

/// keep_days: the hourly clean-up runs at the first look, and must not take a fresh file (one
/// an upload gave an old time among them).
const FAST_INBOX: &str = "\n[enroll]\npoll_seconds = 1\nsettle_seconds = 0\nkeep_days = 1\n";

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn generate(i: &Instance, name: &str, rows: &str) -> std::path::PathBuf {
    let path = i.path(name);
    let out = i.cli(&[
        "gen-members",
        rows,
        "--crlf",
        "--bom",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    path
}

#[test]
fn files_dropped_in_the_inbox_are_enrolled_or_failed_while_serving() {
    let mut i = Instance::init_with(FAST_INBOX);
    i.start();
    let state = i.path("state");
    let generated = generate(&i, "gen.csv", "500");
    // Written elsewhere and moved in, as an SFTP upload finishing would, its time kept
    // from two days back (`sftp put -p`).
    let two_days_back = std::time::SystemTime::now() - Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&generated)
        .unwrap()
        .set_modified(two_days_back)
        .unwrap();
    std::fs::rename(&generated, state.join("inbox/members.csv")).unwrap();
    wait_for("the file to be processed", || {
        state.join("processed/members.csv").exists()
    });
    let results = std::fs::read_to_string(state.join("outbox/members.results.csv")).unwrap();
    assert_eq!(
        results.lines().count(),
        501,
        "a result line for every data row"
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(state.join("outbox/members.summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["rows"], 500);
    let created = summary["results"]["created"].as_u64().unwrap();
    assert!(created > 400, "{summary}");
    assert_eq!(summary["members_enrolled"].as_u64(), Some(created));

    // A member over the API, masked.
    let first_created = results.lines().find(|l| l.contains(",created,")).unwrap();
    let member_id = first_created.split(',').nth(1).unwrap();
    let res = i
        .client()
        .get(i.url(&format!("/v1/members/{member_id}")))
        .bearer_auth(&i.admin)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let member: Value = res.json().unwrap();
    assert_eq!(member["ssn_last4"], "****");
    assert!(member["mobile_phone"].as_str().unwrap().contains("******"));
    let res = i
        .client()
        .get(i.url("/v1/members/nobody"))
        .bearer_auth(&i.admin)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // A file with a problem of its own goes to failed/ with the reason beside it.
    std::fs::write(state.join("inbox/broken.csv"), "who,what\n1,2\n").unwrap();
    wait_for("the broken file to fail", || {
        state.join("failed/broken.csv.error.txt").exists()
    });
    let why = std::fs::read_to_string(state.join("failed/broken.csv.error.txt")).unwrap();
    assert!(why.contains("no header row"), "{why}");
    assert!(!state.join("inbox/broken.csv").exists());

    // A misspelt column is ignored, as ENROLL.md says, and the log tells the one meant.
    std::fs::write(
        state.join("inbox/spelt.csv"),
        "member_id,mobile_phone,frist_name\nZ1,2025550177,Zed\n",
    )
    .unwrap();
    wait_for("the misspelt file to be processed", || {
        state.join("processed/spelt.csv").exists()
    });
    // the log tells the column meant, and that Z1 is without the facts the built-in
    // profile uses
    for said in [
        "columns ignored: frist_name (did you mean first_name?)",
        "no column for member facts the profiles use: dob, zip, ssn_last4, last_txn_amount, \
         last_txn_date, savings_balance, place_of_birth, account_numbers (",
    ] {
        let log = i.service_log_with(said);
        assert!(
            log.lines()
                .any(|l| l.contains("WARN") && l.contains("spelt.csv") && l.contains(said)),
            "{log}"
        );
    }

    // Whoever uploads chooses the names: a line break in one does not forge a line of the
    // log, nor a terminal escape reach the screen of whoever reads it.
    let forged = "2026-12-06T00:00:00Z ERROR core unreachable";
    for (name, body) in [
        (
            format!("late\n{forged}.csv"),
            "member_id,mobile_phone\nZ2,2025550178\n",
        ),
        ("red\u{1b}[31m.csv".to_string(), "who,what\n"),
    ] {
        std::fs::write(state.join("inbox").join(&name), body).unwrap();
        let done = ["processed", "failed"].map(|to| state.join(to).join(&name));
        wait_for("the file to be taken", || done.iter().any(|f| f.exists()));
    }
    let log = i.service_log_with("red\\u{1b}[31m.csv");
    assert!(
        log.contains(&format!("late\\n{forged}.csv")),
        "the name, escaped: {log}"
    );
    assert!(!log.lines().any(|l| l.starts_with(forged)), "{log}");
    assert!(!log.contains('\u{1b}'), "{log}");

    // A folder of files or a link is never taken, and the log says so once, with what to do;
    // a workbook uploaded rather than its CSV export fails, named as what it is.
    let inbox = state.join("inbox");
    std::fs::create_dir(inbox.join("december")).unwrap();
    std::fs::write(inbox.join("december/members.csv"), "member_id\n").unwrap();
    std::os::unix::fs::symlink(
        state.join("processed/members.csv"),
        inbox.join("linked.csv"),
    )
    .unwrap();
    let mut workbook = b"PK\x03\x04".to_vec();
    workbook.extend([0u8; 22]);
    workbook.extend([19, 0, 0, 0]);
    workbook.extend(b"[Content_Types].xml<Types/>");
    std::fs::write(inbox.join("members.xlsx"), workbook).unwrap();
    wait_for("the workbook to fail", || {
        state.join("failed/members.xlsx.error.txt").exists()
    });
    let why = std::fs::read_to_string(state.join("failed/members.xlsx.error.txt")).unwrap();
    assert!(
        why.contains("a spreadsheet workbook (.xlsx or .ods), not CSV text"),
        "{why}"
    );
    // more scans pass with both still there: each was told of once
    std::fs::write(inbox.join("later.csv"), "who,what\n").unwrap();
    wait_for("a later file to be taken", || {
        state.join("failed/later.csv").exists()
    });
    let log = i.service_log_with("later.csv");
    for (entry, said) in [
        ("december", "a folder in the inbox is not looked into"),
        ("linked.csv", "a link in the inbox is not followed"),
    ] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(said) && l.contains(entry))
            .collect();
        assert_eq!(lines.len(), 1, "{entry}: {log}");
        assert!(lines[0].contains("WARN"), "{}", lines[0]);
    }
    assert!(inbox.join("december/members.csv").exists() && inbox.join("linked.csv").exists());

    let audit = i.audit_export();
    assert!(audit.contains("\"enrollment_run\"") && audit.contains("\"enrollment_failed\""));
    assert!(
        state.join("processed/members.csv").exists() && !audit.contains("enrollment_files_removed"),
        "a file moved in today is kept, whatever time its upload kept"
    );
    for l in audit.lines() {
        let record: Value = serde_json::from_str(l).unwrap();
        let detail = record["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.contains("@cu.example"),
            "member data in the audit log: {detail}"
        );
    }
}

#[test]
fn the_cli_enrolls_through_the_running_service() {
    let mut i = Instance::started();
    let file = generate(&i, "batch.csv", "300");
    let out = i.cli(&["enroll", file.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("dry run, nothing changed"),
        "{}",
        text(&out.stdout)
    );
    let results = std::fs::read_to_string(i.path("state/outbox/batch.results.csv")).unwrap();
    let would_be = results
        .lines()
        .find(|l| l.contains(",created,"))
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap();
    let out = i.cli(&["member", "show", would_be]);
    assert!(!out.status.success(), "a dry run enrolled {would_be}");
    assert!(
        text(&out.stderr).contains("no member"),
        "{}",
        text(&out.stderr)
    );

    let out = i.cli(&["enroll", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("300 rows") && stdout.contains("created"),
        "{stdout}"
    );

    let out = i.cli(&["enroll", file.to_str().unwrap()]);
    let again = text(&out.stdout);
    assert!(
        !again.contains("created") && again.contains("unchanged"),
        "{again}"
    );
    assert!(
        again.starts_with("batch.csv: 300 rows; rejected ") && again.contains(", unchanged "),
        "{again}"
    );
    // a header and no rows: no results to list after the count
    let empty = i.path("header-only.csv");
    std::fs::write(&empty, "member_id,mobile_phone,frist_name,shoe_size\n").unwrap();
    let out = i.cli(&["enroll", empty.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.first(), Some(&"header-only.csv: 0 rows"));
    // no member made: none short of an answer
    assert!(!said.contains("no column for member facts"), "{said}");
    // an ignored column is told the column it was likely meant to be
    assert!(
        lines.contains(&"columns ignored: frist_name (did you mean first_name?), shoe_size"),
        "{said}"
    );
    // and a misspelt required column stops the file with it
    let misspelt = i.path("misspelt.csv");
    std::fs::write(&misspelt, "member_id,Mobil_Phone\nA,2025550101\n").unwrap();
    let out = i.cli(&["enroll", misspelt.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(
            "missing required column mobile_phone (\"Mobil_Phone\": did you mean mobile_phone?)"
        ),
        "{}",
        text(&out.stderr)
    );
    // a core's placeholders for "unknown", which are not asked, are counted for the admin
    let unknowns = i.path("unknowns.csv");
    std::fs::write(
        &unknowns,
        "member_id,mobile_phone,dob,zip\nU1,2025550171,1900-01-01,00000\nU2,2025550172,1900-01-01,55401\n",
    )
    .unwrap();
    let out = i.cli(&["enroll", unknowns.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.lines().any(|l| l
            == "members not asked a fact their row holds as a placeholder for unknown \
                (1900-01-01, 00000, 0000, UNKNOWN...): dob 2, zip 1 (the results file's \
                detail names them)"),
        "{said}"
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(i.path("state/outbox/unknowns.summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        summary["placeholders"],
        serde_json::json!({"dob": 2, "zip": 1})
    );

    let results = std::fs::read_to_string(i.path("state/outbox/batch.results.csv")).unwrap();
    let id = results
        .lines()
        .find(|l| l.contains(",unchanged,"))
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap();
    let out = i.cli(&["member", "show", id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["member_id"], id);
    assert!(shown["dob"].as_str().unwrap().ends_with("-**-**"));

    let out = i.cli(&["enroll", i.path("missing.csv").to_str().unwrap()]);
    assert!(!out.status.success());

    // A file Excel saved as "CSV (Comma delimited)": Windows-1252. Refused, saying how it
    // would read; read with the flag, for this run only.
    let ansi = i.path("ansi.csv");
    std::fs::write(
        &ansi,
        b"member_id,mobile_phone,first_name\r\nE1,2025550188,Jos\xE9\r\n",
    )
    .unwrap();
    let ansi = ansi.to_str().unwrap();
    let out = i.cli(&["enroll", ansi]);
    let why = text(&out.stderr);
    assert!(
        !out.status.success(),
        "a Windows-1252 file was read unasked"
    );
    assert!(
        why.contains("line 2 is not UTF-8") && why.contains("--encoding windows-1252"),
        "{why}"
    );
    let out = i.cli(&["enroll", ansi, "--encoding", "windows-1252"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(
        said.contains("rows read as Windows-1252, not being UTF-8: 1 of 1"),
        "{said}"
    );
    let out = i.cli(&["member", "show", "E1"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["first_name"], "José", "{shown}");
    // Excel for Mac's "Comma Separated Values": Mac Roman, where é is 8E (lone CR line ends)
    let mac = i.path("mac.csv");
    std::fs::write(
        &mac,
        b"member_id,mobile_phone,first_name\rE2,2025550187,Jos\x8E\r",
    )
    .unwrap();
    let out = i.cli(&["enroll", mac.to_str().unwrap(), "--encoding", "mac-roman"]);
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("rows read as Mac Roman, not being UTF-8: 1 of 1"),
        "{said}"
    );
    let out = i.cli(&["member", "show", "E2"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["first_name"], "José", "{shown}");
    // A core's tab-delimited export: refused, naming its separator; read with the flag.
    let tabs = i.path("tabs.txt");
    std::fs::write(&tabs, "member_id\tmobile_phone\nT1\t2025550189\n").unwrap();
    let tabs = tabs.to_str().unwrap();
    let out = i.cli(&["enroll", tabs]);
    let why = text(&out.stderr);
    assert!(
        !out.status.success(),
        "a tab-separated file was read with commas"
    );
    assert!(why.contains("--separator tab`"), "{why}");
    let out = i.cli(&["enroll", tabs, "--separator", "\t"]);
    assert!(
        !out.status.success(),
        "a tab character is named by its word"
    );
    let out = i.cli(&["enroll", tabs, "--separator", "tab"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = i.cli(&["member", "show", "T1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = i.cli(&["enroll", ansi, "--encoding", "latin1"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("utf-8, windows-1252"),
        "{}",
        text(&out.stderr)
    );

    // Full mode with a truncated export (its first 100 rows): refused whole, through the
    // service, with the share it would remove and the flag that lets it go.
    let truncated = i.path("truncated.csv");
    let whole = std::fs::read_to_string(&file).unwrap();
    let head: Vec<&str> = whole.lines().take(101).collect();
    std::fs::write(&truncated, head.join("\n") + "\n").unwrap();
    let path = truncated.to_str().unwrap();
    let out = i.cli(&["enroll", path, "--mode", "full"]);
    let why = text(&out.stderr);
    assert!(!out.status.success(), "a truncated file emptied the store");
    assert!(
        why.contains("nothing was applied")
            && why.contains("enroll.full_max_removed_percent")
            && why.contains("--max-removed-percent"),
        "{why}"
    );
    let out = i.cli(&["enroll", path, "--max-removed-percent", "100"]);
    assert!(!out.status.success(), "the limit is for full mode only");
    assert!(text(&out.stderr).contains("--mode full only"));
    assert!(i.stop().success());
    // Stopped: the CLI opens the store itself.
    let out = i.cli(&["enroll", file.to_str().unwrap(), "--mode", "full"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A member past the truncated file's rows, with a PIN: forgotten along with them.
    let results = std::fs::read_to_string(i.path("state/outbox/batch.results.csv")).unwrap();
    let left_out = results
        .lines()
        .rev()
        .find(|l| l.contains(",unchanged,"))
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_string();
    let pins = i.path("pins.csv");
    std::fs::write(&pins, format!("member_id,pin\n{left_out},4827\n")).unwrap();
    let out = i.cli(&["pins", "import", pins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = i.cli(&[
        "enroll",
        path,
        "--mode",
        "full",
        "--max-removed-percent",
        "100",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("deleted"),
        "{}",
        text(&out.stdout)
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(i.path("state/outbox/truncated.summary.json")).unwrap(),
    )
    .unwrap();
    assert!(
        summary["results"]["deleted"].as_u64().unwrap() > 100,
        "{summary}"
    );
    assert_eq!(summary["pins_forgotten"], 1, "{summary}");
    assert!(
        text(&out.stdout).contains("PINs forgotten with the deleted members: 1"),
        "{}",
        text(&out.stdout)
    );
    // Back in the file, the member has no PIN: the next call activates them.
    let out = i.cli(&["enroll", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = i.cli(&["member", "show", &left_out]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["pin"]["has_pin"], false, "{shown}");
    let audit = i.audit_export();
    assert!(audit.contains("\"members_forgotten\""), "{audit}");
}

#[test]
fn vault_status_counts_pins_of_members_not_enrolled_and_member_forget_clears_one() {
    let i = Instance::started();
    let run = |name: &str, body: &str| {
        let path = i.path(name);
        std::fs::write(&path, body).unwrap();
        let out = i.cli(&["enroll", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let header = "member_id,mobile_phone,phone_type,fraud_flag\n";
    let said = run(
        "two.csv",
        &format!("{header}5001,+12025550181,mobile,n\n5002,+12025550182,mobile,n\n"),
    );
    // a clean run says nothing of rejections or forgotten PINs
    assert!(
        !said.contains("rejected because") && !said.contains("PINs forgotten"),
        "{said}"
    );
    // but it says which facts the profiles use that the file leaves its members without
    assert!(
        said.lines().any(|l| l.starts_with(
            "no column for member facts the profiles use: dob, zip, ssn_last4, last_txn_amount, \
             last_txn_date, savings_balance, place_of_birth, account_numbers (the members this \
             file creates or updates are without them)"
        )),
        "{said}"
    );
    let pins = i.path("pins.csv");
    std::fs::write(&pins, "member_id,pin\n5001,4827\n5002,3916\n").unwrap();
    let out = i.cli(&["pins", "import", pins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A fraud flag removes 5001 but, still a member, they keep their PIN.
    let said = run("flag.csv", &format!("{header}5001,+12025550181,mobile,y\n"));
    assert!(said.contains("rejected 1"), "{said}");
    assert!(said.contains("rejected because: fraud_flag 1"), "{said}");
    let status = |i: &Instance| text(&i.cli(&["vault", "status"]).stdout);
    let said = status(&i);
    assert!(
        said.contains("records of members not enrolled: 1"),
        "{said}"
    );

    let out = i.cli(&["member", "forget", "5002"]);
    assert!(
        !out.status.success(),
        "an enrolled member is deleted with a file"
    );
    assert!(
        text(&out.stderr).contains("is enrolled"),
        "{}",
        text(&out.stderr)
    );
    let out = i.cli(&["member", "forget", "5001"]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        said.contains("PIN record, counters and verdict forgotten"),
        "{said}"
    );
    // again, or an id callvault never knew: nothing to forget, and it says so
    for id in ["5001", "7777"] {
        let out = i.cli(&["member", "forget", id]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout).trim(),
            format!("member {id}: callvault held nothing about them")
        );
    }
    let said = status(&i);
    assert!(!said.contains("not enrolled"), "{said}");
    assert!(said.contains("records:        1"), "{said}");
    let audit = i.audit_export();
    assert!(
        audit.contains("\"members_forgotten\",\"call_id\":null,\"member_id\":\"5001\""),
        "{audit}"
    );
}
