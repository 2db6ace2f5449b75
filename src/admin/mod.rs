//! The administrative operations of the command line (`key`, `db`, `audit`). Each runs in
//! the running service, reached through its local admin socket, when `callvault serve` holds
//! the store, and directly on the store file otherwise. Either way [`execute`] does the work.

pub mod client;
pub mod socket;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditError, AuditEvent, AuditLog, EventKind, Outcome, VerifyReport};
use crate::clock::Clock;
use crate::config::Config;
use crate::enroll;
use crate::keys::{self, KeyError, KeyInfo, Role};
use crate::member::MaskedMember;
use crate::store::{BackupReport, CheckReport, Store, StoreError};
use arc_swap::ArcSwap;

use crate::vault::import::ImportError;
use crate::vault::rotate::RotateReport;
use crate::vault::{self, PinStatus, Vault, VaultError, VaultStatus};

/// One operation, as the CLI sends it over the admin socket (one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    KeyCreate {
        name: String,
        role: Role,
    },
    KeyList,
    KeyRevoke {
        name: String,
    },
    DbBackup {
        path: PathBuf,
    },
    /// A copy named by the time into `dir` (absolute), then the copies beyond the newest
    /// `keep` removed.
    DbBackupInto {
        dir: PathBuf,
        keep: usize,
    },
    DbCheck,
    /// Check the chain, and against the anchors and exported copies given.
    AuditVerify {
        #[serde(default)]
        anchors: Vec<audit::Anchor>,
        /// Files `audit export` wrote (absolute paths; the service reads them).
        #[serde(default)]
        copies: Vec<PathBuf>,
    },
    AuditExport {
        since: Option<DateTime<Utc>>,
        /// Only records with a sequence number above this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u64>,
        /// Only records before this time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
        /// Only records about this member.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_id: Option<String>,
        /// Only records of this call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
    /// Remove records older than `before` that the exports `copies` hold (absolute paths;
    /// the service reads them).
    AuditPrune {
        before: DateTime<Utc>,
        copies: Vec<PathBuf>,
    },
    /// Pre-enroll a file; progress lines go to the output.
    Enroll {
        path: PathBuf,
        mode: enroll::Mode,
        dry_run: bool,
        /// Full mode: overrides `enroll.full_max_removed_percent` for this run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_removed_percent: Option<u8>,
        /// Overrides `enroll.encoding` for this run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encoding: Option<enroll::lines::Encoding>,
        /// Overrides `enroll.separator` for this run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        separator: Option<enroll::lines::Separator>,
    },
    MemberShow {
        member_id: String,
    },
    /// Who a caller ID identifies, and what a call from it would get.
    MemberFind {
        phone: String,
        /// The dialed number whose profile applies; none: the default profile.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dnis: Option<String>,
    },
    MemberUnlock {
        member_id: String,
    },
    /// Forget a member who left: their PIN record, counters and last verdict.
    MemberForget {
        member_id: String,
    },
    MemberForcePinChange {
        member_id: String,
    },
    /// Load `member_id,pin` rows into the vault; progress lines go to the output.
    PinsImport {
        path: PathBuf,
        established: bool,
        dry_run: bool,
        /// What stands between the file's columns; a comma when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        separator: Option<enroll::lines::Separator>,
    },
    /// Ask many members to choose a new PIN after their next correct one: those the file
    /// lists (one member id per line), or, without one, every member whose PIN the vault
    /// holds.
    PinsForceChange {
        path: Option<PathBuf>,
        /// Count, change nothing.
        #[serde(default)]
        dry_run: bool,
    },
    VaultStatus,
    VaultRotateKey,
    /// Remove the PIN records sealed under a key the vault does not hold (lost for good).
    VaultForgetKey {
        key_id: String,
    },
}

/// The members the configured core says `e164` identifies, asked as a call asks it (within
/// `core.timeout_ms`). On a thread and runtime of its own: the admin operations run on
/// blocking threads, in the service or in the CLI, where no runtime can be entered.
fn ask_core_by_phone(
    config: &Config,
    store: Arc<Store>,
    e164: &str,
) -> Result<Vec<crate::core::PhoneMatch>, AdminError> {
    ask_core(config, store, async |core| core.find_by_phone(e164).await)
}

