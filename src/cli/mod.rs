//! The command line: clap definitions (also the source of the man page) and dispatch.
//! This is the edge of the program, where errors become messages and exit codes.

pub mod init;
pub mod interrupt;
pub(crate) mod out;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::admin::{self, Request, Response};
use crate::config::{self, Config, ConfigError, DEFAULT_CONFIG_PATH};
use crate::enroll::progress::counted;
use crate::keys::Role;
use crate::store;
use out::{say, tell};

/// callvault: caller authentication for credit-union phone systems.
#[derive(Debug, Parser)]
#[command(name = "callvault", version, about, long_about = None)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, env = "CALLVAULT_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the state directory, vault key, TLS pair (if none is configured) and print a
    /// first admin API key once. Safe to run again: nothing existing is overwritten.
    Init,
    /// Run the HTTPS service (SIGHUP reloads config and certificate, SIGTERM stops).
    Serve,
    /// Check or show the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Check, back up or restore the store.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Verify or export the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Pre-enroll members from a CSV file (see ENROLL.md); result files go to the outbox.
    Enroll {
        /// The CSV file: a header naming its columns, then a member per row (ENROLL.md).
        /// While the service runs, the service opens it, as its own user (as installed:
        /// not in /tmp, /home or /root).
        file: PathBuf,
        /// Write the result files, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// `full`: the file is the complete set; enrolled members missing from it are removed.
        #[arg(long, value_enum, default_value = "incremental")]
        mode: crate::enroll::Mode,
        /// Full mode: refuse the file if it leaves out more than this share of the enrolled
        /// members (default: `enroll.full_max_removed_percent`, 10). 100 lets any number go.
        #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
        max_removed_percent: Option<u8>,
        /// How this file's text is written (default: `enroll.encoding`, utf-8).
        /// `windows-1252`: as Excel saves "CSV (Comma delimited)" on Windows; `macintosh`
        /// (Mac Roman): as Excel for Mac saves "Comma Separated Values". With either, a
        /// line that is valid UTF-8 still reads as UTF-8. A file with UTF-16's byte-order mark (Excel's
        /// "Unicode Text") is read as UTF-16 whatever is set.
        #[arg(long, value_enum)]
        encoding: Option<crate::enroll::lines::Encoding>,
        /// What stands between this file's columns (default: `enroll.separator`, a comma):
        /// `semicolon`, `tab` or `pipe` for a core's tab- or pipe-delimited export (`;` and
        /// `|` are taken too, quoted in a shell).
        #[arg(long, value_enum)]
        separator: Option<crate::enroll::lines::Separator>,
    },
    /// Enrolled members.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// Load PINs exported from a core.
    Pins {
        #[command(subcommand)]
        command: PinsCommand,
    },
    /// The PIN vault: its state, and rotating its master key.
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
    },
    /// Write a synthetic pre-enrollment file (for tests, demos and benchmarks).
    GenMembers {
        /// How many data rows.
        rows: u64,
        /// Same seed, same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write to FILE instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// End lines with CRLF.
        #[arg(long)]
        crlf: bool,
        /// Start with a UTF-8 byte-order mark.
        #[arg(long)]
        bom: bool,
        /// Only clean, unique rows (no bad rows mixed in).
        #[arg(long)]
        clean: bool,
    },
    /// Write the man pages (callvault.1 and one per subcommand) into DIR, for packaging.
    #[command(hide = true)]
    Manpages { dir: PathBuf },
    /// Run a throwaway callvault on localhost and print curl lines to try it.
    Demo {
        /// Address to serve on; default 127.0.0.1:8443, or a free port if that is taken.
        #[arg(long)]
        listen: Option<String>,
        /// Keep the demo's directory when it stops.
        #[arg(long)]
        keep: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// One member, with SSN, birth date, phones, e-mail and accounts masked, and their PIN
    /// standing (never the PIN).
    Show {
        #[arg(value_parser = parse_member_id)]
        member_id: String,
    },
    /// Who a caller ID identifies, and what a call from it gets: one member (with the trust
    /// their number gives), several sharing it, or no one (both asked for an identifier).
    /// For "why was I asked for my member number?".
    Find {
        /// The caller's number, as the IVR sends it (E.164, national, tel: or sip: URI).
        #[arg(
            value_name = "PHONE",
            required_unless_present = "phone_flag",
            conflicts_with = "phone_flag"
        )]
        phone: Option<String>,
        /// The same, as a flag (`--phone +16125550101`), as earlier versions took it.
        #[arg(long = "phone", value_name = "PHONE")]
        phone_flag: Option<String>,
        /// The dialed number, for its route's profile (default: the default profile).
        #[arg(long)]
        dnis: Option<String>,
    },
    /// Clear the member's wrong-PIN lockout.
    Unlock {
        #[arg(value_parser = parse_member_id)]
        member_id: String,
    },
    /// Make the member choose a new PIN after their next correct one.
    ForcePinChange {
        #[arg(value_parser = parse_member_id)]
        member_id: String,
    },
    /// Forget a member who is no longer enrolled: their PIN record, wrong-answer counters
    /// and last verdict (enrollment does this for the members it deletes; this is for those
    /// deleted before it did). With the embedded core, refused for an enrolled member.
    Forget {
        #[arg(value_parser = parse_member_id)]
        member_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PinsCommand {
    /// Load a `member_id,pin` CSV file (with that header) into the vault, 2,000 rows per
    /// transaction so calls go on meanwhile; an import that stops half-way is finished by
    /// running the file again. PINs are sealed at once and given their bcrypt hash in the
    /// background; no PIN is ever written in the clear. Result files (`NAME.results.csv`,
    /// `NAME.summary.json`) go to the outbox.
    Import {
        /// The CSV file: `member_id,pin` (header in any order and case). While the service
        /// runs, the service opens it, as its own user (as installed: not in /tmp, /home or
        /// /root).
        file: PathBuf,
        /// The members chose these PINs themselves: no activation just for having an
        /// imported PIN.
        #[arg(long)]
        established: bool,
        /// Write the result files, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// What stands between the file's columns (default: a comma): `semicolon`, `tab` or
        /// `pipe` for a core's delimited export.
        #[arg(long, value_enum)]
        separator: Option<crate::enroll::lines::Separator>,
    },
    /// Ask many members to choose a new PIN after their next correct one (as `member
    /// force-pin-change` asks one): those FILE lists, or with --all every member whose PIN
    /// the vault holds (after a PIN file or a core's export leaked). In transactions of
    /// 2,000, so calls go on meanwhile; running it again after a stop finishes it.
    #[command(group(clap::ArgGroup::new("whom").required(true).args(["file", "all"])))]
    ForceChange {
        /// One member id per line (or a CSV whose first column is the member id; a
        /// `member_id` header, blank lines and `#` comments are skipped). While the service
        /// runs, the service opens it, as its own user.
        file: Option<PathBuf>,
        /// Every member whose PIN the vault holds (not those whose PIN the core holds:
        /// list them in a file).
        #[arg(long)]
        all: bool,
        /// Count whom it would ask, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Mode, key id, record counts by key and kind, locked members.
    Status,
    /// Seal every record again under a new master key (the key file is replaced when done).
    RotateKey,
    /// Remove the PIN records sealed under a key that is lost for good (the service refuses
    /// to start on them, naming the key); those members set a PIN again through activation.
    /// A key the vault holds is refused.
    ForgetKey {
        /// The lost key's id: 8 hex digits, as the service's refusal and `vault status` name it.
        #[arg(value_parser = parse_key_id)]
        key_id: String,
    },
}

/// A vault key id: 8 hex digits.
/// A member id as given on the command line, without the blanks a copy from a spreadsheet or
/// an e-mail brings (enrollment trims every field, so no member id has them).
fn parse_member_id(s: &str) -> Result<String, String> {
    match s.trim() {
        "" => Err("a member id is needed, not a blank".to_string()),
        id => Ok(id.to_string()),
    }
}

fn parse_key_id(s: &str) -> Result<String, String> {
    match s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        true => Ok(s.to_ascii_lowercase()),
        false => Err(format!(
            "{s:?} is not a vault key id: 8 hex digits, as `callvault vault status` names them"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate; print every problem with its key path; non-zero exit on any.
    Check,
    /// Print the effective configuration (file + environment), secrets masked.
    #[command(visible_alias = "show")]
    Print,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key; the key alone goes to stdout: `KEY=$(callvault key create ...)`.
    Create {
        /// What the key may do: one role.
        #[arg(long, value_enum)]
        role: Role,
        /// 1-64 letters, digits, '.', '-' and '_', unique among active keys. It names the
        /// key in `key list`, the log and the audit log (`key:NAME`).
        #[arg(long)]
        name: String,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke the active key with this name.
    Revoke {
        /// The key's name, as `key list` shows it.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Check the store: schema, records, audit chain (and redb's page check when offline).
    Check,
    /// Write a consistent copy of the store to FILE, or into a folder of dated copies
    /// (`--into`); safe while the service runs.
    Backup {
        /// Where to write the copy: a new file (an existing one is never overwritten). While
        /// the service runs, the service writes it, as its own user (as installed: under
        /// /var/lib/callvault or the unit's ReadWritePaths=).
        #[arg(conflicts_with = "into")]
        file: Option<PathBuf>,
        /// Write the copy into DIR as callvault-YYYYMMDDTHHMMSSZ.redb (UTC), creating DIR
        /// (0700) if needed, then remove the oldest such copies beyond `--keep`. Other files
        /// in DIR are left alone. The nightly callvault-backup.timer runs this. While the
        /// service runs, the service writes there, as for FILE.
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
        /// With `--into`: how many copies to keep, the new one included [default: 7].
        #[arg(long, value_name = "N", requires = "into", conflicts_with = "file",
              value_parser = clap::value_parser!(u16).range(1..))]
        keep: Option<u16>,
    },
    /// Replace the store with a backup (the service must be stopped).
    Restore {
        /// A file `db backup` wrote.
        file: PathBuf,
    },
    /// Give the store file's free space back to the disk (the service must be stopped):
    /// after an `audit prune` or an enrollment that removed many members, whose freed
    /// space the store otherwise keeps for later writes
    Compact,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; names the first bad record. With copies kept elsewhere, also
    /// finds a chain rewritten from some record on (which checks out by itself).
    Verify {
        /// A file `audit export` wrote earlier (kept in the SIEM, say): every record in it
        /// must still be in the store with the same hash. Repeatable.
        #[arg(long = "against", value_name = "EXPORT")]
        against: Vec<PathBuf>,
        /// SEQ:HASH of a record noted earlier (the journal's `audit head` lines, or this
        /// command's last line). Repeatable.
        #[arg(long = "anchor", value_name = "SEQ:HASH")]
        anchors: Vec<crate::audit::Anchor>,
    },
    /// Remove records older than a date from the store, once an export keeps them: only
    /// records that an export given holds with the same hash go, and never the newest.
    Prune {
        /// Records before this time go: 2026-12-05 (its 00:00), 2026-12-05 08:17 (both on this
        /// machine's clock, as journalctl reads them), RFC 3339 with an offset (Z: UTC), or a
        /// span back from now (`90d`: older than 90 days).
        #[arg(long, value_parser = parse_since)]
        before: DateTime<Utc>,
        /// A file `audit export` wrote, kept elsewhere (the SIEM's copy). Repeatable; every
        /// record to remove must be in one of them.
        #[arg(long = "exported", value_name = "EXPORT", required = true)]
        exported: Vec<PathBuf>,
    },
    /// Write records as JSON lines to stdout.
    Export {
        /// Only records at or after this time: 2026-12-05 (its 00:00), 2026-12-05 08:17 (both
        /// on this machine's clock, as journalctl reads them), RFC 3339 with an offset (Z:
        /// UTC), or a span back from now (30m, 24h, 7d).
        #[arg(long, value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Only records before this time, in the forms `--since` takes: `--since 2026-11-01
        /// --until 2026-12-01` is November on this machine's clock.
        #[arg(long, value_parser = parse_since)]
        until: Option<DateTime<Utc>>,
        /// Only records after this sequence number (the `seq` of the last record an earlier
        /// export wrote): exports that follow on, with no record twice and none missed.
        #[arg(long, value_name = "SEQ")]
        after: Option<u64>,
        /// Only records about this member (their `member_id`): every call, verdict, code,
        /// unlock and PIN change of theirs.
        #[arg(long = "member", value_name = "MEMBER_ID")]
        member_id: Option<String>,
        /// Only records of this call (its `call_id`).
        #[arg(long = "call", value_name = "CALL_ID")]
        call_id: Option<String>,
    },
}

/// A time for `--since`: RFC 3339 with its offset, a date and time without one (on this
/// machine's clock, as `journalctl --since` reads it: `TZ`, else `/etc/localtime`; `T` or a
/// space between), a date alone (its 00:00 on this machine's clock), or a span back from now
/// (`30m`, `24h`, `7d`).
fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time_at(s, Utc::now(), &crate::civil::Zone::system())
}

/// [`parse_since`], its spans taken back from `now`, and times without an offset read on a
/// clock in `zone`.
fn parse_time_at(
    s: &str,
    now: DateTime<Utc>,
    zone: &crate::civil::Zone,
) -> Result<DateTime<Utc>, String> {
    let span = || {
        let unit = s.chars().last()?;
        let count: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
        let span = match unit {
            'm' => chrono::TimeDelta::try_minutes(count)?,
            'h' => chrono::TimeDelta::try_hours(count)?,
            'd' => chrono::TimeDelta::try_days(count)?,
            _ => return None,
        };
        // digits alone, none signed, and not so many that the time runs off the calendar
        s[..s.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then_some(())?;
        now.checked_sub_signed(span)
    };
    let on_the_clock = || {
        let naive = (crate::enroll::row::parse_ymd(s).and_then(|d| d.and_hms_opt(0, 0, 0)))
            .or_else(|| crate::civil::naive_date_time(s))?;
        zone.instant_of(naive)
    };
    (crate::civil::offset_date_time(s).map(|t| t.with_timezone(&Utc)))
        .or_else(on_the_clock)
        .or_else(span)
        .ok_or_else(|| {
            format!(
                "{s:?} is not a time callvault reads: give a date (2026-12-05, from 00:00), a \
                 time (2026-12-05 08:17), both on this machine's clock ({}), RFC 3339 with an \
                 offset (2026-12-05T08:17:00-05:00, or Z for UTC), or a span back from now \
                 (30m, 24h, 7d)",
                zone.name().unwrap_or("its time zone")
            )
        })
}

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
                    "{} listed have no PIN in the vault: nothing to change (activation covers them)",
                    counted(r.without_pin, "members")
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
