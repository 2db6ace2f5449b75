use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::{EmailConfig, PushConfig, RestCoreConfig, SmsConfig};

/// A configuration whose vault key, and so its generated TLS pair, sit in `dir`.
fn config_in(dir: &Path) -> Config {
    let mut config = Config::default();
    config.vault.key_file = dir.join("vault.key");
    config
}

/// `init`'s files: the vault key and the self-signed pair beside it; a copy of the
/// certificate as a CA file.
fn initialised(dir: &Path) -> PathBuf {
    keyfile::create_key_file(&dir.join("vault.key")).unwrap();
    let paths = TlsPaths::from_config(&config_in(dir));
    tls::generate_self_signed(&paths, &[]).unwrap();
    let ca = dir.join("ca.pem");
    fs::copy(&paths.cert, &ca).unwrap();
    ca
}

/// The key each finding names.
fn keys(issues: &[ConfigIssue]) -> Vec<&str> {
    issues.iter().map(|i| i.path.as_str()).collect()
}

#[test]
fn before_init_the_missing_key_and_pair_are_warnings_only() {
    let dir = tempfile::tempdir().unwrap();
    let report = check_files(&config_in(dir.path()), Utc::now(), Reader::Admin);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        keys(&report.warnings),
        ["vault.key_file", "server.tls_cert"]
    );
    assert!(report.warnings[0].message.contains("callvault init"));
    assert!(report.warnings[1].message.contains("callvault init"));
}

fn garbage(dir: &Path) -> PathBuf {
    let p = dir.join("garbage.pem");
    fs::write(&p, "not a certificate\n").unwrap();
    p
}

fn rest(config: &mut Config, ca: PathBuf) {
    config.core.rest = Some(RestCoreConfig {
        ca_file: Some(ca),
        ..RestCoreConfig::default()
    });
}

/// A REST core presenting `cert` and `key` to its gateway.
fn client_pair(config: &mut Config, cert: PathBuf, key: PathBuf) {
    config.core.kind = CoreKind::Rest;
    config.core.rest = Some(RestCoreConfig {
        client_cert: Some(cert),
        client_key: Some(key),
        ..RestCoreConfig::default()
    });
}