/// Ask the configured core, as a call asks it (within `core.timeout_ms`), on a thread and
/// runtime of its own: see [`ask_core_by_phone`].
fn ask_core<T: Send>(
    config: &Config,
    store: Arc<Store>,
    ask: impl AsyncFnOnce(&dyn crate::core::CoreAdapter) -> Result<T, crate::core::CoreError> + Send,
) -> Result<T, AdminError> {
    let unanswered = |e: String| AdminError::Refused(format!("the core did not answer: {e}"));
    let core = crate::core::from_config(config, store).map_err(|e| unanswered(e.to_string()))?;
    let budget = std::time::Duration::from_millis(config.core.timeout_ms);
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| unanswered(e.to_string()))?;
            runtime.block_on(async {
                match tokio::time::timeout(budget, ask(core.as_ref())).await {
                    Ok(found) => found.map_err(|e| unanswered(e.to_string())),
                    Err(_) => Err(unanswered(format!(
                        "no answer within core.timeout_ms ({} ms)",
                        budget.as_millis()
                    ))),
                }
            })
        })
        .join()
        .unwrap_or_else(|_| Err(unanswered("its client stopped".into())))
    })
}

/// The result of an operation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    KeyCreated {
        info: KeyInfo,
        key: String,
    },
    Keys {
        keys: Vec<KeyInfo>,
    },
    KeyRevoked {
        info: KeyInfo,
    },
    Backup {
        report: BackupReport,
    },
    BackupKept {
        kept: crate::store::backups::KeptBackup,
    },
    Check {
        report: CheckReport,
    },
    Verify {
        report: VerifyReport,
        /// The comparison with anchors and copies, when any were given.
        #[serde(default)]
        against: Option<audit::AnchorReport>,
        /// The chain's last record, to keep elsewhere as an anchor.
        #[serde(default)]
        head: Option<audit::Anchor>,
    },
    Pruned {
        report: audit::prune::PruneReport,
    },
    Exported {
        records: u64,
    },
    Enrolled {
        report: Box<enroll::Report>,
    },
    Member {
        member: Box<MaskedMember>,
        pin: Option<PinStatus>,
        /// Wrong keypad answers, and the lock out of questions they may have put on.
        #[serde(default)]
        answers: Option<vault::AnswerStatus>,
        /// With a REST core: how each mapped field of its answer was read.
        #[serde(default)]
        core_fields: Vec<crate::core::FieldRead>,
    },
    /// The members a number identifies in the embedded directory.
    Matches {
        /// The number as a caller ID, in E.164.
        e164: String,
        matches: Vec<crate::core::PhoneMatch>,
        /// The profile a call to the dialed number takes, and whether it identifies by ANI.
        profile: String,
        identify_by_ani: bool,
        /// `core.type`: with a core other than `embedded`, the core answers calls.
        core: String,
    },
    Unlocked {
        member_id: String,
        was_locked: bool,
        /// Which runs were cleared (a service from before this field: none named).
        #[serde(default)]
        cleared: vault::Cleared,
    },
    Forgotten {
        member_id: String,
        pins: u64,
        /// callvault held anything about them (a service from before this field: assumed).
        #[serde(default = "held_by_default")]
        held: bool,
    },
    PinChangeForced {
        member_id: String,
    },
    PinsImported {
        summary: Box<vault::import::Summary>,
    },
    /// What `pins force-change` did.
    ForcedChange {
        report: vault::force::ForceReport,
        #[serde(default)]
        dry_run: bool,
    },
    Vault {
        status: Box<VaultStatus>,
    },
    Rotated {
        report: RotateReport,
    },
    /// What `vault forget-key` did.
    KeyForgotten {
        key_id: String,
        forgot: vault::lost::Forgot,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("{message}")]
    Remote { code: String, message: String },
    #[error("admin socket: {0}")]
    Protocol(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Enroll(#[from] enroll::EnrollError),
    #[error("{}", no_member(.0, "is enrolled"))]
    NoSuchMember(String),
    /// A core other than the embedded one knows no such member.
    #[error(
        "the core names no member {} (core.type is not \"embedded\")",
        crate::member::named(.0)
    )]
    NotInCore(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("the vault cannot be opened: {0}")]
    VaultUnavailable(String),
    #[error(transparent)]
    Prune(#[from] audit::prune::PruneError),
    /// A file the command names cannot be opened by the one doing the work (through the
    /// admin socket: the service, as its own user and in its own view of the files).
    #[error("cannot open {}: {error}", path.display())]
    Unreachable { path: PathBuf, error: String },
    /// A backup cannot be written where the command names (for the service: where it may
    /// not write, or cannot see).
    #[error("{0}")]
    Unwritable(String),
}

