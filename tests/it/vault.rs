//! The PIN vault end to end: `pins import`, `vault status`, `vault rotate-key`, `member
//! unlock` through the running service, and the agents' unlock / force-PIN-change endpoints.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Instance, text};

const SECRET_PIN: &str = "918273645012";

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn status_line(i: &Instance, label: &str) -> String {
    let status = ok(&i.cli(&["vault", "status"]));
    status
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in {status}"))
        .split(':')
        .nth(1)
        .unwrap()
        .trim()
        .to_string()
}

fn enrolled_ids(i: &Instance, n: usize) -> Vec<String> {
    let file = i.path("members.csv");
    ok(&i.cli(&["gen-members", "40", "--clean", "-o", file.to_str().unwrap()]));
    ok(&i.cli(&["enroll", file.to_str().unwrap()]));
    let results = std::fs::read_to_string(i.path("state/outbox/members.results.csv")).unwrap();
    results
        .lines()
        .filter(|l| l.contains(",created,"))
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .take(n)
        .collect()
}

/// `callvault pins import` of `body` as `pins.csv`, with `flags`.
fn import_pins(i: &Instance, body: &str, flags: &[&str]) -> std::process::Output {
    let pins = i.path("pins.csv");
    std::fs::write(&pins, body).unwrap();
    let mut args = vec!["pins", "import", pins.to_str().unwrap()];
    args.extend_from_slice(flags);
    i.cli(&args)
}

#[test]
fn pins_are_imported_upgraded_and_rotated_through_the_service() {
    let mut i = Instance::started();
    let ids = enrolled_ids(&i, 3);
    let out = import_pins(
        &i,
        &format!(
            "member_id,pin\n{},{SECRET_PIN}\n{},4821\n{},0000\nghost,2749\n{},12ab\n",
            ids[0], ids[1], ids[2], ids[0]
        ),
        &[],
    );
    let stdout = ok(&out);
    assert!(
        stdout.contains("5 rows")
            && stdout.contains("duplicate_member 1")
            && stdout.contains("invalid_pin 1"),
        "{stdout}"
    );
    assert!(stdout.contains("imported 2") && stdout.contains("unknown_member 1"));
    let results = std::fs::read_to_string(i.path("state/outbox/pins.results.csv")).unwrap();
    assert!(
        results.contains(&format!("3,{},imported", ids[1])),
        "{results}"
    );
    assert!(results.contains("5,ghost,unknown_member"), "{results}");
    let root = i.dir.path().display().to_string();
    for text in [&results, &stdout, &text(&out.stderr)] {
        // the test folder's random name may hold any four digits
        let text = text.replace(&root, "DIR");
        assert!(!text.contains(SECRET_PIN) && !text.contains("4821"));
    }
    assert_eq!(status_line(&i, "records"), "2");

    // the background task gives the sealed PINs their bcrypt hash
    let deadline = Instant::now() + Duration::from_secs(30);
    while status_line(&i, "bcrypt:") != "2" {
        assert!(Instant::now() < deadline, "sealed PINs were not upgraded");
        std::thread::sleep(Duration::from_millis(200));
    }

    let old_key = status_line(&i, "current key");
    let rotated = ok(&i.cli(&["vault", "rotate-key"]));
    assert!(rotated.contains("2 records sealed again"), "{rotated}");
    let new_key = status_line(&i, "current key");
    assert_ne!(old_key, new_key);
    assert!(rotated.contains(&old_key) && rotated.contains(&new_key));
    let key_file = i.path("etc/vault.key");
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!i.path("etc/vault.key.next").exists());

    // after a restart the new key file opens every record
    i.stop();
    i.start();
    assert_eq!(status_line(&i, "loaded keys"), new_key);
    let shown: Value = serde_json::from_str(&ok(&i.cli(&["member", "show", &ids[1]]))).unwrap();
    assert_eq!(shown["pin"]["has_pin"], true);
    assert_eq!(shown["pin"]["storage"], "bcrypt");
    assert_eq!(shown["pin"]["established"], false);

    let audit = i.audit_export();
    assert!(audit.contains("\"pins_imported\"") && audit.contains("\"vault_key_rotated\""));
    assert!(!audit.contains(SECRET_PIN));
    let db = std::fs::read(i.path("state/callvault.redb")).unwrap();
    assert!(
        !db.windows(SECRET_PIN.len())
            .any(|w| w == SECRET_PIN.as_bytes())
    );
}