#[test]
fn each_file_the_service_would_refuse_is_a_problem_named_by_its_key() {
    type Change = fn(&mut Config, &Path);
    // (what is done to an initialised configuration, the keys of the problems it makes,
    //  a word each problem's message carries)
    let cases: Vec<(&str, Change, &[&str], &str)> = vec![
        ("as init left it", |_, _| {}, &[], ""),
        (
            "key file open to others",
            |_, dir| {
                let key = dir.join("vault.key");
                fs::set_permissions(key, fs::Permissions::from_mode(0o644)).unwrap();
            },
            &["vault.key_file"],
            "chmod 600",
        ),
        (
            "key file of the wrong length",
            |_, dir| fs::write(dir.join("vault.key"), b"short").unwrap(),
            &["vault.key_file"],
            "32 bytes",
        ),
        (
            "half of the generated pair",
            |_, dir| fs::remove_file(dir.join("tls.key")).unwrap(),
            &["server.tls_key"],
            "tls.key: No such file",
        ),
        (
            "configured certificate missing",
            |c, dir| {
                c.server.tls_cert = Some(dir.join("missing.crt"));
                c.server.tls_key = Some(dir.join("tls.key"));
            },
            &["server.tls_cert"],
            "missing.crt",
        ),
        (
            "certificate that is not one",
            |c, dir| {
                c.server.tls_cert = Some(garbage(dir));
                c.server.tls_key = Some(dir.join("tls.key"));
            },
            &["server.tls_cert"],
            "no certificate",
        ),
        (
            "key of another pair",
            |c, dir| {
                let other = TlsPaths {
                    cert: dir.join("other.crt"),
                    key: dir.join("other.key"),
                    generated: false,
                };
                tls::generate_self_signed(&other, &[]).unwrap();
                c.server.tls_cert = Some(dir.join("tls.crt"));
                c.server.tls_key = Some(other.key);
            },
            &["server.tls_key"],
            "do not belong together",
        ),
        (
            "client CA missing",
            |c, dir| c.server.client_ca = Some(dir.join("nowhere.pem")),
            &["server.client_ca"],
            "nowhere.pem",
        ),
        (
            "client CA without a certificate",
            |c, dir| c.server.client_ca = Some(garbage(dir)),
            &["server.client_ca"],
            "no certificate",
        ),
        (
            "core CA without a certificate, core embedded (file unused)",
            |c, dir| rest(c, garbage(dir)),
            &[],
            "",
        ),
        (
            "core CA without a certificate, core rest",
            |c, dir| {
                rest(c, garbage(dir));
                c.core.kind = CoreKind::Rest;
            },
            &["core.rest.ca_file"],
            "no certificate",
        ),
        (
            "e-mail CA without a certificate",
            |c, dir| {
                c.notify.email = Some(EmailConfig {
                    ca_file: Some(garbage(dir)),
                    ..EmailConfig::default()
                })
            },
            &["notify.email.ca_file"],
            "garbage.pem",
        ),
        (
            "client pair for the core: init's own pair",
            |c, dir| client_pair(c, dir.join("tls.crt"), dir.join("tls.key")),
            &[],
            "",
        ),
        (
            "client certificate missing",
            |c, dir| client_pair(c, dir.join("none.crt"), dir.join("tls.key")),
            &["core.rest.client_cert"],
            "No such file",
        ),
        (
            "client certificate without a certificate",
            |c, dir| client_pair(c, garbage(dir), dir.join("tls.key")),
            &["core.rest.client_cert"],
            "no certificate in the file",
        ),
        (
            "client key without a key",
            |c, dir| {
                let key = garbage(dir);
                fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
                client_pair(c, dir.join("tls.crt"), key)
            },
            &["core.rest.client_key"],
            "no private key in the file",
        ),
        (
            "client pair for the SMS gateway: init's own pair",
            |c, dir| {
                c.notify.sms = Some(SmsConfig {
                    client_cert: Some(dir.join("tls.crt")),
                    client_key: Some(dir.join("tls.key")),
                    ..SmsConfig::default()
                })
            },
            &[],
            "",
        ),
        (
            "client key for the app back end without a key",
            |c, dir| {
                let key = garbage(dir);
                fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
                c.notify.push = Some(PushConfig {
                    client_cert: Some(dir.join("tls.crt")),
                    client_key: Some(key),
                    ..PushConfig::default()
                })
            },
            &["notify.push.client_key"],
            "no private key in the file",
        ),
        (
            "client certificate for the SMS gateway missing",
            |c, dir| {
                c.notify.sms = Some(SmsConfig {
                    client_cert: Some(dir.join("none.crt")),
                    client_key: Some(dir.join("tls.key")),
                    ..SmsConfig::default()
                })
            },
            &["notify.sms.client_cert"],
            "No such file",
        ),
        (
            "every CA in use good",
            |c, dir| {
                let ca = dir.join("ca.pem");
                c.server.client_ca = Some(ca.clone());
                rest(c, ca.clone());
                c.core.kind = CoreKind::Rest;
                c.notify.email = Some(EmailConfig {
                    ca_file: Some(ca),
                    ..EmailConfig::default()
                });
            },
            &[],
            "",
        ),
    ];
    for (name, change, expected, word) in cases {
        let dir = tempfile::tempdir().unwrap();
        initialised(dir.path());
        let mut config = config_in(dir.path());
        change(&mut config, dir.path());
        let report = check_files(&config, Utc::now(), Reader::Admin);
        assert_eq!(keys(&report.problems), expected, "{name}");
        for problem in &report.problems {
            assert!(problem.message.contains(word), "{name}: {problem}");
        }
        assert!(report.warnings.is_empty(), "{name}: {:?}", report.warnings);
    }
}

#[test]
fn a_tls_key_every_user_can_read_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    initialised(dir.path());
    let key = dir.path().join("tls.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let report = check_files(&config_in(dir.path()), Utc::now(), Reader::Admin);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(keys(&report.warnings), ["server.tls_key"]);
    assert!(report.warnings[0].message.contains("0644"));
}

#[test]
fn a_certificate_near_its_end_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    initialised(dir.path());
    let pair = tls::load(&TlsPaths::from_config(&config_in(dir.path()))).unwrap();
    let end = tls::Validity::of(&pair).unwrap().not_after;
    let soon = end - chrono::Duration::days(3);
    let report = check_files(&config_in(dir.path()), soon, Reader::Admin);
    assert_eq!(keys(&report.warnings), ["server.tls_cert"]);
    assert!(report.warnings[0].message.contains("renew"));
    assert!(report.problems.is_empty());
}