/// `no member "1001" is enrolled`, the id quoted when it could be one; else what one is
/// ([`crate::member::named`]), after the rest.
fn no_member(id: &str, rest: &str) -> String {
    match crate::member::plausible_member_id(id) {
        true => format!("no member {id:?} {rest}"),
        false => format!("no member {rest} {}", crate::member::named(id)),
    }
}

impl AdminError {
    /// A stable code for the socket protocol.
    pub fn code(&self) -> &str {
        match self {
            AdminError::Key(KeyError::NameTaken { .. }) => "key_exists",
            AdminError::Key(KeyError::NoSuchKey { .. }) => "no_such_key",
            AdminError::Key(_) => "invalid",
            AdminError::Store(_) => "store",
            AdminError::Audit(_) => "audit_unavailable",
            AdminError::Remote { code, .. } => code,
            AdminError::Protocol(_) => "protocol",
            AdminError::Refused(_) => "refused",
            AdminError::Enroll(_) => "enroll_failed",
            AdminError::NoSuchMember(_) | AdminError::NotInCore(_) => "no_such_member",
            AdminError::Vault(VaultError::NoPin(_)) => "no_pin",
            AdminError::Vault(_) => "vault",
            AdminError::Import(ImportError::Vault(_)) => "vault",
            AdminError::Import(_) => "import_failed",
            AdminError::VaultUnavailable(_) => "vault_unavailable",
            AdminError::Prune(audit::prune::PruneError::Store(_)) => "store",
            AdminError::Prune(_) => "prune_refused",
            AdminError::Unreachable { .. } => UNREACHABLE,
            AdminError::Unwritable(_) => UNWRITABLE,
        }
    }
}

/// [`AdminError::Unreachable`]'s code.
pub const UNREACHABLE: &str = "file_unreachable";
/// [`AdminError::Unwritable`]'s code.
pub const UNWRITABLE: &str = "file_unwritable";

/// Each of the files a command reads can be opened here: through the admin socket the
/// service opens them, and may not see what the command line sees (as installed: a /tmp of
/// its own, no /home, no /root, no file only root may read).
fn readable<'p>(paths: impl IntoIterator<Item = &'p PathBuf>) -> Result<(), AdminError> {
    for path in paths {
        if let Err(e) = std::fs::File::open(path) {
            return Err(AdminError::Unreachable {
                path: path.clone(),
                error: e.to_string(),
            });
        }
    }
    Ok(())
}

/// What an operation needs.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<Store>,
    pub audit: AuditLog,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ArcSwap<Config>>,
    /// The PIN vault, or why it could not be opened (the key file is needed only by the
    /// operations that touch PINs).
    pub vault: Result<Arc<Vault>, String>,
    /// A person at a terminal: long work shows a progress bar instead of lines.
    pub terminal: bool,
    /// The command's client has gone (Ctrl-C at the command line, its terminal closed):
    /// long work stops where it safely can, as when the service stops. Set by the admin
    /// socket, per connection.
    pub client_gone: Arc<std::sync::atomic::AtomicBool>,
    /// The service's API keys as its requests check them (their uses not yet written
    /// down); `None` for a command run without the service.
    pub keys: Option<Arc<crate::keys::KeyRing>>,
}

impl Context {
    /// `Err(Interrupted)` once the client has gone, else what the store says (the service
    /// stopping): for long work to ask as it goes.
    fn go_on(&self) -> Result<(), StoreError> {
        self.store.go_on()?;
        match self.client_gone.load(std::sync::atomic::Ordering::SeqCst) {
            true => Err(StoreError::Interrupted),
            false => Ok(()),
        }
    }

    fn vault(&self) -> Result<&Arc<Vault>, AdminError> {
        self.vault
            .as_ref()
            .map_err(|e| AdminError::VaultUnavailable(e.clone()))
    }
}

/// `Response::Forgotten::held` from a service that did not send it: it said "forgotten".
fn held_by_default() -> bool {
    true
}