/// A store whose vault key file went missing (restored without it) and got a new one from
/// `init`: init says so, `vault status` names the key the records need, the service will not
/// start on them (it would answer every PIN with an error), and once `vault forget-key`
/// removes them, as it does only for a key the vault does not hold, it starts.
#[test]
fn a_store_without_its_vault_key_is_refused_until_the_key_is_back_or_forgotten() {
    let mut i = Instance::init();
    let ids = enrolled_ids(&i, 2);
    let body = format!("member_id,pin\n{},4821\n{},7302\n", ids[0], ids[1]);
    ok(&import_pins(&i, &body, &[]));
    let sealed_under = status_line(&i, "current key");
    let backup = i.path("before.redb");
    ok(&i.cli(&["db", "backup", backup.to_str().unwrap()]));
    let key_file = i.path("etc/vault.key");
    let kept = i.path("vault.key.kept");
    std::fs::rename(&key_file, &kept).unwrap();

    let out = i.cli(&["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains(&format!("PIN records are sealed under key {sealed_under}")),
        "{said}"
    );
    let new_key = status_line(&i, "current key");
    assert_ne!(new_key, sealed_under);
    let status = ok(&i.cli(&["vault", "status"]));
    assert!(
        status.contains(&format!(
            "under key {sealed_under}: 2, which no loaded key opens"
        )),
        "{status}"
    );

    let refused = i.spawn_serve().wait_with_output().unwrap();
    assert!(!refused.status.success());
    let why = text(&refused.stderr);
    assert!(
        why.contains(&format!("sealed under key {sealed_under}"))
            && why.contains(&format!("holds key {new_key}"))
            && why.contains(&format!("callvault vault forget-key {sealed_under}")),
        "{why}"
    );

    // the key put back: it starts, and the PINs are there
    let new_file = i.path("vault.key.new");
    std::fs::rename(&key_file, &new_file).unwrap();
    std::fs::rename(&kept, &key_file).unwrap();
    i.start();
    assert_eq!(status_line(&i, "records"), "2");
    i.stop();

    // the key lost for good: forget-key removes what it sealed, never the vault's own
    std::fs::rename(&new_file, &key_file).unwrap();
    let own = i.cli(&["vault", "forget-key", &new_key]);
    assert_eq!(own.status.code(), Some(1));
    assert!(
        text(&own.stderr).contains("is the vault's own"),
        "{}",
        text(&own.stderr)
    );
    let forgot = ok(&i.cli(&["vault", "forget-key", &sealed_under.to_uppercase()]));
    assert!(
        forgot.contains(&format!(
            "removed 2 PIN records sealed under key {sealed_under}"
        )),
        "{forgot}"
    );
    i.start();
    assert_eq!(status_line(&i, "records"), "0");
    let audit = i.audit_export();
    assert!(
        audit.contains(&format!(
            "\"kind\":\"vault_key_forgotten\",\"call_id\":null,\"member_id\":null,\"outcome\":\"ok\",\"detail\":\"key {sealed_under}: 2 PIN records"
        )),
        "{audit}"
    );
    // a backup sealed under the lost key, restored: said at once, not at the next start
    i.stop();
    let restored = i.cli(&["db", "restore", backup.to_str().unwrap()]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let said = text(&restored.stderr);
    assert!(
        said.contains(&format!(
            "warning: the vault's PIN records are sealed under key {sealed_under}"
        )),
        "{said}"
    );
}

#[test]
fn vault_status_says_why_imported_pins_are_still_sealed() {
    // no service: nothing gives the imported PINs their bcrypt hash yet
    let i = Instance::init();
    let ids = enrolled_ids(&i, 2);
    let body = format!(
        "member_id,pin,branch\n{},4821,7\n{},7302,7\n",
        ids[0], ids[1]
    );
    let said = ok(&import_pins(&i, &body, &[]));
    assert!(
        said.lines().any(|l| l == "columns ignored: branch"),
        "{said}"
    );
    let sealed = |env: &[(&str, &str)]| {
        let out = i.cli_env(&["vault", "status"], env);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let said = text(&out.stdout);
        said.lines()
            .find(|l| l.trim_start().starts_with("sealed PIN:"))
            .unwrap_or_else(|| panic!("no sealed PIN line in {said}"))
            .to_string()
    };
    let hashed = sealed(&[]);
    assert!(
        hashed.contains("2 (imported, waiting for a bcrypt hash; the running service"),
        "{hashed}"
    );
    // in encrypted mode a sealed PIN is what every record holds: nothing is waiting
    let encrypted = sealed(&[("CALLVAULT__VAULT__MODE", "encrypted")]);
    assert_eq!(encrypted.trim(), "sealed PIN:   2");
}

#[test]
fn agents_unlock_and_force_pin_changes_over_https() {
    let i = Instance::started();
    let ids = enrolled_ids(&i, 2);
    let body = format!("member_id,pin\n{},2749\n", ids[0]);
    ok(&import_pins(&i, &body, &["--established"]));
    let agent = ok(&i.cli(&["key", "create", "--role", "agent", "--name", "desk1"]))
        .trim()
        .to_string();
    let ivr = ok(&i.cli(&["key", "create", "--role", "ivr", "--name", "ivr1"]))
        .trim()
        .to_string();
    let post = |path: &str, key: &str| {
        let res = i
            .client()
            .post(i.url(path))
            .bearer_auth(key)
            .send()
            .unwrap();
        let status = res.status();
        (status, res.json::<Value>().unwrap())
    };
    let force = format!("/v1/members/{}/force-pin-change", ids[0]);
    let (status, body) = post(&force, &agent);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["force_pin_change"], true);
    let shown: Value = serde_json::from_str(&ok(&i.cli(&["member", "show", &ids[0]]))).unwrap();
    assert_eq!(shown["pin"]["force_change"], true);
    assert_eq!(shown["pin"]["established"], true);

    let cases = [
        (
            force.clone(),
            ivr.clone(),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "/v1/members/ghost/force-pin-change".to_string(),
            agent.clone(),
            StatusCode::NOT_FOUND,
            "no_such_member",
        ),
        (
            format!("/v1/members/{}/force-pin-change", ids[1]),
            agent.clone(),
            StatusCode::NOT_FOUND,
            "no_pin",
        ),
        (
            "/v1/members/ghost/unlock".to_string(),
            i.admin.clone(),
            StatusCode::NOT_FOUND,
            "no_such_member",
        ),
    ];
    for (path, key, want, code) in cases {
        let (status, body) = post(&path, &key);
        assert_eq!(
            (status, body["code"].as_str()),
            (want, Some(code)),
            "{path}"
        );
    }
    let (status, body) = post(&format!("/v1/members/{}/unlock", ids[0]), &agent);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["was_locked"], false);
    let out = ok(&i.cli(&["member", "unlock", &ids[0]]));
    assert!(out.contains("was not locked"), "{out}");
    // The CLI refuses what the HTTP face refuses: a mistyped id is not "not locked".
    let refused = [
        (
            &["member", "unlock", "ghost"][..],
            "no member \"ghost\" is enrolled",
        ),
        (
            &["member", "force-pin-change", "ghost"],
            "no member \"ghost\" is enrolled",
        ),
        (&["member", "force-pin-change", &ids[1]], "has no PIN"),
    ];
    for (args, want) in refused {
        let out = i.cli(args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out.stdout));
        assert!(
            text(&out.stderr).contains(want),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }

    let audit = i.audit_export();
    let forced: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "pin_change_forced")
        .collect();
    assert_eq!(forced.len(), 1);
    assert_eq!(forced[0]["actor"], "key:desk1");
    assert_eq!(forced[0]["member_id"], ids[0].as_str());
    assert!(audit.contains("\"member_unlocked\""));
}

