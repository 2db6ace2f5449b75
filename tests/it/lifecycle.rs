//! The service's life: refusing to start, reloading, backup and restore, stopping, the demo.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::harness::{BIN, Instance, client_trusting, free_port, text};

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_service_refuses_a_vault_key_others_can_read() {
    let i = Instance::init();
    let key = i.path("etc/vault.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = i.spawn_serve().wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("chmod 600") && err.contains("0644"), "{err}");
}

#[test]
fn the_service_starts_in_any_environment_and_logs_callvault_variables_it_does_not_read() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let mut i = Instance::init();
    i.serve_env = vec![
        // one underscore too few: not an override, so not applied
        ("CALLVAULT_SERVER__LISTEN".into(), "127.0.0.1:1".into()),
        // a variable that is not UTF-8 once stopped the service with a panic
        ("LEGACY_LATIN1".into(), OsString::from_vec(vec![b'x', 0xff])),
    ];
    // it answers on the configured port
    i.start();
    let log = i.service_log_with("CALLVAULT_SERVER__LISTEN");
    assert!(
        log.contains("environment variable CALLVAULT_SERVER__LISTEN is not read"),
        "{log}"
    );
    assert!(!log.contains("LEGACY_LATIN1"), "{log}");
}

/// systemd starts a service with a soft limit of 1024 open files; each connection takes
/// one. The service raises the soft limit to the hard one, so clients that keep connections
/// open (agents' browsers, an IVR's pool) do not keep new ones out. Before 2026-12-06,
/// about 1,000 idle keep-alive connections kept every new call from being accepted.
#[test]
fn connections_beyond_the_soft_open_files_limit_it_started_with_are_served() {
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
    if hard.is_some_and(|h| h < 1024) {
        eprintln!("skipped: this process's hard limit on open files is under 1024");
        return;
    }
    let mut i = Instance::init();
    i.serve_open_files = Some(64);
    i.start();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", i.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let values: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(
        values[0], values[1],
        "soft limit raised to the hard one: {line}"
    );
    // 100 clients, each keeping its connection open after a request, then one more
    let held: Vec<reqwest::blocking::Client> = (0..100)
        .map(|n| {
            let c = i.client();
            let r = c.get(i.url("/livez")).send();
            assert!(r.is_ok_and(|r| r.status() == 200), "connection {n}");
            c
        })
        .collect();
    let r = i.client().get(i.url("/readyz")).send().unwrap();
    assert_eq!(r.status(), 200);
    drop(held);
    assert!(
        !i.service_log().contains("Too many open files"),
        "{}",
        i.service_log()
    );
}

/// A hard limit on open files below 4096 (the soft one is raised to it) is warned of at
/// start, saying how to raise it; from 4096 on, not.
#[test]
fn a_hard_limit_of_few_open_files_is_warned_of() {
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
    if hard.is_some_and(|h| h < 4096) {
        eprintln!("skipped: this process's hard limit on open files is under 4096");
        return;
    }
    let warned = |limit: u64| {
        let mut i = Instance::init();
        i.serve_open_files = Some(1024);
        i.serve_open_files_hard = Some(limit);
        i.start();
        let log = i.service_log_with("callvault is serving");
        i.stop();
        log.contains(&format!(
            "this process may open only {limit} files, and each connection takes one"
        )) && log.contains("raise LimitNOFILE=")
    };
    assert_eq!((warned(4095), warned(4096)), (true, false));
}

#[test]
fn with_log_format_json_every_line_of_the_service_log_is_a_json_object() {
    let mut i = Instance::init();
    i.serve_env = vec![("CALLVAULT__LOG__FORMAT".into(), "json".into())];
    i.start();
    // a refused key: a warning with fields of its own
    let c = i.client();
    let r = c
        .get(i.url("/v1/whoami"))
        .bearer_auth("cvk_nonsense")
        .send();
    assert_eq!(r.unwrap().status(), StatusCode::UNAUTHORIZED);
    i.assert_never_written(&["cvk_nonsense"]);
    let log = i.service_log_with("callvault is serving");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "callvault is serving" && l["level"] == "INFO"),
        "{log}"
    );
    assert!(lines.iter().all(|l| l["timestamp"].is_string()), "{log}");
    // a bad value is refused with its choices
    let out = i.cli_env(&["config", "check"], &[("CALLVAULT__LOG__FORMAT", "xml")]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(
        said.contains("log.format") && said.contains("\"text\", \"json\""),
        "{said}"
    );
}