/// A member callvault knows: enrolled, or holding a PIN record (with a core other than the
/// embedded one, a member may have set a PIN without being enrolled). The service's HTTP
/// face asks the core instead; this path answers without a running service.
fn known_member(ctx: &Context, member_id: &str) -> Result<(), AdminError> {
    let enrolled = {
        let txn = ctx.store.begin_read()?;
        crate::core::embedded::get(&txn, member_id)?.is_some()
    };
    if enrolled || ctx.vault()?.has_pin(member_id)? {
        return Ok(());
    }
    // Another core's members need not be enrolled, nor have a PIN in the vault (a core
    // that checks PINs, wrong answers' locks): that core is asked, as the agents' unlock asks
    // it. (Before 2026-12-06 such a member could not be unlocked from the CLI.)
    let config = ctx.config.load_full();
    if config.core.kind != crate::config::CoreKind::Embedded {
        let id = member_id.to_string();
        return match ask_core(&config, ctx.store.clone(), async |core| {
            core.member(&id).await
        })? {
            Some(_) => Ok(()),
            None => Err(AdminError::NotInCore(member_id.to_string())),
        };
    }
    Err(AdminError::NoSuchMember(member_id.to_string()))
}

/// The member ids a `pins force-change` file lists ([`vault::force::listed_ids`]); a file
/// with a line that is no member id, or with none, is refused whole, naming up to ten lines.
fn force_change_list(path: &PathBuf) -> Result<Vec<String>, AdminError> {
    readable([path])?;
    let refused =
        |why: String| AdminError::Refused(format!("{}: {why}; nothing changed", path.display()));
    // as enrollment reads a file: a UTF-16 one (PowerShell 5's `>`) too
    let opened = std::fs::File::open(path).and_then(crate::enroll::lines::Text::open);
    let mut bytes = Vec::new();
    match opened.map_err(|e| refused(e.to_string()))? {
        Ok(mut file) => std::io::Read::read_to_end(&mut file.reader, &mut bytes)
            .map_err(|e| refused(e.to_string()))?,
        Err(not_text) => return Err(refused(not_text.to_string())),
    };
    // only the first column counts: a name after it in Windows-1252 (`José`) is no matter,
    // and an id that is not UTF-8 is a bad line of its own (listed_ids)
    let text = String::from_utf8_lossy(&bytes);
    let ids = vault::force::listed_ids(&text).map_err(|bad| {
        let more = bad.len().saturating_sub(10);
        let mut why = bad.into_iter().take(10).collect::<Vec<_>>().join("; ");
        if more > 0 {
            why.push_str(&format!("; and {more} more"));
        }
        refused(why)
    })?;
    if ids.is_empty() {
        return Err(refused("lists no member id".into()));
    }
    Ok(ids)
}

/// Run long work on `path` with a bar for a person at a terminal, or plain progress lines
/// written to `out` (the CLI's stderr through the admin socket) and the journal. Walks that
/// ask [`enroll::Progress::go_on`] stop when the service stops, the command is interrupted
/// or its client has gone ([`Context::go_on`]).
fn with_progress<T>(
    ctx: &Context,
    path: &std::path::Path,
    out: &mut dyn Write,
    work: impl FnOnce(&dyn enroll::Progress) -> T,
) -> T {
    progress_to(ctx.terminal, path, out, |shown| {
        work(&enroll::progress::Stoppable::new(shown, || ctx.go_on()))
    })
}

/// [`with_progress`] for work that is usually over at once (a check of the store or the
/// audit log): nothing is shown unless it goes on for more than a second.
fn with_progress_if_long<T>(
    ctx: &Context,
    path: &std::path::Path,
    out: &mut dyn Write,
    work: impl FnOnce(&dyn enroll::Progress) -> T,
) -> T {
    with_progress(ctx, path, out, |progress| {
        let progress = enroll::progress::AfterAWhile::new(progress, enroll::progress::A_WHILE);
        let done = work(&progress);
        // work stopped (Ctrl-C, the service stopping) ends without a last "done"
        if enroll::Progress::go_on(&progress).is_ok() {
            enroll::Progress::finish(&progress);
        }
        done
    })
}

