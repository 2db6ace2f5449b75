//! The command line: what each command does (its clap definitions are in [`args`]). This
//! is the edge of the program, where errors become messages and exit codes.

mod args;
pub mod init;
pub mod interrupt;
pub(crate) mod out;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};

use crate::admin::{self, Request, Response};
use crate::config::{self, Config, ConfigError};
use crate::enroll::progress::counted;
use crate::store;
pub use args::{
    AuditCommand, Cli, Command, ConfigCommand, DbCommand, KeyCommand, MemberCommand, PinsCommand,
    VaultCommand,
};
use out::{say, tell};

/// Run a parsed command line; errors are printed, never panicked.
pub fn run(cli: Cli) -> ExitCode {
    if let Err(e) = crate::process::no_core_dumps() {
        out::tell_at(
            &tracing::Level::WARN,
            &format!("callvault: warning: core dumps of this process could not be turned off: {e}"),
        );
    }
    match dispatch(cli) {
        Ok(code) => code,
        // The output's reader left (`| head`): end quietly, with the status `cat` has then.
        Err(_) if out::closed() => ExitCode::from(out::READER_GONE),
        Err(e) => {
            out::tell_at(&tracing::Level::ERROR, &format!("callvault: {e:#}"));
            // stopped by Ctrl-C: the status a shell gives a command the signal ended
            interrupt::exit_status().map_or(ExitCode::FAILURE, ExitCode::from)
        }
    }
}

/// A key shown once: unlike other output, one that cannot be written is an error to say
/// (`callvault key create ... | true` made a key no one has; it should be revoked).
fn show_new_key(key: &str, command: &str) -> anyhow::Result<()> {
    writeln!(io::stdout(), "{key}").with_context(|| {
        format!("{command}: the new key was created but could not be written to stdout; revoke it (`callvault key list`, `callvault key revoke NAME`) and create another")
    })
}

/// Logs go to stderr (the journal under systemd). `RUST_LOG` overrides the level.
pub fn init_logging(level: &str) {
    init_logging_as(level, config::LogFormat::Text);
}

/// As [`init_logging`], in `format` (the service's `log.format`).
pub fn init_logging_as(level: &str, format: config::LogFormat) {
    crate::service::logging::init(level, format);
}