/// Under systemd, whose `JOURNAL_STREAM` names the stderr it connected: each line of the
/// service's log, in either format, and each line of a command's error starts with its syslog
/// priority (`<4>` a warning), which journald files it under, and a text line leaves out its
/// time. A `JOURNAL_STREAM` that names another stream (a redirect in the unit's shell)
/// changes nothing.
#[test]
fn under_systemd_each_line_reaches_the_journal_at_its_priority() {
    let i = Instance::init();
    let stream = |name: &str| {
        let path = i.path(name);
        let file = std::fs::File::create(&path).unwrap();
        let meta = file.metadata().unwrap();
        use std::os::unix::fs::MetadataExt;
        (path, file, format!("{}:{}", meta.dev(), meta.ino()))
    };
    for format in ["text", "json"] {
        let (path, file, named) = stream(&format!("journal-{format}.txt"));
        let mut serve = i.cli_command(&["serve"]);
        let mut child = serve
            .env("JOURNAL_STREAM", &named)
            .env("CALLVAULT__LOG__FORMAT", format)
            // a variable the service does not read (one `_` too few): a warning, whose line
            // break cannot make a record of its own at another priority
            .env("CALLVAULT_LOG__LEVEL\n<0>forged", "debug")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let c = i.client();
        wait_for("serve", || c.get(i.url("/livez")).send().is_ok());
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
        assert!(child.wait().unwrap().success());
        let log = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<(&str, &str)> = log
            .lines()
            .map(|line| {
                let (p, rest) = line.split_at(3);
                assert!(["<3>", "<4>", "<6>", "<7>"].contains(&p), "{line}");
                (p, rest)
            })
            .collect();
        // each line at its level's priority; a text line starts with the level, its time
        // left to the journal
        for (p, line) in &lines {
            let level = ["<3>ERROR", "<4>WARN", "<6>INFO", "<7>DEBUG"]
                .into_iter()
                .find(|l| l.starts_with(p))
                .unwrap()[3..]
                .to_string();
            let starts = match format {
                "text" => format!("{level} "),
                _ => "{\"timestamp\":".into(),
            };
            assert!(line.starts_with(&starts), "{p}{line}");
            if format == "json" {
                assert!(
                    line.contains(&format!("\"level\":\"{level}\"")),
                    "{p}{line}"
                );
            }
        }
        let has = |p: &str, what: &str| lines.iter().any(|(q, l)| *q == p && l.contains(what));
        assert!(has("<6>", "callvault is serving"), "{log}");
        // escaped alike in both formats
        assert!(has("<4>", "CALLVAULT_LOG__LEVEL\\n<0>forged"), "{log}");
    }
    // a command's error, every line of it at err; and the same where stderr is not the journal
    let (path, file, named) = stream("journal-cli.txt");
    let out = i
        .cli_command(&["key", "list"])
        .env("JOURNAL_STREAM", &named)
        .env("CALLVAULT__STORAGE__CACHE_MB", "lots")
        .stderr(file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = std::fs::read_to_string(&path).unwrap();
    assert!(said.lines().count() >= 2, "{said}");
    assert!(said.lines().all(|l| l.starts_with("<3>")), "{said}");
    assert!(said.starts_with("<3>callvault: "), "{said}");
    let elsewhere = i
        .cli_command(&["key", "list"])
        .env("JOURNAL_STREAM", &named)
        .env("CALLVAULT__STORAGE__CACHE_MB", "lots")
        .output()
        .unwrap();
    let plain = text(&elsewhere.stderr);
    assert_eq!(plain, said.replace("<3>", ""));
    // the unit's ExecStartPre: `config check`'s warnings at warning
    let (path, file, named) = stream("journal-check.txt");
    let out = i
        .cli_command(&["config", "check"])
        .env("JOURNAL_STREAM", &named)
        .env("CALLVAULT_LOG__LEVEL", "debug")
        .stderr(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stdout));
    let warned = std::fs::read_to_string(&path).unwrap();
    assert!(
        warned.starts_with("<4>warning: environment variable CALLVAULT_LOG__LEVEL is not read"),
        "{warned}"
    );
    assert!(
        warned.lines().all(|l| l.starts_with("<4>warning: ")),
        "{warned}"
    );
}