/// [`with_progress`], for a person at a terminal or not. Each line goes out at once: through
/// the admin socket `out` gathers bulk output into large chunks, and progress kept there
/// would reach the command only at its end.
fn progress_to<T>(
    terminal: bool,
    path: &std::path::Path,
    out: &mut dyn Write,
    work: impl FnOnce(&dyn enroll::Progress) -> T,
) -> T {
    if terminal {
        return work(&enroll::progress::Bar::new());
    }
    let out = std::cell::RefCell::new(out);
    let sink = |line: String| {
        let mut out = out.borrow_mut();
        let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    };
    work(&enroll::progress::Lines::new(
        path.display().to_string(),
        Some(&sink),
    ))
}

/// A backup's audit record (written or failed, and why), then its result.
fn audit_backup<T>(
    ctx: &Context,
    actor: &str,
    result: Result<T, crate::store::StoreError>,
    detail: impl FnOnce(&T) -> String,
) -> Result<T, AdminError> {
    let (outcome, said) = match &result {
        Ok(done) => (Outcome::Ok, detail(done)),
        Err(e) => (Outcome::Failed, e.to_string()),
    };
    ctx.audit
        .record_blocking(AuditEvent::new(actor, EventKind::DbBackup, outcome).detail(&said))?;
    match result {
        // where the service may not write (as installed: outside its ReadWritePaths=)
        Err(StoreError::Io { error, .. })
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Err(AdminError::Unwritable(said))
        }
        result => Ok(result?),
    }
}

fn backup_detail(r: &BackupReport, more: &str) -> String {
    format!("{} rows to {}{more}", r.rows, r.path.display())
}

/// What a backup must leave free on its disk: `storage.min_free_mb`.
fn keep_free(ctx: &Context) -> u64 {
    ctx.config
        .load()
        .storage
        .min_free_mb
        .saturating_mul(1024 * 1024)
}

