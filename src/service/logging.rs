//! The service's log lines: stderr (the journal under systemd), text or JSON, filtered by
//! `log.level` unless `RUST_LOG` is set. The filter can be replaced while serving, so a
//! reload applies a new `log.level` (turning debug on for a while needs no restart).
//!
//! When stderr is the journal, each line starts with its syslog priority (`<4>` for a
//! warning, sd-daemon(3)), which journald takes off and files the line under, so that
//! `journalctl -u callvault -p warning` shows the warnings and errors; a text line then
//! leaves out its own time, which the journal keeps beside it.
//!
//! A text line's values are written with their control characters escaped (`\n`, `\u{1b}`):
//! a file name dropped in the inbox is chosen by whoever uploads it, and a line break in one
//! would forge a line of the log (a record of its own, at the priority it names, in the
//! journal), a terminal escape would write over the screen of whoever reads it. JSON escapes
//! them itself.

use std::io;
use std::sync::OnceLock;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

type SetFilter = Box<dyn Fn(EnvFilter) -> Result<(), String> + Send + Sync>;

/// Replaces the filter [`init`] installed; set only when `log.level` decides it (no
/// `RUST_LOG`).
static SET_FILTER: OnceLock<SetFilter> = OnceLock::new();

/// Log to stderr in `format`, at `level` (a tracing filter), or at `RUST_LOG`'s when it is
/// set. A second call, or one after another subscriber was set, changes nothing.
pub fn init(level: &str, format: LogFormat) {
    let from_env = EnvFilter::try_from_default_env().ok();
    let env_decides = from_env.is_some();
    let filter = from_env
        .or_else(|| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(false);
    // the two formats' builders are different types: the same steps for each
    macro_rules! installed {
        ($lines:expr) => {{
            let lines = $lines.with_filter_reloading();
            let handle = lines.reload_handle();
            (lines.try_init().ok())
                .map(|()| Box::new(move |f| handle.reload(f).map_err(|e| e.to_string())) as _)
        }};
    }
    let set: Option<SetFilter> = match (format, stderr_is_journal()) {
        (LogFormat::Text, false) => installed!(
            lines
                .fmt_fields(Escaped::default())
                .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        ),
        (LogFormat::Text, true) => installed!(
            lines
                .fmt_fields(Escaped::default())
                .with_ansi(false)
                .without_time()
                .map_event_format(Prioritized)
        ),
        (LogFormat::Json, false) => installed!(lines.json().with_current_span(true)),
        (LogFormat::Json, true) => {
            installed!(
                lines
                    .json()
                    .with_current_span(true)
                    .map_event_format(Prioritized)
            )
        }
    };
    if let Some(set) = set.filter(|_| !env_decides) {
        let _ = SET_FILTER.set(set);
    }
}

/// What [`set_level`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelChange {
    /// The new filter applies from the next line.
    Applied,
    /// `RUST_LOG` decides the filter, and keeps deciding it.
    EnvDecides,
}

/// Apply `level` (a reload's `log.level`, already checked by the configuration's reader).
pub fn set_level(level: &str) -> Result<LevelChange, String> {
    let Some(set) = SET_FILTER.get() else {
        return Ok(LevelChange::EnvDecides);
    };
    let filter = EnvFilter::try_new(level).map_err(|e| format!("log.level {level:?}: {e}"))?;
    set(filter).map(|()| LevelChange::Applied)
}

/// Whether stderr is the systemd journal: `JOURNAL_STREAM` names the stream systemd
/// connected by its device and inode, and stderr is still that stream, not one a redirect
/// put in its place (`callvault ... 2>file` in a unit's shell; systemd.exec(5)).
pub fn stderr_is_journal() -> bool {
    static IS: OnceLock<bool> = OnceLock::new();
    *IS.get_or_init(|| {
        let Some(named) = std::env::var_os("JOURNAL_STREAM") else {
            return false;
        };
        rustix::fs::fstat(io::stderr()).is_ok_and(|stat| {
            // the field types differ between targets (u64, i64, u32)
            #[allow(clippy::unnecessary_cast)]
            let (dev, ino) = (stat.st_dev as u64, stat.st_ino as u64);
            names_stream(&named.to_string_lossy(), dev, ino)
        })
    })
}

/// `JOURNAL_STREAM`'s `DEVICE:INODE` (both decimal) names the stream with this device and
/// inode.
fn names_stream(value: &str, dev: u64, ino: u64) -> bool {
    value
        .split_once(':')
        .is_some_and(|(d, i)| d.parse() == Ok(dev) && i.parse() == Ok(ino))
}

/// The syslog priority the journal files a line at `level` under: err, warning, info, debug.
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// A line for the journal: `<N>` (its [`priority`]) before each line of `text`, since the
/// journal reads every line as a record of its own (a multi-line error stays at one
/// priority).
pub fn for_journal(level: &Level, text: &str) -> String {
    let p = priority(level);
    text.lines().map(|line| format!("<{p}>{line}\n")).collect()
}

/// `text` with each control character escaped as Rust writes it in a string (`\n`, `\t`,
/// `\u{1b}`), the rest as it is.
fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c.is_control() {
            true => escaped.extend(c.escape_debug()),
            false => escaped.push(c),
        }
    }
    escaped.into()
}

/// tracing's text fields (the message among them), their control characters escaped
/// ([`escape_controls`]).
#[derive(Default)]
struct Escaped(DefaultFields);

impl<'w> FormatFields<'w> for Escaped {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        let mut text = String::new();
        self.0.format_fields(Writer::new(&mut text), fields)?;
        writer.write_str(&escape_controls(&text))
    }
}

/// The event formatter `F`, its line begun with the event's priority for the journal (and
/// no blank).
struct Prioritized<F>(F);

impl<S, N, F> FormatEvent<S, N> for Prioritized<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        // the text format pads " INFO" and " WARN" to ERROR's width, for a column that a line
        // without its time no longer has
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let priority = priority(event.metadata().level());
        write!(writer, "<{priority}>{}", line.trim_start())
    }
}

#[cfg(test)]
mod tests;