#[test]
fn sighup_with_a_broken_config_keeps_serving_and_a_good_one_swaps_the_certificate() {
    let mut i = Instance::started();
    // A broken file: refused, the service keeps its config and certificate.
    std::fs::write(&i.config, "[server]\nlisten = 42\n[bogus]\n").unwrap();
    i.signal(libc::SIGHUP);
    wait_for("the refusal in the audit log", || {
        i.audit_export().contains("config_reload_refused")
    });
    assert!(i.is_running());
    assert_eq!(
        i.client().get(i.url("/livez")).send().unwrap().status(),
        StatusCode::OK
    );

    // A good file naming a new certificate: swapped in without a restart.
    let new = callvault::tls::TlsPaths {
        cert: i.path("new.crt"),
        key: i.path("new.key"),
        generated: false,
    };
    callvault::tls::generate_self_signed(&new, &[]).unwrap();
    let new_client = client_trusting(&new.cert);
    assert!(
        new_client.get(i.url("/livez")).send().is_err(),
        "new cert served too early"
    );
    i.write_config(&format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        new.cert.display(),
        new.key.display()
    ));
    i.signal(libc::SIGHUP);
    wait_for("the new certificate", || {
        new_client.get(i.url("/livez")).send().is_ok()
    });
    // the certificate is swapped in just before the reload's audit record is written
    wait_for("the reload in the audit log", || {
        i.audit_export().contains("\"config_reloaded\"")
    });

    // A good config naming a certificate that does not exist: refused, new cert stays.
    i.write_config("tls_cert = \"/nonexistent.crt\"\ntls_key = \"/nonexistent.key\"\n");
    i.signal(libc::SIGHUP);
    wait_for("the second refusal", || {
        i.audit_export().matches("config_reload_refused").count() == 2
    });
    assert_eq!(
        new_client.get(i.url("/livez")).send().unwrap().status(),
        StatusCode::OK
    );
}

/// A self-signed pair for 127.0.0.1 valid between two dates.
fn pair_valid(i: &Instance, name: &str, from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let ymd = |d: chrono::NaiveDate| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.not_before = ymd(from);
    params.not_after = ymd(to);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_file, key_file) = (
        i.path(&format!("{name}.crt")),
        i.path(&format!("{name}.key")),
    );
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert_file.display(),
        key_file.display()
    )
}

#[test]
fn a_certificate_that_ends_soon_or_has_ended_is_reported() {
    let mut i = Instance::started();
    let ready = |client: &reqwest::blocking::Client| {
        let res = client.get(i.url("/readyz")).send().unwrap();
        (res.status(), res.text().unwrap())
    };
    let (status, body) = ready(&i.client());
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("\"tls\":\"certificate valid until 4096-"),
        "{body}"
    );

    // Ten days left: still ready, but said in the log, /readyz and /metrics.
    let today = chrono::Utc::now().date_naive();
    let ends = today + chrono::Days::new(10);
    i.write_config(&pair_valid(&i, "soon", today - chrono::Days::new(1), ends));
    let check = i.cli(&["config", "check"]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(
        text(&check.stderr).contains("soon.crt: ends on"),
        "{}",
        text(&check.stderr)
    );
    i.signal(libc::SIGHUP);
    let lenient = crate::harness::client_builder(&i.ca())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let gauge = format!(
        "callvault_tls_certificate_expiry_timestamp_seconds {}",
        ends.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp()
    );
    wait_for("the new certificate's end in /metrics", || {
        let m = lenient.get(i.url("/metrics")).send().unwrap();
        m.text().unwrap().contains(&gauge)
    });
    let (status, body) = ready(&lenient);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("days left): renew it"), "{body}");
    // the log is read by a thread of its own: the line may reach it after the gauge
    let log = i.service_log_with("soon.crt: ends on");
    assert!(
        log.contains("WARN") && log.contains("soon.crt: ends on"),
        "{log}"
    );

    // Ended yesterday: not ready, and an error in the log.
    let yesterday = today - chrono::Days::new(1);
    i.write_config(&pair_valid(
        &i,
        "old",
        today - chrono::Days::new(30),
        yesterday,
    ));
    i.signal(libc::SIGHUP);
    wait_for("the expired certificate in /readyz", || {
        ready(&lenient).0 == StatusCode::SERVICE_UNAVAILABLE
    });
    let (_, body) = ready(&lenient);
    assert!(
        body.contains("not_ready") && body.contains(&format!("expired on {yesterday}")),
        "{body}"
    );
    let log = i.service_log_with("old.crt: expired on");
    assert!(log.contains("old.crt: expired on"), "{log}");
    assert!(
        i.is_running(),
        "an expired certificate is reported, not fatal"
    );
}