/// Run one operation as `actor`, writing any bulk output (an export) to `out`, and the
/// progress of work that has bulk output to `tell` (the CLI's stderr). Work without bulk
/// output tells its progress to `out`, for which the CLI gives its stderr.
pub fn execute(
    ctx: &Context,
    actor: &str,
    request: Request,
    out: &mut dyn Write,
    tell: &mut dyn Write,
) -> Result<Response, AdminError> {
    let now = ctx.clock.now();
    match request {
        Request::KeyCreate { name, role } => {
            let created = keys::create(&ctx.store, &name, role, actor, now)?;
            Ok(Response::KeyCreated {
                info: created.info,
                key: created.plaintext.to_string(),
            })
        }
        Request::KeyList => {
            if let Some(ring) = &ctx.keys {
                ring.write_use_or_log(&ctx.store);
            }
            let txn = ctx.store.begin_read()?;
            Ok(Response::Keys {
                keys: keys::list(&txn)?,
            })
        }
        Request::KeyRevoke { name } => Ok(Response::KeyRevoked {
            info: keys::revoke(&ctx.store, &name, actor, now, keys::LastAdmin::MayGo)?,
        }),
        Request::DbBackup { path } => {
            let result = with_progress_if_long(ctx, &path, out, |progress| {
                ctx.store.backup_to_with(&path, keep_free(ctx), progress)
            });
            let report = audit_backup(ctx, actor, result, |r| backup_detail(r, ""))?;
            Ok(Response::Backup { report })
        }
        Request::DbBackupInto { dir, keep } => {
            let result = with_progress_if_long(ctx, &dir, out, |progress| {
                ctx.store
                    .backup_into_with(&dir, keep, keep_free(ctx), now, progress)
            });
            let kept = audit_backup(ctx, actor, result, |k| {
                let removed = format!("; {} older removed (keeping {keep})", k.removed.len());
                backup_detail(&k.report, &removed)
            })?;
            Ok(Response::BackupKept { kept })
        }
        Request::DbCheck => Ok(Response::Check {
            report: with_progress_if_long(ctx, Path::new("store"), out, |progress| {
                ctx.store.check_with(progress)
            })?,
        }),
        Request::AuditVerify { anchors, copies } => {
            readable(&copies)?;
            let txn = ctx.store.begin_read()?;
            let (against, report) =
                with_progress_if_long(ctx, Path::new("audit log"), out, |progress| {
                    let against = match anchors.is_empty() && copies.is_empty() {
                        true => None,
                        false => Some(audit::anchor::check_with(
                            &txn, &anchors, &copies, progress,
                        )?),
                    };
                    Ok::<_, StoreError>((against, audit::verify_with(&txn, progress)?))
                })?;
            Ok(Response::Verify {
                report,
                against,
                head: audit::anchor::head(&txn)?,
            })
        }
        Request::AuditExport {
            since,
            after,
            until,
            member_id,
            call_id,
        } => {
            let select = audit::Selection {
                since,
                until,
                after,
                member_id,
                call_id,
            };
            let mut records = 0;
            let exported = with_progress_if_long(ctx, Path::new("audit log"), tell, |progress| {
                let txn = ctx.store.begin_read()?;
                audit::export_counted(&txn, &select, out, progress, &mut records)
            });
            // records handed out before a failure (the reader left, Ctrl-C) are audited too
            let (outcome, detail) = match &exported {
                Ok(()) => (
                    Outcome::Ok,
                    format!("{records} records {}", select.describe()),
                ),
                Err(e) => (
                    Outcome::Failed,
                    format!(
                        "{records} records written ({}), then it stopped: {e}",
                        select.describe()
                    ),
                ),
            };
            ctx.audit.record_blocking(
                AuditEvent::new(actor, EventKind::AuditExported, outcome).detail(detail),
            )?;
            exported?;
            Ok(Response::Exported { records })
        }
        Request::AuditPrune { before, copies } => {
            readable(&copies)?;
            // the phases are the store's log's (verifying, comparing, pruning), not a copy's
            let pruned = with_progress(ctx, Path::new("audit log"), out, |progress| {
                // stopped (Ctrl-C, the service stopping) between two transactions
                let slice = audit::prune::SLICE;
                audit::prune::prune(&ctx.store, before, &copies, actor, slice, progress)
            });
            if let Err(e) = &pruned {
                ctx.audit.record_blocking(
                    AuditEvent::new(actor, EventKind::AuditPruned, Outcome::Failed)
                        .detail(e.to_string()),
                )?;
            }
            Ok(Response::Pruned { report: pruned? })
        }
        Request::Enroll {
            path,
            mode,
            dry_run,
            max_removed_percent,
            encoding,
            separator,
        } => {
            readable([&path])?;
            let config = ctx.config.load();
            let dirs = config.enroll_dirs();
            if enroll::inbox::takes(&dirs.inbox, &path) {
                return Err(AdminError::Refused(format!(
                    "{} is in the enrollment inbox, which the service enrolls by itself once \
                     a file has settled, answering in {}: leave it there, or copy it out of \
                     the inbox to enroll it (or try it, --dry-run) by hand; nothing was applied",
                    path.display(),
                    dirs.outbox.display()
                )));
            }
            let mut options = enroll::Options::from_config(&config, mode, dry_run);
            if let Some(limit) = max_removed_percent {
                options.max_removed_percent = limit.min(100);
            }
            if let Some(encoding) = encoding {
                options.encoding = encoding;
            }
            if let Some(separator) = separator {
                options.separator = separator;
            }
            let result = with_progress(ctx, &path, out, |progress| {
                enroll::run(&ctx.store, &path, &dirs.outbox, &options, actor, progress)
            });
            if let Err(e) = &result {
                ctx.audit.record_blocking(
                    AuditEvent::new(actor, EventKind::EnrollmentFailed, Outcome::Failed)
                        .detail(e.to_string()),
                )?;
            }
            match result {
                Ok(report) => Ok(Response::Enrolled {
                    report: Box::new(report),
                }),
                Err(enroll::EnrollError::Store(StoreError::Stopping)) => {
                    Err(AdminError::Refused(format!(
                        "the service is stopping: nothing of {} was applied; run the same \
                         command again once it has started",
                        path.display()
                    )))
                }
                Err(enroll::EnrollError::Store(StoreError::Interrupted)) => {
                    Err(AdminError::Refused(format!(
                        "interrupted: nothing of {} was applied; run the same command again",
                        path.display()
                    )))
                }
                Err(e) => Err(e.into()),
            }
        }
        Request::MemberShow { member_id } => {
            let config = ctx.config.load();
            let (member, core_fields) = match config.core.kind {
                crate::config::CoreKind::Embedded => {
                    let txn = ctx.store.begin_read()?;
                    let record = crate::core::embedded::get(&txn, &member_id)?
                        .ok_or_else(|| AdminError::NoSuchMember(member_id.clone()))?;
                    (record.member, Vec::new())
                }
                // another core is asked, as `GET /v1/members/{id}` and calls ask it
                _ => ask_core(&config, ctx.store.clone(), async |core| {
                    core.member_read(&member_id).await
                })?
                .ok_or_else(|| AdminError::NotInCore(member_id.clone()))?,
            };
            let settings = vault::Settings::from_config(&config);
            let (mut pin, answers) = match &ctx.vault {
                Ok(v) => (
                    Some(v.pin_status(&member_id, &settings, now)?),
                    Some(v.answer_status(&member_id, &settings, now)?),
                ),
                Err(_) => (None, None),
            };
            // a PIN the vault does not hold is the core's to check ([core.rest.pin]), unless
            // the core said it holds none (`fields.has_pin`)
            let core_checks = config.core_pin().is_some() && member.core_has_pin != Some(false);
            if let Some(p) = pin.as_mut().filter(|p| core_checks && !p.has_pin) {
                p.storage = Some("core".into());
            }
            Ok(Response::Member {
                member: Box::new(member.masked()),
                pin,
                answers,
                core_fields,
            })
        }
        Request::MemberFind { phone, dnis } => {
            let config = ctx.config.load();
            let region = config.enroll.region();
            let e164 = crate::member::phone::normalize_ani(&phone, region).ok_or_else(|| {
                AdminError::Refused(if crate::member::phone::withheld(&phone) {
                    format!(
                        "{phone:?} is a withheld caller ID: a call with it identifies no one, \
                         and the caller is asked for an identifier"
                    )
                } else {
                    format!(
                        "{phone:?} is not a caller ID a call could have (E.164, national, or a \
                         tel: or sip: URI)"
                    )
                })
            })?;
            let dnis = dnis.and_then(|d| crate::profile::dialed(&config.routing, &d, region));
            let (profile, p) = config.profile_for(dnis.as_deref());
            let matches = match config.core.kind {
                crate::config::CoreKind::Embedded => {
                    crate::core::EmbeddedCore::new(ctx.store.clone(), region)
                        .phone_matches(&e164)?
                }
                // another core is asked, as a call asks it
                _ => ask_core_by_phone(&config, ctx.store.clone(), &e164)?,
            };
            Ok(Response::Matches {
                e164,
                matches,
                profile,
                identify_by_ani: p.identify_by_ani,
                // the name `core.type` is written with in the file
                core: serde_json::to_value(config.core.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            })
        }
        Request::MemberUnlock { member_id } => {
            // A mistyped id must not read "was not locked" while the member stays locked.
            known_member(ctx, &member_id)?;
            let cleared = ctx.vault()?.unlock(&member_id)?;
            ctx.audit.record_blocking(
                AuditEvent::new(actor, EventKind::MemberUnlocked, Outcome::Ok)
                    .member(member_id.clone())
                    .detail(cleared.describe()),
            )?;
            Ok(Response::Unlocked {
                member_id,
                was_locked: cleared.any(),
                cleared,
            })
        }
        Request::MemberForget { member_id } => {
            let embedded = ctx.config.load().core.kind == crate::config::CoreKind::Embedded;
            match enroll::forget::forget_one(&ctx.store, &member_id, embedded, actor)? {
                Some(forgotten) => Ok(Response::Forgotten {
                    member_id,
                    pins: u64::from(forgotten.pin),
                    held: forgotten.held,
                }),
                None => Err(AdminError::Refused(format!(
                    "member {member_id:?} is enrolled: delete them with an enrollment file \
                     (action=delete), which forgets their PIN too"
                ))),
            }
        }
        Request::MemberForcePinChange { member_id } => {
            known_member(ctx, &member_id)?;
            let core_holds = ctx.config.load().core_pin().is_some();
            ctx.vault()?.flag_force_change(&member_id, core_holds)?;
            ctx.audit.record_blocking(
                AuditEvent::new(actor, EventKind::PinChangeForced, Outcome::Ok)
                    .member(member_id.clone()),
            )?;
            Ok(Response::PinChangeForced { member_id })
        }
        Request::PinsImport {
            path,
            established,
            dry_run,
            separator,
        } => {
            readable([&path])?;
            let config = ctx.config.load();
            let options = vault::import::Options {
                established,
                dry_run,
                require_member: config.core.kind == crate::config::CoreKind::Embedded,
                separator: separator.unwrap_or_default(),
            };
            let outbox = config.enroll_dirs().outbox;
            let vault = ctx.vault()?;
            let result = with_progress(ctx, &path, out, |progress| {
                vault::import::run(vault, &path, &outbox, &options, actor, now, progress)
            });
            if let Err(e) = &result {
                ctx.audit.record_blocking(
                    AuditEvent::new(actor, EventKind::PinsImported, Outcome::Failed)
                        .detail(e.to_string()),
                )?;
            }
            Ok(Response::PinsImported {
                summary: Box::new(result?),
            })
        }
        Request::PinsForceChange { path, dry_run } => {
            let whom = match &path {
                Some(path) => vault::force::Whom::Listed(force_change_list(path)?),
                None => vault::force::Whom::All,
            };
            let config = ctx.config.load();
            let options = vault::force::ForceOptions {
                core_holds: config.core_pin().is_some(),
                members_known: config.core.kind == crate::config::CoreKind::Embedded,
                dry_run,
            };
            let vault = ctx.vault()?;
            let shown = path.clone().unwrap_or_else(|| PathBuf::from("every PIN"));
            let result = with_progress(ctx, &shown, out, |progress| {
                vault.force_change_many(&whom, options, progress)
            });
            let whom = match (&path, &whom) {
                (Some(path), vault::force::Whom::Listed(ids)) => format!(
                    "the {} {} lists",
                    crate::enroll::progress::counted(ids.len() as u64, "members"),
                    path.display()
                ),
                _ => "every member with a PIN in the vault".to_string(),
            };
            let whom = match dry_run {
                true => format!("dry run, nothing changed: {whom}"),
                false => whom,
            };
            let event = match &result {
                Ok(r) => {
                    AuditEvent::new(actor, EventKind::PinChangeForced, Outcome::Ok).detail(format!(
                        "{whom}: {} asked, {} asked before, {} marked (PINs the core holds), \
                         {} without a PIN, {} not enrolled",
                        r.flagged, r.already, r.marked, r.without_pin, r.not_enrolled
                    ))
                }
                Err(e) => AuditEvent::new(actor, EventKind::PinChangeForced, Outcome::Failed)
                    .detail(format!("{whom}: {e}")),
            };
            ctx.audit.record_blocking(event)?;
            Ok(Response::ForcedChange {
                report: result?,
                dry_run,
            })
        }
        Request::VaultStatus => {
            let config = ctx.config.load();
            let settings = vault::Settings::from_config(&config);
            let mut status = ctx.vault()?.status(&settings, now)?;
            if config.core.kind == crate::config::CoreKind::Embedded {
                status.not_enrolled = Some(vault::pins_not_enrolled(&ctx.store)?);
            }
            Ok(Response::Vault {
                status: Box::new(status),
            })
        }
        Request::VaultRotateKey => {
            let vault = ctx.vault()?;
            let key_file = ctx.config.load().vault.key_file.clone();
            let result = with_progress(ctx, &key_file, out, |progress| vault.rotate_key(progress));
            let event = match &result {
                Ok(r) => {
                    AuditEvent::new(actor, EventKind::VaultKeyRotated, Outcome::Ok).detail(format!(
                        "key {} -> {}, {} sealed again{}",
                        r.old_key_id,
                        r.new_key_id,
                        crate::enroll::progress::counted(r.resealed, "records"),
                        if r.resumed { " (resumed)" } else { "" }
                    ))
                }
                Err(e) => AuditEvent::new(actor, EventKind::VaultKeyRotated, Outcome::Failed)
                    .detail(e.to_string()),
            };
            ctx.audit.record_blocking(event)?;
            Ok(Response::Rotated { report: result? })
        }
        Request::VaultForgetKey { key_id } => {
            // only with the vault's own key in place, so that its records are never taken
            let loaded: Vec<String> = (ctx.vault()?.keyring_ids().into_iter())
                .map(hex::encode)
                .collect();
            let forgot = vault::lost::forget_key(&ctx.store, &key_id, &loaded, actor)?;
            Ok(Response::KeyForgotten { key_id, forgot })
        }
    }
}

#[cfg(test)]
mod tests;
