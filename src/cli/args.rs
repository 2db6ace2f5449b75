//! The command line's clap definitions: every command, its arguments and their help (also
//! the source of the man pages), and the parsers of argument values. What each command does
//! is in the parent module.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::config::DEFAULT_CONFIG_PATH;
use crate::keys::Role;

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
        /// One member id per line (or a CSV whose first column is the member id, separated
        /// by commas, `;`, tabs or `|`; a header on the first line (`member_id`, `Member
        /// Number`), blank lines and `#` comments are skipped). While the service runs, the
        /// service opens it, as its own user.
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

pub(super) fn parse_key_id(s: &str) -> Result<String, String> {
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
pub(super) fn parse_time_at(
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