/// `callvault pins force-change`: the members a file lists, or every PIN (`--all`), through
/// the running service and with it stopped; `member show` says each is asked, the audit
/// log has one record of the run; a file with a line that is no member id changes nothing
/// and names the line.
#[test]
fn many_members_are_asked_for_a_new_pin_from_a_file_or_all_at_once() {
    let mut i = Instance::started();
    let ids = enrolled_ids(&i, 4);
    let body = format!(
        "member_id,pin\n{},274918\n{},590237\n{},731546\n",
        ids[0], ids[1], ids[2]
    );
    ok(&import_pins(&i, &body, &["--established"]));
    let asked = |i: &Instance, id: &str| {
        let shown: Value = serde_json::from_str(&ok(&i.cli(&["member", "show", id]))).unwrap();
        shown["pin"]["force_change"].as_bool()
    };
    let listed = i.path("suspect.txt");
    std::fs::write(
        &listed,
        format!(
            "Member Number\n# from the fraud team\n{}\n{}\n\n{}\n99999999\n",
            ids[0], ids[3], ids[0]
        ),
    )
    .unwrap();
    let out = ok(&i.cli(&["pins", "force-change", listed.to_str().unwrap()]));
    assert!(
        out.contains(
            "1 member asked to choose a new PIN after their next correct one; 0 asked before"
        ) && out.contains("1 member listed has no PIN in the vault")
            && out.contains("warning: 1 id listed is of no enrolled member: nothing to change"),
        "{out}"
    );
    assert_eq!(
        (asked(&i, &ids[0]), asked(&i, &ids[1])),
        (Some(true), Some(false))
    );
    // a bad line: nothing changes, and the line is named
    let bad = i.path("bad.txt");
    std::fs::write(&bad, format!("{}\nA\u{7}B\n", ids[1])).unwrap();
    let out = i.cli(&["pins", "force-change", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 2: not a member id")
            && text(&out.stderr).contains("nothing changed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(asked(&i, &ids[1]), Some(false));
    // a report's title above the header: the header's line is named, nothing changes
    std::fs::write(&bad, format!("Suspect members\nmember_id\n{}\n", ids[1])).unwrap();
    let out = i.cli(&["pins", "force-change", bad.to_str().unwrap()]);
    assert!(
        text(&out.stderr).contains("line 2: \"member_id\" names the column of member ids"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(asked(&i, &ids[1]), Some(false));
    std::fs::write(&bad, "member_id\n# none yet\n").unwrap();
    let out = i.cli(&["pins", "force-change", bad.to_str().unwrap()]);
    assert!(
        !out.status.success() && text(&out.stderr).contains("lists no member id"),
        "{}",
        text(&out.stderr)
    );
    // neither a file nor --all, or both: clap refuses
    for args in [
        &["pins", "force-change"][..],
        &["pins", "force-change", "--all", "x.txt"],
    ] {
        assert!(!i.cli(args).status.success(), "{args:?}");
    }
    // every PIN, with the service stopped (the file opened directly)
    assert!(i.stop().success());
    // a dry run says what it would do, and does nothing
    let out = ok(&i.cli(&["pins", "force-change", "--all", "--dry-run"]));
    assert!(
        out.starts_with("dry run, nothing changed") && out.contains("2 members asked"),
        "{out}"
    );
    assert_eq!(asked(&i, &ids[1]), Some(false));
    let out = ok(&i.cli(&["pins", "force-change", "--all"]));
    assert!(
        out.contains("2 members asked") && out.contains("1 asked before"),
        "{out}"
    );
    // nothing without a PIN or of no member: no line for them
    assert!(
        !out.contains("no PIN in the vault") && !out.contains("no enrolled member"),
        "{out}"
    );
    assert_eq!(
        (asked(&i, &ids[1]), asked(&i, &ids[2])),
        (Some(true), Some(true))
    );
    assert_eq!(
        status_line(&i, "asked for a new PIN:"),
        "3 (after their next correct one; not chosen yet)"
    );
    let audit = ok(&i.cli(&["audit", "export"]));
    let runs: Vec<&str> = (audit.lines())
        .filter(|l| l.contains("\"kind\":\"pin_change_forced\""))
        .collect();
    assert_eq!(runs.len(), 3, "{audit}");
    assert!(
        runs[0].contains("the 3 members")
            && runs[0].contains("1 asked, 0 asked before")
            && runs[0].contains("1 without a PIN, 1 not enrolled")
            && runs[1].contains(
                "dry run, nothing changed: every member with a PIN in the vault: 2 asked"
            )
            && runs[2].contains("\"every member with a PIN in the vault: 2 asked, 1 asked before"),
        "{runs:?}"
    );
    // the members' PINs never reach the log
    i.assert_never_written(&["274918", "590237", "731546"]);
}
