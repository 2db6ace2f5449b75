//! `callvault init`: everything a first start needs, created once, never overwritten.

use std::io::Write;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::config::Config;
use crate::keys::{self, Role};
use crate::store::{self, Store};
use crate::tls::{self, TlsPaths};
use crate::vault;

/// What `init` did.
pub struct InitReport {
    pub state_dir: PathBuf,
    pub key_file: PathBuf,
    pub key_created: bool,
    /// The key the store's PINs are sealed under, when `init` just created another.
    pub sealed_under: Option<String>,
    pub tls: TlsPaths,
    pub tls_created: bool,
    /// The first admin key, when one was created. Shown once.
    pub admin_key: Option<Zeroizing<String>>,
}

/// The folders of the state directory.
pub const STATE_FOLDERS: [&str; 4] = ["inbox", "outbox", "processed", "failed"];

pub fn initialize(config: &Config) -> anyhow::Result<InitReport> {
    let state_dir = config.storage.state_dir.clone();
    store::create_private_dir(&state_dir)?;
    for folder in STATE_FOLDERS {
        store::create_private_dir(&state_dir.join(folder))?;
    }
    let key_created = vault::create_key_file(&config.vault.key_file)?;
    // Check what is there now, so a pre-existing 0644 key is caught here, not at start-up.
    let key_id = vault::load_key_file(&config.vault.key_file)?.key_id();

    let tls = TlsPaths::from_config(config);
    let tls_created = if tls.generated {
        let host = hostname();
        tls::generate_self_signed(&tls, &host.into_iter().collect::<Vec<_>>())?
    } else {
        false
    };
    tls::load(&tls)?;

    let store = Store::open(&state_dir)?;
    // a new key where a store's PINs were sealed under another: the store came without its
    // key (restored elsewhere, the key file not copied)
    let sealed_under = match key_created {
        true => vault::lost::key_outside(&store, std::slice::from_ref(&key_id))?,
        false => None,
    };
    let has_admin = keys::has_active_admin(&store.begin_read()?)?;
    let admin_key = if has_admin {
        None
    } else {
        let created = keys::create(&store, "admin", Role::Admin, "cli:init", chrono::Utc::now())?;
        Some(created.plaintext)
    };
    Ok(InitReport {
        state_dir,
        key_file: config.vault.key_file.clone(),
        key_created,
        sealed_under,
        tls,
        tls_created,
        admin_key,
    })
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Tell the operator what happened (stderr; the key alone goes to stdout).
pub fn explain(report: &InitReport, out: &mut dyn Write) {
    let made = |created: bool| if created { "created" } else { "kept (exists)" };
    let _ = writeln!(out, "state directory: {}", report.state_dir.display());
    let _ = writeln!(
        out,
        "vault key:       {} ({})",
        report.key_file.display(),
        made(report.key_created)
    );
    if let Some(found) = &report.sealed_under {
        let _ = writeln!(
            out,
            "                 but this store's PIN records are sealed under key {found}, which \
             the new key cannot open, and the service will not start on them: put the key file \
             that goes with this store in place of the new one (or, if it is lost for good, \
             `callvault vault forget-key {found}`)"
        );
    }
    if report.tls.generated {
        let _ = writeln!(
            out,
            "TLS pair:        {} + {} ({})",
            report.tls.cert.display(),
            report.tls.key.display(),
            made(report.tls_created)
        );
    } else {
        let _ = writeln!(
            out,
            "TLS pair:        configured ({})",
            report.tls.cert.display()
        );
    }
    match &report.admin_key {
        Some(_) => {
            let _ = writeln!(
                out,
                "admin API key:   created; printed below once — store it now, it cannot be shown again"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "admin API key:   one exists already (make more with `callvault key create --role admin`)"
            );
        }
    }
}