#[test]
fn a_file_only_an_admin_cannot_open_is_a_warning_others_are_problems() {
    // tests run as root here, so the refusal is made rather than met
    let path = Path::new("/etc/callvault/ca.pem");
    let mut report = FileReport::default();
    let denied = io::Error::from(io::ErrorKind::PermissionDenied);
    report.unopened("server.client_ca", path, &denied);
    assert!(report.problems.is_empty());
    assert_eq!(keys(&report.warnings), ["server.client_ca"]);
    assert!(report.warnings[0].message.contains("as that user"));
    let missing = io::Error::from(io::ErrorKind::NotFound);
    report.unopened("server.client_ca", path, &missing);
    assert_eq!(keys(&report.problems), ["server.client_ca"]);
    assert!(
        report.problems[0]
            .message
            .starts_with("/etc/callvault/ca.pem: ")
    );
    // to the service, a file it may not open is closed for good
    let mut report = FileReport {
        reader: Reader::Service,
        ..FileReport::default()
    };
    report.unopened("notify.sms.ca_file", path, &denied);
    assert!(report.warnings.is_empty());
    assert_eq!(keys(&report.problems), ["notify.sms.ca_file"]);
    assert!(!report.problems[0].message.contains("as that user"));
}

/// The enrollment folders a configuration sets: an inbox must be a folder (nothing creates
/// it, and files would wait there unseen); the others, when they exist, folders too (a
/// missing one is created when first written). Folders left to the state directory are
/// `init`'s, and not looked at. Warnings: calls go on without them, so neither the service's
/// start (`config check` runs before it) nor a reload is refused for them.
#[test]
fn an_inbox_that_is_no_folder_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    initialised(dir.path());
    let folder = dir.path().join("drop");
    fs::create_dir(&folder).unwrap();
    let file = dir.path().join("vault.key");
    let missing = dir.path().join("nowhere");
    let set = |inbox: &Path, others: Option<&Path>| {
        let mut config = config_in(dir.path());
        config.enroll.inbox = Some(inbox.to_path_buf());
        config.enroll.outbox = others.map(Path::to_path_buf);
        config.enroll.processed = others.map(Path::to_path_buf);
        config.enroll.failed = others.map(Path::to_path_buf);
        let report = check_files(&config, Utc::now(), Reader::Admin);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        report.warnings
    };
    assert!(set(&folder, None).is_empty());
    assert!(set(&folder, Some(&folder)).is_empty());
    assert!(
        set(&folder, Some(&missing)).is_empty(),
        "created when first written"
    );
    let problems = set(&missing, None);
    assert_eq!(keys(&problems), ["enroll.inbox"]);
    assert!(
        problems[0]
            .message
            .contains("nowhere: no such folder (create it"),
        "{}",
        problems[0].message
    );
    let problems = set(&file, Some(&file));
    assert_eq!(
        keys(&problems),
        [
            "enroll.inbox",
            "enroll.outbox",
            "enroll.processed",
            "enroll.failed"
        ]
    );
    assert!(
        problems
            .iter()
            .all(|p| p.message.ends_with(": not a folder"))
    );
    // left to the state directory: init's, not looked at here
    assert!(
        check_files(&config_in(dir.path()), Utc::now(), Reader::Admin)
            .warnings
            .is_empty()
    );
    // a folder that cannot exist where it is set (under a file) is no folder to create
    let under_a_file = file.join("outbox");
    let problems = set(&folder, Some(&under_a_file));
    assert_eq!(
        keys(&problems),
        ["enroll.outbox", "enroll.processed", "enroll.failed"]
    );
    assert!(
        problems[0].message.contains("vault.key/outbox: "),
        "{problems:?}"
    );
}

/// `check_files` judges a file it may not open as its reader would: `config check` (an
/// admin) warns, the service refuses. Root opens every regular file, so the refusal is
/// one the kernel makes to root too: a write-only sysctl.
#[test]
fn a_file_the_reader_may_not_open_is_judged_as_that_reader_would() {
    let write_only = Path::new("/proc/sys/vm/compact_memory");
    if fs::File::open(write_only).map_err(|e| e.kind()).err()
        != Some(io::ErrorKind::PermissionDenied)
    {
        eprintln!("skipped: {} opens for reading here", write_only.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    initialised(dir.path());
    let mut config = config_in(dir.path());
    config.server.client_ca = Some(write_only.to_path_buf());
    let admin = check_files(&config, Utc::now(), Reader::Admin);
    assert_eq!(
        (keys(&admin.problems), keys(&admin.warnings)),
        (vec![], vec!["server.client_ca"])
    );
    let service = check_files(&config, Utc::now(), Reader::Service);
    assert_eq!(
        (keys(&service.problems), keys(&service.warnings)),
        (vec!["server.client_ca"], vec![])
    );
}
