//! The command line without a running service: config, init, keys, audit, db.

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};

use crate::harness::{Instance, text};

#[test]
fn config_check_lists_every_problem_with_its_key_path() {
    let i = Instance::init();
    std::fs::write(
        &i.config,
        "[server]\nlisten = \"nowhere\"\nlistn = 1\n[otp]\nttl_seconds = 9000\n[pin_policy]\nmin_length = 9\nmax_length = 5\n",
    )
    .unwrap();
    let out = i.cli(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    for path in [
        "server.listen",
        "server.listn",
        "otp.ttl_seconds",
        "pin_policy.min_length",
    ] {
        assert!(
            stdout.contains(&format!(": {path}: ")),
            "{path} not in:\n{stdout}"
        );
    }
    // the count, in English, is the number of lines above it
    let count = format!("callvault: {} problems in ", stdout.lines().count());
    assert!(
        text(&out.stderr).contains(&count),
        "{count:?} not in stderr"
    );
}

#[test]
fn config_check_and_print_accept_a_good_file_and_environment_overrides() {
    let i = Instance::init();
    let out = i.cli(&["config", "check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = i.cli_env(
        &["config", "print"],
        &[("CALLVAULT__LOCKOUT__MAX_WRONG_PINS", "9")],
    );
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("max_wrong_pins = 9"),
        "{}",
        text(&out.stdout)
    );
    // `show`, as the command's help words it, is the same command
    let shown = i.cli_env(
        &["config", "show"],
        &[("CALLVAULT__LOCKOUT__MAX_WRONG_PINS", "9")],
    );
    assert_eq!(text(&shown.stdout), text(&out.stdout));
    let out = i.cli_env(
        &["config", "check"],
        &[("CALLVAULT__LOCKOUT__MAX_WRONG_PIN", "9")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("CALLVAULT__LOCKOUT__MAX_WRONG_PIN"));

    // a file every local user can read, holding a password: valid, with a warning that
    // names the key and not the password
    use std::os::unix::fs::PermissionsExt;
    i.write_config("[notify.sms]\nurl = \"https://sms.cu.example/send\"\nauth_header = \"X-Key\"\nauth_value = \"sms-gw-5ecret\"\n");
    std::fs::set_permissions(&i.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = i.cli(&["config", "check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning:") && err.contains("notify.sms.auth_value"),
        "{err}"
    );
    assert!(!err.contains("5ecret"), "{err}");
    std::fs::set_permissions(&i.config, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = i.cli(&["config", "check"]);
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    // a known number that needs nothing: valid, with a warning naming the key
    i.write_config("[profiles.m]\ndefault = true\n[profiles.m.ivr.known_number]\nmethods = []\nmin_correct = 0\n");
    let out = i.cli(&["config", "check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning:") && err.contains("profiles.m.ivr.known_number.methods: "),
        "{err}"
    );
}

#[test]
fn config_check_warns_of_callvault_variables_it_does_not_read_and_takes_any_environment() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let i = Instance::init();
    let not_utf8 = || OsString::from_vec(vec![b'x', 0xff, 0xfe]);
    let var = |name: &str, value: &str| (OsString::from(name), OsString::from(value));
    // one underscore after CALLVAULT: an override that is not one; and an unrelated
    // variable that is not UTF-8, which used to stop every command with a panic
    let out = i.cli_os_env(
        &["config", "check"],
        [
            var("CALLVAULT_LOCKOUT__MAX_WRONG_PINS", "3"),
            var("CALLVAULT_CONFIG", i.config.to_str().unwrap()),
            (OsString::from("LEGACY_LATIN1"), not_utf8()),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: environment variable CALLVAULT_LOCKOUT__MAX_WRONG_PINS is not read")
            && err.contains("CALLVAULT__SECTION__KEY"),
        "{err}"
    );
    assert!(
        !err.contains("CALLVAULT_CONFIG") && !err.contains("LEGACY"),
        "{err}"
    );
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    // an override that is not UTF-8 is refused by its name and key, its value unprinted
    let out = i.cli_os_env(
        &["config", "check"],
        [(OsString::from("CALLVAULT__SERVER__LISTEN"), not_utf8())],
    );
    assert_eq!(out.status.code(), Some(1));
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(
        all.contains("server.listen: environment variable CALLVAULT__SERVER__LISTEN is not UTF-8"),
        "{all}"
    );
    assert!(!all.contains('\u{fffd}') && !all.contains("\\xFF"), "{all}");
}

#[test]
fn config_check_reads_the_files_the_configuration_names() {
    use std::os::unix::fs::PermissionsExt;
    let i = Instance::init();
    let garbage = i.path("etc/garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let key = i.path("etc/vault.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    // (inside [server]) a CA file the TLS clients' own readers would take as "no CA"
    let files = |client_ca: &std::path::Path, core_ca: &std::path::Path| {
        format!(
            "client_ca = {client_ca:?}\n[core]\ntype = \"rest\"\n\
             [core.rest]\nbase_url = \"https://core.cu.example\"\nca_file = {core_ca:?}\n"
        )
    };
    i.write_config(&files(&garbage, &i.path("etc/nowhere.pem")));
    let out = i.cli(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "vault.key_file: vault key file ",
        "server.client_ca: ",
        "core.rest.ca_file: ",
    ] {
        assert!(stdout.contains(line), "{line} not in:\n{stdout}");
    }
    assert!(stdout.contains("garbage.pem: certificate 1: "), "{stdout}");
    assert!(stdout.contains("nowhere.pem: No such file"), "{stdout}");
    assert!(
        text(&out.stderr).contains("3 problems in"),
        "{}",
        text(&out.stderr)
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    i.write_config(&files(&i.ca(), &i.ca()));
    // the system's zone (TZ, else /etc/localtime) is the default core.rest.time_zone: one
    // that keeps UTC would read a last transaction dated in UTC as its UTC day
    let zone = "core.rest.time_zone: unset, and this system's clock keeps UTC";
    for (tz, warned) in [("America/Chicago", false), ("UTC", true)] {
        let out = i.cli_env(&["config", "check"], &[("TZ", tz)]);
        assert!(out.status.success(), "{}", text(&out.stdout));
        let stderr = text(&out.stderr);
        if warned {
            assert!(
                stderr.contains(zone) && stderr.lines().count() == 1,
                "{stderr}"
            );
        } else {
            assert_eq!(stderr, "", "nothing to warn of");
        }
    }
    i.write_config(&format!(
        "{}time_zone = \"America/New_York\"\n",
        files(&i.ca(), &i.ca())
    ));
    let out = i.cli_env(&["config", "check"], &[("TZ", "UTC")]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert_eq!(text(&out.stderr), "", "the zone is set");
}

/// The packages install these (packaging/build.sh): a page for the command and one for each
/// subcommand, made without a configuration.
#[test]
fn manpages_are_written_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man");
    let out = std::process::Command::new(crate::harness::BIN)
        .args(["--config", "/nonexistent.toml", "manpages"])
        .arg(&man)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = |name: &str| std::fs::read_to_string(man.join(name)).unwrap_or_default();
    assert!(page("callvault.1").contains(".TH callvault 1"), "{man:?}");
    for sub in [
        "serve",
        "db-restore",
        "enroll",
        "member-find",
        "vault-rotate-key",
    ] {
        let name = format!("callvault-{sub}.1");
        assert!(page(&name).contains(".SH NAME"), "{name}");
    }
}

#[test]
fn the_example_config_passes_config_check() {
    let out = std::process::Command::new(crate::harness::BIN)
        .args([
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"),
            "config",
            "check",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn init_is_idempotent_and_prints_the_admin_key_only_once() {
    let i = Instance::init();
    let key_before = std::fs::read(i.path("etc/vault.key")).unwrap();
    let cert_before = std::fs::read(i.ca()).unwrap();
    let out = i.cli(&["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "", "a second init must not mint a key");
    let said = text(&out.stderr);
    for line in [
        format!(
            "vault key:       {} (kept (exists))",
            i.path("etc/vault.key").display()
        ),
        format!("TLS pair:        {} + ", i.ca().display()),
        "admin API key:   one exists already".to_string(),
    ] {
        assert!(said.contains(&line), "no {line:?} in {said}");
    }
    // the generated certificate names this machine, as clients on the LAN would call it
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&cert_before).unwrap();
    let cert = pem.parse_x509().unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap().value;
    let dns: Vec<String> = san
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect();
    assert!(dns.contains(&host.trim().to_string()), "{dns:?}");
    assert_eq!(std::fs::read(i.path("etc/vault.key")).unwrap(), key_before);
    assert_eq!(std::fs::read(i.ca()).unwrap(), cert_before);
    for folder in ["inbox", "outbox", "processed", "failed"] {
        assert!(i.path("state").join(folder).is_dir(), "{folder}");
    }
}

#[test]
fn keys_from_the_cli_are_scriptable_listed_and_revoked() {
    let i = Instance::init();
    let out = i.cli(&["key", "create", "--role", "ivr", "--name", "ivr1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout);
    assert_eq!(
        key.lines().count(),
        1,
        "stdout holds the key alone: {key:?}"
    );
    assert!(key.starts_with("cvk_"));
    let out = i.cli(&["key", "create", "--role", "ivr", "--name", "ivr1"]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        "callvault: an active ivr key is named \"ivr1\" already: give the new key another \
         name, or revoke that one first\n"
    );
    let out = i.cli(&["key", "create", "--role", "root", "--name", "x"]);
    assert!(!out.status.success());
    let list = text(&i.cli(&["key", "list"]).stdout);
    assert!(list.contains("ivr1") && list.contains("admin"), "{list}");
    assert!(!list.contains(key.trim()), "list must never show a key");
    let out = i.cli(&["key", "revoke", "ivr"]);
    assert_eq!(
        text(&out.stderr),
        "callvault: no active key named \"ivr\"; did you mean \"ivr1\"?\n"
    );
    assert!(i.cli(&["key", "revoke", "ivr1"]).status.success());
    assert!(text(&i.cli(&["key", "list"]).stdout).contains("revoked"));
    let audit = i.audit_export();
    assert!(audit.contains("api_key_created") && audit.contains("api_key_revoked"));
    assert!(!audit.contains(key.trim()) && !audit.contains(&i.admin));
}

#[test]
fn audit_verify_names_the_first_tampered_record() {
    let i = Instance::init();
    // a fresh install holds one record, the first admin key's
    let out = i.cli(&["audit", "verify"]);
    assert_eq!(
        text(&out.stdout).lines().next(),
        Some("audit chain intact: 1 record")
    );
    for n in 0..4 {
        i.cli(&[
            "key",
            "create",
            "--role",
            "agent",
            "--name",
            &format!("agent{n}"),
        ]);
    }
    let out = i.cli(&["audit", "verify"]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("intact: 5 records"),
        "{}",
        text(&out.stdout)
    );
    {
        use redb::ReadableTable;
        let store = callvault::store::Store::open(&i.path("state")).unwrap();
        let txn = store.begin_write().unwrap();
        {
            let mut table = txn.open_table(callvault::store::tables::AUDIT).unwrap();
            let original = table.get(3).unwrap().unwrap().value().to_vec();
            let edited = String::from_utf8(original)
                .unwrap()
                .replace("agent1", "agent9");
            table.insert(3, edited.as_bytes()).unwrap();
        }
        txn.commit().unwrap();
    }
    let out = i.cli(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("BROKEN at record 3"),
        "{}",
        text(&out.stdout)
    );
    let out = i.cli(&["db", "check"]);
    assert_eq!(out.status.code(), Some(1));
}

/// A clock that went back (here: the newest record dated two hours ahead, as a clock set
/// right after running fast leaves it) is said when the next records are written: once in
/// the log, with the records and how far, and in `/metrics`. The chain stays whole: times
/// are not part of it.
#[test]
fn a_clock_that_went_back_is_said_when_the_next_record_is_written() {
    let mut i = Instance::init();
    {
        let store = callvault::store::Store::open(&i.path("state")).unwrap();
        let txn = store.begin_write().unwrap();
        let ahead = chrono::Utc::now() + chrono::Duration::hours(2);
        let event = callvault::audit::AuditEvent::new(
            "system",
            callvault::audit::EventKind::ServiceStopped,
            callvault::audit::Outcome::Ok,
        );
        callvault::audit::append_in(&txn, ahead, [event]).unwrap();
        txn.commit().unwrap();
    }
    i.start();
    let said = "the system clock went back";
    let log = i.service_log_with(said);
    let line = log
        .lines()
        .find(|l| l.contains(said))
        .unwrap_or_else(|| panic!("{log}"));
    // init wrote record 1; the record two hours ahead is 2; the service's start is 3
    assert!(line.contains("audit record 3 is dated "), "{line}");
    assert!(line.contains(" s before record 2 ("), "{line}");
    let behind: f64 = (line.split(", ").nth(1).and_then(|p| p.split(' ').next()))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!((7_100.0..=7_200.0).contains(&behind), "{line}");
    assert_eq!(i.metric("callvault_clock_went_back_total", &[]), 1.0);
    // the records after it follow its time again: nothing more is said
    let out = i.cli(&["key", "create", "--name", "desk2", "--role", "agent"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(i.metric("callvault_clock_went_back_total", &[]), 1.0);
    assert_eq!(i.service_log().matches(said).count(), 1);
    let out = i.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let said = text(&out.stdout);
    assert!(
        said.contains(
            "note: 1 record with a time more than a second before the previous record's \
             (the first: record 3, "
        ) && said.contains("audit chain intact: 4 records"),
        "{said}"
    );
}

#[test]
fn audit_export_since_filters_by_time() {
    let i = Instance::init();
    let all = i.audit_export();
    assert_eq!(all.lines().count(), 1);
    let out = i.cli(&["audit", "export", "--since", "2999-01-01"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "");
    let out = i.cli(&["audit", "export", "--since", "yesterday-ish"]);
    assert!(!out.status.success());
    // a date is its midnight on the machine's clock, as journalctl reads one, and the export
    // says in UTC what that was
    for (zone, since) in [
        ("UTC", "2026-11-01T00:00:00Z"),
        ("America/Chicago", "2026-11-01T05:00:00Z"),
        ("Europe/Zagreb", "2026-10-31T23:00:00Z"),
    ] {
        let out = i.cli_env(
            &[
                "audit",
                "export",
                "--since",
                "2026-11-01",
                "--until",
                "2999-01-01T00:00:00Z",
            ],
            &[("TZ", zone)],
        );
        let said = text(&out.stderr);
        assert!(out.status.success(), "{said}");
        assert!(
            said.contains(&format!(
                "records exported (at or after {since}, before 2999-01-01T00:00:00Z)"
            )),
            "{zone}: {said}"
        );
    }
    // a span back from now: the record init wrote a moment ago (the first) is within the
    // hour, and none is from before the hour began
    for (flag, first) in [("--since", Some("{\"seq\":1,")), ("--until", None)] {
        let out = i.cli(&["audit", "export", flag, "1h"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let said = text(&out.stdout);
        assert_eq!(said.lines().next().map(|l| &l[..9]), first, "{flag} 1h");
    }
}

/// A SIEM shipped by `export --after` the last `seq` it holds gets every record once, in
/// order, through the service or not: the pieces put together are the log, and verify
/// against it.
#[test]
fn audit_exports_after_a_sequence_number_follow_on_without_overlap_or_gap() {
    let mut i = Instance::init();
    let seq_of_last = |jsonl: &str| -> u64 {
        let last: serde_json::Value = serde_json::from_str(jsonl.lines().last().unwrap()).unwrap();
        last["seq"].as_u64().unwrap()
    };
    let export_after = |i: &Instance, after: u64| {
        let out = i.cli(&["audit", "export", "--after", &after.to_string()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let mut shipped = i.audit_export();
    for round in 0..3 {
        if round == 1 {
            i.start();
        }
        for n in 0..2 {
            let name = format!("k{round}{n}");
            assert!(
                i.cli(&["key", "create", "--role", "ivr", "--name", &name])
                    .status
                    .success()
            );
        }
        let more = export_after(&i, seq_of_last(&shipped));
        assert!(more.lines().count() >= 3, "round {round}: {more}");
        shipped.push_str(&more);
    }
    let seqs: Vec<u64> = shipped
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "each record once, in order"
    );
    let file = i.path("siem.jsonl");
    std::fs::write(&file, &shipped).unwrap();
    let out = i.cli(&["audit", "verify", "--against", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("none differs"),
        "{}",
        text(&out.stdout)
    );

    for after in ["999999", "18446744073709551615"] {
        let out = i.cli(&["audit", "export", "--after", after]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "--after {after}");
    }
    assert!(
        !i.cli(&["audit", "export", "--after", "-1"])
            .status
            .success()
    );
}

#[test]
fn commands_on_an_uninitialised_state_directory_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, crate::harness::config_text(dir.path(), 1, "")).unwrap();
    let out = std::process::Command::new(crate::harness::BIN)
        .arg("--config")
        .arg(&config)
        .args(["key", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("callvault init"),
        "{}",
        text(&out.stderr)
    );
    // no configuration file at all: where the packages put the example to start from
    let out = std::process::Command::new(crate::harness::BIN)
        .arg("--config")
        .arg(dir.path().join("none.toml"))
        .arg("init")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("none.toml not found"), "{said}");
    assert!(
        said.contains("/usr/share/doc/callvault/examples/callvault.toml"),
        "{said}"
    );
}

#[test]
fn audit_verify_finds_a_cut_and_re_headed_chain_against_an_export_and_an_anchor() {
    let mut i = Instance::started();
    agent_keys(&i, "a", 3);
    // The SIEM's copy, taken through the running service.
    let out = i.cli(&["audit", "export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copy = i.path("siem.jsonl");
    std::fs::write(&copy, &out.stdout).unwrap();
    let exported = text(&out.stdout).lines().count();
    let out = i.cli(&["audit", "verify", "--against", copy.to_str().unwrap()]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("matches the copies: {exported} records compared")),
        "{said}"
    );
    let noted = said
        .lines()
        .find_map(|l| l.strip_prefix("head: "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_string();
    let journal = i.service_log();
    assert!(
        journal.contains("audit head") && journal.contains("anchor="),
        "{journal}"
    );
    assert!(i.stop().success());

    // Someone with the store file cuts the records from the copy's last one on and moves
    // the head back onto the one before, which needs no hashing: the chain alone checks out.
    {
        use redb::ReadableTable;
        let store = callvault::store::Store::open(&i.path("state")).unwrap();
        let txn = store.begin_write().unwrap();
        {
            let mut audit = txn.open_table(callvault::store::tables::AUDIT).unwrap();
            let cut = exported as u64;
            let last = audit.last().unwrap().unwrap().0.value();
            for seq in cut..=last {
                audit.remove(seq).unwrap();
            }
            let last = cut;
            let before = audit.get(last - 1).unwrap().unwrap().value().to_vec();
            let before: serde_json::Value = serde_json::from_slice(&before).unwrap();
            let head = serde_json::json!({"seq": last - 1, "hash": before["hash"]});
            txn.open_table(callvault::store::tables::META)
                .unwrap()
                .insert("audit_head", serde_json::to_vec(&head).unwrap().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let out = i.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    for against in [
        vec!["--against", copy.to_str().unwrap()],
        vec!["--anchor", noted.as_str()],
    ] {
        let out = i.cli(&[&["audit", "verify"][..], &against].concat());
        let said = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{against:?}: {said}");
        assert!(
            said.contains("audit log REWRITTEN") && said.contains("the store has no record"),
            "{against:?}: {said}"
        );
    }
    let out = i.cli(&["audit", "verify", "--anchor", "12:nothex"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed anchor is a usage error"
    );
    assert!(
        text(&out.stderr).contains("SEQ:HASH"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn audit_prune_removes_exported_old_records_through_the_service() {
    let i = Instance::started();
    agent_keys(&i, "p", 3);
    let export = |name: &str| {
        let out = i.cli(&["audit", "export"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let path = i.path(name);
        std::fs::write(&path, &out.stdout).unwrap();
        (path, text(&out.stdout).lines().count() as u64)
    };
    let prune = |copy: &std::path::Path| {
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let copy = copy.to_str().unwrap();
        i.cli(&["audit", "prune", "--before", &tomorrow, "--exported", copy])
    };
    let out = i.cli(&["audit", "prune", "--before", "2026-01-01"]);
    assert_eq!(out.status.code(), Some(2), "an export is required");

    // Everything is older than tomorrow, the record of the export itself too, which the
    // export cannot hold. The newest record always stays, but here a key came after it:
    // refused whole, and audited.
    let (first, exported) = export("first.jsonl");
    i.cli(&["key", "create", "--role", "agent", "--name", "later"]);
    let out = prune(&first);
    let why = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        why.contains(&format!("record {} is older than", exported + 1))
            && why.contains("nothing was pruned"),
        "{why}"
    );

    // A later export holds all but its own record and the refusal's, the newest, which stays.
    let (second, exported) = export("second.jsonl");
    let out = prune(&second);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(
        said.contains(&format!(
            "pruned records 1..={exported} ({exported} records"
        )),
        "{said}"
    );
    // again, before any record: nothing to prune, said so (the earlier prune's base stays)
    let second_name = second.to_str().unwrap();
    let out = i.cli(&[
        "audit",
        "prune",
        "--before",
        "2000-01-01",
        "--exported",
        second_name,
    ]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert_eq!(
        said.trim(),
        "nothing to prune: the oldest record is not older than 2000-01-01T00:00:00+00:00, or it \
         is the newest (a prune removes records from the oldest on, up to the first that is \
         not older, and keeps the newest)"
    );
    let out = i.cli(&["audit", "verify", "--against", first.to_str().unwrap()]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("audit chain intact"), "{said}");
    assert!(
        said.contains("older ones were pruned from the store"),
        "{said}"
    );
    let out = i.cli(&["db", "check"]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("audit records up to {exported} were pruned")),
        "{said}"
    );
    let refused = std::fs::read_to_string(&second).unwrap();
    assert!(
        refused.contains(
            "\"audit_pruned\",\"call_id\":null,\"member_id\":null,\"outcome\":\"failed\""
        ),
        "{refused}"
    );
    let events = i.audit_export();
    assert!(events.contains("\"audit_pruned\""), "{events}");
    assert!(!events.contains("\"seq\":1,"), "{events}");
}

/// `count` agent keys named PREFIX1, PREFIX2, ...: a few audit records.
fn agent_keys(i: &Instance, prefix: &str, count: u32) {
    for n in 1..=count {
        let name = format!("{prefix}{n}");
        let out = i.cli(&["key", "create", "--role", "agent", "--name", &name]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

/// Spawn the CLI, read its first line of output, and leave, as `| head -1` does.
fn first_line_then_leave(i: &Instance, args: &[&str]) -> (String, Output) {
    first_line_of(i.cli_command(args))
}

fn first_line_of(mut command: std::process::Command) -> (String, Output) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    (first, child.wait_with_output().unwrap())
}

#[test]
fn a_reader_that_leaves_early_ends_the_command_quietly_but_a_new_key_must_be_shown_and_stderr_may_be_closed()
 {
    let mut calls = crate::calls::Calls::new("");
    // More audit records than a pipe and a reader's buffer hold.
    for n in 0..600 {
        calls.start(&format!("pipe-{n}"), "+16122030101");
    }
    let quiet = |what: &str, (first, out): (String, Output)| {
        assert!(!first.is_empty(), "{what}: no first line");
        assert_eq!(out.status.code(), Some(141), "{what}: {out:?}");
        assert_eq!(text(&out.stderr), "", "{what}: not a word on stderr");
    };
    // Through the running service, then against the file itself.
    quiet(
        "export, served",
        first_line_then_leave(&calls.i, &["audit", "export"]),
    );
    quiet(
        "gen-members",
        first_line_then_leave(&calls.i, &["gen-members", "200000"]),
    );
    // The demo stops, and its throwaway directory goes with it. Its reader is gone before it
    // prints: read one line and leave, and the demo may have printed everything (it fits in
    // a pipe) before the reader left, and then serves on, as it should.
    let tmp = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", crate::harness::free_port());
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = calls
        .i
        .cli_command(&["demo", "--listen", &listen])
        .env("TMPDIR", tmp.path())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(141), "demo: {out:?}");
    assert_eq!(text(&out.stderr), "", "demo: not a word on stderr");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");

    // A new key that cannot be shown is an error, and says what to do.
    let mut child = calls
        .i
        .cli_command(&["key", "create", "--role", "ivr", "--name", "unseen"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("the new key was created but could not be written to stdout; revoke it"),
        "{err}"
    );
    assert!(!err.contains("cvk_"), "the key never goes to stderr: {err}");
    assert!(text(&calls.i.cli(&["key", "list"]).stdout).contains("unseen"));

    // Stderr's reader gone: what would have gone there is dropped, the status stays.
    let no_stderr = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = calls
            .i
            .cli_command(args)
            .stdout(Stdio::piped())
            .stderr(writer)
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout))
    };
    assert_eq!(
        no_stderr(&["key", "revoke", "unseen"]),
        (Some(0), String::new()),
        "a note on stderr"
    );
    assert_eq!(
        no_stderr(&["member", "find", "--phone", "no number"]),
        (Some(1), String::new()),
        "an error"
    );

    assert!(calls.i.stop().success());
    quiet(
        "export, local",
        first_line_then_leave(&calls.i, &["audit", "export"]),
    );
}

#[test]
fn member_find_says_who_a_caller_id_names_and_what_a_call_from_it_gets() {
    let members = format!(
        "{}1004,Kat,Johnson,+16122030110,mobile,+16122030120,,,,,,,,\n\
         1005,Dor,Vaughan,+16122030111,mobile,+16122030120,,,,,,,,\n",
        crate::calls::MEMBERS
    );
    let mut t = crate::calls::Calls::with_members(
        "\n[[routing]]\ndnis = \"+18005550123\"\nprofile = \"no_ani\"\n\
         [[routing]]\ndnis = \"7001\"\nprofile = \"no_ani\"\n\
         [profiles.members]\ndefault = true\n[profiles.no_ani]\nidentify_by_ani = false\n",
        &members,
    );
    let find = |i: &Instance, args: &[&str]| {
        let mut all = vec!["member", "find"];
        all.extend_from_slice(args);
        let out = i.cli(&all);
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["--phone", "tel:+16122030101"],
            &[
                "+16122030101: member 1001 (Ada), their verified mobile",
                "profile \"members\": a call from it is identified as member 1001 with trust known_number",
            ],
        ),
        (
            // the number as an argument, as `member show` takes its id
            &["(612) 203-0199"],
            &[
                "+16122030199: member 1001 (Ada), another phone on file",
                "with trust unknown_number",
            ],
        ),
        (
            &["--phone", "+16122030120"],
            &[
                "+16122030120: 2 members share this number",
                "  member 1004 (Kat), another phone on file",
                "  member 1005 (Dor), another phone on file",
                "a shared number identifies no one; the caller is asked for an identifier",
            ],
        ),
        (
            &["--phone", "+16122030177"],
            &[
                "+16122030177: no enrolled member has this number",
                "profile \"members\": the caller is asked for an identifier",
            ],
        ),
        (
            &["+16122030101", "--dnis", "tel:+18005550123"],
            &[
                "member 1001 (Ada), their verified mobile",
                "profile \"no_ani\" does not identify by caller ID",
            ],
        ),
        (
            // a line's extension, as the PBX hands it to the IVR
            &["+16122030101", "--dnis", "sip:7001@pbx.cu.example"],
            &["profile \"no_ani\" does not identify by caller ID"],
        ),
    ];
    for (args, wants) in cases {
        let (ok, out, err) = find(&t.i, args);
        assert!(ok, "{args:?}: {err}");
        for want in wants {
            assert!(out.contains(want), "{args:?}: no {want:?} in\n{out}");
        }
    }
    let (ok, _, err) = find(&t.i, &["--phone", "sip:Anonymous@10.0.0.9"]);
    assert!(
        !ok && err.contains("is a withheld caller ID: a call with it identifies no one, and the caller is asked for an identifier"),
        "{err}"
    );
    // a number is needed, once
    for args in [&[][..], &["+16122030101", "--phone", "+16122030101"]] {
        let (ok, _, err) = find(&t.i, args);
        assert!(!ok && err.contains("PHONE"), "{args:?}: {err}");
    }
    let (ok, _, err) = find(&t.i, &["--phone", "612203010"]);
    assert!(
        !ok && err.contains("\"612203010\" is not a caller ID a call could have"),
        "{err}"
    );

    // and with the service stopped, from the file itself
    assert!(t.i.stop().success());
    let (ok, out, err) = find(&t.i, &["--phone", "+16122030101"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("member 1001 (Ada), their verified mobile") && !out.contains("core.type"),
        "{out}"
    );
    // with a REST core, the core is asked, as a call asks it: here it names a member the
    // embedded directory does not hold, and no one for Ada's number
    let gateway = crate::harness::stand_in_gateway(vec![
        (
            "%2B16122030177",
            r#"[{"member_id": "9001", "first_name": "Zed", "mobile_phone": "+16122030177"}]"#,
        ),
        (
            "%2B16122030178",
            r#"[{"member_id": "9002", "first_name": "Flo", "mobile_phone": "+16122030178", "fraud_flag": true}]"#,
        ),
        (
            "/members/9001 ",
            r#"{"member_id": "9001", "first_name": "Zed", "mobile_phone": "+16122030177", "zip": 2134}"#,
        ),
    ]);
    // `member show` asks the core too (before 2026-12-06 it read the embedded directory
    // alone, and said that no such member was enrolled), masked as ever; the zip the
    // gateway sent as a number has its leading zero back
    let show = |i: &Instance| {
        let out = i.cli(&["member", "show", "9001"]);
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let rest = |addr: &str| {
        format!(
            "\n[core]\ntype = \"rest\"\ntimeout_ms = 500\n[core.rest]\nconnect_timeout_ms = 200\nbase_url = \"http://{addr}\"\n"
        )
    };
    t.i.write_config(&rest(&gateway));
    let (ok, out, err) = show(&t.i);
    assert!(ok, "{err}");
    for want in [
        r#""member_id": "9001""#,
        r#""zip": "021**""#,
        r#""mobile_phone": "+1******0177""#,
    ] {
        assert!(out.contains(want), "no {want:?} in\n{out}");
    }
    // and how the gateway's answer was read, field by field, for a site mapping its
    // gateway: a pointer that finds nothing shows as absent for every member
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    let fields = &shown["core_fields"];
    assert_eq!(
        (&fields["zip"], &fields["dob"], &fields["member_id"]),
        (
            &serde_json::json!("read at /zip"),
            &serde_json::json!("absent at /dob"),
            &serde_json::json!("read at /member_id")
        ),
        "{out}"
    );
    assert_eq!(fields.as_object().map(|f| f.len()), Some(19), "{out}");
    let (ok, out, err) = find(&t.i, &["--phone", "+16122030177"]);
    assert!(ok, "{err}");
    for want in [
        "+16122030177: member 9001 (Zed), their verified mobile",
        "identified as member 9001 with trust known_number",
        "(asked of the core, core.type \"rest\", as calls ask it)",
    ] {
        assert!(out.contains(want), "no {want:?} in\n{out}");
    }
    // a member the pre-enrollment rules would not enroll: found, but their mobile withdrawn
    let (ok, out, err) = find(&t.i, &["--phone", "+16122030178"]);
    assert!(ok, "{err}");
    for want in [
        "+16122030178: member 9002 (Flo), their mobile, withdrawn (a landline, a fraud flag",
        "identified as member 9002 with trust unknown_number",
    ] {
        assert!(out.contains(want), "no {want:?} in\n{out}");
    }
    let (ok, out, err) = find(&t.i, &["--phone", "+16122030101"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("+16122030101: the core names no member with this number"),
        "{out}"
    );
    // a core that does not answer is an error, not "no one"
    t.i.write_config(&rest(&format!("127.0.0.1:{}", crate::harness::free_port())));
    let (ok, out, err) = find(&t.i, &["--phone", "+16122030177"]);
    assert!(!ok && out.is_empty(), "{out}");
    assert!(err.contains("the core did not answer"), "{err}");
    // and through the running service, which asks from its admin socket's thread
    t.i.write_config(&rest(&gateway));
    t.i.start();
    let (ok, out, err) = find(&t.i, &["--phone", "+16122030177"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("member 9001 (Zed), their verified mobile"),
        "{out}"
    );
    let (ok, out, err) = show(&t.i);
    assert!(ok && out.contains(r#""first_name": "Zed""#), "{out}{err}");
}

/// A file named on the command line that cannot be read is said plainly: missing (the
/// system's own words), or a folder.
#[test]
fn an_input_file_that_is_missing_or_a_folder_is_said_plainly() {
    let i = Instance::init();
    let missing = i.path("members-typo.csv");
    let folder = i.path("a-folder.csv");
    std::fs::create_dir(&folder).unwrap();
    let not_a_store = i.path("callvault.toml");
    let into_missing = i.path("no-such-folder/b.redb");
    let (missing, folder) = (missing.to_str().unwrap(), folder.to_str().unwrap());
    let (not_a_store, into_missing) = (
        not_a_store.to_str().unwrap(),
        into_missing.to_str().unwrap(),
    );
    let cases: [(&[&str], String); 12] = [
        (
            &["enroll", "/dev/null"],
            "/dev/null is not a regular file (a pipe or a device); the file is read by its \
             path, more than once: save the text to a file and name that"
                .to_string(),
        ),
        (
            &["enroll", "-"],
            "`-` (standard input) is not read here; the file is read by its path".to_string(),
        ),
        (
            &["pins", "import", "-"],
            "`-` (standard input) is not read here".to_string(),
        ),
        (
            &["enroll", missing],
            format!("cannot read {missing}: No such file or directory"),
        ),
        (
            &["enroll", folder],
            format!("{folder} is a folder, not a file"),
        ),
        (
            &["pins", "import", missing],
            format!("cannot read {missing}: No such file or directory"),
        ),
        (
            &["pins", "import", folder],
            format!("{folder} is a folder, not a file"),
        ),
        (
            &["db", "restore", missing],
            format!("cannot read the backup {missing}: No such file or directory"),
        ),
        (
            &["db", "restore", folder],
            format!("nothing restored: cannot read the backup {folder}: it is not a file"),
        ),
        (
            &["db", "restore", not_a_store],
            format!("nothing restored: {not_a_store} is not a callvault store (not a redb file"),
        ),
        (
            &["db", "backup", folder],
            format!("cannot write the backup to {folder}: it is a folder (name a new file in it)"),
        ),
        (
            &["db", "backup", into_missing],
            format!(
                "cannot write the backup to {into_missing}: the folder {} does not exist",
                i.path("no-such-folder").display()
            ),
        ),
    ];
    for (args, says) in cases {
        let out = i.cli(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&says), "{args:?}: {says:?} not in {stderr}");
    }
}

/// Add `count` audit records to the store, as a busy contact center's months leave them
/// (the service stopped).
fn fill_audit_log(i: &Instance, count: u64) {
    use callvault::audit::{AuditEvent, EventKind, Outcome, append_in};
    let store = callvault::store::Store::open(&i.path("state")).unwrap();
    let then = chrono::Utc::now() - chrono::Duration::days(200);
    for chunk in 0..count / 10_000 {
        let txn = store.begin_write().unwrap();
        let events = (0..10_000).map(|n| {
            AuditEvent::new("key:ivr1", EventKind::CallStarted, Outcome::Ok)
                .call(format!("call-{chunk}-{n}"))
                .member("100234".to_string())
        });
        append_in(&txn, then, events).unwrap();
        txn.commit().unwrap();
    }
}

/// Whether the store was closed cleanly: redb opens it read-only only then (a file a killed
/// process left open needs a repair, which a read-only opening refuses).
fn closed_cleanly(i: &Instance) -> Result<(), String> {
    let db = i.path("state").join(callvault::store::DB_FILE_NAME);
    redb::ReadOnlyDatabase::open(db)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The CLI spawned with its stdout and stderr piped to the test.
fn spawn_piped(i: &Instance, args: &[&str]) -> std::process::Child {
    i.cli_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What shows that a command is well under way, so that a signal finds it working.
enum UnderWay {
    /// A progress line on stderr. It comes after a second of work, when the walk of 300,000
    /// records is a fifth of the way in a debug build (2-core VM).
    Progress,
    /// A line on stdout.
    Output,
    /// This file exists (the backup being written).
    File(std::path::PathBuf),
}

#[test]
fn ctrl_c_stops_a_long_offline_command_where_it_safely_can_and_the_store_is_closed_cleanly() {
    let mut i = Instance::init();
    fill_audit_log(&i, 300_000);
    assert_eq!(closed_cleanly(&i), Ok(()));
    let backup = i.path("nightly.redb");
    let cases = [
        (
            vec!["audit", "verify"],
            UnderWay::Progress,
            libc::SIGINT,
            130,
        ),
        // the terminal closed
        (vec!["db", "check"], UnderWay::Progress, libc::SIGHUP, 129),
        (vec!["audit", "export"], UnderWay::Output, libc::SIGINT, 130),
        (
            vec!["db", "backup", backup.to_str().unwrap()],
            UnderWay::File(backup.with_extension("partial")),
            libc::SIGTERM,
            143,
        ),
    ];
    for (args, under_way, signal, status) in cases {
        let mut child = spawn_piped(&i, &args);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut err = String::new();
        match &under_way {
            // on stderr, stdout keeping the answer alone
            UnderWay::Progress => {
                assert_ne!(stderr.read_line(&mut err).unwrap(), 0, "{args:?} ended");
                assert!(err.contains(": verifying: 300"), "{args:?}: {err}");
            }
            // and then, its output not read, the export waits with a full pipe
            UnderWay::Output => {
                assert_ne!(stdout.read_line(&mut String::new()).unwrap(), 0);
            }
            UnderWay::File(path) => {
                while !path.exists() {
                    assert!(child.try_wait().unwrap().is_none(), "{args:?} ended");
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        }
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let exported = 1 + (&mut stdout).lines().count();
        let done = child.wait().unwrap();
        std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
        assert_eq!(done.code(), Some(status), "{args:?}: {err}");
        assert!(
            err.contains("callvault: interrupted: stopping"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("callvault: interrupted before the end"),
            "{args:?}: {err}"
        );
        assert!(!err.contains(": done"), "work stopped is not done: {err}");
        assert_eq!(closed_cleanly(&i), Ok(()), "{args:?}: {err}");
        if let UnderWay::File(partial) = &under_way {
            assert!(
                !partial.exists() && !backup.exists(),
                "a backup cut short was left"
            );
        }
        if let UnderWay::Output = &under_way {
            assert!(
                exported > 0 && exported < 300_000,
                "{exported} records exported"
            );
        }
    }
    // A second signal stops at once (the exit status is its own), and leaves the store to
    // be repaired. The export waits on its full pipe, so it is still under way then.
    let mut child = spawn_piped(&i, &["audit", "export"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    assert_ne!(stdout.read_line(&mut String::new()).unwrap(), 0);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let mut err = String::new();
    stderr.read_line(&mut err).unwrap();
    assert!(err.contains("interrupted: stopping"), "{err}");
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let done = child.wait().unwrap();
    std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
    assert_eq!(done.code(), Some(143), "{err}");
    assert!(err.contains("stopped at once"), "{err}");
    assert!(closed_cleanly(&i).is_err(), "the store was closed: {err}");

    // the records the export handed out before it stopped are audited
    let out = i.cli(&["audit", "export", "--after", "300000"]);
    let tail = text(&out.stdout);
    let exported = tail
        .lines()
        .find(|l| l.contains("\"audit_exported\""))
        .unwrap_or_else(|| panic!("no audit_exported record in:\n{tail}"));
    assert!(
        exported.contains("\"failed\"") && exported.contains("then it stopped: interrupted"),
        "{exported}"
    );

    // Through the service, a long export's progress comes beside it and goes to stderr,
    // never into the export. Its output is not read for a while, so the export waits on the
    // full pipe and socket (under 1 MB, of the log's 45) past the second after which
    // progress shows.
    i.start();
    let mut child = spawn_piped(&i, &["audit", "export"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut records = 0;
    for line in stdout.lines() {
        let line = line.unwrap();
        assert!(line.starts_with("{\"seq\":"), "not a record: {line}");
        records += 1;
    }
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(records > 300_000, "{records} records");
    assert!(err.contains("audit log: exporting: "), "{err}");

    // Ctrl-C at a command that goes through the service closes the command's side of the
    // admin socket: the service stops the command at the same points, and the command
    // waits for its answer. A second Ctrl-C stops the waiting.
    for twice in [false, true] {
        let mut child = spawn_piped(&i, &["audit", "verify"]);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut err = String::new();
        assert_ne!(stderr.read_line(&mut err).unwrap(), 0, "verify ended");
        assert!(err.contains(": verifying: 300"), "{err}");
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
        if twice {
            stderr.read_line(&mut err).unwrap();
            assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
        }
        let done = child.wait().unwrap();
        std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
        assert_eq!(done.code(), Some(130), "{err}");
        assert!(
            err.contains("callvault: interrupted: the service stops the command"),
            "{err}"
        );
        let answer = match twice {
            false => "callvault: interrupted before the end",
            true => "callvault: stopped waiting; the service stops the command",
        };
        assert!(err.contains(answer), "{err}");
        assert!(!err.contains(": done"), "work stopped is not done: {err}");
    }
    // the service goes on, its store open: the next command goes through it
    let out = i.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("audit chain intact"),
        "{}",
        text(&out.stdout)
    );
    assert!(closed_cleanly(&i).is_err(), "the service holds the store");
}

/// A user who is neither root nor the service's may reach neither the store nor the
/// service's admin socket (the state directory is 0700). Such a user is told so, and to use
/// sudo, whether the service runs or not. Before, the CLI took the socket it could not
/// reach for a stopped service, and then said there was no store, and to run `init`.
#[test]
fn a_user_who_may_not_reach_the_state_directory_is_told_to_use_sudo() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if !another_user_can_run_callvault() {
        return;
    }
    let mut i = Instance::init();
    // others may read the configuration, as the packages' group `callvault` may
    let open = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(i.path(""), open).unwrap();
    let readable = std::fs::Permissions::from_mode(0o644);
    std::fs::set_permissions(&i.config, readable).unwrap();
    let state = i.path("state");
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o700,
        "the state directory is callvault's own"
    );
    for running in [false, true] {
        if running {
            i.start();
        }
        for args in [
            &["key", "list"][..],
            &["db", "check"],
            &["member", "show", "1"],
        ] {
            let out = i.cli_command(args).uid(65534).gid(65534).output().unwrap();
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.starts_with(&format!(
                    "callvault: permission denied: {} is callvault's own",
                    state.display()
                )) && err.contains("as root (sudo) or as the service's user"),
                "service running: {running}, {args:?}: {err}"
            );
        }
    }
}

/// Through the service, the files a command names are opened by the service, as its own
/// user (the packages run it as `callvault`, in a sandbox with a /tmp of its own). A file
/// or folder it may not use is told as the service's, with why and what to do. Before, the
/// answer was `members.csv: Permission denied`, although the command line could read it.
#[test]
fn a_file_the_service_may_not_use_is_told_as_the_services_with_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let Some(mut i) = served_as_another_user() else {
        return;
    };
    // root keeps a folder of its own, as /root is
    let private = i.path("root-only");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let members = private.join("members.csv");
    std::fs::write(&members, "member_id,mobile_phone\n5001,+16125550101\n").unwrap();
    let members = members.to_str().unwrap();
    i.start();

    let reads = "The running service opens the files a command names, as its own user";
    let writes = "The running service writes the backup as its own user";
    let backup = private.join("b.redb");
    let nightly = private.join("nightly");
    let cases: [(&[&str], &str, &str); 5] = [
        (&["enroll", members], "cannot open", reads),
        (&["pins", "import", members], "cannot open", reads),
        (
            &["audit", "verify", "--against", members],
            "cannot open",
            reads,
        ),
        (
            &["db", "backup", backup.to_str().unwrap()],
            "cannot create the backup",
            writes,
        ),
        (
            &["db", "backup", "--into", nightly.to_str().unwrap()],
            "cannot",
            writes,
        ),
    ];
    for (args, what, why) in cases {
        let out = i.cli(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("callvault: the service {what} "))
                && err.contains("Permission denied")
                && err.contains(why)
                && err.contains("or stop the service (systemctl stop callvault)"),
            "{args:?}: {err}"
        );
    }
    // nothing was enrolled, and the service goes on
    let out = i.cli(&["member", "show", "5001"]);
    assert!(
        text(&out.stderr).contains("no member \"5001\" is enrolled"),
        "{}",
        text(&out.stderr)
    );
}

/// The service's memory (the vault key; PINs, codes and SSNs as they pass) goes to no core
/// dump, whatever the system's settings: its core size limit is 0, and it is not dumpable,
/// which also keeps another process of its user from attaching to it or reading its
/// memory. The kernel shows that by giving `/proc/PID` to root rather than to the process's
/// user. Every command does the same as it starts: one may hold the vault key too.
#[test]
fn the_service_leaves_no_core_dump_and_no_memory_to_read() {
    let Some(mut i) = served_as_another_user() else {
        return;
    };
    i.start();
    let proc = std::path::PathBuf::from(format!("/proc/{}", i.pid()));
    let limits = std::fs::read_to_string(proc.join("limits")).unwrap();
    let core: Vec<&str> = (limits.lines())
        .find(|l| l.starts_with("Max core file size"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(core[4..6], ["0", "0"], "{core:?}");
    let status = std::fs::read_to_string(proc.join("status")).unwrap();
    assert!(status.contains("Uid:\t65534"), "{status}");
    let owner =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(proc.join("status")).unwrap());
    assert_eq!(
        owner, 0,
        "/proc/PID is the process's user's: it is dumpable"
    );
}

/// An instance that is another user's (uid 65534), as the packages make /var/lib/callvault
/// the service's user's, and is served as that user; none when a test may not run callvault
/// as another user ([`another_user_can_run_callvault`]).
fn served_as_another_user() -> Option<Instance> {
    if !another_user_can_run_callvault() {
        return None;
    }
    let mut i = Instance::init();
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(i.path(""))
        .status()
        .unwrap();
    assert!(chown.success());
    i.serve_as = Some(65534);
    Some(i)
}

/// Whether a test may run callvault as another user (uid 65534): only root can, and only
/// when that user may reach the binary (a checkout in a folder of root's alone is closed to
/// it). When not, the test says so and is not run.
fn another_user_can_run_callvault() -> bool {
    use std::os::unix::process::CommandExt;
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not run: running callvault as another user needs root (CI runs as root)");
        return false;
    }
    let ran = std::process::Command::new(crate::harness::BIN)
        .arg("--version")
        .uid(65534)
        .gid(65534)
        .output();
    match ran {
        Ok(out) if out.status.success() => true,
        other => {
            eprintln!(
                "not run: uid 65534 cannot run {}: {other:?}",
                crate::harness::BIN
            );
            false
        }
    }
}
