//! The files a configuration names, opened the way the service opens them, for
//! `callvault config check`. A file the service would refuse (at start, at a reload or when
//! it first connects) is a problem named by its key. A file this user may not open is only a
//! warning: the service reads its files as its own user, and the check can be run as that
//! user too (`sudo -u callvault callvault config check`). The service runs the same check at
//! start and at each reload, for the files it does not load then itself.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{Config, ConfigIssue, CoreKind};
use crate::outbound::ClientCertError;
use crate::tls::{self, CaFileError, TlsError, TlsPaths};
use crate::vault::keyfile::{self, KeyFileError};

/// Who opens the files: an admin running `config check`, to whom a file may be closed that
/// is open to the service; or the service, to which a closed file is closed for good.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reader {
    #[default]
    Admin,
    Service,
}

/// What reading the named files found.
#[derive(Debug, Default)]
pub struct FileReport {
    /// What would stop the service or one of its connections.
    pub problems: Vec<ConfigIssue>,
    /// What this user could not check, and what will need attention soon.
    pub warnings: Vec<ConfigIssue>,
    reader: Reader,
}

/// Read every file `config` names: the vault key (its mode and length only, never its
/// bytes), the TLS pair, and each CA file in use.
pub fn check_files(config: &Config, now: DateTime<Utc>, reader: Reader) -> FileReport {
    let mut report = FileReport {
        reader,
        ..FileReport::default()
    };
    report.key_file(&config.vault.key_file);
    report.tls_pair(&TlsPaths::from_config(config), now);
    let rest = config.core.rest.as_ref();
    let notify = &config.notify;
    let ca_files = [
        ("server.client_ca", config.server.client_ca.as_deref()),
        (
            "core.rest.ca_file",
            rest.filter(|_| config.core.kind == CoreKind::Rest)
                .and_then(|r| r.ca_file.as_deref()),
        ),
        (
            "notify.email.ca_file",
            notify.email.as_ref().and_then(|c| c.ca_file.as_deref()),
        ),
        (
            "notify.sms.ca_file",
            notify.sms.as_ref().and_then(|c| c.ca_file.as_deref()),
        ),
        (
            "notify.push.ca_file",
            notify.push.as_ref().and_then(|c| c.ca_file.as_deref()),
        ),
    ];
    for (key, path) in ca_files {
        if let Some(path) = path {
            report.ca_file(key, path);
        }
    }
    fn pair<'a>(
        cert: &'a Option<PathBuf>,
        key: &'a Option<PathBuf>,
    ) -> Option<(&'a Path, &'a Path)> {
        Some((cert.as_deref()?, key.as_deref()?))
    }
    let client_pairs = [
        (
            "core.rest",
            rest.filter(|_| config.core.kind == CoreKind::Rest)
                .and_then(|r| pair(&r.client_cert, &r.client_key)),
        ),
        (
            "notify.sms",
            (notify.sms.as_ref()).and_then(|c| pair(&c.client_cert, &c.client_key)),
        ),
        (
            "notify.push",
            (notify.push.as_ref()).and_then(|c| pair(&c.client_cert, &c.client_key)),
        ),
    ];
    for (section, files) in client_pairs {
        if let Some((cert, key)) = files {
            report.client_pair(section, cert, key);
        }
    }
    report.enroll_folders(&config.enroll);
    report
}

impl FileReport {
    fn problem(&mut self, key: &str, message: String) {
        self.problems.push(ConfigIssue::new(key, message));
    }

    fn warning(&mut self, key: &str, message: String) {
        self.warnings.push(ConfigIssue::new(key, message));
    }

    /// A file that cannot be opened: a warning when only an admin is shut out.
    fn unopened(&mut self, key: &str, path: &Path, error: &io::Error) {
        let path = path.display();
        if self.reader == Reader::Admin && error.kind() == io::ErrorKind::PermissionDenied {
            self.warning(
                key,
                format!(
                    "{path}: {error}; not checked (the service reads it as its own user: \
                     run this check as that user)"
                ),
            );
        } else {
            self.problem(key, format!("{path}: {error}"));
        }
    }