#[test]
fn backup_while_serving_under_load_then_restore_after_stopping() {
    let mut i = Instance::started();
    let key = |i: &Instance, name: &str| {
        text(
            &i.cli(&["key", "create", "--role", "ivr", "--name", name])
                .stdout,
        )
        .trim()
        .to_string()
    };
    let k1 = key(&i, "k1");
    // a key that leaks after the backup is taken, and is revoked
    let leaked = key(&i, "leaked");
    // Requests that write audit records while the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (client, url, stop) = (i.client(), i.url("/v1/whoami"), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 2000 {
                client.get(&url).send().unwrap();
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let backup = i.path("backup.redb");
    let last_backup =
        |i: &Instance| i.metric("callvault_backup_last_success_timestamp_seconds", &[]);
    assert_eq!(last_backup(&i), 0.0, "no backup yet: no gauge");
    // the store's creation instead, from which the backup alert counts meanwhile
    let created = i.metric("callvault_store_created_timestamp_seconds", &[]);
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 600.0..=now).contains(&created),
        "{created} is not when the store was made"
    );
    let before = chrono::Utc::now().timestamp() as f64;
    let out = i.cli(&["db", "backup", backup.to_str().unwrap()]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let requests = load.join().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(requests > 0);
    assert!(text(&out.stdout).contains("backup written"));
    // monitoring sees when the last backup was written
    let at = last_backup(&i);
    assert!(
        (before..=chrono::Utc::now().timestamp() as f64).contains(&at),
        "{at} is not the backup's time"
    );
    assert_eq!(
        std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // dated copies into a folder (the backup timer's command), written by the service: the
    // second removes the first, beyond --keep 1
    let dir = i.path("backups");
    let into = |i: &Instance| {
        let out = i.cli(&[
            "db",
            "backup",
            "--into",
            dir.to_str().unwrap(),
            "--keep",
            "1",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let first = into(&i);
    std::thread::sleep(Duration::from_millis(1100));
    let second = into(&i);
    let written = |said: &str| {
        let line = said
            .lines()
            .find(|l| l.starts_with("backup written: "))
            .unwrap();
        line["backup written: ".len()..]
            .split(" (")
            .next()
            .unwrap()
            .to_string()
    };
    let (first, second) = (written(&first), written(&second));
    assert!(
        first.contains("/backups/callvault-") && first.ends_with("Z.redb"),
        "{first}"
    );
    assert_ne!(first, second);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left, [PathBuf::from(&second)]);
    assert!(i.audit_events().contains("1 older removed (keeping 1)"));

    let k2 = key(&i, "k2");
    assert!(i.cli(&["key", "revoke", "leaked"]).status.success());
    let out = i.cli(&["db", "restore", backup.to_str().unwrap()]);
    assert!(!out.status.success(), "restore must refuse while serving");
    assert!(text(&out.stderr).contains("stop it first"));
    let out = i.cli(&["db", "compact"]);
    assert!(!out.status.success(), "compact must refuse while serving");
    assert!(text(&out.stderr).contains("stop it first"));
    let out = i.cli(&["db", "check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));

    assert!(i.stop().success());
    // the service stopped: the file's free space goes back to the disk, and it is audited
    let out = i.cli(&["db", "compact"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with("compacted ") && said.contains(" MiB given back to the disk"),
        "{said}"
    );
    assert!(i.audit_export().contains("\"db_compacted\""));
    assert!(i.cli(&["db", "check"]).status.success());
    let out = i.cli(&["db", "restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // the revocation made after the backup is kept; the key made after it is named
    assert!(
        text(&out.stdout).contains("key leaked (ivr, id ")
            && text(&out.stdout).contains("was revoked after this backup was taken: kept revoked"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("warning: key k2 (ivr, id ")
            && text(&out.stderr).contains("is not in this backup"),
        "{}",
        text(&out.stderr)
    );
    let out = i.cli(&["db", "check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("page-level check: passed"));

    i.start();
    let c = i.client();
    let whoami = i.url("/v1/whoami");
    assert_eq!(
        c.get(&whoami).bearer_auth(&k1).send().unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        c.get(&whoami).bearer_auth(&k2).send().unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        c.get(&whoami).bearer_auth(&leaked).send().unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "a key revoked after the backup is active again"
    );
    let out = i.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(i.audit_export().contains("\"db_restored\""));
}

#[test]
fn the_service_turns_transparent_huge_pages_off_for_itself() {
    // A 2 MiB page faulted in on redb's writer thread stopped every IVR step for as long as
    // the kernel took to zero it (BENCHMARKS.md, "Huge pages"); the CLI's commands keep them.
    let i = Instance::started();
    let thp = |pid: u32| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:"))
            .map(str::trim)
            .map(str::to_string);
        line.expect("/proc/PID/status has THP_enabled (Linux 5.0 and later)")
    };
    assert_eq!(
        thp(i.pid()),
        "0",
        "the service's process may use huge pages"
    );
    // and the field can say otherwise: this kernel has them, and the test's process allows them
    assert_eq!(thp(std::process::id()), "1");
}

#[test]
fn sigterm_stops_gracefully_and_is_audited() {
    let mut i = Instance::started();
    assert!(i.stop().success());
    let audit = i.audit_export();
    assert!(
        audit.contains("service_started") && audit.contains("service_stopped"),
        "{audit}"
    );
    // nothing was under way: no warning of work left behind; and the sweep at start, which
    // found nothing, said nothing
    let log = i.service_log();
    assert!(
        log.contains("callvault stopped")
            && !log.contains("still under way")
            && !log.contains("calls swept"),
        "{log}"
    );
    assert!(
        !i.path("state/admin.sock").exists(),
        "the admin socket is cleaned up"
    );
}

/// An IVR keeps its connection open between calls. A stop must not wait out the
/// shutdown timeout for it: the idle connection is closed at once.
#[test]
fn sigterm_closes_idle_keep_alive_connections_instead_of_waiting_for_them() {
    let mut i = Instance::init();
    i.write_config("shutdown_timeout_seconds = 60\nkeep_alive_seconds = 600\n");
    i.start();
    let client = i.client();
    let health = client.get(i.url("/livez")).send().unwrap();
    assert_eq!(health.status(), 200);
    drop(health); // the connection stays in the client's pool, open and idle

    let began = Instant::now();
    assert!(i.stop().success());
    let took = began.elapsed();
    // (`stop` itself gives up at 20 s)
    assert!(
        took < Duration::from_secs(10),
        "the stop waited {took:?} for an idle connection (shutdown timeout 60 s)"
    );
    drop(client);
}

/// A process the test started, stopped as Ctrl-C would (a demo's directory removed, a
/// store closed cleanly) if the test ends before it stopped it: no process is left behind
/// by a failed test.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
            let _ = self.0.wait();
        }
    }
}

#[test]
fn the_demo_prints_curl_lines_that_work() {
    let port = free_port();
    let mut child = Running(
        Command::new(BIN)
            .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = (&mut stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("# serving"))
        .collect();
    // What the demo prints while serving (the demo phone's texts).
    let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = printed.clone();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let curls: Vec<&String> = lines.iter().filter(|l| l.starts_with("curl ")).collect();
    assert!(curls.len() >= 8, "{lines:?}");
    let run = |line: &str| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = Command::new("sh").args(["-c", line]).output().unwrap();
            if out.status.success() || Instant::now() > deadline {
                return text(&out.stdout);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let whoami = curls
        .iter()
        .find(|l| l.contains("Bearer") && l.ends_with("/v1/whoami"))
        .unwrap();
    assert!(run(whoami).contains("\"role\":\"ivr\""));
    let forbidden = curls
        .iter()
        .find(|l| l.contains("/v1/admin/reload"))
        .unwrap();
    assert!(run(forbidden).contains("\"forbidden\""));
    let create = curls.iter().find(|l| l.contains("-d ")).unwrap();
    assert!(run(create).contains("\"key\":\"cvk_"));
    let member = curls.iter().find(|l| l.contains("/v1/members/")).unwrap();
    assert!(
        run(member).contains("\"member_id\":\"100000\""),
        "the demo's members are enrolled"
    );
    // Every scripted story, each in one shell as a newcomer would paste it, in the printed
    // order (the lockout story's unlock comes after its wrong PINs), ends as its title says.
    let expected = [
        ("app intent", vec!["\"level\":\"app_intent\""]),
        ("[2], known number", vec!["\"level\":\"questions\""]),
        ("[3], unknown number", vec!["\"level\":\"questions\""]),
        (
            "agent checklist",
            vec![
                "\"result\":\"verified\"",
                "\"by\":\"key:agent1/agent:j.doe\"",
            ],
        ),
        (
            "activation",
            vec!["\"field\":\"new_pin\"", "\"level\":\"pin\""],
        ),
        (
            "Lockout",
            vec!["\"reason\":\"locked\"", "\"level\":\"pin\""],
        ),
        (
            "One-time code",
            vec![
                "challenge ch_",
                "\"result\":\"approved\"",
                "\"methods_passed\":[\"challenge:sms\"]",
            ],
        ),
        (
            "Seed 001, push",
            vec![
                "challenge ch_",
                "\"member_response\":true",
                "\"result\":\"approved\"",
                "\"methods_passed\":[\"challenge:push\"]",
            ],
        ),
        ("no caller ID", vec!["\"reason\":\"opt_out\""]),
        (
            "An agent identifies a caller",
            vec![
                "\"identified_by\":\"agent\"",
                "\"trust\":\"unknown_number\"",
                "\"required\":3",
                "\"result\":\"verified\"",
            ],
        ),
        (
            "A lost answer",
            vec![
                "\"question\":\"zip\"",
                "\"step\":2}",
                "\"level\":\"questions\"",
            ],
        ),
        (
            "As a PBX sends it",
            vec![
                "trust=known_number",
                "question=zip",
                "outcome=authenticated",
                "level=questions",
            ],
        ),
        (
            "A spoofed caller ID",
            vec![
                "\"trust\":\"unknown_number\"",
                "\"level\":\"questions\"",
                "\"caller_id_check\":\"failed\"",
            ],
        ),
        (
            "What the calls above came to",
            vec![
                // the stories of [2], the lost answer and the PBX: Ada's verified number, by
                // questions
                "callvault_calls_finished_total{outcome=\"authenticated\",level=\"questions\",\
                 reason=\"\",status=\"\",trust=\"known_number\"} 3",
                "callvault_calls_finished_total{outcome=\"transfer\",level=\"\",\
                 reason=\"opt_out\",status=\"\",trust=\"unknown_number\"} 1",
                "callvault_member_verdicts_total{method=\"checklist\",channel=\"\",\
                 result=\"verified\"} 2",
                "callvault_call_dialog_seconds_count{outcome=\"transfer\"} 5",
                // the lockout story's second call: Katherine's last wrong PIN
                "callvault_members_locked_total{by=\"pins\"} 1",
                "callvault_members_locked_total{by=\"answers\"} 0",
            ],
        ),
    ];
    let mut stories: Vec<(String, Vec<String>)> = Vec::new();
    for line in &lines {
        if let Some(title) = line.strip_prefix("# ") {
            stories.push((title.to_string(), Vec::new()));
        } else if let Some((_, body)) = stories.last_mut()
            && !line.trim().is_empty()
        {
            body.push(line.clone());
        }
    }
    let stories: Vec<_> = stories
        .into_iter()
        .filter(|(title, _)| !title.starts_with("Try it"))
        .collect();
    assert_eq!(stories.len(), expected.len(), "{stories:?}");
    for ((title, body), (marker, wants)) in stories.iter().zip(&expected) {
        assert!(
            title.contains(marker),
            "stories in order: {title:?} vs {marker:?}"
        );
        let out = Command::new("sh")
            .args(["-c", &body.join("\n")])
            .output()
            .unwrap();
        let out = text(&out.stdout);
        for want in wants {
            assert!(out.contains(want), "{title}: no {want} in {out}");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !printed
        .lock()
        .unwrap()
        .contains("[demo phone] text to +16122030101: ")
    {
        assert!(Instant::now() < deadline, "the demo phone printed no text");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        printed
            .lock()
            .unwrap()
            .contains("[demo app] push to member 1001 (challenge ch_"),
        "the demo app printed no push"
    );
    let dir = lines
        .iter()
        .find_map(|l| l.strip_prefix("  config: "))
        .map(|p| std::path::PathBuf::from(p).parent().unwrap().to_path_buf())
        .unwrap();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
    assert!(!dir.exists(), "the demo's throwaway directory is removed");
}

/// `serve` as systemd starts it, with `env` besides: a socket of the test's own as its
/// `NOTIFY_SOCKET` (read with a 20 s timeout), and the process.
fn serve_notifying(
    i: &Instance,
    env: &[(&str, &str)],
) -> (std::os::unix::net::UnixDatagram, Running) {
    let socket_path = i.path("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&i.config)
        .arg("serve")
        .env("NOTIFY_SOCKET", &socket_path)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (notify, Running(child))
}

#[test]
fn readiness_and_stopping_are_reported_to_systemd() {
    let i = Instance::init();
    let (notify, mut running) = serve_notifying(&i, &[]);
    let child = &mut running.0;
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).unwrap();
    assert!(text(&buf[..n]).contains("READY=1"), "{}", text(&buf[..n]));
    // Ready means serving: the API answers at once.
    assert_eq!(
        i.client().get(i.url("/livez")).send().unwrap().status(),
        StatusCode::OK
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let n = notify.recv(&mut buf).unwrap();
    assert!(
        text(&buf[..n]).contains("STOPPING=1"),
        "{}",
        text(&buf[..n])
    );
    assert!(child.wait().unwrap().success());
}

/// With `WatchdogSec=` (systemd gives `WATCHDOG_USEC`), the service pings systemd a few times
/// per period while its HTTPS workers run, from READY=1 to STOPPING=1. Under a period of 0.9 s
/// a worker's beat older than 0.45 s stops the pings, so steady pings also show that every
/// worker's event loop beats.
#[test]
fn systemd_s_watchdog_is_pinged_while_the_workers_run() {
    let i = Instance::init();
    let (notify, mut running) = serve_notifying(&i, &[("WATCHDOG_USEC", "900000")]);
    let child = &mut running.0;
    let mut buf = [0u8; 512];
    let mut next = || {
        let n = notify.recv(&mut buf).unwrap();
        text(&buf[..n]).trim_end().to_string()
    };
    assert_eq!(next(), "READY=1");
    let began = Instant::now();
    for _ in 0..6 {
        assert_eq!(next(), "WATCHDOG=1");
    }
    // six pings, a third of the period apart: about two periods (and well within six, or
    // systemd would have ended the service)
    let took = began.elapsed();
    assert!(took >= Duration::from_millis(1_500), "{took:?}");
    assert!(took < Duration::from_millis(5_400), "{took:?}");
    // while calls are served
    assert_eq!(
        i.client().get(i.url("/livez")).send().unwrap().status(),
        StatusCode::OK
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut after_stopping = Vec::new();
    let mut stopping = false;
    notify
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    while let Ok(n) = notify.recv(&mut buf) {
        let said = text(&buf[..n]).trim_end().to_string();
        if stopping {
            after_stopping.push(said);
        } else {
            stopping = said == "STOPPING=1";
        }
    }
    assert!(stopping, "no STOPPING=1");
    assert!(child.wait().unwrap().success());
    assert_eq!(after_stopping, Vec::<String>::new());
}

/// A store written by the last callvault on redb 2 (`tests/fixtures/format-2-store`), with the
/// vault key and API keys it was made with.
fn with_format_2_store(i: &Instance) -> Vec<String> {
    use std::io::Read;
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-2-store");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture.join("callvault.redb.gz")).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    std::fs::write(i.path("state/callvault.redb"), bytes).unwrap();
    let key = i.path("etc/vault.key");
    std::fs::copy(fixture.join("vault.key"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::read_to_string(fixture.join("keys.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_store_from_the_redb_2_version_is_upgraded_at_start_and_serves_its_calls_and_members() {
    let mut i = Instance::init();
    let keys = with_format_2_store(&i);
    let (ivr, agent) = (&keys[1], &keys[2]);
    i.start();
    let upgraded = "the store is upgraded to the current file format";
    let log = i.service_log_with(upgraded);
    assert!(log.contains(upgraded), "{log}");
    assert!(i.path("state/callvault.redb.format-2").is_file());
    let c = i.client();
    // the call in progress when the old version stopped, as the agent sees it
    let call = c
        .get(i.url("/v1/calls/fx-known"))
        .bearer_auth(agent)
        .send()
        .unwrap();
    assert_eq!(call.status(), StatusCode::OK);
    let call: serde_json::Value = call.json().unwrap();
    assert_eq!(call["member"]["member_id"], "70001", "{call}");
    assert_eq!(
        call["methods_failed"],
        serde_json::json!(["question:dob"]),
        "{call}"
    );
    assert_eq!(call["step"]["question"], "zip", "{call}");
    // the phone index: a new call from Bo's number identifies Bo
    let started: serde_json::Value = c
        .post(i.url("/v1/calls"))
        .bearer_auth(ivr)
        .json(&serde_json::json!({"call_id": "after-upgrade", "ani": "+16125550102"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(started["member_id"], "70002", "{started}");
    assert_eq!(started["question"], "dob", "{started}");
    // the PIN sealed with the old store's vault key
    let shown = i.cli(&["member", "show", "70003"]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["pin"]["has_pin"], true, "{shown}");
    // the old chain, and the records written since, in one intact chain
    let out = i.cli(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(i.stop().success());
    let out = i.cli(&["db", "check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("3 members"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_backup_made_by_the_redb_2_version_restores() {
    let mut i = Instance::init();
    let keys = with_format_2_store(&i);
    // the fixture as a backup file, and a store of this version in its place
    let backup = i.path("old-backup.redb");
    std::fs::rename(i.path("state/callvault.redb"), &backup).unwrap();
    let before = std::fs::read(&backup).unwrap();
    let out = i.cli(&["db", "restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        before,
        "the backup is left as it was"
    );
    assert!(!i.path("state/callvault.redb.restoring.format-2").exists());
    i.start();
    let whoami = i
        .client()
        .get(i.url("/v1/whoami"))
        .bearer_auth(&keys[1])
        .send()
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::OK);
}

/// A damaged backup is refused in words, never with a panic's trace, and the store stays.
/// Some damage makes redb 4.6 panic while opening the file; `db restore` catches it quietly.
#[test]
fn a_damaged_backup_is_refused_in_words() {
    let i = Instance::init();
    let backup = i.path("b.redb");
    let out = i.cli(&["db", "backup", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let good = std::fs::read(&backup).unwrap();
    let damaged = i.path("damaged.redb");
    let damaged_name = damaged.to_str().unwrap();
    let mut redb_stopped = 0;
    for page in (4096..good.len()).step_by(4096) {
        let mut bad = good.clone();
        bad[page..page + 64].iter_mut().for_each(|b| *b ^= 0x5a);
        std::fs::write(&damaged, &bad).unwrap();
        let out = i.cli(&["db", "restore", damaged_name]);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "page at {page}: {stderr}");
        if out.status.success() {
            continue; // a page the store does not use
        }
        assert_eq!(out.status.code(), Some(1), "page at {page}: {stderr}");
        let says = format!("nothing restored: {damaged_name} is damaged: redb ");
        assert!(stderr.contains(&says), "page at {page}: {stderr}");
        redb_stopped += usize::from(stderr.contains("redb stopped on a damaged page"));
    }
    assert!(
        redb_stopped > 0,
        "no damage made redb panic; the test shows nothing"
    );
    let out = i.cli(&["db", "check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // the same damage to the live store: `db check` and `serve` say so, without a panic
    let live = i.path("state/callvault.redb");
    let says = format!(
        "{} is damaged: redb stopped on a damaged page",
        live.display()
    );
    let panicking = (4096..good.len()).step_by(4096).any(|page| {
        let mut bad = good.clone();
        bad[page..page + 64].iter_mut().for_each(|b| *b ^= 0x5a);
        std::fs::write(&live, &bad).unwrap();
        text(&i.cli(&["db", "check"]).stderr).contains(&says)
    });
    assert!(panicking, "no page's damage made redb panic");
    let out = i.spawn_serve().wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&says) && !stderr.contains("panicked"),
        "{stderr}"
    );
}

/// A reload applies a changed `log.level` from its next line, with no restart (debug for a
/// while, then back); with `RUST_LOG` set, that decides, and the reload says so.
#[test]
fn a_reload_changes_the_log_level_unless_rust_log_decides_it() {
    let mut i = Instance::init();
    i.rust_log = None;
    let (dir, port, config) = (i.dir.path().to_path_buf(), i.port, i.config.clone());
    let at_level = |level: &str| {
        let text = crate::harness::config_text(&dir, port, "")
            .replace("level = \"info\"", &format!("level = \"{level}\""));
        assert!(text.contains(&format!("level = \"{level}\"")), "{text}");
        std::fs::write(&config, text).unwrap();
    };
    at_level("warn");
    i.start();
    let admin = i.admin.clone();
    let reload = |i: &Instance| {
        let r = (i.client().post(i.url("/v1/admin/reload")))
            .bearer_auth(&admin)
            .json(&serde_json::json!({}))
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<serde_json::Value>().unwrap()
    };
    let reloaded = "client CAs reloaded";
    // how many reloads' lines the log has once it has `n` (or after 10 s): the line is
    // written before the reload answers, but read from the service's stderr after
    let logged = |i: &Instance, n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let count = i.service_log().matches(reloaded).count();
            if count >= n || std::time::Instant::now() >= deadline {
                return count == n;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    // warn: a reload's own info line is not written
    let r = reload(&i);
    assert_eq!(r["restart_needed_for"], serde_json::json!([]), "{r}");
    at_level("info");
    reload(&i);
    assert!(logged(&i, 1), "{}", i.service_log());
    at_level("warn");
    reload(&i);
    at_level("info");
    reload(&i);
    assert!(logged(&i, 2), "{}", i.service_log());

    // RUST_LOG decides while it is set
    i.stop();
    i.rust_log = Some("info");
    i.start();
    at_level("error");
    let r = reload(&i);
    assert_eq!(r["restart_needed_for"], serde_json::json!([]), "{r}");
    assert!(
        r["warnings"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .starts_with("log.level: RUST_LOG is set")),
        "{r}"
    );
}