fn load(path: &Path) -> anyhow::Result<Config> {
    Ok(config::load(path)?)
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Config { command } => return config_command(&cli.config, command),
        Command::Manpages { dir } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("writing man pages to {}", dir.display()))?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Demo { listen, keep } => {
            init_logging("warn");
            crate::demo::run(listen, keep)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::GenMembers {
            rows,
            seed,
            output,
            crlf,
            bom,
            clean,
        } => {
            let options = crate::enroll::generate::GenOptions {
                rows,
                seed,
                crlf,
                bom,
                variety: !clean,
            };
            let stats = match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .with_context(|| format!("creating {}", path.display()))?;
                    let mut w = io::BufWriter::new(file);
                    let stats = crate::enroll::generate::write_members(&mut w, &options)?;
                    w.flush()?;
                    stats
                }
                None => {
                    let mut w = io::BufWriter::new(out::stdout());
                    let stats = crate::enroll::generate::write_members(&mut w, &options)?;
                    w.flush()?;
                    stats
                }
            };
            tell!("{}", serde_json::to_string(&stats)?);
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let config = load(&cli.config)?;
    // The page cache serves lookups. Any other command that opens the store itself (no
    // service running) reads most pages once; a full-size cache would only fill with the
    // pages it writes (a staged enrollment: about 120 MB, to no gain in time).
    store::set_cache_mb(match cli.command {
        Command::Serve => config.storage.cache_mb,
        _ => config.storage.cache_mb.min(store::ONE_SHOT_CACHE_MB),
    });
    match cli.command {
        Command::Init => {
            init_logging("warn");
            let report = init::initialize(&config)?;
            init::explain(&report, &mut out::stderr());
            if let Some(key) = &report.admin_key {
                show_new_key(key.as_str(), "init")?;
            }
        }
        Command::Serve => {
            init_logging_as(&config.log.level, config.log.format);
            crate::service::serve(&cli.config, config)?;
        }
        Command::Key { command } => {
            init_logging("warn");
            key_command(&config, command)?;
        }
        Command::Db { command } => {
            init_logging("warn");
            return db_command(&config, command);
        }
        Command::Audit { command } => {
            init_logging("warn");
            return audit_command(&config, command);
        }
        Command::Enroll {
            file,
            dry_run,
            mode,
            max_removed_percent,
            encoding,
            separator,
        } => {
            init_logging("warn");
            let how = EnrollHow {
                mode,
                dry_run,
                max_removed_percent,
                encoding,
                separator,
            };
            return enroll_command(&config, &file, how);
        }
        Command::Member { command } => {
            init_logging("warn");
            return member_command(&config, command);
        }
        Command::Pins {
            command:
                PinsCommand::Import {
                    file,
                    established,
                    dry_run,
                    separator,
                },
        } => {
            init_logging("warn");
            return pins_import_command(&config, &file, established, dry_run, separator);
        }
        Command::Pins {
            command:
                PinsCommand::ForceChange {
                    file,
                    all: _,
                    dry_run,
                },
        } => {
            init_logging("warn");
            return pins_force_change_command(&config, file.as_deref(), dry_run);
        }
        Command::Vault { command } => {
            init_logging("warn");
            return vault_command(&config, command);
        }
        Command::Config { .. }
        | Command::Demo { .. }
        | Command::GenMembers { .. }
        | Command::Manpages { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

fn config_command(path: &Path, command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match (config::load(path), command) {
        (Ok(config), ConfigCommand::Check) => {
            // at warning in the journal, where the unit's ExecStartPre writes them
            let warn = |text: String| out::tell_at(&tracing::Level::WARN, &text);
            if let Some(warning) = config::exposure(path) {
                warn(format!("warning: {warning}"));
            }
            for caution in config.cautions() {
                warn(format!("warning: {}: {caution}", path.display()));
            }
            for unread in config::unread_env_vars(std::env::vars_os().map(|(name, _)| name)) {
                warn(format!("warning: {unread}"));
            }
            let files = config::files::check_files(
                &config,
                chrono::Utc::now(),
                config::files::Reader::Admin,
            );
            for warning in &files.warnings {
                warn(format!("warning: {}: {warning}", path.display()));
            }
            if !files.problems.is_empty() {
                return problems(path, &files.problems);
            }
            say!("{}: configuration is valid", path.display());
            Ok(ExitCode::SUCCESS)
        }
        (Ok(config), ConfigCommand::Print) => {
            write!(out::stdout(), "{}", config.to_masked_toml())?;
            Ok(ExitCode::SUCCESS)
        }
        (Err(ConfigError::Invalid(issues)), _) => problems(path, &issues),
        (Err(e), _) => Err(e.into()),
    }
}

/// Each problem on its own line, then their count: `config check`'s failure.
fn problems(path: &Path, issues: &[config::ConfigIssue]) -> anyhow::Result<ExitCode> {
    for issue in issues {
        say!("{}: {issue}", path.display());
    }
    tell!(
        "callvault: {} in {}",
        counted(issues.len() as u64, "problems"),
        path.display()
    );
    Ok(ExitCode::FAILURE)
}

fn key_command(config: &Config, command: KeyCommand) -> anyhow::Result<()> {
    let request = match command {
        KeyCommand::Create { role, name } => Request::KeyCreate { name, role },
        KeyCommand::List => Request::KeyList,
        KeyCommand::Revoke { name } => Request::KeyRevoke { name },
    };
    match admin::client::run(config, request, &mut out::stdout())? {
        Response::KeyCreated { info, key } => {
            tell!(
                "created {} key {:?} (id {}); it is shown this once:",
                info.role,
                info.name,
                info.id
            );
            show_new_key(&key, "key create")?;
        }
        Response::Keys { keys } => {
            let mut out = out::stdout();
            writeln!(
                out,
                "{:<24} {:<6} {:<12} {:<25} {:<25} status",
                "name", "role", "id", "created", "last used"
            )?;
            for k in keys {
                let status = match k.revoked_at {
                    Some(t) => format!("revoked {}", t.format("%Y-%m-%d %H:%M")),
                    None => "active".to_string(),
                };
                let used = k.last_used_at.map_or_else(
                    || "never".to_string(),
                    |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                );
                writeln!(
                    out,
                    "{:<24} {:<6} {:<12} {:<25} {used:<25} {status}",
                    k.name,
                    k.role.as_str(),
                    k.id,
                    k.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
                )?;
            }
        }
        Response::KeyRevoked { info } => {
            tell!("revoked {} key {:?} (id {})", info.role, info.name, info.id)
        }
        other => bail!("unexpected answer: {other:?}"),
    }
    Ok(())
}

fn say_written(r: &store::BackupReport) -> anyhow::Result<()> {
    // Through the service, the copy is where the service sees its path, which may be a
    // place of its own (its private /tmp, gone when it stops): it must be here too.
    match std::fs::metadata(&r.path) {
        Ok(found) if found.len() == r.bytes => {}
        found => bail!(
            "the service wrote the backup {} ({} bytes), but this command finds {} there. {}",
            r.path.display(),
            r.bytes,
            match found {
                Ok(other) => format!("a file of {} bytes", other.len()),
                Err(e) => format!("no file ({e})"),
            },
            admin::client::THE_SERVICE_WRITES
        ),
    }
    say!(
        "backup written: {} ({} rows, {} bytes)",
        r.path.display(),
        r.rows,
        r.bytes
    );
    Ok(())
}

/// What a restore did with the replaced store's API keys: revocations kept (said), keys the
/// backup lacks (a warning: their clients are refused), or the keys not read (a warning).
fn say_restored_keys(
    carried: &Result<crate::keys::restored::Carried, String>,
) -> anyhow::Result<()> {
    let carried = match carried {
        Ok(carried) => carried,
        Err(unread) => {
            tell!(
                "callvault: warning: the API keys of the store replaced could not be read \
                 ({unread}), so a key revoked after this backup was taken may be active again: \
                 check `callvault key list` and revoke any such key again"
            );
            return Ok(());
        }
    };
    for key in &carried.kept_revoked {
        say!(
            "key {} ({}, id {}) was revoked after this backup was taken: kept revoked",
            key.name,
            key.role,
            key.id
        );
    }
    for key in &carried.not_in_backup {
        tell!(
            "callvault: warning: key {} ({}, id {}, created {}) is not in this backup: its \
             client will be refused until it has a new key (`callvault key create --role {} \
             --name NAME`)",
            key.name,
            key.role,
            key.id,
            key.created_at.format("%Y-%m-%d %H:%M UTC"),
            key.role
        );
    }
    Ok(())
}

/// How many dated copies `db backup --into` keeps when `--keep` does not say.
const DEFAULT_BACKUPS_KEPT: u16 = 7;

fn db_command(config: &Config, command: DbCommand) -> anyhow::Result<ExitCode> {
    let report = match command {
        DbCommand::Check => {
            if admin::client::service_running(config)? {
                // progress, if the check goes on a while, on stderr
                match admin::client::run(config, Request::DbCheck, &mut out::stderr())? {
                    Response::Check { report } => report,
                    other => bail!("unexpected answer: {other:?}"),
                }
            } else {
                offline_on_stderr("store", |progress| {
                    store::check_offline_with(&config.db_path(), progress)
                })?
            }
        }
        DbCommand::Backup {
            into: Some(dir),
            keep,
            ..
        } => {
            let dir = absolute(&dir)?;
            let keep = usize::from(keep.unwrap_or(DEFAULT_BACKUPS_KEPT));
            let request = Request::DbBackupInto { dir, keep };
            // progress, if the copy goes on a while, on stderr
            match admin::client::run(config, request, &mut out::stderr())? {
                Response::BackupKept { kept } => {
                    say_written(&kept.report)?;
                    for old in &kept.removed {
                        say!("removed {} (keeping the newest {keep})", old.display());
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                other => bail!("unexpected answer: {other:?}"),
            }
        }
        DbCommand::Backup { file, .. } => {
            let Some(file) = file else {
                bail!("name the backup FILE, or a folder with --into DIR");
            };
            let path = absolute(&file)?;
            let request = Request::DbBackup { path };
            match admin::client::run(config, request, &mut out::stderr())? {
                Response::Backup { report } => {
                    say_written(&report)?;
                    return Ok(ExitCode::SUCCESS);
                }
                other => bail!("unexpected answer: {other:?}"),
            }
        }
        DbCommand::Compact => {
            refuse_while_serving(config, "compact")?;
            let path = config.db_path();
            let done = store::compact(&path).context("nothing compacted")?;
            let (before, after) = (mib(done.before), mib(done.after));
            let event = crate::audit::AuditEvent::new(
                "cli",
                crate::audit::EventKind::DbCompacted,
                crate::audit::Outcome::Ok,
            );
            let ctx = admin::client::open_local(config)?;
            ctx.audit
                .record_blocking(event.detail(format!("{before} MiB to {after} MiB")))?;
            say!(
                "compacted {}: {before} MiB to {after} MiB ({} MiB given back to the disk)",
                path.display(),
                mib(done.before.saturating_sub(done.after))
            );
            return Ok(ExitCode::SUCCESS);
        }
        DbCommand::Restore { file } => {
            refuse_while_serving(config, "restore")?;
            let report = offline_on_stderr(&file.display().to_string(), |p| {
                store::restore_with(&config.storage.state_dir, &file, p)
            })
            .context("nothing restored")?;
            let ctx = admin::client::open_local(config)?;
            ctx.audit.record_blocking(
                crate::audit::AuditEvent::new(
                    "cli",
                    crate::audit::EventKind::DbRestored,
                    crate::audit::Outcome::Ok,
                )
                .detail(format!("from {}", file.display())),
            )?;
            say!(
                "restored {} ({}, {}); the previous store is kept as {}.before-restore",
                file.display(),
                counted(report.check.audit_records, "audit records"),
                counted(report.check.api_keys, "API keys"),
                store::DB_FILE_NAME
            );
            say_restored_keys(&report.keys)?;
            // a backup from before a key rotation, or from another machine
            if let Ok(vault) = &ctx.vault
                && let Some(found) = crate::vault::lost::unloaded_key_in_use(vault)?
            {
                tell!(
                    "callvault: warning: {}",
                    crate::vault::lost::mismatch_message(&found, vault)
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    say!(
        "schema version {}; {}; {}; {}; page-level check: {}",
        report.schema_version,
        counted(report.api_keys, "API keys"),
        counted(report.members, "members"),
        counted(report.audit_records, "audit records"),
        if report.integrity_checked {
            "passed"
        } else {
            "skipped (the service holds the file; stop it for a full check)"
        }
    );
    if let Some(base) = &report.audit_base {
        say!(
            "audit records up to {} were pruned; the chain goes on from {base}",
            base.seq
        );
    }
    if report.members_to_forget > 0 {
        say!(
            "{} deleted members' PINs are still to be forgotten (the next enrollment run does it)",
            report.members_to_forget
        );
    }
    print_chain(&report.audit_chain)
}

/// Long work on `what` the command line does itself, the service stopped: progress on
/// stderr once it goes on a while ([`crate::enroll::progress::on_stderr`]), and stopped where
/// it safely can on Ctrl-C ([`interrupt`]).
fn offline_on_stderr<T>(what: &str, work: impl FnOnce(&dyn crate::enroll::Progress) -> T) -> T {
    interrupt::install();
    crate::enroll::progress::on_stderr(what, interrupt::go_on, work)
}

fn print_chain(report: &crate::audit::VerifyReport) -> anyhow::Result<ExitCode> {
    if let Some(first) = &report.first_went_back {
        say!(
            "note: {} with a time more than a second before the previous record's (the first: \
             record {}, {} s before record {}): the system clock went back there. The chain \
             does not depend on the times, but the records' order is by number, not by time",
            counted(report.clock_went_back, "records"),
            first.seq,
            first.behind_ms as f64 / 1000.0,
            first.seq - 1
        );
    }
    match &report.first_bad {
        None => {
            say!("audit chain intact: {}", counted(report.records, "records"));
            Ok(ExitCode::SUCCESS)
        }
        Some(bad) => {
            say!(
                "audit chain BROKEN at record {}: {} ({} read)",
                bad.seq,
                bad.reason,
                counted(report.records, "records")
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The comparison with copies kept elsewhere, after the chain's own check.
fn print_against(against: &crate::audit::AnchorReport) -> anyhow::Result<ExitCode> {
    match &against.first_bad {
        None => {
            let pruned = match against.pruned {
                0 => String::new(),
                n => format!(" ({n} older ones were pruned from the store)"),
            };
            say!(
                "matches the copies: {} compared, none differs{pruned}",
                counted(against.checked, "records")
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(bad) => {
            say!(
                "audit log REWRITTEN: record {} {} ({} compared)",
                bad.seq,
                bad.reason,
                counted(against.checked, "records")
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn audit_command(config: &Config, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { against, anchors } => {
            let copies = all_absolute(&against)?;
            let request = Request::AuditVerify { anchors, copies };
            // progress, if the walk goes on a while, on stderr
            match admin::client::run(config, request, &mut out::stderr())? {
                Response::Verify {
                    report,
                    against,
                    head,
                } => {
                    let mut code = print_chain(&report)?;
                    if let Some(against) = &against
                        && print_against(against)? == ExitCode::FAILURE
                    {
                        code = ExitCode::FAILURE;
                    }
                    if let Some(head) = head {
                        say!("head: {head} (keep it elsewhere; `--anchor {head}` checks it later)");
                    }
                    Ok(code)
                }
                other => bail!("unexpected answer: {other:?}"),
            }
        }
        AuditCommand::Prune { before, exported } => {
            let copies = all_absolute(&exported)?;
            let request = Request::AuditPrune { before, copies };
            match admin::client::run(config, request, &mut out::stderr())? {
                Response::Pruned { report } => {
                    match &report.base {
                        Some(base) if report.removed > 0 => say!(
                            "pruned records {}..={} ({} records older than {}); the chain \
                             goes on from record {base}",
                            report.first,
                            report.last,
                            report.removed,
                            before.to_rfc3339()
                        ),
                        // a prune takes the oldest records, up to the first that is not
                        // older: one written while the clock was ahead ends it there
                        _ => say!(
                            "nothing to prune: the oldest record is not older than {}, or it \
                             is the newest (a prune removes records from the oldest on, up \
                             to the first that is not older, and keeps the newest)",
                            before.to_rfc3339()
                        ),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                other => bail!("unexpected answer: {other:?}"),
            }
        }
        AuditCommand::Export {
            since,
            until,
            after,
            member_id,
            call_id,
        } => {
            if let (Some(since), Some(until)) = (since, until)
                && until <= since
            {
                bail!(
                    "--until {} is not after --since {}: no record could be both",
                    until.to_rfc3339(),
                    since.to_rfc3339()
                );
            }
            let request = Request::AuditExport {
                since,
                after,
                until,
                member_id,
                call_id,
            };
            let mut out = io::BufWriter::new(out::stdout());
            match admin::client::run(config, request, &mut out)? {
                Response::Exported { records } => {
                    out.flush()?;
                    tell!("{records} records exported{}", window(since, until));
                    Ok(ExitCode::SUCCESS)
                }
                other => bail!("unexpected answer: {other:?}"),
            }
        }
    }
}

/// The times `--since` and `--until` came to, in UTC as the records write them: a time
/// without an offset was read on this machine's clock, and this shows the reader what that
/// was.
fn window(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> String {
    let utc = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    match (since, until) {
        (None, None) => String::new(),
        (Some(s), None) => format!(" (at or after {})", utc(s)),
        (None, Some(u)) => format!(" (before {})", utc(u)),
        (Some(s), Some(u)) => format!(" (at or after {}, before {})", utc(s), utc(u)),
    }
}

/// Paths the service reads for this command: absolute, since it runs elsewhere.
fn all_absolute(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    paths.iter().map(|p| absolute(p)).collect()
}

/// A file the command reads (the service reads it, so its path is made absolute), or what
/// stops it being read: missing, a folder, unreadable, standard input or a pipe.
fn input_file(file: &Path) -> anyhow::Result<PathBuf> {
    // the file is opened by its path, by the service when it runs, and read more than once
    // (checked, then applied): a pipe's text would be gone by the second reading
    const SAVE_IT: &str = "the file is read by its path, more than once: save the text to a \
                           file and name that";
    if file == Path::new("-") {
        bail!("`-` (standard input) is not read here; {SAVE_IT}");
    }
    let path = absolute(file)?;
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(m) if m.is_dir() => bail!("{} is a folder, not a file", path.display()),
        Ok(_) => bail!(
            "{} is not a regular file (a pipe or a device); {SAVE_IT}",
            path.display()
        ),
        Err(e) => bail!("cannot read {}: {e}", path.display()),
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

/// `member find`'s answer: who the number names, then what a call from it gets.
fn describe_matches(
    e164: &str,
    matches: &[crate::core::PhoneMatch],
    profile: &str,
    identify_by_ani: bool,
    core: &str,
) -> Vec<String> {
    let who = |m: &crate::core::PhoneMatch| {
        let name = m.first_name.as_deref().unwrap_or("no first name");
        let phone = if m.verified {
            "their verified mobile"
        } else if m.withdrawn {
            "their mobile, withdrawn (a landline, a fraud flag or a recent change in the \
             core's facts)"
        } else {
            "another phone on file"
        };
        format!("member {} ({name}), {phone}", m.member_id)
    };
    let none = if core == "embedded" {
        "no enrolled member has this number"
    } else {
        "the core names no member with this number"
    };
    let mut lines = match matches {
        [] => vec![format!("{e164}: {none}")],
        [one] => vec![format!("{e164}: {}", who(one))],
        many => {
            let mut l = vec![format!("{e164}: {} members share this number", many.len())];
            l.extend(many.iter().map(|m| format!("  {}", who(m))));
            l
        }
    };
    let call = match matches {
        _ if !identify_by_ani => format!(
            "profile {profile:?} does not identify by caller ID: the caller is asked for an identifier"
        ),
        [] => format!("profile {profile:?}: the caller is asked for an identifier"),
        [one] => format!(
            "profile {profile:?}: a call from it is identified as member {} with trust {}",
            one.member_id,
            if one.verified {
                "known_number"
            } else {
                "unknown_number"
            }
        ),
        _ => format!(
            "profile {profile:?}: a shared number identifies no one; the caller is asked for an identifier"
        ),
    };
    lines.push(call);
    if core != "embedded" {
        lines.push(format!(
            "(asked of the core, core.type {core:?}, as calls ask it)"
        ));
    }
    lines
}

/// `member show`'s `core_fields`: each field of `core.rest.fields` and how the core's
/// answer for the member gave it (`"dob": "read at /birthDate"`, `"zip": "absent at /zip"`,
/// `"last_txn_date": "unreadable at /lastTxn: not a date: ..."`, `"email": "not mapped"`),
/// never the value.
fn describe_core_fields(fields: &[crate::core::FieldRead]) -> serde_json::Value {
    use crate::core::Read;
    let described = fields.iter().map(|f| {
        let at = &f.pointer;
        let said = match f.read {
            Read::Read => format!("read at {at}"),
            Read::Absent => format!("absent at {at}"),
            Read::Unreadable => match &f.expected {
                Some(expected) => format!("unreadable at {at}: not {expected}"),
                None => format!("unreadable at {at}"),
            },
            Read::NotMapped => "not mapped".to_string(),
        };
        (f.field.clone(), serde_json::Value::String(said))
    });
    serde_json::Value::Object(described.collect())
}

fn member_command(config: &Config, command: MemberCommand) -> anyhow::Result<ExitCode> {
    let request = match command {
        MemberCommand::Show { member_id } => Request::MemberShow { member_id },
        MemberCommand::Find {
            phone,
            phone_flag,
            dnis,
        } => Request::MemberFind {
            // clap makes sure there is exactly one
            phone: phone.or(phone_flag).unwrap_or_default(),
            dnis,
        },
        MemberCommand::Unlock { member_id } => Request::MemberUnlock { member_id },
        MemberCommand::ForcePinChange { member_id } => Request::MemberForcePinChange { member_id },
        MemberCommand::Forget { member_id } => Request::MemberForget { member_id },
    };
    match admin::client::run(config, request, &mut out::stdout())? {
        Response::Member {
            member,
            pin,
            answers,
            core_fields,
        } => {
            let mut shown = serde_json::to_value(&member)?;
            if let Some(obj) = shown.as_object_mut() {
                if let Some(pin) = pin {
                    obj.insert("pin".into(), serde_json::to_value(pin)?);
                }
                if let Some(answers) = answers {
                    obj.insert("questions".into(), serde_json::to_value(answers)?);
                }
                if !core_fields.is_empty() {
                    obj.insert("core_fields".into(), describe_core_fields(&core_fields));
                }
            }
            say!("{}", serde_json::to_string_pretty(&shown)?);
        }
        Response::Matches {
            e164,
            matches,
            profile,
            identify_by_ani,
            core,
        } => {
            for line in describe_matches(&e164, &matches, &profile, identify_by_ani, &core) {
                say!("{line}");
            }
        }
        Response::Unlocked {
            member_id,
            was_locked,
            cleared,
        } => match (was_locked, cleared.any()) {
            (true, true) => say!("member {member_id}: {}, unlocked", cleared.describe()),
            // a service from before `cleared`, which cleared wrong PINs only
            (true, false) => say!("member {member_id}: wrong-PIN count cleared, unlocked"),
            (false, _) => say!("member {member_id}: was not locked (nothing to clear)"),
        },
        Response::PinChangeForced { member_id } => {
            say!("member {member_id}: will choose a new PIN after the next correct one");
        }
        Response::Forgotten {
            member_id,
            pins,
            held,
        } => match (pins, held) {
            (0, false) => say!("member {member_id}: callvault held nothing about them"),
            (0, true) => {
                say!("member {member_id}: had no PIN record; counters and verdict forgotten")
            }
            _ => say!("member {member_id}: PIN record, counters and verdict forgotten"),
        },
        other => bail!("unexpected answer: {other:?}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn pins_force_change_command(
    config: &Config,
    file: Option<&Path>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let path = file.map(input_file).transpose()?;
    let request = Request::PinsForceChange { path, dry_run };
    match admin::client::run(config, request, &mut out::stderr())? {
        Response::ForcedChange { report: r, dry_run } => {
            if dry_run {
                say!("dry run, nothing changed: what the command would do");
            }
            say!(
                "{} asked to choose a new PIN after their next correct one; {} asked before",
                counted(r.flagged, "members"),
                r.already
            );
            if r.marked > 0 {
                say!(
                    "{} with no PIN in the vault: asked after the next PIN the core finds right",
                    counted(r.marked, "members")
                );
            }
            if r.without_pin > 0 {
                say!(
                    "{} listed {} no PIN in the vault: nothing to change (activation covers them)",
                    counted(r.without_pin, "members"),
                    if r.without_pin == 1 { "has" } else { "have" }
                );
            }
            if r.not_enrolled > 0 {
                say!(
                    "warning: {} listed {} of no enrolled member: nothing to change for {} \
                     (is the list one of member numbers? `callvault member show ID` looks one \
                     up)",
                    counted(r.not_enrolled, "ids"),
                    if r.not_enrolled == 1 { "is" } else { "are" },
                    if r.not_enrolled == 1 { "it" } else { "them" }
                );
            }
        }
        other => bail!("unexpected answer: {other:?}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn pins_import_command(
    config: &Config,
    file: &Path,
    established: bool,
    dry_run: bool,
    separator: Option<crate::enroll::lines::Separator>,
) -> anyhow::Result<ExitCode> {
    let path = input_file(file)?;
    let request = Request::PinsImport {
        path,
        established,
        dry_run,
        separator,
    };
    match admin::client::run(config, request, &mut out::stderr())? {
        Response::PinsImported { summary: s } => {
            let counts = s
                .results
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            say!(
                "{}{}: {}; {counts}",
                s.file,
                if s.dry_run {
                    " (dry run, nothing changed)"
                } else {
                    ""
                },
                counted(s.rows, "rows")
            );
            if !s.unknown_columns.is_empty() {
                say!("columns ignored: {}", s.unknown_columns.join(", "));
            }
            for warning in &s.warnings {
                tell!("warning: {warning}");
            }
            say!("PINs in the vault: {}", s.vault_records);
            say!("results: {}", s.results_file.display());
            say!("summary: {}", s.summary_file.display());
        }
        other => bail!("unexpected answer: {other:?}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn vault_command(config: &Config, command: VaultCommand) -> anyhow::Result<ExitCode> {
    let request = match command {
        VaultCommand::Status => Request::VaultStatus,
        VaultCommand::RotateKey => Request::VaultRotateKey,
        VaultCommand::ForgetKey { key_id } => Request::VaultForgetKey { key_id },
    };
    match admin::client::run(config, request, &mut out::stdout())? {
        Response::Vault { status: s } => {
            say!("mode:           {}", s.mode.as_str());
            say!("bcrypt cost:    {}", s.bcrypt_cost);
            say!("key file:       {}", s.key_file.display());
            say!("current key:    {}", s.current_key_id);
            say!("loaded keys:    {}", s.loaded_key_ids.join(", "));
            say!("records:        {}", s.records);
            for (key, n) in &s.by_key {
                match s.loaded_key_ids.contains(key) {
                    true => say!("  under key {key}: {n}"),
                    false => say!(
                        "  under key {key}: {n}, which no loaded key opens: the service will \
                         not start on them; put back that key's file, or, if it is lost for \
                         good, `callvault vault forget-key {key}`"
                    ),
                }
            }
            say!("  bcrypt:       {}", s.bcrypt_records);
            say!(
                "  sealed PIN:   {}{}",
                s.sealed_pin_records,
                if s.mode == crate::config::VaultMode::Hashed && s.sealed_pin_records > 0 {
                    " (imported, waiting for a bcrypt hash; the running service gives each \
                     its hash in the background, or at the member's first correct PIN)"
                } else {
                    ""
                }
            );
            say!("locked members: {} (wrong PINs)", s.locked_members);
            say!(
                "locked out of questions: {} (wrong keypad answers)",
                s.locked_for_questions
            );
            say!(
                "asked for a new PIN: {} (after their next correct one; not chosen yet)",
                s.force_change_pending
            );
            if let Some(n) = s.not_enrolled.filter(|n| *n > 0) {
                say!(
                    "records of members not enrolled: {n} (deleted before enrollment forgot \
                     PINs, or removed by a rejected row; `callvault member forget ID`)"
                );
            }
            if s.rotation_pending {
                say!("a key rotation is unfinished: run `callvault vault rotate-key`");
            }
        }
        Response::Rotated { report } => {
            say!(
                "vault key rotated{}: {} -> {}, {} sealed again",
                if report.resumed {
                    " (an interrupted rotation was finished)"
                } else {
                    ""
                },
                report.old_key_id,
                report.new_key_id,
                counted(report.resealed, "records")
            );
        }
        Response::KeyForgotten {
            key_id,
            forgot: crate::vault::lost::Forgot::Removed(n),
        } => say!(
            "removed {} sealed under key {key_id}; those members set a PIN again \
             (activation) on their next call",
            counted(n, "PIN records")
        ),
        Response::KeyForgotten {
            key_id,
            forgot: crate::vault::lost::Forgot::Loaded,
        } => bail!(
            "key {key_id} is the vault's own (vault.key_file): its PIN records open, and \
             forget-key keeps them"
        ),
        other => bail!("unexpected answer: {other:?}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `callvault enroll`'s flags.
struct EnrollHow {
    mode: crate::enroll::Mode,
    dry_run: bool,
    max_removed_percent: Option<u8>,
    encoding: Option<crate::enroll::lines::Encoding>,
    separator: Option<crate::enroll::lines::Separator>,
}

fn enroll_command(config: &Config, file: &Path, how: EnrollHow) -> anyhow::Result<ExitCode> {
    let path = input_file(file)?;
    if how.max_removed_percent.is_some() && how.mode != crate::enroll::Mode::Full {
        bail!("--max-removed-percent applies to --mode full only");
    }
    let request = Request::Enroll {
        path,
        mode: how.mode,
        dry_run: how.dry_run,
        max_removed_percent: how.max_removed_percent,
        encoding: how.encoding,
        separator: how.separator,
    };
    match admin::client::run(config, request, &mut out::stderr())? {
        Response::Enrolled { report } => {
            let s = &report.summary;
            let counts = |m: &std::collections::BTreeMap<String, u64>| {
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let results = match counts(&s.results) {
                none if none.is_empty() => String::new(),
                some => format!("; {some}"),
            };
            say!(
                "{}{}: {}{results}",
                s.file,
                if s.dry_run {
                    " (dry run, nothing changed)"
                } else {
                    ""
                },
                counted(s.rows, "rows"),
            );
            if !s.reasons.is_empty() {
                say!("rejected because: {}", counts(&s.reasons));
            }
            if let Some(ignored) = s.columns_ignored() {
                say!("columns ignored: {ignored}");
            }
            if let Some(read) = s.not_utf8_line() {
                say!("{read}");
            }
            if let Some(missing) = s.asked_missing_line() {
                say!("{missing}");
            }
            if let Some(placeholders) = s.placeholders_line() {
                say!("{placeholders}");
            }
            if s.dry_run {
                say!(
                    "members enrolled if it were applied: {}",
                    s.members_enrolled
                );
            } else {
                say!("members enrolled: {}", s.members_enrolled);
            }
            if s.pins_forgotten > 0 {
                say!(
                    "PINs forgotten with the deleted members{}: {}",
                    if s.dry_run { " if it were applied" } else { "" },
                    s.pins_forgotten
                );
            }
            say!("results: {}", s.results_file.display());
            say!("summary: {}", report.summary_file.display());
            Ok(ExitCode::SUCCESS)
        }
        other => bail!("unexpected answer: {other:?}"),
    }
}

/// An error unless the service is stopped: `verb` (`restore`, `compact`) needs the store
/// file to itself.
fn refuse_while_serving(config: &Config, verb: &str) -> anyhow::Result<()> {
    if admin::client::service_running(config)? {
        bail!(
            "callvault serve is running on this state directory; stop it first (systemctl \
             stop callvault), {verb}, then start it again"
        );
    }
    Ok(())
}

/// Bytes as MiB for a person: one decimal under 10 MiB (`0.1`), whole ones above (`282`).
fn mib(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib < 10.0 {
        format!("{mib:.1}")
    } else {
        format!("{mib:.0}")
    }
}

#[cfg(test)]
mod tests;