    fn key_file(&mut self, path: &Path) {
        const KEY: &str = "vault.key_file";
        match keyfile::check_key_file(path) {
            Ok(()) => {}
            Err(e @ KeyFileError::Missing { .. }) => self.warning(KEY, e.to_string()),
            Err(KeyFileError::Io { error, .. }) => self.unopened(KEY, path, &error),
            Err(e) => self.problem(KEY, e.to_string()),
        }
    }

    fn tls_pair(&mut self, paths: &TlsPaths, now: DateTime<Utc>) {
        let absent = |path: &Path| {
            let found = fs::metadata(path);
            matches!(found, Err(e) if e.kind() == io::ErrorKind::NotFound)
        };
        // before `init`; half a pair is a problem, which `init` (never overwriting) won't mend
        if paths.generated && absent(&paths.cert) && absent(&paths.key) {
            return self.warning(
                "server.tls_cert",
                format!(
                    "{}: not set, and `callvault init` has not generated its pair yet",
                    paths.cert.display()
                ),
            );
        }
        for (key, path) in [
            ("server.tls_cert", &paths.cert),
            ("server.tls_key", &paths.key),
        ] {
            if let Err(e) = File::open(path) {
                return self.unopened(key, path, &e);
            }
        }
        if let Some(exposed) = tls::key_exposure(&paths.key) {
            self.warning("server.tls_key", exposed);
        }
        match tls::read_pair(paths) {
            Ok(pair) => {
                let status = tls::Validity::of(&pair).map(|v| v.status(now));
                if let Some(status) = status.filter(tls::CertStatus::needs_attention) {
                    let cert = paths.cert.display();
                    self.warning("server.tls_cert", format!("{cert}: {status}"));
                }
            }
            Err(e @ (TlsError::Key { .. } | TlsError::Mismatch { .. })) => {
                self.problem("server.tls_key", e.to_string())
            }
            Err(e) => self.problem("server.tls_cert", e.to_string()),
        }
    }

    /// The enrollment folders set in the configuration (those in the state directory are
    /// `init`'s): the inbox must be a folder the service can read, since nothing creates it
    /// and files would wait there unseen; the others, when they exist, folders. (The service
    /// creates a missing outbox, processed/ or failed/ when it first writes there.) Warnings:
    /// calls go on without them, so neither a start nor a reload is refused for them.
    fn enroll_folders(&mut self, enroll: &super::EnrollConfig) {
        let folders = [
            ("enroll.inbox", enroll.inbox.as_deref(), true),
            ("enroll.outbox", enroll.outbox.as_deref(), false),
            ("enroll.processed", enroll.processed.as_deref(), false),
            ("enroll.failed", enroll.failed.as_deref(), false),
        ];
        for (key, path, needed) in folders {
            let Some(path) = path else { continue };
            match fs::metadata(path) {
                Ok(m) if m.is_dir() => {
                    if needed && let Err(e) = fs::read_dir(path) {
                        self.warning(key, format!("{}: {e}", path.display()));
                    }
                }
                Ok(_) => self.warning(key, format!("{}: not a folder", path.display())),
                Err(e) if e.kind() == io::ErrorKind::NotFound && !needed => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => self.warning(
                    key,
                    format!(
                        "{}: no such folder (create it, for the service's user to read and \
                         write: the service takes files from it)",
                        path.display()
                    ),
                ),
                Err(e) => self.warning(key, format!("{}: {e}", path.display())),
            }
        }
    }

    /// A client certificate and key for a gateway, read as the adapter reads them; a key
    /// every local user may read is a warning.
    fn client_pair(&mut self, section: &str, cert: &Path, key: &Path) {
        if let Some(exposed) = tls::key_exposure(key) {
            self.warning(&format!("{section}.client_key"), exposed);
        }
        match crate::outbound::identity(section, cert, key) {
            Ok(_) => {}
            Err(ClientCertError::Unreadable { key, path, error }) => {
                self.unopened(&key, &path, &error)
            }
            Err(ClientCertError::Bad { key, message }) => self.problem(&key, message),
        }
    }

    fn ca_file(&mut self, key: &str, path: &Path) {
        match tls::ca_file(path) {
            Ok(_) => {}
            Err(CaFileError::Unreadable(e)) => self.unopened(key, path, &e),
            Err(CaFileError::Invalid(message)) => {
                self.problem(key, format!("{}: {message}", path.display()))
            }
        }
    }
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
